/**
 * Shared plumbing of the fallback forecasters: argument checks, the quantile levels and their
 * normal quantiles, the gather of the last finite points into preallocated scratch, the realized
 * volatility and the band writer. Everything per element is a plain loop over typed arrays; the
 * scratch grows (rarely) but is never allocated per call.
 */
import { ErrorCode, rangeError, typeError } from '../errors';
import { normalQuantile } from './normal';
import { assertAttached, assertFloat32, assertFloatArray, assertInteger, assertLength, type FloatArray } from '../kernels/validate';

/** The nine TiRex quantile levels, the default of every fallback. */
export const TIREX_QUANTILE_LEVELS: readonly number[] = Object.freeze([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);

/** The largest finite float32. Outputs beyond it are clamped to it (and counted). (Module-local:
 * the CommonJS build would read an exported constant as a property of `exports` in the loops.) */
const F32_MAX = 3.4028234663852886e38;

/** Longest horizon a fallback accepts (sqrt(h) stays small, so bands never overflow). */
export const MAX_FALLBACK_HORIZON = 2 ** 24;

/**
 * The sigma floor: max(SIGMA_FLOOR_RELATIVE * |center|, SIGMA_FLOOR_ABSOLUTE). It replaces the
 * realized volatility whenever that is below it: 0 (a flat series), or not computable (fewer
 * than 2 finite one-step changes), so bands always exist and are ordered.
 */
const FLOOR_RELATIVE = 1e-6;
const FLOOR_ABSOLUTE = 1e-12;
export const SIGMA_FLOOR_RELATIVE = FLOOR_RELATIVE;
export const SIGMA_FLOOR_ABSOLUTE = FLOOR_ABSOLUTE;

/**
 * Sigmas are capped here so that no band arithmetic can reach Inf or NaN: |z| < 40 for any level
 * in (0, 1) and sqrt(h) <= 4096, so |z * s| < 1.7e307.
 */
const CAP = 1e302;
/**
 * Centers are capped at CENTER_CAP: |c + z * s| < 1.2e308 stays finite, and a center beyond the
 * cap keeps every band on its side of zero (capping it at CAP, as sigma, flipped the outer bands
 * of a series near +-1e308 to the other end of the float32 range).
 */
const CENTER_CAP = 1e308;

/**
 * Float64 contexts may hold values near Number.MAX_VALUE, whose sums, changes and squared
 * changes overflow. When the largest magnitude gathered exceeds SCALE_THRESHOLD, the gathered
 * values are multiplied by SCALE_DOWN (a power of two: exact, except for values so small that
 * they do not matter next to the big ones) and the results by SCALE_UP.
 */
const SCALE_THRESHOLD = 2 ** 480;
const SCALE_DOWN = 2 ** -600;
const SCALE_UP = 2 ** 600;

// ---------------------------------------------------------------------------------------------
// Argument checks (programming errors throw coded errors; data problems never throw).

export function checkContext(context: unknown): asserts context is FloatArray {
  assertFloatArray(context, 'context');
  assertAttached(context, 'context');
}

export function checkHorizon(horizon: unknown): number {
  return assertInteger(horizon, 'horizon', 1, MAX_FALLBACK_HORIZON);
}

export function checkWindow(value: unknown, name: string, min: number, fallback: number): number {
  return value === undefined ? fallback : assertInteger(value, name, min);
}

const Z_DEFAULT = new Float64Array(TIREX_QUANTILE_LEVELS.map(normalQuantile));
let zScratch = new Float64Array(16);

/**
 * Normal quantiles of the levels (strictly increasing, each in (0, 1)). The default levels use a
 * precomputed table; others are computed into scratch (valid until the next call).
 */
export function levelQuantiles(levels: readonly number[] | undefined): Float64Array {
  if (levels === undefined || levels === TIREX_QUANTILE_LEVELS) return Z_DEFAULT;
  if (!Array.isArray(levels)) throw typeError(ErrorCode.InvalidArgument, 'levels must be an array of numbers');
  const q = levels.length;
  if (q === 0) throw rangeError(ErrorCode.OutOfRange, 'levels must not be empty');
  if (zScratch.length < q) zScratch = new Float64Array(q);
  let prev = 0;
  for (let k = 0; k < q; k++) {
    const p: unknown = levels[k];
    if (typeof p !== 'number') throw typeError(ErrorCode.InvalidArgument, `levels[${k}] must be a number`);
    if (!(p > 0 && p < 1)) throw rangeError(ErrorCode.OutOfRange, `levels[${k}] must be in (0, 1), got ${p}`);
    if (!(p > prev)) throw rangeError(ErrorCode.OutOfRange, `levels must increase strictly (index ${k})`);
    zScratch[k] = normalQuantile(p);
    prev = p;
  }
  // Acklam's approximation is monotone to its accuracy; make the table monotone exactly so that
  // levels a hair apart can never produce crossing bands.
  for (let k = 1; k < q; k++) if (zScratch[k]! < zScratch[k - 1]!) zScratch[k] = zScratch[k - 1]!;
  return zScratch;
}

/** The output buffer: the caller's (checked) or a new Float32Array [horizon, levels]. */
export function checkOut(out: unknown, needed: number): Float32Array | undefined {
  if (out === undefined) return undefined;
  assertFloat32(out, 'out');
  assertLength(out, needed, 'out');
  return out;
}

// ---------------------------------------------------------------------------------------------
// Gather: the last `want` finite values, oldest first, with their times relative to the last
// index of the context (0 for the last element, -1 for the one before, ...).

let vals = new Float64Array(256);
let times = new Float64Array(256);
let work = new Float64Array(2048);

// Stryker disable ObjectLiteral,UnaryOperator: initial values only: gatherTail writes every field before it is read
/** Result of the last gather (module state: the forecasters are synchronous, never re-entered). */
export const gathered = {
  /** Finite values found (<= want). */
  count: 0,
  /** 1 or SCALE_UP: multiply results computed on `values` by it. */
  scale: 1,
  /** Index in the context of the last finite value (-1 if none). */
  lastIndex: -1,
};
// Stryker restore ObjectLiteral,UnaryOperator

export function scratchValues(): Float64Array {
  return vals;
}

export function scratchTimes(): Float64Array {
  return times;
}

/** A scratch array of at least n doubles (distinct from values and times). */
export function scratchWork(n: number): Float64Array {
  if (work.length < n) work = new Float64Array(Math.max(n, 2 * work.length));
  return work;
}

/**
 * Walks back from the end of the context and copies the last `want` finite values into
 * scratchValues()[0 .. count) (oldest first) and their relative times into scratchTimes().
 * Cost: proportional to the distance walked back, not to the context length.
 */
export function gatherTail(x: FloatArray, want: number): number {
  if (vals.length < want) {
    const size = Math.max(want, 2 * vals.length);
    vals = new Float64Array(size);
    times = new Float64Array(size);
  }
  const v = vals;
  const t = times;
  const last = x.length - 1;
  let pos = want;
  let maxAbs = 0;
  for (let i = last; i >= 0 && pos > 0; i--) {
    const y = x[i]!;
    if (y - y === 0) {
      // finite (NaN - NaN and Inf - Inf are NaN)
      pos--;
      v[pos] = y;
      t[pos] = i - last;
      const a = y < 0 ? -y : y;
      if (a > maxAbs) maxAbs = a;
    }
  }
  const count = want - pos;
  if (pos > 0 && count > 0) {
    v.copyWithin(0, pos, want);
    t.copyWithin(0, pos, want);
  }
  gathered.count = count;
  gathered.lastIndex = count > 0 ? last + t[count - 1]! : -1;
  gathered.scale = 1;
  if (maxAbs > SCALE_THRESHOLD) {
    for (let i = 0; i < count; i++) v[i] = v[i]! * SCALE_DOWN;
    gathered.scale = SCALE_UP;
  }
  return count;
}

/** Multiplies a center computed on scaled values back, kept finite (+-Number.MAX_VALUE). */
export function unscale(value: number, scale: number): number {
  const r = value * scale;
  return r > Number.MAX_VALUE ? Number.MAX_VALUE : r < -Number.MAX_VALUE ? -Number.MAX_VALUE : r;
}

/** Multiplies a sigma computed on scaled values back, capped so that band arithmetic stays finite. */
export function unscaleSigma(value: number, scale: number): number {
  const r = value * scale;
  return r > CAP ? CAP : r;
}

// ---------------------------------------------------------------------------------------------
// Realized volatility.

// Stryker disable ObjectLiteral: initial values only: changeStd writes both fields before they are read
/** Result of the last volatility computation. */
export const volatility = {
  /** Sample standard deviation of the changes (NaN when fewer than 2 changes). */
  sigma: NaN,
  /** Finite one-step changes used. */
  changes: 0,
};
// Stryker restore ObjectLiteral

/**
 * Sample standard deviation of the one-step changes of values[from .. to) (the finite part: a
 * change across a gap of non-finite values counts as one step, which can only widen the bands).
 * One pass: the mean of the changes telescopes to (last - first) / changes.
 */
export function changeStd(values: Float64Array, from: number, to: number): void {
  const n = to - from - 1;
  volatility.changes = n > 0 ? n : 0;
  if (n < 2) {
    volatility.sigma = NaN;
    return;
  }
  const mean = (values[to - 1]! - values[from]!) / n;
  let ss = 0;
  let prev = values[from]!;
  for (let i = from + 1; i < to; i++) {
    const y = values[i]!;
    const d = y - prev - mean;
    ss += d * d;
    prev = y;
  }
  volatility.sigma = Math.sqrt(ss / (n - 1));
}

/** The sigma floor for a center (see SIGMA_FLOOR_RELATIVE). */
export function sigmaFloor(center: number): number {
  const f = FLOOR_RELATIVE * (center < 0 ? -center : center);
  // (capped like every sigma: centers beyond 1e308 / 1e6 give bands far outside float32 anyway)
  return f > FLOOR_ABSOLUTE ? (f < CAP ? f : CAP) : FLOOR_ABSOLUTE;
}

// ---------------------------------------------------------------------------------------------
// Bands.

/**
 * Writes out[h - 1, k] = (a + b * h) * scale + z[k] * sigma * sqrt(h) for h = 1..horizon, every
 * value clamped to the float32 range. Returns the number of clamped values. With sigma > 0 and
 * z non-decreasing, every row is non-decreasing (rounding and clamping are monotone).
 */
export function writeBands(
  out: Float32Array,
  horizon: number,
  z: Float64Array,
  q: number,
  a: number,
  b: number,
  scale: number,
  sigma: number,
): number {
  const z0 = z[0]! < 0 ? -z[0]! : z[0]!;
  const z1 = z[q - 1]! < 0 ? -z[q - 1]! : z[q - 1]!;
  const zMax = z0 > z1 ? z0 : z1; // z is non-decreasing: its largest magnitude is at an end
  let clamped = 0;
  let row = 0;
  for (let h = 1; h <= horizon; h++) {
    let c = (a + b * h) * scale;
    c = c > CENTER_CAP ? CENTER_CAP : c < -CENTER_CAP ? -CENTER_CAP : c;
    const s = sigma * Math.sqrt(h);
    if ((c < 0 ? -c : c) + zMax * s <= F32_MAX) {
      // the whole row is inside the float32 range (the common case): no clamping
      for (let k = 0; k < q; k++) out[row + k] = c + z[k]! * s;
    } else {
      for (let k = 0; k < q; k++) {
        let v = c + z[k]! * s;
        if (v > F32_MAX) {
          v = F32_MAX;
          clamped++;
        } else if (v < -F32_MAX) {
          v = -F32_MAX;
          clamped++;
        }
        out[row + k] = v;
      }
    }
    row += q;
  }
  return clamped;
}
