/**
 * The input shield's pass over a series (native/kernels/scan.h and recent.h, one native call):
 * the scan's counts and statistics, then spike, level shift, last finite value and sigma of the
 * most recent points.
 */
import { ErrorCode, rangeError } from '../errors';
import { addon } from '../native/addon';
import { checkScanArgs, SCAN_STRIDE, ScanField } from './scan';
import { assertAttached, assertFloat64, assertFloatArray, type FloatArray } from './validate';

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

/** assessSeriesInto without the TypeScript checks, for `rows` equal rows (the input shield). */
export function assessRowsTrusted(data: FloatArray, rows: number, out: Float64Array, lo: number, hi: number): void {
  addon().assessSeries(data, rows, lo, hi, out);
}

/**
 * Assesses rows that are spans of one buffer (`spans`: [start, length] per row), one native
 * call for the whole batch: a ragged batch's rows inside its padded tensor, say. Checked here;
 * the native side checks again (types, detachment, spans inside data, out's length).
 */
export function assessSpansInto(data: FloatArray, spans: Float64Array, out: Float64Array, lo = -Infinity, hi = Infinity): void {
  assertFloatArray(data, 'data');
  assertAttached(data, 'data');
  assertFloat64(spans, 'spans');
  assertAttached(spans, 'spans');
  const rows = spans.length / 2;
  if (!Number.isInteger(rows) || rows < 1) throw rangeError(ErrorCode.ShapeMismatch, `spans holds ${spans.length} numbers: one [start, length] pair per row, at least one`);
  for (let r = 0; r < rows; r++) {
    const start = spans[2 * r]!;
    const length = spans[2 * r + 1]!;
    if (!Number.isInteger(start) || !Number.isInteger(length) || start < 0 || length < 0 || start + length > data.length) {
      throw rangeError(ErrorCode.OutOfRange, `span ${r} [${start}, ${length}] is not inside data (${data.length} elements)`);
    }
  }
  checkScanArgs(data, out, 1, lo, hi, ASSESS_STRIDE * rows);
  addon().assessSpans(data, spans, lo, hi, out);
}

/** assessSpansInto without the TypeScript checks, for the input shield (its own spans and buffer). */
export function assessSpansTrusted(data: FloatArray, spans: Float64Array, out: Float64Array, lo: number, hi: number): void {
  addon().assessSpans(data, spans, lo, hi, out);
}
