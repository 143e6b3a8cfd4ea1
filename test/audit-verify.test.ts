// The offline verifier (lib/audit/verify.ts) and the chain it reads (lib/audit/chain.ts), report by
// report: every kind of tampering of logs written by the real AuditLog, each asserted as the WHOLE
// report (ok, status, closed, unverifiedTail, every counter, the whole problem), in file and dir
// mode; the digest beside the log (malformed, or well-formed but disagreeing with the log); the
// counters of good, resumed and gap-holding logs; formatAuditReport's lines. Logs re-sealed with
// the key (what the writer itself could do) reach the checks a key-less forger never gets past.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  AuditLog,
  AuditVerifier,
  canonicalJson,
  formatAuditReport,
  listSegments,
  verifyAuditLines,
  verifyAuditLog,
  type AuditLogOptions,
  type AuditVerifyProblem,
  type AuditVerifyReport,
} from '../lib/audit/index';
import { CHECKPOINT_ALG, entryHash, GENESIS_HASH, sealLine, sha256Hex, signCheckpoint } from '../lib/audit/chain';

const KEY = 'verify-test-signing-key-0123456789abcdef';
const OTHER_KEY = 'another-signing-key-that-is-long-enough!';
const T0 = Date.parse('2026-01-02T03:04:05.000Z');
const TIME = '2026-01-02T03:04:05.000Z';
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-audit-verify-'));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));
let pathNo = 0;
const tmpPath = (ext = '.log'): string => path.join(TMP, `v-${++pathNo}${ext}`);
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

type Entry = Record<string, any> & { seq: number; type: string; hash: string; prevHash: string };
type Problem = AuditVerifyProblem;

const rec = (i: number, pad = '') => ({ callerId: `desk-${i % 3}`, status: 'ok' as const, latencyUs: 10 + i, modelHash: null, inputStats: pad ? { i, pad } : { i }, time: T0 + i * 1000 });

/** A log by the real writer: `records` records, a checkpoint every 5 entries, a fixed clock, closed. */
async function writeLog(target: { file: string } | { dir: string }, records: number, opts: Partial<AuditLogOptions> = {}, pad = ''): Promise<void> {
  const log = await AuditLog.open({ ...target, durability: 'batched', signingKey: KEY, checkpointEvery: 5, flushIntervalMs: 5, now: () => T0, ...opts });
  for (let i = 0; i < records; i++) {
    log.append(rec(i, pad));
    if ('dir' in target) await tick(); // rotations happen between writes
  }
  await log.close();
}

// Logs are ASCII: latin1 keeps one character per byte, so string lengths are byte counts.
const textLines = (b: Buffer): string[] => {
  const t = b.toString('latin1').split('\n');
  if (t[t.length - 1] === '') t.pop();
  return t;
};
const readLines = (file: string): string[] => textLines(fs.readFileSync(file));
const joinLines = (lines: string[]): Buffer => Buffer.from(lines.map((l) => `${l}\n`).join(''), 'latin1');
const offsetOf = (lines: string[], line: number): number => lines.slice(0, line - 1).reduce((s, l) => s + l.length + 1, 0);
const put = <T>(a: T[], i: number, v: T): T[] => a.map((x, k) => (k === i ? v : x));
const jsonError = (text: string): string => {
  try {
    JSON.parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`${text} parses`);
};

/** The line the writer writes for an entry body chained on `prev`. */
function seal(e: Record<string, unknown>, prev = e.prevHash as string): string {
  const { hash: _h, ...body } = e;
  const canon = canonicalJson(body);
  return sealLine(canon, entryHash(prev, canon)).slice(0, -1);
}
const hashOf = (line: string): string => (JSON.parse(line) as Entry).hash;
const signed = (cp: Entry): Entry => ({ ...cp, sig: signCheckpoint(KEY, cp as never) });

/** Re-chains entries from the genesis: checkpoints kept as they are ('keep', a forger without the
 * key), their lastHash re-linked ('relink'), or re-linked and re-signed ('sign', with the key). */
function forge(entries: Entry[], cp: 'keep' | 'relink' | 'sign' = 'keep'): string[] {
  let prev = GENESIS_HASH;
  return entries.map((e) => {
    let next: Entry = { ...e, prevHash: prev };
    if (e.type === 'checkpoint' && cp !== 'keep') next.lastHash = prev;
    if (e.type === 'checkpoint' && cp === 'sign') next = signed(next);
    const line = seal(next);
    prev = hashOf(line);
    return line;
  });
}
/** A well-formed digest saying whatever `entries` say: each line re-chained to the one before. */
function forgeDigest(entries: Entry[]): string[] {
  let prev = GENESIS_HASH;
  return entries.map((d) => {
    const line = seal({ ...d, prevDigestHash: prev }, prev);
    prev = hashOf(line);
    return line;
  });
}

/** The counters after the verifier accepted the first `n` lines. */
function counters(lines: string[], n: number) {
  const es = lines.slice(0, n).map((l) => JSON.parse(l) as Entry);
  const cpAt = es.map((e) => e.type).lastIndexOf('checkpoint');
  const cp = es[cpAt];
  const last = es[es.length - 1];
  return {
    entries: es.length,
    records: es.filter((e) => e.type === 'record').length,
    forecasts: es.filter((e) => e.type === 'forecast').length,
    outcomes: es.filter((e) => e.type === 'outcome').length,
    checkpoints: es.filter((e) => e.type === 'checkpoint').length,
    lastSeq: last?.seq ?? -1,
    lastHash: last?.hash ?? null,
    lastCheckpoint: cp ? { seq: cp.seq, line: cpAt + 1, time: cp.time, final: cp.final } : null,
    dropped: es.reduce((s, e) => s + (e.type === 'gap' ? (e.dropped as number) : 0), 0),
    sessions: es.filter((e) => e.type === 'open').length,
    recoveries: [],
  };
}
/** The whole report of an invalid log: `lines` read, the first `counted` accepted. */
const invalid = (file: string | null, lines: string[], bytes: number, problem: Problem, counted: number, extra: Partial<AuditVerifyReport> = {}) => ({
  ...{ file, status: 'invalid', ok: false, problem, lines: lines.length, bytes },
  ...counters(lines, counted),
  ...{ unverifiedTail: null, closed: false, ...extra },
});
const problemAt = (lines: string[], reason: Problem['reason'], line: number, seq: number | null, message: string, suspectLines: Problem['suspectLines'] = null): Problem =>
  ({ reason, line, offset: offsetOf(lines, line), seq, message, suspectLines });

