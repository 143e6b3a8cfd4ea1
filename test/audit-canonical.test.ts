// "Detects any edit" holds byte for byte: a stored line that parses to the same value as the one
// the writer wrote (a trailing zero, an exponent, -0, a \u escape, whitespace, key order, a
// repeated key, CRLF, a swapped invalid UTF-8 sequence) is an edit, found by the verifier at its
// line, refused by a writer resuming the log, and caught in the digest.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { AuditErrorCode, AuditLog, canonicalJson, verifyAuditLines, verifyAuditLog, type AuditRecordInput } from '../lib/audit/index';

const KEY = 'canonical-test-signing-key-0123456789abcdef';
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-audit-canonical-'));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

let n = 0;
const tmpFile = (): string => path.join(TMP, `log-${++n}.log`);

const rec = (i: number): AuditRecordInput => ({
  callerId: `desk-${i}`,
  status: i === 2 ? 'blocked' : 'ok',
  latencyUs: 12.5 + i,
  inputStats: { n: 100, nan: 0, nested: { a: 1, b: 2 }, note: 'café/crème \ufffd', lone: '\ud800' },
  decisions: [{ shield: 'input', action: 'pass', threat: 0.25 }],
});

/** A closed, signed log (checkpoints every 4 entries) with its digest; returns the file. */
async function pristine(): Promise<string> {
  const file = tmpFile();
  const log = await AuditLog.open({ file, durability: 'batched', flushIntervalMs: 5, signingKey: KEY, checkpointEvery: 4 });
  for (let i = 0; i < 6; i++) log.append(rec(i));
  await log.close();
  return file;
}

/** A copy of a log and its digest, lines as Buffers (without their newlines). */
function copyOf(file: string): { file: string; lines: Buffer[] } {
  const copy = tmpFile();
  fs.copyFileSync(file, copy);
  fs.copyFileSync(`${file}.digest`, `${copy}.digest`);
  const bytes = fs.readFileSync(copy);
  const lines: Buffer[] = [];
  for (let s = 0; s < bytes.length; ) {
    const nl = bytes.indexOf(0x0a, s);
    lines.push(bytes.subarray(s, nl));
    s = nl + 1;
  }
  return { file: copy, lines };
}

const writeLines = (file: string, lines: Buffer[]): void => fs.writeFileSync(file, Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));

/** Replaces the first occurrence of `from` in a line (bytes or text), insisting it is there. */
function replaceOnce(line: Buffer, from: string | Buffer, to: string | Buffer): Buffer {
  const f = Buffer.from(from);
  const at = line.indexOf(f);
  if (at === -1) throw new Error(`test setup: ${String(from)} not in ${line.toString()}`);
  return Buffer.concat([line.subarray(0, at), Buffer.from(to), line.subarray(at + f.length)]);
}

type Which = 'open' | 'blocked-record' | 'record' | 'first-checkpoint' | 'final-checkpoint';
function lineIndex(lines: Buffer[], which: Which): number {
  const text = lines.map((l) => l.toString());
  const i =
    which === 'open' ? text.findIndex((l) => l.includes('"type":"open"'))
    : which === 'blocked-record' ? text.findIndex((l) => l.includes('"status":"blocked"'))
    : which === 'record' ? text.findIndex((l) => l.includes('"type":"record"') && l.includes('"latencyUs":12.5,'))
    : which === 'first-checkpoint' ? text.findIndex((l) => l.includes('"type":"checkpoint"'))
    : text.length - 1;
  expect(i).toBeGreaterThanOrEqual(0);
  return i;
}

