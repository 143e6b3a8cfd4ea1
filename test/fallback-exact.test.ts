// Exact outputs of the fallback forecasters on small crafted series, against a plain reference
// written here (sorts, textbook sample standard deviation, the documented pair sampling), with
// series chosen so that both sides compute the same doubles: every quantile and every info field
// is compared exactly. Also the exact errors, the scratch growth on long windows, the selection
// behind the Theil-Sen medians, and the float32 clamping at its very edges. Written against the
// surviving mutants of lib/fallback (npm run test:mutation -- fallback).
import { describe, expect, it } from 'vitest';

import { fallbackChain, fallbackLastValue, fallbackMovingAverage, fallbackRobustTrend, TIREX_QUANTILE_LEVELS, type FallbackInfo, type FallbackResult } from '../lib/fallback/index';
import { normalQuantile } from '../lib/fallback/normal';
import { medianInPlace, selectKth } from '../lib/fallback/select';
import { normalQuantile as evalNormalQuantile } from '../lib/eval/forecasters';
import { median, refSigma } from './reference';

const F32_MAX = 3.4028234663852886e38;
const MAX = Number.MAX_VALUE;
const SAFE = Number.MAX_SAFE_INTEGER;

// --- reference ----------------------------------------------------------------------------------

function finitePart(x: ArrayLike<number>): { v: number[]; t: number[]; lastIndex: number } {
  const v: number[] = [];
  const t: number[] = [];
  let lastIndex = -1;
  for (let i = 0; i < x.length; i++) {
    if (Number.isFinite(x[i])) {
      v.push(x[i]!);
      t.push(i - (x.length - 1));
      lastIndex = i;
    }
  }
  return { v, t, lastIndex };
}

/** Quantiles [h][k] = center(h) + z_k * sigma * sqrt(h), as float32, z from the evaluation's copy. */
function refQuantiles(center: (h: number) => number, sigma: number, horizon: number, levels = TIREX_QUANTILE_LEVELS): number[] {
  const out: number[] = [];
  for (let h = 1; h <= horizon; h++) for (const p of levels) out.push(Math.fround(center(h) + evalNormalQuantile(p) * (sigma * Math.sqrt(h))));
  return out;
}

/** The pair distances the trend uses: all when they fit in maxPairs; else half the window
 * first, then half + 1, half - 1, half + 2, ..., each whole distance taken only if it fits. */
function refLags(m: number, maxPairs: number): number[] {
  if ((m * (m - 1)) / 2 <= maxPairs) return Array.from({ length: m - 1 }, (_, i) => i + 1);
  const half = Math.floor(m / 2);
  const lags: number[] = [];
  let pairs = 0;
  for (let d = 0; ; d++) {
    let used = 0;
    for (const lag of d === 0 ? [half] : [half + d, half - d]) {
      if (lag < 1 || lag >= m || (pairs > 0 && pairs + (m - lag) > maxPairs)) continue;
      lags.push(lag);
      pairs += m - lag;
      used++;
    }
    if (used === 0) return lags;
  }
}

function refTrend(x: ArrayLike<number>, window = 48, maxPairs = 64): { a: number; b: number; pairs: number; points: number } {
  const { v, t } = finitePart(x);
  const y = v.slice(-window);
  const tt = t.slice(-window);
  const slopes: number[] = [];
  for (const lag of refLags(y.length, maxPairs)) for (let i = 0; i + lag < y.length; i++) slopes.push((y[i + lag]! - y[i]!) / (tt[i + lag]! - tt[i]!));
  const b = median(slopes);
  return { a: median(y.map((yi, i) => yi - b * tt[i]!)), b, pairs: slopes.length, points: y.length };
}

function ok(r: FallbackResult) {
  if (!r.ok) expect.fail(`${r.method} failed: ${r.reason}`);
  return r;
}

