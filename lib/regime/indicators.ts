/**
 * The regime engine's indicators: pure functions over plain arrays (the snapshot lays a symbol's
 * ring out oldest first before calling them), float64 throughout, no allocation.
 *
 * Checked against technicalindicators (ATR, BollingerBands) and simple-statistics
 * (linearRegression) in test/regime-reference.test.ts.
 */

/**
 * Least-squares slope of y[from .. from + n) against x = 0 .. n-1 (n >= 2), per step. Centred on
 * both means, so prices far from zero (or steps far from x = 0) do not cancel each other out as
 * the textbook n Σxy - Σx Σy does.
 */
export function slope(y: ArrayLike<number>, from: number, n: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += y[from + i]!;
  const yMean = sum / n;
  const xMean = (n - 1) / 2;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    const dx = i - xMean;
    num += dx * (y[from + i]! - yMean);
    den += dx * dx;
  }
  return num / den;
}

/** True range of bar i (i >= 1): the largest of its range and its gaps to the previous close. */
export function trueRange(high: ArrayLike<number>, low: ArrayLike<number>, close: ArrayLike<number>, i: number): number {
  const h = high[i]!;
  const l = low[i]!;
  const c = close[i - 1]!;
  return Math.max(h - l, Math.abs(h - c), Math.abs(l - c));
}

/**
 * Wilder's ATR over bars [0, n): true ranges from bar 1 (each needs the previous close); the first
 * ATR, at bar `period`, is the mean of the first `period` true ranges, then
 * ATR_i = (ATR_{i-1} (period - 1) + TR_i) / period. Writes the series into out[0 .. n - period)
 * (out[k] is the ATR at bar period + k) and returns the last ATR; NaN when n <= period.
 */
export function wilderAtr(high: ArrayLike<number>, low: ArrayLike<number>, close: ArrayLike<number>, n: number, period: number, out: Float64Array): number {
  if (n <= period) return NaN;
  let sum = 0;
  for (let i = 1; i <= period; i++) sum += trueRange(high, low, close, i);
  let atr = sum / period;
  out[0] = atr;
  for (let i = period + 1; i < n; i++) {
    atr = (atr * (period - 1) + trueRange(high, low, close, i)) / period;
    out[i - period] = atr;
  }
  return atr;
}

export const BAND_MIDDLE = 0;
export const BAND_UPPER = 1;
export const BAND_LOWER = 2;

/**
 * Bollinger bands of y[from .. from + n): the mean ± width x the population standard deviation
 * (as technicalindicators' BollingerBands), into out[BAND_MIDDLE | BAND_UPPER | BAND_LOWER].
 */
export function bollingerInto(y: ArrayLike<number>, from: number, n: number, width: number, out: Float64Array): void {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += y[from + i]!;
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    const d = y[from + i]! - mean;
    ss += d * d;
  }
  const sd = Math.sqrt(ss / n);
  out[BAND_MIDDLE] = mean;
  out[BAND_UPPER] = mean + width * sd;
  out[BAND_LOWER] = mean - width * sd;
}

/** The same as an object (tests, callers off the hot path). */
export function bollinger(y: ArrayLike<number>, from: number, n: number, width: number): { middle: number; upper: number; lower: number } {
  const out = new Float64Array(3);
  bollingerInto(y, from, n, width, out);
  return { middle: out[BAND_MIDDLE]!, upper: out[BAND_UPPER]!, lower: out[BAND_LOWER]! };
}

/**
 * Percentile rank of the last of values[0 .. n) among the n - 1 before it, ties counted half:
 * (below + equal / 2) / (n - 1), in [0, 1] (n >= 2). A flat history (all equal) ranks 0.5, in
 * the middle, not at an extreme.
 */
export function percentileRankOfLast(values: ArrayLike<number>, n: number): number {
  const x = values[n - 1]!;
  let below = 0;
  let equal = 0;
  for (let i = 0; i < n - 1; i++) {
    const v = values[i]!;
    if (v < x) below++;
    else if (v === x) equal++;
  }
  return (below + equal / 2) / (n - 1);
}
