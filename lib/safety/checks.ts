/**
 * What "safe" means, computed independently of the guardian: the honest reading of a context
 * (what the caller's data says, before any conversion), the hazards in the window a model sees,
 * the naive float32 tensor a user without the guardian would build, what that conversion
 * silently changed, and the checks every forecast must pass (shape, finite, ordered levels,
 * plausible against the data).
 */

/** The caller's data as it honestly reads: rows of float64 values, non-numbers as NaN. */
export type Reference = { valid: true; rows: Float64Array[] } | { valid: false; why: string };

/** Largest relative float32 error tolerated silently (relative to the series' own scale). */
export const PRECISION_TOLERANCE = 1e-3;
/** A quantile further than this many data ranges (times sqrt(1 + h/32)) outside the data is absurd. */
export const PLAUSIBLE_RANGES = 20;

const isNum = (v: unknown): v is number => typeof v === 'number';

function isFloatTyped(x: unknown): x is Float32Array | Float64Array {
  return x instanceof Float32Array || x instanceof Float64Array;
}

function isNumericTyped(x: unknown): x is ArrayLike<number> & ArrayBufferView {
  return ArrayBuffer.isView(x) && !(x instanceof DataView) && !(x instanceof BigInt64Array) && !(x instanceof BigUint64Array);
}

function honestRow(row: ArrayLike<unknown>): Float64Array {
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) {
    const v = (row as unknown[])[i];
    out[i] = isNum(v) ? v : NaN;
  }
  return out;
}

/** The honest reading of a context in any accepted form (batch applies to typed arrays). */
export function referenceOf(context: unknown, batch: unknown): Reference {
  if (isNumericTyped(context)) {
    const b = batch === undefined ? 1 : batch;
    if (typeof b !== 'number' || !Number.isInteger(b) || b < 1) return { valid: false, why: `batch ${String(b)} is not a positive integer` };
    if (context.length % b !== 0) return { valid: false, why: `batch ${b} does not divide ${context.length} values` };
    const T = context.length / b;
    const all = honestRow(context);
    return { valid: true, rows: Array.from({ length: b }, (_, i) => all.subarray(i * T, (i + 1) * T)) };
  }
  if (!Array.isArray(context)) return { valid: false, why: `a ${context === null ? 'null' : typeof context} is no series` };
  if (context.length === 0) return { valid: false, why: 'no series' };
  const items = context as unknown[];
  const isRow = (r: unknown) => Array.isArray(r) || isFloatTyped(r);
  if (items.every(isRow)) return { valid: true, rows: items.map((r) => honestRow(r as ArrayLike<unknown>)) };
  if (items.some(isRow)) return { valid: false, why: 'a mix of series and values' };
  return { valid: true, rows: [honestRow(items)] };
}

export interface RowHazards {
  /** Points of the row the model sees (its last maxContext). */
  window: number;
  inf: number;
  finite: number;
  lo: number;
  hi: number;
  /** TiRex's scale of the window: std, or |mean| + 1e-5 when flat. */
  scale: number;
  /** Largest |float32(x) - x| / scale over finite values that stay finite. */
  precisionLoss: number;
  /** Finite values that float32 turns into +-Inf. */
  overflow: number;
}

export function rowHazards(row: Float64Array, maxContext: number): RowHazards {
  const from = Math.max(0, row.length - maxContext);
  let inf = 0;
  let finite = 0;
  let lo = Infinity;
  let hi = -Infinity;
  let mean = 0;
  let m2 = 0;
  for (let i = from; i < row.length; i++) {
    const v = row[i]!;
    if (v === Infinity || v === -Infinity) inf++;
    if (!Number.isFinite(v)) continue;
    finite++;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    // Welford on values scaled down when huge, so 1e308 cannot overflow the moments.
    const d = v / 2 ** 512 - mean;
    mean += d / finite;
    m2 += d * (v / 2 ** 512 - mean);
  }
  const std = finite > 0 ? Math.sqrt(m2 / finite) * 2 ** 512 : 0;
  const mu = mean * 2 ** 512;
  const scale = finite === 0 ? 1 : std > 0 && Number.isFinite(std) ? std : Math.abs(mu) + 1e-5;
  let maxErr = 0;
  let overflow = 0;
  for (let i = from; i < row.length; i++) {
    const v = row[i]!;
    if (!Number.isFinite(v)) continue;
    const f = Math.fround(v);
    if (!Number.isFinite(f)) overflow++;
    else maxErr = Math.max(maxErr, Math.abs(f - v));
  }
  return { window: row.length - from, inf, finite, lo, hi, scale, precisionLoss: maxErr / scale, overflow };
}

