import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { checkMean, repairQuantiles, repairQuantilesInto } from '../lib/index';
import { bytesOf, describeValues, outsideBytes, place, placementArb } from './arbitraries';
import { expectSameBytes, expectSameElements } from './helpers';
import { checkMeanRef, repairQuantilesRef } from './reference';

const F32_MAX = 3.4028234663852886e38;

/** One forecast step: mostly sorted levels, some crossed, ties, -0 / +0, some non-finite. */
const stepArb = (levels: number): fc.Arbitrary<number[]> =>
  fc.oneof(
    // sorted, maybe with ties
    fc.array(fc.integer({ min: -50, max: 50 }), { minLength: levels, maxLength: levels }).map((xs) => xs.sort((a, b) => a - b).map((x) => x / 4)),
    // sorted, then a few levels swapped (crossing)
    fc
      .tuple(
        fc.array(fc.float({ min: -1000, max: 1000, noNaN: true }), { minLength: levels, maxLength: levels }),
        fc.array(fc.nat({ max: Math.max(0, levels - 1) }), { maxLength: 3 }),
      )
      .map(([xs, swaps]) => {
        const s = xs.sort((a, b) => a - b);
        for (const i of swaps) if (i + 1 < s.length) [s[i], s[i + 1]] = [s[i + 1]!, s[i]!];
        return s;
      }),
    // anything, including NaN, +-Inf, -0, extremes
    fc.array(
      fc.oneof(
        fc.float(),
        fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, F32_MAX, -F32_MAX, 1e-40, 60000.125),
      ),
      { minLength: levels, maxLength: levels },
    ),
    // constant step
    fc.oneof(fc.constantFrom(0, -0, 5, 60000), fc.float({ noNaN: true })).map((v) => new Array<number>(levels).fill(v)),
    // -0 / +0 mixed (order must be kept stable)
    fc.array(fc.constantFrom(-0, 0, -1, 1), { minLength: levels, maxLength: levels }),
  );

interface QuantileCase {
  steps: number;
  levels: number;
  values: number[]; // stored float32 values, row-major [steps, levels]
  q: Float32Array;
}

const quantileCaseArb: fc.Arbitrary<QuantileCase> = fc
  .record({
    levels: fc.oneof(fc.constantFrom(1, 2, 9, 9, 9, 17), fc.integer({ min: 1, max: 40 })),
    steps: fc.oneof(fc.constantFrom(0, 1, 2), fc.integer({ min: 0, max: 40 })),
    placement: placementArb,
  })
  .chain(({ levels, steps, placement }) =>
    fc.array(stepArb(levels), { minLength: steps, maxLength: steps }).map((rows) => {
      const q = place(rows.flat(), 'f32', placement) as Float32Array;
      const c: QuantileCase = { steps, levels, values: Array.from(q), q };
      Object.defineProperty(c, fc.toStringMethod, {
        value: () => `steps=${steps} levels=${levels} offset=${placement.offset} q=${describeValues(c.values, 90)}`,
      });
      return c;
    }),
  );

describe('repairQuantiles', () => {
  it('matches the reference: finite steps sorted, crossed steps counted, non-finite steps untouched', () => {
    fc.assert(
      fc.property(quantileCaseArb, (c) => {
        const want = repairQuantilesRef(c.values, c.steps, c.levels);
        const around = outsideBytes(c.q);
        const report = repairQuantiles(c.q, c.steps, c.levels);
        expect(report).toEqual({ crossedSteps: want.crossedSteps, nonFiniteValues: want.nonFiniteValues, nonFiniteSteps: want.nonFiniteSteps });
        expectSameElements(c.q, want.out, 'repaired quantiles');
        expectSameBytes(outsideBytes(c.q), around, 'bytes around the view');
      }),
      { numRuns: 500 },
    );
  });

  it('leaves every finite step non-decreasing, keeps each step a permutation, and is idempotent', () => {
    fc.assert(
      fc.property(quantileCaseArb, (c) => {
        repairQuantiles(c.q, c.steps, c.levels);
        for (let s = 0; s < c.steps; s++) {
          const before = c.values.slice(s * c.levels, (s + 1) * c.levels);
          const after = Array.from(c.q.subarray(s * c.levels, (s + 1) * c.levels));
          if (before.every(Number.isFinite)) {
            for (let k = 1; k < c.levels; k++) expect(after[k]! >= after[k - 1]!, `step ${s} sorted`).toBe(true);
            const key = (xs: number[]): string => xs.map((x) => (Object.is(x, -0) ? '-0' : String(x))).sort().join();
            expect(key(after)).toBe(key(before));
          } else {
            expectSameElements(after, before, `non-finite step ${s} untouched`);
          }
        }
        const snapshot = bytesOf(c.q);
        const again = repairQuantiles(c.q, c.steps, c.levels);
        expect(again.crossedSteps).toBe(0);
        expectSameBytes(c.q, snapshot, 'second repair is a no-op');
      }),
      { numRuns: 300 },
    );
  });

  it('examples', () => {
    const q = new Float32Array([
      1, 2, 3, // sorted
      3, 1, 2, // crossed
      1, NaN, 0, // non-finite: untouched
      2, 2, 2, // flat
      0, -0, 0, // zeros: equal, not crossed
      Infinity, -Infinity, 0, // two non-finite values in one step
    ]);
    const report = new Float64Array(3).fill(-1);
    repairQuantilesInto(q, 6, 3, report);
    expect(Array.from(report)).toEqual([1, 3, 2]);
    expectSameElements(q, [1, 2, 3, 1, 2, 3, 1, NaN, 0, 2, 2, 2, 0, -0, 0, Infinity, -Infinity, 0], 'examples');
    expect(repairQuantiles(new Float32Array(0), 0, 9)).toEqual({ crossedSteps: 0, nonFiniteValues: 0, nonFiniteSteps: 0 });
    const one = new Float32Array([5, 4, 3, 2, 1, 0, -1, -2, -3]);
    expect(repairQuantiles(one, 1, 9).crossedSteps).toBe(1);
    expect(Array.from(one)).toEqual([-3, -2, -1, 0, 1, 2, 3, 4, 5]);
  });
});

