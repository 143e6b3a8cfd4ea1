/** float64 -> float32 conversion with its precision loss measured against the series' own scale. */
import { addon } from '../native/addon';
import { assertAttached, assertFloat32, assertFloat64, assertLength, rowLength } from './validate';

export const CONVERT_REPORT_STRIDE = 4;

export interface ConvertReport {
  /** Largest |float32(x) - x| over finite values that stay finite. */
  maxAbsError: number;
  /** The series' scale (TiRex's: std, or |mean| + 1e-5 when flat, 1 when nothing is finite). */
  scale: number;
  /** maxAbsError / scale: what the model, which sees scaled data, actually loses. */
  maxRelError: number;
  /** Finite values too large for float32 (they became +-Infinity). */
  overflowCount: number;
}

/** Hot-path form: converts into `dst`, writes CONVERT_REPORT_STRIDE doubles per row into `report`. */
export function convertF64ToF32Into(src: Float64Array, dst: Float32Array, report: Float64Array, rows = 1): void {
  assertFloat64(src, 'src');
  assertAttached(src, 'src');
  rowLength(src, rows, 'src');
  assertFloat32(dst, 'dst');
  assertLength(dst, src.length, 'dst');
  assertFloat64(report, 'report');
  assertLength(report, rows * CONVERT_REPORT_STRIDE, 'report');
  addon().convertF64ToF32(src, rows, dst, report);
}

export function convertF64ToF32(
  src: Float64Array,
  rows = 1,
  dst?: Float32Array,
): { output: Float32Array; reports: ConvertReport[] } {
  assertFloat64(src, 'src');
  assertAttached(src, 'src');
  rowLength(src, rows, 'src');
  if (dst === undefined) dst = new Float32Array(src.length);
  const report = new Float64Array(rows * CONVERT_REPORT_STRIDE);
  convertF64ToF32Into(src, dst, report, rows);
  const reports = Array.from({ length: rows }, (_, r) => {
    const o = r * CONVERT_REPORT_STRIDE;
    return { maxAbsError: report[o]!, scale: report[o + 1]!, maxRelError: report[o + 2]!, overflowCount: report[o + 3]! };
  });
  return { output: dst, reports };
}