const SIG_MSG = 'checkpoint signature does not verify with this signing key (forged or altered checkpoint, or wrong key)';
const LASTHASH_MSG = 'checkpoint lastHash does not match the chain (entries before it were altered and re-hashed)';

// The base file log: 12 records; lines 1 open, 2-5 records, 6 checkpoint (seq 5), 7-11 records,
// 12 checkpoint (seq 11), 13-15 records, 16 final checkpoint (seq 15); its digest signs 5, 11, 15.
let BASE = '';
let L: string[] = [];
let E: Entry[] = [];
let D: string[] = [];
let DE: Entry[] = [];
beforeAll(async () => {
  BASE = tmpPath();
  await writeLog({ file: BASE }, 12);
  L = readLines(BASE);
  E = L.map((l) => JSON.parse(l) as Entry);
  D = readLines(`${BASE}.digest`);
  DE = D.map((l) => JSON.parse(l) as Entry);
});

describe('file mode: good logs and their counters', () => {
  it('a closed log: verified, every counter exact, formatted', async () => {
    expect(E.map((e) => e.type)).toEqual(['open', ...Array(4).fill('record'), 'checkpoint', ...Array(5).fill('record'), 'checkpoint', ...Array(3).fill('record'), 'checkpoint']);
    expect(E.map((e) => e.seq)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    // hash = sha256_hex(prevHash + the stored line less its hash field); HMAC checkpoints name their algorithm.
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(new Uint8Array([0x61, 0x62, 0x63]))).toBe(sha256Hex('abc'));
    expect(L.map((l, i) => sha256Hex(E[i]!.prevHash + l.replace(/,"hash":"[0-9a-f]{64}"}$/, '}')))).toEqual(E.map((e) => e.hash));
    expect([CHECKPOINT_ALG, E[5]!.alg]).toEqual(['HMAC-SHA256', 'HMAC-SHA256']);
    const size = fs.statSync(BASE).size;
    const r = await verifyAuditLog(BASE, { signingKey: KEY });
    expect(r).toEqual({
      file: BASE, status: 'verified', ok: true, problem: null, lines: 16, bytes: size, entries: 16, records: 12, forecasts: 0, outcomes: 0, checkpoints: 3, lastSeq: 15,
      lastHash: E[15]!.hash, lastCheckpoint: { seq: 15, line: 16, time: TIME, final: true }, unverifiedTail: null, closed: true, dropped: 0,
      sessions: 1, recoveries: [], digest: { file: `${BASE}.digest`, entries: 3, lastCheckpointSeq: 15 },
    });
    expect(formatAuditReport(r).split('\n')).toEqual([
      `audit log ${BASE}: VERIFIED: chain intact, every entry signed by a checkpoint, log closed`,
      `  16 lines, ${size} bytes; 16 entries verified (12 records, 3 checkpoints); last seq 15`,
      `  last good checkpoint: seq 15 (line 16) at ${TIME}, final`,
    ]);
    // The publicKey option wins over signingKey; with neither, or a key of the wrong type, a typed error.
    expect((await verifyAuditLog(BASE, { signingKey: OTHER_KEY, publicKey: KEY })).status).toBe('verified');
    expect(() => verifyAuditLines(L, {})).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT', message: 'audit verify: a signingKey (HMAC) or publicKey (Ed25519) is required' }));
    expect(() => verifyAuditLines(L, { publicKey: 5 as never })).toThrow(expect.objectContaining({ message: 'publicKey must be a string or a Uint8Array' }));
    expect(() => verifyAuditLines(L, { signingKey: 5 as never })).toThrow(expect.objectContaining({ message: 'signingKey must be a string or a Uint8Array' }));
  });

  it('a copy under another name still verifies (file mode ignores the digest segment name); an empty digest signs nothing', async () => {
    const copy = tmpPath();
    fs.copyFileSync(BASE, copy);
    fs.copyFileSync(`${BASE}.digest`, `${copy}.digest`);
    const r = await verifyAuditLog(copy, { signingKey: KEY });
    expect([r.status, r.problem, r.digest]).toEqual(['verified', null, { file: `${copy}.digest`, entries: 3, lastCheckpointSeq: 15 }]);
    fs.writeFileSync(`${copy}.digest`, '');
    const r2 = await verifyAuditLog(copy, { signingKey: KEY });
    expect([r2.status, r2.problem, r2.digest]).toEqual(['verified', null, { file: `${copy}.digest`, entries: 0, lastCheckpointSeq: null }]);
  });

  it('a resumed log after a crash: two sessions, the recovery, every counter exact', async () => {
    const file = tmpPath();
    await writeLog({ file }, 12);
    const junk = '{"callerId":"desk-1","callerIdHashed":fa';
    fs.appendFileSync(file, junk);
    await writeLog({ file }, 2);
    const lines = readLines(file);
    expect(lines.slice(0, 16).map((l) => JSON.parse(l).type)).toEqual(E.map((e) => e.type));
    expect(lines.slice(16).map((l) => JSON.parse(l).type)).toEqual(['open', 'record', 'record', 'checkpoint']);
    const size = fs.statSync(file).size;
    const r = await verifyAuditLog(file, { signingKey: KEY });
    expect(r).toEqual({
      file, status: 'verified', ok: true, problem: null, lines: 20, bytes: size, entries: 20, records: 14, forecasts: 0, outcomes: 0, checkpoints: 4, lastSeq: 19,
      lastHash: hashOf(lines[19]!), lastCheckpoint: { seq: 19, line: 20, time: TIME, final: true }, unverifiedTail: null, closed: true, dropped: 0,
      sessions: 2, recoveries: [{ line: 17, seq: 16, discardedBytes: junk.length }], digest: { file: `${file}.digest`, entries: 4, lastCheckpointSeq: 19 },
    });
    expect(formatAuditReport(r).split('\n').slice(3)).toEqual(['  writer sessions: 2', `  crash recovery at line 17 (seq 16): ${junk.length} bytes of an incomplete line were cut`]);
  });

  it('records dropped before the log (two gap entries): summed, formatted', async () => {
    const file = tmpPath();
    const log = await AuditLog.open({ file, durability: 'batched', signingKey: KEY, checkpointEvery: 5, flushIntervalMs: 5, now: () => T0, keyId: 'key-2026' });
    log.append(rec(0));
    log.recordDropped(3);
    log.append(rec(1));
    await log.flush();
    log.recordDropped(4);
    log.append(rec(2));
    await log.close();
    const lines = readLines(file);
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(['open', 'record', 'gap', 'record', 'gap', 'record', 'checkpoint', 'checkpoint']);
    const r = await verifyAuditLog(file, { signingKey: KEY });
    expect(r).toEqual({
      file, status: 'verified', ok: true, problem: null, lines: 8, bytes: fs.statSync(file).size, entries: 8, records: 3, forecasts: 0, outcomes: 0, checkpoints: 2, lastSeq: 7, lastHash: hashOf(lines[7]!),
      lastCheckpoint: { seq: 7, line: 8, time: TIME, final: true }, unverifiedTail: null, closed: true, dropped: 7, sessions: 1, recoveries: [], digest: { file: `${file}.digest`, entries: 2, lastCheckpointSeq: 7 },
    });
    expect(formatAuditReport(r).split('\n').slice(3)).toEqual(['  records dropped (a full queue or hand-off buffer, recorded in gap entries): 7']);
  });

  it("a forecast journal's entries (appendEntry): on the chain, counted apart from records, formatted; other types refused", async () => {
    const file = tmpPath();
    const log = await AuditLog.open({ file, durability: 'batched', signingKey: KEY, checkpointEvery: 5, flushIntervalMs: 5, now: () => T0 });
    log.appendEntry('forecast', { instrument: 'A', origin: 1, q: 'AAAAAA==' });
    log.append(rec(0));
    log.appendEntry('outcome', { instrument: 'A', at: 2, value: 3 });
    log.appendEntry('forecast', { instrument: 'A', origin: 2, q: 'AAAAAA==', seq: -5, type: 'record' });
    expect(() => log.appendEntry('record' as 'forecast', {})).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
    expect(() => log.appendEntry('forecast', {}, NaN)).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
    await log.close();
    const lines = readLines(file);
    // The chain's own fields win over an entry's fields of the same name.
    expect(lines.map((l) => [JSON.parse(l).type, JSON.parse(l).seq])).toEqual([['open', 0], ['forecast', 1], ['record', 2], ['outcome', 3], ['forecast', 4], ['checkpoint', 5], ['checkpoint', 6]]);
    const r = await verifyAuditLog(file, { signingKey: KEY });
    expect([r.status, r.entries, r.records, r.forecasts, r.outcomes, r.checkpoints]).toEqual(['verified', 7, 1, 2, 1, 2]);
    expect(formatAuditReport(r)).toContain(`  7 lines, ${r.bytes} bytes; 7 entries verified (1 records, 2 checkpoints, 2 forecasts, 1 outcomes); last seq 6`);
  });

  const TAIL_CASES: Array<[number, AuditVerifyReport['unverifiedTail'], string[]]> = [
    [14, { fromSeq: 12, fromLine: 13, entries: 2 }, ['2 entries', '14 entries verified (11 records, 2 checkpoints); last seq 13', `last good checkpoint: seq 11 (line 12) at ${TIME}`, 'unverified tail: 2 entries from seq 12 (line 13)']],
    [13, { fromSeq: 12, fromLine: 13, entries: 1 }, ['1 entry', '13 entries verified (10 records, 2 checkpoints); last seq 12', `last good checkpoint: seq 11 (line 12) at ${TIME}`, 'unverified tail: 1 entries from seq 12 (line 13)']],
    [12, { fromSeq: 12, fromLine: 13, entries: 0 }, ['0 entries', '12 entries verified (9 records, 2 checkpoints); last seq 11', `last good checkpoint: seq 11 (line 12) at ${TIME}`]],
    [4, { fromSeq: 0, fromLine: 1, entries: 4 }, ['4 entries', '4 entries verified (3 records, 0 checkpoints); last seq 3', 'no valid checkpoint', 'unverified tail: 4 entries from seq 0 (line 1)']],
  ];
  it.each(TAIL_CASES)('the first %i lines, no digest: an unverified tail, formatted', async (n, tail, [count, ...rest]) => {
    const file = tmpPath();
    const kept = L.slice(0, n);
    fs.writeFileSync(file, joinLines(kept));
    const r = await verifyAuditLog(file, { signingKey: KEY });
    const bytes = offsetOf(kept, n + 1);
    expect(r).toEqual({ file, status: 'unverified-tail', ok: true, problem: null, lines: n, bytes, ...counters(kept, n), unverifiedTail: tail, closed: false, digest: null });
    expect(formatAuditReport(r).split('\n')).toEqual([
      `audit log ${file}: OK WITH UNVERIFIED TAIL: chain intact, ${count} after the last checkpoint not signed, no final checkpoint (writer running, killed, or the end of the log was cut)`,
      `  ${n} lines, ${bytes} bytes; ${rest[0]}`,
      ...rest.slice(1).map((l) => `  ${l}`),
    ]);
  });
});