function info(method: FallbackInfo['method'], fields: Omit<FallbackInfo, 'method' | 'clamped' | 'floored' | 'slope' | 'pairs' | 'sigmaSource'> & Partial<FallbackInfo>): FallbackInfo {
  // Without a caller's sigmaRelative, sigma is the realized volatility or the floor.
  return { method, slope: 0, pairs: 0, floored: false, clamped: 0, ...fields, sigmaSource: fields.sigmaSource ?? (fields.floored ? 'floor' : 'realized') };
}

// --- exact outputs --------------------------------------------------------------------------------

describe('exact outputs on small crafted series', () => {
  // changes 2, -1, 4, -2 (mean 3/4 exactly): the same doubles however the deviation is summed
  const x = new Float64Array([2, 4, 3, 7, 5]);
  const sigma = refSigma([2, 4, 3, 7, 5]);

  it('moving average: the mean of the last `window` finite points', () => {
    const r = ok(fallbackMovingAverage(x, 3, { window: 3 }));
    expect([r.method, r.horizon, r.levels]).toEqual(['movingAverage', 3, 9]);
    expect(Array.from(r.quantiles)).toEqual(refQuantiles(() => 5, sigma, 3));
    expect(r.info).toEqual(info('movingAverage', { center: 5, points: 3, finitePoints: 5, lastIndex: 4, changes: 4, realizedSigma: sigma, sigma }));
    // non-finite values are skipped; a change across a gap is one step
    const gappy = ok(fallbackMovingAverage(new Float64Array([2, NaN, 4, 3, Infinity, 7, 5, -Infinity]), 3, { window: 3 }));
    expect(Array.from(gappy.quantiles)).toEqual(Array.from(r.quantiles));
    expect(gappy.info).toEqual({ ...r.info, lastIndex: 6 });
  });

  it('last value: the last finite value', () => {
    const r = ok(fallbackLastValue(x, 2));
    expect([r.method, r.info.method]).toEqual(['lastValue', 'lastValue']);
    expect(Array.from(r.quantiles)).toEqual(refQuantiles(() => 5, sigma, 2));
    expect(r.info).toEqual(info('lastValue', { center: 5, points: 1, finitePoints: 5, lastIndex: 4, changes: 4, realizedSigma: sigma, sigma }));
  });

  it('robust trend with all pairs: Theil-Sen slope, median residual, extrapolated', () => {
    const y = [1, 3, 2, 6, 5];
    const ref = refTrend(y);
    expect(ref).toEqual({ a: 6, b: 1.25, pairs: 10, points: 5 }); // slopes: 2 -0.5 2.5 0.5 2 1.5 1 4 1 -1
    const r = ok(fallbackRobustTrend(new Float64Array(y), 3));
    const s = refSigma(y);
    expect(Array.from(r.quantiles)).toEqual(refQuantiles((h) => 6 + 1.25 * h, s, 3));
    expect(r.info).toEqual(info('robustTrend', { center: 7.25, slope: 1.25, points: 5, finitePoints: 5, lastIndex: 4, pairs: 10, changes: 4, realizedSigma: s, sigma: s }));
  });

  it('robust trend with two points (minPoints 2): the line through them', () => {
    const r = ok(fallbackRobustTrend(new Float64Array([1, 3]), 2, { minPoints: 2 }));
    expect(r.info).toEqual(info('robustTrend', { center: 5, slope: 2, points: 2, finitePoints: 2, lastIndex: 1, pairs: 1, changes: 1, realizedSigma: NaN, sigma: 1e-6 * 5, floored: true }));
    expect(Array.from(r.quantiles)).toEqual(refQuantiles((h) => 3 + 2 * h, 1e-6 * 5, 2));
  });

  it.each([
    // [maxPairs, pairs used]: m = 5 has 10 pairs; distances 2 (3 pairs), 3 (2), 1 (4), 4 (1)
    [10, 10],
    [9, 9], // 2, 3, then 1 fits exactly
    [8, 6], // 2, 3, (1 does not fit), 4
    [3, 3], // 2 only: 3 would make 5
    [1, 3], // the first distance is always used whole
  ])('robust trend sampling whole distances: maxPairs %i uses %i pairs', (maxPairs, pairs) => {
    const y = [4, 1, 7, 2, 9];
    const ref = refTrend(y, 48, maxPairs);
    expect(ref.pairs).toBe(pairs);
    const r = ok(fallbackRobustTrend(new Float64Array(y), 2, { maxPairs }));
    expect(r.info).toMatchObject({ pairs, slope: ref.b, center: ref.a + ref.b });
    expect(Array.from(r.quantiles)).toEqual(refQuantiles((h) => ref.a + ref.b * h, refSigma(y), 2));
  });

  it('a flat trend has slope +0, never -0; a last value of -0 stays -0', () => {
    const r = ok(fallbackRobustTrend(new Float64Array([0, 0, -0]), 1));
    expect(Object.is(r.info.slope, 0)).toBe(true);
    expect(Object.is(ok(fallbackLastValue(new Float64Array([1, -0]), 1)).info.center, -0)).toBe(true);
  });

  it('the sigma floor is used only below it: a realized sigma equal to the floor is not floored', () => {
    // changes 1, 2, 3: sigma 1; the floor is 1e-6 * 1e6 = 1
    const r = ok(fallbackLastValue(new Float64Array([1e6 - 6, 1e6 - 5, 1e6 - 3, 1e6]), 1));
    expect(r.info).toMatchObject({ realizedSigma: 1, sigma: 1, floored: false });
    const below = ok(fallbackLastValue(new Float64Array([2e6 - 6, 2e6 - 5, 2e6 - 3, 2e6]), 1));
    expect(below.info).toMatchObject({ realizedSigma: 1, sigma: 2, floored: true });
  });

  it('the moving average fails below minPoints with its own method and reason', () => {
    expect(fallbackMovingAverage(new Float64Array([1, NaN, 2]), 1, { minPoints: 3 })).toEqual({
      ok: false, method: 'movingAverage', reason: 'fewer than 3 finite points for the moving average (found 2)', finitePoints: 2,
    });
  });
});

