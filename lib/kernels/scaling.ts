/** TiRex's NaN-safe standard scaling and its inverse (native/kernels/transform.h). */
import { addon } from '../native/addon';
import { assertAttached, assertFloat64, assertFloatArray, assertLength, assertSameType, rowLength, type FloatArray } from './validate';

/**
 * Location and scale per row, [loc0, scale0, loc1, scale1, ...]: loc is the mean of the finite
 * values, scale their population standard deviation; a zero scale becomes |loc| + 1e-5 and a
 * row without finite values gets loc 0, scale 1 (TiRex's rule). NaN and +-Inf are ignored.
 */
export function computeScaling(data: FloatArray, rows = 1, out?: Float64Array): Float64Array {
  assertFloatArray(data, 'data');
  assertAttached(data, 'data');
  rowLength(data, rows, 'data');
  if (out === undefined) out = new Float64Array(rows * 2);
  assertFloat64(out, 'locScale');
  assertLength(out, rows * 2, 'locScale');
  addon().computeScaling(data, rows, out);
  return out;
}

function checkTransform(src: FloatArray, locScale: Float64Array, dst: FloatArray, rows: number): void {
  assertFloatArray(src, 'src');
  assertAttached(src, 'src');
  rowLength(src, rows, 'src');
  assertFloat64(locScale, 'locScale');
  assertLength(locScale, rows * 2, 'locScale');
  assertFloatArray(dst, 'dst');
  assertSameType(src, dst, 'src', 'dst');
  assertLength(dst, src.length, 'dst');
}

/** dst = (src - loc) / scale per row, computed in double; in place when dst is src (the default). */
export function applyScaling<T extends FloatArray>(src: T, locScale: Float64Array, dst: T = src, rows = 1): T {
  checkTransform(src, locScale, dst, rows);
  addon().applyScaling(src, rows, locScale, dst);
  return dst;
}

/** dst = src * scale + loc per row: turns scaled model outputs back into the series' units. */
export function invertScaling<T extends FloatArray>(src: T, locScale: Float64Array, dst: T = src, rows = 1): T {
  checkTransform(src, locScale, dst, rows);
  addon().invertScaling(src, rows, locScale, dst);
  return dst;
}
