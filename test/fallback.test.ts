import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  FALLBACK_DEFAULTS,
  FALLBACK_ORDER,
  fallbackChain,
  fallbackLastValue,
  fallbackMovingAverage,
  fallbackRobustTrend,
  TIREX_QUANTILE_LEVELS,
  type FallbackForecast,
  type FallbackMethod,
  type FallbackOptions,
  type FallbackResult,
} from '../lib/fallback/index';
import { normalQuantile as evalNormalQuantile } from '../lib/eval/forecasters';
import { normalQuantile } from '../lib/fallback/normal';
import { anySeriesArb, bytesOf, outsideBytes, place, type FloatArray } from './arbitraries';
import { median, refSigma } from './reference';

const F32_MAX = 3.4028234663852886e38;
/** Standard normal quantiles of the TiRex levels 0.1..0.9 (to 1e-9; tables). */
const Z = [-1.2815515655446004, -0.8416212335729143, -0.5244005127080407, -0.2533471031357997, 0, 0.2533471031357997, 0.5244005127080407, 0.8416212335729143, 1.2815515655446004];

type AnyOptions = FallbackOptions & { window?: number; minPoints?: number; maxPairs?: number };
type Forecaster = (x: FloatArray, h: number, o?: AnyOptions) => FallbackResult;
const FORECASTERS: [FallbackMethod, Forecaster][] = [
  ['movingAverage', fallbackMovingAverage],
  ['robustTrend', fallbackRobustTrend],
  ['lastValue', fallbackLastValue],
];

function ok(r: FallbackResult): FallbackForecast {
  if (!r.ok) expect.fail(`${r.method} failed: ${r.reason}`);
  return r;
}

/** out[h - 1, k] for h = 1.., as an array of rows. */
function rows(q: Float32Array, levels = 9): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < q.length; i += levels) out.push(Array.from(q.subarray(i, i + levels)));
  return out;
}

/** A deterministic random walk (mulberry32 steps in [-0.5, 0.5)). */
function walk(n: number, start: number, stepScale: number, seed = 7): number[] {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const xs: number[] = [];
  let v = start;
  for (let i = 0; i < n; i++) {
    v += (rnd() - 0.5) * stepScale;
    xs.push(v);
  }
  return xs;
}

// --- An independent reference: plain arrays, all pairs, full sorts. ---------------------------

function finitePart(x: ArrayLike<number>): { v: number[]; t: number[] } {
  const v: number[] = [];
  const t: number[] = [];
  for (let i = 0; i < x.length; i++) {
    if (Number.isFinite(x[i])) {
      v.push(x[i]!);
      t.push(i - (x.length - 1));
    }
  }
  return { v, t };
}

/** Reference quantiles [h][k] from a center function and the realized volatility. */
function refBands(center: (h: number) => number, v: number[], horizon: number, z = Z): number[][] {
  const sr = refSigma(v);
  const floor = Math.max(1e-6 * Math.abs(center(1)), 1e-12);
  const sigma = sr >= floor ? sr : floor;
  return Array.from({ length: horizon }, (_, h) => z.map((zk) => center(h + 1) + zk * sigma * Math.sqrt(h + 1)));
}

function refMovingAverage(x: ArrayLike<number>, horizon: number, window = 20): number[][] {
  const { v } = finitePart(x);
  const w = v.slice(-window);
  const mean = w.reduce((s, y) => s + y, 0) / w.length;
  return refBands(() => mean, v, horizon);
}

function refTrend(x: ArrayLike<number>, horizon: number, window = 48): number[][] {
  const { v, t } = finitePart(x);
  const y = v.slice(-window);
  const tt = t.slice(-window);
  const slopes: number[] = [];
  for (let i = 0; i < y.length; i++) for (let j = i + 1; j < y.length; j++) slopes.push((y[j]! - y[i]!) / (tt[j]! - tt[i]!));
  const b = median(slopes);
  const a = median(y.map((yi, i) => yi - b * tt[i]!));
  return refBands((h) => a + b * h, v, horizon);
}

function refLastValue(x: ArrayLike<number>, horizon: number): number[][] {
  const { v } = finitePart(x);
  return refBands(() => v[v.length - 1]!, v, horizon);
}

