// The audit trail under attack and under failing storage: 1,000 random tamperings of a closed
// log (respellings that parse to the same values included) are all detected; a full disk (writes to /dev/full) and a directory that cannot hold the
// log surface as typed errors and metrics, never as crashes; the guardian keeps serving.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

import { AuditLog, verifyAuditLines, type AuditLogStats } from '../lib/audit/index';
import { entryHash } from '../lib/audit/chain';
import { canonicalJson } from '../lib/audit/record';
import { readCsvColumn, TiRexGuardian } from '../lib/index';

const KEY = 'faults-test-signing-key-0123456789abcdef';
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-audit-faults-'));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

async function pristineLog(): Promise<string[]> {
  const log = await AuditLog.open({ durability: 'memory', signingKey: KEY, checkpointEvery: 40 });
  for (let i = 0; i < 200; i++) {
    log.append({
      callerId: `desk-${i % 5}`,
      status: (['ok', 'corrected', 'fallback', 'blocked'] as const)[i % 4]!,
      latencyUs: 100 + i / 7,
      modelHash: 'ab'.repeat(32),
      inputStats: { batch: 1, n: 2048, threat: (i % 10) / 10 },
      decisions: i % 3 ? [] : [{ shield: 'output', action: 'correct', crossedSteps: i % 4 }],
      fallback: i % 4 === 2 ? 'moving-average' : null,
      time: 1763870000000 + i * 1000,
    });
  }
  await log.close();
  return [...log.memoryLines()];
}

/** One tampering of the text of a log (lines joined with newlines, one at the end). */
type Tamper =
  | { kind: 'flip'; line: number; at: number; bit: number }
  | { kind: 'delete'; line: number; count: number }
  | { kind: 'duplicate'; line: number }
  | { kind: 'swap'; a: number; b: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'edit-rehash'; line: number; latency: number }
  | { kind: 'edit-rehash-all'; line: number; latency: number }
  | { kind: 'insert-forged'; line: number }
  | { kind: 'respell'; line: number; how: number; at: number };

const tamperArb = (n: number): fc.Arbitrary<Tamper> =>
  fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), line: fc.nat({ max: n - 1 }), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('delete' as const), line: fc.nat({ max: n - 1 }), count: fc.integer({ min: 1, max: 5 }) }),
    fc.record({ kind: fc.constant('duplicate' as const), line: fc.nat({ max: n - 1 }) }),
    fc.record({ kind: fc.constant('swap' as const), a: fc.nat({ max: n - 1 }), b: fc.nat({ max: n - 1 }) }).filter((t) => t.a !== t.b),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ kind: fc.constant('edit-rehash' as const), line: fc.nat({ max: n - 1 }), latency: fc.integer({ min: 1, max: 9999 }) }),
    fc.record({ kind: fc.constant('edit-rehash-all' as const), line: fc.nat({ max: n - 1 }), latency: fc.integer({ min: 1, max: 9999 }) }),
    fc.record({ kind: fc.constant('insert-forged' as const), line: fc.nat({ max: n - 1 }) }),
    fc.record({ kind: fc.constant('respell' as const), line: fc.nat({ max: n - 1 }), how: fc.nat({ max: RESPELLINGS.length - 1 }), at: fc.nat() }),
  );

/**
 * Edits that change a line's bytes but not what JSON.parse makes of it (`at` picks the place
 * among the candidates): a verifier that compares parsed values cannot see them.
 */
const RESPELLINGS: ((line: string, at: number) => string)[] = [
  (l, at) => nth(l, /:(-?\d+)(\.\d+)?(?=[,}\]])/g, at, (m, int: string, frac?: string) => `:${int}${frac ?? '.'}0`), // trailing zero
  (l, at) => nth(l, /:(-?[1-9]\d*)(?=[,}\]])/g, at, (m, int: string) => `:${int}e0`), // exponent
  (l, at) => nth(l, /:0(?=[,}\]])/g, at, () => ':-0'), // negative zero
  (l, at) => nth(l, /[,:]/g, at, (m) => `${m} `), // whitespace (inside a string it changes the value: also an edit)
  (l) => l.replace('"type"', '"\\u0074ype"'), // a \u escape
  (l) => l.replace('{', '{"v":1,'), // a repeated key
  (l) => l.replace(/"type":("[a-z]+"),"v":1/, '"v":1,"type":$1'), // key order
  (l) => `${l}\r`, // CRLF
];

