/**
 * Reading a caller's options object: each own field read once, unknown keys refused, and typed
 * errors that name the option and what it allows (TG_INVALID_ARGUMENT unless said otherwise).
 */
import { rangeError, typeError, ErrorCode, type ErrorCodeValue } from '../errors';

export type Fields = Map<string, unknown>;

export function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : typeof v;
}

export function fail(option: string, message: string, kind: 'type' | 'range' = 'type', code: ErrorCodeValue = ErrorCode.InvalidArgument): Error {
  const text = `TiRexGuardian: ${option} ${message}`;
  return Object.assign(kind === 'type' ? typeError(code, text) : rangeError(code, text), { option });
}

/**
 * The own fields of `value` (a plain object: prototype Object.prototype or null), each read
 * exactly once; any key outside `allowed` (null: any string) is refused, listing them. Undefined
 * values count as absent, as they always have.
 */
export function fieldsOf(value: unknown, option: string, allowed: readonly string[] | null, code: ErrorCodeValue = ErrorCode.InvalidArgument): Fields {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fail(option, `must be an object, got ${shown(value)}`, 'type', code);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    // Options inherited from another prototype would be ignored without a word: refuse them.
    throw fail(option, 'must be a plain object (options on its prototype would not be read)', 'type', code);
  }
  const out: Fields = new Map();
  for (const key of Reflect.ownKeys(value)) {
    if (typeof key !== 'string' || (allowed !== null && !allowed.includes(key))) {
      const name = typeof key === 'string' ? JSON.stringify(key) : String(key);
      throw fail(option, `has an unknown key ${name}; allowed: ${allowed?.join(', ') || 'string keys'}`, 'type', code);
    }
    const v: unknown = (value as Record<string, unknown>)[key]; // the one read
    if (v !== undefined) out.set(key, v);
  }
  return out;
}

export function oneOf<T extends string>(f: Fields, key: string, option: string, allowed: readonly T[]): T | undefined {
  const v = f.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw fail(option, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${shown(v)}`);
  }
  return v as T;
}

export function bool(f: Fields, key: string, option: string): boolean | undefined {
  const v = f.get(key);
  if (v !== undefined && typeof v !== 'boolean') throw fail(option, `must be true or false, got ${shown(v)}`);
  return v as boolean | undefined;
}

export function int(f: Fields, key: string, option: string, min: number, max: number): number | undefined {
  const v = f.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw fail(option, `must be an integer from ${min} to ${max}, got ${shown(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) throw fail(option, `must be an integer from ${min} to ${max}, got ${shown(v)}`, 'range');
  return v;
}

export function text(f: Fields, key: string, option: string): string | undefined {
  const v = f.get(key);
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '' || v.includes('\0')) throw fail(option, `must be a non-empty string, got ${shown(v)}`);
  return v;
}

export function nullProto<T extends object>(fields: T): Readonly<T> {
  return Object.freeze(Object.assign(Object.create(null) as T, fields));
}
