// The ONNX Runtime session layer (lib/model/session.ts, native/ort/session.cc,
// native/ort/watchdog.cc, native/bindings/session_binding.cc) on the real fixture models of
// training/make_fixtures.py and real broken copies of them: no mocks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { afterAll, describe, expect, it } from 'vitest';

import { ModelSession, type SessionOptions } from '../lib/index';
import {
  context,
  DIST,
  expectBytesEqual,
  lastJson,
  LEVELS,
  manifestPath,
  MAX_CONTEXT,
  modelPath,
  PATCH,
  rawManifest,
  rejection,
  ROW_OUT,
  runNodeScript,
  sha256,
  thrown,
  tmpDir,
  writeModelCopy,
} from './model-fixtures';

const OK_BYTES = fs.readFileSync(modelPath('quantile-ok'));
const open: ModelSession[] = [];
function load(kind: Parameters<typeof manifestPath>[0], options?: SessionOptions): ModelSession {
  const s = ModelSession.load(manifestPath(kind), options);
  open.push(s);
  return s;
}
afterAll(() => {
  for (const s of open) s.close();
});

const ok = load('quantile-ok');

describe('loading', () => {
  it('every fixture except shape-mismatch loads on the CPU with its manifest attached', () => {
    for (const kind of ['quantile-ok', 'emits-nan', 'emits-inf', 'crossing', 'huge', 'slow'] as const) {
      const s = load(kind);
      expect(s.manifest.name).toBe(`tg-fixture-${kind}`);
      expect(s.sha256).toBe(sha256(fs.readFileSync(modelPath(kind))));
      expect(s.sha256).toBe(s.manifest.sha256);
      expect(s.provider).toBe('cpu');
      expect(s.providerFallbackReason).toBeNull();
      expect(s.closed).toBe(false);
      expect(s.rowOutputLength).toBe(ROW_OUT);
      expect(s.outputLength(3)).toBe(3 * ROW_OUT);
    }
  });

  it('graph metadata of quantile-ok equals its manifest: names, dtypes, symbolic batch/time', () => {
    expect(ok.inputs).toEqual([{ name: 'context', dtype: 'float32', shape: ['batch', 'time'] }]);
    expect(ok.outputs).toEqual([{ name: 'quantiles', dtype: 'float32', shape: ['batch', 32, 9] }]);
    expect(ok.inputs).toEqual(ok.manifest.inputs);
    expect(ok.outputs).toEqual(ok.manifest.outputs);
  });

  it('the options are kept, frozen', () => {
    const s = load('quantile-ok', { intraOpThreads: 1, deterministic: true });
    expect(s.options).toEqual({ intraOpThreads: 1, deterministic: true });
    expect(Object.isFrozen(s.options)).toBe(true);
  });
});

