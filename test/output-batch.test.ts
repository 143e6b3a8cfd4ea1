// The output shield's per-series form (lib/guardian/output-shield.ts, issue 12): inspectRows
// judges each series with its own k, verdictOf answers the shared CLEAN verdict exactly when the
// series' report has nothing in it (and reads that series' report, not a neighbour's), and a
// batch's verdicts equal the single-series verdicts. Written against the mutants StrykerJS left
// alive (npm run test:mutation -- output-shield).
import { describe, expect, it } from 'vitest';

import { ForecastCheckIO, ForecastRow, ForecastRowsIO } from '../lib/kernels/forecast-check';
import { CLEAN, OutputShield } from '../lib/guardian/output-shield';
import { OUTPUT_THRESHOLDS } from '../lib/guardian/thresholds';

const H = 4;
const Q = 3;
const shield = new OutputShield(OUTPUT_THRESHOLDS.medium, Q, 1);

/** Report slots of series b: the eight counts, offsets as in ForecastReport. */
function setReport(io: ForecastRowsIO, b: number, counts: number[]): void {
  io.io.set(counts, io.row(b) + ForecastRow.report);
}

describe('CLEAN', () => {
  it('is the verdict of nothing found: all counts 0, no fallback, no corrections, frozen', () => {
    expect(CLEAN).toEqual({ nonFinite: 0, crossedSteps: 0, implausibleSteps: 0, clampedSteps: 0, implausibleBands: 0, needsFallback: false, corrections: [] });
    expect(Object.isFrozen(CLEAN) && Object.isFrozen(CLEAN.corrections)).toBe(true);
  });
});

describe('verdictOf', () => {
  it('is CLEAN itself for an empty report, whatever the anchors, k and the neighbours hold', () => {
    const io = new ForecastRowsIO(3);
    // Series 0: every slot busy (absurd, unanchored, ...); series 1: anchors and k, an empty
    // report; series 2: its own counts.
    io.io.fill(9, io.row(0), io.row(1));
    io.io.set([100, 2, 90, 110, 12], io.row(1));
    setReport(io, 2, [1, 0, 0, 0, 0, 0, 0, 0]);
    expect(shield.verdictOf(io, 1)).toBe(CLEAN);
    expect(shield.verdictOf(io, 0)).not.toBe(CLEAN);
    expect(shield.verdictOf(io, 2)).not.toBe(CLEAN);
  });

  it.each([
    ['crossed steps', [2, 0, 0, 0, 0, 0, 0, 0], { crossedSteps: 2, needsFallback: false, corrections: ['sorted crossing quantiles at 2 steps'] }],
    ['non-finite values', [0, 3, 1, 0, 0, 0, 0, 0], { nonFinite: 3, needsFallback: false, corrections: [] }],
    ['an implausible median (clamped)', [0, 0, 0, 1, 1, 0, 0, 0], { implausibleSteps: 1, clampedSteps: 1, needsFallback: false }],
    ['a band too wide', [0, 0, 0, 0, 0, 2, 0, 0], { implausibleBands: 2, needsFallback: true }],
    ['an absurd median', [0, 0, 0, 1, 0, 0, 1, 0], { implausibleSteps: 1, needsFallback: true }],
    ['no anchor', [0, 0, 0, 0, 0, 0, 0, 1], { needsFallback: true, corrections: ['replaced: 1 series without a finite value to anchor the forecast'] }],
  ])('%s: a verdict of its own', (_, counts, want) => {
    const io = new ForecastRowsIO(2);
    io.io[io.row(1) + ForecastRow.k] = 12;
    setReport(io, 1, counts);
    const v = shield.verdictOf(io, 1);
    expect(v).not.toBe(CLEAN);
    expect(v).toMatchObject(want);
  });
});

describe('inspectRows', () => {
  it('judges each series with its own k exactly as inspect() judges it alone', () => {
    // Medians drifting away from the anchors (last 100, sigma 1, range [95, 105]): step 3 at
    // 125 is inside medium's 12 sigmas, outside the cautioned 7.2.
    const one = (medians: number[]) => Float32Array.from(medians.flatMap((m) => [m - 1, m, m + 1]));
    const series = [one([101, 101, 102, 125]), one([101, 101, 102, 125]), one([100, 100, 100, 100])];
    const cautions = [false, true, true];
    const io = new ForecastRowsIO(3);
    const q = new Float32Array(3 * H * Q);
    series.forEach((s, b) => {
      q.set(s, b * H * Q);
      io.io.set([100, 1, 95, 105, shield.k(cautions[b]!)], io.row(b));
    });
    const mean = new Float32Array(3 * H);
    shield.inspectRows(q, 3, H, io, mean);
    series.forEach((s, b) => {
      const alone = new ForecastCheckIO(1);
      alone.anchors.set([100, 1, 95, 105]);
      const qa = s.slice();
      const ma = new Float32Array(H);
      const want = shield.inspect(qa, 1, H, alone, cautions[b]!, ma);
      const got = shield.verdictOf(io, b);
      expect(got, `series ${b}`).toEqual(want);
      expect(Array.from(q.subarray(b * H * Q, (b + 1) * H * Q))).toEqual(Array.from(qa));
      expect(Array.from(mean.subarray(b * H, (b + 1) * H))).toEqual(Array.from(ma));
    });
    expect(shield.verdictOf(io, 0)).toBe(CLEAN);
    expect(shield.verdictOf(io, 1).clampedSteps).toBe(1);
    expect(shield.k(false)).toBe(OUTPUT_THRESHOLDS.medium.plausibleSigmas);
    expect(shield.k(true)).toBe(OUTPUT_THRESHOLDS.medium.plausibleSigmas * OUTPUT_THRESHOLDS.medium.cautionFactor);
  });
});
