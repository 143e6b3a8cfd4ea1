/**
 * Shield 2, data pipeline (vulnerability categories: context length, tensor operations,
 * device/precision). Turns whatever context the caller has into the float32 [batch, window]
 * tensor the model takes: length bounds, trimming to the model's window, ragged batches
 * left-padded with NaN, dtype conversion with precision loss measured against each series'
 * own scale, finite scaling state (from the input shield's statistics), imputation when the
 * model needs it. A Float32Array that
 * already fits reaches the model without a copy.
 */
import { convertF64ToF32Into, CONVERT_REPORT_STRIDE } from '../kernels/convert';
import { impute } from '../kernels/impute';
import { assertAttached } from '../kernels/validate';
import type { ModelManifest } from '../model/manifest';
import type { TypedContext, TypedSeries } from './request';
import { REQUEST_LIMITS, type PipelineThresholds } from './thresholds';

/** Makes a Float32Array of n elements for a tensor (its contents are overwritten). */
export type Alloc = (n: number) => Float32Array;
const plainAlloc: Alloc = (n) => new Float32Array(n);

export type ContextInput =
  | Float32Array
  | Float64Array
  | number[]
  | ReadonlyArray<Float32Array | Float64Array | number[]>;

export interface PipelineRefusal {
  code: 'TG_CONTEXT_TOO_SHORT' | 'TG_CONTEXT_TOO_LONG' | 'TG_HORIZON_TOO_LONG' | 'TG_BATCH_INVALID' | 'TG_PRECISION_LOSS' | 'TG_SCALING_INVALID' | 'TG_INVALID_ARGUMENT';
  reason: string;
}

export interface PreparedContext {
  /** [batch, window] float32, what the model reads. */
  tensor: Float32Array;
  batch: number;
  /** Time steps per row the model sees (the most recent ones). */
  window: number;
  /** Original length of each row (before trimming and padding). */
  lengths: number[];
  /** Row b of the original data over the same window, for the fallbacks (float64 stays float64
   * there). A function: a view per series costs on every call, and only a fallback needs one. */
  row: (b: number) => TypedSeries;
  /** True when `tensor` is the caller's own memory. */
  zeroCopy: boolean;
  /** Largest float32 conversion error relative to a series' scale (0 when no conversion). */
  precisionLoss: number;
  trimmed: boolean;
  imputed: number;
  warnings: string[];
  /** For a batch: why a series cannot go to the model (too short, beyond float32), null for the
   * others; its tensor row is NaN. A single series' problem is a refusal of the call instead. */
  rowProblems: (PipelineRefusal | null)[] | null;
  /** What the input shield reads in one native call: `batch` equal rows of a typed array (spans
   * null), the spans ([start, length] per series) of one, or the rows one by one (an array). */
  assessData: TypedSeries | TypedSeries[];
  assessSpans: Float64Array | null;
}

/** The rows of the caller's context (read once by lib/guardian/request.ts: typed arrays only). */
export function contextRows(context: TypedContext, batch?: number): TypedSeries[] | PipelineRefusal {
  if (context instanceof Float32Array || context instanceof Float64Array) {
    assertAttached(context, 'context');
    const b = batch ?? 1;
    if (!Number.isInteger(b) || b < 1 || context.length % b !== 0) {
      return { code: 'TG_BATCH_INVALID', reason: `batch ${b} does not divide a context of ${context.length} values` };
    }
    if (b === 1) return [context];
    const T = context.length / b;
    // A plain loop: Array.from({ length }) costs microseconds on this path.
    const rows: TypedSeries[] = new Array(b);
    for (let i = 0; i < b; i++) rows[i] = context.subarray(i * T, (i + 1) * T);
    return rows;
  }
  if (batch !== undefined && batch !== 1) {
    return { code: 'TG_BATCH_INVALID', reason: 'batch applies to a flat context; an array of series is already a batch' };
  }
  for (let b = 0; b < context.length; b++) assertAttached(context[b]!, `context[${b}]`);
  return context;
}

export class PipelineShield {
  readonly thresholds: PipelineThresholds;
  readonly manifest: ModelManifest;
  #report = new Float64Array(CONVERT_REPORT_STRIDE);

