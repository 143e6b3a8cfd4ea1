/**
 * One symbol's regime, computed fresh from its closed bars (the bar that ticks are still forming
 * is left out: its high, low and close change with every tick, and a regime that flips within a
 * bar would resize orders on noise).
 *
 * - trend: velocityPct = least-squares slope of the last slopePeriod closes / last close x 100;
 *   above +flatVelocityPct 'up', below -flatVelocityPct 'down', else 'flat'.
 * - atrPct: Wilder's ATR (atrPeriod) / last close x 100.
 * - volatility: the percentile rank of the last ATR% among the symbol's own ATR% series over the
 *   bars kept (each ATR over its own bar's close, so a level change does not read as volatility):
 *   above 0.8 'high', below 0.2 'low', else 'normal'; fewer than 10 ATR values: 'normal' (too
 *   little history to call an extreme).
 * - structure: 'breakout' when the last close is above the upper or below the lower Bollinger
 *   band of the bandPeriod closes BEFORE it (a close judged against bands it has not moved yet:
 *   with itself inside the window, a jump widens the bands it is measured against and hides the
 *   breakout), else 'trending' when the trend is not flat, else 'range'.
 *
 * A non-neutral snapshot needs cfg.minBars = max(slopePeriod, atrPeriod + 1, bandPeriod + 1)
 * closed bars; fewer, or indicators that overflow (prices near 1e308 or subnormal), give the
 * neutral snapshot with its reason.
 */
import type { ResolvedRegimeConfig } from './config';
import type { BarStore } from './bars';
import { BAND_LOWER, BAND_UPPER, bollingerInto, percentileRankOfLast, slope, wilderAtr } from './indicators';
import type { RegimeSnapshot, Structure, Trend, VolatilityClass } from './types';

/** Fewer ATR values than this: volatility 'normal'. */
export const MIN_ATR_HISTORY = 10;
export const HIGH_RANK = 0.8;
export const LOW_RANK = 0.2;

/** Work arrays reused by every fresh computation (sized maxBars). */
export class RegimeScratch {
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly atr: Float64Array;
  readonly bands = new Float64Array(3);

  constructor(maxBars: number) {
    this.high = new Float64Array(maxBars);
    this.low = new Float64Array(maxBars);
    this.close = new Float64Array(maxBars);
    this.atr = new Float64Array(maxBars);
  }
}

export function neutralSnapshot(symbol: string, reason: string, bars: number, lastClose: number | null, computedAt: number): RegimeSnapshot {
  return Object.freeze({
    symbol,
    trend: 'flat',
    velocityPct: 0,
    volatility: 'normal',
    atrPct: 0,
    structure: 'range',
    bars,
    lastClose,
    computedAt,
    fromCache: false,
    neutral: true,
    reason,
  });
}

export function classifyTrend(velocityPct: number, flat: number): Trend {
  return velocityPct > flat ? 'up' : velocityPct < -flat ? 'down' : 'flat';
}

export function classifyVolatility(rank: number, history: number): VolatilityClass {
  if (history < MIN_ATR_HISTORY) return 'normal';
  return rank > HIGH_RANK ? 'high' : rank < LOW_RANK ? 'low' : 'normal';
}

export function computeSnapshot(symbol: string, store: BarStore, slot: number, cfg: ResolvedRegimeConfig, scratch: RegimeScratch, now: number): RegimeSnapshot {
  const n = store.closedCount(slot);
  const lastClose = store.lastClose(slot);
  if (n < cfg.minBars) return neutralSnapshot(symbol, `insufficient data: ${n} closed bars, ${cfg.minBars} needed`, n, lastClose, now);
  const { high, low, close, atr, bands } = scratch;
  const ring = store.ring(slot);
  const m = store.maxBars;
  for (let i = 0, j = store.oldest(slot); i < n; i++, j = j + 1 === m ? 0 : j + 1) {
    high[i] = ring[j]!;
    low[i] = ring[m + j]!;
    close[i] = ring[2 * m + j]!;
  }
  const last = close[n - 1]!;
  const velocityPct = (slope(close, n - cfg.slopePeriod, cfg.slopePeriod) / last) * 100;
  wilderAtr(high, low, close, n, cfg.atrPeriod, atr);
  const history = n - cfg.atrPeriod;
  for (let k = 0; k < history; k++) atr[k] = (atr[k]! / close[cfg.atrPeriod + k]!) * 100;
  const atrPct = atr[history - 1]!;
  bollingerInto(close, n - 1 - cfg.bandPeriod, cfg.bandPeriod, cfg.bandWidth, bands);
  const upper = bands[BAND_UPPER]!;
  const lower = bands[BAND_LOWER]!;
  if (!Number.isFinite(velocityPct) || !Number.isFinite(atrPct) || !Number.isFinite(upper) || !Number.isFinite(lower)) {
    return neutralSnapshot(symbol, 'indicators not finite: prices out of range', n, lastClose, now);
  }
  const trend = classifyTrend(velocityPct, cfg.flatVelocityPct);
  const volatility = classifyVolatility(history >= 2 ? percentileRankOfLast(atr, history) : 0.5, history);
  const structure: Structure = last > upper || last < lower ? 'breakout' : trend !== 'flat' ? 'trending' : 'range';
  return Object.freeze({
    symbol,
    trend,
    velocityPct,
    volatility,
    atrPct,
    structure,
    bars: n,
    lastClose: last,
    computedAt: now,
    fromCache: false,
    neutral: false,
    reason: null,
  });
}
