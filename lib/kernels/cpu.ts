import { addon } from '../native/addon';

export interface CpuFeatures {
  /** The CPU supports AVX2 and FMA. */
  avx2: boolean;
  /** The SIMD kernels are in use in this thread. */
  simd: boolean;
}

export function cpuFeatures(): CpuFeatures {
  return addon().cpuFeatures();
}

/**
 * Switches this thread's kernels between the AVX2 and the scalar path (both give identical
 * results; this exists for tests and benchmarks). Returns the previous setting.
 */
export function setSimd(enabled: boolean): boolean {
  return addon().setSimd(enabled);
}