/** Edits that leave what the line parses to unchanged (unless `sameValue: false`). */
/** `malformed`: the line is no longer JSON text a parser takes (not UTF-8, a byte-order mark). */
const EDITS: { name: string; which: Which; edit: (l: Buffer) => Buffer; sameValue?: false; malformed?: true }[] = [
  { name: 'a trailing zero (12.5 -> 12.50)', which: 'record', edit: (l) => replaceOnce(l, '"latencyUs":12.5,', '"latencyUs":12.50,') },
  { name: 'a trailing zero on any latency', which: 'record', edit: (l) => Buffer.from(l.toString().replace(/"latencyUs":(\d+\.\d+),/, (_m, x: string) => `"latencyUs":${x}0,`)) },
  { name: 'an exponent (12.5 -> 1.25e1)', which: 'record', edit: (l) => replaceOnce(l, '"latencyUs":12.5,', '"latencyUs":1.25e1,') },
  { name: 'an exponent (100 -> 1e2)', which: 'record', edit: (l) => replaceOnce(l, '"n":100', '"n":1e2') },
  { name: 'an exponent (100 -> 1E+2)', which: 'record', edit: (l) => replaceOnce(l, '"n":100', '"n":1E+2') },
  { name: 'a decimal point (100 -> 100.0)', which: 'record', edit: (l) => replaceOnce(l, '"n":100', '"n":100.0') },
  { name: 'negative zero (0 -> -0)', which: 'record', edit: (l) => replaceOnce(l, '"nan":0', '"nan":-0') },
  { name: 'zero as 0.0e0', which: 'record', edit: (l) => replaceOnce(l, '"nan":0', '"nan":0.0e0') },
  { name: 'a space after a colon', which: 'blocked-record', edit: (l) => replaceOnce(l, '"status":"blocked"', '"status": "blocked"') },
  { name: 'a space after a comma', which: 'record', edit: (l) => replaceOnce(l, ',"status"', ', "status"') },
  { name: 'a tab inside an object', which: 'record', edit: (l) => replaceOnce(l, '{"a":1', '{\t"a":1') },
  { name: 'a leading space', which: 'record', edit: (l) => Buffer.concat([Buffer.from(' '), l]) },
  { name: 'a trailing space', which: 'record', edit: (l) => Buffer.concat([l, Buffer.from(' ')]) },
  { name: 'a CRLF line end', which: 'record', edit: (l) => Buffer.concat([l, Buffer.from('\r')]) },
  { name: 'keys reordered (nested)', which: 'record', edit: (l) => replaceOnce(l, '{"a":1,"b":2}', '{"b":2,"a":1}') },
  { name: 'keys reordered (top level)', which: 'blocked-record', edit: (l) => replaceOnce(l, '"callerId":"desk-2","callerIdHashed":false', '"callerIdHashed":false,"callerId":"desk-2"') },
  {
    name: 'the hash moved to the front',
    which: 'record',
    edit: (l) => {
      const t = l.toString();
      const h = t.slice(t.lastIndexOf(',"hash":'), -1);
      return Buffer.from(`{${h.slice(1)},${t.slice(1, t.lastIndexOf(',"hash":'))}}`);
    },
  },
  { name: 'a \\u escape for é', which: 'record', edit: (l) => replaceOnce(l, 'é', '\\u00e9') },
  { name: 'a \\u escape for an ASCII letter', which: 'blocked-record', edit: (l) => replaceOnce(l, '"blocked"', '"\\u0062locked"') },
  { name: 'a \\u escape in a key', which: 'record', edit: (l) => replaceOnce(l, '"status"', '"\\u0073tatus"') },
  { name: 'an upper-case \\u escape', which: 'record', edit: (l) => replaceOnce(l, '\\ud800', '\\uD800') },
  { name: 'an escaped slash', which: 'record', edit: (l) => replaceOnce(l, 'café/', 'café\\/') },
  { name: 'a repeated key, the first one a lie (JSON.parse keeps the last)', which: 'blocked-record', edit: (l) => replaceOnce(l, '{"callerId"', '{"status":"ok","callerId"') },
  { name: 'a repeated key with the same value', which: 'record', edit: (l) => replaceOnce(l, '{"callerId"', '{"v":1,"callerId"') },
  { name: 'a repeated hash key', which: 'record', edit: (l) => replaceOnce(l, '{"callerId"', `{"hash":"${'ab'.repeat(32)}","callerId"`) },
  // U+FFFD is EF BF BD; F0 90 80 (a 4-byte sequence cut short) and FF also decode to one U+FFFD.
  { name: 'U+FFFD swapped for a cut-short sequence (F0 90 80)', which: 'record', edit: (l) => replaceOnce(l, Buffer.from([0xef, 0xbf, 0xbd]), Buffer.from([0xf0, 0x90, 0x80])), malformed: true },
  { name: 'U+FFFD swapped for a stray byte (FF)', which: 'record', edit: (l) => replaceOnce(l, Buffer.from([0xef, 0xbf, 0xbd]), Buffer.from([0xff])), malformed: true },
  { name: 'a byte-order mark', which: 'open', edit: (l) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), l]), sameValue: false, malformed: true },
  { name: 'the open entry: pid with a decimal point', which: 'open', edit: (l) => Buffer.from(l.toString().replace(/"pid":(\d+)/, '"pid":$1.0')) },
  { name: 'a checkpoint: count 4 -> 4.0', which: 'first-checkpoint', edit: (l) => replaceOnce(l, '"count":4', '"count":4.0') },
  { name: 'a checkpoint: fromSeq 0 -> -0', which: 'first-checkpoint', edit: (l) => replaceOnce(l, '"fromSeq":0', '"fromSeq":-0') },
  { name: 'the final checkpoint: a space', which: 'final-checkpoint', edit: (l) => replaceOnce(l, '"final":true', '"final": true') },
];

