/** Shared assertions for the kernel property tests. */
import { expect } from 'vitest';

import { cpuFeatures, setSimd } from '../lib/index';
import type { ScanStats } from '../lib/index';
import type { ScanRef } from './reference';

export const HAS_AVX2 = cpuFeatures().avx2;

/** Runs fn with the SIMD kernels switched on or off, restoring the previous setting. */
export function withSimd<R>(enabled: boolean, fn: () => R): R {
  const previous = setSimd(enabled);
  try {
    return fn();
  } finally {
    setSimd(previous);
  }
}

/** Runs fn on both paths; on a CPU without AVX2 both runs are scalar. */
export function bothPaths<R>(fn: () => R): { simd: R; scalar: R } {
  const simd = HAS_AVX2 ? withSimd(true, fn) : withSimd(false, fn);
  const scalar = withSimd(false, fn);
  return { simd, scalar };
}

/** Object.is, except that -0 and +0 are equal. */
export function sameNumber(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

export { describeValues } from './arbitraries';

/** |a - b| <= tol, with NaN only matching NaN. */
export function close(a: number, b: number, tol: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (a === b) return true;
  return Math.abs(a - b) <= tol;
}

export const MEAN_REL = 1e-9;
export const TINY = 1e-300;

export function meanTolerance(ref: { mean: number; std: number }): number {
  return MEAN_REL * Math.abs(ref.mean) + MEAN_REL * ref.std + TINY;
}

export function stdTolerance(ref: { mean: number; std: number }): number {
  return MEAN_REL * ref.std + 1e-12 * Math.abs(ref.mean) + TINY;
}

const INTEGER_FIELDS = [
  'count',
  'nanCount',
  'posInfCount',
  'negInfCount',
  'outOfBoundsCount',
  'finiteCount',
  'longestNaNRun',
  'firstNonFinite',
  'alternatingRun',
  'longestFlatRun',
] as const;

/** Throws (through expect) when a kernel scan disagrees with the reference. */
export function expectScanMatchesRef(got: ScanStats, ref: ScanRef, context: string): void {
  for (const f of INTEGER_FIELDS) {
    expect(got[f], `${f} of ${context}`).toBe(ref[f]);
  }
  expect(sameNumber(got.min, ref.min), `min ${got.min} vs ${ref.min} of ${context}`).toBe(true);
  expect(sameNumber(got.max, ref.max), `max ${got.max} vs ${ref.max} of ${context}`).toBe(true);
  expect(close(got.mean, ref.mean, meanTolerance(ref)), `mean ${got.mean} vs ${ref.mean} of ${context}`).toBe(true);
  expect(close(got.std, ref.std, stdTolerance(ref)), `std ${got.std} vs ${ref.std} of ${context}`).toBe(true);
  if (ref.finiteCount > 0) {
    expect(Number.isFinite(got.mean) && Number.isFinite(got.std) && got.std >= 0, `finite moments of ${context}`).toBe(true);
  }
}

/** Element-wise Object.is equality (NaN equals NaN, -0 differs from +0). */
export function expectSameElements(got: ArrayLike<number>, want: ArrayLike<number>, context: string): void {
  expect(got.length, `length of ${context}`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) {
      expect.fail(`${context}: element ${i} is ${String(got[i])}, expected ${String(want[i])}`);
    }
  }
}

/** Byte-for-byte equality of two typed arrays. */
export function expectSameBytes(a: ArrayBufferView, b: ArrayBufferView, context: string): void {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  expect(x.length, `byte length of ${context}`).toBe(y.length);
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) expect.fail(`${context}: byte ${i} differs (${x[i]} vs ${y[i]})`);
  }
}
