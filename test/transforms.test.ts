import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { applyScaling, computeScaling, convertF64ToF32, impute, invertScaling, scan } from '../lib/index';
import {
  anyBatchArb,
  anySeriesArb,
  batchArb,
  BOUNDARY_LENGTHS,
  bytesOf,
  copyTo,
  ctorOf,
  directSeriesArb,
  fixedSeries,
  lengthArb,
  outsideBytes,
  place,
  seriesArb,
  varyNaNs,
  type FloatArray,
  type SeriesCase,
} from './arbitraries';
import {
  bothPaths,
  describeValues,
  expectSameBytes,
  expectSameElements,
  HAS_AVX2,
  meanTolerance,
  stdTolerance,
  withSimd,
} from './helpers';
import {
  applyScalingRef,
  computeScalingRef,
  convertRef,
  imputeRef,
  invertScalingRef,
  scanRef,
  type Dtype,
} from './reference';

/** A byte-exact copy of a view at another (unaligned) placement. */
function copyAt(data: FloatArray, dtype: Dtype, offset: number): FloatArray {
  return copyTo(data, dtype, { offset, tail: 3 });
}

/** The TiRex rule applied to the kernel's own scan: computeScaling must agree bit for bit. */
function scalingFromScan(data: FloatArray): [number, number] {
  const s = scan(data);
  if (s.finiteCount === 0) return [0, 1];
  return [s.mean, s.std === 0 ? Math.abs(s.mean) + 1e-5 : s.std];
}

/** loc / scale pairs: from the data itself, or arbitrary finite ones with a non-zero scale. */
const locScaleArb = fc.oneof(
  fc.constant(null), // null: use computeScaling(data)
  fc.tuple(
    fc.oneof(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.constantFrom(0, -0, 60000.123456, 1e300, -1e-300)),
    fc.oneof(
      fc.double({ min: 1e-6, max: 1e6, noNaN: true }),
      fc.double({ min: -1e3, max: -1e-3, noNaN: true }),
      fc.constantFrom(1, 1e-5, 50, 1e-310, 1e308, Number.MIN_VALUE, -2),
    ),
  ),
);

function locScaleFor(c: { data: FloatArray }, pick: [number, number] | null): Float64Array {
  return pick ? new Float64Array(pick) : computeScaling(c.data);
}

