/**
 * Personal data never reaches the log in clear: e-mail-like and card-like substrings of any
 * string in a record (caller id, input statistics, decisions, fallback name) are replaced by a
 * keyed token, `[email:<12 hex>]` or `[card:<12 hex>]`: HMAC-SHA256 under a key derived from the
 * log's signing key, so equal values give equal tokens (records stay linkable for whoever holds
 * the key) and nobody without it can test a guess.
 *
 * What counts (chosen to catch real data as a class, however it is written, without eating our
 * own ids; the character classes are in privacy-chars.ts):
 * - e-mail-like: `local@domain.tld` in any script (RFC 6531 / IDN): a local part of up to 64
 *   letters, marks, digits, emoji and the usual ASCII symbols; '@' or its fullwidth or small
 *   form; up to ten labels of letters, marks, digits, emoji and hyphens separated by '.' or an
 *   ideographic or fullwidth full stop, the last one starting with two letters (or `xn--`);
 * - card-like: a run of decimal digits of any script, with any number of separators between
 *   them (spaces of every kind, tabs and newlines, invisible format characters, dashes, dots,
 *   slashes), in which whole groups together make 13 to 19 digits, start with a non-zero digit
 *   and pass the Luhn check (every real payment card does), wherever they sit in the run; the
 *   whole run is replaced. The guardian's zero-padded call ids and record ids have too few
 *   digits after their first non-zero one.
 *
 * A string without an at sign and without a run of 13 digits not starting with 0 is left alone
 * after one pass over its characters (one table read each): the common case (ids, names, codes)
 * costs nothing more. Every scan is linear: each '@' looks at most 64 characters back and ten
 * bounded labels ahead, and a digit run is read once.
 */
import { createHmac } from 'node:crypto';

import { AT, bmpInfo, codePointAt, digitOf, DOMAIN, DOT, info, LETTER, LOCAL, SEP, width } from './privacy-chars';

/** Digits a card number can have. */
const CARD_MIN = 13;
const CARD_MAX = 19;
/** RFC 5321 bounds (local part 64, labels 63); ten labels is more than any real domain. */
const LOCAL_MAX = 64;
const LABEL_MAX = 63;
const LABELS_MAX = 10;

/**
 * Bit 1: an at sign (maybe an e-mail). Bit 2: a run of digits (separators allowed between them)
 * in which CARD_MIN digits follow a non-zero digit (maybe a card, wherever it sits in the run).
 */
function candidates(s: string): number {
  const n = s.length;
  // Most strings of a record are short keys and codes: shorter than a card, only an at sign counts.
  if (n < CARD_MIN) {
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x40 || c === 0xff20 || c === 0xfe6b) return 1;
    }
    return 0;
  }
  let found = 0;
  let run = 0;
  let sinceNonZero = -1; // digits from the run's first non-zero digit on; -1 before it
  for (let i = 0; i <= n; i++) {
    let f = 0;
    if (i < n) {
      const c = s.charCodeAt(i);
      if (c < 0xd800 || c > 0xdbff) f = bmpInfo(c);
      else {
        const cp = codePointAt(s, i);
        f = info(cp);
        i += width(cp) - 1;
      }
    }
    const d = f >> 8;
    if (d !== 0) {
      run++;
      if (sinceNonZero >= 0) sinceNonZero++;
      else if (d !== 1) sinceNonZero = 1;
      continue;
    }
    if ((f & SEP) !== 0 && run > 0) continue;
    if (sinceNonZero >= CARD_MIN) found |= 2;
    run = 0;
    sinceNonZero = -1;
    if ((f & AT) !== 0) found |= 1;
  }
  return found;
}

/**
 * True when consecutive whole groups of the run (its digits between separators, as ASCII) make
 * 13 to 19 digits, start with a non-zero digit and pass Luhn: "0 4111 1111 1111 1111" and
 * "2024-05-01 4111111111111111" hold a card; "4111 1111 1111 1112" does not. Windows inside a
 * group are not tried: any 16 digits hold some Luhn-valid 13-digit stretch.
 */
