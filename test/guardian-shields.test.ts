// The input and output shields' policy, table-driven, on the real native kernels: crafted series
// and crafted forecasts with the exact decision each level must take (pass / caution / block;
// flag / clamp / fallback), the exact threat score against a plain reference of the noisy-OR,
// and every boundary hit exactly through thresholds made for the test. Every expect runs on
// every run: no branch decides whether a check happens.
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ForecastCheckIO } from '../lib/kernels/forecast-check';
import { InputShield, type SeriesStats } from '../lib/guardian/input-shield';
import { OutputShield, type OutputVerdict } from '../lib/guardian/output-shield';
import { INPUT_THRESHOLDS, OUTPUT_THRESHOLDS, type InputThresholds, type OutputThresholds, type ThreatLevel } from '../lib/guardian/thresholds';
import { TiRexGuardian, type ForecastResult } from '../lib/index';
import { rng, thrown } from './model-fixtures';

const LEVELS: ThreatLevel[] = ['low', 'medium', 'high'];

// ---------------------------------------------------------------------------------------------
// Input shield
// ---------------------------------------------------------------------------------------------

/** The soft signals' values from the stats, as SPEC section 3 defines them (a plain reference). */
function softValues(s: SeriesStats): Record<string, number> {
  const len = Math.max(s.length, 1);
  return {
    missingShare: 1 - s.finite / len,
    nanRunRatio: s.longestNaNRun / len,
    alternatingNaN: s.alternatingRun,
    flatRunRatio: s.length >= 8 ? s.longestFlatRun / len : 0,
    spike: s.spike,
    levelShift: s.levelShift,
  };
}

const WEIGHTS: Record<string, number> = { missingShare: 0.5, nanRunRatio: 0.6, alternatingNaN: 0.7, flatRunRatio: 0.5, spike: 0.7, levelShift: 0.5 };

function softThreshold(name: string, t: InputThresholds): number {
  switch (name) {
    case 'missingShare':
      return Math.max(1 - t.minFiniteRatio, 1e-9);
    case 'nanRunRatio':
      return t.maxNaNRunRatio;
    case 'alternatingNaN':
      return t.alternatingRun;
    case 'flatRunRatio':
      return t.flatRunRatio;
    case 'spike':
      return t.spikeZ;
    default:
      return t.levelShiftZ;
  }
}

/** The threat score a plain reading of the policy gives: 1 on a hard rule, else the noisy-OR. */
function referenceScore(s: SeriesStats, t: InputThresholds): number {
  const len = Math.max(s.length, 1);
  const hard = s.posInf + s.negInf > 0 || s.nan / len > t.maxNaNRatio || s.finite / len < t.minFiniteRatio || s.outOfBounds / len > t.maxOutOfBoundsRatio;
  if (hard) return 1;
  let keep = 1;
  for (const [name, value] of Object.entries(softValues(s))) {
    const share = value > 0 ? Math.min(1, value / softThreshold(name, t)) : 0;
    keep *= 1 - WEIGHTS[name]! * share;
  }
  return 1 - keep;
}

/** A random walk around 100 (steps in [-0.5, 0.5)), deterministic. */
function walk(n: number, seed = 7): Float64Array {
  const r = rng(seed);
  const out = new Float64Array(n);
  let x = 100;
  for (let i = 0; i < n; i++) {
    x += r() - 0.5;
    out[i] = x;
  }
  return out;
}

function edited(base: Float64Array, edit: (a: Float64Array) => void): Float64Array {
  const a = Float64Array.from(base);
  edit(a);
  return a;
}

