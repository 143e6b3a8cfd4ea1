/**
 * The shields' own kernels against plain TypeScript references (test/reference.ts):
 * assessSeries (scan + recent signals, one call) and checkForecast (the output pass).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  ASSESS_STRIDE,
  AssessField,
  assessSeriesInto,
  checkForecastInto,
  ForecastCheckIO,
  SCAN_STRIDE,
  scanBuffer,
  scanInto,
} from '../lib/index';
import { anchorArb, anyBatchArb, anySeriesArb, boundsArb, bytesOf, describeValues, F32_MAX, outsideBytes, place, placementArb, stepArb } from './arbitraries';
import { bothPaths, expectSameBytes, expectSameElements, HAS_AVX2, withSimd } from './helpers';
import { checkForecastRef, recentSignalsRef } from './reference';

const RECENT_FIELDS = ['spike', 'levelShift', 'last', 'sigma'] as const;

function expectRecent(out: Float64Array, row: number, values: ArrayLike<number>, context: string): void {
  const want = recentSignalsRef(values);
  for (const f of RECENT_FIELDS) {
    const got = out[row * ASSESS_STRIDE + AssessField[f]]!;
    if (!Object.is(got, want[f])) expect.fail(`${context}: ${f} is ${got}, reference ${want[f]}`);
  }
}

describe('assessSeries', () => {
  it('gives the scan bit for bit and the recent signals exactly as the reference, on both paths', () => {
    fc.assert(
      fc.property(anySeriesArb(), boundsArb, (c, { lo, hi }) => {
        const around = outsideBytes(c.data);
        const data = bytesOf(c.data);
        const paths = bothPaths(() => {
          const out = new Float64Array(ASSESS_STRIDE).fill(-12345);
          assessSeriesInto(c.data, out, 1, lo, hi);
          const scan = scanBuffer(1);
          scanInto(c.data, scan, 1, lo, hi);
          return { out, scan };
        });
        for (const [name, r] of Object.entries(paths)) {
          if (name === 'simd' && !HAS_AVX2) continue;
          const ctx = `${c.dtype} ${describeValues(c.values)} ${name}`;
          expectSameElements(r.out.subarray(0, SCAN_STRIDE).subarray(0, 14), r.scan.subarray(0, 14), `scan fields of ${ctx}`);
          expectRecent(r.out, 0, c.values, ctx);
        }
        expectSameBytes(bytesOf(c.data), data, 'assessSeries must not write its input');
        expectSameBytes(outsideBytes(c.data), around, 'bytes around the view');
      }),
      { numRuns: 400 },
    );
  });

  it('assesses every row of a ragged NaN-padded batch like a single series', () => {
    fc.assert(
      fc.property(anyBatchArb(), (b) => {
        const out = new Float64Array(b.rows * ASSESS_STRIDE);
        assessSeriesInto(b.data, out, b.rows);
        for (let r = 0; r < b.rows; r++) {
          const one = new Float64Array(ASSESS_STRIDE);
          const row = b.data.subarray(r * b.cols, (r + 1) * b.cols);
          assessSeriesInto(row, one, 1);
          expectSameElements(out.subarray(r * ASSESS_STRIDE, (r + 1) * ASSESS_STRIDE), one, `row ${r}`);
          expectRecent(out, r, b.rowValues[r]!, `row ${r} of ${b.rows}x${b.cols}`);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('examples: a spike, a level shift, a NaN tail longer than the recent window, lengths 0 to 3', () => {
    const out = new Float64Array(ASSESS_STRIDE);
    const walk = Float64Array.from({ length: 300 }, (_, i) => 100 + (i % 2 === 0 ? 0.5 : -0.5));
    walk[290] = 150; // one spike
    assessSeriesInto(walk, out);
    expect(out[AssessField.spike]).toBeGreaterThan(40);
    expect(out[AssessField.last]).toBe(walk[299]);
    const shifted = Float32Array.from({ length: 300 }, (_, i) => (i < 290 ? 10 + (i % 2) * 0.1 : 20 + (i % 2) * 0.1));
    assessSeriesInto(shifted, out);
    expect(out[AssessField.levelShift]).toBeGreaterThan(10);
    const nanTail = new Float32Array(1000).fill(NaN);
    nanTail[3] = 7;
    assessSeriesInto(nanTail, out);
    expect(out[AssessField.last]).toBe(7);
    expect(out[AssessField.sigma]).toBe(0);
    for (const n of [0, 1, 2, 3]) {
      const x = Float32Array.from({ length: n }, (_, i) => i * 2);
      assessSeriesInto(x, out);
      expect(out[AssessField.count]).toBe(n);
      expect(out[AssessField.spike]).toBe(0);
      expect(Object.is(out[AssessField.last], n === 0 ? NaN : (n - 1) * 2)).toBe(true);
      expect(out[AssessField.sigma]).toBe(n < 2 ? 0 : 1.2533 * 2);
    }
  });

  it('refuses bad arguments with typed errors', () => {
    const out = new Float64Array(ASSESS_STRIDE);
    const x = new Float32Array(8);
    expect(() => assessSeriesInto(new Int32Array(4) as unknown as Float32Array, out)).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
    expect(() => assessSeriesInto(x, new Float64Array(ASSESS_STRIDE - 1))).toThrow(expect.objectContaining({ code: 'TG_BUFFER_TOO_SHORT' }));
    expect(() => assessSeriesInto(x, out, 3)).toThrow(expect.objectContaining({ code: 'TG_SHAPE_MISMATCH' }));
    expect(() => assessSeriesInto(x, out, 1, 1, 0)).toThrow(expect.objectContaining({ code: 'TG_INVALID_BOUNDS' }));
    const buf = new ArrayBuffer(64);
    const detached = new Float32Array(buf);
    structuredClone(buf, { transfer: [buf] });
    expect(() => assessSeriesInto(detached, out)).toThrow(expect.objectContaining({ code: 'TG_DETACHED_BUFFER' }));
  });
});

/** The code of the error `fn` throws ('untyped' without one), undefined when it does not throw. */
function code(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? 'untyped';
  }
  return undefined;
}

