/**
 * The forecast journal's two entries, as they lie in the journal (one JSON line each, on the
 * audit log's hash chain: lib/audit/chain.ts adds v, type, seq, prevHash, id, time and hash):
 *
 *   forecast { instrument, origin, horizon, levels, q, status, source, modelHash, auditId, naive }
 *   outcome  { instrument, at, value }
 *
 * `origin` is the time of the context's last point and `at` the time of a realized value (ms since
 * the epoch). The h-th outcome of an instrument after a forecast's origin is that forecast's step
 * h: steps are bars, as the model sees them (a weekend or a holiday is not a step), so outcomes
 * must be recorded for every bar. `q` is the quantiles [horizon, levels] as little-endian float32
 * in base64: the exact values served, in a third of the characters of decimal JSON. `naive` is what
 * the naive forecast of the same origin needs (the last value and the standard deviation of the
 * last 64 one-step changes: lib/eval/forecasters.ts, lastValueForecast), so both are scored on
 * the same origins without keeping the context.
 */
import { codedError, ErrorCode } from '../errors';
import { diffStd, lastFinite, VOL_WINDOW } from '../eval/forecasters';

/** Who made the journaled quantiles: the live model, a fallback forecaster, or a shadow candidate. */
export type ForecastSource = 'model' | 'fallback' | 'shadow';

export interface ForecastEntry {
  readonly type: 'forecast';
  readonly seq: number;
  readonly id: string;
  readonly time: string;
  readonly instrument: string;
  readonly origin: number;
  readonly horizon: number;
  readonly levels: readonly number[];
  readonly q: string;
  /** The guardian's status of the served call ('ok', 'corrected', 'fallback'); 'shadow' for a candidate. */
  readonly status: string;
  readonly source: ForecastSource;
  /** sha256 of the model whose forecast this is (the live one for a fallback: the one deployed). */
  readonly modelHash: string | null;
  /** The fallback forecaster's name (source 'fallback'), else null. */
  readonly fallback: string | null;
  /** The served call's id in the audit trail (`inputStats.callId`); null without audit. */
  readonly auditId: string | null;
  readonly naive: { readonly last: number; readonly sigma: number };
}

export interface OutcomeEntry {
  readonly type: 'outcome';
  readonly seq: number;
  readonly instrument: string;
  readonly at: number;
  readonly value: number;
}

export const INSTRUMENT_MAX_CHARS = 128;

/** Null when `instrument` may name a journal's series, else why not. */
export function instrumentProblem(instrument: unknown): string | null {
  if (typeof instrument !== 'string') return `instrument must be a string, got ${typeof instrument}`;
  if (instrument.length === 0 || instrument.length > INSTRUMENT_MAX_CHARS) return `instrument must have 1 to ${INSTRUMENT_MAX_CHARS} characters`;
  // Control characters would make reports and file listings ambiguous.
  for (let i = 0; i < instrument.length; i++) if (instrument.charCodeAt(i) < 0x20 || instrument.charCodeAt(i) === 0x7f) return 'instrument must not contain control characters';
  return null;
}

/** Checks an outcome from a caller: TypeError TG_INVALID_ARGUMENT naming what is wrong. */
export function checkOutcome(instrument: unknown, at: unknown, value: unknown): void {
  const bad = (m: string) => codedError(ErrorCode.InvalidArgument, `outcome: ${m}`);
  const p = instrumentProblem(instrument);
  if (p !== null) throw bad(p);
  if (typeof at !== 'number' || !Number.isFinite(at) || Math.abs(at) > 8.64e15) throw bad(`time must be ms since the epoch, got ${String(at)}`);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw bad(`value must be a finite number, got ${String(value)}`);
}

export function encodeQuantiles(q: Float32Array): string {
  // Little-endian on every platform Node.js runs on; the copy makes a view of any offset safe.
  return Buffer.from(q.buffer, q.byteOffset, q.byteLength).toString('base64');
}

const BASE64 = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) BASE64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

/**
 * Decodes standard base64 (with its padding) into `out`; the bytes written, or -1 for anything
 * else or too much for `out`. By hand: Buffer#write took a third of the scoring core's time on
 * the short strings of a journal (BENCHMARKS.md, journal).
 */
export function decodeBase64Into(s: string, out: Uint8Array): number {
  const len = s.length;
  if (len % 4 !== 0) return -1;
  const pad = len === 0 ? 0 : s.charCodeAt(len - 1) === 61 ? (s.charCodeAt(len - 2) === 61 ? 2 : 1) : 0;
  const bytes = (len / 4) * 3 - pad;
  if (bytes > out.length) return -1;
  let o = 0;
  for (let i = 0; i < len; i += 4) {
    const c0 = s.charCodeAt(i);
    const c1 = s.charCodeAt(i + 1);
    const c2 = s.charCodeAt(i + 2);
    const c3 = s.charCodeAt(i + 3);
    const last = i + 4 === len;
    const a = c0 < 128 ? BASE64[c0]! : -1;
    const b = c1 < 128 ? BASE64[c1]! : -1;
    const c = last && pad === 2 ? 0 : c2 < 128 ? BASE64[c2]! : -1;
    const d = last && pad >= 1 ? 0 : c3 < 128 ? BASE64[c3]! : -1;
    if ((a | b | c | d) < 0) return -1;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >> 16;
    if (o < bytes) out[o++] = (v >> 8) & 255;
    if (o < bytes) out[o++] = v & 255;
  }
  return bytes;
}

/** The quantiles of a forecast entry; null when `q` is not horizon x levels float32 values. */
export function decodeQuantiles(q: unknown, horizon: number, levels: number): Float32Array | null {
  if (typeof q !== 'string') return null;
  const out = new Float32Array(horizon * levels);
  return decodeBase64Into(q, new Uint8Array(out.buffer)) === out.length * 4 ? out : null;
}

/**
 * The naive forecast's inputs from the last VOL_WINDOW + 1 points of a context (fewer when it has
 * fewer): its last finite value and the standard deviation of its last VOL_WINDOW finite one-step
 * changes, exactly as the evaluation's last-value baseline computes them.
 */
export function naiveInputs(tail: ArrayLike<number>): { last: number; sigma: number } {
  return { last: lastFinite(tail, tail.length), sigma: diffStd(tail, tail.length, 1, VOL_WINDOW) };
}

/** The naive forecast [horizon, levels] into `out`: the last value, bands growing with sqrt(h). */
export function naiveQuantilesInto(out: Float64Array, last: number, sigma: number, horizon: number, z: readonly number[]): Float64Array {
  const K = z.length;
  for (let h = 0; h < horizon; h++) {
    const w = sigma * Math.sqrt(h + 1);
    for (let k = 0; k < K; k++) out[h * K + k] = last + z[k]! * w;
  }
  return out;
}