describe('loading failures are typed errors', () => {
  it('missing model file -> TG_MODEL_NOT_FOUND', () => {
    const dir = tmpDir();
    const p = path.join(dir, 'model.json');
    fs.writeFileSync(p, JSON.stringify(rawManifest()));
    const err = thrown(() => ModelSession.load(p));
    expect(err.code).toBe('TG_MODEL_NOT_FOUND');
    expect(err.message).toContain(path.join(dir, 'quantile-ok.onnx'));
  });

  it('a truncated copy with the original sha256 -> TG_MODEL_HASH_MISMATCH (before ONNX Runtime)', () => {
    const p = writeModelCopy(OK_BYTES.subarray(0, OK_BYTES.length - 100), { sha: 'original' });
    const err = thrown(() => ModelSession.load(p));
    expect(err.code).toBe('TG_MODEL_HASH_MISMATCH');
    expect(err.message).toContain(`(${OK_BYTES.length - 100} bytes)`);
    expect(err.message).toContain(sha256(OK_BYTES));
    expect(err.ortCode).toBeUndefined();
  });

  it('a corrupted copy (a few bytes flipped) with the original sha256 -> TG_MODEL_HASH_MISMATCH', () => {
    const bad = Buffer.from(OK_BYTES);
    for (const i of [5, 1000, 40_000]) bad[i]! ^= 0x5a;
    const p = writeModelCopy(bad, { sha: 'original' });
    const err = thrown(() => ModelSession.load(p));
    expect(err.code).toBe('TG_MODEL_HASH_MISMATCH');
    expect(err.message).toContain(sha256(bad));
  });

  it('another valid model under this manifest -> TG_MODEL_HASH_MISMATCH', () => {
    const p = writeModelCopy(fs.readFileSync(modelPath('emits-nan')), { sha: 'original' });
    expect(thrown(() => ModelSession.load(p)).code).toBe('TG_MODEL_HASH_MISMATCH');
  });

  // The manifest pins the broken bytes, so they reach ONNX Runtime, which must refuse them.
  const ORT_LOAD_CODES = ['ORT_INVALID_PROTOBUF', 'ORT_INVALID_GRAPH', 'ORT_FAIL', 'ORT_INVALID_ARGUMENT'];
  const broken: [string, () => Uint8Array][] = [
    ['truncated to half', () => OK_BYTES.subarray(0, OK_BYTES.length >> 1)],
    ['truncated by 10 bytes', () => OK_BYTES.subarray(0, OK_BYTES.length - 10)],
    ['first 16 bytes overwritten', () => Buffer.from(OK_BYTES).fill(0xff, 0, 16)],
    [
      'bytes flipped inside the graph',
      () => {
        const b = Buffer.from(OK_BYTES);
        for (const i of [100, 2000, 40_000]) b[i]! ^= 0xff;
        return b;
      },
    ],
    ['text, not a model', () => Buffer.from('definitely not an ONNX model\n')],
    ['empty', () => new Uint8Array(0)],
  ];
  it.each(broken)('%s, its sha256 pinned -> TG_MODEL_INVALID with an ortCode', (_label, make) => {
    const bytes = make();
    const p = writeModelCopy(bytes, { sha: 'actual' });
    const err = thrown(() => ModelSession.load(p));
    expect(err.code, err.message).toBe('TG_MODEL_INVALID');
    expect(ORT_LOAD_CODES).toContain(err.ortCode);
    expect(err.message).toContain('ONNX Runtime cannot load the model');
  });

  it('a truncated copy with its sha256 pinned reports ORT_INVALID_PROTOBUF', () => {
    const p = writeModelCopy(OK_BYTES.subarray(0, 1000), { sha: 'actual' });
    const err = thrown(() => ModelSession.load(p));
    expect([err.code, err.ortCode]).toEqual(['TG_MODEL_INVALID', 'ORT_INVALID_PROTOBUF']);
  });

  it('shape-mismatch -> TG_MODEL_CONTRACT_MISMATCH naming output dimension 1', () => {
    const err = thrown(() => ModelSession.load(manifestPath('shape-mismatch')));
    expect(err.code).toBe('TG_MODEL_CONTRACT_MISMATCH');
    expect(err.message).toContain('output "quantiles" dimension 1 is 16, the manifest says 32');
    expect(err.message).not.toContain('dimension 2');
  });

  it('a manifest whose input name differs from the graph -> TG_MODEL_CONTRACT_MISMATCH', () => {
    const m = rawManifest();
    const p = writeModelCopy(OK_BYTES, { sha: 'original', overrides: { inputs: [{ ...m.inputs[0], name: 'series' }] } });
    const err = thrown(() => ModelSession.load(p));
    expect(err.code).toBe('TG_MODEL_CONTRACT_MISMATCH');
    expect(err.message).toContain('input is named "context", the manifest says "series"');
  });

  it('a manifest whose output name differs from the graph -> TG_MODEL_CONTRACT_MISMATCH', () => {
    const m = rawManifest();
    const p = writeModelCopy(OK_BYTES, { sha: 'original', overrides: { outputs: [{ ...m.outputs[0], name: 'q' }] } });
    const err = thrown(() => ModelSession.load(p));
    expect(err.code).toBe('TG_MODEL_CONTRACT_MISMATCH');
    expect(err.message).toContain('output is named "quantiles", the manifest says "q"');
  });

  it('a failed load leaves nothing behind: the good model loads and runs afterwards', () => {
    const s = load('quantile-ok', { graphOptimizationLevel: 'basic' });
    const x = context(1, 64, 1);
    expectBytesEqual(s.runSync(x), ok.runSync(x), 'basic-optimized vs default');
  });
});

describe('execution providers and options', () => {
  it("provider 'cuda' with policy 'prefer' gives a working session, on the CPU with a reason when CUDA cannot start", () => {
    const s = load('quantile-ok', { provider: 'cuda', providerPolicy: 'prefer' });
    const x = context(2, 200, 2);
    const want = ok.runSync(x, 2);
    const got = s.runSync(x, 2);
    if (s.provider === 'cuda') {
      expect(s.providerFallbackReason).toBeNull();
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-3 * (1 + Math.abs(want[i]!)));
    } else {
      expect(s.provider).toBe('cpu');
      expect(typeof s.providerFallbackReason).toBe('string');
      expect(s.providerFallbackReason!.length).toBeGreaterThan(0);
      expectBytesEqual(got, want, 'CPU fallback vs CPU');
    }
  });

  it("policy 'require' -> TG_PROVIDER_UNAVAILABLE exactly when 'prefer' had to fall back", () => {
    const prefer = load('quantile-ok', { provider: 'cuda' });
    if (prefer.provider === 'cpu') {
      const err = thrown(() => ModelSession.load(manifestPath('quantile-ok'), { provider: 'cuda', providerPolicy: 'require' }));
      expect(err.code).toBe('TG_PROVIDER_UNAVAILABLE');
      expect(err.ortCode).toMatch(/^ORT_/);
      expect(err.message).toContain('CUDA');
    } else {
      const s = load('quantile-ok', { provider: 'cuda', providerPolicy: 'require' });
      expect(s.provider).toBe('cuda');
      expect(s.providerFallbackReason).toBeNull();
    }
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["provider 'tpu'", { provider: 'tpu' }, 'TG_OUT_OF_RANGE'],
    ["graphOptimizationLevel 'max'", { graphOptimizationLevel: 'max' }, 'TG_OUT_OF_RANGE'],
    ['intraOpThreads -1', { intraOpThreads: -1 }, 'TG_OUT_OF_RANGE'],
    ['intraOpThreads 1.5', { intraOpThreads: 1.5 }, 'TG_OUT_OF_RANGE'],
    ['interOpThreads 5000', { interOpThreads: 5000 }, 'TG_OUT_OF_RANGE'],
    ["providerPolicy 'maybe'", { providerPolicy: 'maybe' }, 'TG_OUT_OF_RANGE'],
    ['deviceId -1', { deviceId: -1 }, 'TG_OUT_OF_RANGE'],
    ["intraOpThreads '2'", { intraOpThreads: '2' }, 'TG_INVALID_ARGUMENT'],
    ['provider 1', { provider: 1 }, 'TG_INVALID_ARGUMENT'],
  ])('%s -> %s', (_label, options, code) => {
    const err = thrown(() => ModelSession.load(manifestPath('quantile-ok'), options as SessionOptions));
    expect(err.code, err.message).toBe(code);
  });
});