// --- long windows: the scratch grows ---------------------------------------------------------------

/** A deterministic series with distinct values (a Weyl sequence plus a drift). */
const series = (n: number): Float64Array => Float64Array.from({ length: n }, (_, i) => ((i * 0.6180339887498949) % 1) * 100 + i * 0.01);

describe('long windows', () => {
  it('all pairs beyond the initial scratch (4950 slopes)', () => {
    const x = series(120);
    const ref = refTrend(x, 100, 5000);
    const r = ok(fallbackRobustTrend(x, 1, { window: 100, maxPairs: 5000 }));
    expect(r.info).toMatchObject({ pairs: 4950, points: 100, slope: ref.b, center: ref.a + ref.b });
  });

  it('sampled pairs beyond the scratch (59994 of 79800 slopes)', () => {
    const x = series(400);
    const ref = refTrend(x, 400, 60_000);
    expect(ref.pairs).toBe(59_994); // distances 200, 201, 199, ... until neither side of one fits
    const r = ok(fallbackRobustTrend(x, 1, { window: 400, maxPairs: 60_000 }));
    expect(r.info).toMatchObject({ pairs: 59_994, points: 400, slope: ref.b, center: ref.a + ref.b });
  });

  it('a volatility window beyond the gathered scratch (5000 points)', () => {
    const x = series(6000);
    const v = Array.from(x);
    const r = ok(fallbackLastValue(x, 1, { volWindow: 5000 }));
    expect(r.info).toMatchObject({ changes: 4999, finitePoints: 5000, center: v[5999] });
    expect(Math.abs(r.info.realizedSigma / refSigma(v, 5000) - 1)).toBeLessThan(1e-12);
    const ma = ok(fallbackMovingAverage(x, 1, { window: 5500, volWindow: 10 }));
    expect(ma.info).toMatchObject({ points: 5500, finitePoints: 5500, changes: 9 });
    expect(Math.abs(ma.info.center / (v.slice(-5500).reduce((s, y) => s + y, 0) / 5500) - 1)).toBeLessThan(1e-14);
  });
});

// --- extremes --------------------------------------------------------------------------------------

