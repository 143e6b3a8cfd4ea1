/**
 * fast-check arbitraries for contexts rich in edge cases. A series is generated as a small recipe
 * (length, segments, seed) and expanded deterministically, so long series stay cheap to generate
 * and still shrink well. Every array is a view into a bigger ArrayBuffer at an element offset
 * k = 0..7, so its data pointer is usually not 32-byte aligned, and the bytes around it hold
 * sentinels that tests check are never read (results would change) nor written.
 */
import fc from 'fast-check';
import { rng } from '../lib/safety/series';

import type { Dtype } from './reference';

export type FloatArray = Float32Array | Float64Array;

export const F32_MAX = 3.4028234663852886e38;
export const F32_MIN_SUBNORMAL = 1.401298464324817e-45;

/** Values every f64 series should meet. */
export const F64_SPECIALS: readonly number[] = [
  NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.1, -2.5,
  1e-310, -1e-310, Number.MIN_VALUE, -Number.MIN_VALUE, 2.2250738585072014e-308,
  1e308, -1e308, Number.MAX_VALUE, -Number.MAX_VALUE, 1e39, -1e39, 1e-40,
  60000, 60000.123456, 16777217, 0.30000000000000004,
];

/** Values every f32 series should meet (all exactly representable in float32, bar the last two). */
export const F32_SPECIALS: readonly number[] = [
  NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.1, -2.5,
  1e-40, -1e-40, F32_MIN_SUBNORMAL, -F32_MIN_SUBNORMAL, 1.1754943508222875e-38,
  3.4e38, -3.4e38, F32_MAX, -F32_MAX,
  60000, 60000.125, 16777216, 16777218,
];

/** Tiny deterministic PRNG (mulberry32, shared with the safety corpus): expands a recipe without more fast-check draws. */
export const prng = rng;

export type SegmentKind = 'mixed' | 'nanRun' | 'alternating' | 'flat' | 'price' | 'special' | 'wild';

export interface Segment {
  kind: SegmentKind;
  len: number;
  /** A value for 'flat' and 'alternating', chosen by the generator. */
  value: number;
}

export interface SeriesRecipe {
  length: number;
  segments: Segment[];
  seed: number;
}

/** Lengths 0..3 always, the 8 / 64 / 1024 boundaries, and some random ones. */
export const BOUNDARY_LENGTHS = [0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 1023, 1024, 1025, 2048 + 5];

export function lengthArb(maxRandom = 300, boundaries: readonly number[] = BOUNDARY_LENGTHS): fc.Arbitrary<number> {
  return fc.oneof(
    { arbitrary: fc.constantFrom(...boundaries), weight: 3 },
    { arbitrary: fc.integer({ min: 0, max: maxRandom }), weight: 2 },
  );
}

function valueArb(dtype: Dtype): fc.Arbitrary<number> {
  const specials = dtype === 'f32' ? F32_SPECIALS : F64_SPECIALS;
  return fc.oneof(
    fc.constantFrom(...specials),
    fc.integer({ min: -5, max: 5 }),
    fc.double({ min: 59000, max: 61000, noNaN: true }),
    dtype === 'f32' ? fc.float() : fc.double(),
  );
}

function segmentArb(dtype: Dtype): fc.Arbitrary<Segment> {
  return fc.record({
    kind: fc.constantFrom<SegmentKind>('mixed', 'nanRun', 'alternating', 'flat', 'price', 'special', 'wild'),
    len: fc.oneof(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 200 })),
    value: valueArb(dtype),
  });
}

export function recipeArb(dtype: Dtype, length: fc.Arbitrary<number> = lengthArb()): fc.Arbitrary<SeriesRecipe> {
  return fc.record({
    length,
    segments: fc.array(segmentArb(dtype), { minLength: 1, maxLength: 6 }),
    seed: fc.integer({ min: 0, max: 0x7fffffff }),
  });
}