/** What a guarded `ok` must not hide, per input: Inf, empty windows, float32 traps. */
export interface InputHazards {
  rows: RowHazards[];
  /** Reasons why a plain model forecast of this input would be silently wrong. */
  silent: string[];
}

export function inputHazards(ref: Reference, maxContext: number): InputHazards {
  if (!ref.valid) return { rows: [], silent: [`invalid context: ${ref.why}`] };
  const rows = ref.rows.map((r) => rowHazards(r, maxContext));
  const silent: string[] = [];
  rows.forEach((h, b) => {
    if (h.inf > 0) silent.push(`series ${b} holds ${h.inf} +-Inf in the model's window`);
    if (h.finite === 0 && h.window > 0) silent.push(`series ${b} has no finite value in the model's window (a forecast from nothing)`);
    if (h.overflow > 0) silent.push(`series ${b}: ${h.overflow} values overflow float32`);
    if (h.precisionLoss > PRECISION_TOLERANCE) silent.push(`series ${b}: float32 loses ${h.precisionLoss.toExponential(2)} of the series' scale`);
  });
  return { rows, silent };
}

/** The [B, T] float32 tensor a user without the guardian would build, naively. May throw. */
export function naiveTensor(context: unknown, batch: unknown): { tensor: Float32Array; batch: number } {
  if (context instanceof Float32Array) return { tensor: context, batch: batch as number ?? 1 };
  if (ArrayBuffer.isView(context)) return { tensor: Float32Array.from(context as unknown as ArrayLike<number>), batch: batch as number ?? 1 };
  if (Array.isArray(context) && context.length > 0 && context.every((r) => Array.isArray(r) || ArrayBuffer.isView(r))) {
    // An array of series: allocate [B, longest] and copy each series at its row start, as most
    // hand-written code does (the shorter rows end in zeros).
    const rows = context as ArrayLike<number>[];
    const T = Math.max(...rows.map((r) => r.length));
    const tensor = new Float32Array(rows.length * T);
    rows.forEach((r, b) => tensor.set(Float32Array.from(r), b * T));
    return { tensor, batch: rows.length };
  }
  return { tensor: Float32Array.from(context as Iterable<number>), batch: (batch as number) ?? 1 };
}

/** What the naive tensor silently changed relative to the honest reading, in the model's window. */
export function silentChanges(ref: Reference, tensor: Float32Array, batch: number, maxContext: number): string[] {
  if (!ref.valid) return [`an invalid context (${ref.why}) became a tensor`];
  if (!Number.isInteger(batch) || batch < 1 || tensor.length % batch !== 0) return [];
  if (batch !== ref.rows.length) return [`${ref.rows.length} series became ${batch} rows`];
  const T = tensor.length / batch;
  const out: string[] = [];
  for (let b = 0; b < batch; b++) {
    const row = ref.rows[b]!;
    const h = rowHazards(row, maxContext);
    const n = Math.min(T, maxContext);
    let filled = 0;
    let lost = 0;
    let overflow = 0;
    let maxErr = 0;
    for (let k = 1; k <= n; k++) {
      const got = tensor[b * T + T - k]!;
      const i = row.length - k;
      const want = i >= 0 ? row[i]! : NaN;
      if (Number.isNaN(want)) {
        if (!Number.isNaN(got)) filled++;
      } else if (Number.isNaN(got)) lost++;
      else if (!Number.isFinite(want)) {
        if (got !== want) lost++;
      } else if (!Number.isFinite(got)) overflow++;
      else maxErr = Math.max(maxErr, Math.abs(got - want));
    }
    if (filled > 0) out.push(`series ${b}: ${filled} missing values became numbers (zero padding or coercion)`);
    if (lost > 0) out.push(`series ${b}: ${lost} values became NaN or moved`);
    if (overflow > 0) out.push(`series ${b}: ${overflow} finite values became +-Inf in float32`);
    if (maxErr / h.scale > PRECISION_TOLERANCE) out.push(`series ${b}: float32 loses ${(maxErr / h.scale).toExponential(2)} of the series' scale`);
  }
  return out;
}