function holdsCard(groups: readonly string[]): boolean {
  // Bounded work: a run of more than 64 separated digit groups is replaced whole, without a
  // Luhn check (a long list of numbers in one string may be over-redacted; never under).
  if (groups.length > 64) return true;
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

/** True when the string could hold personal data (one pass, no allocation). */
export function mayHoldPersonalData(s: string): boolean {
  return candidates(s) !== 0;
}

type Tokenize = (kind: 'email' | 'card', value: string) => string;

/** Every digit run that holds a card replaced by its token, keyed by the run's digits as ASCII:
 * the same card alone gives the same token however it was written (with digits around it in
 * the same run, the token differs). */
function replaceCards(s: string, token: Tokenize): string {
  const n = s.length;
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < n) {
    let cp = codePointAt(s, i);
    if (digitOf(info(cp)) === 0) {
      i += width(cp);
      continue;
    }
    const start = i;
    const groups: string[] = [];
    let end = i;
    for (;;) {
      let group = '';
      for (let d: number; i < n && (d = digitOf(info((cp = codePointAt(s, i))))) !== 0; i += width(cp)) group += String.fromCharCode(47 + d);
      groups.push(group);
      end = i;
      let j = i;
      while (j < n && (info((cp = codePointAt(s, j))) & SEP) !== 0) j += width(cp);
      if (j === i || j >= n || digitOf(info(codePointAt(s, j))) === 0) break;
      i = j;
    }
    i = end;
    if (holdsCard(groups)) {
      out += s.slice(copied, start) + token('card', groups.join(''));
      copied = end;
    }
  }
  return copied === 0 ? s : out + s.slice(copied);
}

/** The code point ending just before `i` (a surrogate pair read whole). */
function codePointBefore(s: string, i: number): number {
  const c = s.charCodeAt(i - 1);
  if (c >= 0xdc00 && c <= 0xdfff && i >= 2) {
    const h = s.charCodeAt(i - 2);
    if (h >= 0xd800 && h <= 0xdbff) return ((h - 0xd800) << 10) + (c - 0xdc00) + 0x10000;
  }
  return c;
}

/** End of the domain after an at sign (index past its top-level label), or -1 when none. */
function domainEnd(s: string, from: number): number {
  const n = s.length;
  let end = -1;
  let i = from;
  for (let label = 0; label < LABELS_MAX; label++) {
    const labelStart = i;
    let leading = 0; // the label's leading letters: what a top-level label is
    let leadingEnd = i;
    for (let count = 0; i < n && count < LABEL_MAX; count++) {
      const cp = codePointAt(s, i);
      const f = info(cp);
      if ((f & DOMAIN) === 0) break;
      i += width(cp);
      if ((f & LETTER) !== 0 && leadingEnd === i - width(cp)) {
        leading++;
        leadingEnd = i;
      }
    }
    if (i === labelStart) break;
    // A top-level label (after one label at least): a whole punycode label, or the leading
    // letters of one (two at least: "bank.com2" still ends an address).
    if (label > 0 && /^xn--/i.test(s.slice(labelStart, labelStart + 4))) end = i;
    else if (label > 0 && leading >= 2) end = leadingEnd;
    if (i >= n || (info(s.charCodeAt(i)) & DOT) === 0) break;
    i++; // every DOT is one UTF-16 unit
  }
  return end;
}

/** Every e-mail-like part replaced by its token (keyed by its NFKC lower-case form). */
function replaceEmails(s: string, token: Tokenize): string {
  const n = s.length;
  let out = '';
  let copied = 0;
  for (let at = 0; at < n; at++) {
    const c = s.charCodeAt(at);
    if (c !== 0x40 && c !== 0xff20 && c !== 0xfe6b) continue;
    const end = domainEnd(s, at + 1);
    if (end === -1) continue;
    let start = at;
    for (let k = 0; k < LOCAL_MAX && start > copied; k++) {
      const cp = codePointBefore(s, start);
      if ((info(cp) & LOCAL) === 0) break;
      start -= width(cp);
    }
    // No local part: not an address, unless the previous address ran into this one (then its
    // domain goes too, rather than stay in clear).
    if (start === at && !(copied === at && at > 0)) continue;
    out += s.slice(copied, start) + token('email', s.slice(start, end).normalize('NFKC').replace(/\u3002/g, '.').toLowerCase());
    copied = end;
    at = end - 1;
  }
  return copied === 0 ? s : out + s.slice(copied);
}

export class PersonalDataRedactor {
  readonly #key: Buffer;
  readonly #token: Tokenize = (kind, value) =>
    `[${kind}:${createHmac('sha256', this.#key).update(`${kind}:${value}`).digest('hex').slice(0, 12)}]`;
  /** Strings that had something replaced so far. */
  redacted = 0;

  /** `signingKey`: the log's key; the redaction key is derived from it (one purpose per key). */
  constructor(signingKey: Uint8Array) {
    this.#key = createHmac('sha256', signingKey).update('tirex-guardian audit redaction v1').digest();
  }

  /** The string with every e-mail-like and card-like part replaced (the same string when none). */
  string(s: string): string {
    const found = candidates(s);
    if (found === 0) return s;
    let out = found & 1 ? replaceEmails(s, this.#token) : s;
    // A run that holds a card anywhere is replaced whole (digits next to a card are no cover).
    if (found & 2) out = replaceCards(out, this.#token);
    if (out !== s) this.redacted++;
    return out;
  }
}