/** What JSON.parse makes of a line, as canonical JSON (what a parse-and-reserialize check sees). */
const parsedValue = (line: Buffer): string => canonicalJson(JSON.parse(line.toString('utf8')));

describe('the verifier compares bytes, not parsed values', () => {
  it.each(EDITS)('$name: invalid, at that line', async ({ which, edit, sameValue, malformed }) => {
    const { file, lines } = copyOf(await pristine());
    expect((await verifyAuditLog(file, { signingKey: KEY })).status).toBe('verified');
    const k = lineIndex(lines, which);
    const edited = edit(lines[k]!);
    expect(edited.equals(lines[k]!)).toBe(false);
    // These are the edits a verifier that parses and re-serializes cannot see.
    if (sameValue !== false) expect(parsedValue(edited)).toBe(parsedValue(lines[k]!));
    lines[k] = edited;
    writeLines(file, lines);
    const r = await verifyAuditLog(file, { signingKey: KEY });
    expect(r.status).toBe('invalid');
    expect(r.problem).toMatchObject({ line: k + 1 });
    expect(r.problem!.reason).toBe(malformed ? 'malformed' : 'edited');
  });

  it('lines in memory: a raw lone surrogate for its \\ud800 escape is an edit', async () => {
    const log = await AuditLog.open({ durability: 'memory', signingKey: KEY });
    log.append(rec(0));
    await log.close();
    const lines = [...log.memoryLines()];
    expect(verifyAuditLines(lines, { signingKey: KEY }).status).toBe('verified');
    const k = lines.findIndex((l) => l.includes('\\ud800'));
    const edited = lines[k]!.replace('\\ud800', '\ud800');
    expect(canonicalJson(JSON.parse(edited))).toBe(canonicalJson(JSON.parse(lines[k]!)));
    lines[k] = edited;
    expect(verifyAuditLines(lines, { signingKey: KEY }).problem).toMatchObject({ reason: 'edited', line: k + 1 });
  });

  it('the untouched log still verifies, and so does a log written with every kind of value', async () => {
    const file = tmpFile();
    const log = await AuditLog.open({ file, durability: 'batched', flushIntervalMs: 5, signingKey: KEY, checkpointEvery: 3 });
    const odd = [0, -0, 1e21, 1e-7, -1.5e-300, 5e-324, Number.MAX_VALUE, NaN, Infinity, -Infinity, 0.1 + 0.2, 2 ** 53 + 2];
    log.append({ callerId: 'Zoë 用户 😀', status: 'ok', latencyUs: 0.000001, inputStats: { odd, s: '"\\/\b\f\n\r\t\u0000\u001f\u007f\u2028\u2029\ud83d\ude00\udc00', '': { __proto__: 1, '1': [], '10': {}, '2': null, a: true } } });
    for (let i = 0; i < 5; i++) log.append(rec(i));
    await log.close();
    expect((await verifyAuditLog(file, { signingKey: KEY })).status).toBe('verified');
  });
});