interface FileCase {
  name: string;
  log?: (l: string[], e: Entry[]) => string[] | Buffer;
  digest?: (d: string[], de: Entry[]) => string[];
  key?: string;
  /** The problem, the lines accepted before it (default: those before its line), the digest's size. */
  want: (t: string[], bytes: number, file: string) => { problem: Problem; counted?: number; digest?: { entries: number; lastCheckpointSeq: number | null } };
}

const FILE_CASES: FileCase[] = [
  { name: 'edited field', log: (l, e) => put(l, 4, JSON.stringify({ ...e[4], latencyUs: 99 })), want: (t) => ({ problem: problemAt(t, 'edited', 5, 4, 'seq 4 does not match its hash: its content was altered') }) },
  {
    name: 'respelled number (parses the same, not canonical)',
    log: (l) => put(l, 4, l[4]!.replace('"latencyUs":13,', '"latencyUs":13.0,')),
    want: (t) => ({
      problem: problemAt(t, 'edited', 5, 4, `seq 4 is not in canonical form (byte ${L[4]!.indexOf('"latencyUs":13') + 14} differs from the canonical JSON of its content: a number, a string escape, whitespace or the order of keys was rewritten, or a key repeated): its bytes were altered`),
    }),
  },
  { name: 'CRLF line end', log: (l) => put(l, 4, `${l[4]}\r`), want: (t) => ({ problem: problemAt(t, 'edited', 5, 4, 'seq 4 is not as the writer writes it: it does not end with its "hash" field') }) },
  {
    name: 'bytes that are not UTF-8',
    log: (l) => {
      const b = joinLines(l);
      b[offsetOf(l, 5) + 7] = 0xff;
      return b;
    },
    want: (t) => ({ problem: problemAt(t, 'malformed', 5, null, 'not an audit entry: not valid UTF-8 (byte 7 of the line): its bytes were altered') }),
  },
  { name: 'a line that is not an entry', log: (l) => put(l, 2, '{"hello":"world"}'), want: (t) => ({ problem: problemAt(t, 'malformed', 3, null, 'not an audit entry: unknown format version undefined') }) },
  {
    name: 'edited and re-hashed: chain-break at the next entry',
    log: (l, e) => put(l, 2, seal({ ...e[2], callerId: 'mallory' })),
    want: (t) => ({ problem: problemAt(t, 'chain-break', 4, 3, 'seq 3 does not link to the entry before it: that entry was altered and re-hashed, or this one was inserted or replaced', { from: 3, to: 4 }) }),
  },
  { name: 'deleted line', log: (l) => l.filter((_, i) => i !== 7), want: (t) => ({ problem: problemAt(t, 'deleted', 8, 8, 'expected seq 7, found seq 8: 1 entry is missing') }) },
  { name: 'two deleted lines', log: (l) => l.filter((_, i) => i !== 7 && i !== 8), want: (t) => ({ problem: problemAt(t, 'deleted', 8, 9, 'expected seq 7, found seq 9: 2 entries are missing') }) },
  {
    name: 'deleted line, a later line not JSON: still deleted',
    log: (l) => put(l, 12, 'garbage').filter((_, i) => i !== 7),
    want: (t) => ({ problem: problemAt(t, 'deleted', 8, 8, 'expected seq 7, found seq 8: 1 entry is missing') }),
  },
  { name: 'deleted first line', log: (l) => l.slice(1), want: (t) => ({ problem: problemAt(t, 'deleted', 1, 1, 'expected seq 0, found seq 1: 1 entry is missing') }) },
  {
    name: 'two lines swapped',
    log: (l) => [...l.slice(0, 3), l[4]!, l[3]!, ...l.slice(5)],
    want: (t) => ({ problem: problemAt(t, 'reordered', 4, 4, 'expected seq 3, found seq 4; seq 3 appears later: entries were reordered', { from: 4, to: 16 }) }),
  },
  {
    name: 'a line moved five lines down',
    log: (l) => [...l.slice(0, 7), ...l.slice(8, 13), l[7]!, ...l.slice(13)],
    want: (t) => ({ problem: problemAt(t, 'reordered', 8, 8, 'expected seq 7, found seq 8; seq 7 appears later: entries were reordered', { from: 8, to: 16 }) }),
  },
  {
    name: 'a line duplicated',
    log: (l) => [...l.slice(0, 8), l[7]!, ...l.slice(8)],
    want: (t) => ({ problem: problemAt(t, 'inserted', 9, 7, 'seq 7 appears again after seq 7: an entry was inserted or duplicated', { from: 8, to: 9 }) }),
  },
  {
    name: 'an old line inserted later',
    log: (l) => [...l.slice(0, 10), l[2]!, ...l.slice(10)],
    want: (t) => ({ problem: problemAt(t, 'inserted', 11, 2, 'seq 2 appears again after seq 9: an entry was inserted or duplicated', { from: 10, to: 11 }) }),
  },
  {
    name: 'first entry not on the genesis hash',
    log: (l, e) => put(l, 0, seal({ ...e[0], prevHash: '1'.repeat(64) })),
    want: (t) => ({ problem: problemAt(t, 'bad-genesis', 1, 0, 'the first entry does not start the chain (prevHash is not the genesis hash)') }),
  },
  { name: 'edit, rest re-chained: the first checkpoint', log: (_, e) => forge(put(e, 2, { ...e[2]!, latencyUs: 0 })), want: (t) => ({ problem: problemAt(t, 'bad-checkpoint', 6, 5, `checkpoint seq 5: ${LASTHASH_MSG}`, { from: 1, to: 6 }) }) },
  { name: 'edit, rest re-chained: the second checkpoint', log: (_, e) => forge(put(e, 8, { ...e[8]!, latencyUs: 0 })), want: (t) => ({ problem: problemAt(t, 'bad-checkpoint', 12, 11, `checkpoint seq 11: ${LASTHASH_MSG}`, { from: 7, to: 12 }) }) },
  {
    name: 'edit, rest re-chained, checkpoint lastHash re-linked: its signature',
    log: (_, e) => forge(put(e, 8, { ...e[8]!, latencyUs: 0 }), 'relink'),
    want: (t) => ({ problem: problemAt(t, 'bad-signature', 12, 11, `checkpoint seq 11: ${SIG_MSG}`, { from: 7, to: 12 }) }),
  },
  { name: 'wrong key', key: OTHER_KEY, want: (t) => ({ problem: problemAt(t, 'bad-signature', 6, 5, `checkpoint seq 5: ${SIG_MSG}`, { from: 1, to: 6 }) }) },
  {
    name: 'last line cut mid-entry',
    log: (l) => joinLines(l).subarray(0, offsetOf(l, 17) - 40),
    want: (t) => ({ problem: problemAt(t, 'truncated', 16, null, `the last line is incomplete (${L[15]!.length - 39} bytes, no newline): the file was cut mid-entry`) }),
  },
  { name: 'a line that is not an entry after the final checkpoint: invalid, not closed', log: (l) => [...l, 'garbage'], want: (t) => ({ problem: problemAt(t, 'malformed', 17, null, `not an audit entry: not JSON (${jsonError('garbage')})`) }) },
  { name: 'empty file', log: () => Buffer.alloc(0), want: () => ({ problem: { reason: 'empty', line: 0, offset: 0, seq: null, message: 'the log is empty', suspectLines: null } }) },
  {
    name: 'entries cut after a checkpoint the digest signs',
    log: (l) => l.slice(0, 14),
    want: (_, bytes) => ({ problem: { reason: 'missing-entries', line: 14, offset: bytes, seq: 15, message: `the digest (line 3) signs checkpoint seq 15 in ${path.basename(BASE)}, which the log does not hold: entries or whole segments were removed`, suspectLines: null }, counted: 14 }),
  },
  {
    name: 'malformed digest',
    digest: (d) => put(d, 1, d[1]!.replace('"toSeq":10', '"toSeq":9')),
    want: (_, bytes, file) => ({ problem: { reason: 'bad-digest', line: 16, offset: bytes, seq: null, message: `${path.basename(file)}.digest: digest line 2 (seq 1) does not match its hash: its content was altered`, suspectLines: null }, counted: 16, digest: { entries: 1, lastCheckpointSeq: 5 } }),
  },
  {
    name: 'well-formed digest whose checkpoint hash disagrees with the log',
    digest: (_, de) => forgeDigest(put(de, 1, { ...de[1]!, checkpointHash: 'ab'.repeat(32) })),
    want: (_, bytes) => ({ problem: { reason: 'bad-digest', line: 16, offset: bytes, seq: 11, message: `checkpoint seq 11 has hash ${E[11]!.hash}, the digest recorded ${'ab'.repeat(32)}`, suspectLines: null }, counted: 16 }),
  },
];