describe('runs', () => {
  const det = load('quantile-ok', { deterministic: true });

  for (const T of [3, 100, 2048]) {
    for (const B of [1, 4]) {
      it(`batch ${B}, T=${T}: runSync, run and repeated runs give identical bytes`, async () => {
        const x = context(B, T, T * 10 + B);
        const a = det.runSync(x, B);
        expect(a).toBeInstanceOf(Float32Array);
        expect(a.length).toBe(B * PATCH * LEVELS);
        const b = await det.run(x, B);
        expectBytesEqual(b, a, 'run vs runSync');
        expectBytesEqual(det.runSync(x, B), a, 'second runSync');
        expectBytesEqual(await det.run(x, B), a, 'second run');
        // the default (non-deterministic) options agree on this model too
        expectBytesEqual(ok.runSync(x, B), a, 'default options vs deterministic');
        // and the input was not touched
        expectBytesEqual(x, context(B, T, T * 10 + B), 'input after the runs');
      });
    }
  }

  it('different inputs give different outputs (the model really reads its input)', () => {
    const a = ok.runSync(context(1, 300, 1));
    const b = ok.runSync(context(1, 300, 2));
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(false);
  });

  it('quantile-ok: finite, quantile levels non-decreasing at every step', () => {
    for (const T of [3, 64, 2048]) {
      const B = 3;
      const q = ok.runSync(context(B, T, T), B);
      for (let i = 0; i < q.length; i++) expect(Number.isFinite(q[i]!), `element ${i} of T=${T}`).toBe(true);
      for (let r = 0; r < B * PATCH; r++) {
        for (let l = 1; l < LEVELS; l++) {
          if (!(q[r * LEVELS + l]! >= q[r * LEVELS + l - 1]!)) expect.fail(`T=${T} row-step ${r}: level ${l} below level ${l - 1}`);
        }
      }
    }
  });

  function stepOf(q: Float32Array, b: number, step: number): Float32Array {
    return q.subarray((b * PATCH + step) * LEVELS, (b * PATCH + step + 1) * LEVELS);
  }

  it('emits-nan emits NaN at step 5 (every level, every row) and quantile-ok elsewhere', () => {
    const s = load('emits-nan');
    const x = context(2, 500, 5);
    const q = s.runSync(x, 2);
    const want = ok.runSync(x, 2);
    for (let b = 0; b < 2; b++) {
      for (let step = 0; step < PATCH; step++) {
        const got = stepOf(q, b, step);
        if (step === 5) expect([...got].every(Number.isNaN), `row ${b} step 5`).toBe(true);
        else expectBytesEqual(got, stepOf(want, b, step), `row ${b} step ${step}`);
      }
    }
  });

  it('emits-inf emits +Inf at step 7 (every level, every row) and quantile-ok elsewhere', () => {
    const s = load('emits-inf');
    const x = context(2, 500, 7);
    const q = s.runSync(x, 2);
    const want = ok.runSync(x, 2);
    for (let b = 0; b < 2; b++) {
      for (let step = 0; step < PATCH; step++) {
        const got = stepOf(q, b, step);
        if (step === 7) expect([...got].every((v) => v === Infinity), `row ${b} step 7`).toBe(true);
        else expectBytesEqual(got, stepOf(want, b, step), `row ${b} step ${step}`);
      }
    }
  });

  it('crossing emits strictly decreasing levels at every step', () => {
    const s = load('crossing');
    const q = s.runSync(context(2, 400, 9), 2);
    for (let r = 0; r < 2 * PATCH; r++) {
      for (let l = 1; l < LEVELS; l++) {
        if (!(q[r * LEVELS + l]! < q[r * LEVELS + l - 1]!)) expect.fail(`row-step ${r}: level ${l} not below level ${l - 1}`);
      }
    }
  });

  it('huge emits finite values around 1e30 (quantile-ok times 1e30)', () => {
    const s = load('huge');
    const x = context(2, 400, 11);
    const q = s.runSync(x, 2);
    const base = ok.runSync(x, 2);
    for (let i = 0; i < q.length; i++) {
      expect(Number.isFinite(q[i]!)).toBe(true);
      expect(Math.abs(q[i]!)).toBeGreaterThan(1e29);
      expect(Math.abs(q[i]!)).toBeLessThan(1e33);
      expect(Math.abs(q[i]! / (base[i]! * 1e30) - 1)).toBeLessThan(1e-6);
    }
  });

  it('a preallocated output is filled in place and returned (runSync and run)', async () => {
    const x = context(2, 128, 3);
    const want = ok.runSync(x, 2);
    const out = new Float32Array(2 * ROW_OUT).fill(NaN);
    expect(ok.runSync(x, 2, out)).toBe(out);
    expectBytesEqual(out, want, 'runSync into a preallocated output');
    out.fill(-1);
    expect(await ok.run(x, 2, { output: out })).toBe(out);
    expectBytesEqual(out, want, 'run into a preallocated output');
    // a view into a larger buffer is filled at its offset and nowhere else
    const big = new Float32Array(4 * ROW_OUT).fill(7);
    const view = big.subarray(ROW_OUT, 3 * ROW_OUT);
    expect(ok.runSync(x, 2, view)).toBe(view);
    expectBytesEqual(view, want, 'runSync into a subarray');
    expect(big.subarray(0, ROW_OUT).every((v) => v === 7) && big.subarray(3 * ROW_OUT).every((v) => v === 7)).toBe(true);
  });

  it('an input view (subarray at an offset) is read at its offset', () => {
    const x = context(1, 300, 4);
    const padded = new Float32Array(400).fill(1e6);
    padded.set(x, 50);
    expectBytesEqual(ok.runSync(padded.subarray(50, 350)), ok.runSync(x), 'subarray input');
  });
});

