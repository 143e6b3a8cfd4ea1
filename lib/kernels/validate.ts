/** Argument checks done in TypeScript before the native call, with the native side's codes. */
import { ErrorCode, rangeError, typeError } from '../errors';

export type FloatArray = Float32Array | Float64Array;

export function assertFloatArray(value: unknown, name: string): asserts value is FloatArray {
  if (!(value instanceof Float32Array) && !(value instanceof Float64Array)) {
    throw typeError(ErrorCode.InvalidArgument, `${name} must be a Float32Array or Float64Array, got ${describe(value)}`);
  }
}

export function assertFloat32(value: unknown, name: string): asserts value is Float32Array {
  if (!(value instanceof Float32Array)) {
    throw typeError(ErrorCode.InvalidArgument, `${name} must be a Float32Array, got ${describe(value)}`);
  }
}

export function assertFloat64(value: unknown, name: string): asserts value is Float64Array {
  if (!(value instanceof Float64Array)) {
    throw typeError(ErrorCode.InvalidArgument, `${name} must be a Float64Array, got ${describe(value)}`);
  }
}

export function assertInteger(value: unknown, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number') throw typeError(ErrorCode.InvalidArgument, `${name} must be a number, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw rangeError(ErrorCode.OutOfRange, `${name} must be an integer in [${min}, ${max}], got ${describe(value)}`);
  }
  return value;
}

export function assertNumber(value: unknown, name: string): number {
  if (typeof value !== 'number') throw typeError(ErrorCode.InvalidArgument, `${name} must be a number, got ${describe(value)}`);
  if (Number.isNaN(value)) throw rangeError(ErrorCode.OutOfRange, `${name} must not be NaN`);
  return value;
}

/** Rows of a row-major [rows, cols] array must all have the same length; returns cols. */
/** The addon's limit on rows in one call (native/bindings/kernels_binding.cc). */
export const MAX_ROWS = 2 ** 32;

export function rowLength(data: FloatArray, rows: number, name: string): number {
  assertInteger(rows, 'rows', 1, MAX_ROWS);
  if (data.length % rows !== 0) {
    throw rangeError(ErrorCode.ShapeMismatch, `${name} has ${data.length} elements, not a multiple of rows=${rows}`);
  }
  return data.length / rows;
}

/**
 * A detached buffer reads as length 0, so check it before any length check (only empty views
 * need the probe, which keeps the hot path at one comparison).
 */
export function assertAttached(arr: FloatArray, name: string): void {
  if (arr.length !== 0) return;
  try {
    new Uint8Array(arr.buffer);
  } catch {
    throw typeError(ErrorCode.DetachedBuffer, `${name} is backed by a detached ArrayBuffer`);
  }
}

export function assertLength(arr: FloatArray, needed: number, name: string): void {
  assertAttached(arr, name);
  if (arr.length < needed) {
    throw rangeError(ErrorCode.BufferTooShort, `${name} holds ${arr.length} elements, needs ${needed}`);
  }
}

export function assertSameType(a: FloatArray, b: FloatArray, nameA: string, nameB: string): void {
  if (a.constructor !== b.constructor) {
    throw typeError(ErrorCode.DtypeMismatch, `${nameB} is a ${b.constructor.name} but ${nameA} is a ${a.constructor.name}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  return typeof value;
}