describe('file mode: every tampering, the whole report', () => {
  it.each(FILE_CASES)('$name', async (c) => {
    const file = tmpPath();
    const out = c.log ? c.log([...L], E.map((e) => ({ ...e }))) : L;
    const bytes = Buffer.isBuffer(out) ? out : joinLines(out);
    fs.writeFileSync(file, bytes);
    fs.writeFileSync(`${file}.digest`, joinLines(c.digest ? c.digest([...D], DE.map((e) => ({ ...e }))) : D));
    const t = textLines(bytes);
    const w = c.want(t, bytes.length, file);
    const r = await verifyAuditLog(file, { signingKey: c.key ?? KEY });
    expect(r).toEqual(invalid(file, t, bytes.length, w.problem, w.counted ?? w.problem.line - 1, { digest: { file: `${file}.digest`, ...(w.digest ?? { entries: 3, lastCheckpointSeq: 15 }) } }));
  });

  it('formats an invalid report: position, seq, reason, suspect lines, the last good checkpoint', () => {
    const lines = forge(put(E, 8, { ...E[8]!, latencyUs: 0 }));
    const r = verifyAuditLines(lines, { signingKey: KEY });
    expect(formatAuditReport(r).split('\n')).toEqual([
      'audit log: INVALID: bad-checkpoint',
      `  first bad position: line 12, byte ${offsetOf(lines, 12)}, seq 11`,
      `  reason: checkpoint seq 11: ${LASTHASH_MSG}`,
      '  suspect lines: 7..12',
      `  16 lines, ${offsetOf(lines, 17)} bytes; 11 entries verified (9 records, 1 checkpoints); last seq 10`,
      `  last good checkpoint: seq 5 (line 6) at ${TIME}`,
    ]);
    expect(formatAuditReport(verifyAuditLines(['garbage'], { signingKey: KEY })).split('\n')).toEqual([
      'audit log: INVALID: malformed',
      '  first bad position: line 1, byte 0',
      `  reason: not an audit entry: not JSON (${jsonError('garbage')})`,
      '  1 lines, 8 bytes; 0 entries verified (0 records, 0 checkpoints); last seq -1',
      '  no valid checkpoint',
    ]);
  });
});