  readonly #minContext: number;

  constructor(thresholds: PipelineThresholds, manifest: ModelManifest) {
    this.thresholds = thresholds;
    this.manifest = manifest;
    this.#minContext = Math.max(REQUEST_LIMITS.minContext, manifest.minContext);
  }

  checkHorizon(horizon: unknown): PipelineRefusal | null {
    if (typeof horizon !== 'number' || !Number.isInteger(horizon) || horizon < 1) {
      return { code: 'TG_INVALID_ARGUMENT', reason: `predictionLength must be a positive integer, got ${String(horizon)}` };
    }
    if (horizon > this.manifest.maxHorizon) {
      return {
        code: 'TG_HORIZON_TOO_LONG',
        reason: `predictionLength ${horizon} is beyond what ${this.manifest.name} can roll out honestly (${this.manifest.maxHorizon})`,
      };
    }
    return null;
  }

  /** `alloc` makes the tensors the pipeline fills (the guardian lends pooled staging memory). */
  prepare(context: TypedContext, batch?: number, alloc: Alloc = plainAlloc): PreparedContext | PipelineRefusal {
    const flat = this.#flatBatch(context, batch);
    if (flat !== null) return flat;
    const rowsOrRefusal = contextRows(context, batch);
    if (!Array.isArray(rowsOrRefusal)) return rowsOrRefusal;
    const all = rowsOrRefusal;
    const B = all.length;
    if (B < 1 || B > REQUEST_LIMITS.maxBatch) {
      return { code: 'TG_BATCH_INVALID', reason: `a batch holds 1 to ${REQUEST_LIMITS.maxBatch} series, got ${B}` };
    }
    const lengths = all.map((r) => r.length);
    const shortest = Math.min(...lengths);
    const longest = Math.max(...lengths);
    const minContext = this.#minContext;
    // One series: its problem is the call's. A batch: a series' problem is that series' alone.
    const problems: (PipelineRefusal | null)[] | null = B > 1 ? new Array(B).fill(null) : null;
    if (longest < minContext || (B === 1 && shortest < minContext)) {
      return { code: 'TG_CONTEXT_TOO_SHORT', reason: `a series has ${shortest} points; at least ${minContext} are needed` };
    }
    if (problems) {
      lengths.forEach((n, b) => {
        if (n < minContext) problems[b] = { code: 'TG_CONTEXT_TOO_SHORT', reason: `series ${b} has ${n} points; at least ${minContext} are needed` };
      });
    }
    if (longest > REQUEST_LIMITS.maxContext) {
      return { code: 'TG_CONTEXT_TOO_LONG', reason: `a series has ${longest} points; at most ${REQUEST_LIMITS.maxContext} are accepted` };
    }
    const window = Math.min(longest, this.manifest.maxContext);
    const trimmed = longest > this.manifest.maxContext;
    const rows = all.map((r) => (r.length > window ? r.subarray(r.length - window) : r));
    const warnings: string[] = [];
    if (trimmed) warnings.push(`context trimmed to the model's window of ${window} points`);
    if (shortest !== longest) warnings.push(`ragged batch: shorter series left-padded with NaN to ${window}`);
    const converted = this.#tensorOf(context, rows, window, trimmed, problems, alloc);
    if (isRefusal(converted)) return converted;
    let { tensor, zeroCopy } = converted;
    let imputed = 0;
    if (this.manifest.nanHandling === 'impute') {
      if (zeroCopy) {
        const own = alloc(tensor.length);
        own.set(tensor);
        tensor = own;
        zeroCopy = false;
      }
      imputed = impute(tensor, 'linear', tensor, B).filled;
    }
    const target = assessTarget(context, rows, tensor, window, problems, this.manifest.nanHandling === 'impute');
    return {
      tensor,
      batch: B,
      window,
      lengths,
      row: (b) => rows[b]!,
      zeroCopy,
      precisionLoss: converted.precisionLoss,
      trimmed,
      imputed,
      warnings,
      rowProblems: problems,
      assessData: target.data,
      assessSpans: target.spans,
    };
  }

