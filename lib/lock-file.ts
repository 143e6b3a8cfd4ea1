/**
 * A lock file around a short synchronous read-modify-write (the API key file, the run audit):
 * created with O_EXCL holding { pid, host, token, time }, removed after. A lock is stale, and
 * taken over, when its holder is a process of this host that is gone (or has our pid: a previous
 * process of a restarted container; the work under the lock is synchronous, so it is never our
 * own), when it is older than `staleAfterMs` (a holder on another host sharing the directory),
 * or when it has been unreadable for 2 s (a holder that died between creating and writing it).
 * Takeover holds a guard file while it judges the lock again and removes it: two waiters may
 * judge the same stale lock, and the slower must not remove the fresh lock the faster has just
 * made. Release removes the lock only while it is still ours.
 * (lib/audit/writer-files.ts keeps its own lock: held as long as a log is open, refused rather
 * than waited for.)
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface LockHolder {
  readonly pid?: unknown;
  readonly host?: unknown;
  readonly token?: unknown;
  readonly time?: unknown;
}

export interface FileLockOptions {
  /** A lock older than this is stale whoever holds it (the work under it takes milliseconds). */
  readonly staleAfterMs: number;
  /** How long to wait for a live lock before `busy` is thrown. */
  readonly waitMs: number;
  /** The lock file's mode (default 0600). */
  readonly mode?: number;
  /** The error for a lock still held after `waitMs` (holder: what the lock file said, if anything). */
  readonly busy: (holder: LockHolder | null) => Error;
}

/** How long a lock file may stay unreadable (created, not yet written) before it counts as stale. */
const UNREADABLE_STALE_MS = 2_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface Seen {
  readonly holder: LockHolder | null;
  readonly ageMs: number;
}

/** The lock file's holder and age; null when there is no lock file. */
function look(lockPath: string): Seen | null {
  let text: string;
  let st: fs.Stats;
  try {
    st = fs.statSync(lockPath);
    text = fs.readFileSync(lockPath, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let holder: LockHolder | null = null;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === 'object') holder = parsed as LockHolder;
  } catch {
    /* not written yet, or not ours: judged by its age */
  }
  return { holder, ageMs: Date.now() - st.mtimeMs };
}

function isStale(seen: Seen, staleAfterMs: number): boolean {
  if (seen.ageMs > staleAfterMs) return true;
  const { holder } = seen;
  if (holder === null) return seen.ageMs > UNREADABLE_STALE_MS;
  const pid = Number(holder.pid);
  if (holder.host !== os.hostname() || !Number.isSafeInteger(pid) || pid <= 0) return false;
  return pid === process.pid || !alive(pid);
}

/** A takeover guard this old was left by a process that died inside a section of microseconds. */
const GUARD_STALE_MS = 2_000;

/**
 * Removes the lock if it is (still) stale, holding `<lock>.takeover` (O_EXCL) while it looks and
 * removes: two waiters may judge the same stale lock, and without the guard the slower would
 * remove the fresh lock the faster has just made. Creating a lock needs no guard; removing one
 * that is not ours always holds it.
 */
function takeOver(lockPath: string, staleAfterMs: number): void {
  const guard = `${lockPath}.takeover`;
  try {
    fs.writeFileSync(guard, String(process.pid), { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const st = fs.statSync(guard, { throwIfNoEntry: false });
    if (st !== undefined && Date.now() - st.mtimeMs > GUARD_STALE_MS) fs.rmSync(guard, { force: true });
    return; // another waiter is taking over: wait for its lock like any other
  }
  try {
    const now = look(lockPath);
    if (now !== null && isStale(now, staleAfterMs)) fs.rmSync(lockPath, { force: true });
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

/** Removes the lock only if it is still ours (after a takeover it belongs to someone else). */
function release(lockPath: string, token: string): void {
  try {
    const holder = JSON.parse(fs.readFileSync(lockPath, 'utf8')) as LockHolder;
    if (holder.token === token) fs.rmSync(lockPath, { force: true });
  } catch {
    /* gone or unreadable: not ours to remove */
  }
}

/** Runs `fn` holding `lockPath`; waits (with jitter) for a live holder, takes over a stale one. */
export function withFileLock<T>(lockPath: string, options: FileLockOptions, fn: () => T): T {
  const token = randomBytes(16).toString('hex');
  const body = JSON.stringify({ pid: process.pid, host: os.hostname(), token, time: new Date().toISOString() });
  const deadline = Date.now() + options.waitMs;
  for (;;) {
    try {
      fs.writeFileSync(lockPath, body, { flag: 'wx', mode: options.mode ?? 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const seen = look(lockPath);
    if (seen === null) continue; // released meanwhile
    if (isStale(seen, options.staleAfterMs)) {
      takeOver(lockPath, options.staleAfterMs);
      if (!fs.existsSync(lockPath)) continue;
    }
    if (Date.now() > deadline) throw options.busy(seen.holder);
    sleepSync(2 + Math.random() * 10); // jitter, so waiters do not retry in lockstep
  }
  try {
    return fn();
  } finally {
    release(lockPath, token);
  }
}