describe('entries the chain refuses to read (chain.ts parseEntry), in memory', () => {
  const H = 'a'.repeat(64);
  const cases: Array<[string, number, string | Record<string, unknown>, string]> = [
    ['not JSON', 1, 'nope', `not JSON (${jsonError('nope')})`],
    ['null', 1, 'null', 'not a JSON object'],
    ['an array', 1, '[1]', 'not a JSON object'],
    ['a number', 1, '42', 'not a JSON object'],
    ['another version', 1, { v: 2 }, 'unknown format version 2'],
    ['version as a string', 1, { v: '1' }, 'unknown format version "1"'],
    ['unknown type', 1, { type: 'note' }, 'unknown entry type "note"'],
    ['negative seq', 1, { seq: -1 }, 'seq is not a non-negative integer'],
    ['fractional seq', 1, { seq: 1.5 }, 'seq is not a non-negative integer'],
    ['seq as a string', 1, { seq: '1' }, 'seq is not a non-negative integer'],
    ['prevHash a number', 1, { prevHash: 5 }, 'prevHash is not 64 hex characters'],
    ['prevHash upper case', 1, { prevHash: 'A'.repeat(64) }, 'prevHash is not 64 hex characters'],
    ['prevHash 63 hex', 1, { prevHash: 'a'.repeat(63) }, 'prevHash is not 64 hex characters'],
    ['prevHash with a prefix', 1, { prevHash: `x${H}` }, 'prevHash is not 64 hex characters'],
    ['prevHash with a suffix', 1, { prevHash: `${H}0` }, 'prevHash is not 64 hex characters'],
    ['prevHash an array that prints as hex', 1, { prevHash: [H] }, 'prevHash is not 64 hex characters'],
    ['hash a number', 1, { hash: 5 }, 'hash is not 64 hex characters'],
    ['hash not hex', 1, { hash: 'g'.repeat(64) }, 'hash is not 64 hex characters'],
    ['hash with a prefix', 1, { hash: `x${H}` }, 'hash is not 64 hex characters'],
    ['hash with a suffix', 1, { hash: `${H}0` }, 'hash is not 64 hex characters'],
    ['hash an array that prints as hex', 1, { hash: [H] }, 'hash is not 64 hex characters'],
    ['time a number', 1, { time: 5 }, 'time is not a string'],
    ['checkpoint fromSeq a string', 5, { fromSeq: '0' }, 'checkpoint fromSeq is not an integer'],
    ['checkpoint toSeq fractional', 5, { toSeq: 4.5 }, 'checkpoint toSeq is not an integer'],
    ['checkpoint count null', 5, { count: null }, 'checkpoint count is not an integer'],
    ['checkpoint lastHash a number', 5, { lastHash: 5 }, 'checkpoint fields lastHash/final/keyId malformed'],
    ['checkpoint final a string', 5, { final: 'false' }, 'checkpoint fields lastHash/final/keyId malformed'],
    ['checkpoint keyId a number', 5, { keyId: 5 }, 'checkpoint fields lastHash/final/keyId malformed'],
    ['checkpoint keyId missing', 5, { keyId: undefined }, 'checkpoint fields lastHash/final/keyId malformed'],
  ];
  it.each(cases)('%s', (_, i, line, why) => {
    const lines = put(L, i, typeof line === 'string' ? line : JSON.stringify({ ...E[i], ...line }));
    const r = verifyAuditLines(lines, { signingKey: KEY });
    expect(r).toEqual(invalid(null, lines, offsetOf(lines, 17), problemAt(lines, 'malformed', i + 1, null, `not an audit entry: ${why}`), i));
  });
});

