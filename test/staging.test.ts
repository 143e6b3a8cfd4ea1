/**
 * Staging memory and the runner threads of async runs (issue 12): addon-owned buffers an async
 * run uses in place while holding a share of them, the pool that reuses them, the event loop kept
 * awake for a run's outcome (asyncSpinUs), and a worker terminated with a guardian's async calls
 * (their staging tensors) in flight. Real sessions on the fixture models; GC and termination in
 * fresh processes.
 */
import { afterAll, describe, expect, it } from 'vitest';

import { ModelSession, TiRexGuardian } from '../lib/index';
import { addon } from '../lib/native/addon';
import { StagingPool, stagingBuffer } from '../lib/native/staging';
import { context, lastJson, manifestPath, runNodeScript, thrown } from './model-fixtures';

const open: ModelSession[] = [];
afterAll(() => {
  for (const s of open) s.close();
});
function load(kind: Parameters<typeof manifestPath>[0], options = {}): ModelSession {
  const s = ModelSession.load(manifestPath(kind), options);
  open.push(s);
  return s;
}

describe('staging buffers', () => {
  it('are zeroed ArrayBuffers of the asked size that a transfer cannot detach', () => {
    const b = stagingBuffer(1000);
    expect(b).toBeInstanceOf(ArrayBuffer);
    expect(b.byteLength).toBe(1000);
    expect(new Uint8Array(b).every((v) => v === 0)).toBe(true);
    // Untransferable: Node 20 copies (or later Nodes refuse); the original stays attached.
    try {
      structuredClone(b, { transfer: [b] });
    } catch {
      // refused: fine too
    }
    expect(b.byteLength).toBe(1000);
    expect(thrown(() => addon().allocStaging(0)).code).toBe('TG_OUT_OF_RANGE');
    expect(thrown(() => addon().allocStaging(-5)).code).toBe('TG_OUT_OF_RANGE');
  });

  it('an async run reads and writes views of staging memory in place and gives runSync bytes', async () => {
    const s = load('quantile-ok');
    const B = 3;
    const T = 300;
    const x = context(B, T, 7);
    const expected = s.runSync(x, B);
    // Views at an offset inside staging memory: the run must use exactly those elements.
    const inBuf = new Float32Array(stagingBuffer((B * T + 64) * 4), 32 * 4, B * T);
    inBuf.set(x);
    const outBuf = new Float32Array(stagingBuffer((s.outputLength(B) + 64) * 4), 16 * 4, s.outputLength(B));
    outBuf.fill(-1);
    const guard = new Float32Array(outBuf.buffer, 0, 16);
    const got = await s.run(inBuf, B, { output: outBuf });
    expect(got).toBe(outBuf);
    expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(expected.buffer))).toBe(true);
    expect(guard.every((v) => v === 0)).toBe(true);
    expect(new Float32Array(outBuf.buffer, (16 + s.outputLength(B)) * 4).every((v) => v === 0)).toBe(true);
  });

  it('a staging input and output that only the run references survive repeated gc() (fresh process)', () => {
    const r = runNodeScript(
      `
      const path = require('node:path');
      const lib = require(entry);
      const { stagingBuffer } = require(path.join(path.dirname(entry), 'native', 'staging.js'));
      const B = 4, T = 2048;
      const fill = (x) => { for (let i = 0; i < x.length; i++) x[i] = 100 + 5 * Math.sin(i / 13) + (i % 7) * 0.25 + Math.floor(i / T); return x; };
      const s = lib.ModelSession.load(path.join(MODELS, 'slow.json'));
      let watch;
      const run = (() => {
        const input = fill(new Float32Array(stagingBuffer(B * T * 4)));
        watch = new WeakRef(input.buffer);
        return s.run(input, B);
      })();
      let pending = true, gcs = 0;
      run.then(() => { pending = false; }, (e) => { pending = false; console.error(e); });
      (async () => {
        while (pending) {
          global.gc(); gcs++;
          const junk = []; for (let k = 0; k < 8; k++) junk.push(new Float32Array(stagingBuffer(B * T * 4)).fill(-12345));
          await new Promise((r) => setTimeout(r, 2));
        }
        const out = await run;
        const expected = s.runSync(fill(new Float32Array(B * T)), B);
        let released = false;
        for (let k = 0; k < 20 && !released; k++) { await new Promise((r) => setImmediate(r)); global.gc(); released = watch.deref() === undefined; }
        s.close();
        console.log(JSON.stringify({ gcs, released, same: Buffer.from(out.buffer, out.byteOffset, out.byteLength).equals(Buffer.from(expected.buffer)) }));
      })();
      `,
      ['--expose-gc'],
    );
    expect(r.status, r.stderr).toBe(0);
    const res = lastJson<{ gcs: number; released: boolean; same: boolean }>(r);
    expect(res.gcs).toBeGreaterThanOrEqual(10);
    expect(res.same).toBe(true);
    expect(res.released).toBe(true);
  });
});