describe('computeScaling', () => {
  it('is the TiRex rule applied to the scan, bit for bit, on both paths', () => {
    fc.assert(
      fc.property(anySeriesArb(), (c) => {
        for (const path of HAS_AVX2 ? [true, false] : [false]) {
          const [loc, scale] = withSimd(path, () => computeScaling(c.data));
          const [wantLoc, wantScale] = withSimd(path, () => scalingFromScan(c.data));
          expect(Object.is(loc, wantLoc), `loc ${loc} vs ${wantLoc}`).toBe(true);
          expect(Object.is(scale, wantScale), `scale ${scale} vs ${wantScale}`).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('matches the reference (finite count 0 -> [0, 1]; flat -> |loc| + 1e-5; else the std)', () => {
    fc.assert(
      fc.property(anySeriesArb(), (c) => {
        const ref = scanRef(c.values);
        const [refLoc, refScale] = computeScalingRef(c.values);
        const [loc = NaN, scale = NaN] = computeScaling(c.data);
        const ctx = `${c.dtype} ${describeValues(c.values)}`;
        expect(Number.isFinite(loc) && Number.isFinite(scale) && scale > 0, `finite positive scale: ${ctx}`).toBe(true);
        if (ref.finiteCount === 0) {
          expect([loc, scale]).toEqual([0, 1]);
        } else if (ref.std === 0) {
          expect(loc === refLoc, `flat loc ${loc} vs ${refLoc}: ${ctx}`).toBe(true);
          expect(scale, `flat scale: ${ctx}`).toBe(refScale);
        } else {
          expect(Math.abs(loc - refLoc), `loc ${loc} vs ${refLoc}: ${ctx}`).toBeLessThanOrEqual(meanTolerance(ref));
          expect(Math.abs(scale - refScale), `scale ${scale} vs ${refScale}: ${ctx}`).toBeLessThanOrEqual(stdTolerance(ref));
        }
      }),
      { numRuns: 300 },
    );
  });

  it.skipIf(!HAS_AVX2)('scalar and SIMD agree bit for bit, batches included', () => {
    fc.assert(
      fc.property(anyBatchArb(), (b) => {
        const { simd, scalar } = bothPaths(() => computeScaling(b.data, b.rows));
        expectSameBytes(simd, scalar, `${b.dtype} ${b.rows}x${b.cols}`);
      }),
      { numRuns: 200 },
    );
  });

  it('a batch gives each row its own [loc, scale], and writes nothing past rows * 2', () => {
    fc.assert(
      fc.property(anyBatchArb(), (b) => {
        const out = new Float64Array(b.rows * 2 + 2).fill(-9);
        computeScaling(b.data, b.rows, out);
        for (let r = 0; r < b.rows; r++) {
          const alone = computeScaling(b.data.subarray(r * b.cols, (r + 1) * b.cols));
          expect(Object.is(out[2 * r], alone[0]) && Object.is(out[2 * r + 1], alone[1]), `row ${r}`).toBe(true);
        }
        expect(out[b.rows * 2]).toBe(-9);
        expect(out[b.rows * 2 + 1]).toBe(-9);
      }),
      { numRuns: 150 },
    );
  });

  it('examples: empty, all-NaN, flat, flat at zero, Bitcoin-like', () => {
    expect(Array.from(computeScaling(new Float64Array(0)))).toEqual([0, 1]);
    expect(Array.from(computeScaling(new Float32Array([NaN, Infinity, -Infinity])))).toEqual([0, 1]);
    expect(Array.from(computeScaling(new Float64Array([5, 5, NaN, 5])))).toEqual([5, 5 + 1e-5]);
    expect(Array.from(computeScaling(new Float32Array([-3, -3])))).toEqual([-3, 3 + 1e-5]);
    expect(Array.from(computeScaling(new Float64Array([0, -0, 0])))).toEqual([0, 1e-5]);
    const [loc, scale] = computeScaling(new Float64Array([60000.123456, 60100.123456]));
    expect(loc).toBeCloseTo(60050.123456, 9);
    expect(scale).toBeCloseTo(50, 9);
  });

  it.each([
    [[1e-200, 2e-200, 3e-200]],
    [[0, 1e-310, 0, 1e-310]],
  ])('scale of the non-constant tiny row %j is its std, not |loc| + 1e-5 (underflow)', (values) => {
    const [, scale = NaN] = computeScaling(new Float64Array(values));
    const [, refScale] = computeScalingRef(values);
    expect(Math.abs(scale - refScale), `scale ${scale} vs reference ${refScale}`).toBeLessThanOrEqual(1e-9 * refScale);
  });
});

describe('applyScaling / invertScaling', () => {
  const transforms = [
    ['applyScaling', applyScaling, applyScalingRef],
    ['invertScaling', invertScaling, invertScalingRef],
  ] as const;

  for (const [name, fn, ref] of transforms) {
    it(`${name} is exactly the reference (double arithmetic, one rounding), separate unaligned dst`, () => {
      fc.assert(
        fc.property(anySeriesArb(), locScaleArb, fc.integer({ min: 0, max: 7 }), (c, pick, dstOffset) => {
          const ls = locScaleFor(c, pick);
          const want = ref(c.values, ls[0]!, ls[1]!, c.dtype);
          const srcBytes = bytesOf(c.data);
          const srcOutside = outsideBytes(c.data);
          for (const path of HAS_AVX2 ? [true, false] : [false]) {
            const dst = place(new Array<number>(c.values.length).fill(-1), c.dtype, { offset: dstOffset, tail: 2 });
            const dstOutside = outsideBytes(dst);
            const got = withSimd(path, () => fn(c.data, ls, dst));
            expect(got).toBe(dst);
            expectSameElements(dst, want, `${name} ${c.dtype} simd=${path} loc=${ls[0]} scale=${ls[1]} ${describeValues(c.values)}`);
            expectSameBytes(outsideBytes(dst), dstOutside, 'bytes around dst');
          }
          expectSameBytes(bytesOf(c.data), srcBytes, 'src must be left alone');
          expectSameBytes(outsideBytes(c.data), srcOutside, 'bytes around src');
        }),
        { numRuns: 400 },
      );
    });

    it(`${name}: in place equals a separate buffer, and scalar equals SIMD, byte for byte`, () => {
      fc.assert(
        fc.property(anySeriesArb(lengthArb(3000)), locScaleArb, (c, pick) => {
          const ls = locScaleFor(c, pick);
          const run = (): { inPlace: FloatArray; separate: FloatArray } => {
            const inPlace = copyAt(c.data, c.dtype, 3);
            const outside = outsideBytes(inPlace);
            expect(fn(inPlace, ls)).toBe(inPlace);
            expectSameBytes(outsideBytes(inPlace), outside, 'bytes around the in-place view');
            const separate = new (ctorOf(c.dtype))(c.values.length);
            fn(c.data, ls, separate);
            return { inPlace, separate };
          };
          const { simd, scalar } = bothPaths(run);
          expectSameBytes(simd.inPlace, simd.separate, `${name} in place vs separate (simd)`);
          expectSameBytes(scalar.inPlace, scalar.separate, `${name} in place vs separate (scalar)`);
          expectSameBytes(simd.separate, scalar.separate, `${name} simd vs scalar`);
        }),
        { numRuns: 250 },
      );
    });

    it(`${name}: a batch uses each row's own [loc, scale]`, () => {
      fc.assert(
        fc.property(anyBatchArb(), fc.array(fc.double({ min: 1e-3, max: 1e4, noNaN: true }), { minLength: 12, maxLength: 12 }), (b, params) => {
          const ls = new Float64Array(b.rows * 2);
          for (let r = 0; r < b.rows; r++) {
            ls[2 * r] = params[2 * r]! - 5000;
            ls[2 * r + 1] = params[2 * r + 1]!;
          }
          const dst = new (ctorOf(b.dtype))(b.data.length);
          fn(b.data, ls, dst, b.rows);
          for (let r = 0; r < b.rows; r++) {
            const want = ref(b.rowValues[r]!, ls[2 * r]!, ls[2 * r + 1]!, b.dtype);
            expectSameElements(dst.subarray(r * b.cols, (r + 1) * b.cols), want, `${name} row ${r}`);
          }
        }),
        { numRuns: 150 },
      );
    });
  }

  it('invert(apply(x)) gives x back to within rounding', () => {
    fc.assert(
      fc.property(anySeriesArb(), (c) => {
        const ls = computeScaling(c.data);
        const [loc, scale] = [ls[0]!, ls[1]!];
        const scaled = applyScaling(c.data, ls, new (ctorOf(c.dtype))(c.values.length));
        const back = invertScaling(scaled, ls, new (ctorOf(c.dtype))(c.values.length));
        const eps = c.dtype === 'f32' ? 2 ** -24 : 2 ** -53;
        const tiny = c.dtype === 'f32' ? 2 ** -149 : 2 ** -1074;
        for (let i = 0; i < c.values.length; i++) {
          const x = c.values[i]!;
          if (!Number.isFinite(x)) {
            expect(Object.is(back[i], x), `non-finite ${x} came back as ${back[i]}`).toBe(true);
            continue;
          }
          if (!Number.isFinite(scaled[i]!) || !Number.isFinite(back[i]!)) continue; // overflow of a huge value
          const tol = 4 * eps * (Math.abs(x) + Math.abs(loc) + Math.abs(x - loc)) + 4 * tiny * Math.max(1, scale);
          expect(Math.abs(back[i]! - x), `${c.dtype} x=${x} back=${back[i]} loc=${loc} scale=${scale}`).toBeLessThanOrEqual(tol);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('scaled data has mean ~0 and std ~1', () => {
    fc.assert(
      fc.property(seriesArb('f64', fc.integer({ min: 2, max: 3000 })), (c) => {
        const ref = scanRef(c.values);
        if (ref.finiteCount < 2 || ref.std === 0) return;
        if (ref.max > 1e300 || ref.min < -1e300) return; // (x - loc) may overflow
        // Deep in the subnormal range loc and scale are quantized to a few bits (the mean of
        // -7 and 0 units of 2^-1074 is not representable): "std 1" is out of reach there.
        if (ref.std < 1e-290) return;
        const scaled = applyScaling(c.data, computeScaling(c.data), new Float64Array(c.values.length));
        const s = scanRef(scaled);
        // loc and scale carry the scan's error (tolerance ~1e-9 relative to |mean| + std)
        const tol = 1e-8 * (1 + Math.abs(ref.mean) / ref.std);
        expect(Math.abs(s.mean), describeValues(c.values)).toBeLessThan(tol);
        expect(Math.abs(s.std - 1), describeValues(c.values)).toBeLessThan(tol);
      }),
      { numRuns: 200 },
    );
  });

  it('examples', () => {
    const ls = new Float64Array([60000, 50]);
    expect(Array.from(applyScaling(new Float64Array([60050, NaN, -Infinity, 59950]), ls))).toEqual([1, NaN, -Infinity, -1]);
    expect(Array.from(invertScaling(new Float32Array([1, -1, Infinity]), ls))).toEqual([60050, 59950, Infinity]);
    // 3e38 - (-3e38) overflows float32 but not double: the arithmetic is double, rounded once at the end.
    expect(Array.from(applyScaling(new Float32Array([3e38]), new Float64Array([-3e38, 4])))).toEqual([
      Math.fround((Math.fround(3e38) + 3e38) / 4),
    ]);
  });
});

describe('impute', () => {
  /** True when some interior gap lies between finite a and b with b - a overflowing double. */
  function gapOverflows(values: readonly number[]): boolean {
    let last: number | undefined;
    let gap = false;
    for (const v of values) {
      if (!Number.isFinite(v)) {
        gap = last !== undefined;
        continue;
      }
      if (gap && !Number.isFinite(v - last!)) return true;
      gap = false;
      last = v;
    }
    return false;
  }

  /**
   * Same series with huge values tamed so no interior gap spans more than the double range (that
   * case has its own tests below).
   */
  function tame(c: SeriesCase): SeriesCase {
    const values = c.values.map((v) => (Number.isFinite(v) && Math.abs(v) > 8e307 ? v / 4 : v));
    const data = place(values, c.dtype, c.placement);
    varyNaNs(data);
    return { ...c, values, data };
  }

  for (const method of ['ffill', 'linear'] as const) {
    it(`${method}: exactly the reference into a separate unaligned dst; src untouched`, () => {
      fc.assert(
        fc.property(anySeriesArb().map((c) => (method === 'linear' ? tame(c) : c)), fc.integer({ min: 0, max: 7 }), (c, dstOffset) => {
          if (method === 'linear') expect(gapOverflows(c.values)).toBe(false);
          const want = imputeRef(c.values, method, c.dtype);
          const srcBytes = bytesOf(c.data);
          const dst = place(new Array<number>(c.values.length).fill(-1), c.dtype, { offset: dstOffset, tail: 2 });
          const around = outsideBytes(dst);
          const r = impute(c.data, method, dst);
          const ctx = `${method} ${c.dtype} ${describeValues(c.values)}`;
          expect(r, ctx).toEqual({ filled: want.filled, emptyRows: want.empty ? 1 : 0 });
          if (want.empty) {
            // the row is left as it was: a separate dst gets a copy
            expectSameBytes(dst, c.data, `empty row copied: ${ctx}`);
          } else {
            expectSameElements(dst, want.out, ctx);
            for (let i = 0; i < dst.length; i++) expect(Number.isFinite(dst[i]!), `finite output at ${i}: ${ctx}`).toBe(true);
          }
          expectSameBytes(bytesOf(c.data), srcBytes, 'src must be left alone');
          expectSameBytes(outsideBytes(dst), around, 'bytes around dst');
        }),
        { numRuns: 400 },
      );
    });

    it(`${method}: in place gives the same bytes as a separate buffer`, () => {
      fc.assert(
        fc.property(anySeriesArb(lengthArb(2000)).map((c) => (method === 'linear' ? tame(c) : c)), (c) => {
          const inPlace = copyAt(c.data, c.dtype, 5);
          const around = outsideBytes(inPlace);
          const separate = new (ctorOf(c.dtype))(c.values.length);
          const a = impute(inPlace, method);
          const b = impute(c.data, method, separate);
          expect(a).toEqual(b);
          expectSameBytes(inPlace, separate, `${method} in place vs separate`);
          expectSameBytes(outsideBytes(inPlace), around, 'bytes around the in-place view');
        }),
        { numRuns: 250 },
      );
    });

    it(`${method}: batches with ragged NaN left padding and all-NaN rows`, () => {
      fc.assert(
        fc.property(anyBatchArb(), (b) => {
          const original = bytesOf(b.data);
          const res = impute(b.data, method, b.data, b.rows);
          let filled = 0;
          let emptyRows = 0;
          for (let r = 0; r < b.rows; r++) {
            const values = b.rowValues[r]!;
            const want = imputeRef(values, method, b.dtype);
            filled += want.filled;
            emptyRows += want.empty ? 1 : 0;
            const row = b.data.subarray(r * b.cols, (r + 1) * b.cols);
            if (want.empty) {
              const bpe = b.data.BYTES_PER_ELEMENT;
              expectSameBytes(row, original.subarray(r * b.cols * bpe, (r + 1) * b.cols * bpe), `empty row ${r} unchanged, bit for bit`);
            } else if (method === 'ffill' || !gapOverflows(values)) {
              expectSameElements(row, want.out, `${method} ${b.dtype} row ${r}`);
            }
          }
          expect(res).toEqual({ filled, emptyRows });
        }),
        { numRuns: 200 },
      );
    });
  }

  it('linear interpolation never writes a non-finite value into a gap (f64, full range)', () => {
    fc.assert(
      fc.property(fc.oneof(directSeriesArb('f64', 12), seriesArb('f64')), (c) => {
        const dst = new Float64Array(c.values.length);
        const r = impute(c.data, 'linear', dst);
        if (r.emptyRows) return;
        for (let i = 0; i < dst.length; i++) {
          if (!Number.isFinite(dst[i]!)) expect.fail(`non-finite ${dst[i]} at ${i} imputing ${describeValues(c.values)}`);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('linear between -1e308 and 1e308 stays finite (b - a overflows double)', () => {
    const data = new Float64Array([-1e308, NaN, 1e308]);
    impute(data, 'linear');
    expect(data[1], `imputed ${data[1]}`).toBe(0);
    const data2 = new Float64Array([-Number.MAX_VALUE, NaN, NaN, NaN, Number.MAX_VALUE]);
    impute(data2, 'linear');
    expect(Array.from(data2).every(Number.isFinite), `imputed ${Array.from(data2)}`).toBe(true);
  });

  it('examples: leading / trailing gaps, Inf as missing, all-NaN rows', () => {
    const a = new Float64Array([NaN, Infinity, 1, NaN, NaN, 4, -Infinity]);
    expect(impute(a, 'linear')).toEqual({ filled: 5, emptyRows: 0 });
    expect(Array.from(a)).toEqual([1, 1, 1, 2, 3, 4, 4]);
    const b = new Float32Array([NaN, 2, NaN, NaN, 5, NaN]);
    expect(impute(b, 'ffill')).toEqual({ filled: 4, emptyRows: 0 });
    expect(Array.from(b)).toEqual([2, 2, 2, 2, 5, 5]);
    const c = new Float32Array([NaN, NaN, Infinity, 1, 2, 3, NaN, -Infinity, NaN]);
    expect(impute(c, 'ffill', c, 3)).toEqual({ filled: 0, emptyRows: 2 });
    expect(Array.from(c)).toEqual([NaN, NaN, Infinity, 1, 2, 3, NaN, -Infinity, NaN]);
    const d = new Float64Array(0);
    expect(impute(d, 'linear')).toEqual({ filled: 0, emptyRows: 0 });
    const e = new Float32Array([1, NaN, 2]);
    impute(e, 'linear');
    expect(Array.from(e)).toEqual([1, 1.5, 2]);
  });
});

describe('convertF64ToF32', () => {
  it('output is Math.fround of each value; the report is exact', () => {
    fc.assert(
      fc.property(seriesArb('f64'), fc.integer({ min: 0, max: 7 }), (c, dstOffset) => {
        const want = convertRef(c.values);
        const dst = place(new Array<number>(c.values.length).fill(-1), 'f32', { offset: dstOffset, tail: 2 }) as Float32Array<ArrayBuffer>;
        const around = outsideBytes(dst);
        const srcBytes = bytesOf(c.data);
        for (const path of HAS_AVX2 ? [true, false] : [false]) {
          const { output, reports } = withSimd(path, () => convertF64ToF32(c.data as Float64Array, 1, dst));
          const ctx = `simd=${path} ${describeValues(c.values)}`;
          expect(output).toBe(dst);
          expectSameElements(output, want.output, ctx); // Object.is: every non-NaN bit pattern exactly
          const [rep] = reports;
          expect(Object.is(rep!.maxAbsError, want.maxAbsError), `maxAbsError ${rep!.maxAbsError} vs ${want.maxAbsError}: ${ctx}`).toBe(true);
          expect(rep!.overflowCount, ctx).toBe(want.overflowCount);
          const [, scale] = withSimd(path, () => computeScaling(c.data));
          expect(Object.is(rep!.scale, scale), `scale ${rep!.scale} vs computeScaling ${scale}`).toBe(true);
          expect(Object.is(rep!.maxRelError, rep!.maxAbsError / rep!.scale), ctx).toBe(true);
          if (scanRef(c.values).finiteCount === 0) {
            expect(rep!.scale).toBe(1);
          } else {
            const refScale = computeScalingRef(c.values)[1];
            const ref = scanRef(c.values);
            expect(Math.abs(rep!.scale - refScale), `scale vs reference: ${ctx}`).toBeLessThanOrEqual(stdTolerance(ref) + meanTolerance(ref));
          }
        }
        expectSameBytes(outsideBytes(dst), around, 'bytes around dst');
        expectSameBytes(bytesOf(c.data), srcBytes, 'src must be left alone');
      }),
      { numRuns: 400 },
    );
  });

  it.skipIf(!HAS_AVX2)('scalar and SIMD agree byte for byte (output and reports), batches and long rows', () => {
    fc.assert(
      fc.property(fc.oneof(batchArb('f64'), seriesArb('f64', fc.integer({ min: 0, max: 5000 })).map((c) => ({ rows: 1, data: c.data }))), (b) => {
        const { simd, scalar } = bothPaths(() => {
          const { output, reports } = convertF64ToF32(b.data as Float64Array, b.rows);
          return { output, reports: Float64Array.from(reports.flatMap((r) => [r.maxAbsError, r.scale, r.maxRelError, r.overflowCount])) };
        });
        expectSameBytes(simd.output, scalar.output, 'output');
        expectSameBytes(simd.reports, scalar.reports, 'reports');
      }),
      { numRuns: 200 },
    );
  });

  it('a batch reports each row on its own', () => {
    fc.assert(
      fc.property(batchArb('f64'), (b) => {
        const { output, reports } = convertF64ToF32(b.data as Float64Array, b.rows);
        expect(reports).toHaveLength(b.rows);
        for (let r = 0; r < b.rows; r++) {
          const alone = convertF64ToF32((b.data as Float64Array).subarray(r * b.cols, (r + 1) * b.cols));
          expect(reports[r]).toEqual(alone.reports[0]);
          expectSameBytes(output.subarray(r * b.cols, (r + 1) * b.cols), alone.output, `row ${r}`);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('overflow: 1e39 and MAX_VALUE become Infinity and are counted, not measured', () => {
    const src = new Float64Array([1e39, -1e39, 1, NaN, Infinity, Number.MAX_VALUE, 3.4028235e38, 0.1]);
    const { output, reports } = convertF64ToF32(src);
    expect(Array.from(output)).toEqual([Infinity, -Infinity, 1, NaN, Infinity, Infinity, Math.fround(3.4028235e38), Math.fround(0.1)]);
    expect(reports[0]!.overflowCount).toBe(3);
    expect(reports[0]!.maxAbsError).toBe(Math.max(Math.abs(Math.fround(3.4028235e38) - 3.4028235e38), Math.abs(Math.fround(0.1) - 0.1)));
  });

  it('precision trap: Bitcoin-like prices (60000.123456, std ~50) lose far less than 1e-3 of their scale', () => {
    const rnd = (i: number): number => {
      const s = Math.sin(i * 78.233) * 43758.5453;
      return s - Math.floor(s);
    };
    for (const n of [2, 64, 512, 5000]) {
      const src = Float64Array.from({ length: n }, (_, i) => 60000.123456 + (rnd(i) - 0.5) * 173);
      const { reports } = convertF64ToF32(src);
      const r = reports[0]!;
      expect(r.overflowCount).toBe(0);
      expect(r.scale).toBeGreaterThan(10);
      expect(r.scale).toBeLessThan(100);
      expect(r.maxAbsError).toBeLessThanOrEqual(2 ** -8); // half an ulp of float32 at 60000
      expect(r.maxAbsError).toBeGreaterThan(0);
      expect(r.maxRelError).toBeLessThan(1e-4);
      expect(r.maxRelError).toBe(r.maxAbsError / r.scale);
    }
  });

  it('a flat row measures against |loc| + 1e-5, an empty row against 1', () => {
    const flat = convertF64ToF32(new Float64Array([0.1, 0.1, NaN])).reports[0]!;
    expect(flat.scale).toBe(0.1 + 1e-5);
    expect(flat.maxAbsError).toBe(Math.abs(Math.fround(0.1) - 0.1));
    const empty = convertF64ToF32(new Float64Array([NaN, -Infinity])).reports[0]!;
    expect(empty).toEqual({ maxAbsError: 0, scale: 1, maxRelError: 0, overflowCount: 0 });
  });
});

describe('sweep: every boundary length x element offsets 0..7 x f32 / f64', () => {
  it('scaling, inverse, conversion and imputation match their references on both paths', () => {
    for (const length of BOUNDARY_LENGTHS) {
      for (let offset = 0; offset < 8; offset++) {
        for (const dtype of ['f32', 'f64'] as const) {
          const c = fixedSeries(dtype, length, 1000 * length + 10 * offset + (dtype === 'f32' ? 1 : 2), offset);
          const ctx = `${dtype} length ${length} offset ${offset}`;
          const ls = new Float64Array([60000.5, 49.75]);
          const wantApply = applyScalingRef(c.values, 60000.5, 49.75, dtype);
          const wantInvert = invertScalingRef(c.values, 60000.5, 49.75, dtype);
          const { simd, scalar } = bothPaths(() => {
            const Ctor = ctorOf(dtype);
            const a = applyScaling(c.data, ls, new Ctor(length));
            const inv = invertScaling(c.data, ls, new Ctor(length));
            const conv = dtype === 'f64' ? convertF64ToF32(c.data as Float64Array) : null;
            return { a, inv, conv, scaling: computeScaling(c.data) };
          });
          for (const [path, r] of [['simd', simd], ['scalar', scalar]] as const) {
            expectSameElements(r.a, wantApply, `applyScaling ${path} ${ctx}`);
            expectSameElements(r.inv, wantInvert, `invertScaling ${path} ${ctx}`);
            if (r.conv) {
              const want = convertRef(c.values);
              expectSameElements(r.conv.output, want.output, `convert ${path} ${ctx}`);
              expect(r.conv.reports[0]!.maxAbsError, `convert ${path} ${ctx}`).toBe(want.maxAbsError);
              expect(r.conv.reports[0]!.overflowCount, `convert ${path} ${ctx}`).toBe(want.overflowCount);
            }
          }
          expectSameBytes(simd.scaling, scalar.scaling, `computeScaling simd vs scalar ${ctx}`);
          for (const method of ['ffill', 'linear'] as const) {
            const values = method === 'linear' ? c.values.map((v) => (Math.abs(v) > 8e307 && Number.isFinite(v) ? v / 4 : v)) : c.values;
            const data = place(values, dtype, { offset, tail: 1 });
            const want = imputeRef(Array.from(data), method, dtype);
            const r = impute(data, method);
            expect(r, `${method} ${ctx}`).toEqual({ filled: want.filled, emptyRows: want.empty ? 1 : 0 });
            expectSameElements(data, want.out, `${method} ${ctx}`);
          }
        }
      }
    }
  });
});