describe('checkMean', () => {
  const meanCaseArb = quantileCaseArb.chain((c) =>
    fc.record({
      c: fc.constant(c),
      means: fc.array(
        fc.oneof(fc.float(), fc.integer({ min: -60, max: 60 }).map((x) => x / 4), fc.constantFrom(NaN, Infinity, -Infinity, -0, 60000.125)),
        { minLength: c.steps, maxLength: c.steps },
      ),
      medianIndex: fc.nat({ max: c.levels - 1 }),
      maxDeviation: fc.oneof(fc.constantFrom(0, 0.25, 0.5, 1, Infinity, 1e-30), fc.double({ min: 0, max: 10, noNaN: true })),
      meanPlacement: placementArb,
    }),
  );

  for (const replace of [false, true]) {
    it(`matches the reference (replace=${replace}); quantiles are never written`, () => {
      fc.assert(
        fc.property(meanCaseArb, ({ c, means, medianIndex, maxDeviation, meanPlacement }) => {
          const mean = place(means, 'f32', meanPlacement) as Float32Array;
          const stored = Array.from(mean);
          const want = checkMeanRef(stored, c.values, c.steps, c.levels, medianIndex, maxDeviation, replace);
          const qBytes = bytesOf(c.q);
          const around = outsideBytes(mean);
          const flagged = checkMean(mean, c.q, c.steps, c.levels, { medianIndex, maxDeviation, replace });
          expect(flagged).toBe(want.flagged);
          expectSameElements(mean, want.mean, `means (replace=${replace})`);
          if (!replace) expectSameElements(mean, stored, 'replace=false leaves the means alone');
          expectSameBytes(c.q, qBytes, 'quantiles untouched');
          expectSameBytes(outsideBytes(mean), around, 'bytes around the means');
        }),
        { numRuns: 400 },
      );
    });
  }

  it('examples', () => {
    // TiRex-like: 9 levels, median at 4
    const q = new Float32Array([
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9], // band 8, median 5
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9],
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9],
      ...[1, 2, 3, 4, NaN, 6, 7, 8, 9], // non-finite median
      ...[1, 2, 3, 4, 5, 6, 7, 8, 9],
    ]);
    const mean = new Float32Array([5.5, 0.5, 9, 5, NaN]);
    const opts = { medianIndex: 4, maxDeviation: 0.25, replace: true };
    expect(checkMean(mean, q, 5, 9, opts)).toBe(4);
    // 5.5: fine. 0.5: below q_first -> 5. 9: |9 - 5| = 4 > 0.25 * 8 -> 5. 5 vs NaN median: flagged, not replaced.
    // NaN: flagged -> 5.
    expectSameElements(mean, [5.5, 5, 5, 5, 5], 'replaced means');
    const keep = new Float32Array([7, 7, 7, 7, 7]);
    expect(checkMean(keep, q, 5, 9, { medianIndex: 4, maxDeviation: 0.2, replace: false })).toBe(5);
    expect(Array.from(keep)).toEqual([7, 7, 7, 7, 7]);
    // |7 - 5| = 2 = 0.25 * (9 - 1): the limit is inclusive; only the NaN-median step is flagged
    expect(checkMean(keep, q, 5, 9, { medianIndex: 4, maxDeviation: 0.25, replace: false })).toBe(1);
    // medianIndex 0: the NaN level is neither first, last nor median, so it is not looked at
    expect(checkMean(keep, q, 5, 9, { medianIndex: 0, maxDeviation: 1, replace: false })).toBe(0);
    expect(checkMean(keep, q, 5, 9, { medianIndex: 0, maxDeviation: 0.5, replace: false })).toBe(5);
  });
});

describe('checkMean with an infinite maxDeviation', () => {
  it('passes a mean equal to the median of a flat band (Infinity * 0 is not a failure)', () => {
    const mean = new Float32Array([5]);
    expect(checkMean(mean, new Float32Array([5, 5, 5]), 1, 3, { medianIndex: 1, maxDeviation: Infinity, replace: true })).toBe(0);
    expect(mean[0]).toBe(5);
    // Still flagged: outside the band, whatever the allowed deviation.
    expect(checkMean(new Float32Array([6]), new Float32Array([5, 5, 5]), 1, 3, { medianIndex: 1, maxDeviation: Infinity, replace: false })).toBe(1);
  });
});