describe('float64 extremes', () => {
  it('values near the float64 limit are rescaled: changes are computed, not overflowed', () => {
    // sigma of changes 2e300, -1e300, 3e300, computed on values / 1e300 and scaled back
    const cases: [string, number[]][] = [
      ['positive', [1e300, 3e300, 2e300, 5e300]],
      ['negative', [-1e300, -3e300, -2e300, -5e300]],
      ['small oldest', [1, 3e300, 2e300, 5e300]],
    ];
    for (const [name, v] of cases) {
      const r = ok(fallbackLastValue(new Float64Array(v), 1));
      const want = refSigma(v.map((y) => y / 1e300)) * 1e300;
      expect(Math.abs(r.info.realizedSigma / want - 1), name).toBeLessThan(1e-12);
    }
  });

  it('centers beyond the float64 range are clamped to it, on the right side', () => {
    const up = ok(fallbackRobustTrend(new Float64Array([-MAX, -MAX, MAX]), 1));
    expect([up.info.center, up.info.slope]).toEqual([MAX, MAX]);
    const down = ok(fallbackRobustTrend(new Float64Array([MAX, MAX, -MAX]), 1));
    expect([down.info.center, down.info.slope]).toEqual([-MAX, -MAX]);
  });

  it('a center beyond the float32 range puts every band at that end (no band flips sign)', () => {
    for (const [c, end] of [[1e308, F32_MAX], [-1e308, -F32_MAX], [MAX, F32_MAX], [-MAX, -F32_MAX]]) {
      const r = ok(fallbackLastValue(new Float64Array([c!]), 2));
      expect(Array.from(r.quantiles), String(c)).toEqual(new Array(18).fill(end));
      expect(r.info).toMatchObject({ clamped: 18, floored: true, sigma: Math.min(1e-6 * Math.abs(c!), 1e302) }); // the floor, capped
    }
  });

  it('at the float32 limit exactly: the value is kept, only what lies beyond is clamped', () => {
    for (const c of [F32_MAX, -F32_MAX]) {
      const r = ok(fallbackLastValue(new Float64Array([c]), 1));
      const s = 1e-6 * F32_MAX;
      const want = TIREX_QUANTILE_LEVELS.map((p) => Math.max(-F32_MAX, Math.min(F32_MAX, c + evalNormalQuantile(p) * s)));
      expect(Array.from(r.quantiles)).toEqual(want.map(Math.fround));
      expect(r.quantiles[4]).toBe(c);
      expect(r.info.clamped).toBe(4); // the four levels beyond the center's side, not the center
    }
  });

  it('asymmetric levels: the widest level decides whether a row may overflow', () => {
    // sigma = sqrt(2) * 4e37: 3e38 + 1.28 * 5.66e37 and 3e38 + 0.84 * 5.66e37 lie beyond F32_MAX.
    // Four levels first, then two: the level table is scratch, reused across calls.
    const low = [0.1, 0.2, 0.3, 0.4];
    const l = ok(fallbackLastValue(new Float64Array([-3e38, -3.4e38, -3e38]), 1, { levels: low }));
    const s = refSigma([-3e38, -3.4e38, -3e38]);
    expect(Array.from(l.quantiles)).toEqual(low.map((p) => Math.fround(Math.max(-F32_MAX, -3e38 + evalNormalQuantile(p) * s))));
    expect(Array.from(l.quantiles).slice(0, 2)).toEqual([-F32_MAX, -F32_MAX]);
    expect(l.info.clamped).toBe(2);
    const r = ok(fallbackLastValue(new Float64Array([3e38, 3.4e38, 3e38]), 1, { levels: [0.5, 0.9] }));
    expect(Array.from(r.quantiles)).toEqual([Math.fround(3e38), F32_MAX]);
    expect(r.info.clamped).toBe(1);
  });
});

// --- levels ----------------------------------------------------------------------------------------