describe('checkpoints re-signed with the key: span, lastHash and algorithm still checked (chain.ts checkpointProblem)', () => {
  const cases: Array<[string, number, Record<string, unknown>, Problem['reason'], string]> = [
    ['count off by one', 5, { count: 4 }, 'bad-checkpoint', 'checkpoint claims seq 0..4 (count 4) but follows seq 0..4'],
    ['fromSeq off by one', 5, { fromSeq: 1 }, 'bad-checkpoint', 'checkpoint claims seq 1..4 (count 5) but follows seq 0..4'],
    ['toSeq off by one', 5, { toSeq: 3 }, 'bad-checkpoint', 'checkpoint claims seq 0..3 (count 5) but follows seq 0..4'],
    ['second checkpoint spanning the first', 11, { fromSeq: 5, count: 6 }, 'bad-checkpoint', 'checkpoint claims seq 5..10 (count 6) but follows seq 6..10'],
    ['lastHash not the entry before', 5, { lastHash: 'ab'.repeat(32) }, 'bad-checkpoint', LASTHASH_MSG],
    ['another algorithm named', 5, { alg: 'Ed25519' }, 'bad-signature', 'checkpoint signed with "Ed25519", this key verifies HMAC-SHA256'],
  ];
  it.each(cases)('%s', (_, i, over, reason, why) => {
    const lines = forge(put(E, i, signed({ ...E[i]!, ...over })));
    const from = i === 5 ? 1 : 7;
    const r = verifyAuditLines(lines, { signingKey: KEY });
    expect(r).toEqual(invalid(null, lines, offsetOf(lines, 17), problemAt(lines, reason, i + 1, i, `checkpoint seq ${i}: ${why}`, { from, to: i + 1 }), i));
  });

  it('a log forged with the key: odd but sound entries are counted only as far as they are well-typed', () => {
    const gap = (seq: number, dropped: unknown): Entry => ({ v: 1, type: 'gap', seq, prevHash: '', hash: '', time: TIME, reason: 'queue-full', dropped, firstTime: TIME, lastTime: TIME });
    const entries: Entry[] = [
      { ...E[0]!, recovered: 5 }, // not an object: no recovery
      E[1]!,
      gap(2, '3'), // not a number: not counted
      gap(3, 2),
      gap(4, 4),
      { ...E[0]!, seq: 5, resumed: true, recovered: { discardedBytes: 7, discardedSha256: 'ab'.repeat(32) } },
      { ...E[5]!, seq: 6, fromSeq: 0, toSeq: 5, count: 6, final: true },
      { ...E[1]!, seq: 7, final: true }, // a record claiming to be final closes nothing
    ];
    const lines = forge(entries, 'sign');
    const r = verifyAuditLines(lines, { signingKey: KEY });
    expect(r).toEqual({
      file: null, status: 'unverified-tail', ok: true, problem: null, lines: 8, bytes: offsetOf(lines, 9), entries: 8, records: 2, forecasts: 0, outcomes: 0, checkpoints: 1, lastSeq: 7,
      lastHash: hashOf(lines[7]!), lastCheckpoint: { seq: 6, line: 7, time: TIME, final: true }, unverifiedTail: { fromSeq: 7, fromLine: 8, entries: 1 }, closed: false,
      dropped: 6, sessions: 2, recoveries: [{ line: 6, seq: 5, discardedBytes: 7 }],
    });
  });
});

describe('bytes and offsets', () => {
  it('text and buffers fed to AuditVerifier count bytes, not characters; verifyAuditLines offsets are byte offsets', async () => {
    const log = await AuditLog.open({ durability: 'memory', signingKey: KEY, now: () => T0 });
    for (let i = 0; i < 4; i++) log.append({ ...rec(i), callerId: `désk-€-${i}` });
    await log.close();
    const lines = [...log.memoryLines()];
    const bytes = lines.reduce((s, l) => s + Buffer.byteLength(l) + 1, 0);
    const fromText = new AuditVerifier(KEY);
    const fromBuffers = new AuditVerifier(KEY);
    for (const l of lines) {
      fromText.line(l, 0, true);
      fromBuffers.line(Buffer.from(l), 0, true);
    }
    const want = { file: null, status: 'verified', ok: true, problem: null, lines: 6, bytes, entries: 6, records: 4, forecasts: 0, outcomes: 0, checkpoints: 1, lastSeq: 5, lastHash: hashOf(lines[5]!) };
    expect(fromText.finish()).toMatchObject(want);
    expect(fromBuffers.finish()).toMatchObject(want);
    expect(verifyAuditLines(lines, { signingKey: KEY })).toMatchObject(want);
    const edited = put(lines, 3, lines[3]!.replace('désk-€-2', 'désk-€-9'));
    expect(verifyAuditLines(edited, { signingKey: KEY }).problem).toEqual({
      reason: 'edited', line: 4, offset: Buffer.byteLength(lines.slice(0, 3).join('\n')) + 1, seq: 3, message: 'seq 3 does not match its hash: its content was altered', suspectLines: null,
    });
  });

  it('a log over 1 MiB, read in chunks: a line across the chunk boundary, a line past it, a cut last line', async () => {
    const file = tmpPath();
    await writeLog({ file }, 1100, { checkpointEvery: 100 }, 'x'.repeat(1000));
    const lines = readLines(file);
    const size = fs.statSync(file).size;
    expect(size).toBeGreaterThan(1 << 20);
    expect(await verifyAuditLog(file, { signingKey: KEY })).toEqual({
      file, status: 'verified', ok: true, problem: null, lines: lines.length, bytes: size, ...counters(lines, lines.length), unverifiedTail: null, closed: true,
      digest: { file: `${file}.digest`, entries: 12, lastCheckpointSeq: lines.length - 1 },
    });
    const across = lines.findIndex((_, i) => offsetOf(lines, i + 2) > 1 << 20); // the line holding byte 2^20
    for (const k of [across, across + 300]) {
      const t = put(lines, k, lines[k]!.replace('"time":"2026', '"time":"2027'));
      fs.writeFileSync(file, joinLines(t));
      expect((await verifyAuditLog(file, { signingKey: KEY })).problem).toEqual(problemAt(t, 'edited', k + 1, k, `seq ${k} does not match its hash: its content was altered`));
    }
    fs.writeFileSync(file, joinLines(lines).subarray(0, size - 10));
    const cut = await verifyAuditLog(file, { signingKey: KEY });
    expect([cut.problem, cut.bytes, cut.entries]).toEqual([problemAt(lines, 'truncated', lines.length, null, `the last line is incomplete (${lines.at(-1)!.length - 9} bytes, no newline): the file was cut mid-entry`), size - 10, lines.length - 1]);
  });
});

