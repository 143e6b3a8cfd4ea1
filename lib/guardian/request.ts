/**
 * Reads a forecast request exactly once, before any shield sees it. A hostile or buggy caller
 * can hand over getters that answer differently on each read, a Proxy, an array whose `length`
 * is a billion with nothing in it, or rely on a polluted `Object.prototype`: every field is read
 * once, as an own property, every array's length is checked before an element is touched, and
 * whatever throws while reading becomes the caller's TG_INVALID_ARGUMENT with the cause kept.
 * The shields then work on this snapshot only (typed arrays, plain values).
 */
import { types } from 'node:util';

import { codedError, ErrorCode, type CodedError } from '../errors';
import { REQUEST_LIMITS } from './thresholds';

export type TypedSeries = Float32Array | Float64Array;

/** The request's context as typed arrays: one typed array (a series or a flat [batch, time]
 * batch with `batch`), or an array of series. Arrays of numbers became Float64Arrays. */
export type TypedContext = TypedSeries | TypedSeries[];

export interface RequestSnapshot {
  context: TypedContext;
  /** Not yet validated (the pipeline shield refuses a bad horizon with its own reason). */
  predictionLength: unknown;
  userId: unknown;
  batch: number | undefined;
  instrument: string | undefined;
  /** The context's last point's time (ms since the epoch), for the forecast journal. */
  originTime: number | undefined;
  /** Not yet validated (the guardian checks it as it checks userId). */
  clientUserId: unknown;
}

const FIELDS = ['context', 'predictionLength', 'userId', 'batch', 'instrument', 'originTime', 'clientUserId'] as const;

/**
 * The most values one request may carry, whatever its shape: the largest batch at the model's
 * full window (10,000 x 2,048). Checked from the lengths alone, before any element is read.
 */
export const MAX_REQUEST_VALUES = REQUEST_LIMITS.maxBatch * 2048;

/** The errors this module made (anything else caught here is the caller's). */
const OWN_ERRORS = new WeakSet<object>();

function invalid(message: string, cause?: unknown): CodedError {
  const err = codedError(ErrorCode.InvalidArgument, message, cause);
  OWN_ERRORS.add(err);
  return err;
}

/** A caller's thrown value, described without trusting it: its message getter or toString may
 * throw too. */
export function describeThrown(err: unknown): string {
  try {
    if (err instanceof Error && typeof err.message === 'string') return err.message;
    return String(err);
  } catch {
    return 'an unprintable value was thrown';
  }
}

/**
 * True when a hole in an array would be filled from a polluted prototype: an index key on
 * Array.prototype or Object.prototype (normally there is none). Checked once per array read.
 */
function prototypesHoldIndices(): boolean {
  for (const proto of [Array.prototype, Object.prototype]) {
    for (const key of Object.getOwnPropertyNames(proto)) if (/^(0|[1-9]\d*)$/.test(key)) return true;
  }
  return false;
}

function checkedLength(array: readonly unknown[], what: string, max: number): number {
  const n = array.length;
  if (!Number.isSafeInteger(n) || n < 0) throw invalid(`${what} has an invalid length`);
  if (n > max) throw invalid(`${what} has ${n} elements; a request carries at most ${max} values`);
  return n;
}

/** A number[] as a Float64Array; null is a gap (JSON has no NaN), anything else is refused. */
function numbersToTyped(array: readonly unknown[], n: number, what: string, first?: { value: unknown }): Float64Array {
  const out = new Float64Array(n);
  // Only with a polluted prototype: each index must be the array's own (else a hole reads it).
  const ownOnly = prototypesHoldIndices();
  for (let i = 0; i < n; i++) {
    // Element 0 may have been read already (to tell numbers from rows): never twice.
    const v = i === 0 && first ? first.value : ownOnly && !Object.prototype.hasOwnProperty.call(array, i) ? undefined : array[i];
    if (typeof v === 'number') out[i] = v;
    else if (v === null) out[i] = NaN;
    else throw invalid(`${what}[${i}] is ${v === undefined ? 'missing (a hole or undefined)' : `a ${typeof v}`}: values must be numbers (null or NaN for a gap)`);
  }
  return out;
}

/** A real Float32Array or Float64Array (a Proxy of one, or an object made from their
 * prototype, is not: its reads would run the caller's code). */
function isTyped(v: unknown): v is TypedSeries {
  return types.isFloat32Array(v) || types.isFloat64Array(v);
}

