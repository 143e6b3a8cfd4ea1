/**
 * The three fallback forecasters (SPEC section 4 item 3): moving average, robust linear trend
 * (Theil-Sen) and last value. Each is a pure function of one series (Float32Array or
 * Float64Array; non-finite values are skipped, the computation uses the finite part only) and a
 * horizon, and writes quantiles [horizon, levels] row-major into a Float32Array, like the
 * model's output for batch 1.
 *
 * Bands are honest: sigma is the realized volatility (sample standard deviation of the one-step
 * changes of the last `volWindow` finite points) and the band of step h is
 * center(h) + z(level) * sigma * sqrt(h), z the standard normal quantile; the median level (0.5)
 * is the center. When the realized volatility is below the floor (0: a flat series; or not
 * computable: fewer than 2 changes), the floor max(1e-6 * |center|, 1e-12) is used, so the
 * bands exist and are ordered. Every output is finite and non-decreasing across levels; values
 * beyond the float32 range (possible only for float64 input) are clamped to it and counted.
 *
 * Data problems never throw: a forecaster that cannot forecast returns { ok: false, reason }
 * and writes nothing. Programming errors (wrong types, bad options) throw coded errors.
 */
import { ErrorCode, rangeError } from '../errors';
import type { FloatArray } from '../kernels/validate';
import {
  changeStd,
  checkContext,
  checkHorizon,
  checkOut,
  checkWindow,
  gatherTail,
  gathered,
  levelQuantiles,
  scratchTimes,
  scratchValues,
  scratchWork,
  sigmaFloor,
  unscale,
  unscaleSigma,
  volatility,
  writeBands,
} from './common';
import { medianInPlace } from './select';

export type FallbackMethod = 'movingAverage' | 'robustTrend' | 'lastValue';

/** Defaults of the fallback options. */
export const FALLBACK_DEFAULTS = Object.freeze({
  /** Finite points averaged by the moving average. */
  movingAverageWindow: 20,
  /** Finite points the moving average needs (1: it works whenever one finite value exists). */
  movingAverageMinPoints: 1,
  /** Finite points the trend is fitted on. */
  trendWindow: 48,
  /** Finite points the trend needs. */
  trendMinPoints: 3,
  /**
   * Most pairwise slopes the Theil-Sen median uses. Windows of up to 11 points use all their
   * pairs. 48 points have 1128 pairs, whose median costs about 8 to 12 native scans of a
   * 2048-point context (bench/scenarios/fallback.mjs), against the target of 3. Beyond the bound
   * the pairs are taken deterministically by index distance (counted in finite points): half the
   * window first (Theil's own incomplete method: every point in one pair), then the distances
   * around it (+1, -1, +2, -2, ...), whole distances only, while they fit. For 48 points:
   * distances 24 and 25, 47 pairs, each point in one or two of them, so the slope survives up to
   * about a quarter of outlying points (all pairs: 29%).
   */
  trendMaxPairs: 64,
  /** Finite points whose one-step changes give the realized volatility. */
  volWindow: 64,
});

export interface FallbackOptions {
  /** Quantile levels, strictly increasing in (0, 1). Default: the nine TiRex levels 0.1..0.9. */
  levels?: readonly number[];
  /** Where to write the [horizon, levels.length] quantiles (at least that long). Default: a new array. */
  out?: Float32Array;
  /** Finite points whose one-step changes give the realized volatility (>= 2). Default 64. */
  volWindow?: number;
  /** When the context gives no reliable volatility (fewer than two changes, or a realized one
   * under the floor), the bands' sigma is this share of |center| (a market regime's ATR, say),
   * if that is above the floor. Default: none (the floor). */
  sigmaRelative?: number;
}

export interface MovingAverageOptions extends FallbackOptions {
  /** Finite points averaged (>= 1). Default 20 (fewer if fewer exist). */
  window?: number;
  /** Finite points required, else the step fails (>= 1). Default 1. */
  minPoints?: number;
}

export interface RobustTrendOptions extends FallbackOptions {
  /** Finite points the Theil-Sen line is fitted on (>= 2). Default 48 (fewer if fewer exist). */
  window?: number;
  /** Finite points required, else the step fails (>= 2). Default 3. */
  minPoints?: number;
  /** Bound on the pairwise slopes used (>= 1; at least half the window are always used). Default 64. */
  maxPairs?: number;
}

export type LastValueOptions = FallbackOptions;

