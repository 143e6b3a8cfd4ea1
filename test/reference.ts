/**
 * Plain reference implementations of the native kernels, written from their documented contracts
 * (native/kernels/*.h, lib/kernels/*.ts) and not from the C++: one element at a time, no lanes,
 * no blocks, no pivot. Where the arithmetic is specified exactly (scaling transforms, conversion,
 * imputation, quantile checks) these give the exact IEEE result; the moments (mean, std) are
 * computed as accurately as is practical (power-of-two scaling, compensated sums, two passes) so
 * the kernels can be held to a tight tolerance.
 */

export type Dtype = 'f32' | 'f64';

export interface ScanRef {
  count: number;
  nanCount: number;
  posInfCount: number;
  negInfCount: number;
  outOfBoundsCount: number;
  finiteCount: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  longestNaNRun: number;
  firstNonFinite: number;
  alternatingRun: number;
  longestFlatRun: number;
}

/** Neumaier's compensated sum. */
export function compensatedSum(values: Iterable<number>): number {
  let sum = 0;
  let c = 0;
  for (const v of values) {
    const t = sum + v;
    if (Math.abs(sum) >= Math.abs(v)) c += sum - t + v;
    else c += v - t + sum;
    sum = t;
  }
  return sum + c;
}

/** The largest power of two <= m (m finite, > 0). Division by it is exact for normal results. */
function powerOfTwoBelow(m: number): number {
  let e = Math.floor(Math.log2(m));
  // Math.log2 may be off by one near powers of two: fix it up exactly.
  while (2 ** e > m) e -= 1;
  while (2 ** (e + 1) <= m) e += 1;
  return 2 ** e;
}

/**
 * Mean and population standard deviation of finite values. Values are first divided by a power of
 * two close to max|x| (exact), so nothing overflows or underflows; then a compensated mean, a
 * correction pass, and a compensated two-pass sum of squared deviations. A constant input gives a
 * std of exactly 0.
 */
export function momentsRef(finite: readonly number[]): { mean: number; std: number } {
  const n = finite.length;
  if (n === 0) return { mean: NaN, std: NaN };
  let maxAbs = 0;
  for (const v of finite) maxAbs = Math.max(maxAbs, Math.abs(v));
  if (maxAbs === 0) return { mean: 0, std: 0 };
  const s = powerOfTwoBelow(maxAbs);
  const xs = finite.map((v) => v / s);
  let m = compensatedSum(xs) / n;
  m += compensatedSum(xs.map((v) => v - m)) / n; // one refinement step
  const allEqual = finite.every((v) => v === finite[0]);
  if (allEqual) return { mean: finite[0]!, std: 0 };
  const ss = compensatedSum(xs.map((v) => (v - m) * (v - m)));
  return { mean: m * s, std: Math.sqrt(ss / n) * s };
}

export function scanRef(values: ArrayLike<number>, lo = -Infinity, hi = Infinity): ScanRef {
  const n = values.length;
  let nanCount = 0;
  let posInfCount = 0;
  let negInfCount = 0;
  let outOfBoundsCount = 0;
  let firstNonFinite = -1;
  const finite: number[] = [];
  let min = Infinity;
  let max = -Infinity;

  let nanRun = 0;
  let longestNaNRun = 0;
  let altRun = 0; // length of the current alternating stretch ending here
  let alternatingRun = 0;
  let flatRun = 0; // length of the current run of equal non-NaN values ending here
  let longestFlatRun = 0;

  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const isNaN = Number.isNaN(v);
    if (isNaN) nanCount++;
    else if (v === Infinity) posInfCount++;
    else if (v === -Infinity) negInfCount++;
    if (Number.isFinite(v)) {
      finite.push(v);
      if (v < lo || v > hi) outOfBoundsCount++;
      if (v < min) min = v;
      if (v > max) max = v;
    } else if (firstNonFinite < 0) {
      firstNonFinite = i;
    }

    nanRun = isNaN ? nanRun + 1 : 0;
    longestNaNRun = Math.max(longestNaNRun, nanRun);

    if (i > 0 && Number.isNaN(values[i - 1]!) !== isNaN) altRun += 1;
    else altRun = 1;
    if (altRun >= 2) alternatingRun = Math.max(alternatingRun, altRun);

    if (isNaN) flatRun = 0;
    else if (i > 0 && values[i - 1] === v) flatRun += 1;
    else flatRun = 1;
    longestFlatRun = Math.max(longestFlatRun, flatRun);
  }

  const { mean, std } = momentsRef(finite);
  return {
    count: n,
    nanCount,
    posInfCount,
    negInfCount,
    outOfBoundsCount,
    finiteCount: finite.length,
    min: finite.length ? min : NaN,
    max: finite.length ? max : NaN,
    mean,
    std,
    longestNaNRun,
    firstNonFinite,
    alternatingRun,
    longestFlatRun,
  };
}