  /**
   * The prepared context on memory the call owns, for an async call: the caller may change or
   * detach its buffers while the model runs, so the model, the input shield and the fallbacks
   * must not read them then. One copy serves all three where it can: a tensor the caller owns is
   * copied once into `alloc`'s memory (staging: the model reads it in place, the shields and
   * fallbacks read row views of it); a tensor the pipeline made (padded, converted) is the
   * call's already. Float64 series keep a float64 copy of their own for the shields and
   * fallbacks, which judge the caller's values, not their float32 conversion.
   */
  ownCopy(p: PreparedContext, alloc: Alloc): void {
    const callers = p.zeroCopy;
    const before = p.tensor;
    if (callers) {
      const own = alloc(p.tensor.length);
      own.set(p.tensor);
      p.tensor = own;
      p.zeroCopy = false;
    }
    const data = p.assessData;
    if (data === before) {
      // The shields read the tensor (the caller's rows untrimmed, or the rows inside it): the
      // copy now, which is the model's too.
      const tensor = p.tensor;
      const window = p.window;
      const lengths = p.lengths.map((n) => Math.min(n, window));
      p.assessData = tensor;
      p.row = (b) => tensor.subarray((b + 1) * window - lengths[b]!, (b + 1) * window);
    } else if (Array.isArray(data)) {
      const rows = data.map((r) => r.slice());
      p.assessData = rows;
      p.row = (b) => rows[b]!;
    } else {
      // The caller's flat context (float64, or trimmed): a copy of its own, same spans.
      const copy = data.slice();
      const row = p.row;
      const base = data.byteOffset;
      p.assessData = copy;
      p.row = (b) => {
        const r = row(b);
        const at = (r.byteOffset - base) / r.BYTES_PER_ELEMENT;
        return copy.subarray(at, at + r.length);
      };
    }
  }

  /**
   * A flat float32 [batch, time] context (one series without `batch`) that fits the model's
   * window: the common case of a trading engine, prepared without a view or an array per series,
   * and reaching the model as it is. Null for any other context (the general path then refuses or
   * converts it).
   */
  #flatBatch(context: TypedContext, batch: number | undefined): PreparedContext | null {
    if (!(context instanceof Float32Array) || this.manifest.nanHandling === 'impute') return null;
    batch ??= 1;
    if (!Number.isInteger(batch) || batch < 1 || batch > REQUEST_LIMITS.maxBatch || context.length % batch !== 0) return null;
    const T = context.length / batch;
    if (T < this.#minContext || T > this.manifest.maxContext || T === 0) return null;
    assertAttached(context, 'context');
    return {
      tensor: context,
      batch,
      window: T,
      lengths: new Array<number>(batch).fill(T),
      row: batch === 1 ? () => context : (b) => context.subarray(b * T, (b + 1) * T),
      zeroCopy: true,
      precisionLoss: 0,
      trimmed: false,
      imputed: 0,
      warnings: [],
      rowProblems: null,
      assessData: context,
      assessSpans: null,
    };
  }