function expectClose(got: Float32Array, want: number[][], relTol: number, context: string): void {
  const flat = want.flat();
  expect(got.length, context).toBe(flat.length);
  const scale = Math.max(...flat.map(Math.abs));
  for (let i = 0; i < flat.length; i++) {
    if (!(Math.abs(got[i]! - flat[i]!) <= relTol * scale)) {
      expect.fail(`${context}: element ${i} is ${got[i]}, expected ${flat[i]} (tolerance ${relTol * scale})`);
    }
  }
}

/** Levels non-decreasing within each row, every value finite. */
function expectOrderedFinite(q: Float32Array, levels: number, context: string): void {
  for (let i = 0; i < q.length; i++) {
    if (!Number.isFinite(q[i])) expect.fail(`${context}: element ${i} is ${q[i]}`);
    if (i % levels !== 0 && !(q[i - 1]! <= q[i]!)) expect.fail(`${context}: element ${i} (${q[i]}) below element ${i - 1} (${q[i - 1]})`);
  }
}

const width = (q: Float32Array, h: number) => q[(h - 1) * 9 + 8]! - q[(h - 1) * 9]!;

// ---------------------------------------------------------------------------------------------

describe('moving average', () => {
  it('is the mean of the last 20 finite points, the median of every row', () => {
    const x = Float64Array.from({ length: 25 }, (_, i) => i + 1); // mean of 6..25 = 15.5
    const r = ok(fallbackMovingAverage(x, 3));
    expect(r.info.center).toBe(15.5);
    expect(r.info.points).toBe(20);
    expect(rows(r.quantiles).map((row) => row[4])).toEqual([15.5, 15.5, 15.5]);
    expect(r.quantiles.length).toBe(27);
  });

  it('skips NaN and +-Inf, and averages fewer points when fewer exist', () => {
    const x = new Float32Array([1, NaN, 3, Infinity, 5, -Infinity]);
    const r = ok(fallbackMovingAverage(x, 1));
    expect(r.info.center).toBe(3);
    expect(r.info.points).toBe(3);
    expect(r.info.lastIndex).toBe(4);
    expect(ok(fallbackMovingAverage(x, 1, { window: 2 })).info.center).toBe(4);
  });

  it('bands are center + z * sigma * sqrt(h), sigma the sample std of the one-step changes', () => {
    // changes 1, 2, 3: mean 2, sample variance (1 + 0 + 1) / 2 = 1
    const r = ok(fallbackMovingAverage(new Float64Array([0, 1, 3, 6]), 4));
    expect(r.info.center).toBe(2.5);
    expect(r.info.realizedSigma).toBe(1);
    expect(r.info.sigma).toBe(1);
    expect(r.info.changes).toBe(3);
    expect(r.info.floored).toBe(false);
    const q = rows(r.quantiles);
    for (let k = 0; k < 9; k++) {
      expect(q[0]![k]).toBeCloseTo(2.5 + Z[k]!, 6);
      expect(q[3]![k]).toBeCloseTo(2.5 + 2 * Z[k]!, 6);
    }
  });
});

