/**
 * The shields' one-call-per-batch kernels (issue 12): assessSpans (the input pass over spans of
 * one buffer) against assessSeries of each span, and checkForecastRows (the output pass judged
 * series by series) against the plain TypeScript reference of one series at a time.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { assessSpansInto, ASSESS_STRIDE, assessSeriesInto } from '../lib/kernels/assess';
import { checkForecastRowsInto, FORECAST_REPORT_LENGTH, FORECAST_ROW_STRIDE, ForecastRow, ForecastRowsIO } from '../lib/kernels/forecast-check';
import { addon } from '../lib/native/addon';
import { anchorArb, anyBatchArb, boundsArb, bytesOf, describeValues, outsideBytes, place, placementArb, stepArb } from './arbitraries';
import { bothPaths, expectSameBytes, expectSameElements, HAS_AVX2 } from './helpers';
import { checkForecastRef } from './reference';

/** The code of the error `fn` throws ('untyped' without one), undefined when it does not throw. */
function code(fn: () => void): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code ?? 'untyped';
  }
  return undefined;
}

/** Spans inside a buffer of `n` elements: any start, any length that fits (0 included). */
const spansArb = (n: number): fc.Arbitrary<[number, number][]> =>
  fc.array(
    fc.nat({ max: n }).chain((start) => fc.tuple(fc.constant(start), fc.nat({ max: n - start }))),
    { minLength: 1, maxLength: 6 },
  );

