/** The market regime engine (issue 15): per-symbol trend, volatility and structure, and sizing from them. */
export { RegimeEngine, MAX_SYMBOL_LENGTH, MAX_TIMESTAMP_MS } from './engine';
export { resolveRegimeConfig, REGIME_CONFIG_KEYS, SIZE_FACTOR_BOUNDS, DEFAULT_SIZE_FACTORS, type ResolvedRegimeConfig } from './config';
export { registerRegimeMetrics } from './metrics';
export type { ClosedBars } from './bars';
export type { Bar, RegimeConfig, RegimeSnapshot, RegimeStats, SizeFactors, Structure, TickRejection, Trend, VolatilityClass } from './types';