describe('resuming refuses a chain head that is not byte for byte what was written', () => {
  const openCode = (file: string): string | undefined => {
    try {
      void AuditLog.openSync({ file, durability: 'batched', signingKey: KEY }).close();
    } catch (err) {
      return (err as { code?: string }).code;
    }
    return undefined;
  };

  // The edits that fit any record line (the last one here is not the 12.5 one).
  const anyRecord = EDITS.filter((e) => e.which === 'record' && e.sameValue !== false && !e.name.includes('12.5'));

  it.each(anyRecord)('an unsigned last record with $name', async ({ edit }) => {
    const { file, lines } = copyOf(await pristine());
    fs.rmSync(`${file}.digest`);
    const cut = lines.slice(0, -1); // the final checkpoint gone, as a kill leaves the log
    const last = cut.length - 1;
    expect(cut[last]!.toString()).toContain('"type":"record"');
    const intact = tmpFile();
    writeLines(intact, cut);
    expect(openCode(intact)).toBeUndefined(); // untouched, it resumes
    cut[last] = edit(cut[last]!);
    expect(parsedValue(cut[last]!)).toBe(parsedValue(lines[last]!));
    writeLines(file, cut);
    expect(openCode(file)).toBe(AuditErrorCode.Corrupt);
  });

  it.each(EDITS.filter((e) => e.which === 'final-checkpoint' || e.which === 'first-checkpoint'))('the last checkpoint with $name', async ({ which, edit }) => {
    const { file, lines } = copyOf(await pristine());
    fs.rmSync(`${file}.digest`);
    // Resume reads back to the last checkpoint: the final one, or the first when the log is cut after it.
    const upTo = which === 'final-checkpoint' ? lines.length : lineIndex(lines, 'first-checkpoint') + 1;
    const kept = lines.slice(0, upTo);
    const k = upTo - 1;
    const intact = tmpFile();
    writeLines(intact, kept);
    expect(openCode(intact)).toBeUndefined();
    kept[k] = edit(kept[k]!);
    writeLines(file, kept);
    expect(openCode(file)).toBe(AuditErrorCode.Corrupt);
  });
});

describe('digest lines are compared as bytes too', () => {
  const edits: [string, (l: string) => string][] = [
    ['a decimal point', (l) => l.replace(/"toSeq":(\d+)/, '"toSeq":$1.0')],
    ['a space', (l) => l.replace('"type":"digest"', '"type": "digest"')],
    ['an escape', (l) => l.replace('"digest"', '"\\u0064igest"')],
    ['a repeated key', (l) => l.replace('{', '{"final":true,')],
  ];

  it.each(edits)('%s: the verifier reports bad-digest at that digest line, the writer refuses to resume', async (_name, edit) => {
    const { file } = copyOf(await pristine());
    const digest = fs.readFileSync(`${file}.digest`, 'utf8').split('\n');
    expect(digest.length).toBeGreaterThan(2);
    const edited = edit(digest[0]!);
    expect(edited).not.toBe(digest[0]);
    expect(canonicalJson(JSON.parse(edited))).toBe(canonicalJson(JSON.parse(digest[0]!))); // the same value
    digest[0] = edited;
    fs.writeFileSync(`${file}.digest`, digest.join('\n'));
    const r = await verifyAuditLog(file, { signingKey: KEY });
    expect(r.status).toBe('invalid');
    expect(r.problem).toMatchObject({ reason: 'bad-digest' });
    expect(r.problem!.message).toContain('digest line 1');
    expect(() => AuditLog.openSync({ file, durability: 'batched', signingKey: KEY })).toThrow(expect.objectContaining({ code: AuditErrorCode.Corrupt }));
  });
});