describe('input validation', () => {
  it('T > maxContext -> TG_CONTEXT_TOO_LONG (runSync and run)', async () => {
    expect(thrown(() => ok.runSync(new Float32Array(MAX_CONTEXT + 1))).code).toBe('TG_CONTEXT_TOO_LONG');
    expect(thrown(() => ok.runSync(new Float32Array(2 * (MAX_CONTEXT + 1)), 2)).code).toBe('TG_CONTEXT_TOO_LONG');
    expect((await rejection(ok.run(new Float32Array(MAX_CONTEXT + 1)))).code).toBe('TG_CONTEXT_TOO_LONG');
    // exactly maxContext is fine
    expect(ok.runSync(context(2, MAX_CONTEXT, 1), 2).length).toBe(2 * ROW_OUT);
  });

  it('length not a multiple of batch -> TG_SHAPE_MISMATCH', async () => {
    expect(thrown(() => ok.runSync(new Float32Array(100), 3)).code).toBe('TG_SHAPE_MISMATCH');
    expect((await rejection(ok.run(new Float32Array(100), 3))).code).toBe('TG_SHAPE_MISMATCH');
  });

  it('an empty input -> TG_CONTEXT_TOO_SHORT', () => {
    expect(thrown(() => ok.runSync(new Float32Array(0))).code).toBe('TG_CONTEXT_TOO_SHORT');
  });

  it('wrong output length -> TG_BUFFER_TOO_SHORT (short) or TG_SHAPE_MISMATCH (long)', async () => {
    const x = context(2, 50, 1);
    expect(thrown(() => ok.runSync(x, 2, new Float32Array(2 * ROW_OUT - 1))).code).toBe('TG_BUFFER_TOO_SHORT');
    expect(thrown(() => ok.runSync(x, 2, new Float32Array(ROW_OUT))).code).toBe('TG_BUFFER_TOO_SHORT');
    expect(thrown(() => ok.runSync(x, 2, new Float32Array(2 * ROW_OUT + 1))).code).toBe('TG_SHAPE_MISMATCH');
    expect((await rejection(ok.run(x, 2, { output: new Float32Array(3) }))).code).toBe('TG_BUFFER_TOO_SHORT');
    expect((await rejection(ok.run(x, 2, { output: new Float32Array(3 * ROW_OUT) }))).code).toBe('TG_SHAPE_MISMATCH');
  });

  it('Float64Array (or a plain array) input -> TG_INVALID_ARGUMENT', async () => {
    const err = thrown(() => ok.runSync(new Float64Array(100) as unknown as Float32Array));
    expect(err).toBeInstanceOf(TypeError);
    expect(err.code).toBe('TG_INVALID_ARGUMENT');
    expect((await rejection(ok.run(new Float64Array(100) as unknown as Float32Array))).code).toBe('TG_INVALID_ARGUMENT');
    expect(thrown(() => ok.runSync([1, 2, 3] as unknown as Float32Array)).code).toBe('TG_INVALID_ARGUMENT');
  });

  it('Float64Array output -> TG_INVALID_ARGUMENT', () => {
    const err = thrown(() => ok.runSync(context(1, 10, 1), 1, new Float64Array(ROW_OUT) as unknown as Float32Array));
    expect(err.code).toBe('TG_INVALID_ARGUMENT');
  });

  it.each([0, -1, 1.5, NaN])('batch %s -> TG_OUT_OF_RANGE', (batch) => {
    expect(thrown(() => ok.runSync(new Float32Array(64), batch)).code).toBe('TG_OUT_OF_RANGE');
  });

  it.each([-1, NaN, Infinity])('timeoutMs %s -> TG_OUT_OF_RANGE', async (timeoutMs) => {
    expect((await rejection(ok.run(context(1, 10, 1), 1, { timeoutMs }))).code).toBe('TG_OUT_OF_RANGE');
  });

  it('a detached input -> TG_DETACHED_BUFFER', () => {
    const x = context(1, 64, 1);
    structuredClone(x.buffer, { transfer: [x.buffer] });
    expect(x.length).toBe(0);
    expect(thrown(() => ok.runSync(x)).code).toBe('TG_DETACHED_BUFFER');
  });

  it('a detached output -> TG_DETACHED_BUFFER', () => {
    const out = new Float32Array(ROW_OUT);
    structuredClone(out.buffer, { transfer: [out.buffer] });
    expect(thrown(() => ok.runSync(context(1, 64, 1), 1, out)).code).toBe('TG_DETACHED_BUFFER');
  });
});