/** Problems of a [B, H, Q] forecast: shape, non-finite values, crossing levels, absurd values. */
export function forecastProblems(q: Float32Array | null, B: number, H: number, Q: number, hazards: RowHazards[] | null): string[] {
  if (!(q instanceof Float32Array)) return ['no quantiles'];
  if (q.length !== B * H * Q) return [`quantiles hold ${q.length} values, [${B}, ${H}, ${Q}] needs ${B * H * Q}`];
  const out: string[] = [];
  let nonFinite = 0;
  let crossing = 0;
  let absurd = 0;
  let example = '';
  for (let b = 0; b < B; b++) {
    const hz = hazards?.[b];
    const usable = hz && hz.finite > 0 && Number.isFinite(hz.lo) && Number.isFinite(hz.hi);
    const unit = usable ? Math.max(hz.hi - hz.lo, 1e-3 * Math.max(Math.abs(hz.lo), Math.abs(hz.hi)), 1e-6) : 0;
    for (let h = 0; h < H; h++) {
      const o = (b * H + h) * Q;
      const margin = PLAUSIBLE_RANGES * unit * Math.sqrt(1 + (h + 1) / 32);
      for (let j = 0; j < Q; j++) {
        const v = q[o + j]!;
        if (!Number.isFinite(v)) {
          nonFinite++;
          continue;
        }
        if (j + 1 < Q && v > q[o + j + 1]!) crossing++;
        if (usable && (v < hz.lo - margin || v > hz.hi + margin)) {
          if (absurd === 0) example = `series ${b} step ${h} level ${j}: ${v.toPrecision(4)} for data in [${hz.lo.toPrecision(4)}, ${hz.hi.toPrecision(4)}]`;
          absurd++;
        }
      }
    }
  }
  if (nonFinite > 0) out.push(`${nonFinite} non-finite quantiles`);
  if (crossing > 0) out.push(`${crossing} crossing quantile pairs`);
  if (absurd > 0) out.push(`${absurd} quantiles absurdly far from the data (${example})`);
  return out;
}

/** Deep equality of a context before and after a call (bytes of typed arrays, Object.is). */
export function sameContext(a: unknown, b: unknown): boolean {
  if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
    if (a.constructor !== b.constructor || a.byteLength !== b.byteLength) return false;
    if (a.byteLength === 0) return true; // empty or detached
    const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
    return true;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (i in a !== i in b) return false;
      if (!sameContext(a[i], b[i])) return false;
    }
    return true;
  }
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    if (ka.length !== kb.length || Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
    return ka.every((k) => sameContext((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
  }
  return Object.is(a, b);
}

/** Same values (NaN equals NaN), within a relative tolerance. */
export function closeArrays(a: Float32Array, b: Float32Array, rel = 1e-5): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (!(Number.isNaN(x) && Number.isNaN(y))) return false;
      continue;
    }
    if (x !== y && Math.abs(x - y) > rel * (Math.abs(x) + Math.abs(y)) + 1e-30) return false;
  }
  return true;
}

export function bitIdentical(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/** A thrown value that carries one of the library's stable codes. */
export function typedCode(err: unknown): string | null {
  const code = (err as { code?: unknown } | null)?.code;
  return err instanceof Error && typeof code === 'string' && code.startsWith('TG_') ? code : null;
}

const STATUS_RANK: Record<string, number> = { ok: 0, corrected: 1, fallback: 2, blocked: 3 };

/** What a result says of each series (the guardian's `series`), as far as the checks need it. */
export interface SeriesView {
  status: string;
  reason: string | null;
}

/**
 * A batch judged series by series: the call's status must be the worst of its series'; a
 * blocked series says why and its rows hold NaN only (never a number to mistake for a
 * forecast); every served series passes the forecast checks, and one served as ok or corrected
 * must not carry a hazard of its own input.
 */
export function seriesProblems(status: string, series: readonly SeriesView[] | undefined, q: Float32Array | null, H: number, Q: number, hazards: InputHazards): string[] {
  if (!Array.isArray(series) || series.length === 0) return ['no per-series outcomes'];
  const worst = series.reduce((w, s) => ((STATUS_RANK[s.status] ?? 9) > (STATUS_RANK[w] ?? 9) ? s.status : w), 'ok');
  const out: string[] = [];
  if (worst !== status) out.push(`status ${status}, but the worst series is ${worst}`);
  if (!q) return out;
  series.forEach((s, b) => {
    const rows = q.subarray(b * H * Q, (b + 1) * H * Q);
    if (s.status === 'blocked') {
      if (!s.reason) out.push(`series ${b} blocked without a reason`);
      if (rows.some((v) => !Number.isNaN(v))) out.push(`series ${b} blocked but its rows hold numbers`);
      return;
    }
    const hz = hazards.rows[b];
    for (const p of forecastProblems(rows, 1, H, Q, hz ? [hz] : null)) out.push(`series ${b}: ${p}`);
    if (s.status === 'ok' || s.status === 'corrected') {
      for (const h of hazards.silent) if (h.startsWith(`series ${b} `) || h.startsWith(`series ${b}:`)) out.push(`series ${b} ${s.status} despite: ${h}`);
    }
  });
  return out;
}
