/**
 * AuditLog's files: one writer per file (a process-wide registry and a pid lock file), reading
 * back and cutting the tail of a log it resumes, opening the newest segment of a directory, and
 * the one process-exit listener through which every open log writes what it holds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { GENESIS_HASH } from './chain';
import { auditError, AuditErrorCode } from './errors';
import { listSegments, segmentName } from './segments';
import type { CheckpointKey } from './signing';
import { resumePlan, type ReadRequest, type TailState } from './tail';
import type { ResolvedOptions } from './writer-options';

// ---------------------------------------------------------------------------------------------
// Process exit: every open log writes what it holds (one listener for all logs)

const EXIT_FLUSH = new Set<{ flushOnExit(): void }>();
let exitListener = false;

export function registerExitFlush(log: { flushOnExit(): void }): void {
  EXIT_FLUSH.add(log);
  if (exitListener) return;
  exitListener = true;
  process.on('exit', () => {
    for (const l of EXIT_FLUSH) l.flushOnExit();
  });
}

/** A closed or failed log has nothing more to write on exit. */
export function unregisterExitFlush(log: { flushOnExit(): void }): void {
  EXIT_FLUSH.delete(log);
}

export function writeAllSync(fd: number, buf: Buffer): void {
  let off = 0;
  while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
}

// ---------------------------------------------------------------------------------------------
// One writer per file

const OPEN_FILES = new Set<string>();

function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return false; // not in OPEN_FILES: a previous process that had our pid
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function acquire(file: string, instanceId: string, lock: boolean, mode: number): string | null {
  if (OPEN_FILES.has(file)) throw auditError(AuditErrorCode.Locked, `audit: ${file} is already open by another AuditLog in this process`);
  let lockPath: string | null = null;
  if (lock) {
    lockPath = `${file}.lock`;
    const body = JSON.stringify({ pid: process.pid, host: os.hostname(), instanceId, time: new Date().toISOString() });
    for (let attempt = 0; ; attempt++) {
      try {
        fs.writeFileSync(lockPath, body, { flag: 'wx', mode });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
        let holder: { pid?: unknown; host?: unknown } | null = null;
        try {
          holder = JSON.parse(fs.readFileSync(lockPath, 'utf8'));
        } catch {
          holder = null; // unreadable: written by a process that died mid-write
        }
        if (holder !== null && (holder.host !== os.hostname() || pidAlive(Number(holder.pid)))) {
          throw auditError(
            AuditErrorCode.Locked,
            `audit: ${file} is locked by pid ${String(holder.pid)} on ${String(holder.host)} (${lockPath}); remove the lock file only if that process is gone`,
          );
        }
        fs.rmSync(lockPath, { force: true });
      }
    }
  }
  OPEN_FILES.add(file);
  return lockPath;
}

export function release(file: string, lockPath: string | null): void {
  OPEN_FILES.delete(file);
  if (lockPath !== null) {
    try {
      fs.rmSync(lockPath, { force: true });
    } catch {
      /* a lock left behind is taken over by the next writer (its pid is gone) */
    }
  }
}

/** An error opening a log as the log's own typed error (a coded one passes through). */
export function openFailure(err: unknown, file: string): Error {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('TG_')) return err as Error;
  return auditError(AuditErrorCode.WriteFailed, `audit: cannot open ${file} (${String(code ?? 'error')}: ${(err as Error).message})`, err);
}