describe('robust trend (Theil-Sen)', () => {
  it('extrapolates a perfect line exactly', () => {
    const x = Float32Array.from({ length: 10 }, (_, i) => 3 + 2 * i);
    const r = ok(fallbackRobustTrend(x, 5));
    expect(r.info.slope).toBe(2);
    expect(r.info.center).toBe(23); // 3 + 2 * 10
    expect(r.info.pairs).toBe(45);
    expect(rows(r.quantiles).map((row) => row[4])).toEqual([23, 25, 27, 29, 31]);
  });

  it('counts time in context indices: a NaN tail is extrapolated over', () => {
    const x = new Float32Array([...Array.from({ length: 10 }, (_, i) => 3 + 2 * i), NaN, NaN]);
    const r = ok(fallbackRobustTrend(x, 2));
    expect(r.info.center).toBe(3 + 2 * 12);
    expect(r.quantiles[9 + 4]).toBe(3 + 2 * 13);
  });

  it('ignores outliers that would drag a least-squares line', () => {
    const y = Array.from({ length: 10 }, (_, i) => 3 + 2 * i);
    y[3] = 1000;
    y[7] = -500;
    const r = ok(fallbackRobustTrend(new Float64Array(y), 1));
    expect(r.info.slope).toBe(2);
    expect(r.info.center).toBe(23);
  });

  it('with more pairs than maxPairs, samples whole index distances deterministically and stays robust', () => {
    const y = Array.from({ length: 60 }, (_, i) => 100 - 0.25 * i);
    for (const i of [14, 20, 30, 41, 50]) y[i] = i % 2 ? 1e6 : -1e6; // 5 outliers in the last 48
    const r = ok(fallbackRobustTrend(new Float64Array(y), 3));
    expect(r.info.points).toBe(48);
    expect(r.info.pairs).toBe(47); // distances 24 and 25 (24 + 23 pairs)
    expect(r.info.slope).toBe(-0.25);
    expect(r.info.center).toBe(100 - 0.25 * 60);
    const again = ok(fallbackRobustTrend(new Float64Array(y), 3));
    expect(Array.from(again.quantiles)).toEqual(Array.from(r.quantiles));
    // the bound holds for long windows too (at least the first distance is always used)
    const long = ok(fallbackRobustTrend(new Float64Array(walk(3000, 50, 1)), 1, { window: 2000, maxPairs: 64 }));
    expect(long.info.pairs).toBe(1000);
    expect(ok(fallbackRobustTrend(new Float64Array(walk(3000, 50, 1)), 1, { window: 100, maxPairs: 200 })).info.pairs).toBe(50 + 49 + 51 + 48);
  });

  it('uses all pairs when asked, matching the all-pairs reference', () => {
    const x = new Float64Array(walk(300, 500, 2));
    x[290] = NaN;
    const r = ok(fallbackRobustTrend(x, 8, { maxPairs: 1128 }));
    expect(r.info.pairs).toBe(1128);
    expectClose(r.quantiles, refTrend(x, 8), 1e-6, 'trend');
  });

  it('needs 3 finite points', () => {
    const r = fallbackRobustTrend(new Float64Array([NaN, 1, Infinity, 2]), 4);
    expect(r).toEqual({ ok: false, method: 'robustTrend', reason: 'fewer than 3 finite points for the trend (found 2)', finitePoints: 2 });
    const three = ok(fallbackRobustTrend(new Float64Array([1, 2, 4]), 1));
    // slopes 1, 1.5, 3 -> 1.5; residuals at t = -2, -1, 0: 4, 3.5, 4 -> 4
    expect(three.info.slope).toBe(1.5);
    expect(three.info.center).toBe(5.5);
  });
});

describe('last value', () => {
  it('is the last finite value, NaN and Inf tail skipped', () => {
    const r = ok(fallbackLastValue(new Float32Array([1, 2, 3, NaN, Infinity, -Infinity, NaN]), 2));
    expect(r.info.center).toBe(3);
    expect(r.info.lastIndex).toBe(2);
    expect(r.quantiles[4]).toBe(3);
    expect(r.quantiles[13]).toBe(3);
  });
});