/** Expands a recipe into plain numbers (not yet rounded to the element type). */
export function expand(recipe: SeriesRecipe, dtype: Dtype): number[] {
  const rnd = prng(recipe.seed);
  const specials = dtype === 'f32' ? F32_SPECIALS : F64_SPECIALS;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const out: number[] = [];
  let price = 60000.123456 + (rnd() - 0.5) * 100;
  let s = 0;
  while (out.length < recipe.length) {
    const seg = recipe.segments[s++ % recipe.segments.length]!;
    const len = Math.min(seg.len, recipe.length - out.length);
    for (let i = 0; i < len; i++) {
      switch (seg.kind) {
        case 'nanRun':
          out.push(NaN);
          break;
        case 'alternating':
          out.push(i % 2 === 0 ? seg.value : NaN);
          break;
        case 'flat':
          out.push(seg.value);
          break;
        case 'price':
          price += (rnd() - 0.5) * 2;
          out.push(rnd() < 0.05 ? NaN : price);
          break;
        case 'special':
          out.push(pick(specials));
          break;
        case 'wild': {
          // random magnitudes over the whole range of the type, some repeats
          const e = dtype === 'f32' ? rnd() * 90 - 45 : rnd() * 640 - 320;
          const v = (rnd() < 0.5 ? -1 : 1) * (1 + rnd()) * 10 ** e;
          out.push(rnd() < 0.1 && out.length > 0 ? out[out.length - 1]! : v);
          break;
        }
        default: {
          const r = rnd();
          if (r < 0.15) out.push(NaN);
          else if (r < 0.2) out.push(pick(specials));
          else if (r < 0.3 && out.length > 0) out.push(out[out.length - 1]!);
          else out.push(seg.value + (rnd() - 0.5) * 10);
        }
      }
    }
  }
  return out;
}

/** Sentinels around views: a NaN, an Inf, a huge and a plain value, so a stray read shows. */
const GUARD = [NaN, Infinity, -3e38, 12345.5, -0, 7, 1e30, -Infinity];

export interface Placement {
  /** Element offset of the view in its buffer (0..7). */
  offset: number;
  /** Elements of padding after the view. */
  tail: number;
}

export const placementArb: fc.Arbitrary<Placement> = fc.record({
  offset: fc.integer({ min: 0, max: 7 }),
  tail: fc.integer({ min: 0, max: 5 }),
});

export function ctorOf(dtype: Dtype): Float32ArrayConstructor | Float64ArrayConstructor {
  return dtype === 'f32' ? Float32Array : Float64Array;
}

/**
 * A typed-array view of `values` at element offset `offset` of a bigger buffer, with guard
 * values before and after. `new Float32Array(buf, k * 4, n)` with k = 1..7 is not 32-byte aligned.
 */
export function place(values: ArrayLike<number>, dtype: Dtype, p: Placement = { offset: 0, tail: 0 }): FloatArray {
  const Ctor = ctorOf(dtype);
  const n = values.length;
  const buf = new ArrayBuffer((p.offset + n + p.tail) * Ctor.BYTES_PER_ELEMENT);
  const whole = new Ctor(buf);
  for (let i = 0; i < whole.length; i++) whole[i] = GUARD[i % GUARD.length]!;
  const view = p.offset % 2 === 0 ? new Ctor(buf, p.offset * Ctor.BYTES_PER_ELEMENT, n) : whole.subarray(p.offset, p.offset + n);
  view.set(Array.from(values));
  return view;
}

/** The bytes of a view's whole buffer outside the view (to check nothing was written there). */
export function outsideBytes(view: FloatArray): Uint8Array {
  const all = new Uint8Array(view.buffer);
  const before = all.slice(0, view.byteOffset);
  const after = all.slice(view.byteOffset + view.byteLength);
  const out = new Uint8Array(before.length + after.length);
  out.set(before, 0);
  out.set(after, before.length);
  return out;
}

export function bytesOf(view: FloatArray): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
}

export interface SeriesCase {
  dtype: Dtype;
  recipe?: SeriesRecipe;
  placement: Placement;
  /** The values as stored (rounded to the element type). */
  values: number[];
  data: FloatArray;
}

/** Short, readable rendering of values for failure messages. */
export function describeValues(values: ArrayLike<number>, max = 40): string {
  const xs = Array.from(values)
    .slice(0, max)
    .map((v) => (Object.is(v, -0) ? '-0' : String(v)));
  return `[${xs.join(', ')}${values.length > max ? `, ... (${values.length} values)` : ''}]`;
}

/** Counterexamples print as dtype, placement and (the start of) the values, not the whole buffer. */
function printable<T extends object>(obj: T, text: () => string): T {
  Object.defineProperty(obj, fc.toStringMethod, { value: text, enumerable: false });
  return obj;
}

/**
 * NaN bit patterns other than JavaScript's canonical one: a signalling NaN, a negative NaN, a
 * NaN with a payload. Kernels must treat them all as NaN, and both paths must agree bit for bit.
 */
const F64_NANS = [0x7ff4000000000001n, 0xfff8000000000000n, 0x7ff8deadbeef0001n];
const F32_NANS = [0x7fa00001, 0xffc00000, 0x7fc0beef];