describe('StagingPool', () => {
  it('lends views of the asked length from power-of-two buffers and reuses what is given back', () => {
    const pool = new StagingPool(2);
    const a = pool.take(1000);
    expect(a.length).toBe(1000);
    expect(a.buffer.byteLength).toBe(1024 * 4);
    const small = pool.take(3);
    expect(small.buffer.byteLength).toBe(256 * 4);
    pool.give(a);
    const b = pool.take(600);
    expect(b.buffer).toBe(a.buffer);
    expect(b.length).toBe(600);
    // Not given back: a fresh buffer.
    expect(pool.take(600).buffer).not.toBe(a.buffer);
  });

  it('keeps at most `keep` idle buffers per size, never the same one twice, and no views at an offset', () => {
    const pool = new StagingPool(2);
    const views = [pool.take(300), pool.take(300), pool.take(300)];
    for (const v of views) pool.give(v);
    pool.give(views[0]!);
    const again = [pool.take(300), pool.take(300), pool.take(300)];
    const reused = again.filter((v) => views.some((w) => w.buffer === v.buffer));
    expect(reused).toHaveLength(2);
    expect(new Set(again.map((v) => v.buffer)).size).toBe(3);
    const offset = new Float32Array(pool.take(300).buffer, 4, 10);
    pool.give(offset);
    expect(pool.take(300).buffer).not.toBe(offset.buffer);
  });
});

describe('asyncSpinUs: the event loop kept awake for an async run', () => {
  it('is validated: an integer from 0 to 100000 microseconds', () => {
    for (const bad of [-1, 0.5, 100_001, Number.NaN]) {
      expect(thrown(() => load('quantile-ok', { asyncSpinUs: bad })).code, String(bad)).toMatch(/^TG_(INVALID_ARGUMENT|OUT_OF_RANGE)$/);
      expect(thrown(() => new TiRexGuardian({ model: manifestPath('quantile-ok'), profile: 'development', session: { asyncSpinUs: bad } })).code).toBe('TG_INVALID_ARGUMENT');
    }
  });

  it('0 (sleep at once) and the default both give runSync bytes, one run or many at once', async () => {
    const x = context(2, 300, 3);
    for (const asyncSpinUs of [0, 2000, 100_000]) {
      const s = load('quantile-ok', { asyncSpinUs });
      const expected = s.runSync(x, 2);
      const outs = await Promise.all([s.run(x, 2), s.run(x, 2), s.run(x, 2)]);
      for (const o of outs) expect(Buffer.from(o.buffer).equals(Buffer.from(expected.buffer)), `asyncSpinUs ${asyncSpinUs}`).toBe(true);
    }
  });

  it('a loop kept awake still runs timers and I/O callbacks while the run is in flight', async () => {
    const s = load('slow', { asyncSpinUs: 100_000 });
    const x = context(1, 300, 5);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await s.run(x, 1);
    } finally {
      clearInterval(timer);
    }
    // The slow fixture runs for about a second: a busy JS thread would have starved the timer.
    expect(ticks).toBeGreaterThan(10);
  });
});

describe('a worker terminated with guardian async calls in flight (fresh process)', () => {
  it('its staging tensors and runs are stopped and awaited: the process lives on and exits 0', () => {
    const r = runNodeScript(
      `
      const path = require('node:path');
      const { Worker } = require('node:worker_threads');
      const code = \`
        const { parentPort, workerData } = require('node:worker_threads');
        const lib = require(workerData.entry);
        const g = new lib.TiRexGuardian({ model: workerData.manifest, profile: 'development' });
        const T = 300;
        const rows = [0, 1, 2].map((k) => Float32Array.from({ length: T }, (_, i) => 50 + Math.sin(i / 5 + k)));
        const flat = new Float32Array(3 * T); rows.forEach((r, k) => flat.set(r, k * T));
        for (let i = 0; i < 3; i++) {
          g.safeForecastAsync({ context: flat, batch: 3, predictionLength: 8, userId: 'w' }).catch(() => {});
          g.safeForecastAsync({ context: rows, predictionLength: 8, userId: 'w' }).catch(() => {});
        }
        parentPort.postMessage('started');
      \`;
      const workers = [0, 1].map(() => new Worker(code, { eval: true, workerData: { entry, manifest: path.join(MODELS, 'slow.json') } }));
      Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))))
        .then(() => new Promise((r) => setTimeout(r, 100)))
        .then(() => Promise.all(workers.map((w) => w.terminate())))
        .then(() => new Promise((r) => setTimeout(r, 1500)))
        .then(() => console.log(JSON.stringify({ survived: true })));
      `,
      [],
      60_000,
    );
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(lastJson<{ survived: boolean }>(r)).toEqual({ survived: true });
  });
});