/** TiRex's rule: [loc, scale] from the finite values' mean and population std. */
export function computeScalingRef(values: ArrayLike<number>): [number, number] {
  const s = scanRef(values);
  if (s.finiteCount === 0) return [0, 1];
  return [s.mean, s.std === 0 ? Math.abs(s.mean) + 1e-5 : s.std];
}

function rounder(dtype: Dtype): (x: number) => number {
  return dtype === 'f32' ? Math.fround : (x) => x;
}

/** (x - loc) / scale in double, rounded once to the element type. */
export function applyScalingRef(values: ArrayLike<number>, loc: number, scale: number, dtype: Dtype): number[] {
  const r = rounder(dtype);
  return Array.from(values, (x) => r((x - loc) / scale));
}

/** x * scale + loc in double (a product, then a sum: no fused multiply-add), rounded once. */
export function invertScalingRef(values: ArrayLike<number>, loc: number, scale: number, dtype: Dtype): number[] {
  const r = rounder(dtype);
  return Array.from(values, (x) => r(x * scale + loc));
}

export interface ImputeRefResult {
  out: number[];
  filled: number;
  empty: boolean;
}

/** Interpolation between finite a and b at t in (0, 1); never overflows. */
function lerp(a: number, b: number, t: number): number {
  const d = b - a;
  if (Number.isFinite(d)) return a + d * t;
  return a * (1 - t) + b * t; // b - a overflowed: a result between a and b is still finite
}

/**
 * impute.h: 'ffill': a gap takes the last finite value before it, a leading gap the first finite
 * value. 'linear': an interior gap between finite a (index i) and b (index k) gets
 * a + (b - a) * ((j - i) / (k - i)) in double; leading / trailing gaps take the nearest finite value.
 * NaN and +-Inf are missing. A row without a finite value is left as it is.
 */
export function imputeRef(values: ArrayLike<number>, method: 'ffill' | 'linear', dtype: Dtype): ImputeRefResult {
  const r = rounder(dtype);
  const src = Array.from(values);
  const n = src.length;
  const finiteIdx: number[] = [];
  for (let i = 0; i < n; i++) if (Number.isFinite(src[i]!)) finiteIdx.push(i);
  if (finiteIdx.length === 0) return { out: src, filled: 0, empty: n > 0 };
  const out = src.slice();
  let filled = 0;
  for (let j = 0; j < n; j++) {
    if (Number.isFinite(src[j]!)) continue;
    filled++;
    // nearest finite neighbours
    let prev = -1;
    let next = -1;
    for (const k of finiteIdx) {
      if (k < j) prev = k;
      else if (k > j) {
        next = k;
        break;
      }
    }
    if (prev < 0) out[j] = src[next]!;
    else if (next < 0 || method === 'ffill') out[j] = src[prev]!;
    else out[j] = r(lerp(src[prev]!, src[next]!, (j - prev) / (next - prev)));
  }
  return { out, filled, empty: false };
}

export interface ConvertRef {
  output: number[];
  maxAbsError: number;
  overflowCount: number;
}

/** float64 -> float32 with round-to-nearest-even (Math.fround); errors over finite results only. */
export function convertRef(values: ArrayLike<number>): ConvertRef {
  let maxAbsError = 0;
  let overflowCount = 0;
  const output = Array.from(values, (x) => {
    const y = Math.fround(x);
    if (Number.isFinite(x)) {
      if (!Number.isFinite(y)) overflowCount++;
      else maxAbsError = Math.max(maxAbsError, Math.abs(y - x));
    }
    return y;
  });
  return { output, maxAbsError, overflowCount };
}

export interface RepairRef {
  out: number[];
  crossedSteps: number;
  nonFiniteValues: number;
  nonFiniteSteps: number;
}

