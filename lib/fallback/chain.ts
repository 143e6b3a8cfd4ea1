/**
 * The fallback chain (SPEC section 4 item 3): what the guardian serves when the model cannot be
 * trusted. It tries the forecasters in order and returns the first that can forecast, with the
 * steps taken and the reason for every step down, for the audit record.
 *
 * When each step can fail (with the default options):
 * - movingAverage: only when the context has no finite value (it averages the last 20 finite
 *   points, or as many as exist). With `movingAverage.minPoints` it also fails when fewer finite
 *   points exist (e.g. a guardian that does not trust an average of 2 points).
 * - robustTrend: when fewer than 3 finite points exist (`robustTrend.minPoints`): a line through
 *   2 points is no robust trend.
 * - lastValue: only when the context has no finite value; then every step fails and the chain
 *   reports ok: false (the guardian must refuse: there is nothing to forecast from).
 * No step fails on extreme values: sums and changes are computed in float64 (rescaled when float64
 * input is near its overflow), sigma has a floor, and outputs are clamped to the float32 range.
 */
import { ErrorCode, rangeError, typeError } from '../errors';
import type { FloatArray } from '../kernels/validate';
import { checkContext, checkHorizon, checkWindow } from './common';
import {
  FALLBACK_DEFAULTS,
  lastValueChecked,
  movingAverageChecked,
  resolveCommon,
  robustTrendChecked,
  type FallbackForecast,
  type FallbackMethod,
  type FallbackOptions,
  type FallbackResult,
  type MovingAverageOptions,
  type RobustTrendOptions,
} from './forecasters';

/** The SPEC order: moving average, robust linear trend, last value. */
export const FALLBACK_ORDER: readonly FallbackMethod[] = Object.freeze(['movingAverage', 'robustTrend', 'lastValue'] as FallbackMethod[]);

export interface FallbackChainOptions extends FallbackOptions {
  /** Methods to try, in order. Default FALLBACK_ORDER. */
  order?: readonly FallbackMethod[];
  /** Moving-average options (window, minPoints). */
  movingAverage?: Pick<MovingAverageOptions, 'window' | 'minPoints'>;
  /** Trend options (window, minPoints, maxPairs). */
  robustTrend?: Pick<RobustTrendOptions, 'window' | 'minPoints' | 'maxPairs'>;
}

export interface FallbackStep {
  method: FallbackMethod;
  ok: boolean;
  /** Why this step was stepped down from (failed steps only). */
  reason?: string;
}

export type FallbackChainResult =
  | (FallbackForecast & {
      /** Every step tried, the failed ones with their reason, the last one the method served. */
      steps: FallbackStep[];
    })
  | {
      ok: false;
      /** Every step's reason, joined. */
      reason: string;
      steps: FallbackStep[];
    };

function checkOrder(order: unknown): readonly FallbackMethod[] {
  if (order === undefined) return FALLBACK_ORDER;
  if (!Array.isArray(order)) throw typeError(ErrorCode.InvalidArgument, 'order must be an array of fallback methods');
  if (order.length === 0) throw rangeError(ErrorCode.OutOfRange, 'order must name at least one fallback method');
  for (let i = 0; i < order.length; i++) {
    const m: unknown = order[i];
    if (m !== 'movingAverage' && m !== 'robustTrend' && m !== 'lastValue') {
      throw typeError(ErrorCode.InvalidArgument, `order[${i}] must be 'movingAverage', 'robustTrend' or 'lastValue', got ${String(m)}`);
    }
  }
  return order as readonly FallbackMethod[];
}

/**
 * Tries the fallbacks in `order` (default: moving average, robust trend, last value) and returns
 * the first that forecasts, with the steps taken. Data problems never throw; wrong argument types
 * and bad options do (coded errors), before any step runs.
 */
export function fallbackChain(context: FloatArray, horizon: number, options: FallbackChainOptions = {}): FallbackChainResult {
  checkContext(context);
  checkHorizon(horizon);
  const order = checkOrder(options.order);
  const r = resolveCommon(horizon, options);
  const ma = options.movingAverage ?? {};
  const tr = options.robustTrend ?? {};
  const maWindow = checkWindow(ma.window, 'movingAverage.window', 1, FALLBACK_DEFAULTS.movingAverageWindow);
  const maMin = checkWindow(ma.minPoints, 'movingAverage.minPoints', 1, FALLBACK_DEFAULTS.movingAverageMinPoints);
  const trWindow = checkWindow(tr.window, 'robustTrend.window', 2, FALLBACK_DEFAULTS.trendWindow);
  const trMin = checkWindow(tr.minPoints, 'robustTrend.minPoints', 2, FALLBACK_DEFAULTS.trendMinPoints);
  const trPairs = checkWindow(tr.maxPairs, 'robustTrend.maxPairs', 1, FALLBACK_DEFAULTS.trendMaxPairs);

  const steps: FallbackStep[] = [];
  for (let i = 0; i < order.length; i++) {
    const method = order[i]!;
    let res: FallbackResult;
    if (method === 'movingAverage') res = movingAverageChecked(context, horizon, r, maWindow, maMin);
    else if (method === 'robustTrend') res = robustTrendChecked(context, horizon, r, trWindow, trMin, trPairs);
    else res = lastValueChecked(context, horizon, r);
    if (res.ok) {
      steps.push({ method, ok: true });
      return { ok: true, method, quantiles: res.quantiles, horizon, levels: res.levels, info: res.info, steps };
    }
    steps.push({ method, ok: false, reason: res.reason });
  }
  return { ok: false, reason: steps.map((s) => `${s.method}: ${s.reason}`).join('; '), steps };
}