describe('closing', () => {
  it('a closed session throws TG_SESSION_CLOSED from runSync, run and the metadata getters', async () => {
    const s = load('quantile-ok', { intraOpThreads: 2 });
    const x = context(1, 100, 1);
    s.runSync(x);
    s.close();
    expect(s.closed).toBe(true);
    expect(thrown(() => s.runSync(x)).code).toBe('TG_SESSION_CLOSED');
    expect((await rejection(s.run(x))).code).toBe('TG_SESSION_CLOSED');
    for (const getter of ['inputs', 'outputs', 'provider', 'providerFallbackReason'] as const) {
      expect(thrown(() => s[getter]).code, getter).toBe('TG_SESSION_CLOSED');
    }
    s.close(); // twice is harmless
    expect(s.closed).toBe(true);
  });

  it('an async run started before close() still completes with the right bytes', async () => {
    const s = ModelSession.load(manifestPath('quantile-ok'), { intraOpThreads: 2 });
    const xs = [0, 1, 2, 3].map((i) => context(2, 1500, 40 + i));
    const pending = xs.map((x) => s.run(x, 2));
    s.close();
    const outs = await Promise.all(pending);
    outs.forEach((o, i) => expectBytesEqual(o, ok.runSync(xs[i]!, 2), `run ${i} across close()`));
  });

  it('closing one handle leaves another handle of the same cached session working', () => {
    const a = load('quantile-ok', { intraOpThreads: 2, allowSpinning: true });
    const b = load('quantile-ok', { intraOpThreads: 2, allowSpinning: true });
    expect(b.shared).toBe(true);
    a.close();
    const x = context(1, 100, 8);
    expectBytesEqual(b.runSync(x), ok.runSync(x), 'the other handle after close');
  });
});

describe('timeouts and cancellation', () => {
  const slow = load('slow');
  const x = context(1, 256, 77);

  it('timeoutMs 50 rejects with TG_RUN_TIMEOUT at the deadline, long before the run would finish; the session then runs normally', async () => {
    const late0 = slow.lateResults;
    const t0 = performance.now();
    const err = await rejection(slow.run(x, 1, { timeoutMs: 50 }));
    const timedOutAfter = performance.now() - t0;
    expect(err.code, err.message).toBe('TG_RUN_TIMEOUT');
    // Settled by the deadline itself, before ONNX Runtime has reported the terminated run.
    expect(err.ortCode).toBeUndefined();
    expect(timedOutAfter).toBeGreaterThanOrEqual(45);

    // Run options are per call: the same session, no timeout, runs to the end.
    const t1 = performance.now();
    const q = await slow.run(x, 1);
    const fullRun = performance.now() - t1;
    // The slow graph multiplies its chain by zero: its output is quantile-ok's.
    expectBytesEqual(q, ok.runSync(x), 'slow run after a timeout');
    console.log(`slow fixture: timed out after ${timedOutAfter.toFixed(0)} ms, full run ${fullRun.toFixed(0)} ms`);
    expect(fullRun).toBeGreaterThan(2 * timedOutAfter);
    // The terminated run reported back after its promise had settled: discarded and counted.
    expect(slow.lateResults - late0).toBe(1);
  });

  it('timeoutMs 0 means no timeout; a generous timeout does not fire', async () => {
    expectBytesEqual(await slow.run(x, 1, { timeoutMs: 0 }), ok.runSync(x), 'timeoutMs 0');
    expectBytesEqual(await ok.run(x, 1, { timeoutMs: 30_000 }), ok.runSync(x), 'timeoutMs 30000');
  });

  // Issue 10, finding 1: the watchdog used to wait on a reference into the map entry of the
  // earliest deadline; a run finishing first erased it, and the next arm woke the watchdog onto
  // freed memory (AddressSanitizer: heap-use-after-free under `npm run test:sanitize`).
  it('timed runs that finish before their deadlines, one after another and overlapping, all settle with their output', async () => {
    const want = ok.runSync(x);
    for (let i = 0; i < 3; i++) expectBytesEqual(await ok.run(x, 1, { timeoutMs: 500 }), want, `timed run ${i}`);
    const both = await Promise.all([ok.run(x, 1, { timeoutMs: 400 }), ok.run(x, 1, { timeoutMs: 300 }), ok.run(x, 1, { timeoutMs: 200 })]);
    for (const q of both) expectBytesEqual(q, want, 'overlapping timed runs');
  });

  it('a timeout cancels only its own run: a concurrent run on the same session finishes', async () => {
    const y = context(1, 512, 78);
    let fullDone = false;
    const full = slow.run(y, 1).finally(() => (fullDone = true));
    const err = await rejection(slow.run(x, 1, { timeoutMs: 30 }));
    expect(err.code).toBe('TG_RUN_TIMEOUT');
    // Settled at its deadline while the run beside it (as slow, started first) was still going:
    // an order, not a time, so a loaded machine cannot flip it.
    expect(fullDone).toBe(false);
    expectBytesEqual(await full, ok.runSync(y), 'the run beside the cancelled one');
  });

  it.each([1e13, 2 ** 53, Number.MAX_VALUE])('a very long timeout (%s ms) never fires', async (timeoutMs) => {
    expectBytesEqual(await ok.run(x, 1, { timeoutMs }), ok.runSync(x), `timeoutMs ${timeoutMs}`);
  });

  it('32 concurrent runs on one session each give the bytes of runSync on the same input', async () => {
    const inputs = Array.from({ length: 32 }, (_, i) => context(1 + (i % 3), 64 + 61 * i, 1000 + i));
    const batches = inputs.map((_, i) => 1 + (i % 3));
    const outs = await Promise.all(inputs.map((xi, i) => ok.run(xi, batches[i])));
    outs.forEach((o, i) => expectBytesEqual(o, ok.runSync(inputs[i]!, batches[i]), `concurrent run ${i}`));
  });
});