export function fsyncDirSync(file: string): void {
  let fd = -1;
  try {
    fd = fs.openSync(path.dirname(file), 'r');
    fs.fsyncSync(fd);
  } catch {
    /* some filesystems cannot fsync a directory; the file's own fdatasync still applies */
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

function driveSync(file: string, size: number, key: CheckpointKey, maxScan: number): TailState {
  const plan = resumePlan(file, size, key, maxScan);
  let step = plan.next();
  if (step.done) return step.value;
  const fd = fs.openSync(file, 'r');
  try {
    while (!step.done) {
      step = plan.next(readExactSync(fd, step.value));
    }
    return step.value;
  } finally {
    fs.closeSync(fd);
  }
}

function readExactSync(fd: number, req: ReadRequest): Buffer {
  const buf = Buffer.allocUnsafe(req.length);
  let off = 0;
  while (off < req.length) {
    const n = fs.readSync(fd, buf, off, req.length - off, req.position + off);
    if (n === 0) break;
    off += n;
  }
  return buf.subarray(0, off);
}

export async function driveAsync(file: string, size: number, key: CheckpointKey, maxScan: number): Promise<TailState> {
  const plan = resumePlan(file, size, key, maxScan);
  let step = plan.next();
  if (step.done) return step.value;
  const fh = await fs.promises.open(file, 'r');
  try {
    while (!step.done) {
      const req = step.value;
      const buf = Buffer.allocUnsafe(req.length);
      let off = 0;
      while (off < req.length) {
        const { bytesRead } = await fh.read(buf, off, req.length - off, req.position + off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      step = plan.next(buf.subarray(0, off));
    }
    return step.value;
  } finally {
    await fh.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Segments (dir mode)

/** Takes the writer's lock on `anchor`; a failure is the log's typed open error. */
export function lockOrFail(anchor: string, instanceId: string, cfg: ResolvedOptions, name: string): string | null {
  try {
    return acquire(anchor, instanceId, cfg.lock, cfg.fileMode);
  } catch (err) {
    throw openFailure(err, name);
  }
}

/**
 * Reads back the tail of `file` (missing: a new log), cuts an incomplete last line, opens it
 * for appending; a new file's directory entry is synced when `syncNewDir`.
 */
export function resumeFileSync(file: string, cfg: ResolvedOptions, syncNewDir: boolean): { tail: TailState; fd: number } {
  let size = 0;
  let existed = true;
  try {
    size = fs.statSync(file).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    existed = false;
  }
  const tail = driveSync(file, size, cfg.signingKey, cfg.maxResumeScanBytes);
  if (tail.keepBytes < size) fs.truncateSync(file, tail.keepBytes);
  const fd = fs.openSync(file, 'a', cfg.fileMode);
  if (!existed && syncNewDir) fsyncDirSync(file);
  return { tail, fd };
}

/** True when the file holds at least one newline (read in chunks: a segment may be large). */
function hasCompleteLine(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(64 * 1024);
    for (let pos = 0; ; ) {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) return false;
      if (buf.subarray(0, n).indexOf(0x0a) !== -1) return true;
      pos += n;
    }
  } finally {
    fs.closeSync(fd);
  }
}

export interface OpenedSegment {
  tail: TailState;
  fd: number;
  path: string;
  firstSeq: number;
}

/**
 * Opens the newest segment of `dir` for appending (creating the directory and the first segment
 * when there is none). A newest segment without one complete line (a crash right after a
 * rotation) is removed and the one before it resumed: its covering checkpoint was never written,
 * so the next one signs its tail.
 */
export function openSegmentSync(cfg: ResolvedOptions): OpenedSegment {
  const dir = cfg.dir as string;
  let segments = listSegments(dir);
  while (segments.length > 1 && !hasCompleteLine(segments[segments.length - 1]!.path)) {
    fs.rmSync(segments[segments.length - 1]!.path);
    segments = segments.slice(0, -1);
  }
  const only = segments.length === 1 ? segments[0]! : null;
  if (only !== null && only.firstSeq > 0 && !hasCompleteLine(only.path)) {
    // The chain cannot restart at seq 0 inside a later segment: the segments before are gone.
    throw auditError(AuditErrorCode.Corrupt, `audit: ${only.path} is the only segment, starts at seq ${only.firstSeq} and holds no complete entry: the segments before it are missing`);
  }
  const current = segments[segments.length - 1] ?? { name: segmentName(0), path: path.join(dir, segmentName(0)), firstSeq: 0 };
  const { tail, fd } = resumeFileSync(current.path, cfg, true);
  return { tail, fd, path: current.path, firstSeq: current.firstSeq };
}

export const FRESH: TailState = {
  nextSeq: 0,
  prevHash: GENESIS_HASH,
  lastCheckpointSeq: -1,
  sinceCheckpoint: 0,
  keepBytes: 0,
  discarded: null,
  resumed: false,
};
