/** Deterministic series for the safety corpus (seeded: every run builds the same bytes). */

/** mulberry32: a small, fast, seeded PRNG in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws (Box-Muller). */
export function gaussian(seed: number): () => number {
  const u = rng(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** A random walk: start + cumulative N(drift, vol) steps. */
export function walk(n: number, seed: number, start = 100, vol = 0.5, drift = 0): Float64Array {
  const g = gaussian(seed);
  const x = new Float64Array(n);
  let v = start;
  for (let i = 0; i < n; i++) {
    v += drift + vol * g();
    x[i] = v;
  }
  return x;
}

/** A level plus Gaussian noise (no memory): a tight series around `level`. */
export function noisy(n: number, seed: number, level: number, std: number): Float64Array {
  const g = gaussian(seed);
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = level + std * g();
  return x;
}

export function f32(x: ArrayLike<number>): Float32Array {
  return Float32Array.from(x);
}

export function f64(x: ArrayLike<number>): Float64Array {
  return Float64Array.from(x);
}

export function arr(x: ArrayLike<number>): number[] {
  return Array.from(x);
}

/** `count` distinct indices in [0, n), seeded. */
export function pickIndices(n: number, count: number, seed: number): number[] {
  const idx = Array.from({ length: n }, (_, i) => i);
  const u = rng(seed);
  const k = Math.min(count, n);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(u() * (n - i));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  return idx.slice(0, k);
}

/** A copy of `x` with the given value at the given indices. */
export function withAt<T extends Float32Array | Float64Array>(x: T, indices: Iterable<number>, value: number): T {
  const y = x.slice() as T;
  for (const i of indices) y[i] = value;
  return y;
}

/** Rows stacked into one row-major [rows.length, T] array (all rows of length T). */
export function stack32(rows: ArrayLike<number>[]): Float32Array {
  const T = rows[0]?.length ?? 0;
  const out = new Float32Array(rows.length * T);
  rows.forEach((r, b) => out.set(Array.from(r), b * T));
  return out;
}

export function stack64(rows: ArrayLike<number>[]): Float64Array {
  const T = rows[0]?.length ?? 0;
  const out = new Float64Array(rows.length * T);
  rows.forEach((r, b) => out.set(Array.from(r), b * T));
  return out;
}
