import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { readScan, scan, scanBatch, scanBuffer, scanInto, SCAN_STRIDE, type ScanStats } from '../lib/index';
import {
  anyBatchArb,
  anySeriesArb,
  BOUNDARY_LENGTHS,
  boundsArb,
  bytesOf,
  copyTo,
  fixedSeries,
  lengthArb,
  outsideBytes,
  place,
  placementArb,
  seriesArb,
  type FloatArray,
} from './arbitraries';
import {
  bothPaths,
  describeValues,
  expectScanMatchesRef,
  expectSameBytes,
  HAS_AVX2,
  meanTolerance,
  stdTolerance,
  withSimd,
} from './helpers';
import { scanRef } from './reference';

const SCAN_FIELDS: (keyof ScanStats)[] = [
  'count', 'nanCount', 'posInfCount', 'negInfCount', 'outOfBoundsCount', 'finiteCount', 'min', 'max',
  'mean', 'std', 'longestNaNRun', 'firstNonFinite', 'alternatingRun', 'longestFlatRun',
];

/** The raw result row(s), all SCAN_STRIDE doubles, on the current path. */
function rawScan(data: FloatArray, rows = 1, lo = -Infinity, hi = Infinity): Float64Array {
  const out = scanBuffer(rows).fill(-12345); // the kernel must overwrite every double, padding included
  scanInto(data, out, rows, lo, hi);
  return out;
}

function expectIdentical(a: Float64Array, b: Float64Array, context: string): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i])) {
      const field = SCAN_FIELDS[i % SCAN_STRIDE] ?? `padding ${i % SCAN_STRIDE}`;
      expect.fail(`${context}: row ${Math.floor(i / SCAN_STRIDE)} field ${field}: ${a[i]} vs ${b[i]}`);
    }
  }
}