describe('bands', () => {
  const x = new Float32Array(walk(500, 100, 1));

  it.each(FORECASTERS)('%s: widen with sqrt(h): width at h = 4 is twice the width at h = 1', (_, f) => {
    const r = ok(f(x, 16));
    expect(width(r.quantiles, 4) / width(r.quantiles, 1)).toBeCloseTo(2, 3);
    expect(width(r.quantiles, 16) / width(r.quantiles, 1)).toBeCloseTo(4, 3);
    expect(r.info.floored).toBe(false);
  });

  it.each(FORECASTERS)('%s: scale with the volatility: doubling the noise doubles the width', (_, f) => {
    const noise = walk(200, 0, 10, 99);
    const one = ok(f(new Float64Array(noise.map((e) => 1000 + e)), 4));
    const two = ok(f(new Float64Array(noise.map((e) => 1000 + 2 * e)), 4));
    expect(two.info.sigma / one.info.sigma).toBeCloseTo(2, 9);
    for (const h of [1, 4]) expect(width(two.quantiles, h) / width(one.quantiles, h)).toBeCloseTo(2, 3);
  });

  it('match the reference for each method', () => {
    expectClose(ok(fallbackMovingAverage(x, 32)).quantiles, refMovingAverage(x, 32), 1e-6, 'moving average');
    expectClose(ok(fallbackLastValue(x, 32)).quantiles, refLastValue(x, 32), 1e-6, 'last value');
    expectClose(ok(fallbackRobustTrend(x, 32, { window: 11 })).quantiles, refTrend(x, 32, 11), 1e-6, 'trend');
  });

  it('use the last volWindow finite points (64 by default) for sigma', () => {
    // calm for 100 points, then 64 wild ones: sigma comes from the wild ones only
    const calm = walk(100, 10, 0.01);
    const wild = walk(64, 10, 10, 3);
    const both = new Float64Array([...calm, ...wild]);
    const r = ok(fallbackLastValue(both, 1));
    expect(r.info.changes).toBe(63);
    expect(r.info.realizedSigma).toBeCloseTo(refSigma(wild), 9);
    expect(ok(fallbackLastValue(both, 1, { volWindow: 164 })).info.realizedSigma).toBeCloseTo(refSigma([...both], 164), 9);
  });

  it('fall back to the floor when sigma is 0 or not computable, still ordered', () => {
    const flat = ok(fallbackMovingAverage(new Float32Array(30).fill(100), 2));
    expect(flat.info.realizedSigma).toBe(0);
    expect(flat.info.floored).toBe(true);
    expect(flat.info.sigma).toBeCloseTo(1e-4, 15);
    const q = flat.quantiles;
    for (let k = 1; k < 9; k++) expect(q[k]).toBeGreaterThan(q[k - 1]!);
    expect(q[4]).toBe(100);

    const zero = ok(fallbackLastValue(new Float64Array([0, 0, 0]), 1));
    expect(zero.info.sigma).toBe(1e-12);
    for (let k = 1; k < 9; k++) expect(zero.quantiles[k]).toBeGreaterThan(zero.quantiles[k - 1]!);

    const single = ok(fallbackLastValue(new Float64Array([NaN, -5, NaN]), 1));
    expect(single.info.changes).toBe(0);
    expect(Number.isNaN(single.info.realizedSigma)).toBe(true);
    expect(single.info.sigma).toBeCloseTo(5e-6, 15);
    // float32 at 5 resolves 4.8e-7: the width (1.28e-5) is right to a few percent
    expect((single.quantiles[8]! - single.quantiles[0]!) / (2 * 1.2815515655446004 * 5e-6)).toBeCloseTo(1, 1);
  });

  it('stay ordered for dense levels where the normal-quantile approximation switches regions', () => {
    // Acklam's approximation is monotone only to ~1e-9 around p = 0.02425 and 0.97575
    const levels = [0.02425, 0.97575].flatMap((p) => Array.from({ length: 128 }, (_, i) => p + (i - 64) * 2e-16));
    for (let s = 1; s <= 300; s++) {
      const x = new Float64Array([0, s * 1.2345, -s * 0.5, s * 0.75, 0]);
      const r = ok(fallbackMovingAverage(x, 3, { levels }));
      expectOrderedFinite(r.quantiles, levels.length, `scale ${s}`);
    }
  });

  it('use the last volWindow finite points even when the average window is longer', () => {
    const x = new Float64Array([...walk(150, 50, 4, 8), ...walk(10, 50, 0.1, 9)]);
    const r = ok(fallbackMovingAverage(x, 1, { window: 100, volWindow: 10 }));
    expect(r.info.points).toBe(100);
    expect(r.info.changes).toBe(9);
    expect(r.info.realizedSigma).toBeCloseTo(refSigma([...x], 10), 12);
  });

  it('honour custom levels ([horizon, levels] row-major)', () => {
    const r = ok(fallbackMovingAverage(new Float64Array([0, 1, 3, 6]), 2, { levels: [0.05, 0.5, 0.95] }));
    expect(r.levels).toBe(3);
    expect(r.quantiles.length).toBe(6);
    const z95 = 1.6448536269514722;
    const want = [2.5 - z95, 2.5, 2.5 + z95, 2.5 - z95 * Math.SQRT2, 2.5, 2.5 + z95 * Math.SQRT2];
    want.forEach((w, i) => expect(r.quantiles[i]).toBeCloseTo(w, 6));
  });
});

