/**
 * A lock file around a short synchronous read-modify-write (the API key file, the run audit):
 * created with O_EXCL holding who holds it, removed after.
 *
 * Who holds it: { pid, host, pidNs, start, token, time }, where pidNs is the pid namespace
 * (/proc/self/ns/pid: two containers of one host name have different ones) and start the
 * process's start time (/proc/<pid>/stat: a pid reused by a later process, such as a restarted
 * container's node as pid 1, has another). A lock is stale, and taken over, when
 *   - its holder is of this host and pid namespace, and that pid is gone or started at another
 *     time (a worker thread of the holding process is the same process: it waits);
 *   - it is older than `staleAfterMs` (a holder elsewhere sharing the directory; the work under
 *     a lock takes milliseconds);
 *   - it has been unreadable for 2 s (a holder that died between creating and writing it).
 * Takeover holds a guard file (`<lock>.takeover`, made and judged the same way) while it judges
 * the lock again and removes it: two waiters may judge the same stale lock, and without the
 * guard the slower would remove the fresh lock the faster has just made. What remains: a holder
 * past `staleAfterMs` loses its lock to a takeover, and may then remove its successor's lock when
 * it releases (release checks the token, then removes: two steps). Keep the work under a lock
 * far shorter than `staleAfterMs`.
 * (lib/audit/writer-files.ts keeps its own lock: held as long as a log is open, refused rather
 * than waited for.)
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface LockHolder {
  readonly pid?: unknown;
  readonly host?: unknown;
  readonly pidNs?: unknown;
  readonly start?: unknown;
  readonly token?: unknown;
  readonly time?: unknown;
}

export interface FileLockOptions {
  /** A lock older than this is stale whoever holds it (the work under it takes milliseconds). */
  readonly staleAfterMs: number;
  /** How long to wait for a live lock before `busy` is thrown (longer than staleAfterMs, so a
   * holder elsewhere that died is taken over rather than reported). */
  readonly waitMs: number;
  /** The lock file's mode (default 0600). */
  readonly mode?: number;
  /** The error for a lock still held after `waitMs` (holder: what the lock file said, if anything). */
  readonly busy: (holder: LockHolder | null) => Error;
}

/** The stale age both users of this lock take: their work under it takes milliseconds. */
export const STALE_LOCK_MS = 30_000;

/** How long a lock file may stay unreadable (created, not yet written) before it counts as stale. */
const UNREADABLE_STALE_MS = 2_000;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** True while a process with this pid exists (EPERM: it exists, owned by another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid namespace of this process (null where /proc does not say). */
function pidNamespace(): string | null {
  try {
    return fs.readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
}

/** A process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat), or null. */
export function processStart(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses) start at field 3.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

const SELF = { host: os.hostname(), pidNs: pidNamespace(), start: processStart(process.pid) };

interface Seen {
  readonly holder: LockHolder | null;
  readonly ageMs: number;
}

/** The lock file's holder and age, read through one descriptor (one file, even if it is replaced
 * meanwhile); null when there is no lock file. */
function look(file: string): Seen | null {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  let text: string;
  let mtimeMs: number;
  try {
    mtimeMs = fs.fstatSync(fd).mtimeMs;
    text = fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
  let holder: LockHolder | null = null;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === 'object') holder = parsed as LockHolder;
    // The run audit's earlier lock: this host's pid alone.
    else if (typeof parsed === 'number') holder = { pid: parsed, host: SELF.host, pidNs: SELF.pidNs };
  } catch {
    /* not written yet, or not a lock of ours: judged by its age */
  }
  return { holder, ageMs: Date.now() - mtimeMs };
}

function isStale(seen: Seen, staleAfterMs: number): boolean {
  if (seen.ageMs > staleAfterMs) return true;
  const { holder } = seen;
  if (holder === null) return seen.ageMs > UNREADABLE_STALE_MS;
  const pid = Number(holder.pid);
  // Another host, or another pid namespace (or one /proc cannot name): its pids mean nothing here.
  if (holder.host !== SELF.host || SELF.pidNs === null || holder.pidNs !== SELF.pidNs) return false;
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (!processAlive(pid)) return true;
  // Alive: the same process only if it started when the holder did (else the pid was reused).
  return typeof holder.start === 'string' && processStart(pid) !== holder.start;
}

function holderBody(token: string): string {
  return JSON.stringify({ pid: process.pid, host: SELF.host, pidNs: SELF.pidNs, start: SELF.start, token, time: new Date().toISOString() });
}

/** Creates `file` holding our body; false when it exists. */
function create(file: string, token: string, mode: number): boolean {
  try {
    fs.writeFileSync(file, holderBody(token), { flag: 'wx', mode });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Removes `file` only if it holds our token (check, then remove: see the header). */
function release(file: string, token: string): void {
  try {
    const holder = JSON.parse(fs.readFileSync(file, 'utf8')) as LockHolder;
    if (holder.token === token) fs.rmSync(file, { force: true });
  } catch {
    /* gone or unreadable: not ours to remove */
  }
}

/**
 * Removes the lock if it is (still) stale, holding `<lock>.takeover` while it looks and removes.
 * A guard whose holder is gone (judged like a lock) is removed, and the takeover tried again on
 * the next round; a live one means another waiter is taking over: wait like for any lock.
 */
function takeOver(lockPath: string, staleAfterMs: number): void {
  const guard = `${lockPath}.takeover`;
  const token = randomBytes(16).toString('hex');
  if (!create(guard, token, 0o600)) {
    const seen = look(guard);
    if (seen !== null && isStale(seen, staleAfterMs)) fs.rmSync(guard, { force: true });
    return;
  }
  try {
    const now = look(lockPath);
    if (now !== null && isStale(now, staleAfterMs)) fs.rmSync(lockPath, { force: true });
  } finally {
    release(guard, token);
  }
}

/** Runs `fn` holding `lockPath`; waits (with jitter) for a live holder, takes over a stale one. */
export function withFileLock<T>(lockPath: string, options: FileLockOptions, fn: () => T): T {
  const token = randomBytes(16).toString('hex');
  const deadline = Date.now() + options.waitMs;
  while (!create(lockPath, token, options.mode ?? 0o600)) {
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