/** Every all-finite step sorted ascending (stably); steps with a NaN / Inf untouched and counted. */
export function repairQuantilesRef(q: ArrayLike<number>, steps: number, levels: number): RepairRef {
  const out = Array.from(q);
  let crossedSteps = 0;
  let nonFiniteValues = 0;
  let nonFiniteSteps = 0;
  for (let s = 0; s < steps; s++) {
    const row = out.slice(s * levels, (s + 1) * levels);
    const bad = row.filter((v) => !Number.isFinite(v)).length;
    if (bad > 0) {
      nonFiniteValues += bad;
      nonFiniteSteps++;
      continue;
    }
    const sorted = row.slice().sort((a, b) => a - b); // stable: -0 / +0 keep their order
    const crossed = row.some((v, k) => k > 0 && v < row[k - 1]!);
    if (!crossed) continue;
    crossedSteps++;
    for (let k = 0; k < levels; k++) out[s * levels + k] = sorted[k]!;
  }
  return { out, crossedSteps, nonFiniteValues, nonFiniteSteps };
}

export interface CheckMeanRef {
  mean: number[];
  flagged: number;
}

/**
 * A step is fine when mean, q_first, q_last and the median are finite, q_first <= mean <= q_last
 * and |mean - median| <= maxDeviation * (q_last - q_first); the others are flagged and, with
 * `replace`, get the median when it is finite.
 */
export function checkMeanRef(
  mean: ArrayLike<number>,
  q: ArrayLike<number>,
  steps: number,
  levels: number,
  medianIndex: number,
  maxDeviation: number,
  replace: boolean,
): CheckMeanRef {
  const out = Array.from(mean);
  let flagged = 0;
  for (let s = 0; s < steps; s++) {
    const m = out[s]!;
    const lo = q[s * levels]!;
    const hi = q[s * levels + levels - 1]!;
    const med = q[s * levels + medianIndex]!;
    const dev = Math.abs(m - med);
    const ok = [m, lo, hi, med].every(Number.isFinite) && m >= lo && m <= hi && (dev === 0 || dev <= maxDeviation * (hi - lo));
    if (ok) continue;
    flagged++;
    if (replace && Number.isFinite(med)) out[s] = med;
  }
  return { mean: out, flagged };
}

export interface RecentRef {
  spike: number;
  levelShift: number;
  last: number;
  sigma: number;
}

/**
 * The recent-movement signals (lib/kernels/assess.ts): over the last 256 points, skipping
 * non-finite values, the one-step changes between consecutive finite values; sigma = 1.2533 *
 * mean |change|; with at least 4 changes, spike = largest change / mean of the others and level
 * shift = |mean of the finite values among the last 16 points - mean of the earlier ones| /
 * (that typical change * sqrt(16)). `last` is the last finite value of the whole series. Plain
 * double arithmetic in index order, which the kernel must reproduce exactly.
 */
export function recentSignalsRef(values: ArrayLike<number>): RecentRef {
  const n = values.length;
  const from = Math.max(0, n - 256);
  const finite: { i: number; v: number }[] = [];
  for (let i = from; i < n; i++) if (Number.isFinite(values[i]!)) finite.push({ i, v: values[i]! });
  let last = NaN;
  for (let i = n - 1; i >= 0; i--) {
    if (Number.isFinite(values[i]!)) {
      last = values[i]!;
      break;
    }
  }
  const changes: number[] = [];
  for (let j = 1; j < finite.length; j++) changes.push(Math.abs(finite[j]!.v - finite[j - 1]!.v));
  let sumAbs = 0;
  for (const d of changes) sumAbs += d;
  const sigma = changes.length > 0 ? (1.2533 * sumAbs) / changes.length : 0;
  if (changes.length < 4) return { spike: 0, levelShift: 0, last, sigma };
  const maxAbs = Math.max(...changes);
  const typical = (sumAbs - maxAbs) / (changes.length - 1);
  if (typical === 0) return { spike: maxAbs > 0 ? Infinity : 0, levelShift: 0, last, sigma };
  let tailSum = 0;
  let tailN = 0;
  let headSum = 0;
  let headN = 0;
  for (const { i, v } of finite) {
    if (i >= n - 16) {
      tailSum += v;
      tailN++;
    } else {
      headSum += v;
      headN++;
    }
  }
  const levelShift = tailN > 0 && headN > 0 ? Math.abs(tailSum / tailN - headSum / headN) / (typical * 4) : 0;
  return { spike: maxAbs / typical, levelShift, last, sigma };
}