describe('scan vs reference', () => {
  it('matches scanRef on edge-case-rich f32 and f64 series, with random bounds', () => {
    fc.assert(
      fc.property(anySeriesArb(), boundsArb, (c, { lo, hi }) => {
        const before = outsideBytes(c.data);
        const dataBytes = bytesOf(c.data);
        const ref = scanRef(c.values, lo, hi);
        for (const path of [true, false]) {
          if (path && !HAS_AVX2) continue;
          const got = withSimd(path, () => scan(c.data, { lo, hi }));
          expectScanMatchesRef(got, ref, `${c.dtype} ${describeValues(c.values)} lo=${lo} hi=${hi} simd=${path}`);
        }
        expectSameBytes(bytesOf(c.data), dataBytes, 'scan must not write its input');
        expectSameBytes(outsideBytes(c.data), before, 'bytes around the view');
      }),
      { numRuns: 400 },
    );
  });

  it('counts out-of-bounds values exactly against bounds not representable in float32', () => {
    // Float32 values right next to non-representable bounds, long enough for the vector path.
    const boundArb = fc.constantFrom(0.1, -0.1, 0.2, 1 / 3, 60000.1, 59999.99, 1e-41, 1e-50, -1e-50, 3.4e38, 3.5e38, 1e39, -1e39, 16777217);
    fc.assert(
      fc.property(
        boundArb,
        boundArb,
        fc.array(fc.integer({ min: -3, max: 3 }), { minLength: 1, maxLength: 200 }),
        lengthArb(300, [64, 65, 127, 128, 129, 1024, 1025]),
        placementArb,
        (a, b, steps, n, placement) => {
          const lo = Math.min(a, b);
          const hi = Math.max(a, b);
          // values: floats adjacent to lo or hi (-3..+3 ulps), plus some NaN / Inf
          const values: number[] = [];
          const f32 = new Float32Array(1);
          const u32 = new Uint32Array(f32.buffer);
          for (let i = 0; i < n; i++) {
            const s = steps[i % steps.length]!;
            if (i % 17 === 5) {
              values.push(i % 2 ? NaN : -Infinity);
              continue;
            }
            f32[0] = i % 2 ? lo : hi;
            if (Number.isFinite(f32[0]) && f32[0] !== 0) u32[0] = u32[0]! + s;
            values.push(f32[0]!);
          }
          for (const dtype of ['f32', 'f64'] as const) {
            const data = place(values, dtype, placement);
            const want = scanRef(Array.from(data), lo, hi).outOfBoundsCount;
            const { simd, scalar } = bothPaths(() => scan(data, { lo, hi }).outOfBoundsCount);
            expect(simd, `simd ${dtype} lo=${lo} hi=${hi}`).toBe(want);
            expect(scalar, `scalar ${dtype} lo=${lo} hi=${hi}`).toBe(want);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('matches scanRef on long price series (5000 values) with gaps', () => {
    fc.assert(
      fc.property(seriesArb('f64', fc.integer({ min: 4000, max: 6000 })), seriesArb('f32', fc.constant(5000)), (a, b) => {
        for (const c of [a, b]) {
          const ref = scanRef(c.values);
          const { simd, scalar } = bothPaths(() => scan(c.data));
          expectScanMatchesRef(simd, ref, `${c.dtype} long series (simd)`);
          expectScanMatchesRef(scalar, ref, `${c.dtype} long series (scalar)`);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('writes exactly SCAN_STRIDE doubles per row (padding zeroed) and nothing beyond', () => {
    fc.assert(
      fc.property(anyBatchArb(), fc.integer({ min: 1, max: 4 }), (b, extra) => {
        const out = new Float64Array(b.rows * SCAN_STRIDE + extra).fill(-7.5);
        scanInto(b.data, out, b.rows);
        for (let r = 0; r < b.rows; r++) {
          for (let f = SCAN_FIELDS.length; f < SCAN_STRIDE; f++) expect(out[r * SCAN_STRIDE + f]).toBe(0);
        }
        for (let i = b.rows * SCAN_STRIDE; i < out.length; i++) expect(out[i]).toBe(-7.5);
      }),
      { numRuns: 100 },
    );
  });
});

describe('scan: scalar and SIMD paths are bit-identical', () => {
  it.skipIf(!HAS_AVX2)('gives Object.is-identical results on every field (short and boundary lengths)', () => {
    fc.assert(
      fc.property(anySeriesArb(), boundsArb, (c, { lo, hi }) => {
        const { simd, scalar } = bothPaths(() => rawScan(c.data, 1, lo, hi));
        expectIdentical(simd, scalar, `${c.dtype} ${describeValues(c.values)} lo=${lo} hi=${hi}`);
      }),
      { numRuns: 500 },
    );
  });

  it.skipIf(!HAS_AVX2)('gives Object.is-identical results on long series (up to ~6000 values)', () => {
    fc.assert(
      fc.property(anySeriesArb(fc.integer({ min: 1000, max: 6000 })), boundsArb, (c, { lo, hi }) => {
        const { simd, scalar } = bothPaths(() => rawScan(c.data, 1, lo, hi));
        expectIdentical(simd, scalar, `${c.dtype} length ${c.values.length} lo=${lo} hi=${hi}`);
      }),
      { numRuns: 80 },
    );
  });

  it.skipIf(!HAS_AVX2)('gives identical batches', () => {
    fc.assert(
      fc.property(anyBatchArb(), boundsArb, (b, { lo, hi }) => {
        const { simd, scalar } = bothPaths(() => rawScan(b.data, b.rows, lo, hi));
        expectIdentical(simd, scalar, `${b.dtype} batch ${b.rows}x${b.cols}`);
      }),
      { numRuns: 200 },
    );
  });

  it('does not depend on the alignment of the data', () => {
    fc.assert(
      fc.property(anySeriesArb(), placementArb, (c, p) => {
        const moved = copyTo(c.data, c.dtype, p);
        for (const path of HAS_AVX2 ? [true, false] : [false]) {
          const a = withSimd(path, () => rawScan(c.data));
          const b = withSimd(path, () => rawScan(moved));
          expectIdentical(a, b, `${c.dtype} offset ${c.placement.offset} vs ${p.offset} simd=${path}`);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe('scanBatch', () => {
  it('gives each row what scan gives it alone, and matches the reference', () => {
    fc.assert(
      fc.property(anyBatchArb(), boundsArb, (b, { lo, hi }) => {
        const rows = scanBatch(b.data, b.rows, { lo, hi });
        expect(rows).toHaveLength(b.rows);
        for (let r = 0; r < b.rows; r++) {
          const alone = scan(b.data.subarray(r * b.cols, (r + 1) * b.cols), { lo, hi });
          for (const f of SCAN_FIELDS) {
            expect(Object.is(rows[r]![f], alone[f]), `row ${r} field ${f}: ${rows[r]![f]} vs ${alone[f]}`).toBe(true);
          }
          expectScanMatchesRef(rows[r]!, scanRef(b.rowValues[r]!, lo, hi), `${b.dtype} row ${r} of ${b.rows}x${b.cols}`);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('handles zero-length rows', () => {
    const rows = scanBatch(new Float32Array(0), 3);
    expect(rows).toHaveLength(3);
    for (const r of rows) {
      expect(r.count).toBe(0);
      expect(r.finiteCount).toBe(0);
      expect(r.firstNonFinite).toBe(-1);
      expect(r.mean).toBeNaN();
    }
  });

  it('readScan reads rows at their offsets', () => {
    const data = new Float64Array([1, 2, 3, NaN, NaN, NaN]);
    const out = scanBuffer(2);
    scanInto(data, out, 2);
    expect(readScan(out, 0).mean).toBe(2);
    expect(readScan(out, 1).nanCount).toBe(3);
    expect(readScan(out, 1).longestNaNRun).toBe(3);
  });
});

describe('scan: explicit examples', () => {
  const both = (values: number[]): [string, FloatArray][] => [
    ['f32', new Float32Array(values)],
    ['f64', new Float64Array(values)],
  ];

  function onBothPaths(data: FloatArray, options = {}): ScanStats {
    const { simd, scalar } = bothPaths(() => scan(data, options));
    for (const f of SCAN_FIELDS) expect(Object.is(simd[f], scalar[f]), `field ${f}`).toBe(true);
    return simd;
  }

  it('empty array', () => {
    for (const [, data] of both([])) {
      const s = onBothPaths(data);
      expect(s.count).toBe(0);
      expect(s.nanCount).toBe(0);
      expect(s.finiteCount).toBe(0);
      expect(s.min).toBeNaN();
      expect(s.max).toBeNaN();
      expect(s.mean).toBeNaN();
      expect(s.std).toBeNaN();
      expect(s.longestNaNRun).toBe(0);
      expect(s.firstNonFinite).toBe(-1);
      expect(s.alternatingRun).toBe(0);
      expect(s.longestFlatRun).toBe(0);
    }
  });

  it('[NaN]', () => {
    for (const [, data] of both([NaN])) {
      const s = onBothPaths(data);
      expect(s).toMatchObject({ count: 1, nanCount: 1, finiteCount: 0, longestNaNRun: 1, firstNonFinite: 0, alternatingRun: 0, longestFlatRun: 0 });
      expect(s.mean).toBeNaN();
      expect(s.std).toBeNaN();
      expect(s.min).toBeNaN();
    }
  });

  it('[Infinity]', () => {
    for (const [, data] of both([Infinity])) {
      const s = onBothPaths(data);
      expect(s).toMatchObject({ count: 1, nanCount: 0, posInfCount: 1, negInfCount: 0, finiteCount: 0, firstNonFinite: 0, longestFlatRun: 1 });
      expect(s.mean).toBeNaN();
      expect(s.max).toBeNaN();
    }
  });

  it('[-0, 0] is flat with mean 0 and std 0', () => {
    for (const [, data] of both([-0, 0])) {
      const s = onBothPaths(data);
      expect(s.min === 0 && s.max === 0).toBe(true);
      expect(s.mean === 0).toBe(true);
      expect(s.std).toBe(0);
      expect(s.longestFlatRun).toBe(2);
      expect(s.firstNonFinite).toBe(-1);
    }
  });

  it('[1e308, -1e308, 1e308]: moments stay finite and accurate', () => {
    const data = new Float64Array([1e308, -1e308, 1e308]);
    const ref = scanRef(data);
    const s = onBothPaths(data);
    expect(Number.isFinite(s.mean)).toBe(true);
    expect(Number.isFinite(s.std)).toBe(true);
    expect(Math.abs(s.mean - 1e308 / 3)).toBeLessThanOrEqual(meanTolerance(ref));
    expect(Math.abs(s.std - Math.sqrt(8 / 9) * 1e308)).toBeLessThanOrEqual(stdTolerance(ref));
    expect(s.min).toBe(-1e308);
    expect(s.max).toBe(1e308);
  });

  it('[MAX_VALUE, -MAX_VALUE] and long huge rows stay finite (on both paths)', () => {
    const rows = [
      [Number.MAX_VALUE, -Number.MAX_VALUE],
      Array.from({ length: 3001 }, (_, i) => (i % 3 === 0 ? -1e308 : i % 3 === 1 ? 1.5e308 : NaN)),
    ];
    for (const values of rows) {
      const data = new Float64Array(values);
      const ref = scanRef(data);
      const s = onBothPaths(data);
      expectScanMatchesRef(s, ref, describeValues(values));
    }
  });

  it('f32 extremes: +-3.4e38 do not overflow the moments', () => {
    const data = new Float32Array(Array.from({ length: 130 }, (_, i) => (i % 2 ? 3.4e38 : -3.4e38)));
    const s = onBothPaths(data);
    expectScanMatchesRef(s, scanRef(data), 'f32 +-3.4e38');
    expect(Math.abs(s.std - Math.fround(3.4e38))).toBeLessThanOrEqual(1e-9 * 3.4e38);
  });

  it('all-NaN rows, short and long', () => {
    for (const n of [1, 7, 64, 65, 1030]) {
      for (const [, data] of both(new Array<number>(n).fill(NaN))) {
        const s = onBothPaths(data);
        expect(s).toMatchObject({ count: n, nanCount: n, finiteCount: 0, longestNaNRun: n, firstNonFinite: 0, longestFlatRun: 0 });
        expect(s.alternatingRun).toBe(0);
        expect(s.mean).toBeNaN();
      }
    }
  });

  it('[1, NaN, 2, NaN, 3] has an alternating run of 5', () => {
    for (const [, data] of both([1, NaN, 2, NaN, 3])) {
      const s = onBothPaths(data);
      expect(s.alternatingRun).toBe(5);
      expect(s.longestNaNRun).toBe(1);
      expect(s.firstNonFinite).toBe(1);
      expect(s.longestFlatRun).toBe(1);
      expect(s.mean).toBe(2);
    }
  });

  it('alternating runs crossing the 64-element word boundary', () => {
    // 60 plain values, then 10 alternating (5 NaN), then plain again
    const values = Array.from({ length: 200 }, (_, i) => (i >= 60 && i < 70 && i % 2 === 1 ? NaN : i));
    for (const [, data] of both(values)) {
      expect(onBothPaths(data).alternatingRun).toBe(11); // elements 60 .. 70
    }
    const nanRun = Array.from({ length: 300 }, (_, i) => (i >= 50 && i < 250 ? NaN : 1));
    for (const [, data] of both(nanRun)) {
      const s = onBothPaths(data);
      expect(s.longestNaNRun).toBe(200);
      expect(s.alternatingRun).toBe(2);
      expect(s.longestFlatRun).toBe(50);
    }
  });

  it('flat runs: Infinity repeats count, NaN breaks a run', () => {
    for (const [, data] of both([Infinity, Infinity, Infinity, NaN, 2, 2])) {
      const s = onBothPaths(data);
      expect(s.longestFlatRun).toBe(3);
      expect(s.posInfCount).toBe(3);
      expect(s.alternatingRun).toBe(3);
    }
  });

  it('bounds: exact out-of-bounds counting with lo = 0.1 on float32 data', () => {
    const values = new Array<number>(100).fill(0.1);
    values[3] = 0.09;
    values[80] = NaN;
    values[81] = -Infinity;
    const f32 = new Float32Array(values); // fround(0.1) > 0.1
    expect(onBothPaths(f32, { lo: 0.1 }).outOfBoundsCount).toBe(1);
    expect(onBothPaths(f32, { hi: 0.1 }).outOfBoundsCount).toBe(97);
    const f64 = new Float64Array(values);
    expect(onBothPaths(f64, { lo: 0.1, hi: 0.1 }).outOfBoundsCount).toBe(1);
    expect(onBothPaths(f64, { lo: Infinity, hi: Infinity }).outOfBoundsCount).toBe(98);
    expect(onBothPaths(f64, { lo: -Infinity, hi: -Infinity }).outOfBoundsCount).toBe(98);
  });

  it('the first non-finite value is found at any position, also past 64 elements', () => {
    for (const n of [1, 63, 64, 65, 200, 1100]) {
      for (let pos = 0; pos < n; pos += Math.max(1, Math.floor(n / 13))) {
        const values = new Array<number>(n).fill(5);
        values[pos] = pos % 2 ? -Infinity : NaN;
        for (const [, data] of both(values)) expect(onBothPaths(data).firstNonFinite).toBe(pos);
      }
    }
  });

  it('a 5000-value Bitcoin-like series: mean and std to ~1e-12', () => {
    const rnd = (i: number): number => Math.sin(i * 12.9898) * 43758.5453 - Math.floor(Math.sin(i * 12.9898) * 43758.5453);
    const values = Array.from({ length: 5000 }, (_, i) => 60000.123456 + 50 * (rnd(i) - 0.5) * 3.4);
    const data = new Float64Array(values);
    const ref = scanRef(data);
    const s = onBothPaths(data);
    expect(Math.abs(s.mean - ref.mean) / ref.mean).toBeLessThan(1e-13);
    expect(Math.abs(s.std - ref.std) / ref.std).toBeLessThan(1e-11);
  });

  // Values around 1e-200: every (x - mean)^2 is ~1e-400, below the smallest double, so the
  // kernel must switch to its exact-scale fallback.
  it.each([
    ['[1e-200, 2e-200, 3e-200]', [1e-200, 2e-200, 3e-200]],
    ['[1e-160, 0]', [1e-160, 0]],
    ['[0, 1e-310, 0, 1e-310]', [0, 1e-310, 0, 1e-310]],
    ['100 values 3e-170 / 4e-170 / NaN', Array.from({ length: 100 }, (_, i) => [NaN, 3e-170, 4e-170][i % 3]!)],
  ])('std of the non-constant tiny f64 row %s is accurate (squared deviations must not underflow)', (_, values) => {
    const data = new Float64Array(values);
    const ref = scanRef(data);
    const s = onBothPaths(data);
    expect(ref.std).toBeGreaterThan(0);
    expect(Math.abs(s.std - ref.std), `std of ${describeValues(values)}: ${s.std} vs reference ${ref.std}`).toBeLessThanOrEqual(1e-9 * ref.std);
  });
});

describe('scan sweep: every boundary length x element offsets 0..7 x f32 / f64', () => {
  it('matches the reference and is bit-identical on both paths', () => {
    for (const length of BOUNDARY_LENGTHS) {
      for (let offset = 0; offset < 8; offset++) {
        for (const dtype of ['f32', 'f64'] as const) {
          for (const seed of [1, 2, 3]) {
            const c = fixedSeries(dtype, length, seed * 7919 + length * 31 + offset, offset);
            const [lo, hi] = seed === 1 ? [-Infinity, Infinity] : seed === 2 ? [0.1, 60000.1] : [-2.5, 5];
            const { simd, scalar } = bothPaths(() => rawScan(c.data, 1, lo, hi));
            expectIdentical(simd, scalar, `${dtype} length ${length} offset ${offset} seed ${seed}`);
            expectScanMatchesRef(readScan(simd), scanRef(c.values, lo, hi), `${dtype} length ${length} offset ${offset} seed ${seed}`);
          }
        }
      }
    }
  });
});
