/**
 * The market regime engine's public shapes (lib/regime/engine.ts implements them): what a
 * snapshot says about one symbol, the engine's configuration and its statistics.
 */

export type Trend = 'up' | 'down' | 'flat';
export type VolatilityClass = 'low' | 'normal' | 'high';
export type Structure = 'breakout' | 'range' | 'trending';

export interface RegimeSnapshot {
  readonly symbol: string;
  readonly trend: Trend;
  /** Least-squares slope of the last `slopePeriod` closes per bar, as a percentage of the last close. */
  readonly velocityPct: number;
  readonly volatility: VolatilityClass;
  /** Wilder's ATR over `atrPeriod` bars as a percentage of the last close. */
  readonly atrPct: number;
  readonly structure: Structure;
  /** Closed bars the snapshot was computed from. */
  readonly bars: number;
  /** The last close it was computed from (null: none). */
  readonly lastClose: number | null;
  /** When it was computed (the engine's clock, epoch ms). */
  readonly computedAt: number;
  /** True when this call reused a snapshot computed earlier (within `ttlMs`, no new bar). */
  readonly fromCache: boolean;
  /** True when the engine could not judge (no or too few bars, an error): flat, normal, range,
   * velocity and ATR 0, and `reason` says why. A neutral snapshot sizes at factor 1. */
  readonly neutral: boolean;
  readonly reason: string | null;
}

export interface Bar {
  open: number;
  high: number;
  low: number;
  close: number;
  /** The bar's start (epoch ms); bars of one symbol must come in increasing order. */
  timestampMs: number;
}

export interface SizeFactors {
  /** Multiplier in a high-volatility regime: 0.1 to 1 (default 0.6). */
  highVolatility: number;
  /** Multiplier in a low-volatility regime: 1 to 2 (default 1.15). */
  lowVolatility: number;
  /** Multiplier on a breakout: 1 to 2 (default 1.1). */
  breakout: number;
  /** Multiplier in a range: 0.1 to 1 (default 0.85). */
  range: number;
}

export interface RegimeConfig {
  /** Bar length for onTick (default 60000). */
  barPeriodMs?: number;
  /** Closed bars kept per symbol (default 100; at least the longest period + 1). */
  maxBars?: number;
  /** Closes in the trend's regression (default 20, at least 5). */
  slopePeriod?: number;
  /** Bars in the ATR (default 14, at least 5). */
  atrPeriod?: number;
  /** Closes in the Bollinger bands of the structure rule (default 20, at least 5). */
  bandPeriod?: number;
  /** Band width in standard deviations (default 2). */
  bandWidth?: number;
  /** |velocityPct| at or below this is 'flat' (default 0.05). */
  flatVelocityPct?: number;
  /** A snapshot is reused this long unless a new bar closed (default 1000). */
  ttlMs?: number;
  /** Symbols kept; the least recently used is evicted beyond (default 10000). */
  maxSymbols?: number;
  sizeFactors?: Partial<SizeFactors>;
  /** The clock (epoch ms) for computedAt and the cache (default Date.now). */
  clock?: () => number;
}

export type TickRejection = 'invalid-symbol' | 'invalid-price' | 'invalid-timestamp' | 'out-of-order' | 'duplicate' | 'error';

export interface RegimeStats {
  symbols: number;
  ticks: number;
  bars: number;
  hits: number;
  misses: number;
  evictions: number;
  rejectedTicks: number;
  rejectedBars: number;
  rejected: Record<TickRejection, number>;
  /** Snapshots returned neutral. */
  neutral: number;
  /** Errors caught inside the engine (each gave a neutral snapshot or a rejection). */
  errors: number;
  /** Fresh computations: count and total time. */
  computeUs: number;
}
