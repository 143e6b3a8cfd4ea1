// Dir mode: a log as a directory of segments, rotated by size and by time, one chain across them;
// resumed after a close, a crash right after a rotation and kill -9; whole-segment removal,
// renaming, reordering and edits inside a segment are detected and located; query reads them all.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { AuditLog, listSegments, verifyAuditLog, type AuditRecordInput } from '../lib/audit/index';
import { queryAuditLog } from '../lib/audit/query';
import { killAfterAcks } from './kill-child';

const ROOT = path.resolve(__dirname, '..');
const KEY = 'segments-test-signing-key-0123456789abcdef';
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-audit-seg-'));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));
let dirNo = 0;
const newDir = (): string => path.join(TMP, `log-${++dirNo}`);
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

const rec = (i: number): AuditRecordInput => ({
  callerId: `desk-${i % 3}`,
  status: i % 7 === 0 ? 'fallback' : 'ok',
  latencyUs: 100 + i,
  modelHash: 'cd'.repeat(32),
  inputStats: { i },
  fallback: i % 7 === 0 ? 'moving-average' : null,
});

const entriesOf = (file: string): Array<Record<string, any>> =>
  fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));

async function writeLog(dir: string, n: number, options: { segmentBytes?: number; segmentMs?: number; now?: () => number } = {}): Promise<void> {
  const log = await AuditLog.open({ dir, durability: 'fsync', signingKey: KEY, checkpointEvery: 25, segmentBytes: options.segmentBytes ?? 6000, ...options });
  for (let i = 0; i < n; i++) {
    log.append(rec(i));
    if (i % 10 === 9) await tick();
  }
  await log.close();
}

describe('rotation', () => {
  it('by size: segments named by their first seq, each after the first opening with a checkpoint, one chain that verifies', async () => {
    const dir = newDir();
    await writeLog(dir, 300);
    const segs = listSegments(dir);
    expect(segs.length).toBeGreaterThan(10);
    const records: number[] = [];
    segs.forEach((s, k) => {
      const es = entriesOf(s.path);
      expect(es[0]!.seq).toBe(s.firstSeq);
      if (k > 0) expect(es[0]!.type).toBe('checkpoint');
      // A segment stops soon after reaching the size (one entry may cross it).
      if (k < segs.length - 1) expect(fs.statSync(s.path).size).toBeLessThan(6000 + 2000);
      for (const e of es) if (e.type === 'record') records.push(e.inputStats.i);
    });
    expect(records).toEqual(Array.from({ length: 300 }, (_, i) => i));
    const r = await verifyAuditLog(dir, { signingKey: KEY });
    expect(r.status).toBe('verified');
    expect(r.segments!.length).toBe(segs.length);
  });

  it('by time: a new segment once segmentMs has passed (injected clock)', async () => {
    const dir = newDir();
    let now = Date.parse('2026-11-23T10:00:00Z');
    const log = await AuditLog.open({ dir, durability: 'fsync', signingKey: KEY, segmentBytes: 2 ** 30, segmentMs: 60_000, now: () => now });
    for (let minute = 0; minute < 5; minute++) {
      for (let i = 0; i < 4; i++) log.append(rec(minute * 4 + i));
      now += 61_000;
      await tick();
    }
    await log.close();
    expect(listSegments(dir).length).toBe(5);
    expect((await verifyAuditLog(dir, { signingKey: KEY })).status).toBe('verified');
  });

  it('resumes after a close, and after a crash that left the newest segment empty or with half a line', async () => {
    const dir = newDir();
    await writeLog(dir, 120);
    await writeLog(dir, 80); // a second session continues the chain
    const before = listSegments(dir);
    const last = before[before.length - 1]!;
    // A rotation cut short: the next segment created, its first line (the checkpoint) half written.
    const nextName = `segment-${String(last.firstSeq + 1000).padStart(16, '0')}.jsonl`;
    fs.writeFileSync(path.join(dir, nextName), '{"v":1,"type":"checkp');
    const emptyName = `segment-${String(last.firstSeq + 2000).padStart(16, '0')}.jsonl`;
    fs.writeFileSync(path.join(dir, emptyName), '');
    await writeLog(dir, 50);
    expect(fs.existsSync(path.join(dir, nextName))).toBe(false);
    expect(fs.existsSync(path.join(dir, emptyName))).toBe(false);
    const r = await verifyAuditLog(dir, { signingKey: KEY });
    expect(r.status).toBe('verified');
    expect(r.records).toBe(250);
    expect(r.sessions).toBe(3);
  });

  it('kill -9 twice during heavy writing with rotations: every acknowledged record is on disk and the chain verifies', async () => {
    const compiled = path.join(ROOT, 'dist', 'cjs', 'audit', 'index.js');
    expect(fs.existsSync(compiled), 'dist/cjs missing: run node scripts/build-ts.js').toBe(true);
    const dir = newDir();
    const acked = new Map<number, string>();
    for (const killAfter of [300, 500]) {
      const { signal, stderr } = await killAfterAcks([compiled, dir, KEY, 'dir'], killAfter, acked);
      expect(signal).toBe('SIGKILL');
      expect(stderr).not.toMatch(/Error/);
      const onDisk = new Map<number, string>();
      for (const s of listSegments(dir)) {
        for (const l of fs.readFileSync(s.path, 'utf8').split('\n')) {
          try {
            const e = JSON.parse(l);
            onDisk.set(e.seq, e.hash);
          } catch {
            /* a line cut by the kill */
          }
        }
      }
      expect([...acked].filter(([seq, hash]) => onDisk.get(seq) !== hash)).toEqual([]);
      const r = await verifyAuditLog(dir, { signingKey: KEY });
      // Where the kill lands is up to the scheduler: an intact unsigned tail, or one incomplete
      // last line. Anything else (an invalid chain, a verified log) fails.
      const outcome = r.ok ? r.status : `${r.problem!.reason} at line ${r.problem!.line}`;
      expect(['unverified-tail', `truncated at line ${r.lines}`]).toContain(outcome);
    }
    expect(listSegments(dir).length).toBeGreaterThan(3);
    await writeLog(dir, 5);
    const r = await verifyAuditLog(dir, { signingKey: KEY });
    expect(r.status).toBe('verified');
    expect(r.sessions).toBe(3);
  });
});