describe('levels', () => {
  it('levels a hair apart where the approximation is not monotone give equal, not crossing, bands', () => {
    const [p1, p2] = [0.02425, 0.024250000000000202];
    const [z1, z2] = [evalNormalQuantile(p1), evalNormalQuantile(p2)];
    expect(z2).toBeLessThan(z1); // the approximation steps back here
    // sigma chosen so that a float32 rounding midpoint lies between z2 * sigma and z1 * sigma:
    // crossing bands would round to different float32 values
    const mid = -(1 + 2 ** -24);
    const a = mid / ((z1 + z2) / 2) / Math.SQRT2; // changes a, -a: sigma = a * sqrt(2)
    expect(Math.fround(z1 * a * Math.SQRT2)).not.toBe(Math.fround(z2 * a * Math.SQRT2));
    const r = ok(fallbackLastValue(new Float64Array([0, a, 0]), 1, { levels: [p1, p2] }));
    expect(Array.from(r.quantiles)).toEqual([-1, -1]);
  });

  it('the normal quantile is the evaluation\'s function at the region edges', () => {
    for (const p of [0.02425, 1 - 0.02425, 0.5, 0.9, 0.975, 0.99]) expect(normalQuantile(p), String(p)).toBe(evalNormalQuantile(p));
    expect(Object.is(normalQuantile(0.5), 0)).toBe(true);
  });

  it.each([
    ['not an array', 'abc', 'TG_INVALID_ARGUMENT', 'levels must be an array of numbers'],
    ['empty', [], 'TG_OUT_OF_RANGE', 'levels must not be empty'],
    ['a string level', ['0.5'], 'TG_INVALID_ARGUMENT', 'levels[0] must be a number'],
    ['0', [0], 'TG_OUT_OF_RANGE', 'levels[0] must be in (0, 1), got 0'],
    ['1', [0.5, 1], 'TG_OUT_OF_RANGE', 'levels[1] must be in (0, 1), got 1'],
    ['decreasing', [0.3, 0.2], 'TG_OUT_OF_RANGE', 'levels must increase strictly (index 1)'],
  ])('rejects levels: %s', (_name, levels, code, message) => {
    expect(() => fallbackLastValue(new Float64Array([1]), 1, { levels: levels as number[] })).toThrow(expect.objectContaining({ code, message }));
  });
});

// --- argument errors -------------------------------------------------------------------------------