describe('prices', () => {
  it.each(FORECASTERS)('%s: float64 prices near 60000 match the reference', (method, f) => {
    const x = new Float64Array(walk(400, 60000.123456, 3, 11));
    x[397] = NaN;
    const r = ok(f(x, 32));
    const ref = method === 'movingAverage' ? refMovingAverage(x, 32) : method === 'lastValue' ? refLastValue(x, 32) : refTrend(x, 32, 11);
    if (method === 'robustTrend') expectClose(ok(f(x, 32, { window: 11 })).quantiles, ref, 2e-7, method);
    else expectClose(r.quantiles, ref, 2e-7, method);
    expectOrderedFinite(r.quantiles, 9, method);
    expect(r.quantiles[4]).toBe(Math.fround(r.info.center));
    expect(r.quantiles[8]! - r.quantiles[0]!).toBeGreaterThan(1);
  });

  it.each(FORECASTERS)('%s: prices near 1e-4 keep distinct, ordered, honest bands', (method, f) => {
    const x = new Float64Array(walk(400, 1e-4, 1e-7, 5));
    const r = ok(f(x, 4));
    expect(r.info.floored).toBe(false);
    expect(r.info.sigma).toBeCloseTo(refSigma(finitePart(x).v), 15);
    const q = r.quantiles;
    for (let k = 1; k < 9; k++) expect(q[k]).toBeGreaterThan(q[k - 1]!);
    if (method !== 'robustTrend') expectClose(q, method === 'movingAverage' ? refMovingAverage(x, 4) : refLastValue(x, 4), 2e-7, method);
  });

  it('float64 values beyond the float32 range are clamped, finite and ordered', () => {
    for (const x of [
      new Float64Array([1e308, -1e308, 1e308, -1e308]),
      new Float64Array([Number.MAX_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE]),
      new Float64Array([1e39, 2e39, 3e39, 4e39]),
      new Float64Array([-1e300, 1e300, 5]),
    ]) {
      for (const [method, f] of FORECASTERS) {
        const r = ok(f(x, 8));
        expectOrderedFinite(r.quantiles, 9, `${method} ${x.join(',')}`);
        expect(r.info.clamped).toBeGreaterThan(0);
        expect(Number.isFinite(r.info.center) && Number.isFinite(r.info.sigma)).toBe(true);
      }
    }
    // the trend of 1e39, 2e39, ... is 1e39 per step, computed on rescaled values
    const t = ok(fallbackRobustTrend(new Float64Array([1e300, 2e300, 3e300, 4e300]), 1));
    expect(t.info.slope / 1e300).toBeCloseTo(1, 12);
    expect(t.info.center / 5e300).toBeCloseTo(1, 12);
    expect(t.quantiles[4]).toBe(F32_MAX);
  });
});