function nth(line: string, re: RegExp, at: number, to: (...m: any[]) => string): string {
  const all = [...line.matchAll(re)];
  if (all.length === 0) return line;
  const m = all[at % all.length]!;
  return line.slice(0, m.index) + to(...m) + line.slice(m.index! + m[0].length);
}

/** Re-hashes entries from `from` on, as a forger without the signing key would. */
function rehashFrom(lines: string[], from: number): void {
  for (let i = Math.max(from, 0); i < lines.length; i++) {
    const e = tryParse(lines[i]!);
    const prev = i > 0 ? tryParse(lines[i - 1]!) : null;
    if (e === null || (i > 0 && prev === null)) return; // an unreadable line: nothing to re-hash past it
    if (prev !== null) e.prevHash = prev.hash;
    if (e.type === 'checkpoint') e.lastHash = e.prevHash;
    delete e.hash;
    e.hash = entryHash(e.prevHash, canonicalJson(e));
    lines[i] = `${canonicalJson({ ...e, hash: undefined }).slice(0, -1)},"hash":"${e.hash}"}`; // as the writer seals it
  }
}

function tryParse(line: string): Record<string, any> | null {
  try {
    const e = JSON.parse(line);
    return e !== null && typeof e === 'object' ? e : null;
  } catch {
    return null;
  }
}

function apply(lines: string[], tamper: Tamper): string {
  const out = lines.slice();
  const n = out.length;
  if (n === 0) return '';
  // Indices wrap around the current number of lines (an earlier tampering may have cut some).
  const t = { ...tamper } as Tamper & Record<string, number>;
  for (const k of ['line', 'a', 'b'] as const) if (typeof t[k] === 'number') t[k] = (t[k] as number) % n;
  if (t.kind === 'swap' && t.a === t.b) return out.join('\n') + '\n';
  switch (t.kind) {
    case 'flip': {
      const text = Buffer.from(out.join('\n') + '\n');
      const lineStart = out.slice(0, t.line).reduce((a, l) => a + Buffer.byteLength(l) + 1, 0);
      const lineLen = Buffer.byteLength(out[t.line]!);
      text[lineStart + (t.at % lineLen)]! ^= 1 << t.bit;
      return text.toString('utf8'); // as a reader of the file sees it (bad UTF-8 becomes U+FFFD)
    }
    case 'delete':
      out.splice(t.line, t.count);
      break;
    case 'duplicate':
      out.splice(t.line, 0, out[t.line]!);
      break;
    case 'swap':
      [out[t.a], out[t.b]] = [out[t.b]!, out[t.a]!];
      break;
    case 'truncate': {
      const text = out.join('\n') + '\n';
      return text.slice(0, t.at % text.length);
    }
    case 'edit-rehash':
    case 'edit-rehash-all': {
      const e = tryParse(out[t.line]!);
      if (e === null) break;
      if (e.type !== 'record') e.time = '2030-01-01T00:00:00.000Z';
      else e.latencyUs = t.latency === e.latencyUs ? t.latency + 1 : t.latency;
      out[t.line] = JSON.stringify(e);
      // Only this entry re-hashed, or every entry from here to the end (the forger's best).
      rehashFrom(out, t.line);
      if (t.kind === 'edit-rehash') {
        for (let i = t.line + 1; i < out.length; i++) out[i] = lines[i]!;
      }
      break;
    }
    case 'respell':
      out[t.line] = RESPELLINGS[t.how]!(out[t.line]!, t.at);
      break;
    case 'insert-forged': {
      const e = tryParse(out[t.line]!);
      if (e === null) break;
      e.status = e.status === 'ok' ? 'blocked' : 'ok';
      out.splice(t.line + 1, 0, JSON.stringify(e));
      rehashFrom(out, t.line + 1);
      break;
    }
  }
  return out.join('\n') + '\n';
}

