/** Fallback forecasts: what the guardian serves when the model cannot be trusted. */
export {
  fallbackMovingAverage,
  fallbackRobustTrend,
  fallbackLastValue,
  FALLBACK_DEFAULTS,
  type FallbackMethod,
  type FallbackOptions,
  type MovingAverageOptions,
  type RobustTrendOptions,
  type LastValueOptions,
  type FallbackInfo,
  type FallbackForecast,
  type FallbackFailure,
  type FallbackResult,
} from './forecasters';
export { fallbackChain, FALLBACK_ORDER, type FallbackChainOptions, type FallbackChainResult, type FallbackStep } from './chain';
export {
  TIREX_QUANTILE_LEVELS,
  SIGMA_FLOOR_RELATIVE,
  SIGMA_FLOOR_ABSOLUTE,
  MAX_FALLBACK_HORIZON,
} from './common';
