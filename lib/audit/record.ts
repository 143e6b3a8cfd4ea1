/**
 * The audit record: what one guarded call leaves behind, whatever its status, and the canonical
 * serialization the hash chain is computed over.
 *
 * Canonical form (what is hashed and written; a reader refuses a stored line that is not in it,
 * comparing its bytes with the canonical JSON of what it parses to: stored-line.ts): JSON
 * with object keys sorted by UTF-16 code units at every depth, no whitespace, numbers as
 * ECMAScript prints them (shortest round-trip form, -0 as 0), as in RFC 8785 (JCS). Differences
 * from plain JSON.stringify, so that nothing is silently turned into `null`: non-finite numbers
 * are written as the strings "NaN", "Infinity", "-Infinity"; bigints as decimal strings. As in
 * JSON, object properties whose value is undefined, a function or a symbol are left out, and such
 * array items become null. `canonicalJson(JSON.parse(canonicalJson(x))) === canonicalJson(x)`.
 */
import { createHmac, randomBytes } from 'node:crypto';

import { auditTypeError } from './errors';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | readonly JsonValue[] | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

/** What a guarded call ended with (the guardian's result `status`). */
export type AuditStatus = 'ok' | 'corrected' | 'fallback' | 'blocked';
export const AUDIT_STATUSES: readonly AuditStatus[] = ['ok', 'corrected', 'fallback', 'blocked'];

/**
 * One decision or correction taken by a shield, e.g.
 * `{ shield: 'output', action: 'sort-quantiles', count: 3 }` or
 * `{ shield: 'input', action: 'block', reason: 'inf-values', detail: { posInf: 2 } }`.
 */
export type AuditDecision = {
  readonly shield: string;
  readonly action: string;
  readonly [key: string]: JsonValue | undefined;
};

/** What the caller hands to `AuditLog.append`. */
export interface AuditRecordInput {
  /** Validated by `checkCallerId`; replaced by its HMAC pseudonym when `hashCallerIds` is set. */
  callerId: string;
  status: AuditStatus;
  /** Wall time of the guarded call in microseconds (finite, >= 0). */
  latencyUs: number;
  /** sha256 of the model that served (or would have served) the call; null when none. */
  modelHash?: string | null;
  /** Input statistics (scan counts, min/max, threat score...): any JSON-like object. */
  inputStats?: object;
  /** Every decision and correction, in the order they were taken. */
  decisions?: readonly AuditDecision[];
  /** Name of the fallback forecaster that answered, or null. */
  fallback?: string | null;
  /** When the call happened (ms since the epoch or a Date); default: the log's clock. */
  time?: number | Date;
}

/** A record as it lies in the log (one JSON line; `hash` is not part of the hashed body). */
export interface AuditRecord {
  readonly v: 1;
  readonly type: 'record';
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
  /** `<seq, 16 decimal digits>-<writer instance id, 12 hex>`: unique, and sorts in log order. */
  readonly id: string;
  /** ISO 8601 UTC. */
  readonly time: string;
  readonly callerId: string;
  /** True when `callerId` is the HMAC-SHA256 pseudonym (hex) of the caller's id. */
  readonly callerIdHashed: boolean;
  readonly modelHash: string | null;
  readonly inputStats: JsonObject;
  readonly decisions: readonly AuditDecision[];
  readonly fallback: string | null;
  readonly status: AuditStatus;
  readonly latencyUs: number;
}

// ---------------------------------------------------------------------------------------------
// Canonical JSON

const MAX_DEPTH = 64;

function canonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : `"${String(n)}"`;
}

// Keys are nearly always the same few identifiers: cache their quoted form (bounded).
const quotedKeys = new Map<string, string>();
function quoteKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k) + ':';
    if (quotedKeys.size >= 4096) quotedKeys.clear();
    quotedKeys.set(k, q);
  }
  return q;
}

const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Sorts keys by UTF-16 code units: nothing when already sorted, insertion sort for the few
 * keys records have (Array.prototype.sort with a comparator costs about a microsecond there). */