describe('GC safety (fresh process with --expose-gc)', () => {
  it('an async run whose input only the call references survives repeated gc() and gives runSync bytes', () => {
    const r = runNodeScript(
      `
      const path = require('node:path');
      const fs = require('node:fs');
      const lib = require(entry);
      const { addon } = require(path.join(path.dirname(entry), 'native', 'addon.js'));
      const B = 4, T = 2048;
      function makeInput() {
        const x = new Float32Array(B * T);
        for (let i = 0; i < x.length; i++) x[i] = 100 + 5 * Math.sin(i / 13) + (i % 7) * 0.25 + Math.floor(i / T);
        return x;
      }
      const s = lib.ModelSession.load(path.join(MODELS, 'slow.json'));
      // The raw native session (the one ModelSession wraps): here nothing in JS holds the input.
      // The async run copies it at the call, so JS may collect it at once. A WeakRef watches it.
      const bytes = fs.readFileSync(path.join(MODELS, 'slow.onnx'));
      const raw = new (addon().NativeSession)(bytes, s.sha256, {});
      const rawOut = new Float32Array(B * 288);
      let watch;
      const rawRun = (() => { const input = makeInput(); watch = new WeakRef(input); return raw.run(input, B, rawOut, 0); })();
      // The public API, input created inline.
      const apiRun = s.run(makeInput(), B);
      let pending = 2, rawPending = true, gcs = 0, collectedEarly = false;
      const done = (p) => p.then(() => { pending--; }, (e) => { pending--; console.error(e); });
      done(rawRun); done(apiRun);
      rawRun.then(() => { rawPending = false; }, () => { rawPending = false; });
      (async () => {
        while (pending > 0) {
          global.gc(); if (rawPending) gcs++;
          // Reuse freed memory with junk of the same size.
          const junk = []; for (let k = 0; k < 8; k++) junk.push(new Float32Array(B * T).fill(-12345));
          // The run works on its own copy: the input may be collected while it is in flight.
          if (rawPending && watch.deref() === undefined) collectedEarly = true;
          await new Promise((r) => setTimeout(r, 2));
        }
        const apiOut = await apiRun;
        await rawRun;
        // Nothing keeps the input alive after the call either.
        let released = false;
        for (let k = 0; k < 20 && !released; k++) { await new Promise((r) => setImmediate(r)); global.gc(); released = watch.deref() === undefined; }
        const expected = s.runSync(makeInput(), B);
        const same = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(expected.buffer));
        raw.close(); s.close();
        console.log(JSON.stringify({ gcs, collectedEarly, released, apiSame: same(apiOut), rawSame: same(rawOut) }));
      })();
      `,
      ['--expose-gc'],
    );
    expect(r.status, r.stderr).toBe(0);
    const res = lastJson<{ gcs: number; collectedEarly: boolean; released: boolean; apiSame: boolean; rawSame: boolean }>(r);
    console.log(`GC safety: ${res.gcs} gc() calls while the runs were in flight`);
    expect(res.gcs).toBeGreaterThanOrEqual(10);
    console.log(`GC safety: input collected while its run was in flight: ${res.collectedEarly}`);
    expect(res.apiSame).toBe(true);
    expect(res.rawSame).toBe(true);
    expect(res.released).toBe(true);
  });
});

