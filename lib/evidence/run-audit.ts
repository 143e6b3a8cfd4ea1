/**
 * The run audit: one JSON line per run event (a preflight, a startup-gate decision, a service
 * start or stop) in `<evidence>/run_audit/<YYYY-MM-DD>.jsonl` (UTC days), hash-chained with the
 * audit log's own machinery (lib/audit/chain.ts, record.ts, stored-line.ts): each line is the
 * canonical JSON of { v, type: 'run', seq, prevHash, time, ...event } sealed with
 *
 *     hash = sha256_hex(prevHash + canonical body)
 *
 * and the chain runs on across days (a day's first line chains to the last line of the day
 * before). An event that names an artifact carries the artifact's sha256, so the chain covers
 * the artifacts too. Writers take a lock file (another process may be appending), check that the
 * last line is intact before chaining onto it, and write the day's file anew through a temporary
 * file, fsync and rename: a crash leaves the file as it was or with the new line, never a half
 * line.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { makeDirs, writeFileAtomic } from '../atomic-file';
import { entryHash, GENESIS_HASH, sealLine, sha256Hex } from '../audit/chain';
import { canonicalJson } from '../audit/record';
import { storedLineProblem } from '../audit/stored-line';
import { codedError, ErrorCode } from '../errors';
import { STALE_LOCK_MS, withFileLock, type LockHolder } from '../lock-file';

export const RUN_AUDIT_DIR = 'run_audit';
const DAY_FILE = /^\d{4}-\d{2}-\d{2}\.jsonl$/;
const LOCK = '.lock';
/** Past STALE_LOCK_MS: a writer elsewhere that died holding the lock is taken over, not reported. */
const LOCK_WAIT_MS = 40_000;

export type RunEventKind = 'preflight' | 'startup-gate' | 'production-gate' | 'serve-start' | 'serve-stop';

export interface RunEvent {
  readonly event: RunEventKind;
  /** What happened: pass / fail / override (preflight, gate), started / refused / stopped (serve). */
  readonly decision: string;
  /** The artifact this event wrote, relative to the evidence directory, and its sha256. */
  readonly artifact?: { readonly file: string; readonly sha256: string } | null;
  /** A few facts worth a line of their own (no secrets: everything here is kept). */
  readonly detail?: Record<string, string | number | boolean | null>;
}

export interface RunAuditLine extends RunEvent {
  readonly v: 1;
  readonly type: 'run';
  readonly seq: number;
  readonly prevHash: string;
  readonly time: string;
  readonly pid: number;
  readonly host: string;
  readonly user: string;
  readonly hash: string;
}