/** This realm's typed array (one from another realm, e.g. a vm context, is copied). */
function local(v: TypedSeries): TypedSeries {
  if (v instanceof Float32Array || v instanceof Float64Array) return v;
  return types.isFloat32Array(v) ? new Float32Array(v) : new Float64Array(v);
}

function readContext(context: unknown): TypedContext {
  if (isTyped(context)) return local(context);
  if (!Array.isArray(context)) {
    throw invalid('context must be a Float32Array, a Float64Array, a number[] or an array of series');
  }
  const n = checkedLength(context, 'context', MAX_REQUEST_VALUES);
  if (n === 0) throw invalid('context is empty');
  const first: unknown = prototypesHoldIndices() && !Object.prototype.hasOwnProperty.call(context, 0) ? undefined : context[0];
  if (typeof first === 'number' || first === null) return numbersToTyped(context, n, 'context', { value: first });
  // An array of series: each row read once, its length checked against what is left.
  if (n > REQUEST_LIMITS.maxBatch) throw invalid(`context holds ${n} series; a batch holds at most ${REQUEST_LIMITS.maxBatch}`);
  const rows: TypedSeries[] = new Array(n);
  let total = 0;
  for (let b = 0; b < n; b++) {
    const row: unknown = b === 0 ? first : context[b];
    if (isTyped(row)) rows[b] = local(row);
    else if (Array.isArray(row)) rows[b] = numbersToTyped(row, checkedLength(row, `context[${b}]`, MAX_REQUEST_VALUES - total), `context[${b}]`);
    else throw invalid(`context[${b}] must be a Float32Array, a Float64Array or a number[]`);
    total += rows[b]!.length;
    if (total > MAX_REQUEST_VALUES) throw invalid(`context carries more than ${MAX_REQUEST_VALUES} values`);
  }
  return rows;
}

/** The request, read once (see the file's comment). Throws TG_INVALID_ARGUMENT. */
export function readRequest(request: unknown): RequestSnapshot {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    throw invalid('the request must be an object { context, predictionLength, userId }');
  }
  try {
    const r = request as Record<string, unknown>;
    const own = (key: string) => Object.prototype.hasOwnProperty.call(r, key);
    // Own properties only, each read once (a getter runs once; the prototype is never consulted).
    const context = own('context') ? r.context : undefined;
    const predictionLength = own('predictionLength') ? r.predictionLength : undefined;
    const userId = own('userId') ? r.userId : undefined;
    const batch = own('batch') ? r.batch : undefined;
    const instrument = own('instrument') ? r.instrument : undefined;
    const clientUserId = own('clientUserId') ? r.clientUserId : undefined;
    const originTime = own('originTime') ? r.originTime : undefined;
    // A misspelt field would otherwise be ignored (an 'instrumnet' would skip its market bounds).
    const keys = Object.keys(r);
    if (keys.some((k) => !(FIELDS as readonly string[]).includes(k))) {
      const unknown = keys.find((k) => !(FIELDS as readonly string[]).includes(k)) ?? keys[0];
      throw invalid(`unknown request field ${JSON.stringify(unknown)}: the fields are ${FIELDS.join(', ')}`);
    }
    if (batch !== undefined && typeof batch !== 'number') throw invalid(`batch must be a number, got ${typeof batch}`);
    if (instrument !== undefined && typeof instrument !== 'string') throw invalid(`instrument must be a string, got ${typeof instrument}`);
    if (originTime !== undefined && (typeof originTime !== 'number' || !Number.isFinite(originTime) || Math.abs(originTime) > 8.64e15)) {
      throw invalid(`originTime must be ms since the epoch (a finite number), got ${typeof originTime === 'number' ? originTime : typeof originTime}`);
    }
    return { context: readContext(context), predictionLength, userId, batch, instrument, originTime: originTime as number | undefined, clientUserId };
  } catch (err) {
    if (OWN_ERRORS.has(err as object)) throw err;
    // A getter, a Proxy trap or an element accessor threw: the caller's error, kept as the cause.
    throw invalid(`the request could not be read: ${describeThrown(err)}`, err);
  }
}

/** `options.timeoutMs` of an async call, read once as an own property (validated by the caller). */
export function readTimeout(options: unknown): unknown {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object { timeoutMs }');
  try {
    return Object.prototype.hasOwnProperty.call(options, 'timeoutMs') ? (options as { timeoutMs?: unknown }).timeoutMs : undefined;
  } catch (err) {
    throw invalid(`the options could not be read: ${describeThrown(err)}`, err);
  }
}
