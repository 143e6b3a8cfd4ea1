// Personal data never reaches the audit log in clear: e-mail-like and card-like strings anywhere
// in a record become keyed tokens; our own ids and ordinary numbers stay as they are.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { AuditLog, canonicalJson, verifyAuditLines, type AuditRecordInput } from '../lib/audit/index';
import { mayHoldPersonalData, PersonalDataRedactor } from '../lib/audit/privacy';

const KEY = 'privacy-test-signing-key-0123456789abcdef';

/** A Luhn-valid card number of `len` digits starting with `prefix`. */
function card(prefix: string, body: string, len: number): string {
  const digits = (prefix + body).slice(0, len - 1).padEnd(len - 1, '7');
  let sum = 0;
  for (let i = digits.length - 1, alt = true; i >= 0; i--, alt = !alt) {
    let d = Number(digits[i]);
    if (alt) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return digits + String((10 - (sum % 10)) % 10);
}

const cardArb = fc
  .record({
    prefix: fc.constantFrom('4', '51', '37', '6011', '22'),
    body: fc.stringMatching(/^[0-9]{18}$/),
    len: fc.constantFrom(13, 15, 16, 19),
    format: fc.constantFrom('plain', 'spaced', 'dashed'),
  })
  .map(({ prefix, body, len, format }) => {
    const digits = card(prefix, body, len);
    const groups = digits.match(/.{1,4}/g)!;
    return { digits, text: format === 'plain' ? digits : groups.join(format === 'spaced' ? ' ' : '-') };
  });

const emailArb = fc
  .record({
    local: fc.stringMatching(/^[a-z0-9][a-z0-9._+-]{0,10}$/),
    domain: fc.stringMatching(/^[a-z0-9]{1,8}$/),
    tld: fc.constantFrom('com', 'de', 'co.uk', 'io'),
    upper: fc.boolean(),
  })
  .map(({ local, domain, tld, upper }) => {
    const e = `${local}@${domain}.${tld}`;
    return upper ? e.toUpperCase() : e;
  });

const secretArb = fc.oneof(emailArb.map((e) => ({ kind: 'email' as const, text: e, needle: e.toLowerCase() })), cardArb.map((c) => ({ kind: 'card' as const, text: c.text, needle: c.digits })));

/** A string that embeds a secret between harmless text. */
const carrierArb = fc.tuple(fc.constantFrom('', 'user ', 'desk-7/', 'note: '), secretArb, fc.constantFrom('', ' x', '/algo', ';')).map(([a, s, b]) => ({ text: `${a}${s.text}${b}`, secret: s }));

describe('PersonalDataRedactor', () => {
  const r = new PersonalDataRedactor(Buffer.from(KEY));

  it('replaces e-mails and cards with stable keyed tokens; the same value gives the same token', () => {
    fc.assert(
      fc.property(carrierArb, ({ text, secret }) => {
        const out = r.string(text);
        expect(out.toLowerCase()).not.toContain(secret.needle);
        expect(out).toMatch(secret.kind === 'email' ? /\[email:[0-9a-f]{12}\]/ : /\[card:[0-9a-f]{12}\]/);
        expect(r.string(text)).toBe(out);
        expect(r.string(out)).toBe(out); // idempotent: a token holds no personal data
      }),
      { numRuns: 400 },
    );
    expect(r.string('a@b.com')).not.toBe(r.string('c@b.com'));
    expect(r.string('Desk@Bank.com')).toBe(r.string('desk@bank.com'));
  });

  it('leaves our ids, short numbers, non-Luhn and zero-led digit runs alone', () => {
    for (const s of [
      'c0000000000012345-abcdefabcdef', '0000000000000042-0123456789ab', 'desk-7', 'algo 12345678901', '1234567890123',
      '4111 1111 1111 1112', '2026-11-23T04:00:00.000Z', 'moving-average', '8bd5d3c3'.repeat(8), 'TG_INPUT_BLOCKED',
    ]) {
      expect(r.string(s)).toBe(s);
    }
    expect(r.string('4111 1111 1111 1111')).toMatch(/^\[card:[0-9a-f]{12}\]$/);
    // Digits next to a card are no cover: the whole run goes.
    for (const s of ['0 4111 1111 1111 1111', '1 4111 1111 1111 1111', '2024-05-01 4111111111111111', 'ref 7-4111-1111-1111-1111-3']) {
      expect(r.string(s), s).not.toMatch(/4111/);
    }
    expect(r.string('1 '.repeat(5000))).toMatch(/\[card:/); // very long runs are replaced whole, in bounded time
    // Long runs of address characters around an '@' with no domain: linear, not quadratic (the
    // unbounded pattern takes minutes here and fails this test by its timeout).
    const long = `${'a'.repeat(200_000)}@${'b'.repeat(200_000)}`;
    expect(r.string(long)).toBe(long);
    expect(r.string(`x ${'a'.repeat(100)}@bank.com y`)).not.toContain('@bank.com');
    expect(mayHoldPersonalData('plain text, 12 digits 123456789012')).toBe(false);
  });

  it('redacts while serializing: values and keys at any depth, keys sorted after, the caller\'s values untouched', () => {
    const input = { a: ['x', { 'who@corp.com': 1, n: 5, 'WHO@corp.com': 2 }], b: '4111-1111-1111-1111', c: 3, d: null };
    const before = JSON.stringify(input);
    const out = canonicalJson(input, (s) => r.string(s));
    expect(JSON.stringify(input)).toBe(before);
    expect(out).not.toMatch(/who@corp|4111/i);
    // Written keys are sorted, and two keys that redact alike are told apart, not written twice.
    const inner = JSON.parse(out).a[1];
    const keys = Object.keys(inner);
    expect(keys).toEqual([...keys].sort());
    expect(keys.length).toBe(3);
    expect(canonicalJson(JSON.parse(out))).toBe(out); // what the verifier recomputes
    const clean = { a: [1, 'x'], b: { c: 'y' } };
    expect(canonicalJson(clean, (s) => r.string(s))).toBe(canonicalJson(clean));
  });
});

describe('the log never holds personal data in clear', () => {
  it('in caller ids, input statistics, decisions, fallback names and model hashes; the chain verifies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(carrierArb, fc.constantFrom('callerId', 'inputStats', 'statsKey', 'decision', 'fallback', 'modelHash')), { minLength: 1, maxLength: 8 }), async (cases) => {
        const log = await AuditLog.open({ durability: 'memory', signingKey: KEY });
        const inputs: AuditRecordInput[] = cases.map(([{ text }, where], i) => ({
          callerId: where === 'callerId' ? text : `desk-${i}`,
          status: 'ok',
          latencyUs: 10,
          modelHash: where === 'modelHash' ? text : null,
          inputStats: where === 'inputStats' ? { series: [{ note: text }] } : where === 'statsKey' ? { [text]: 1 } : { n: 1 },
          decisions: where === 'decision' ? [{ shield: 'input', action: 'caution', detail: text }] : [],
          fallback: where === 'fallback' ? text : null,
        }));
        const snapshot = JSON.stringify(inputs);
        for (const inp of inputs) expect(log.append(inp).accepted).toBe(true);
        await log.close();
        expect(JSON.stringify(inputs)).toBe(snapshot);
        const lines = log.memoryLines();
        const text = lines.join('\n').toLowerCase();
        for (const [{ secret }] of cases) expect(text).not.toContain(secret.needle);
        expect(verifyAuditLines(lines, { signingKey: KEY }).status).toBe('verified');
        expect(log.stats().redacted).toBeGreaterThanOrEqual(cases.length);
      }),
      { numRuns: 60 },
    );
  });

  it('hashed caller ids stay pseudonyms (nothing else to redact in them)', async () => {
    const log = await AuditLog.open({ durability: 'memory', signingKey: KEY, hashCallerIds: { key: 'caller-key-0123456789abcdef' } });
    log.append({ callerId: 'trader@bank.com', status: 'ok', latencyUs: 1 });
    await log.close();
    const rec = log.memoryLines().map((l) => JSON.parse(l)).find((e) => e.type === 'record');
    expect(rec.callerId).toMatch(/^[0-9a-f]{64}$/);
    expect(rec.callerIdHashed).toBe(true);
  });
});
