/** The one-pass context scan (native/kernels/scan.h). */
import { ErrorCode, rangeError } from '../errors';
import { addon } from '../native/addon';
import { assertAttached, assertFloat64, assertFloatArray, assertLength, assertNumber, rowLength, type FloatArray } from './validate';

/** Doubles per row in a scan result buffer. */
export const SCAN_STRIDE = 16;

/** Offsets of the fields inside one row of a scan result buffer. */
export const ScanField = {
  count: 0,
  nanCount: 1,
  posInfCount: 2,
  negInfCount: 3,
  outOfBoundsCount: 4,
  finiteCount: 5,
  min: 6,
  max: 7,
  mean: 8,
  std: 9,
  longestNaNRun: 10,
  firstNonFinite: 11,
  alternatingRun: 12,
  longestFlatRun: 13,
} as const;

export type ScanStats = { -readonly [K in keyof typeof ScanField]: number };

export interface ScanOptions {
  /** Values below count as out of bounds (finite values only). Default -Infinity. */
  lo?: number;
  /** Values above count as out of bounds (finite values only). Default +Infinity. */
  hi?: number;
}

/** Allocates a result buffer for `rows` rows. */
export function scanBuffer(rows = 1): Float64Array {
  return new Float64Array(rows * SCAN_STRIDE);
}

/**
 * Scans a row-major [rows, data.length / rows] array into `out` (SCAN_STRIDE doubles per row).
 * The hot-path form: no allocation.
 */
export function scanInto(data: FloatArray, out: Float64Array, rows = 1, lo = -Infinity, hi = Infinity): void {
  checkScanArgs(data, out, rows, lo, hi, SCAN_STRIDE);
  addon().scan(data, rows, lo, hi, out);
}

/** The checks of a scan-shaped call (scan, assessSeries): `stride` doubles per row in `out`. */
export function checkScanArgs(data: FloatArray, out: Float64Array, rows: number, lo: number, hi: number, stride: number): void {
  assertFloatArray(data, 'data');
  assertAttached(data, 'data');
  rowLength(data, rows, 'data');
  assertNumber(lo, 'lo');
  assertNumber(hi, 'hi');
  if (!(lo <= hi)) throw rangeError(ErrorCode.InvalidBounds, `lo must be <= hi (got lo=${lo}, hi=${hi})`);
  assertFloat64(out, 'out');
  assertLength(out, rows * stride, 'out');
}

/** Reads row `row` of a scan result buffer as an object. */
export function readScan(out: Float64Array, row = 0): ScanStats {
  const o = row * SCAN_STRIDE;
  const stats = {} as ScanStats;
  for (const [key, offset] of Object.entries(ScanField)) stats[key as keyof ScanStats] = out[o + offset]!;
  return stats;
}

/** Scans one series. */
export function scan(data: FloatArray, options: ScanOptions = {}): ScanStats {
  const out = scanBuffer(1);
  scanInto(data, out, 1, options.lo ?? -Infinity, options.hi ?? Infinity);
  return readScan(out, 0);
}

/** Scans each row of a row-major batch. */
export function scanBatch(data: FloatArray, rows: number, options: ScanOptions = {}): ScanStats[] {
  assertFloatArray(data, 'data');
  rowLength(data, rows, 'data');
  const out = scanBuffer(rows);
  scanInto(data, out, rows, options.lo ?? -Infinity, options.hi ?? Infinity);
  return Array.from({ length: rows }, (_, r) => readScan(out, r));
}