function sortKeys(keys: string[]): void {
  if (keys.length > 32) {
    keys.sort(byCodeUnits);
    return;
  }
  for (let i = 1; i < keys.length; i++) {
    const k = keys[i] as string;
    if ((keys[i - 1] as string) <= k) continue;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > k) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = k;
  }
}

/** Applied to every string, keys included, while serializing (the log's redaction of personal
 * data: lib/audit/privacy.ts); null: strings as they are. */
export type StringMap = ((s: string) => string) | null;

function canon(v: unknown, depth: number, map: StringMap): string | undefined {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(map === null ? v : map(v));
    case 'number':
      return canonNumber(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return `"${v.toString()}"`;
    case 'object':
      if (v === null) return 'null';
      if (depth >= MAX_DEPTH) throw auditTypeError(`audit: value nested deeper than ${MAX_DEPTH} levels (or circular)`);
      if (Array.isArray(v)) return canonArray(v, depth, map);
      if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return canon((v as { toJSON: () => unknown }).toJSON(), depth + 1, map);
      if (ArrayBuffer.isView(v)) return canonArray(Array.from(v as unknown as ArrayLike<unknown>), depth, map);
      return canonObject(v as Record<string, unknown>, depth, map);
    default:
      return undefined; // undefined, function, symbol
  }
}

function canonArray(items: readonly unknown[], depth: number, map: StringMap): string {
  let out = '[';
  for (let i = 0; i < items.length; i++) {
    if (i > 0) out += ',';
    out += canon(items[i], depth + 1, map) ?? 'null';
  }
  return out + ']';
}

/** Keys as written: mapped (when a map changes one, sorted again; two keys mapped to the same
 * text are told apart by a #2, #3... suffix rather than written twice). */
function writtenKeys(keys: string[], map: StringMap): { keys: string[]; from: string[] } | null {
  if (map === null) return null;
  let i = 0;
  while (i < keys.length && map(keys[i] as string) === keys[i]) i++;
  if (i === keys.length) return null; // the common case: no key changes, nothing allocated
  const mapped = keys.map((k) => map(k));
  const seen = new Map<string, number>();
  const pairs = mapped.map((m, i) => {
    const n = (seen.get(m) ?? 0) + 1;
    seen.set(m, n);
    return [n === 1 ? m : `${m}#${n}`, keys[i] as string] as const;
  });
  pairs.sort((a, b) => byCodeUnits(a[0], b[0]));
  return { keys: pairs.map((p) => p[0]), from: pairs.map((p) => p[1]) };
}

function canonObject(v: Record<string, unknown>, depth: number, map: StringMap): string {
  let keys = Object.keys(v);
  let from = keys;
  const mappedKeys = writtenKeys(keys, map);
  if (mappedKeys !== null) {
    keys = mappedKeys.keys;
    from = mappedKeys.from;
  } else {
    sortKeys(keys);
  }
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as string;
    const x = v[from[i] as string];
    const s = typeof x === 'number' ? canonNumber(x) : canon(x, depth + 1, map);
    if (s === undefined) continue;
    out += (out.length === 1 ? '' : ',') + quoteKey(k) + s;
  }
  return out + '}';
}

/** Canonical JSON of `value` (see the module comment); `map` rewrites every string first. */
export function canonicalJson(value: unknown, map: StringMap = null): string {
  return canon(value, 0, map) ?? 'null';
}

// ---------------------------------------------------------------------------------------------
// Caller ids

export const CALLER_ID_MAX_CHARS = 128;

// C0 and C1 controls and DEL (Unicode category Cc, NUL included), line and paragraph separators,
// the byte-order mark and the bidirectional controls (which can make a log line read differently
// from what it contains).
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ufeff]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function isWellFormed(s: string): boolean {
  const f = (s as { isWellFormed?: () => boolean }).isWellFormed;
  return typeof f === 'function' ? f.call(s) : !LONE_SURROGATE.test(s);
}

function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

/**
 * Why `value` is not an acceptable caller id, or null when it is: a string of 1 to 128 Unicode
 * code points, valid UTF-8 once encoded (no lone surrogates), without control characters (NUL,
 * C0, DEL, C1), line/paragraph separators, BOM or bidirectional controls.
 */