describe('degenerate inputs', () => {
  const noFinite = [new Float32Array(0), new Float64Array(0), new Float32Array([NaN]), new Float64Array([NaN, Infinity, -Infinity, NaN])];

  it.each(FORECASTERS)('%s: no finite value: ok false with a reason, nothing written', (method, f) => {
    for (const x of noFinite) {
      const out = new Float32Array(18).fill(-7);
      const r = f(x, 2, { out });
      expect(r).toEqual({ ok: false, method, reason: 'no finite value in the context', finitePoints: 0 });
      expect(Array.from(out)).toEqual(new Array(18).fill(-7));
    }
  });

  it('lengths 1 to 3', () => {
    const one = new Float32Array([42]);
    expect(ok(fallbackMovingAverage(one, 3)).info.center).toBe(42);
    expect(ok(fallbackLastValue(one, 3)).info.center).toBe(42);
    expect(fallbackRobustTrend(one, 3).ok).toBe(false);
    const two = new Float32Array([42, 44]);
    expect(ok(fallbackMovingAverage(two, 1)).info.center).toBe(43);
    expect(ok(fallbackMovingAverage(two, 1)).info.floored).toBe(true); // one change: no sample std
    expect(fallbackRobustTrend(two, 1).ok).toBe(false);
    const three = new Float32Array([42, 44, 46]);
    expect(ok(fallbackRobustTrend(three, 1)).info.center).toBe(48);
    expect(ok(fallbackMovingAverage(three, 1)).info.realizedSigma).toBe(0);
    for (const x of [one, two, three]) for (const [method, f] of FORECASTERS) {
      if (method === 'robustTrend' && x.length < 3) continue; // fails, checked above
      expectOrderedFinite(ok(f(x, 5)).quantiles, 9, `${method} length ${x.length}`);
    }
  });

  it('unaligned subarray views give the same bytes as an aligned copy and never read outside', () => {
    const values = walk(300, 100, 1, 21);
    values[299] = NaN;
    values[150] = Infinity;
    const base = place(values, 'f32', { offset: 0, tail: 0 });
    for (const offset of [1, 2, 3, 5, 7]) {
      const view = place(values, 'f32', { offset, tail: 3 }); // guards (NaN, Inf, 12345.5, ...) around it
      expect(view.byteOffset).toBe(offset * 4);
      for (const [method, f] of FORECASTERS) {
        const a = ok(f(view, 6));
        const b = ok(f(base, 6));
        expect(Array.from(a.quantiles), `${method} offset ${offset}`).toEqual(Array.from(b.quantiles));
        expect(a.info).toEqual(b.info);
      }
    }
    const f64 = place(values, 'f64', { offset: 3, tail: 2 });
    expectClose(ok(fallbackMovingAverage(f64, 3)).quantiles, refMovingAverage(values, 3), 1e-6, 'f64 view');
  });

  it('results do not depend on earlier calls (scratch is reused safely)', () => {
    const small = new Float64Array([5, NaN, 6, 8]);
    const first = [ok(fallbackRobustTrend(small, 3)), ok(fallbackMovingAverage(small, 3)), ok(fallbackLastValue(small, 3))];
    // a long, extreme call in between grows and dirties the scratch
    const big = new Float64Array(walk(5000, 1e305, 1e305));
    expect(fallbackRobustTrend(big, 3, { window: 3000, maxPairs: 5000 }).ok).toBe(true);
    expect(fallbackMovingAverage(big, 3, { window: 4000, volWindow: 4500 }).ok).toBe(true);
    const again = [ok(fallbackRobustTrend(small, 3)), ok(fallbackMovingAverage(small, 3)), ok(fallbackLastValue(small, 3))];
    for (let i = 0; i < 3; i++) {
      expect(Array.from(again[i]!.quantiles)).toEqual(Array.from(first[i]!.quantiles));
      expect(again[i]!.info).toEqual(first[i]!.info);
    }
  });
});

describe('arguments', () => {
  const x = new Float32Array([1, 2, 3, 4]);

  it.each(FORECASTERS)('%s: writes into the caller\'s out, checks it', (_, f) => {
    const out = new Float32Array(40).fill(-1);
    const r = ok(f(x, 4, { out }));
    expect(r.quantiles).toBe(out);
    expect(out[35]).not.toBe(-1);
    expect(out[36]).toBe(-1); // only [H, Q] written
    expect(() => f(x, 5, { out })).toThrow(expect.objectContaining({ code: 'TG_BUFFER_TOO_SHORT' }));
    expect(() => f(x, 1, { out: new Float64Array(9) as unknown as Float32Array })).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
  });

  it.each(FORECASTERS)('%s: rejects bad contexts, horizons and levels with coded errors', (_, f) => {
    expect(() => f([1, 2, 3] as unknown as Float32Array, 1)).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
    expect(() => f(new Int32Array(3) as unknown as Float32Array, 1)).toThrow(TypeError);
    for (const h of [0, -1, 1.5, NaN]) expect(() => f(x, h)).toThrow(expect.objectContaining({ code: 'TG_OUT_OF_RANGE' }));
    expect(() => f(x, '2' as unknown as number)).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
    for (const levels of [[], [0.5, 0.5], [0.6, 0.4], [0, 0.5], [0.5, 1], [NaN]]) {
      expect(() => f(x, 1, { levels }), JSON.stringify(levels)).toThrow(expect.objectContaining({ code: 'TG_OUT_OF_RANGE' }));
    }
    expect(() => f(x, 1, { volWindow: 1 })).toThrow(expect.objectContaining({ code: 'TG_OUT_OF_RANGE' }));
    const detached = new Float32Array(8);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(() => f(detached, 1)).toThrow(expect.objectContaining({ code: 'TG_DETACHED_BUFFER' }));
  });
});