export interface FallbackInfo {
  method: FallbackMethod;
  /** Center of step 1 (float64, before rounding to float32): the median level of the first row. */
  center: number;
  /** Change of the center per step (the Theil-Sen slope; 0 for the others). */
  slope: number;
  /** Finite points the center was computed from. */
  points: number;
  /** Finite points in the (bounded) stretch of the context looked at. */
  finitePoints: number;
  /** Index in the context of the last finite value. */
  lastIndex: number;
  /** Pairwise slopes the Theil-Sen median used (0 for the others). */
  pairs: number;
  /** One-step changes the realized volatility used. */
  changes: number;
  /** Realized volatility (NaN when fewer than 2 changes). */
  realizedSigma: number;
  /** The sigma of the bands: the realized volatility, or the floor when that is below it. */
  sigma: number;
  /** True when sigma is the floor. */
  floored: boolean;
  /** Where sigma came from: the realized volatility, the floor, or the caller's `sigmaRelative`. */
  sigmaSource: 'realized' | 'floor' | 'relative';
  /** Output values clamped to the float32 range (float64 input beyond it only). */
  clamped: number;
}

export interface FallbackForecast {
  ok: true;
  method: FallbackMethod;
  /** [horizon, levels] row-major: the caller's `out` when given. */
  quantiles: Float32Array;
  horizon: number;
  /** Number of levels (columns). */
  levels: number;
  info: FallbackInfo;
}

export interface FallbackFailure {
  ok: false;
  method: FallbackMethod;
  /** Why no forecast, in words, for the audit record. */
  reason: string;
  /** Finite points found (bounded by the window looked at). */
  finitePoints: number;
}

export type FallbackResult = FallbackForecast | FallbackFailure;

/** Options after checking, shared by the chain. */
export interface Resolved {
  z: Float64Array;
  q: number;
  out: Float32Array | undefined;
  volWindow: number;
  /** 0: none. */
  sigmaRelative: number;
}

export function resolveCommon(horizon: number, options: FallbackOptions): Resolved {
  const z = levelQuantiles(options.levels);
  const q = options.levels === undefined ? z.length : options.levels.length;
  const volWindow = checkWindow(options.volWindow, 'volWindow', 2, FALLBACK_DEFAULTS.volWindow);
  const out = checkOut(options.out, horizon * q);
  const rel = options.sigmaRelative;
  if (rel !== undefined && !(typeof rel === 'number' && rel >= 0 && rel <= 10)) throw rangeError(ErrorCode.OutOfRange, `sigmaRelative must be a number from 0 to 10, got ${String(rel)}`);
  return { z, q, out, volWindow, sigmaRelative: rel ?? 0 };
}

function fail(method: FallbackMethod, reason: string, finitePoints: number): FallbackFailure {
  return { ok: false, method, reason, finitePoints };
}

const NO_FINITE = 'no finite value in the context';

/**
 * Common tail of every forecaster: the realized volatility of the last volWindow gathered points,
 * the floor, the bands. The center of step h is (a + b * h) * scale.
 */
function finish(
  method: FallbackMethod,
  horizon: number,
  r: Resolved,
  a: number,
  b: number,
  scale: number,
  points: number,
  pairs: number,
): FallbackForecast {
  const count = gathered.count;
  const volFrom = count > r.volWindow ? count - r.volWindow : 0;
  changeStd(scratchValues(), volFrom, count);
  const center = unscale(b === 0 ? a : a + b, scale); // (a + 0 would turn a -0 into +0)
  const realizedSigma = volatility.changes >= 2 ? unscaleSigma(volatility.sigma, gathered.scale) : NaN;
  const floor = sigmaFloor(center);
  const floored = !(realizedSigma >= floor);
  // The caller's relative sigma stands in for an unreliable realized one (never below the floor).
  const hinted = floored && r.sigmaRelative > 0 ? unscaleSigma(r.sigmaRelative * Math.abs(center), 1) : 0;
  const fromHint = hinted > floor;
  const sigma = fromHint ? hinted : floored ? floor : realizedSigma;
  const out = r.out ?? new Float32Array(horizon * r.q);
  const clamped = writeBands(out, horizon, r.z, r.q, a, b, scale, sigma);
  return {
    ok: true,
    method,
    quantiles: out,
    horizon,
    levels: r.q,
    info: {
      method,
      center,
      slope: b === 0 ? 0 : unscale(b, scale),
      points,
      finitePoints: count,
      lastIndex: gathered.lastIndex,
      pairs,
      changes: volatility.changes,
      realizedSigma,
      sigma,
      floored: floored && !fromHint,
      sigmaSource: fromHint ? 'relative' : floored ? 'floor' : 'realized',
      clamped,
    },
  };
}

// ---------------------------------------------------------------------------------------------

/** Moving average, checked options. Fails only when fewer than minPoints finite values exist. */
export function movingAverageChecked(x: FloatArray, horizon: number, r: Resolved, window: number, minPoints: number): FallbackResult {
  const count = gatherTail(x, window > r.volWindow ? window : r.volWindow);
  if (count === 0) return fail('movingAverage', NO_FINITE, 0);
  if (count < minPoints) {
    return fail('movingAverage', `fewer than ${minPoints} finite points for the moving average (found ${count})`, count);
  }
  const m = count < window ? count : window;
  const v = scratchValues();
  let sum = 0;
  for (let i = count - m; i < count; i++) sum += v[i]!;
  return finish('movingAverage', horizon, r, sum / m, 0, gathered.scale, m, 0);
}

