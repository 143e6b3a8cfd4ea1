/**
 * Personal data never reaches the log in clear: e-mail-like and card-like substrings of any
 * string in a record (caller id, input statistics, decisions, fallback name) are replaced by a
 * keyed token, `[email:<12 hex>]` or `[card:<12 hex>]`: HMAC-SHA256 under a key derived from the
 * log's signing key, so equal values give equal tokens (records stay linkable for whoever holds
 * the key) and nobody without it can test a guess.
 *
 * What counts (chosen to catch real data without eating our own ids):
 * - e-mail-like: `local@domain.tld`, the local part and domain of the usual characters, the
 *   domain with a dot and a top-level label of two or more letters;
 * - card-like: 13 to 19 digits, single spaces or dashes allowed between them, not starting with
 *   0, passing the Luhn check (every real payment card does; the guardian's zero-padded call
 *   ids and record ids do not start with a non-zero digit run of that length).
 *
 * A string without '@' and without 13 digits is left alone after one pass over its characters:
 * the common case costs little.
 */
import { createHmac } from 'node:crypto';

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const DIGIT_RUN = /\d(?:[ -]?\d){12,18}/g;

/** True when the string could hold personal data (one pass, no allocation). */
export function mayHoldPersonalData(s: string): boolean {
  let digits = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 64 /* @ */) return true;
    if (c >= 48 && c <= 57) {
      if (++digits >= 13) return true;
    } else if (c !== 32 && c !== 45) digits = 0;
  }
  return false;
}

function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = digits.length - 1, alt = false; i >= 0; i--, alt = !alt) {
    let d = digits.charCodeAt(i) - 48;
    if (alt) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export class PersonalDataRedactor {
  readonly #key: Buffer;
  /** Strings that had something replaced so far. */
  redacted = 0;

  /** `signingKey`: the log's key; the redaction key is derived from it (one purpose per key). */
  constructor(signingKey: Uint8Array) {
    this.#key = createHmac('sha256', signingKey).update('tirex-guardian audit redaction v1').digest();
  }

  #token(kind: 'email' | 'card', value: string): string {
    return `[${kind}:${createHmac('sha256', this.#key).update(`${kind}:${value}`).digest('hex').slice(0, 12)}]`;
  }

  /** The string with every e-mail-like and card-like part replaced (the same string when none). */
  string(s: string): string {
    if (!mayHoldPersonalData(s)) return s;
    let out = s.replace(EMAIL, (m) => this.#token('email', m.toLowerCase()));
    out = out.replace(DIGIT_RUN, (m) => {
      const digits = m.replace(/[ -]/g, '');
      return digits.length >= 13 && digits.length <= 19 && digits[0] !== '0' && luhnValid(digits) ? this.#token('card', digits) : m;
    });
    if (out !== s) this.redacted++;
    return out;
  }

  /**
   * A JSON-like value with every string (keys included) redacted: the same value when nothing
   * changed, else a copy (the caller's objects are never modified).
   */
  value<T>(v: T, depth = 0): T {
    if (typeof v === 'string') return this.string(v) as T;
    if (v === null || typeof v !== 'object' || depth > 64 || ArrayBuffer.isView(v)) return v;
    if (Array.isArray(v)) {
      let copy: unknown[] | null = null;
      for (let i = 0; i < v.length; i++) {
        const r = this.value(v[i], depth + 1);
        if (r !== v[i]) (copy ??= v.slice())[i] = r;
      }
      return (copy ?? v) as T;
    }
    if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return v;
    let copy: Record<string, unknown> | null = null;
    for (const k of Object.keys(v)) {
      const old = (v as Record<string, unknown>)[k];
      const r = this.value(old, depth + 1);
      const rk = this.string(k);
      if (r !== old || rk !== k) {
        copy ??= { ...(v as Record<string, unknown>) };
        if (rk !== k) delete copy[k];
        copy[rk] = r;
      }
    }
    return (copy ?? v) as T;
  }
}