describe('dir mode: segments, their names, the digest', () => {
  // 12 records, a segment every ~1000 bytes: three lines per segment, each after the first opening
  // with a checkpoint; the final checkpoint ends the last one (seq 18, line 19).
  let BASE_DIR = '';
  let SEGS: ReturnType<typeof listSegments> = [];
  beforeAll(async () => {
    BASE_DIR = tmpPath('.d');
    await writeLog({ dir: BASE_DIR }, 12, { checkpointEvery: 1000, segmentBytes: 1000 });
    SEGS = listSegments(BASE_DIR);
  });
  const segName = (seq: number): string => `segment-${String(seq).padStart(16, '0')}.jsonl`;
  const allLines = (dir: string): string[] => listSegments(dir).flatMap((s) => readLines(s.path));
  const segmentsOf = (dir: string) => {
    let first = 1;
    return listSegments(dir).map((s) => {
      const n = readLines(s.path).length;
      first += n;
      return { name: s.name, firstLine: first - n, lines: n };
    });
  };
  const bytesOf = (dir: string): number => listSegments(dir).reduce((s, g) => s + fs.statSync(g.path).size, 0);
  const copyDir = (): string => {
    const dir = tmpPath('.d');
    fs.cpSync(BASE_DIR, dir, { recursive: true });
    return dir;
  };
  const at = (dir: string, k: number): string => path.join(dir, SEGS[k]!.name);
  const rename = (dir: string, k: number, seq: number): void => fs.renameSync(at(dir, k), path.join(dir, segName(seq)));
  const editLine = (file: string, i: number, edit: (l: string) => string): void => fs.writeFileSync(file, joinLines(put(readLines(file), i, edit(readLines(file)[i]!))));
  const latency = (l: string): string => l.replace(/"latencyUs":(\d+)/, '"latencyUs":9$1');

  it('a good directory: verified, the segments listed, formatted', async () => {
    expect(SEGS.map((s) => s.firstSeq)).toEqual([0, 3, 6, 9, 12, 15]);
    const lines = allLines(BASE_DIR);
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(['open', 'record', 'record', ...Array(5).fill(['checkpoint', 'record', 'record']).flat(), 'checkpoint']);
    const r = await verifyAuditLog(BASE_DIR, { signingKey: KEY });
    const segments = SEGS.map((s, k) => ({ name: s.name, firstLine: 3 * k + 1, lines: k < 5 ? 3 : 4 }));
    expect(r).toEqual({
      file: BASE_DIR, status: 'verified', ok: true, problem: null, lines: 19, bytes: bytesOf(BASE_DIR), entries: 19, records: 12, forecasts: 0, outcomes: 0, checkpoints: 6, lastSeq: 18,
      lastHash: hashOf(lines[18]!), lastCheckpoint: { seq: 18, line: 19, time: TIME, final: true }, unverifiedTail: null, closed: true, dropped: 0, sessions: 1,
      recoveries: [], segments, digest: { file: path.join(BASE_DIR, 'digest.jsonl'), entries: 6, lastCheckpointSeq: 18 },
    });
    expect(formatAuditReport(r).split('\n').at(-1)).toBe(`  segments: 6 (${SEGS.map((s) => s.name).join(', ')})`);
  });

  interface DirCase {
    name: string;
    tamper: (dir: string) => void;
    want: (t: string[], bytes: number, segs: ReturnType<typeof segmentsOf>) => { problem: Problem; counted: number };
  }
  /** segment-...06 renamed to segment-...07: its first entry is still seq 6. */
  const RENAMED_7: Problem = { reason: 'bad-segment', line: 7, offset: 0, seq: 6, message: `${segName(7)} starts with seq 6, its name says 7 (renamed or rearranged segments)`, suspectLines: null, segment: segName(7), segmentLine: 1 };
  const DIR_CASES: DirCase[] = [
    { name: 'a renamed segment', tamper: (dir) => rename(dir, 2, 7), want: (t) => ({ problem: RENAMED_7, counted: t.length }) },
    { name: 'two renamed segments: the first is reported', tamper: (dir) => (rename(dir, 2, 7), rename(dir, 4, 13)), want: (t) => ({ problem: RENAMED_7, counted: t.length }) },
    {
      name: 'a later segment that does not open with a checkpoint',
      tamper: (dir) => {
        const [cp, ...rest] = readLines(at(dir, 2));
        fs.appendFileSync(at(dir, 1), `${cp}\n`);
        fs.writeFileSync(at(dir, 2), joinLines(rest));
        rename(dir, 2, 7);
      },
      want: (t) => ({ problem: { reason: 'bad-segment', line: 8, offset: 0, seq: 7, message: `${segName(7)} does not start with the checkpoint that opens every later segment`, suspectLines: null, segment: segName(7), segmentLine: 1 }, counted: t.length }),
    },
    {
      name: 'a segment missing its first line and renamed: the chain problem on the same line wins',
      tamper: (dir) => (fs.writeFileSync(at(dir, 2), joinLines(readLines(at(dir, 2)).slice(1))), rename(dir, 2, 7)),
      want: () => ({ problem: { reason: 'deleted', line: 7, offset: 0, seq: 7, message: 'expected seq 6, found seq 7: 1 entry is missing', suspectLines: null, segment: segName(7), segmentLine: 1 }, counted: 6 }),
    },
    {
      name: 'an edit before a renamed segment: the edit wins, located in its segment',
      tamper: (dir) => (editLine(at(dir, 1), 1, latency), rename(dir, 3, 10)),
      want: (t) => ({ problem: { reason: 'edited', line: 5, offset: t[3]!.length + 1, seq: 4, message: 'seq 4 does not match its hash: its content was altered', suspectLines: null, segment: SEGS[1]!.name, segmentLine: 2 }, counted: 4 }),
    },
    { name: 'a renamed segment before an edit: the segment wins', tamper: (dir) => (editLine(at(dir, 3), 1, latency), rename(dir, 2, 7)), want: () => ({ problem: RENAMED_7, counted: 10 }) },
    {
      name: 'a middle segment cut mid-line',
      tamper: (dir) => fs.writeFileSync(at(dir, 2), fs.readFileSync(at(dir, 2)).subarray(0, -10)),
      want: (t) => ({ problem: { reason: 'truncated', line: 9, offset: t[6]!.length + t[7]!.length + 2, seq: null, message: `the last line is incomplete (${t[8]!.length} bytes, no newline): the file was cut mid-entry`, suspectLines: null, segment: SEGS[2]!.name, segmentLine: 3 }, counted: 8 }),
    },
    {
      name: 'a renamed segment in a log cut after its last checkpoint: invalid, no unverified tail',
      tamper: (dir) => (fs.writeFileSync(at(dir, 5), joinLines(readLines(at(dir, 5)).slice(0, 3))), rename(dir, 2, 7)),
      want: (t) => ({ problem: RENAMED_7, counted: t.length }),
    },
    {
      name: 'a middle segment whose first line is not JSON',
      tamper: (dir) => editLine(at(dir, 3), 0, () => 'garbage'),
      want: () => ({ problem: { reason: 'malformed', line: 10, offset: 0, seq: null, message: `not an audit entry: not JSON (${jsonError('garbage')})`, suspectLines: null, segment: SEGS[3]!.name, segmentLine: 1 }, counted: 9 }),
    },
    {
      name: 'the last two segments removed: the digest signs checkpoints the log no longer holds',
      tamper: (dir) => (fs.rmSync(at(dir, 4)), fs.rmSync(at(dir, 5))),
      want: (t, bytes) => ({
        problem: { reason: 'missing-entries', line: 12, offset: bytes, seq: 12, message: `the digest (line 4) signs checkpoint seq 12 in ${SEGS[4]!.name}, which the log does not hold: entries or whole segments were removed`, suspectLines: null, segment: SEGS[3]!.name, segmentLine: 3 },
        counted: t.length,
      }),
    },
    {
      name: 'a well-formed digest that names the wrong segment',
      tamper: (dir) => {
        const de = readLines(path.join(dir, 'digest.jsonl')).map((l) => JSON.parse(l) as Entry);
        fs.writeFileSync(path.join(dir, 'digest.jsonl'), joinLines(forgeDigest(put(de, 2, { ...de[2]!, segment: SEGS[2]!.name }))));
      },
      want: (t, bytes) => ({
        problem: { reason: 'bad-digest', line: 19, offset: bytes, seq: 9, message: `checkpoint seq 9 is in ${SEGS[3]!.name}, the digest recorded ${SEGS[2]!.name}`, suspectLines: null, segment: SEGS[5]!.name, segmentLine: 4 },
        counted: t.length,
      }),
    },
  ];
  it.each(DIR_CASES)('$name', async (c) => {
    const dir = copyDir();
    c.tamper(dir);
    const t = allLines(dir);
    const bytes = bytesOf(dir);
    const segs = segmentsOf(dir);
    const w = c.want(t, bytes, segs);
    const r = await verifyAuditLog(dir, { signingKey: KEY });
    expect(r).toEqual(invalid(dir, t, bytes, w.problem, w.counted, { segments: segs, digest: { file: path.join(dir, 'digest.jsonl'), entries: 6, lastCheckpointSeq: 18 } }));
  });

  it('formats a problem by segment and line', async () => {
    const dir = copyDir();
    editLine(at(dir, 1), 1, latency);
    const r = await verifyAuditLog(dir, { signingKey: KEY });
    expect(formatAuditReport(r).split('\n').slice(0, 3)).toEqual([
      `audit log ${dir}: INVALID: edited`,
      `  first bad position: ${SEGS[1]!.name} line 2 (line 5 of the log), byte ${readLines(at(dir, 1))[0]!.length + 1}, seq 4`,
      '  reason: seq 4 does not match its hash: its content was altered',
    ]);
  });

  // A verifier that leaked a descriptor per segment would run out of them on a long-lived log.
  it.runIf(process.platform === 'linux')('closes every file it opens', async () => {
    const fds = (): number => fs.readdirSync('/proc/self/fd').length;
    const before = fds();
    expect((await verifyAuditLog(BASE_DIR, { signingKey: KEY })).status).toBe('verified');
    expect((await verifyAuditLog(BASE, { signingKey: KEY })).status).toBe('verified');
    expect(fds()).toBe(before);
  });

  it('a directory without segments: empty, no digest', async () => {
    const dir = tmpPath('.d');
    fs.mkdirSync(dir);
    expect(await verifyAuditLog(dir, { signingKey: KEY })).toEqual({
      file: dir, status: 'invalid', ok: false, problem: { reason: 'empty', line: 0, offset: 0, seq: null, message: `no segment-*.jsonl file in ${dir}`, suspectLines: null },
      lines: 0, bytes: 0, entries: 0, records: 0, forecasts: 0, outcomes: 0, checkpoints: 0, lastSeq: -1, lastHash: null, lastCheckpoint: null, unverifiedTail: null, closed: false,
      dropped: 0, sessions: 0, recoveries: [], segments: [], digest: null,
    });
  });
});