describe('fallbackChain', () => {
  const prices = new Float32Array(walk(200, 100, 1, 4));

  it('follows the SPEC order: moving average first', () => {
    expect(FALLBACK_ORDER).toEqual(['movingAverage', 'robustTrend', 'lastValue']);
    const r = fallbackChain(prices, 8);
    if (!r.ok) expect.fail(r.reason);
    expect(r.method).toBe('movingAverage');
    expect(r.steps).toEqual([{ method: 'movingAverage', ok: true }]);
    expect(Array.from(r.quantiles)).toEqual(Array.from(ok(fallbackMovingAverage(prices, 8)).quantiles));
    expect(r.info).toEqual(ok(fallbackMovingAverage(prices, 8)).info);
  });

  it('steps down with a reason for each step', () => {
    const sparse = new Float64Array([NaN, 10, NaN, 12, NaN]);
    const r = fallbackChain(sparse, 3, { movingAverage: { minPoints: 5 } });
    if (!r.ok) expect.fail(r.reason);
    expect(r.method).toBe('lastValue');
    expect(r.steps).toEqual([
      { method: 'movingAverage', ok: false, reason: 'fewer than 5 finite points for the moving average (found 2)' },
      { method: 'robustTrend', ok: false, reason: 'fewer than 3 finite points for the trend (found 2)' },
      { method: 'lastValue', ok: true },
    ]);
    expect(r.info.center).toBe(12);
    expect(Array.from(r.quantiles)).toEqual(Array.from(ok(fallbackLastValue(sparse, 3)).quantiles));
  });

  it('honours a custom order and the method options', () => {
    const two = new Float64Array([1, 3]);
    const r = fallbackChain(two, 1, { order: ['robustTrend', 'movingAverage'] });
    if (!r.ok) expect.fail(r.reason);
    expect(r.method).toBe('movingAverage');
    expect(r.steps.map((s) => s.method)).toEqual(['robustTrend', 'movingAverage']);
    expect(r.info.center).toBe(2);
    const t = fallbackChain(prices, 2, { order: ['robustTrend'], robustTrend: { window: 11 } });
    if (!t.ok) expect.fail(t.reason);
    expect(t.info.points).toBe(11);
    expect(Array.from(t.quantiles)).toEqual(Array.from(ok(fallbackRobustTrend(prices, 2, { window: 11 })).quantiles));
  });

  it('reports ok false when every step fails, writing nothing', () => {
    const out = new Float32Array(9).fill(3);
    const r = fallbackChain(new Float32Array([NaN, Infinity]), 1, { out });
    expect(r).toEqual({
      ok: false,
      reason: 'movingAverage: no finite value in the context; robustTrend: no finite value in the context; lastValue: no finite value in the context',
      steps: FALLBACK_ORDER.map((method) => ({ method, ok: false, reason: 'no finite value in the context' })),
    });
    expect(Array.from(out)).toEqual(new Array(9).fill(3));
  });

  it('checks its options before any step', () => {
    expect(() => fallbackChain(prices, 1, { order: [] })).toThrow(expect.objectContaining({ code: 'TG_OUT_OF_RANGE' }));
    expect(() => fallbackChain(prices, 1, { order: ['seasonal' as FallbackMethod] })).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
    expect(() => fallbackChain(prices, 1, { robustTrend: { minPoints: 1 } })).toThrow(expect.objectContaining({ code: 'TG_OUT_OF_RANGE' }));
    expect(() => fallbackChain(prices, 1, { movingAverage: { window: 0 } })).toThrow(expect.objectContaining({ code: 'TG_OUT_OF_RANGE' }));
    expect(() => fallbackChain(prices, 0)).toThrow(expect.objectContaining({ code: 'TG_OUT_OF_RANGE' }));
  });

  it('exposes its defaults', () => {
    expect(FALLBACK_DEFAULTS).toMatchObject({ movingAverageWindow: 20, trendWindow: 48, trendMinPoints: 3, volWindow: 64 });
    expect(TIREX_QUANTILE_LEVELS).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
  });
});

describe('normal quantile', () => {
  it('is the evaluation\'s function (a copy, so the fallback loads no model module), to table accuracy', () => {
    for (let i = 1; i < 1000; i++) expect(normalQuantile(i / 1000)).toBe(evalNormalQuantile(i / 1000));
    for (const p of [1e-300, 1e-12, 0.02425, 0.975, 1 - 1e-12]) expect(normalQuantile(p)).toBe(evalNormalQuantile(p));
    TIREX_QUANTILE_LEVELS.forEach((p, k) => expect(normalQuantile(p)).toBeCloseTo(Z[k]!, 8));
    expect(normalQuantile(0.5)).toBe(0);
  });
});