export function dayFiles(dir: string): string[] {
  try {
    return fs
      .readdirSync(path.join(dir, RUN_AUDIT_DIR))
      .filter((f) => DAY_FILE.test(f))
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The last line's seq and hash, checked (its stored form and hash); GENESIS when there is none. */
function chainEnd(file: string | null): { nextSeq: number; prevHash: string } {
  if (file === null) return { nextSeq: 0, prevHash: GENESIS_HASH };
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split('\n');
  const last = lines[lines.length - 1] === '' ? lines[lines.length - 2] : undefined;
  if (last === undefined) throw codedError(ErrorCode.EvidenceCorrupt, `${file} does not end with a complete line: run \`tirex-guardian evidence verify\``);
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(last) as Record<string, unknown>;
  } catch {
    throw codedError(ErrorCode.EvidenceCorrupt, `the last line of ${file} is not JSON: run \`tirex-guardian evidence verify\``);
  }
  const problem = typeof entry.prevHash === 'string' ? storedLineProblem(last, entry, entry.prevHash) : 'has no prevHash';
  if (problem !== null || !Number.isSafeInteger(entry.seq)) throw codedError(ErrorCode.EvidenceCorrupt, `the last line of ${file} ${problem ?? 'has no seq'}: run \`tirex-guardian evidence verify\``);
  return { nextSeq: (entry.seq as number) + 1, prevHash: entry.hash as string };
}

function whoami(): string {
  try {
    return os.userInfo().username;
  } catch {
    return `uid:${typeof process.getuid === 'function' ? process.getuid() : -1}`;
  }
}

/** Appends one event to the run audit under `dir`; returns the line as written. */
export function appendRunEvent(dir: string, event: RunEvent, now: Date = new Date()): RunAuditLine {
  const runDir = path.join(dir, RUN_AUDIT_DIR);
  try {
    makeDirs(runDir);
  } catch (err) {
    throw codedError(ErrorCode.EvidenceWriteFailed, `cannot create ${runDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const lockOptions = {
    staleAfterMs: STALE_LOCK_MS,
    waitMs: LOCK_WAIT_MS,
    mode: 0o644,
    busy: (holder: LockHolder | null) =>
      codedError(ErrorCode.EvidenceWriteFailed, `the run audit in ${runDir} is locked by process ${String(holder?.pid ?? 'unknown')} for more than ${LOCK_WAIT_MS} ms`),
  };
  try {
    return withFileLock(path.join(runDir, LOCK), lockOptions, () => appendLocked(dir, runDir, event, now));
  } catch (err) {
    if ((err as { code?: string }).code?.startsWith('TG_')) throw err;
    throw codedError(ErrorCode.EvidenceWriteFailed, `cannot write the run audit in ${runDir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
}

/** The append itself, under the run audit's lock: chain onto the last line, rewrite the day's file. */
function appendLocked(dir: string, runDir: string, event: RunEvent, now: Date): RunAuditLine {
  const files = dayFiles(dir);
  const latest = files.length > 0 ? path.join(runDir, files[files.length - 1]!) : null;
  const { nextSeq, prevHash } = chainEnd(latest);
  const time = now.toISOString();
  const body = canonicalJson({ v: 1, type: 'run', seq: nextSeq, prevHash, time, pid: process.pid, host: os.hostname(), user: whoami(), ...event, artifact: event.artifact ?? null, detail: event.detail ?? {} });
  const line = sealLine(body, entryHash(prevHash, body));
  const target = path.join(runDir, `${time.slice(0, 10)}.jsonl`);
  const before = target === latest ? fs.readFileSync(target) : Buffer.alloc(0);
  writeFileAtomic(target, Buffer.concat([before, Buffer.from(line)]));
  return JSON.parse(line) as RunAuditLine;
}

export interface RunAuditProblem {
  readonly file: string;
  readonly line: number;
  readonly problem: string;
}

/** Checks the whole chain and every artifact it names; `lines` counts the intact ones. */
export function verifyRunAudit(dir: string): { ok: boolean; lines: number; entries: RunAuditLine[]; problems: RunAuditProblem[] } {
  const problems: RunAuditProblem[] = [];
  const entries: RunAuditLine[] = [];
  let prevHash = GENESIS_HASH;
  let seq = 0;
  for (const name of dayFiles(dir)) {
    const file = path.join(RUN_AUDIT_DIR, name);
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const lines = text.split('\n');
    if (lines.pop() !== '') problems.push({ file, line: lines.length + 1, problem: 'the file does not end with a complete line' });
    lines.forEach((raw, i) => {
      const at = { file, line: i + 1 };
      let e: RunAuditLine;
      try {
        e = JSON.parse(raw) as RunAuditLine;
      } catch {
        problems.push({ ...at, problem: 'not JSON' });
        return;
      }
      if (e.v !== 1 || e.type !== 'run') problems.push({ ...at, problem: 'not a run audit line (v 1, type run)' });
      if (e.seq !== seq) problems.push({ ...at, problem: `seq ${String(e.seq)} where ${seq} was next: a line was removed, added or moved` });
      if (e.prevHash !== prevHash) problems.push({ ...at, problem: 'prevHash is not the previous line\'s hash: the chain is broken here' });
      const p = storedLineProblem(raw, e as unknown as Record<string, unknown>, typeof e.prevHash === 'string' ? e.prevHash : '');
      if (p !== null) problems.push({ ...at, problem: `the line ${p}` });
      if (e.artifact !== null && e.artifact !== undefined) {
        let actual: string | null = null;
        try {
          actual = sha256Hex(fs.readFileSync(path.join(dir, e.artifact.file)));
        } catch {
          problems.push({ ...at, problem: `its artifact ${e.artifact.file} is missing` });
        }
        if (actual !== null && actual !== e.artifact.sha256) problems.push({ ...at, problem: `its artifact ${e.artifact.file} was changed after it was written` });
      }
      entries.push(e);
      prevHash = typeof e.hash === 'string' ? e.hash : '';
      seq = (typeof e.seq === 'number' ? e.seq : seq) + 1;
    });
  }
  return { ok: problems.length === 0, lines: entries.length, entries, problems };
}
