// lib/lock-file.ts, the lock around the key file's and the run audit's read-modify-write: who is
// waited for, who is taken over, that a takeover never removes a fresh lock, and that processes
// contending for one lock (some of them over a dead holder's lock) lose no update.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

import { afterAll, describe, expect, it } from 'vitest';

import { processStart, withFileLock, type FileLockOptions, type LockHolder } from '../lib/lock-file';

const ROOT = path.resolve(__dirname, '..');
const DIST_LOCK = path.join(ROOT, 'dist', 'cjs', 'lock-file.js');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-lock-'));
const NS = fs.readlinkSync('/proc/self/ns/pid');
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

class Busy extends Error {
  constructor(readonly holder: LockHolder | null) {
    super('busy');
  }
}
const OPTS: FileLockOptions = { staleAfterMs: 30_000, waitMs: 300, busy: (h) => new Busy(h) };

function freshLock(): string {
  return path.join(fs.mkdtempSync(path.join(TMP, 'd-')), 'x.lock');
}

/** A pid that was a process of this host and is gone now. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function age(file: string, ms: number): void {
  const t = new Date(Date.now() - ms);
  fs.utimesSync(file, t, t);
}

/** What withFileLock did with an existing lock file: took it over (ran fn) or waited and gave up. */
function outcome(lock: string): 'took over' | 'busy' | 'ran without holding it' {
  try {
    const holder = withFileLock(lock, OPTS, () => JSON.parse(fs.readFileSync(lock, 'utf8')) as LockHolder);
    return holder.pid === process.pid ? 'took over' : 'ran without holding it';
  } catch (err) {
    if (err instanceof Busy) return 'busy';
    throw err;
  }
}