export function checkCallerId(value: unknown): string | null {
  if (typeof value !== 'string') return `must be a string, got ${value === null ? 'null' : typeof value}`;
  if (value.length === 0) return 'must not be empty';
  if (value.length > 2 * CALLER_ID_MAX_CHARS || (value.length > CALLER_ID_MAX_CHARS && codePoints(value) > CALLER_ID_MAX_CHARS)) {
    return `must be at most ${CALLER_ID_MAX_CHARS} characters, got ${codePoints(value)}`;
  }
  if (!isWellFormed(value)) return 'is not valid Unicode (lone surrogate: cannot be encoded as UTF-8)';
  const m = FORBIDDEN.exec(value);
  if (m) return `contains a control or invisible formatting character (U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}) at index ${m.index}`;
  return null;
}

/** HMAC-SHA256(key, callerId) as 64 hex characters: the pseudonym written instead of the id. */
export function pseudonymizeCallerId(callerId: string, key: string | Uint8Array): string {
  return createHmac('sha256', key).update(callerId, 'utf8').digest('hex');
}

export const MIN_KEY_BYTES = 16;

export function keyBytes(key: unknown, what: string, min = MIN_KEY_BYTES): Buffer {
  let buf: Buffer;
  if (typeof key === 'string') buf = Buffer.from(key, 'utf8');
  else if (key instanceof Uint8Array) buf = Buffer.from(key);
  else throw auditTypeError(`${what} must be a string or a Uint8Array`);
  if (buf.length < min) throw auditTypeError(`${what} must be at least ${min} bytes, got ${buf.length}`);
  return buf;
}

/**
 * Validates caller ids and (when a key is given) replaces them by their pseudonym. Trading
 * callers are few and repeat, so resolved ids are cached (bounded: cleared when full).
 */
export class CallerIdResolver {
  private readonly key: Buffer | null;
  private readonly cache = new Map<string, string>();
  /**
   * `redact` replaces personal data inside an id written in clear (lib/audit/privacy.ts); a
   * pseudonymized id needs none.
   */
  constructor(
    hashKey: string | Uint8Array | null,
    private readonly redact: (id: string) => string = (id) => id,
    private readonly maxCache = 4096,
  ) {
    this.key = hashKey === null ? null : keyBytes(hashKey, 'hashCallerIds.key');
  }

  get hashed(): boolean {
    return this.key !== null;
  }