const forecastCaseArb = fc
  .record({
    batch: fc.integer({ min: 1, max: 3 }),
    horizon: fc.oneof(fc.constantFrom(1, 2, 3, 32), fc.integer({ min: 1, max: 40 })),
    levels: fc.oneof(fc.constantFrom(1, 2, 3, 9), fc.integer({ min: 1, max: 12 })),
    k: fc.oneof(fc.constantFrom(0.5, 2, 4, 1e-9, 1e300), fc.double({ min: 1e-3, max: 50, noNaN: true })),
    clamp: fc.boolean(),
    withMean: fc.boolean(),
    qPlacement: placementArb,
    meanPlacement: placementArb,
  })
  .chain((s) =>
    fc.record({
      s: fc.constant(s),
      medianIndex: fc.nat({ max: s.levels - 1 }),
      steps: fc.array(stepArb(s.levels), { minLength: s.batch * s.horizon, maxLength: s.batch * s.horizon }),
      anchors: fc.array(anchorArb, { minLength: s.batch, maxLength: s.batch }),
    }),
  );

describe('checkForecast', () => {
  it('repairs, judges, clamps and writes the mean exactly like the reference; nothing outside the views', () => {
    fc.assert(
      fc.property(forecastCaseArb, ({ s, medianIndex, steps, anchors }) => {
        const q = place(steps.flat(), 'f32', s.qPlacement) as Float32Array;
        const values = Array.from(q);
        const mean = s.withMean ? (place(new Array(s.batch * s.horizon).fill(-7), 'f32', s.meanPlacement) as Float32Array) : null;
        const aroundQ = outsideBytes(q);
        const aroundMean = mean ? outsideBytes(mean) : null;
        const io = new ForecastCheckIO(s.batch + 1);
        io.anchors.set(anchors.flat());
        const want = checkForecastRef(values, s.batch, s.horizon, s.levels, medianIndex, anchors.flat(), s.k, s.clamp);
        const shape = { batch: s.batch, horizon: s.horizon, levels: s.levels, medianIndex };
        checkForecastInto(q, shape, io, s.k, s.clamp, mean);
        const ctx = `batch ${s.batch} horizon ${s.horizon} levels ${s.levels} k ${s.k} clamp ${s.clamp} anchors ${JSON.stringify(anchors)} q ${describeValues(values, 60)}`;
        expect(Array.from(io.report), ctx).toEqual(want.report);
        expectSameElements(q, want.q, `quantiles of ${ctx}`);
        // Independent of the reference: zero non-finite values reported means none in the output.
        if (io.report[1] === 0 && !q.every(Number.isFinite)) expect.fail(`a non-finite value reported as none: ${ctx}`);
        if (mean) expectSameElements(mean, want.mean ?? new Array(s.batch * s.horizon).fill(-7), `mean of ${ctx}`);
        expectSameBytes(outsideBytes(q), aroundQ, 'bytes around quantiles');
        if (mean) expectSameBytes(outsideBytes(mean), aroundMean!, 'bytes around mean');
      }),
      { numRuns: 600 },
    );
  });

  it('leaves every judged forecast ordered, and a clamped median on its bound', () => {
    const io = new ForecastCheckIO(1);
    io.anchors.set([100, 1, 90, 110]);
    // Step 0 in range; step 1 above hi + bound, its band too wide; step 2 below; step 3 crossed.
    const q = new Float32Array([99, 100, 101, 200, 300, 400, -100, -90, -80, 102, 100, 101]);
    const mean = new Float32Array(4);
    checkForecastInto(q, { batch: 1, horizon: 4, levels: 3, medianIndex: 1 }, io, 2, true, mean);
    expect(Array.from(io.report)).toEqual([1, 0, 0, 2, 2, 1, 0, 0]);
    // bound at h=1: 2 * 1 * sqrt(2); the median lands on 110 + bound.
    expect(mean[1]).toBeCloseTo(110 + 2 * Math.SQRT2, 4);
    expect(mean[2]).toBeCloseTo(90 - 2 * Math.sqrt(3), 4);
    for (let s = 0; s < 4; s++) for (let j = 1; j < 3; j++) expect(q[s * 3 + j]! >= q[s * 3 + j - 1]!).toBe(true);
    expect(Array.from(mean)).toEqual([q[1], q[4], q[7], q[10]]);
  });

  it('writes no mean and judges nothing when a value is not finite', () => {
    const io = new ForecastCheckIO(1);
    io.anchors.set([1, 1, 0, 2]);
    const q = new Float32Array([1, 2, 3, 1e30, NaN, 1e30]);
    const mean = new Float32Array([-1, -1]);
    checkForecastInto(q, { batch: 1, horizon: 2, levels: 3, medianIndex: 1 }, io, 2, true, mean);
    expect(Array.from(io.report)).toEqual([0, 1, 1, 0, 0, 0, 0, 0]);
    expect(Array.from(mean)).toEqual([-1, -1]);
  });

  it('a clamp near the float32 limits saturates instead of overflowing to an infinity', () => {
    // Step 0: the median 3.4e38 is far above the span: shifting the whole step down by that
    // excess takes its lowest level to -6.8e38, beyond float32 (it was -Infinity, reported as
    // zero non-finite values). Step 1, the mirror image: its top level would become +Infinity.
    const io = new ForecastCheckIO(1);
    io.anchors.set([0, 1, -1, 1]);
    const q = new Float32Array([-3.4e38, 3.4e38, 3.4e38, -3.4e38, -3.4e38, 3.4e38]);
    const mean = new Float32Array([-7, -7]);
    checkForecastInto(q, { batch: 1, horizon: 2, levels: 3, medianIndex: 1 }, io, 2, true, mean);
    // No crossed or non-finite values; both steps implausible, clamped, too wide and absurd.
    expect(Array.from(io.report)).toEqual([0, 0, 0, 2, 2, 2, 2, 0]);
    // The excess equals the median (the bound is below its float spacing): the median lands on 0.
    expect(Array.from(q)).toEqual([-F32_MAX, 0, 0, 0, 0, F32_MAX]);
    expect(Array.from(mean)).toEqual([0, 0]);
    expect(q.every(Number.isFinite)).toBe(true);
  });

  it('refuses bad arguments with typed errors', () => {
    const io = new ForecastCheckIO(2);
    const q = new Float32Array(18);
    const shape = { batch: 2, horizon: 1, levels: 9, medianIndex: 4 };
    expect(code(() => checkForecastInto(q, shape, io, 2, false, null))).toBeUndefined();
    expect(code(() => checkForecastInto(q, { ...shape, batch: 3 }, io, 2, false, null))).toBe('TG_OUT_OF_RANGE');
    expect(code(() => checkForecastInto(q, { ...shape, horizon: 2 }, io, 2, false, null))).toBe('TG_SHAPE_MISMATCH');
    expect(code(() => checkForecastInto(q, { ...shape, medianIndex: 9 }, io, 2, false, null))).toBe('TG_OUT_OF_RANGE');
    for (const k of [0, -1, NaN, Infinity]) expect(code(() => checkForecastInto(q, shape, io, k, false, null))).toMatch(/TG_OUT_OF_RANGE/);
    expect(code(() => checkForecastInto(q, shape, io, 2, false, new Float32Array(3)))).toBe('TG_SHAPE_MISMATCH');
    expect(code(() => checkForecastInto(q, shape, io, 2, false, q.subarray(0, 2)))).toBe('TG_INVALID_ARGUMENT');
    expect(code(() => checkForecastInto(q, shape, { io: new Float64Array(64) } as unknown as ForecastCheckIO, 2, false, null))).toBe('TG_INVALID_ARGUMENT');
    expect(code(() => checkForecastInto(new Float64Array(18) as unknown as Float32Array, shape, io, 2, false, null))).toBe('TG_INVALID_ARGUMENT');
  });

  it('the native side checks what reaches it without the wrapper (no crash, typed errors)', async () => {
    const { addon } = await import('../lib/native/addon');
    const a = addon();
    const io = new ForecastCheckIO(1).io;
    io.set([1, 1, 9, 4, 2, 0]);
    expect(code(() => a.checkForecast(new Float32Array(9), null, io))).toBeUndefined();
    expect(code(() => a.checkForecast(new Float32Array(8), null, io))).toBe('TG_SHAPE_MISMATCH');
    io.set([2 ** 40, 1, 9, 4, 2, 0]);
    expect(code(() => a.checkForecast(new Float32Array(9), null, io))).toBe('TG_OUT_OF_RANGE');
    io.set([1.5, 1, 9, 4, 2, 0]);
    expect(code(() => a.checkForecast(new Float32Array(9), null, io))).toBe('TG_OUT_OF_RANGE');
    io.set([2, 1, 9, 4, 2, 0]);
    expect(code(() => a.checkForecast(new Float32Array(18), null, new Float64Array(io.subarray(0, 16 + 4))))).toBe('TG_BUFFER_TOO_SHORT');
    io.set([1, 1, 9, 4, NaN, 0]);
    expect(code(() => a.checkForecast(new Float32Array(9), null, io))).toBe('TG_OUT_OF_RANGE');
    io.set([1, 1, 9, 4, 2, 0]);
    expect(code(() => a.checkForecast(new Float32Array(9), new Float32Array(2), io))).toBe('TG_SHAPE_MISMATCH');
    expect(code(() => a.checkForecast(new Float32Array(9), null, new Float64Array(4)))).toBe('TG_BUFFER_TOO_SHORT');
    expect(code(() => a.checkForecast(new Float32Array(9), undefined as unknown as null, io))).toBe('TG_INVALID_ARGUMENT');
  });
});

describe('scalar and SIMD paths agree on assessSeries', () => {
  it('bit for bit on every boundary length', () => {
    if (!HAS_AVX2) return;
    for (const n of [0, 1, 2, 3, 7, 8, 9, 255, 256, 257, 1024, 2053]) {
      const x = Float32Array.from({ length: n }, (_, i) => (i % 97 === 5 ? NaN : Math.sin(i) * 100 + i));
      const a = new Float64Array(ASSESS_STRIDE);
      const b = new Float64Array(ASSESS_STRIDE);
      withSimd(true, () => assessSeriesInto(x, a));
      withSimd(false, () => assessSeriesInto(x, b));
      expectSameElements(a, b, `length ${n}`);
    }
  });
});
