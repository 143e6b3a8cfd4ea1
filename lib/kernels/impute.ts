/** Gap filling for models that cannot mask missing values (native/kernels/impute.h). */
import { ErrorCode, rangeError } from '../errors';
import { addon } from '../native/addon';
import { assertAttached, assertFloatArray, assertLength, assertSameType, rowLength, type FloatArray } from './validate';

export type ImputeMethod = 'ffill' | 'linear';
const METHODS: Record<ImputeMethod, number> = { ffill: 0, linear: 1 };

export interface ImputeResult {
  /** Values written in place of NaN or +-Inf. */
  filled: number;
  /** Rows without any finite value, left as they were. */
  emptyRows: number;
}

/**
 * Fills NaN and +-Inf per row. 'ffill': last finite value forward, a leading gap takes the first
 * finite value. 'linear': interior gaps interpolated, leading/trailing gaps filled from the nearest
 * finite value. In place when dst is src (the default).
 */
export function impute<T extends FloatArray>(src: T, method: ImputeMethod = 'ffill', dst: T = src, rows = 1): ImputeResult {
  assertFloatArray(src, 'src');
  assertAttached(src, 'src');
  rowLength(src, rows, 'src');
  const code = Object.hasOwn(METHODS, method) ? METHODS[method] : undefined;
  if (code === undefined) throw rangeError(ErrorCode.OutOfRange, `method must be 'ffill' or 'linear', got ${String(method)}`);
  assertFloatArray(dst, 'dst');
  assertSameType(src, dst, 'src', 'dst');
  assertLength(dst, src.length, 'dst');
  return addon().impute(src, rows, code, dst);
}