const N = 512;
const W = walk(N);
const SERIES: Record<string, Float64Array> = {
  clean: W,
  // A feed stuck at one value for its last 492 points.
  stuck: edited(W, (a) => a.fill(a[20]!, 20)),
  // One 60-unit spike three steps from the end (typical step 0.25).
  spiky: edited(W, (a) => (a[N - 3]! += 60)),
  // The last 16 points shifted up by 60.
  shifted: edited(W, (a) => {
    for (let i = N - 16; i < N; i++) a[i]! += 60;
  }),
  // Every eighth point NaN: 12.5% missing, no long run.
  sparseNaN: edited(W, (a) => {
    for (let i = 0; i < N; i += 8) a[i] = NaN;
  }),
  // 20 NaN alternating with values: an alternating stretch of 41.
  alternating: edited(W, (a) => {
    for (let i = 200; i < 240; i += 2) a[i] = NaN;
  }),
  // One run of 40 NaN (7.8% of the context).
  nanRun: edited(W, (a) => a.fill(NaN, 100, 140)),
  // One +Inf.
  inf: edited(W, (a) => (a[10] = Infinity)),
  // One -Inf.
  negInf: edited(W, (a) => (a[10] = -Infinity)),
  // One value of 2e6: out of bounds at medium (1e6) and high (1e5), inside low's 5e9.
  outOfBounds: edited(W, (a) => (a[300] = 2e6)),
  // Half the values NaN, in one block: the NaN-ratio rule and the finite-ratio rule together.
  halfNaN: edited(W, (a) => a.fill(NaN, 0, N / 2)),
};

/** [series, level, decision, triggered signal names in order]. */
const INPUT_TABLE: [string, ThreatLevel, 'pass' | 'caution' | 'block', string[]][] = [
  ['clean', 'low', 'pass', []],
  ['clean', 'medium', 'pass', []],
  ['clean', 'high', 'pass', []],
  ['stuck', 'low', 'pass', []],
  ['stuck', 'medium', 'caution', ['flatRunRatio']],
  ['stuck', 'high', 'caution', ['flatRunRatio']],
  ['spiky', 'low', 'caution', ['spike']],
  ['spiky', 'medium', 'caution', ['spike']],
  ['spiky', 'high', 'block', ['spike']],
  ['shifted', 'low', 'caution', ['spike', 'levelShift']],
  ['shifted', 'medium', 'block', ['spike', 'levelShift']],
  ['shifted', 'high', 'block', ['spike', 'levelShift']],
  ['sparseNaN', 'low', 'pass', []],
  ['sparseNaN', 'medium', 'caution', ['missingShare (combined)']],
  ['sparseNaN', 'high', 'block', ['nanRatio', 'finiteRatio', 'missingShare']],
  ['alternating', 'low', 'pass', []],
  ['alternating', 'medium', 'caution', ['alternatingNaN']],
  ['alternating', 'high', 'block', ['alternatingNaN']],
  ['nanRun', 'low', 'pass', []],
  ['nanRun', 'medium', 'caution', ['nanRunRatio (combined)']],
  ['nanRun', 'high', 'block', ['finiteRatio', 'missingShare', 'nanRunRatio']],
  ['inf', 'low', 'block', ['infinity']],
  ['inf', 'medium', 'block', ['infinity']],
  ['inf', 'high', 'block', ['infinity']],
  ['negInf', 'medium', 'block', ['infinity']],
  ['outOfBounds', 'low', 'caution', ['spike']],
  ['outOfBounds', 'medium', 'block', ['outOfBoundsRatio', 'spike']],
  ['outOfBounds', 'high', 'block', ['outOfBoundsRatio', 'spike']],
  ['halfNaN', 'low', 'pass', []],
  ['halfNaN', 'medium', 'block', ['nanRatio', 'finiteRatio', 'missingShare', 'nanRunRatio']],
];