export interface ForecastCheckRef {
  /** The quantiles after repair and clamps (float32 values). */
  q: number[];
  /** The medians, or null when a value was not finite (the kernel writes none then). */
  mean: number[] | null;
  report: number[];
}

/** The largest finite float32. */
const F32_MAX_REF = 3.4028234663852886e38;

/**
 * The output shield's pass (lib/kernels/forecast-check.ts): repairQuantilesRef; if any value is
 * not finite, stop. Else per series with a finite last value: unit = max(sigma, 1e-6 |last|,
 * 1e-12), span [min(min, last), max(max, last)] (min/max ignored when not finite), per step h
 * bound = k unit sqrt(h + 1); the band check, the excess of the median beyond span +- bound,
 * absurd beyond 100 (hi - lo + bound), and with clamp the whole step shifted by the excess
 * (float32 rounding, saturated to +-F32_MAX: a shift never makes an infinity), and the values of
 * the shifted step that are still not finite counted. The mean is each step's median afterwards,
 * written only when no value is non-finite.
 */
export function checkForecastRef(
  q: ArrayLike<number>,
  batch: number,
  horizon: number,
  levels: number,
  medianIndex: number,
  anchors: ArrayLike<number>,
  k: number,
  clamp: boolean,
): ForecastCheckRef {
  const rep = repairQuantilesRef(q, batch * horizon, levels);
  const out = rep.out;
  const report = [rep.crossedSteps, rep.nonFiniteValues, rep.nonFiniteSteps, 0, 0, 0, 0, 0];
  if (rep.nonFiniteValues > 0) return { q: out, mean: null, report };
  for (let b = 0; b < batch; b++) {
    const [last, sigma, min, max] = [anchors[b * 4]!, anchors[b * 4 + 1]!, anchors[b * 4 + 2]!, anchors[b * 4 + 3]!];
    if (!Number.isFinite(last)) {
      report[7]!++;
      continue;
    }
    const unit = Math.max(sigma, 1e-6 * Math.abs(last), 1e-12);
    const lo = Number.isFinite(min) ? Math.min(min, last) : last;
    const hi = Number.isFinite(max) ? Math.max(max, last) : last;
    for (let h = 0; h < horizon; h++) {
      const o = (b * horizon + h) * levels;
      const bound = k * unit * Math.sqrt(h + 1);
      const median = out[o + medianIndex]!;
      if (out[o + levels - 1]! - out[o]! > 4 * (hi - lo + 2 * bound)) report[5]!++;
      const excess = median > hi + bound ? median - (hi + bound) : median < lo - bound ? median - (lo - bound) : 0;
      if (excess === 0) continue;
      if (Math.abs(excess) > 100 * (hi - lo + bound)) report[6]!++;
      report[3]!++;
      if (clamp) {
        // Saturated to the finite float32 range; what is still not finite is counted after.
        let bad = 0;
        for (let j = 0; j < levels; j++) {
          const v = out[o + j]! - excess;
          out[o + j] = v > F32_MAX_REF ? F32_MAX_REF : v < -F32_MAX_REF ? -F32_MAX_REF : Math.fround(v);
          if (!Number.isFinite(out[o + j]!)) bad++;
        }
        report[1]! += bad;
        if (bad > 0) report[2]!++;
        report[4]!++;
      }
    }
  }
  if (report[1]! > 0) return { q: out, mean: null, report };
  const mean: number[] = [];
  for (let s = 0; s < batch * horizon; s++) mean.push(out[s * levels + medianIndex]!);
  return { q: out, mean, report };
}

/** The median of the numbers (the mean of the two middle ones for an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Textbook sample standard deviation of the one-step changes of the last `window` points (the
 * fallbacks' realized volatility); NaN with fewer than two changes. */
export function refSigma(v: number[], window = 64): number {
  const w = v.slice(-window);
  const d = w.slice(1).map((y, i) => y - w[i]!);
  if (d.length < 2) return NaN;
  const mean = d.reduce((s, y) => s + y, 0) / d.length;
  let ss = 0;
  for (const y of d) ss += (y - mean) * (y - mean);
  return Math.sqrt(ss / (d.length - 1));
}
