/** Output shield kernels over [B, H, Q] quantile forecasts (native/kernels/quantiles.h). */
import { ErrorCode, rangeError } from '../errors';
import { addon } from '../native/addon';
import { assertAttached, assertFloat32, assertFloat64, assertInteger, assertLength, assertNumber } from './validate';

export interface QuantileRepairReport {
  /** Steps whose levels crossed; they are now sorted. */
  crossedSteps: number;
  /** NaN or +-Inf values found. */
  nonFiniteValues: number;
  /** Steps holding a non-finite value; left untouched (the caller must treat them as a failure). */
  nonFiniteSteps: number;
}

function checkShape(q: Float32Array, steps: number, levels: number): void {
  assertFloat32(q, 'quantiles');
  assertAttached(q, 'quantiles');
  assertInteger(steps, 'steps', 0);
  assertInteger(levels, 'levels', 1, 1024);
  if (q.length !== steps * levels) {
    throw rangeError(ErrorCode.ShapeMismatch, `quantiles has ${q.length} elements, expected steps*levels=${steps * levels}`);
  }
}

/** Sorts the levels of every finite step in place; the report goes to `report` (3 doubles). */
export function repairQuantilesInto(q: Float32Array, steps: number, levels: number, report: Float64Array): void {
  checkShape(q, steps, levels);
  assertFloat64(report, 'report');
  assertLength(report, 3, 'report');
  addon().repairQuantiles(q, steps, levels, report);
}

/** `steps` is B * H for a [B, H, Q] tensor. */
export function repairQuantiles(q: Float32Array, steps: number, levels: number): QuantileRepairReport {
  const report = new Float64Array(3);
  repairQuantilesInto(q, steps, levels, report);
  return { crossedSteps: report[0]!, nonFiniteValues: report[1]!, nonFiniteSteps: report[2]! };
}

export interface CheckMeanOptions {
  /** Index of the median level (4 for TiRex's 0.1 ... 0.9). */
  medianIndex: number;
  /** Largest allowed |mean - median| as a fraction of the band q_last - q_first. */
  maxDeviation: number;
  /** Replace flagged means by the median (when it is finite). */
  replace: boolean;
}

/**
 * Counts steps whose mean is non-finite, outside [q_first, q_last], or farther than
 * maxDeviation * (q_last - q_first) from the median; optionally replaces them by the median.
 */
export function checkMean(mean: Float32Array, q: Float32Array, steps: number, levels: number, options: CheckMeanOptions): number {
  assertFloat32(mean, 'mean');
  assertAttached(mean, 'mean');
  checkShape(q, steps, levels);
  if (mean.length !== steps) {
    throw rangeError(ErrorCode.ShapeMismatch, `mean has ${mean.length} elements, expected steps=${steps}`);
  }
  assertInteger(options.medianIndex, 'medianIndex', 0, levels - 1);
  const maxDeviation = assertNumber(options.maxDeviation, 'maxDeviation');
  if (maxDeviation < 0) throw rangeError(ErrorCode.OutOfRange, 'maxDeviation must be >= 0');
  return addon().checkMean(mean, q, steps, levels, options.medianIndex, maxDeviation, options.replace);
}