describe('input shield: exact decisions per level on crafted series', () => {
  it.each(INPUT_TABLE)('%s at %s: %s %j', (name, level, decision, names) => {
    const t = INPUT_THRESHOLDS[level];
    const a = new InputShield(t).assess(SERIES[name]!);
    expect(a.decision).toBe(decision);
    expect(a.triggered.map((s) => s.name)).toEqual(names);
    expect(a.score).toBeCloseTo(referenceScore(a.stats, t), 12);
    if (names.length === 0) expect(a.score).toBeLessThan(t.cautionScore);
    else expect(a.score).toBeGreaterThanOrEqual(t.cautionScore);
  });

  it('a clean series scores near zero at every level (no signal reads a clean feed as missing)', () => {
    for (const level of LEVELS) {
      const a = new InputShield(INPUT_THRESHOLDS[level]).assess(W);
      expect(a.stats.finite).toBe(N);
      expect(a.score).toBeGreaterThan(0);
      expect(a.score).toBeLessThan(0.1);
    }
  });

  it('each triggered signal reports its value, threshold and weight', () => {
    const t = INPUT_THRESHOLDS.high;
    const a = new InputShield(t).assess(SERIES.sparseNaN!);
    expect(a.triggered).toEqual([
      { name: 'nanRatio', value: 64 / N, threshold: t.maxNaNRatio, weight: 1 },
      { name: 'finiteRatio', value: 1 - 64 / N, threshold: t.minFiniteRatio, weight: 1 },
      { name: 'missingShare', value: 64 / N, threshold: 1 - t.minFiniteRatio, weight: 0.5 },
    ]);
    expect(a.score).toBe(1);
    const inf = new InputShield(t).assess(edited(W, (x) => ((x[3] = Infinity), (x[4] = -Infinity))));
    expect(inf.triggered[0]).toEqual({ name: 'infinity', value: 2, threshold: 0, weight: 1 });
    const oob = new InputShield(INPUT_THRESHOLDS.medium).assess(SERIES.outOfBounds!);
    expect(oob.triggered[0]).toEqual({ name: 'outOfBoundsRatio', value: 1 / N, threshold: 0, weight: 1 });
    const combined = new InputShield(INPUT_THRESHOLDS.medium).assess(SERIES.sparseNaN!);
    expect(combined.triggered).toEqual([{ name: 'missingShare (combined)', value: 64 / N, threshold: 1 - INPUT_THRESHOLDS.medium.minFiniteRatio, weight: 0.5 }]);
  });

  it('market bounds replace the level default, both sides', () => {
    const shield = new InputShield(INPUT_THRESHOLDS.low);
    expect(shield.assess(W, { lo: 90, hi: 200 }).stats.outOfBounds).toBe(0);
    const below = shield.assess(W, { lo: 101, hi: 200 });
    expect(below.stats.outOfBounds).toBeGreaterThan(0);
    expect(below.decision).toBe('block');
    expect(below.triggered[0]!.name).toBe('outOfBoundsRatio');
    expect(shield.assess(W, { lo: 0, hi: 99.5 }).decision).toBe('block');
    // Without bounds, low's 5e9 lets 2e6 through.
    expect(shield.assess(SERIES.outOfBounds!).stats.outOfBounds).toBe(0);
  });

  it('the flat-run signal counts from 8 points: 8 equal values score its weight, 7 score nothing', () => {
    const t = INPUT_THRESHOLDS.medium;
    const eight = new InputShield(t).assess(new Float64Array(8).fill(5));
    expect(eight.triggered.map((s) => s.name)).toEqual(['flatRunRatio']);
    expect(eight.score).toBe(0.5);
    expect(eight.decision).toBe('caution');
    const seven = new InputShield(t).assess(new Float64Array(7).fill(5));
    expect(seven.triggered).toEqual([]);
    expect(seven.score).toBe(0);
    expect(seven.decision).toBe('pass');
  });

  it('an empty series is all missing: blocked by the finite-ratio rule, not a division by zero', () => {
    const a = new InputShield(INPUT_THRESHOLDS.low).assess(new Float64Array(0));
    expect(a.decision).toBe('block');
    expect(a.score).toBe(1);
    expect(a.triggered.map((s) => s.name)).toEqual(['finiteRatio', 'missingShare']);
  });

  describe('boundaries hit exactly (thresholds made for the test)', () => {
    it('a signal at zero never counts, even against a threshold of zero', () => {
      const seven = new Float64Array(7).fill(5); // every signal 0
      const t = { ...INPUT_THRESHOLDS.medium, spikeZ: 0, levelShiftZ: 0, flatRunRatio: 0, alternatingRun: 0, maxNaNRunRatio: 0 };
      const a = new InputShield(t).assess(seven);
      expect(a.score).toBe(0);
      expect(a.triggered).toEqual([]);
      expect(a.decision).toBe('pass');
    });

    it('a caution with no signal at all names none (no strongest signal is invented)', () => {
      const seven = new Float64Array(7).fill(5);
      const a = new InputShield({ ...INPUT_THRESHOLDS.medium, cautionScore: 0 }).assess(seven);
      expect(a.score).toBe(0);
      expect(a.decision).toBe('caution');
      expect(a.triggered).toEqual([]);
    });

    const base = INPUT_THRESHOLDS.medium;
    const eight = new Float64Array(8).fill(5); // score exactly 0.5, flatRunRatio alone
    it('a score equal to cautionScore cautions; equal to blockScore blocks', () => {
      expect(new InputShield({ ...base, cautionScore: 0.5, blockScore: 0.9 }).assess(eight).decision).toBe('caution');
      expect(new InputShield({ ...base, cautionScore: 0.5000001, blockScore: 0.9 }).assess(eight).decision).toBe('pass');
      expect(new InputShield({ ...base, cautionScore: 0.1, blockScore: 0.5 }).assess(eight).decision).toBe('block');
      expect(new InputShield({ ...base, cautionScore: 0.1, blockScore: 0.5000001 }).assess(eight).decision).toBe('caution');
    });

    it('a soft signal equal to its threshold triggers; just above it does not', () => {
      const t = { ...base, flatRunRatio: 1 };
      expect(new InputShield(t).assess(eight).triggered.map((s) => s.name)).toEqual(['flatRunRatio']);
      const above = new InputShield({ ...base, flatRunRatio: 1.0000001 }).assess(eight);
      expect(above.triggered.map((s) => s.name)).toEqual(['flatRunRatio (combined)']);
      expect(above.score).toBeCloseTo(0.5 / 1.0000001, 12);
    });

    it('the NaN-ratio rule: a share equal to maxNaNRatio passes, above it blocks', () => {
      const quarter = edited(walk(8), (a) => ((a[1] = NaN), (a[5] = NaN))); // 2 of 8 NaN
      const loose = { ...base, minFiniteRatio: 0, maxNaNRunRatio: 1, alternatingRun: 1e9, flatRunRatio: 1, spikeZ: 1e9, levelShiftZ: 1e9 };
      const at = new InputShield({ ...loose, maxNaNRatio: 0.25 }).assess(quarter);
      expect(at.triggered.map((s) => s.name)).toEqual([]);
      const over = new InputShield({ ...loose, maxNaNRatio: 0.2499 }).assess(quarter);
      expect(over.triggered.map((s) => s.name)).toEqual(['nanRatio']);
      expect(over.score).toBe(1);
      expect(over.decision).toBe('block');
    });

    it('the finite-ratio rule: a share equal to minFiniteRatio passes, below it blocks', () => {
      const quarter = edited(walk(8), (a) => ((a[1] = NaN), (a[5] = NaN)));
      const loose = { ...base, maxNaNRatio: 1, maxNaNRunRatio: 1, alternatingRun: 1e9, flatRunRatio: 1, spikeZ: 1e9, levelShiftZ: 1e9 };
      // The missing-share signal's threshold is 1 - minFiniteRatio: at the boundary it fires too.
      expect(new InputShield({ ...loose, minFiniteRatio: 0.75 }).assess(quarter).triggered.map((s) => s.name)).toEqual(['missingShare']);
      expect(new InputShield({ ...loose, minFiniteRatio: 0.7501 }).assess(quarter).triggered.map((s) => s.name)).toEqual(['finiteRatio', 'missingShare']);
    });

    it('the out-of-bounds rule: a share equal to its limit passes, above it blocks', () => {
      const one = edited(walk(8), (a) => (a[3] = 1e7)); // 1 of 8 out of 1e6
      const loose = { ...base, spikeZ: 1e9, levelShiftZ: 1e9 };
      expect(new InputShield({ ...loose, maxOutOfBoundsRatio: 0.125 }).assess(one).triggered.map((s) => s.name)).toEqual([]);
      expect(new InputShield({ ...loose, maxOutOfBoundsRatio: 0.1249 }).assess(one).triggered.map((s) => s.name)).toEqual(['outOfBoundsRatio']);
    });

    it('several signals under their thresholds add up (noisy-OR) and name the strongest', () => {
      // The clean walk: spike 2 and a flat run of 1; thresholds that make each a large share.
      const s = new InputShield(base).assess(W).stats;
      // Spike: share 0.7 * 0.8 = 0.56 (0.8 / 0.7 = 1.14 per weight); flat run and level shift
      // (before and after it): share 0.5 * 0.6 = 0.3 each (1.2 per weight). The strongest is the
      // larger share, not the larger share per weight, whichever order they come in.
      const t = { ...base, spikeZ: s.spike * 1.25, flatRunRatio: s.longestFlatRun / N / 0.6, levelShiftZ: s.levelShift / 0.6, cautionScore: 0.5, blockScore: 0.95 };
      const a = new InputShield(t).assess(W);
      const spikeShare = 0.7 * (s.spike / t.spikeZ);
      expect(a.score).toBeCloseTo(referenceScore(s, t), 12);
      expect(a.score).toBeGreaterThan(spikeShare);
      expect(a.decision).toBe('caution');
      expect(a.triggered).toEqual([{ name: 'spike (combined)', value: s.spike, threshold: t.spikeZ, weight: 0.7 }]);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Output shield
// ---------------------------------------------------------------------------------------------

const H = 4;
const Q = 9;
const MEDIAN = 4;
/** Anchors of the crafted forecasts: last 100, sigma 1, context range [95, 105]. */
const ANCHOR = { last: 100, sigma: 1, min: 95, max: 105 };

/** A forecast [1, H, 9] with the given medians and a band of +-`half` around each, ordered. */
function forecast(medians: number[], half = 1): Float32Array {
  const q = new Float32Array(H * Q);
  for (let h = 0; h < H; h++) for (let k = 0; k < Q; k++) q[h * Q + k] = medians[h]! + ((k - MEDIAN) / MEDIAN) * half;
  return q;
}

/** The bound's half-width at step h (0-based) for k sigmas: k * sigma * sqrt(h + 1). */
function bound(k: number, h: number): number {
  return k * ANCHOR.sigma * Math.sqrt(h + 1);
}

function inspect(t: OutputThresholds, q: Float32Array, caution = false, anchor = ANCHOR): { verdict: OutputVerdict; q: Float32Array; mean: Float32Array } {
  const io = new ForecastCheckIO(1);
  io.anchors.set([anchor.last, anchor.sigma, anchor.min, anchor.max]);
  const mean = new Float32Array(H).fill(-1);
  const verdict = new OutputShield(t, Q, MEDIAN).inspect(q, 1, H, io, caution, mean);
  return { verdict, q, mean };
}

function verdictOf(partial: Partial<OutputVerdict>): OutputVerdict {
  return { nonFinite: 0, crossedSteps: 0, implausibleSteps: 0, clampedSteps: 0, implausibleBands: 0, needsFallback: false, corrections: [], ...partial };
}

const PLAIN = [101, 101, 102, 102];
// Step 3's median 150: beyond the bound at every level (low 20 sigmas: 105 + 40 = 145).
const DRIFT = [101, 101, 102, 150];
// Beyond the span by more than 100 * (span + bound) at every level: absurd.
const ABSURD = [101, 101, 102, 1e5];
// Step 3's median 125: inside medium's bound (105 + 24 = 129), outside it under caution
// (12 * 0.6 = 7.2 sigmas: 105 + 14.4 = 119.4).
const CAUTION_ONLY = [101, 101, 102, 125];

const medianMessage = (how: string, k: number, steps: number): string => `${how}: median beyond the context's range by more than ${k.toFixed(1)} sigma*sqrt(h) at ${steps} steps`;

describe('output shield: exact verdicts per level on crafted forecasts', () => {
  it.each(LEVELS)('a plausible forecast at %s: nothing to do, the medians written to mean', (level) => {
    const { verdict, q, mean } = inspect(OUTPUT_THRESHOLDS[level], forecast(PLAIN));
    expect(verdict).toEqual(verdictOf({}));
    expect(Array.from(q)).toEqual(Array.from(forecast(PLAIN)));
    expect(Array.from(mean)).toEqual(PLAIN);
  });

  it('a drifting median at low is flagged: the forecast is left as it is', () => {
    const { verdict, q } = inspect(OUTPUT_THRESHOLDS.low, forecast(DRIFT));
    expect(verdict).toEqual(verdictOf({ implausibleSteps: 1, corrections: [medianMessage('flagged', 20, 1)] }));
    expect(Array.from(q)).toEqual(Array.from(forecast(DRIFT)));
  });

  it('a drifting median at medium is clamped: the step moves so its median sits on the bound, levels kept', () => {
    const { verdict, q, mean } = inspect(OUTPUT_THRESHOLDS.medium, forecast(DRIFT));
    expect(verdict).toEqual(verdictOf({ implausibleSteps: 1, clampedSteps: 1, corrections: [medianMessage('clamped', 12, 1)] }));
    const edge = Math.fround(ANCHOR.max + bound(12, 3));
    expect(q[3 * Q + MEDIAN]).toBe(edge);
    expect(mean[3]).toBe(edge);
    expect(Array.from(q.subarray(0, 3 * Q))).toEqual(Array.from(forecast(DRIFT).subarray(0, 3 * Q)));
    for (let k = 1; k < Q; k++) expect(q[3 * Q + k]! - q[3 * Q + k - 1]!).toBeCloseTo(0.25, 4);
  });

  it('a drifting median at high is replaced by a fallback', () => {
    const { verdict, q } = inspect(OUTPUT_THRESHOLDS.high, forecast(DRIFT));
    expect(verdict).toEqual(verdictOf({ implausibleSteps: 1, needsFallback: true, corrections: [medianMessage('replaced', 8, 1)] }));
    expect(Array.from(q)).toEqual(Array.from(forecast(DRIFT)));
  });

  it.each([
    ['low', 20],
    ['medium', 12],
    ['high', 8],
  ] as const)('an absurd median at %s needs a fallback whatever the level says', (level, k) => {
    const { verdict } = inspect(OUTPUT_THRESHOLDS[level], forecast(ABSURD));
    expect(verdict.needsFallback).toBe(true);
    expect(verdict.implausibleSteps).toBe(1);
    expect(verdict.corrections).toEqual([medianMessage('replaced', k, 1)]);
  });

  it('the absurd rule alone forces the fallback, with no median rule (a level that only flags)', () => {
    const flagOnly: OutputThresholds = { ...OUTPUT_THRESHOLDS.low, implausible: 'flag' };
    expect(inspect(flagOnly, forecast(ABSURD)).verdict.needsFallback).toBe(true);
    expect(inspect(flagOnly, forecast(DRIFT)).verdict.needsFallback).toBe(false);
    const clampOnly: OutputThresholds = { ...OUTPUT_THRESHOLDS.medium, implausible: 'clamp' };
    const absurd = inspect(clampOnly, forecast(ABSURD));
    expect(absurd.verdict.needsFallback).toBe(true);
    expect(absurd.verdict.corrections).toEqual([medianMessage('replaced', 12, 1)]);
  });

  it('under caution the bound tightens by the level\'s factor (multiplies, never divides)', () => {
    const t = OUTPUT_THRESHOLDS.medium;
    expect(inspect(t, forecast(CAUTION_ONLY), false).verdict).toEqual(verdictOf({}));
    const { verdict, q } = inspect(t, forecast(CAUTION_ONLY), true);
    const k = t.plausibleSigmas * t.cautionFactor;
    expect(verdict).toEqual(verdictOf({ implausibleSteps: 1, clampedSteps: 1, corrections: [medianMessage('clamped', k, 1)] }));
    expect(q[3 * Q + MEDIAN]).toBe(Math.fround(ANCHOR.max + bound(k, 3)));
    // At low (20 sigmas * 0.75 = 15: 105 + 30 = 135) the same forecast stays plausible.
    expect(inspect(OUTPUT_THRESHOLDS.low, forecast(CAUTION_ONLY), true).verdict).toEqual(verdictOf({}));
  });

  it('a median below the range is judged the same way (the lower bound)', () => {
    const below = [99, 99, 98, 50];
    const { verdict, q } = inspect(OUTPUT_THRESHOLDS.medium, forecast(below));
    expect(verdict.implausibleSteps).toBe(1);
    expect(verdict.clampedSteps).toBe(1);
    expect(q[3 * Q + MEDIAN]).toBe(Math.fround(ANCHOR.min - bound(12, 3)));
  });

  it.each(LEVELS)('bands wider than four times the plausible span are replaced at %s', (level) => {
    const t = OUTPUT_THRESHOLDS[level];
    const { verdict } = inspect(t, forecast(PLAIN, 1e4));
    expect(verdict).toEqual(
      verdictOf({ implausibleBands: H, needsFallback: true, corrections: [`replaced: 10-90% band wider than four times the plausible span at ${H} steps`] }),
    );
  });

  it('crossing levels are sorted and reported, the forecast otherwise accepted', () => {
    const q = forecast(PLAIN);
    const step1 = Array.from(q.subarray(Q, 2 * Q));
    q.set(step1.slice().reverse(), Q);
    const { verdict, q: out } = inspect(OUTPUT_THRESHOLDS.high, q);
    expect(verdict).toEqual(verdictOf({ crossedSteps: 1, corrections: ['sorted crossing quantiles at 1 steps'] }));
    expect(Array.from(out.subarray(Q, 2 * Q))).toEqual(step1);
  });

  it('non-finite output stops the inspection: counted, nothing judged, no correction reported', () => {
    const q = forecast(DRIFT);
    q[2] = NaN;
    q.set(Array.from(q.subarray(Q, 2 * Q)).reverse(), Q);
    const { verdict, mean } = inspect(OUTPUT_THRESHOLDS.high, q);
    // The native pass still sorts the finite step that crossed; the policy reports nothing.
    expect(verdict).toEqual(verdictOf({ nonFinite: 1, crossedSteps: 1 }));
    expect(Array.from(mean)).toEqual([-1, -1, -1, -1]);
  });

  it('a series with no finite last value cannot anchor its forecast: replaced at every level', () => {
    for (const level of LEVELS) {
      const { verdict } = inspect(OUTPUT_THRESHOLDS[level], forecast(PLAIN), false, { ...ANCHOR, last: NaN });
      expect(verdict.needsFallback).toBe(true);
      expect(verdict.corrections).toEqual(['replaced: 1 series without a finite value to anchor the forecast']);
    }
  });

  it('several faults at once: every correction listed in order', () => {
    const q = forecast(DRIFT, 1e4);
    q.set(Array.from(q.subarray(0, Q)).reverse(), 0);
    const { verdict } = inspect(OUTPUT_THRESHOLDS.medium, q);
    expect(verdict.needsFallback).toBe(true);
    expect(verdict.corrections).toEqual([
      'sorted crossing quantiles at 1 steps',
      `replaced: 10-90% band wider than four times the plausible span at ${H} steps`,
      medianMessage('replaced', 12, 1),
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// The guardian's use of the output verdict, on a real model whose median runs away
// ---------------------------------------------------------------------------------------------

// The drifting fixture (training/make_fixtures.py): quantile-ok's ordered Gaussian bands around
// the window mean, every level moved up by 20 window scales per step. On a context alternating
// 100, 101 (window mean 100.5, scale 0.5, sigma 1.2533, range [100, 101]) step h's median is
// 100.5 + 10 (h + 1); it leaves the bound 101 + k sigma sqrt(h + 1) from step 6 at low (k 20),
// step 2 at medium (k 12), step 1 at high (k 8): 26, 30 and 31 of 32 steps. Bands stay plausible
// and nothing is absurd, so the level alone decides: flag, clamp, fallback.
const DRIFTING = path.join(__dirname, 'fixtures', 'models', 'drifting.json');
const ALTERNATING = Float32Array.from({ length: 128 }, (_, i) => 100 + (i % 2));

function drifting(level: ThreatLevel, strategy: 'graceful' | 'strict' = 'graceful'): TiRexGuardian {
  return new TiRexGuardian({ threatDetectionLevel: level, fallbackStrategy: strategy, enableAuditLogging: false, model: DRIFTING });
}

describe('the guardian acts on an implausible median as its level says (drifting model)', () => {
  const runs: TiRexGuardian[] = [];
  afterAll(async () => {
    for (const g of runs) await g.close();
  });
  const forecastAt = (level: ThreatLevel): { r: ForecastResult; g: TiRexGuardian } => {
    const g = drifting(level);
    runs.push(g);
    return { r: g.safeForecast({ context: ALTERNATING, predictionLength: 32, userId: 'u' }), g };
  };
  const modelMedian = (h: number): number => Math.fround(100.5 + Math.fround(Math.fround(0.5 + 1e-5) * 20 * (h + 1)));

  it('low flags it: served as the model gave it, status ok, the flag in the shields', () => {
    const { r, g } = forecastAt('low');
    expect(r.threat.decision).toBe('pass');
    expect(r.status).toBe('ok');
    expect(r.reason).toBeNull();
    expect(r.fallback).toBeNull();
    expect(r.shields.filter((s) => s.shield === 'output')).toEqual([{ shield: 'output', action: 'correct', detail: medianMessage('flagged', 20, 26) }]);
    expect(r.mean![31]).toBeCloseTo(modelMedian(31), 3);
    expect(g.stats().corrections.clampedSteps ?? 0).toBe(0);
  });

  it('medium clamps it: the medians sit on the bound from step 2, status corrected', () => {
    const { r, g } = forecastAt('medium');
    expect(r.threat.decision).toBe('pass');
    expect(r.status).toBe('corrected');
    expect(r.reason).toBe(medianMessage('clamped', 12, 30));
    expect(r.series).toEqual([{ status: 'corrected', reason: medianMessage('clamped', 12, 30), threat: r.threat, fallback: null }]);
    expect(r.mean![0]).toBeCloseTo(modelMedian(0), 3);
    expect(r.mean![1]).toBeCloseTo(modelMedian(1), 3);
    const sigma = 1.2533 * 1;
    for (const h of [2, 10, 31]) expect(r.mean![h]).toBeCloseTo(101 + 12 * sigma * Math.sqrt(h + 1), 1);
    expect(g.stats().corrections.clampedSteps).toBe(30);
  });

  it('high replaces it by a fallback; strict refuses it with TG_OUTPUT_IMPLAUSIBLE', () => {
    const { r } = forecastAt('high');
    expect(r.threat.decision).toBe('pass');
    expect(r.status).toBe('fallback');
    expect(r.reason).toBe(medianMessage('replaced', 8, 31));
    expect(r.series[0]!.fallback).toBe(r.fallback!.method);
    expect(r.fallback).not.toBeNull();
    for (let h = 0; h < 32; h++) expect(Math.abs(r.mean![h]! - 100.5)).toBeLessThan(2);
    const strict = drifting('high', 'strict');
    runs.push(strict);
    expect(thrown(() => strict.safeForecast({ context: ALTERNATING, predictionLength: 32, userId: 'u' }))).toMatchObject({ code: 'TG_OUTPUT_IMPLAUSIBLE' });
  });
});
