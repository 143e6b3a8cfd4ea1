/**
 * The output shield's pass over a [batch, horizon, levels] forecast (native/kernels/forecast_check.h,
 * one native call): sorts crossing levels, counts non-finite values, judges each median against
 * its series' plausible span, checks the outer band, shifts implausible steps onto the bound when
 * asked, and writes the mean (the median). The policy (what the counts mean) is the caller's.
 *
 * Scalars, the report and the anchors share one Float64Array (`ForecastCheckIO`): every typed
 * array handed to the addon costs about 100 ns of Node-API work, more than the kernel's own
 * work on a 32-step forecast.
 */
import { ErrorCode, rangeError, typeError } from '../errors';
import { addon } from '../native/addon';
import { assertAttached, assertFloat32, assertInteger, assertNumber } from './validate';

/** Doubles per series in the anchors: last finite value, sigma, finite min, finite max. */
export const ANCHOR_STRIDE = 4;

/** Offsets of the report's counts. */
export const ForecastReport = {
  /** Finite steps whose levels crossed (now sorted). */
  crossedSteps: 0,
  /** NaN or +-Inf values: nothing else is judged, clamped or written then. */
  nonFiniteValues: 1,
  nonFiniteSteps: 2,
  /** Medians outside [min(lo, last) - bound, max(hi, last) + bound], bound = k * unit * sqrt(h + 1),
   * unit = max(sigma, 1e-6 * |last|, 1e-12). */
  implausibleSteps: 3,
  /** Of those, steps shifted so the median lands on the bound (with clamp). */
  clampedSteps: 4,
  /** Steps whose outer band is wider than 4 * (hi - lo + 2 * bound). */
  implausibleBands: 5,
  /** Medians beyond the span by more than 100 * (hi - lo + bound). */
  absurdSteps: 6,
  /** Series whose last value is not finite: nothing to judge their forecast against. */
  unanchoredRows: 7,
} as const;
export const FORECAST_REPORT_LENGTH = 8;

/** Layout of the io buffer (native/bindings/kernels_binding.h). */
const IO_REPORT = 8;
const IO_HEADER = 16;

export interface ForecastCheckShape {
  batch: number;
  horizon: number;
  levels: number;
  medianIndex: number;
}

/** The buffers of the output pass, for up to `maxBatch` series: fill `anchors`, run, read `report`. */
export class ForecastCheckIO {
  readonly io: Float64Array;
  /** ANCHOR_STRIDE doubles per series. */
  readonly anchors: Float64Array;
  /** FORECAST_REPORT_LENGTH counts, offsets in ForecastReport. */
  readonly report: Float64Array;
  readonly maxBatch: number;

  constructor(maxBatch: number) {
    this.maxBatch = assertInteger(maxBatch, 'maxBatch', 1, 2 ** 24);
    this.io = new Float64Array(IO_HEADER + maxBatch * ANCHOR_STRIDE);
    this.anchors = this.io.subarray(IO_HEADER);
    this.report = this.io.subarray(IO_REPORT, IO_REPORT + FORECAST_REPORT_LENGTH);
  }
}

/** True when two views share bytes of one buffer. */
function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}

/** The quantiles and the shape of both output passes, checked before the addon sees them. */
function checkShape(q: Float32Array, shape: ForecastCheckShape, maxBatch: number): void {
  const { batch, horizon, levels, medianIndex } = shape;
  assertFloat32(q, 'quantiles');
  assertAttached(q, 'quantiles');
  assertInteger(batch, 'batch', 1, maxBatch);
  assertInteger(horizon, 'horizon', 1);
  assertInteger(levels, 'levels', 1, 1024);
  assertInteger(medianIndex, 'medianIndex', 0, levels - 1);
  if (q.length !== batch * horizon * levels) {
    throw rangeError(ErrorCode.ShapeMismatch, `quantiles has ${q.length} elements, expected batch*horizon*levels=${batch * horizon * levels}`);
  }
}

/** The mean (when given) and the io buffer: their own memory, the mean [batch * horizon]. */
function checkMeanAndIo(q: Float32Array, shape: ForecastCheckShape, mean: Float32Array | null, io: Float64Array): void {
  if (mean !== null) {
    assertFloat32(mean, 'mean');
    assertAttached(mean, 'mean');
    if (mean.length !== shape.batch * shape.horizon) {
      throw rangeError(ErrorCode.ShapeMismatch, `mean has ${mean.length} elements, expected batch*horizon=${shape.batch * shape.horizon}`);
    }
    if (overlaps(mean, q)) throw typeError(ErrorCode.InvalidArgument, 'mean must not share memory with quantiles');
  }
  if (overlaps(io, q)) throw typeError(ErrorCode.InvalidArgument, 'io must not share memory with quantiles');
}

