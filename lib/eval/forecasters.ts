/**
 * The forecasts scored by the evaluation: the model (through the library's own session and
 * rollout) and the two baselines, all as [horizon, levels] quantiles of one window.
 */
import { rolloutSync } from '../model/rollout';
import type { ModelSession } from '../model/session';

/** Standard normal quantile (Acklam's rational approximation, |error| < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

export function lastFinite(x: ArrayLike<number>, end: number): number {
  for (let i = end - 1; i >= 0; i--) if (Number.isFinite(x[i])) return x[i]!;
  return NaN;
}

/** Standard deviation of x[t] - x[t - lag] over the last `count` finite pairs before `end`. */
export function diffStd(x: ArrayLike<number>, end: number, lag: number, count: number): number {
  const d: number[] = [];
  for (let t = end - 1; t - lag >= 0 && d.length < count; t--) {
    const v = x[t]! - x[t - lag]!;
    if (Number.isFinite(v)) d.push(v);
  }
  if (d.length < 2) return 0;
  const mean = d.reduce((s, v) => s + v, 0) / d.length;
  return Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / (d.length - 1));
}

export const VOL_WINDOW = 64;

/** Last value, bands from the realized volatility of the last 64 changes growing with sqrt(h). */
export function lastValueForecast(x: Float64Array, origin: number, horizon: number, levels: number[]): Float64Array {
  const out = new Float64Array(horizon * levels.length);
  const last = lastFinite(x, origin);
  const sigma = diffStd(x, origin, 1, VOL_WINDOW);
  const z = levels.map(normalQuantile);
  for (let h = 0; h < horizon; h++) {
    for (let k = 0; k < levels.length; k++) out[h * levels.length + k] = last + z[k]! * sigma * Math.sqrt(h + 1);
  }
  return out;
}

/** The value one season back, bands from the last 8 seasons' seasonal changes, growing with
 * the square root of the number of seasons ahead. */
export function seasonalNaiveForecast(x: Float64Array, origin: number, horizon: number, levels: number[], season: number): Float64Array {
  const out = new Float64Array(horizon * levels.length);
  const sigma = diffStd(x, origin, season, 8 * season);
  const z = levels.map(normalQuantile);
  for (let h = 0; h < horizon; h++) {
    const back = Math.ceil((h + 1) / season);
    const source = origin + h - back * season;
    const base = Number.isFinite(x[source]) ? x[source]! : lastFinite(x, origin);
    for (let k = 0; k < levels.length; k++) out[h * levels.length + k] = base + z[k]! * sigma * Math.sqrt(back);
  }
  return out;
}

/** The model's forecast of one window, from the most recent maxContext points before `origin`. */
export function modelForecast(session: ModelSession, x: Float64Array, origin: number, horizon: number): Float64Array {
  const start = Math.max(0, origin - session.manifest.maxContext);
  const context = Float32Array.from(x.subarray(start, origin));
  return Float64Array.from(rolloutSync(session, context, 1, horizon));
}