/** Rewrites every other NaN of a view with one of the odd NaN bit patterns above. */
export function varyNaNs(view: FloatArray): void {
  let k = 0;
  if (view instanceof Float64Array) {
    const bits = new BigUint64Array(view.buffer, view.byteOffset, view.length);
    for (let i = 0; i < view.length; i++) if (Number.isNaN(view[i]!) && k++ % 2 === 1) bits[i] = F64_NANS[k % 3]!;
  } else {
    const bits = new Uint32Array(view.buffer, view.byteOffset, view.length);
    for (let i = 0; i < view.length; i++) if (Number.isNaN(view[i]!) && k++ % 2 === 1) bits[i] = F32_NANS[k % 3]!;
  }
}

/** A byte-exact copy of a view at another placement (NaN payloads included). */
export function copyTo(data: FloatArray, dtype: Dtype, p: Placement): FloatArray {
  const view = place(new Array<number>(data.length).fill(0), dtype, p);
  new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return view;
}

function seriesCase(dtype: Dtype, values: number[], placement: Placement, recipe?: SeriesRecipe): SeriesCase {
  const data = place(values, dtype, placement);
  varyNaNs(data);
  const stored = Array.from(data);
  return printable({ dtype, recipe, placement, values: stored, data }, () =>
    `${dtype} offset=${placement.offset} length=${stored.length} ${describeValues(stored, 80)}`,
  );
}

/** Short series straight from fast-check's value arbitraries: they shrink element by element. */
export function directSeriesArb(dtype: Dtype, maxLength = 70): fc.Arbitrary<SeriesCase> {
  return fc
    .record({ values: fc.array(valueArb(dtype), { maxLength }), placement: placementArb })
    .map(({ values, placement }) => seriesCase(dtype, values, placement));
}

/** A fixed, deterministic series of a given length (for sweeps over every boundary length). */
export function fixedSeries(dtype: Dtype, length: number, seed: number, offset: number): SeriesCase {
  const kinds: SegmentKind[] = ['price', 'mixed', 'nanRun', 'alternating', 'flat', 'special', 'wild'];
  const rnd = prng(seed);
  const segments: Segment[] = Array.from({ length: 5 }, () => ({
    kind: kinds[Math.floor(rnd() * kinds.length)]!,
    len: 1 + Math.floor(rnd() * 90),
    value: Math.round((rnd() - 0.5) * 20),
  }));
  const recipe = { length, segments, seed };
  return seriesCase(dtype, expand(recipe, dtype), { offset, tail: 2 }, recipe);
}

/**
 * Series from a recipe (long, structured; shrinks by recipe) or, for short ones, straight from
 * fast-check's value arbitraries (shrinks element by element to a minimal counterexample).
 */
export function seriesArb(dtype: Dtype, length: fc.Arbitrary<number> = lengthArb()): fc.Arbitrary<SeriesCase> {
  const fromRecipe = fc
    .record({ recipe: recipeArb(dtype, length), placement: placementArb })
    .map(({ recipe, placement }) => seriesCase(dtype, expand(recipe, dtype), placement, recipe));
  return fc.oneof({ arbitrary: directSeriesArb(dtype), weight: 1 }, { arbitrary: fromRecipe, weight: 3 });
}

/** f32 and f64 series. */
export function anySeriesArb(length: fc.Arbitrary<number> = lengthArb()): fc.Arbitrary<SeriesCase> {
  return fc.oneof(seriesArb('f32', length), seriesArb('f64', length));
}

export interface BatchCase {
  dtype: Dtype;
  rows: number;
  cols: number;
  placement: Placement;
  /** rows[r] are the stored values of row r. */
  rowValues: number[][];
  data: FloatArray;
}

/**
 * A row-major [B, T] batch. Each row is left-padded with a NaN run of its own length (ragged
 * histories), some rows entirely NaN, the rest of the row from a recipe.
 */