/**
 * Checks and repairs `q` in place against `io.anchors`; `mean` ([batch * horizon], or null) gets
 * the medians when every value is finite; the counts land in `io.report`. `k` scales sigma, the
 * unit of plausible movement.
 */
export function checkForecastInto(q: Float32Array, shape: ForecastCheckShape, io: ForecastCheckIO, k: number, clamp: boolean, mean: Float32Array | null): void {
  if (!(io instanceof ForecastCheckIO)) throw typeError(ErrorCode.InvalidArgument, 'io must be a ForecastCheckIO');
  checkShape(q, shape, io.maxBatch);
  if (!(assertNumber(k, 'k') > 0) || k === Infinity) throw rangeError(ErrorCode.OutOfRange, `k must be finite and > 0, got ${k}`);
  checkMeanAndIo(q, shape, mean, io.io);
  checkForecastTrusted(q, shape, io, k, clamp, mean);
}

/**
 * The same call without the TypeScript checks, for a caller that has established them by
 * construction (the output shield: the forecast buffer the guardian sized for the model, its own
 * io and mean). The native side still checks every shape, range and type.
 */
export function checkForecastTrusted(q: Float32Array, shape: ForecastCheckShape, io: ForecastCheckIO, k: number, clamp: boolean, mean: Float32Array | null): void {
  const p = io.io;
  p[0] = shape.batch;
  p[1] = shape.horizon;
  p[2] = shape.levels;
  p[3] = shape.medianIndex;
  p[4] = k;
  p[5] = clamp ? 1 : 0;
  addon().checkForecast(q, mean, p);
}

/** Doubles per series in a ForecastRowsIO: 4 anchors, k, the series' 8 counts. */
export const FORECAST_ROW_STRIDE = 13;
/** Offsets inside one series' record of a ForecastRowsIO. */
export const ForecastRow = { last: 0, sigma: 1, min: 2, max: 3, k: 4, report: 5 } as const;

/**
 * The buffer of the per-series output pass (checkForecastRows): the header, then per series its
 * anchors, its k (a cautioned series gets a tighter bound) and its own report. One Float64Array,
 * sized for up to `maxBatch` series.
 */
export class ForecastRowsIO {
  readonly io: Float64Array;
  /** The sums over the series, offsets in ForecastReport. */
  readonly report: Float64Array;
  readonly maxBatch: number;
  constructor(maxBatch: number) {
    this.maxBatch = assertInteger(maxBatch, 'maxBatch', 1, 2 ** 24);
    this.io = new Float64Array(IO_HEADER + maxBatch * FORECAST_ROW_STRIDE);
    this.report = this.io.subarray(IO_REPORT, IO_REPORT + FORECAST_REPORT_LENGTH);
  }
  /** Offset of series b's record in `io`. */
  row(b: number): number {
    return IO_HEADER + b * FORECAST_ROW_STRIDE;
  }
}

/**
 * Checks and repairs `q` [batch, horizon, levels] series by series in one native call: each
 * series against its own anchors and k, with its own report (a non-finite series stops only its
 * own checks and gets no mean). Fill each series' anchors and k in `io` first.
 */
export function checkForecastRowsInto(q: Float32Array, shape: ForecastCheckShape, io: ForecastRowsIO, clamp: boolean, mean: Float32Array | null): void {
  if (!(io instanceof ForecastRowsIO)) throw typeError(ErrorCode.InvalidArgument, 'io must be a ForecastRowsIO');
  checkShape(q, shape, io.maxBatch);
  for (let b = 0; b < shape.batch; b++) {
    const k = io.io[io.row(b) + ForecastRow.k]!;
    if (!(k > 0) || k === Infinity) throw rangeError(ErrorCode.OutOfRange, `k of series ${b} must be finite and > 0, got ${k}`);
  }
  checkMeanAndIo(q, shape, mean, io.io);
  checkForecastRowsTrusted(q, shape, io, clamp, mean);
}

/** checkForecastRowsInto without the TypeScript checks, for the output shield (its own buffers). */
export function checkForecastRowsTrusted(q: Float32Array, shape: ForecastCheckShape, io: ForecastRowsIO, clamp: boolean, mean: Float32Array | null): void {
  const p = io.io;
  p[0] = shape.batch;
  p[1] = shape.horizon;
  p[2] = shape.levels;
  p[3] = shape.medianIndex;
  p[5] = clamp ? 1 : 0;
  addon().checkForecastRows(q, mean, p);
}