describe('exact argument errors', () => {
  const x = new Float64Array([1, 2, 3]);
  const detached = new Float32Array(4);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  it.each([
    ['context', () => fallbackLastValue([1] as unknown as Float64Array, 1), 'TG_INVALID_ARGUMENT', 'context must be a Float32Array or Float64Array, got Array'],
    ['detached context', () => fallbackLastValue(detached, 1), 'TG_DETACHED_BUFFER', 'context is backed by a detached ArrayBuffer'],
    ['horizon', () => fallbackLastValue(x, 0), 'TG_OUT_OF_RANGE', 'horizon must be an integer in [1, 16777216], got number 0'],
    ['volWindow', () => fallbackLastValue(x, 1, { volWindow: 1 }), 'TG_OUT_OF_RANGE', `volWindow must be an integer in [2, ${SAFE}], got number 1`],
    ['out type', () => fallbackLastValue(x, 1, { out: new Float64Array(9) as unknown as Float32Array }), 'TG_INVALID_ARGUMENT', 'out must be a Float32Array, got Float64Array'],
    ['out length', () => fallbackLastValue(x, 2, { out: new Float32Array(9) }), 'TG_BUFFER_TOO_SHORT', 'out holds 9 elements, needs 18'],
    ['MA window', () => fallbackMovingAverage(x, 1, { window: 0 }), 'TG_OUT_OF_RANGE', `window must be an integer in [1, ${SAFE}], got number 0`],
    ['MA minPoints', () => fallbackMovingAverage(x, 1, { minPoints: 0 }), 'TG_OUT_OF_RANGE', `minPoints must be an integer in [1, ${SAFE}], got number 0`],
    ['trend window', () => fallbackRobustTrend(x, 1, { window: 1 }), 'TG_OUT_OF_RANGE', `window must be an integer in [2, ${SAFE}], got number 1`],
    ['trend minPoints', () => fallbackRobustTrend(x, 1, { minPoints: 1 }), 'TG_OUT_OF_RANGE', `minPoints must be an integer in [2, ${SAFE}], got number 1`],
    ['trend maxPairs', () => fallbackRobustTrend(x, 1, { maxPairs: 0 }), 'TG_OUT_OF_RANGE', `maxPairs must be an integer in [1, ${SAFE}], got number 0`],
    ['chain order type', () => fallbackChain(x, 1, { order: 'lastValue' as never }), 'TG_INVALID_ARGUMENT', 'order must be an array of fallback methods'],
    ['chain order empty', () => fallbackChain(x, 1, { order: [] }), 'TG_OUT_OF_RANGE', 'order must name at least one fallback method'],
    ['chain order entry', () => fallbackChain(x, 1, { order: ['lastValue', 'arima' as never] }), 'TG_INVALID_ARGUMENT', "order[1] must be 'movingAverage', 'robustTrend' or 'lastValue', got arima"],
    ['chain MA window', () => fallbackChain(x, 1, { movingAverage: { window: 0 } }), 'TG_OUT_OF_RANGE', `movingAverage.window must be an integer in [1, ${SAFE}], got number 0`],
    ['chain MA minPoints', () => fallbackChain(x, 1, { movingAverage: { minPoints: 0 } }), 'TG_OUT_OF_RANGE', `movingAverage.minPoints must be an integer in [1, ${SAFE}], got number 0`],
    ['chain trend window', () => fallbackChain(x, 1, { robustTrend: { window: 1 } }), 'TG_OUT_OF_RANGE', `robustTrend.window must be an integer in [2, ${SAFE}], got number 1`],
    ['chain trend minPoints', () => fallbackChain(x, 1, { robustTrend: { minPoints: 1 } }), 'TG_OUT_OF_RANGE', `robustTrend.minPoints must be an integer in [2, ${SAFE}], got number 1`],
    ['chain trend maxPairs', () => fallbackChain(x, 1, { robustTrend: { maxPairs: 0 } }), 'TG_OUT_OF_RANGE', `robustTrend.maxPairs must be an integer in [1, ${SAFE}], got number 0`],
  ])('%s', (_name, call, code, message) => {
    expect(call).toThrow(expect.objectContaining({ code, message }));
  });

  it('the chain takes any valid order, the last value alone included', () => {
    const r = fallbackChain(x, 1, { order: ['lastValue'] });
    if (!r.ok) expect.fail(r.reason);
    expect([r.method, r.info.center, r.steps]).toEqual(['lastValue', 3, [{ method: 'lastValue', ok: true }]]);
  });
});

// --- selection -------------------------------------------------------------------------------------

function permutations(xs: number[]): number[][] {
  if (xs.length <= 1) return [xs];
  const out: number[][] = [];
  xs.forEach((x, i) => {
    for (const rest of permutations([...xs.slice(0, i), ...xs.slice(i + 1)])) out.push([x, ...rest]);
  });
  return out;
}

describe('selection behind the medians', () => {
  it('selectKth and medianInPlace agree with a full sort on every order of small arrays', () => {
    let checked = 0;
    for (const base of [[1], [2, 1], [3, 1, 2], [4, 1, 3, 2], [5, 2, 4, 1, 3], [6, 1, 5, 2, 4, 3], [1, 1, 2, 2, 3], [7, 3, 3, 1, 9, 5, 2]]) {
      const sorted = [...base].sort((a, b) => a - b);
      for (const perm of permutations(base)) {
        for (let k = 0; k < perm.length; k++) {
          const a = Float64Array.from(perm);
          expect(selectKth(a, a.length, k)).toBe(sorted[k]);
          // partitioned around k
          for (let i = 0; i < a.length; i++) if (i < k ? a[i]! > a[k]! : i > k && a[i]! < a[k]!) expect.fail(`${perm} k=${k}: ${Array.from(a)}`);
        }
        expect(medianInPlace(Float64Array.from(perm), perm.length)).toBe(median(perm));
        checked++;
      }
    }
    expect(checked).toBe(1 + 2 + 6 + 24 + 120 + 720 + 120 + 5040);
  });
});