describe('tampering with segments', () => {
  async function fresh(): Promise<{ dir: string; segs: ReturnType<typeof listSegments> }> {
    const dir = newDir();
    await writeLog(dir, 200);
    const segs = listSegments(dir);
    expect(segs.length).toBeGreaterThan(5);
    return { dir, segs };
  }

  it('a removed middle segment: seqs are missing, located in the segment after the gap', async () => {
    const { dir, segs } = await fresh();
    fs.rmSync(segs[3]!.path);
    const r = await verifyAuditLog(dir, { signingKey: KEY });
    expect(r.status).toBe('invalid');
    expect(r.problem).toMatchObject({ reason: 'deleted', segment: segs[4]!.name, segmentLine: 1 });
  });

  it('a removed first segment: the chain does not start', async () => {
    const { dir, segs } = await fresh();
    fs.rmSync(segs[0]!.path);
    const r = await verifyAuditLog(dir, { signingKey: KEY });
    expect(r.status).toBe('invalid');
    expect(r.problem!.line).toBe(1);
  });

  it('removed last segments: the digest signs checkpoints the log no longer holds; without the digest, an unverified tail', async () => {
    const { dir, segs } = await fresh();
    fs.rmSync(segs[segs.length - 1]!.path);
    fs.rmSync(segs[segs.length - 2]!.path);
    const r = await verifyAuditLog(dir, { signingKey: KEY });
    expect(r.status).toBe('invalid');
    expect(r.problem).toMatchObject({ reason: 'missing-entries' });
    expect(r.problem!.message).toContain(segs[segs.length - 2]!.name);
    fs.rmSync(path.join(dir, 'digest.jsonl'));
    expect((await verifyAuditLog(dir, { signingKey: KEY })).status).toBe('unverified-tail');
  });

  it('the digest: one chained line per checkpoint naming its segment; an edited or removed digest line is caught', async () => {
    const { dir, segs } = await fresh();
    const digest = entriesOf(path.join(dir, 'digest.jsonl'));
    const checkpoints = segs.flatMap((sg) => entriesOf(sg.path).filter((e) => e.type === 'checkpoint').map((e) => ({ seq: e.seq, hash: e.hash, segment: sg.name })));
    expect(digest.map((d) => [d.checkpointSeq, d.checkpointHash, d.segment])).toEqual(checkpoints.map((c) => [c.seq, c.hash, c.segment]));
    expect(digest.at(-1)!.final).toBe(true);
    const r = await verifyAuditLog(dir, { signingKey: KEY });
    expect(r.digest).toMatchObject({ entries: checkpoints.length, lastCheckpointSeq: checkpoints.at(-1)!.seq });
    const lines = fs.readFileSync(path.join(dir, 'digest.jsonl'), 'utf8').split('\n');
    lines[2] = lines[2]!.replace('"final":false', '"final":true');
    fs.writeFileSync(path.join(dir, 'digest.jsonl'), lines.join('\n'));
    expect((await verifyAuditLog(dir, { signingKey: KEY })).problem).toMatchObject({ reason: 'bad-digest' });
    lines.splice(2, 1);
    fs.writeFileSync(path.join(dir, 'digest.jsonl'), lines.join('\n'));
    expect((await verifyAuditLog(dir, { signingKey: KEY })).problem).toMatchObject({ reason: 'bad-digest' });
  });

  it('a renamed segment, and two segments whose contents were swapped', async () => {
    const a = await fresh();
    const s = a.segs[2]!;
    const renamed = `segment-${String(s.firstSeq + 1).padStart(16, '0')}.jsonl`;
    fs.renameSync(s.path, path.join(a.dir, renamed));
    const r1 = await verifyAuditLog(a.dir, { signingKey: KEY });
    expect(r1.status).toBe('invalid');
    // The chain is intact (same order): only the name lies.
    expect(r1.problem).toMatchObject({ reason: 'bad-segment', segment: renamed, segmentLine: 1, seq: s.firstSeq });

    const b = await fresh();
    const x = fs.readFileSync(b.segs[1]!.path);
    fs.writeFileSync(b.segs[1]!.path, fs.readFileSync(b.segs[2]!.path));
    fs.writeFileSync(b.segs[2]!.path, x);
    const r2 = await verifyAuditLog(b.dir, { signingKey: KEY });
    expect(r2.status).toBe('invalid');
    expect(r2.problem!.segment).toBe(b.segs[1]!.name);
  });

  it('an edited record inside a middle segment is found at its segment and line', async () => {
    const { dir, segs } = await fresh();
    const lines = fs.readFileSync(segs[2]!.path, 'utf8').split('\n');
    const k = lines.findIndex((l) => l.includes('"type":"record"'));
    lines[k] = lines[k]!.replace('"status":"ok"', '"status":"blocked"').replace('"status":"fallback"', '"status":"ok"');
    fs.writeFileSync(segs[2]!.path, lines.join('\n'));
    const r = await verifyAuditLog(dir, { signingKey: KEY });
    expect(r.problem).toMatchObject({ reason: 'edited', segment: segs[2]!.name, segmentLine: k + 1 });
  });

  it('a middle segment cut mid-line: truncated, at that segment', async () => {
    const { dir, segs } = await fresh();
    const text = fs.readFileSync(segs[2]!.path);
    fs.writeFileSync(segs[2]!.path, text.subarray(0, text.length - 10));
    const r = await verifyAuditLog(dir, { signingKey: KEY });
    expect(r.status).toBe('invalid');
    expect(r.problem!.segment).toBe(segs[2]!.name);
  });
});