  /** The id to write, or throws TypeError TG_INVALID_ARGUMENT. */
  resolve(callerId: unknown): string {
    if (typeof callerId === 'string') {
      const hit = this.cache.get(callerId);
      if (hit !== undefined) return hit;
    }
    const problem = checkCallerId(callerId);
    if (problem !== null) throw auditTypeError(`audit: callerId ${problem}`);
    const id = callerId as string;
    const out = this.key === null ? this.redact(id) : pseudonymizeCallerId(id, this.key);
    if (this.cache.size >= this.maxCache) this.cache.clear();
    this.cache.set(id, out);
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Record ids and record bodies

/** 12 hex characters (48 random bits) naming one AuditLog instance (one writer session). */
export function newInstanceId(): string {
  return randomBytes(6).toString('hex');
}

/** `<seq as 16 decimal digits>-<instanceId>`: unique across restarts, sorts in log order. */
const ZEROS = Array.from({ length: 17 }, (_, i) => '0'.repeat(i));
export function makeAuditId(seq: number, instanceId: string): string {
  const digits = String(seq);
  return digits.length >= 16 ? `${digits}-${instanceId}` : `${ZEROS[16 - digits.length]}${digits}-${instanceId}`;
}

const STATUS_SET = new Set<string>(AUDIT_STATUSES);

export interface RecordFields {
  seq: number;
  prevHash: string;
  id: string;
  time: string;
  callerId: string;
  callerIdHashed: boolean;
  modelHash: string | null;
  inputStats: object;
  decisions: readonly unknown[];
  fallback: string | null;
  status: AuditStatus;
  latencyUs: number;
}

/** Checks the parts of an input that are not the caller id; throws TG_INVALID_ARGUMENT. */
export function checkRecordInput(input: AuditRecordInput): void {
  if (input === null || typeof input !== 'object') throw auditTypeError('audit: record must be an object');
  if (!STATUS_SET.has(input.status as string)) {
    throw auditTypeError(`audit: status must be one of ${AUDIT_STATUSES.join(', ')}, got ${String(input.status)}`);
  }
  const l = input.latencyUs;
  if (typeof l !== 'number' || !Number.isFinite(l) || l < 0) throw auditTypeError(`audit: latencyUs must be a finite number >= 0, got ${String(l)}`);
  const mh = input.modelHash;
  if (mh !== undefined && mh !== null && typeof mh !== 'string') throw auditTypeError('audit: modelHash must be a string or null');
  const fb = input.fallback;
  if (fb !== undefined && fb !== null && typeof fb !== 'string') throw auditTypeError('audit: fallback must be a string or null');
  const st = input.inputStats;
  if (st !== undefined && (st === null || typeof st !== 'object' || Array.isArray(st))) throw auditTypeError('audit: inputStats must be an object');
  const d = input.decisions;
  if (d !== undefined && !Array.isArray(d)) throw auditTypeError('audit: decisions must be an array');
}

const EMPTY_OBJECT = Object.freeze({});
const EMPTY_ARRAY: readonly unknown[] = Object.freeze([]);

export function recordFieldsFrom(
  input: AuditRecordInput,
  seq: number,
  prevHash: string,
  id: string,
  time: string,
  callerId: string,
  callerIdHashed: boolean,
): RecordFields {
  return {
    seq,
    prevHash,
    id,
    time,
    callerId,
    callerIdHashed,
    modelHash: input.modelHash ?? null,
    inputStats: input.inputStats ?? EMPTY_OBJECT,
    decisions: input.decisions ?? EMPTY_ARRAY,
    fallback: input.fallback ?? null,
    status: input.status,
    latencyUs: input.latencyUs,
  };
}

const str = (s: string | null): string => (s === null ? 'null' : JSON.stringify(s));

// Caller ids and model hashes repeat from record to record: their JSON form is kept (bounded).
const quotedCache = new Map<string, string>();
function quoted(s: string | null): string {
  if (s === null) return 'null';
  let q = quotedCache.get(s);
  if (q === undefined) {
    q = JSON.stringify(s);
    if (quotedCache.size >= 1024) quotedCache.clear();
    quotedCache.set(s, q);
  }
  return q;
}

/**
 * canonicalJson of the record body ({...fields, type: 'record', v: 1}) with `map` applied to its
 * strings (the caller id is mapped by the caller), built without sorting the
 * fixed top-level keys (they are written in sorted order here). Equal to
 * `canonicalJson(recordBody(fields))` (tested) when id, prevHash, time and status need no JSON
 * escaping, which holds for the ones AuditLog generates (makeAuditId, hex, ISO time, the four
 * statuses).
 */
export function recordCanonical(f: RecordFields, map: StringMap = null): string {
  const m = map ?? ((x: string) => x);
  return (
    '{"callerId":' + quoted(f.callerId) +
    ',"callerIdHashed":' + (f.callerIdHashed ? 'true' : 'false') +
    ',"decisions":' + canonicalJson(f.decisions, map) +
    ',"fallback":' + str(f.fallback === null ? null : m(f.fallback)) +
    ',"id":"' + f.id + '"' + // ids, hashes, times and statuses are generated here: nothing to escape
    ',"inputStats":' + canonicalJson(f.inputStats, map) +
    ',"latencyUs":' + canonNumber(f.latencyUs) +
    ',"modelHash":' + quoted(f.modelHash === null ? null : m(f.modelHash)) +
    ',"prevHash":"' + f.prevHash + '"' +
    ',"seq":' + String(f.seq) +
    ',"status":"' + f.status + '"' +
    ',"time":"' + f.time + '"' +
    ',"type":"record","v":1}'
  );
}

/** The record body as a plain object (what the line holds, less `hash`). */
export function recordBody(f: RecordFields): Record<string, unknown> {
  return { v: 1, type: 'record', ...f };
}