describe('assessSpans', () => {
  it('assesses every span exactly like assessSeries of that span, on both paths; writes nothing else', () => {
    fc.assert(
      fc.property(
        anyBatchArb().chain((b) => fc.tuple(fc.constant(b), spansArb(b.data.length), boundsArb)),
        ([b, spans, { lo, hi }]) => {
          const flat = Float64Array.from(spans.flat());
          const around = outsideBytes(b.data);
          const data = bytesOf(b.data);
          const paths = bothPaths(() => {
            const out = new Float64Array(spans.length * ASSESS_STRIDE + 3).fill(-12345);
            assessSpansInto(b.data, flat, out.subarray(0, spans.length * ASSESS_STRIDE), lo, hi);
            const want = new Float64Array(spans.length * ASSESS_STRIDE);
            spans.forEach(([start, length], r) => assessSeriesInto(b.data.subarray(start, start + length), want.subarray(r * ASSESS_STRIDE, (r + 1) * ASSESS_STRIDE), 1, lo, hi));
            return { out, want };
          });
          for (const [name, r] of Object.entries(paths)) {
            if (name === 'simd' && !HAS_AVX2) continue;
            const ctx = `${name} spans ${JSON.stringify(spans)} of ${b.dtype} ${describeValues(Array.from(b.data), 30)}`;
            expectSameElements(r.out.subarray(0, spans.length * ASSESS_STRIDE), r.want, ctx);
            expect(Array.from(r.out.subarray(spans.length * ASSESS_STRIDE)), `after the last span: ${ctx}`).toEqual([-12345, -12345, -12345]);
          }
          expectSameBytes(bytesOf(b.data), data, 'assessSpans must not write its input');
          expectSameBytes(outsideBytes(b.data), around, 'bytes around the view');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses bad spans and buffers with typed errors, before writing anything', () => {
    const x = new Float32Array(16).fill(1);
    const out = new Float64Array(2 * ASSESS_STRIDE).fill(7);
    const ok = Float64Array.from([0, 8, 8, 8]);
    expect(code(() => assessSpansInto(x, ok, out))).toBeUndefined();
    const cases: [Float64Array, string][] = [
      [Float64Array.from([0, 8, 9, 8]), 'TG_OUT_OF_RANGE'], // past the end
      [Float64Array.from([-1, 2]), 'TG_OUT_OF_RANGE'],
      [Float64Array.from([0.5, 2]), 'TG_OUT_OF_RANGE'],
      [Float64Array.from([0, NaN]), 'TG_OUT_OF_RANGE'],
      [Float64Array.from([0, 2, 4]), 'TG_SHAPE_MISMATCH'], // not pairs
      [new Float64Array(0), 'TG_SHAPE_MISMATCH'],
    ];
    for (const [spans, want] of cases) {
      out.fill(7);
      expect(code(() => assessSpansInto(x, spans, out)), JSON.stringify(Array.from(spans))).toBe(want);
      expect(out.every((v) => v === 7)).toBe(true);
    }
    expect(code(() => assessSpansInto(x, ok, new Float64Array(ASSESS_STRIDE)))).toBe('TG_BUFFER_TOO_SHORT');
    expect(code(() => assessSpansInto(x, ok, out, 1, 0))).toBe('TG_INVALID_BOUNDS');
    expect(code(() => assessSpansInto(x, new Float32Array(4) as unknown as Float64Array, out))).toBe('TG_INVALID_ARGUMENT');
  });

  it('the native side checks what reaches it without the wrapper (no crash, typed errors)', () => {
    const a = addon();
    const x = new Float32Array(16);
    const out = new Float64Array(ASSESS_STRIDE);
    expect(code(() => a.assessSpans(x, Float64Array.from([10, 7]), -1, 1, out))).toBe('TG_OUT_OF_RANGE');
    expect(code(() => a.assessSpans(x, Float64Array.from([1e300, 1]), -1, 1, out))).toBe('TG_OUT_OF_RANGE');
    expect(code(() => a.assessSpans(x, Float64Array.from([0, 1, 0, 1]), -1, 1, out))).toBe('TG_BUFFER_TOO_SHORT');
    expect(code(() => a.assessSpans(x, Float64Array.from([0, 1]), 1, -1, out))).toBe('TG_INVALID_BOUNDS');
    expect(code(() => a.assessSpans(x, null as unknown as Float64Array, -1, 1, out))).toBe('TG_INVALID_ARGUMENT');
    expect(code(() => (a.assessSpans as unknown as (...args: unknown[]) => void)(x))).toBe('TG_INVALID_ARGUMENT');
  });
});

const rowsCaseArb = fc
  .record({
    batch: fc.integer({ min: 1, max: 4 }),
    horizon: fc.oneof(fc.constantFrom(1, 2, 32), fc.integer({ min: 1, max: 20 })),
    levels: fc.oneof(fc.constantFrom(1, 2, 9), fc.integer({ min: 1, max: 12 })),
    clamp: fc.boolean(),
    withMean: fc.boolean(),
    qPlacement: placementArb,
  })
  .chain((s) =>
    fc.record({
      s: fc.constant(s),
      medianIndex: fc.nat({ max: s.levels - 1 }),
      steps: fc.array(stepArb(s.levels), { minLength: s.batch * s.horizon, maxLength: s.batch * s.horizon }),
      anchors: fc.array(anchorArb, { minLength: s.batch, maxLength: s.batch }),
      ks: fc.array(fc.oneof(fc.constantFrom(0.5, 12, 1e-9, 1e300), fc.double({ min: 1e-3, max: 50, noNaN: true })), { minLength: s.batch, maxLength: s.batch }),
    }),
  );

describe('checkForecastRows', () => {
  it('judges each series like the reference judges it alone, with its own k; the header holds the sums', () => {
    fc.assert(
      fc.property(rowsCaseArb, ({ s, medianIndex, steps, anchors, ks }) => {
        const q = place(steps.flat(), 'f32', s.qPlacement) as Float32Array;
        const values = Array.from(q);
        const mean = s.withMean ? new Float32Array(s.batch * s.horizon).fill(-7) : null;
        const io = new ForecastRowsIO(s.batch + 1);
        anchors.forEach((a, b) => {
          io.io.set(a, io.row(b));
          io.io[io.row(b) + ForecastRow.k] = ks[b]!;
        });
        checkForecastRowsInto(q, { batch: s.batch, horizon: s.horizon, levels: s.levels, medianIndex }, io, s.clamp, mean);
        const sums = new Array<number>(FORECAST_REPORT_LENGTH).fill(0);
        const per = s.horizon * s.levels;
        for (let b = 0; b < s.batch; b++) {
          const want = checkForecastRef(values.slice(b * per, (b + 1) * per), 1, s.horizon, s.levels, medianIndex, anchors[b]!, ks[b]!, s.clamp);
          const ctx = `series ${b} of ${s.batch}, horizon ${s.horizon} levels ${s.levels} k ${ks[b]} clamp ${s.clamp} anchors ${JSON.stringify(anchors[b])}`;
          const report = Array.from(io.io.subarray(io.row(b) + ForecastRow.report, io.row(b) + FORECAST_ROW_STRIDE));
          expect(report, ctx).toEqual(want.report);
          expectSameElements(q.subarray(b * per, (b + 1) * per), want.q, `quantiles of ${ctx}`);
          if (mean) expectSameElements(mean.subarray(b * s.horizon, (b + 1) * s.horizon), want.mean ?? new Array(s.horizon).fill(-7), `mean of ${ctx}`);
          want.report.forEach((v, i) => (sums[i] += v));
        }
        expect(Array.from(io.report)).toEqual(sums);
      }),
      { numRuns: 500 },
    );
  });

  it('a non-finite series stops only its own checks: the next one is judged, clamped and gets its mean', () => {
    const io = new ForecastRowsIO(2);
    io.io.set([1, 1, 0, 2, 2], io.row(0));
    io.io.set([100, 1, 90, 110, 2], io.row(1));
    const q = new Float32Array([1, NaN, 3, 100, 200, 300]);
    const mean = new Float32Array([-1, -1]);
    checkForecastRowsInto(q, { batch: 2, horizon: 1, levels: 3, medianIndex: 1 }, io, true, mean);
    expect(Array.from(io.io.subarray(io.row(0) + ForecastRow.report, io.row(0) + FORECAST_ROW_STRIDE))).toEqual([0, 1, 1, 0, 0, 0, 0, 0]);
    // Series 1: median 200 is beyond 110 + 2: clamped onto it (the step shifts by 88), band too wide.
    expect(Array.from(io.io.subarray(io.row(1) + ForecastRow.report, io.row(1) + FORECAST_ROW_STRIDE))).toEqual([0, 0, 0, 1, 1, 1, 0, 0]);
    expect(Array.from(mean)).toEqual([-1, 112]);
    expect(Array.from(q.subarray(3))).toEqual([12, 112, 212]);
    expect(Array.from(io.report)).toEqual([0, 1, 1, 1, 1, 1, 0, 0]);
  });

  it('refuses bad arguments with typed errors (the wrapper and the native side)', () => {
    const io = new ForecastRowsIO(2);
    for (let b = 0; b < 2; b++) io.io[io.row(b) + ForecastRow.k] = 2;
    const q = new Float32Array(18);
    const shape = { batch: 2, horizon: 1, levels: 9, medianIndex: 4 };
    expect(code(() => checkForecastRowsInto(q, shape, io, false, null))).toBeUndefined();
    expect(code(() => checkForecastRowsInto(q, { ...shape, batch: 3 }, io, false, null))).toBe('TG_OUT_OF_RANGE');
    expect(code(() => checkForecastRowsInto(q, { ...shape, horizon: 2 }, io, false, null))).toBe('TG_SHAPE_MISMATCH');
    expect(code(() => checkForecastRowsInto(q, shape, io, false, new Float32Array(3)))).toBe('TG_SHAPE_MISMATCH');
    expect(code(() => checkForecastRowsInto(q, shape, io, false, q.subarray(0, 2)))).toBe('TG_INVALID_ARGUMENT');
    expect(code(() => checkForecastRowsInto(q, shape, { io: new Float64Array(64) } as unknown as ForecastRowsIO, false, null))).toBe('TG_INVALID_ARGUMENT');
    for (const k of [0, -1, NaN, Infinity]) {
      io.io[io.row(1) + ForecastRow.k] = k;
      expect(code(() => checkForecastRowsInto(q, shape, io, false, null))).toBe('TG_OUT_OF_RANGE');
    }
    const a = addon();
    const raw = new Float64Array(16 + 2 * FORECAST_ROW_STRIDE);
    raw.set([2, 1, 9, 4, 0, 0]);
    raw[16 + ForecastRow.k] = 2;
    raw[16 + FORECAST_ROW_STRIDE + ForecastRow.k] = 0; // series 1's k: refused
    expect(code(() => a.checkForecastRows(q, null, raw))).toBe('TG_OUT_OF_RANGE');
    expect(code(() => a.checkForecastRows(q, null, raw.subarray(0, 16 + FORECAST_ROW_STRIDE)))).toBe('TG_BUFFER_TOO_SHORT');
    raw[0] = 3;
    expect(code(() => a.checkForecastRows(q, null, raw))).toBe('TG_SHAPE_MISMATCH');
    expect(code(() => a.checkForecastRows(q, null, new Float64Array(4)))).toBe('TG_BUFFER_TOO_SHORT');
  });
});