/**
 * Robust linear trend, checked options. Theil-Sen: the slope is the median of the pairwise
 * slopes of the last `window` finite points (time = index in the context, so gaps count), the
 * intercept the median residual; step h is extrapolated from the context's last index, h steps
 * ahead. Fails when fewer than minPoints finite values exist.
 */
export function robustTrendChecked(
  x: FloatArray,
  horizon: number,
  r: Resolved,
  window: number,
  minPoints: number,
  maxPairs: number,
): FallbackResult {
  const count = gatherTail(x, window > r.volWindow ? window : r.volWindow);
  if (count === 0) return fail('robustTrend', NO_FINITE, 0);
  if (count < minPoints) {
    return fail('robustTrend', `fewer than ${minPoints} finite points for the trend (found ${count})`, count);
  }
  const m = count < window ? count : window;
  const s = count - m;
  const v = scratchValues();
  const t = scratchTimes();
  let b = 0;
  let pairs = 0;
  if (m >= 2) {
    const total = (m * (m - 1)) / 2;
    const all = total <= maxPairs;
    const w = scratchWork(all ? total : Math.max(maxPairs, m));
    if (all) {
      for (let i = s; i < count; i++) {
        const yi = v[i]!;
        const ti = t[i]!;
        for (let j = i + 1; j < count; j++) w[pairs++] = (v[j]! - yi) / (t[j]! - ti);
      }
    } else {
      // whole index distances: m/2, then m/2 + 1, m/2 - 1, m/2 + 2, ... while the bound allows
      const half = m >>> 1;
      for (let d = 0; ; d++) {
        let used = 0;
        for (let side = 0; side < (d === 0 ? 1 : 2); side++) {
          const lag = side === 0 ? half + d : half - d;
          if (lag < 1 || lag >= m) continue;
          if (pairs > 0 && pairs + (m - lag) > maxPairs) continue;
          for (let i = s; i + lag < count; i++) w[pairs++] = (v[i + lag]! - v[i]!) / (t[i + lag]! - t[i]!);
          // Stryker disable next-line UpdateOperator: only compared with 0, and counting down is as far from it
          used++;
        }
        if (used === 0) break;
      }
    }
    b = medianInPlace(w, pairs);
  }
  const w = scratchWork(m);
  for (let i = s, k = 0; i < count; i++, k++) w[k] = v[i]! - b * t[i]!;
  const a = medianInPlace(w, m);
  return finish('robustTrend', horizon, r, a, b, gathered.scale, m, pairs);
}

/** Last value, checked options. Fails only when the context has no finite value. */
export function lastValueChecked(x: FloatArray, horizon: number, r: Resolved): FallbackResult {
  const count = gatherTail(x, r.volWindow);
  if (count === 0) return fail('lastValue', NO_FINITE, 0);
  // the value as stored (not rescaled: exact even next to values near the float64 limit)
  return finish('lastValue', horizon, r, x[gathered.lastIndex]!, 0, 1, 1, 0);
}

// ---------------------------------------------------------------------------------------------
// Public forms.

/** Mean of the last `window` (20) finite points; bands from the realized volatility. */
export function fallbackMovingAverage(context: FloatArray, horizon: number, options: MovingAverageOptions = {}): FallbackResult {
  checkContext(context);
  checkHorizon(horizon);
  const r = resolveCommon(horizon, options);
  const window = checkWindow(options.window, 'window', 1, FALLBACK_DEFAULTS.movingAverageWindow);
  const minPoints = checkWindow(options.minPoints, 'minPoints', 1, FALLBACK_DEFAULTS.movingAverageMinPoints);
  return movingAverageChecked(context, horizon, r, window, minPoints);
}

/** Theil-Sen line over the last `window` (48) finite points, extrapolated; bands from the realized volatility. */
export function fallbackRobustTrend(context: FloatArray, horizon: number, options: RobustTrendOptions = {}): FallbackResult {
  checkContext(context);
  checkHorizon(horizon);
  const r = resolveCommon(horizon, options);
  const window = checkWindow(options.window, 'window', 2, FALLBACK_DEFAULTS.trendWindow);
  const minPoints = checkWindow(options.minPoints, 'minPoints', 2, FALLBACK_DEFAULTS.trendMinPoints);
  const maxPairs = checkWindow(options.maxPairs, 'maxPairs', 1, FALLBACK_DEFAULTS.trendMaxPairs);
  return robustTrendChecked(context, horizon, r, window, minPoints, maxPairs);
}

/** The last finite value; bands from the realized volatility. */
export function fallbackLastValue(context: FloatArray, horizon: number, options: LastValueOptions = {}): FallbackResult {
  checkContext(context);
  checkHorizon(horizon);
  return lastValueChecked(context, horizon, resolveCommon(horizon, options));
}
