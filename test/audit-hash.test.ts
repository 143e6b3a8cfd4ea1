// The chain hash: the addon's SHA-256 (the process's own OpenSSL) against node:crypto, on any
// string the log could hash (ASCII, Latin-1, multi-byte, astral, lone surrogates, long).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { entryHash, entryHashCrypto, GENESIS_HASH } from '../lib/audit/chain';
import { addon } from '../lib/native/addon';

describe('chain hash', () => {
  it('the native SHA-256 is available here and equals node:crypto on any string (property)', () => {
    const a = addon();
    expect(a.chainHash(GENESIS_HASH, '')).not.toBeNull();
    const stringArb = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'grapheme', maxLength: 100 }),
      fc.constantFrom('', 'é', '\u00ff', '\ud83d\ude00', '\ud800', 'x'.repeat(70_000), `{"a":"${'€'.repeat(5000)}"}`),
    );
    fc.assert(
      fc.property(stringArb, stringArb, (prev, body) => {
        const want = entryHashCrypto(prev, body);
        expect(a.chainHash(prev, body)).toBe(want);
        expect(entryHash(prev, body)).toBe(want);
      }),
      { numRuns: 1000 },
    );
  });

  it('refuses non-strings with a typed error', () => {
    const a = addon();
    expect(() => a.chainHash(GENESIS_HASH, 42 as unknown as string)).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
    expect(() => (a.chainHash as unknown as (x: string) => string)(GENESIS_HASH)).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
  });
});