describe('withFileLock', () => {
  it('runs fn holding the lock, returns its value, removes the lock after (also when fn throws)', () => {
    const lock = freshLock();
    const seen = withFileLock(lock, OPTS, () => JSON.parse(fs.readFileSync(lock, 'utf8')) as LockHolder);
    expect(seen.pid).toBe(process.pid);
    expect(seen.host).toBe(os.hostname());
    expect(typeof seen.token).toBe('string');
    expect(fs.existsSync(lock)).toBe(false);
    expect(() =>
      withFileLock(lock, OPTS, () => {
        throw new RangeError('inside');
      }),
    ).toThrow(RangeError);
    expect(fs.existsSync(lock)).toBe(false);
    expect(withFileLock(lock, { ...OPTS, mode: 0o640 }, () => fs.statSync(lock).mode & 0o777)).toBe(0o640);
  });

  it('judges a lock by its holder and age: live holders are waited for, gone ones taken over', () => {
    const here = { host: os.hostname(), pidNs: NS };
    const live = { ...here, pid: process.ppid, start: processStart(process.ppid), token: 't' };
    const cases: [string, string, number, 'took over' | 'busy'][] = [
      ['a live process of this host', JSON.stringify(live), 0, 'busy'],
      ['a live process of this host, 29 s old', JSON.stringify(live), 29_000, 'busy'],
      ['a live process of this host, 31 s old', JSON.stringify(live), 31_000, 'took over'],
      ['a dead process of this host', JSON.stringify({ ...here, pid: deadPid(), token: 't' }), 0, 'took over'],
      ['a live pid that started at another time (reused)', JSON.stringify({ ...live, start: '1' }), 0, 'took over'],
      ['this process (another thread of it)', JSON.stringify({ ...here, pid: process.pid, start: processStart(process.pid), token: 't' }), 0, 'busy'],
      ['our pid, started at another time (a previous process)', JSON.stringify({ ...here, pid: process.pid, start: '1', token: 't' }), 0, 'took over'],
      ['a live pid, no start time recorded', JSON.stringify({ ...here, pid: process.ppid, token: 't' }), 0, 'busy'],
      ['another pid namespace of this host, fresh', JSON.stringify({ ...here, pidNs: 'pid:[1]', pid: deadPid(), token: 't' }), 0, 'busy'],
      ['another host, fresh', JSON.stringify({ ...here, host: 'elsewhere', pid: deadPid(), token: 't' }), 0, 'busy'],
      ['another host, 31 s old', JSON.stringify({ pid: 1, host: 'elsewhere', token: 't' }), 31_000, 'took over'],
      ['unreadable, fresh (being written)', '', 0, 'busy'],
      ['unreadable, 3 s old (its writer died)', '{"pi', 3_000, 'took over'],
      ['no pid', JSON.stringify({ ...here, token: 't' }), 0, 'busy'],
      ['a non-positive pid', JSON.stringify({ ...here, pid: 0 }), 0, 'busy'],
      ["the run audit's earlier lock (a pid alone), live", String(process.ppid), 0, 'busy'],
      ["the run audit's earlier lock (a pid alone), dead", String(deadPid()), 0, 'took over'],
    ];
    const got = cases.map(([name, body, ms]) => {
      const lock = freshLock();
      fs.writeFileSync(lock, body);
      if (ms > 0) age(lock, ms);
      const result = outcome(lock);
      // Taken over: removed after; waited for: left exactly as it was.
      const after = fs.existsSync(lock) ? fs.readFileSync(lock, 'utf8') : null;
      return [name, result, result === 'busy' ? after === body : after === null];
    });
    expect(got).toEqual(cases.map(([name, , , want]) => [name, want, true]));
  });

  it('takes over only through the guard: a live guard is waited for, a gone one removed', () => {
    const here = { host: os.hostname(), pidNs: NS };
    const stale = JSON.stringify({ ...here, pid: deadPid(), token: 'dead' });
    const guards: [string, string, number, 'took over' | 'busy'][] = [
      ['a guard held by a live process', JSON.stringify({ ...here, pid: process.ppid, start: processStart(process.ppid), token: 'g' }), 0, 'busy'],
      ['a guard left by a dead process', JSON.stringify({ ...here, pid: deadPid(), token: 'g' }), 0, 'took over'],
      ['a guard of another host, 31 s old', JSON.stringify({ pid: 1, host: 'elsewhere', token: 'g' }), 31_000, 'took over'],
    ];
    const got = guards.map(([name, body, ms]) => {
      const lock = freshLock();
      fs.writeFileSync(lock, stale);
      fs.writeFileSync(`${lock}.takeover`, body);
      if (ms > 0) age(`${lock}.takeover`, ms);
      const result = outcome(lock);
      const left = fs.readdirSync(path.dirname(lock)).sort();
      return [name, result, left];
    });
    expect(got).toEqual([
      [guards[0]![0], 'busy', ['x.lock', 'x.lock.takeover']],
      [guards[1]![0], 'took over', []],
      [guards[2]![0], 'took over', []],
    ]);
  });

  it('a worker thread of the holding process waits for it (same pid, same start)', async () => {
    expect(fs.existsSync(DIST_LOCK), `${DIST_LOCK} missing: run node scripts/build-ts.js`).toBe(true);
    const lock = freshLock();
    // The worker holds the lock until the main thread has its outcome (not for a fixed time, which
    // a stalled main thread could outlast).
    const release = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads'); const { withFileLock } = require(${JSON.stringify(DIST_LOCK)});` +
        `withFileLock(${JSON.stringify(lock)}, { staleAfterMs: 30000, waitMs: 1000, busy: () => new Error('busy') }, () => {` +
        `  parentPort.postMessage('held'); Atomics.wait(workerData, 0, 0, 30000); });`,
      { eval: true, workerData: release },
    );
    await new Promise((resolve) => worker.once('message', resolve));
    const result = outcome(lock);
    Atomics.store(release, 0, 1);
    Atomics.notify(release, 0);
    await new Promise((resolve) => worker.once('exit', resolve));
    expect([result, fs.existsSync(lock)]).toEqual(['busy', false]);
  });

  it('throws the busy error with what the lock said, after waiting waitMs', () => {
    const lock = freshLock();
    fs.writeFileSync(lock, JSON.stringify({ pid: process.ppid, host: os.hostname(), token: 'theirs' }));
    const t0 = Date.now();
    let caught: unknown = null;
    try {
      withFileLock(lock, OPTS, () => 'never');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(Busy);
    expect((caught as Busy).holder).toEqual({ pid: process.ppid, host: os.hostname(), token: 'theirs' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(OPTS.waitMs);
  });

  it('leaves a lock that is no longer its own (taken over meanwhile) in place', () => {
    const lock = freshLock();
    const theirs = JSON.stringify({ pid: process.ppid, host: os.hostname(), token: 'theirs' });
    withFileLock(lock, OPTS, () => {
      fs.rmSync(lock);
      fs.writeFileSync(lock, theirs);
    });
    expect(fs.readFileSync(lock, 'utf8')).toBe(theirs);
  });

  it('loses no update when processes contend, starting over a dead holder’s lock', async () => {
    expect(fs.existsSync(DIST_LOCK), `${DIST_LOCK} missing: run node scripts/build-ts.js`).toBe(true);
    const dir = fs.mkdtempSync(path.join(TMP, 'race-'));
    const lock = path.join(dir, 'counter.lock');
    const counter = path.join(dir, 'counter');
    fs.writeFileSync(counter, '0');
    const CHILDREN = 6;
    const EACH = 60;
    // Every second update, the holder leaves its lock behind as a dead process would (the lock
    // names a dead pid): the waiters all judge it stale at once, the takeover race, many times.
    // The read and the write are 1 ms apart, so two holders at once would lose an update.
    const dead = JSON.stringify({ pid: deadPid(), host: os.hostname(), pidNs: NS, token: 'dead' });
    const script =
      `const { withFileLock } = require(${JSON.stringify(DIST_LOCK)}); const fs = require('fs');` +
      `const opts = { staleAfterMs: 30000, waitMs: 60000, busy: () => new Error('busy') };` +
      `const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);` +
      `for (let i = 0; i < ${EACH}; i++) withFileLock(${JSON.stringify(lock)}, opts, () => {` +
      `  const n = Number(fs.readFileSync(${JSON.stringify(counter)}, 'utf8'));` +
      `  pause(1);` +
      `  fs.writeFileSync(${JSON.stringify(counter)}, String(n + 1));` +
      `  if (i % 2 === 1) fs.writeFileSync(${JSON.stringify(lock)}, ${JSON.stringify(dead)});` +
      `});`;
    fs.writeFileSync(lock, dead);
    const runs = Array.from({ length: CHILDREN }, () =>
      new Promise<{ status: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d));
        child.on('close', (status) => resolve({ status, stderr }));
      }),
    );
    const results = await Promise.all(runs);
    expect(results).toEqual(Array(CHILDREN).fill({ status: 0, stderr: '' }));
    expect(Number(fs.readFileSync(counter, 'utf8'))).toBe(CHILDREN * EACH);
    // The last holder may have left its lock as a dead process would; nothing else is left.
    expect(fs.readdirSync(dir).filter((f) => f !== 'counter.lock')).toEqual(['counter']);
  });
});