  /**
   * The float32 [batch, window] tensor: the caller's memory when it already is one, else rows
   * converted (float64 with its loss measured against the series' own scale) and left-padded
   * with NaN. A series in `problems` (or found beyond float32 here) stays NaN.
   */
  #tensorOf(
    context: TypedContext,
    rows: TypedSeries[],
    window: number,
    trimmed: boolean,
    problems: (PipelineRefusal | null)[] | null,
    alloc: Alloc,
  ): { tensor: Float32Array; zeroCopy: boolean; precisionLoss: number } | PipelineRefusal {
    const B = rows.length;

    const first = rows[0]!;
    if (B === 1 && first instanceof Float32Array) return { tensor: first, zeroCopy: true, precisionLoss: 0 };
    if (context instanceof Float32Array && !trimmed) return { tensor: context, zeroCopy: true, precisionLoss: 0 };
    // Each row written once: NaN padding on the left, the series after it (a row with a problem
    // all NaN). The memory may be a reused buffer's: every element is written.
    const tensor = alloc(B * window);
    let precisionLoss = 0;
    for (let b = 0; b < B; b++) {
      const r = rows[b]!;
      if (problems?.[b]) {
        tensor.fill(NaN, b * window, (b + 1) * window);
        continue;
      }
      tensor.fill(NaN, b * window, b * window + (window - r.length));
      const dst = tensor.subarray(b * window + (window - r.length), (b + 1) * window);
      if (r instanceof Float32Array) {
        dst.set(r);
        continue;
      }
      convertF64ToF32Into(r, dst, this.#report, 1);
      const loss = this.#report[2]!;
      const problem: PipelineRefusal | null =
        this.#report[3]! > 0
          ? { code: 'TG_PRECISION_LOSS', reason: `${this.#report[3]} values of series ${b} exceed float32's range` }
          : loss > this.thresholds.maxPrecisionLoss
            ? { code: 'TG_PRECISION_LOSS', reason: `float32 loses ${loss.toExponential(2)} of series ${b}'s own scale (limit ${this.thresholds.maxPrecisionLoss})` }
            : null;
      if (!problem) precisionLoss = Math.max(precisionLoss, loss);
      else if (!problems) return problem;
      else {
        problems[b] = problem;
        dst.fill(NaN);
      }
    }
    return { tensor, zeroCopy: false, precisionLoss };
  }
}

/**
 * TiRex's scaling state from the input shield's statistics of a row (the same numbers the
 * kernel computes: no second pass): location = mean, scale = std (|loc| + 1e-5 when std is 0; 0
 * and 1 with no finite value). A refusal when it is not finite, else null (a warning when it is
 * beyond warnScale). No object for a row that is fine: this runs for every series.
 */
export function checkScaling(finite: number, mean: number, std: number, warnScale: number, row: number, warnings: string[]): PipelineRefusal | null {
  const loc = finite === 0 ? 0 : mean;
  const scale = finite === 0 ? 1 : std === 0 ? Math.abs(loc) + 1e-5 : std;
  if (!Number.isFinite(loc) || !Number.isFinite(scale) || scale <= 0) {
    return { code: 'TG_SCALING_INVALID', reason: `series ${row} has no finite location/scale (loc ${loc}, scale ${scale})` };
  }
  if (Math.abs(loc) > warnScale || scale > warnScale) {
    warnings.push(`series ${row}: location ${loc.toExponential(2)} / scale ${scale.toExponential(2)} above ${warnScale}`);
  }
  return null;
}

/**
 * What the input shield reads (see PreparedContext.assessData): the caller's flat context itself
 * (spans when trimmed), the padded tensor's spans when every series is a float32 row that is
 * there unchanged, else the rows one by one.
 */
function assessTarget(
  context: TypedContext,
  rows: TypedSeries[],
  tensor: Float32Array,
  window: number,
  problems: (PipelineRefusal | null)[] | null,
  imputing: boolean,
): { data: TypedSeries | TypedSeries[]; spans: Float64Array | null } {
  const B = rows.length;
  if (context instanceof Float32Array || context instanceof Float64Array) {
    const T = context.length / B;
    if (T === window) return { data: context, spans: null };
    // Trimmed float32 rows are the tensor's rows as they are (not imputed): read them there.
    if (context instanceof Float32Array && !imputing) return { data: tensor, spans: null };
    const spans = new Float64Array(2 * B);
    for (let b = 0; b < B; b++) {
      spans[2 * b] = b * T + (T - window);
      spans[2 * b + 1] = window;
    }
    return { data: context, spans };
  }
  const inTensor = !imputing && rows.every((r, b) => r instanceof Float32Array && !problems?.[b]);
  if (!inTensor) return { data: rows, spans: null };
  const spans = new Float64Array(2 * B);
  for (let b = 0; b < B; b++) {
    spans[2 * b] = b * window + (window - rows[b]!.length);
    spans[2 * b + 1] = rows[b]!.length;
  }
  return { data: tensor, spans };
}

export function isRefusal(x: unknown): x is PipelineRefusal {
  return typeof x === 'object' && x !== null && 'code' in x && 'reason' in x && !('tensor' in x);
}