describe('buffers detached while an async run is in flight', () => {
  it('a transferred output rejects with TG_DETACHED_BUFFER; a transferred input does not matter', async () => {
    const s = ModelSession.load(manifestPath('slow'));
    try {
      const input = new Float32Array(300).map((_, i) => 50 + Math.sin(i));
      const expected = s.runSync(input.slice(), 1);
      const out = new Float32Array(288);
      const p1 = s.run(input, 1, { output: out });
      // Detach both while ONNX Runtime works (the slow fixture takes about a second).
      structuredClone(input.buffer, { transfer: [input.buffer] });
      structuredClone(out.buffer, { transfer: [out.buffer] });
      await expect(p1).rejects.toMatchObject({ code: 'TG_DETACHED_BUFFER' });
      const input2 = new Float32Array(300).map((_, i) => 50 + Math.sin(i));
      const p2 = s.run(input2, 1);
      structuredClone(input2.buffer, { transfer: [input2.buffer] });
      const got = await p2;
      expect(Buffer.from(got.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
    } finally {
      s.close();
    }
  });
});

describe('worker threads and the process-wide session cache', () => {
  const WORKER = `
    const { parentPort, workerData } = require('node:worker_threads');
    const lib = require(workerData.entry);
    const s = lib.ModelSession.load(workerData.manifest, workerData.options);
    parentPort.postMessage({ type: 'loaded', shared: s.shared, provider: s.provider });
    parentPort.once('message', async (inputs) => {
      const outs = await Promise.all(inputs.map((x) => s.run(x, 2)));
      const sync = inputs.map((x) => s.runSync(x, 2));
      s.close();
      parentPort.postMessage({ type: 'done', outs, sync });
    });
  `;
  type Msg = { type: 'loaded'; shared: boolean; provider: string } | { type: 'done'; outs: Float32Array[]; sync: Float32Array[] };

  function startWorker(options: SessionOptions): { worker: Worker; next: () => Promise<Msg>; exited: Promise<number> } {
    const worker = new Worker(WORKER, { eval: true, workerData: { entry: DIST, manifest: manifestPath('quantile-ok'), options } });
    const queue: Msg[] = [];
    const waiters: ((m: Msg) => void)[] = [];
    let failure: unknown;
    const failed: ((e: unknown) => void)[] = [];
    worker.on('message', (m: Msg) => (waiters.length ? waiters.shift()!(m) : queue.push(m)));
    worker.on('error', (e) => {
      failure = e;
      failed.forEach((f) => f(e));
    });
    const exited = new Promise<number>((resolve) => worker.once('exit', resolve));
    const next = () =>
      new Promise<Msg>((resolve, reject) => {
        if (failure) return reject(failure);
        if (queue.length) return resolve(queue.shift()!);
        waiters.push(resolve);
        failed.push(reject);
      });
    return { worker, next, exited };
  }

  it('workers share one session (shared === true on the second load) and run concurrently with the main thread, bytewise equal', async () => {
    // Options no other test in this file uses: the first load is the cache's first.
    const options: SessionOptions = { graphOptimizationLevel: 'extended', intraOpThreads: 1 };
    const a = startWorker(options);
    const la = await a.next();
    expect(la).toEqual({ type: 'loaded', shared: false, provider: 'cpu' });
    const b = startWorker(options);
    const lb = await b.next();
    expect(lb).toEqual({ type: 'loaded', shared: true, provider: 'cpu' });
    const main = ModelSession.load(manifestPath('quantile-ok'), options);
    expect(main.shared).toBe(true);
    // Different options: a different session.
    const other = ModelSession.load(manifestPath('quantile-ok'), { ...options, intraOpThreads: 2 });
    expect(other.shared).toBe(false);
    other.close();

    const inputs = Array.from({ length: 12 }, (_, i) => context(2, 100 + 150 * i, 500 + i));
    a.worker.postMessage(inputs);
    b.worker.postMessage(inputs);
    const mainRuns = Promise.all(inputs.map((x) => main.run(x, 2)));
    const mainSync = inputs.map((x) => main.runSync(x, 2));
    const [da, db, mainOuts] = await Promise.all([a.next(), b.next(), mainRuns]);
    for (const d of [da, db]) {
      if (d.type !== 'done') return expect.fail(`unexpected message ${d.type}`);
      inputs.forEach((_, i) => {
        expectBytesEqual(d.outs[i]!, mainSync[i]!, `worker run ${i}`);
        expectBytesEqual(d.sync[i]!, mainSync[i]!, `worker runSync ${i}`);
      });
    }
    inputs.forEach((x, i) => {
      expectBytesEqual(mainOuts[i]!, mainSync[i]!, `main run ${i}`);
      expectBytesEqual(mainSync[i]!, ok.runSync(x, 2), `main vs default options ${i}`);
    });
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);

    // Once every handle is closed the cache entry expires: the next load is a fresh session.
    main.close();
    const again = ModelSession.load(manifestPath('quantile-ok'), options);
    expect(again.shared).toBe(false);
    again.close();
  });
});

describe('a worker that goes away with a run in flight (fresh process)', () => {
  // A worker terminated (or exiting) while its async run is on the pool: when the run completes
  // there is no JS environment left to settle the promise in. That must not take the process down.
  it('worker.terminate() and process.exit() in a worker during a slow run leave the process alive', () => {
    const r = runNodeScript(`
      const path = require('node:path');
      const { Worker } = require('node:worker_threads');
      const lib = require(entry);
      const code = \`
        const { parentPort, workerData } = require('node:worker_threads');
        const lib = require(workerData.entry);
        const s = lib.ModelSession.load(workerData.manifest);
        s.run(new Float32Array(300).fill(5), 1, workerData.timeout ? { timeoutMs: 10000 } : {});
        parentPort.postMessage('started');
        if (workerData.exit) setTimeout(() => process.exit(0), 100);
      \`;
      const manifest = path.join(MODELS, 'slow.json');
      const exits = [];
      for (const [exit, timeout] of [[false, false], [true, true]]) {
        const w = new Worker(code, { eval: true, workerData: { entry, manifest, exit, timeout } });
        w.once('message', () => { if (!exit) setTimeout(() => w.terminate(), 100); });
        exits.push(new Promise((resolve) => w.once('exit', resolve)));
      }
      Promise.all(exits).then(() => {
        // The abandoned runs take ~1 s each: outlive them, then use the runtime again.
        setTimeout(() => {
          const s = lib.ModelSession.load(path.join(MODELS, 'quantile-ok.json'));
          const q = s.runSync(new Float32Array(100).fill(3));
          console.log(JSON.stringify({ survived: true, finite: q.every(Number.isFinite) }));
        }, 3000);
      });
    `);
    expect(r.stderr).not.toContain('terminate called');
    expect(r.signal).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(lastJson<{ survived: boolean; finite: boolean }>(r)).toEqual({ survived: true, finite: true });
  });
});

describe('resource use (fresh process)', () => {
  // 100k runSync into one preallocated output isolates the native path: a per-run leak of even
  // ~100 bytes would show as ~10 MB. (With a fresh Float32Array per run, RSS rises ~25 MB and
  // plateaus whether or not a session runs: the allocator's arenas for ArrayBuffer backing
  // stores, so that phase is checked on V8's own counters instead.)
  it('100,000 runSync calls (batch 1, T=512) and 2,000 async runs with timeouts: bounded memory, the process exits on its own', () => {
    const r = runNodeScript(
      `
      const path = require('node:path');
      const lib = require(entry);
      const s = lib.ModelSession.load(path.join(MODELS, 'quantile-ok.json'));
      const x = new Float32Array(512);
      for (let i = 0; i < x.length; i++) x[i] = 100 + 5 * Math.sin(i / 9) + (i % 5) * 0.1;
      const MB = 1024 * 1024;
      const mem = () => { global.gc(); global.gc(); const m = process.memoryUsage(); return { rss: m.rss / MB, js: (m.heapUsed + m.external + m.arrayBuffers) / MB }; };
      const first = s.runSync(x);
      const same = (q) => Buffer.from(q.buffer, q.byteOffset, q.byteLength).equals(Buffer.from(first.buffer));
      const out = new Float32Array(288);
      let t0 = performance.now();
      for (let i = 0; i < 5000; i++) s.runSync(x, 1, out);
      const syncWarm = mem().rss;
      for (let i = 5000; i < 100000; i++) {
        s.runSync(x, 1, out);
        if (i % 9973 === 0 && !same(out)) throw new Error('output changed at run ' + i);
      }
      const syncEnd = mem().rss;
      const syncMs = performance.now() - t0;
      // The default path: a fresh output per run, nothing retained.
      for (let i = 0; i < 2000; i++) s.runSync(x);
      const freshWarm = mem().js;
      for (let i = 0; i < 30000; i++) s.runSync(x);
      const freshEnd = mem().js;
      (async () => {
        const wave = () => Promise.all(Array.from({ length: 50 }, () => s.run(x, 1, { timeoutMs: 20000 })));
        for (let w = 0; w < 4; w++) await wave();
        const asyncWarm = mem();
        t0 = performance.now();
        for (let w = 0; w < 40; w++) {
          const outs = await wave();
          if (!outs.every(same)) throw new Error('async output changed');
        }
        const asyncEnd = mem();
        const asyncMs = performance.now() - t0;
        console.log(JSON.stringify({ syncWarm, syncEnd, syncMs, freshWarm, freshEnd, asyncWarm, asyncEnd, asyncMs }));
        // No process.exit: the watchdog thread and the pool must not keep the process alive.
      })();
      `,
      ['--expose-gc'],
      50_000,
    );
    expect(r.signal, 'the child had to be killed: it did not exit on its own').toBeNull();
    expect(r.status, r.stderr).toBe(0);
    type Mem = { rss: number; js: number };
    const m = lastJson<{
      syncWarm: number;
      syncEnd: number;
      syncMs: number;
      freshWarm: number;
      freshEnd: number;
      asyncWarm: Mem;
      asyncEnd: Mem;
      asyncMs: number;
    }>(r);
    const syncGrowth = m.syncEnd - m.syncWarm;
    const asyncGrowth = m.asyncEnd.rss - m.asyncWarm.rss;
    console.log(
      `leak check: 100k runSync (preallocated output) RSS ${m.syncWarm.toFixed(1)} MB after the 5k warm-up -> ` +
        `${m.syncEnd.toFixed(1)} MB at the end (${syncGrowth >= 0 ? '+' : ''}${syncGrowth.toFixed(1)} MB, ${(m.syncMs / 100).toFixed(1)} us/run); ` +
        `30k runSync with fresh outputs: V8 heap+external ${m.freshWarm.toFixed(1)} -> ${m.freshEnd.toFixed(1)} MB; ` +
        `2000 async runs with timeouts RSS ${m.asyncWarm.rss.toFixed(1)} -> ${m.asyncEnd.rss.toFixed(1)} MB ` +
        `(${asyncGrowth >= 0 ? '+' : ''}${asyncGrowth.toFixed(1)} MB, ${m.asyncMs.toFixed(0)} ms); child wall ${r.wallMs.toFixed(0)} ms`,
    );
    // Under `npm run test:sanitize` AddressSanitizer keeps freed memory resident in its quarantine
    // (quarantine_size_mb=8, scripts/test-sanitize.js) and in each thread's own (1 MB): RSS grows by
    // up to that much with no leak (+4.4, +9.1 and +11.0 MB there across three clean-clone runs of
    // the async phase; +0.5 MB without the sanitizer). The bound allows it in that run only.
    const quarantineMb = /libasan/.test(process.env.LD_PRELOAD ?? '') ? 16 : 0;
    expect(syncGrowth).toBeLessThan(10 + quarantineMb);
    expect(m.freshEnd - m.freshWarm).toBeLessThan(2);
    expect(asyncGrowth).toBeLessThan(10 + quarantineMb);
    expect(m.asyncEnd.js - m.asyncWarm.js).toBeLessThan(2);
  });
});
