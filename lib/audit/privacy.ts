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
 * A string without '@' and without a run of 13 digits not starting with 0 is left alone after
 * one pass over its characters: the common case (ids, names, codes) costs no regular expression.
 */
import { createHmac } from 'node:crypto';

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;
const DIGIT_RUN = /\d(?:[ -]?\d){12,18}/g;

const AT = 64;
/** Bit 1: an '@' (maybe an e-mail); bit 2: a digit run of 13+ digits not starting with 0 (maybe a card). */
function candidates(s: string): number {
  let found = 0;
  let run = 0;
  let leadingZero = false;
  let lastWasSep = false;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : -1;
    if (c >= 48 && c <= 57) {
      if (run === 0) leadingZero = c === 48;
      run++;
      lastWasSep = false;
      continue;
    }
    // Single spaces or dashes between digits keep a run going (4111 1111 ..., 4111-1111-...).
    if ((c === 32 || c === 45) && run > 0 && !lastWasSep) {
      lastWasSep = true;
      continue;
    }
    if (run >= 13 && !leadingZero) found |= 2;
    run = 0;
    lastWasSep = false;
    if (c === AT) found |= 1;
  }
  return found;
}

/** True when the string could hold personal data (one pass, no allocation). */
export function mayHoldPersonalData(s: string): boolean {
  return candidates(s) !== 0;
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
    const found = candidates(s);
    if (found === 0) return s;
    let out = found & 1 ? s.replace(EMAIL, (m) => this.#token('email', m.toLowerCase())) : s;
    if (found & 2) {
      out = out.replace(DIGIT_RUN, (m) => {
        const digits = m.replace(/[ -]/g, '');
        return digits.length >= 13 && digits.length <= 19 && digits[0] !== '0' && luhnValid(digits) ? this.#token('card', digits) : m;
      });
    }
    if (out !== s) this.redacted++;
    return out;
  }
}