export function batchArb(dtype: Dtype, cols: fc.Arbitrary<number> = lengthArb(150, [0, 1, 2, 3, 8, 63, 64, 65, 129])): fc.Arbitrary<BatchCase> {
  return fc
    .record({
      rows: fc.integer({ min: 1, max: 6 }),
      cols,
      placement: placementArb,
      seed: fc.integer({ min: 0, max: 0x7fffffff }),
      recipes: fc.array(recipeArb(dtype, fc.constant(0)), { minLength: 6, maxLength: 6 }),
      // per row: -1 for an all-NaN row, else the padded fraction of the row
      pads: fc.array(
        fc.oneof(
          { arbitrary: fc.constant(-1), weight: 1 },
          { arbitrary: fc.constant(0), weight: 2 },
          { arbitrary: fc.integer({ min: 1, max: 99 }).map((pct) => pct / 100), weight: 4 },
        ),
        { minLength: 6, maxLength: 6 },
      ),
    })
    .map(({ rows, cols, placement, recipes, pads }) => {
      const rowsIn: number[][] = [];
      for (let r = 0; r < rows; r++) {
        const pad = pads[r]! < 0 ? cols : Math.floor(pads[r]! * cols);
        const body = expand({ ...recipes[r]!, length: cols - pad }, dtype);
        rowsIn.push([...new Array<number>(pad).fill(NaN), ...body]);
      }
      const data = place(rowsIn.flat(), dtype, placement);
      varyNaNs(data);
      const stored = Array.from(data);
      const rowValues = rowsIn.map((_, r) => stored.slice(r * cols, (r + 1) * cols));
      return printable({ dtype, rows, cols, placement, rowValues, data }, () =>
        `${dtype} batch ${rows}x${cols} offset=${placement.offset} rows=${rowValues.map((v) => describeValues(v, 20)).join(' ')}`,
      );
    });
}

export function anyBatchArb(): fc.Arbitrary<BatchCase> {
  return fc.oneof(batchArb('f32'), batchArb('f64'));
}

/** Scan bounds: lo <= hi, including +-Infinity and values not representable in float32. */
export const boundsArb: fc.Arbitrary<{ lo: number; hi: number }> = fc
  .tuple(
    fc.oneof(
      fc.constantFrom(-Infinity, Infinity, 0, -0, 0.1, -0.1, 1e-41, 1e-50, 59999.99, 60000.1, 3.4e38, 3.5e38, -3.5e38, 1e39, 1e308, -1e308, 1, -1, 5, -5),
      fc.double({ noNaN: true }),
      fc.double({ min: -10, max: 10, noNaN: true }),
      fc.double({ min: 59000, max: 61000, noNaN: true }),
    ),
    fc.oneof(
      fc.constantFrom(-Infinity, Infinity, 0.1, 60000.1, 3.4e38, 1e39, 1e308, 2, 5),
      fc.double({ noNaN: true }),
      fc.double({ min: -10, max: 10, noNaN: true }),
      fc.double({ min: 59000, max: 61000, noNaN: true }),
    ),
  )
  .map(([a, b]) => (a <= b ? { lo: a, hi: b } : { lo: b, hi: a }));

/** One forecast step: sorted, crossed, flat, wild (NaN, Inf, extremes). */
export const stepArb = (levels: number): fc.Arbitrary<number[]> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.array(fc.float({ min: -200, max: 200, noNaN: true }), { minLength: levels, maxLength: levels }).map((xs) => xs.sort((a, b) => a - b)) },
    { weight: 2, arbitrary: fc.array(fc.float({ min: -200, max: 200, noNaN: true }), { minLength: levels, maxLength: levels }) },
    { weight: 1, arbitrary: fc.float({ noNaN: true }).map((v) => new Array<number>(levels).fill(v)) },
    {
      weight: 1,
      arbitrary: fc.array(fc.oneof(fc.float(), fc.constantFrom(NaN, Infinity, -Infinity, -0, F32_MAX, -F32_MAX, 1e-40)), {
        minLength: levels,
        maxLength: levels,
      }),
    },
    // Finite but spanning the float range: a clamp's shift must not overflow it.
    {
      weight: 1,
      arbitrary: fc
        .array(fc.constantFrom(-F32_MAX, -3.4e38, -1e38, -1, 0, 1, 1e38, 3.4e38, F32_MAX), { minLength: levels, maxLength: levels })
        .map((xs) => xs.sort((a, b) => a - b)),
    },
  );

export const anchorArb = fc.tuple(
  fc.oneof({ weight: 5, arbitrary: fc.double({ min: -100, max: 100, noNaN: true }) }, { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, -0, 1e300, -1e-310) }),
  fc.oneof({ weight: 5, arbitrary: fc.double({ min: 0, max: 20, noNaN: true }) }, { weight: 1, arbitrary: fc.constantFrom(0, Infinity, NaN, 1e-320, 1e300) }),
  fc.oneof({ weight: 5, arbitrary: fc.double({ min: -150, max: 0, noNaN: true }) }, { weight: 1, arbitrary: fc.constantFrom(NaN, -Infinity, -1e300) }),
  fc.oneof({ weight: 5, arbitrary: fc.double({ min: 0, max: 150, noNaN: true }) }, { weight: 1, arbitrary: fc.constantFrom(NaN, Infinity, 1e300) }),
);
