/**
 * The input shield's pass over a series (native/kernels/scan.h and recent.h, one native call):
 * the scan's counts and statistics, then spike, level shift, last finite value and sigma of the
 * most recent points.
 */
import { addon } from '../native/addon';
import { checkScanArgs, SCAN_STRIDE, ScanField } from './scan';
import type { FloatArray } from './validate';

/** Doubles per row in an assessment buffer. */
export const ASSESS_STRIDE = 20;

/** Points the spike and level-shift signals look at, and the tail the level shift compares. */
export const RECENT_WINDOW = 256;
export const SHIFT_TAIL = 16;

/** Offsets inside one row: the scan's fields, then the recent signals. */
export const AssessField = {
  ...ScanField,
  /** Largest recent one-step change over the typical change without it (Infinity: flat, then a move). */
  spike: SCAN_STRIDE,
  /** |mean of the last SHIFT_TAIL points - mean of the earlier recent ones| / (typical change * sqrt(SHIFT_TAIL)). */
  levelShift: SCAN_STRIDE + 1,
  /** The last finite value of the whole row (NaN when none). */
  last: SCAN_STRIDE + 2,
  /** 1.2533 * mean |one-step change| over the recent points (0 with fewer than two finite ones). */
  sigma: SCAN_STRIDE + 3,
} as const;

/** Assesses each row of a row-major [rows, data.length / rows] array into `out` (ASSESS_STRIDE doubles per row). */
export function assessSeriesInto(data: FloatArray, out: Float64Array, rows = 1, lo = -Infinity, hi = Infinity): void {
  checkScanArgs(data, out, rows, lo, hi, ASSESS_STRIDE);
  addon().assessSeries(data, rows, lo, hi, out);
}

/**
 * The same call without the TypeScript checks, for a caller that has established them by
 * construction (the input shield: its own buffer, rows the pipeline shield checked). The native
 * side still checks types, detachment, shape and bounds; the wrappers' checks cost about half a
 * microsecond on a path that runs on every forecast (measured, BENCHMARKS.md, guardian).
 */
export function assessSeriesTrusted(data: FloatArray, out: Float64Array, lo: number, hi: number): void {
  addon().assessSeries(data, 1, lo, hi, out);
}