describe('properties', () => {
  const levelsArb = fc.oneof(
    fc.constant(undefined),
    fc
      .uniqueArray(fc.double({ min: 1e-9, max: 1 - 1e-9, noNaN: true }), { minLength: 1, maxLength: 12 })
      .map((ls) => [...new Set([...ls, 0.5])].sort((a, b) => a - b)),
  );

  it('any input with a finite value: ok, finite, non-decreasing levels, median == center, input untouched', () => {
    // How often each conditional check ran: each must have run (a check that never runs cannot fail).
    const ran = { failed: 0, forecast: 0, flatMedians: 0, lastValue: 0 };
    fc.assert(
      fc.property(
        anySeriesArb(),
        fc.integer({ min: 1, max: 40 }),
        levelsArb,
        fc.constantFrom<FallbackMethod | 'chain'>('movingAverage', 'robustTrend', 'lastValue', 'chain'),
        (c, horizon, levels, which) => {
          const before = bytesOf(c.data);
          const around = outsideBytes(c.data);
          const q = levels?.length ?? 9;
          const mid = (levels ?? TIREX_QUANTILE_LEVELS).indexOf(0.5);
          const out = new Float32Array(horizon * q + 2).fill(-9);
          const r =
            which === 'chain'
              ? fallbackChain(c.data, horizon, { levels, out })
              : FORECASTERS.find(([m]) => m === which)![1](c.data, horizon, { levels, out });
          expect(bytesOf(c.data)).toEqual(before);
          expect(outsideBytes(c.data)).toEqual(around);
          const finite = c.values.filter(Number.isFinite);
          const needed = which === 'robustTrend' ? 3 : 1;
          if (finite.length < needed) {
            ran.failed++;
            expect(r.ok).toBe(false);
            expect(Array.from(out)).toEqual(new Array(out.length).fill(-9));
            return;
          }
          ran.forecast++;
          if (!r.ok) expect.fail(r.reason);
          expect(r.quantiles).toBe(out);
          expect(out[horizon * q]).toBe(-9);
          expectOrderedFinite(out.subarray(0, horizon * q), q, 'out');
          const center = r.info.center;
          expect(Number.isFinite(center)).toBe(true);
          expect(r.info.sigma).toBeGreaterThan(0);
          // The median level is the center, clamped to the float32 range. == rather than
          // Object.is: a center of -0 comes out as +0 (-0 + 0 * s).
          const median = Math.abs(center) <= F32_MAX ? Math.fround(center) : Math.sign(center) * F32_MAX;
          expect(out[mid] === median, `median ${out[mid]} vs center ${center}`).toBe(true);
          if (r.method !== 'robustTrend') {
            ran.flatMedians++;
            for (let h = 0; h < horizon; h++) expect(out[h * q + mid] === median).toBe(true);
          }
          if (r.method === 'lastValue') {
            ran.lastValue++;
            expect(center).toBe(finite[finite.length - 1]);
          }
        },
      ),
      { numRuns: 600 },
    );
    for (const [what, n] of Object.entries(ran)) expect(n, what).toBeGreaterThan(0);
  });

  it('shifting a float64 series shifts the forecast, scaling it scales the bands', () => {
    let unfloored = 0; // runs that checked the sigmas
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -1000, max: 1000 }), { minLength: 3, maxLength: 120 }),
        fc.integer({ min: -50, max: 50 }),
        fc.constantFrom(...FORECASTERS),
        (ints, shift, [method, f]) => {
          const x = new Float64Array(ints.map((i) => i / 8)); // exact in float64
          const a = ok(f(x, 3));
          const b = ok(f(x.map((v) => v + shift), 3));
          const c = ok(f(x.map((v) => v * 4), 3));
          expect(b.info.center, method).toBeCloseTo(a.info.center + shift, 9);
          if (!a.info.floored) {
            unfloored++;
            expect(b.info.sigma).toBeCloseTo(a.info.sigma, 9);
            expect(c.info.sigma).toBeCloseTo(4 * a.info.sigma, 9);
          }
          expect(c.info.center).toBeCloseTo(4 * a.info.center, 9);
        },
      ),
      { numRuns: 300 },
    );
    expect(unfloored).toBeGreaterThan(0);
  });
});