describe('1,000 random tamperings of a closed, signed log', () => {
  it('every one is detected (the log no longer verifies), or it changed no entry', async () => {
    const lines = await pristineLog();
    const original = lines.join('\n') + '\n';
    expect(verifyAuditLines(lines, { signingKey: KEY }).status).toBe('verified');
    const seen: Record<string, number> = {};
    fc.assert(
      fc.property(fc.array(tamperArb(lines.length), { minLength: 1, maxLength: 3 }), (tampers) => {
        let text = original;
        for (const t of tampers) text = apply(text.split('\n').slice(0, -1), t);
        if (text === original) return; // e.g. swapping a line back
        const got = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
        const report = verifyAuditLines(got, { signingKey: KEY });
        for (const t of tampers) seen[t.kind] = (seen[t.kind] ?? 0) + 1;
        if (report.status !== 'verified') return;
        // Verified: then the tampered text must be the original, byte for byte (the same parsed
        // values are not enough: every respelling above parses to them).
        expect(got).toEqual(lines);
      }),
      { numRuns: 1000 },
    );
    for (const kind of ['flip', 'delete', 'duplicate', 'swap', 'truncate', 'edit-rehash', 'edit-rehash-all', 'insert-forged', 'respell']) {
      expect(seen[kind] ?? 0, `tampering ${kind} was generated`).toBeGreaterThan(20);
    }
  });
});

describe('failing storage', () => {
  it('a full disk (writes to /dev/full): TG_AUDIT_WRITE_FAILED on acknowledgements and later appends, failed state in stats, no crash', async () => {
    const file = path.join(TMP, 'full.log');
    fs.symlinkSync('/dev/full', file);
    const log = await AuditLog.open({ file, durability: 'fsync', signingKey: KEY });
    const failed = new Promise<Error>((resolve) => log.on('failed', resolve));
    const t = log.append({ callerId: 'desk', status: 'ok', latencyUs: 1 });
    expect(t.accepted).toBe(true);
    await expect(t.durable()).rejects.toMatchObject({ code: 'TG_AUDIT_WRITE_FAILED' });
    expect((await failed).message).toMatch(/ENOSPC|no space/i);
    expect(() => log.append({ callerId: 'desk', status: 'ok', latencyUs: 1 })).toThrow(expect.objectContaining({ code: 'TG_AUDIT_WRITE_FAILED' }));
    const stats: AuditLogStats = log.stats();
    expect(stats.state).toBe('failed');
    expect(stats.error).toMatch(/ENOSPC|no space/i);
    await expect(log.close()).rejects.toMatchObject({ code: 'TG_AUDIT_WRITE_FAILED' });
  });

  it('the guardian on a full disk keeps serving forecasts and counts the audit failures', async () => {
    const brent = readCsvColumn(path.join(__dirname, '..', 'data', 'brent-daily.csv'), 'Price').values;
    const prices = Float32Array.from(brent.subarray(brent.length - 512));
    const file = path.join(TMP, 'guardian-full.log');
    fs.symlinkSync('/dev/full', file);
    const g = new TiRexGuardian({ profile: 'staging', audit: { file, signingKey: KEY } });
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      for (let round = 0; round < 3; round++) {
        for (let i = 0; i < 10; i++) expect(g.safeForecast({ context: prices, predictionLength: 8, userId: 'desk' }).status).toBe('ok');
        await new Promise((r) => setTimeout(r, 20));
      }
      await expect(g.flushAudit()).rejects.toMatchObject({ code: 'TG_AUDIT_WRITE_FAILED' });
      expect(g.stats().errors.TG_AUDIT_WRITE_FAILED).toBeGreaterThan(0);
      expect(g.auditLog!.stats().state).toBe('failed');
    } finally {
      process.off('warning', onWarning);
      await g.close().catch(() => {});
    }
    expect(warnings.some((w) => /ENOSPC|no space/i.test(w))).toBe(true);
  });

  it('a directory that cannot hold the log: a typed error at open, in the log and in the guardian', async () => {
    const notADir = path.join(TMP, 'plain-file');
    fs.writeFileSync(notADir, 'x');
    const file = path.join(notADir, 'audit.log');
    expect(() => AuditLog.openSync({ file, signingKey: KEY })).toThrow(expect.objectContaining({ code: 'TG_AUDIT_WRITE_FAILED' }));
    await expect(AuditLog.open({ file, signingKey: KEY })).rejects.toMatchObject({ code: 'TG_AUDIT_WRITE_FAILED', message: expect.stringContaining('ENOTDIR') });
    expect(() => new TiRexGuardian({ profile: 'staging', audit: { file, signingKey: KEY } })).toThrow(expect.objectContaining({ code: 'TG_AUDIT_WRITE_FAILED' }));
  });
});
