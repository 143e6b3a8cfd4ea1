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
 * - card-like: a run of digits (single spaces or dashes allowed between them) in which whole
 *   groups together make 13 to 19 digits, start with a non-zero digit and pass the Luhn check
 *   (every real payment card does), wherever they sit in the run; the whole run is replaced. The
 *   guardian's zero-padded call ids and record ids have too few digits after their first
 *   non-zero one.
 *
 * A string without '@' and without a run of 13 digits not starting with 0 is left alone after
 * one pass over its characters: the common case (ids, names, codes) costs no regular expression.
 */
import { createHmac } from 'node:crypto';

// Lengths bounded as RFC 5321 bounds them (local part 64, labels 63): every start position
// scans a bounded stretch, so a long run of address characters costs linear time, not quadratic.
const EMAIL = /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}/g;
const DIGIT_RUN = /\d(?:[ -]?\d){12,}/g;

const AT = 64;
/** Digits a card number can have. */
const CARD_MIN = 13;
const CARD_MAX = 19;

/**
 * Bit 1: an '@' (maybe an e-mail). Bit 2: a run of digits (single spaces or dashes allowed
 * between them) in which CARD_MIN digits follow a non-zero digit (maybe a card, wherever it sits
 * in the run). The guardian's zero-padded 16-digit ids have fewer than 13 digits after their
 * first non-zero one, so they cost no regular expression.
 */
function candidates(s: string): number {
  let found = 0;
  let run = 0;
  let sinceNonZero = -1; // digits from the run's first non-zero digit on; -1 before it
  let lastWasSep = false;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : -1;
    if (c >= 48 && c <= 57) {
      run++;
      if (sinceNonZero >= 0) sinceNonZero++;
      else if (c !== 48) sinceNonZero = 1;
      lastWasSep = false;
      continue;
    }
    if ((c === 32 || c === 45) && run > 0 && !lastWasSep) {
      lastWasSep = true;
      continue;
    }
    if (sinceNonZero >= CARD_MIN) found |= 2;
    run = 0;
    sinceNonZero = -1;
    lastWasSep = false;
    if (c === AT) found |= 1;
  }
  return found;
}

/**
 * True when consecutive whole groups of the run (digits between its spaces or dashes) make 13 to
 * 19 digits, start with a non-zero digit and pass Luhn: "0 4111 1111 1111 1111" and
 * "2024-05-01 4111111111111111" hold a card; "4111 1111 1111 1112" does not. Windows inside a
 * group are not tried: any 16 digits hold some Luhn-valid 13-digit stretch.
 */
function holdsCard(run: string): boolean {
  const groups = run.split(/[ -]/);
  if (groups.length > 64) return true; // bounded work: a run that long is replaced whole
  for (let first = 0; first < groups.length; first++) {
    if ((groups[first] as string).charCodeAt(0) === 48) continue;
    let digits = '';
    for (let last = first; last < groups.length && digits.length < CARD_MAX; last++) {
      digits += groups[last] as string;
      if (digits.length >= CARD_MIN && digits.length <= CARD_MAX && luhnValid(digits)) return true;
    }
  }
  return false;
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
      // A run that holds a card anywhere is replaced whole (digits next to a card are no cover).
      out = out.replace(DIGIT_RUN, (m) => (holdsCard(m) ? this.#token('card', m.replace(/[ -]/g, '')) : m));
    }
    if (out !== s) this.redacted++;
    return out;
  }
}