describe('removed logs and lost heads are refused, not restarted', () => {
  it('a digest whose log was removed: TG_AUDIT_CORRUPT at open (file and dir)', async () => {
    const dir = newDir();
    await writeLog(dir, 60);
    for (const s of listSegments(dir)) fs.rmSync(s.path);
    await expect(AuditLog.open({ dir, signingKey: KEY })).rejects.toMatchObject({ code: 'TG_AUDIT_CORRUPT' });
    const file = path.join(newDir() + '.log');
    const log = await AuditLog.open({ file, durability: 'fsync', signingKey: KEY, checkpointEvery: 10 });
    for (let i = 0; i < 30; i++) log.append(rec(i));
    await log.close();
    fs.rmSync(file);
    expect(() => AuditLog.openSync({ file, signingKey: KEY })).toThrow(expect.objectContaining({ code: 'TG_AUDIT_CORRUPT', message: expect.stringContaining('removed') }));
  });

  it('the only segment left starts after seq 0 and holds nothing: refused', async () => {
    const dir = newDir();
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'segment-0000000000000120.jsonl'), '');
    expect(() => AuditLog.openSync({ dir, signingKey: KEY })).toThrow(expect.objectContaining({ code: 'TG_AUDIT_CORRUPT' }));
  });
});

describe('query over segments', () => {
  it('reads every segment in order', async () => {
    const dir = newDir();
    await writeLog(dir, 150);
    const got: number[] = [];
    const res = await queryAuditLog(dir, { status: 'fallback' }, (r) => got.push((r.inputStats as { i: number }).i));
    expect(got).toEqual(Array.from({ length: 150 }, (_, i) => i).filter((i) => i % 7 === 0));
    expect(res.matched).toBe(got.length);
  });
});
