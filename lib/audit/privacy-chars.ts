/**
 * Character classes of the redactor (privacy.ts), as one small integer per code point: bit flags
 * in the low byte, a decimal digit's value + 1 in bits 8..11 (0: not a digit).
 *
 * ASCII is filled in at load; other code points are classified the first time they are met
 * (a few regular-expression tests, then a table read), so strings without them pay nothing and
 * strings with them pay one array read per character.
 */

/** May stand in an e-mail's local part (RFC 5321 atext less '/' and '=', which delimit more
 * often than they belong to an address; RFC 6531: letters, marks, digits of any script, emoji). */
export const LOCAL = 1;
/** May stand in a domain label (LDH; IDN: letters, marks and digits of any script, emoji). */
export const DOMAIN = 2;
/** A letter or mark: what a top-level label is made of. */
export const LETTER = 4;
/** May stand between a card's digits: whitespace of every kind, invisible format characters,
 * dashes, dots and slashes (a person, a form or a word processor put them there). */
export const SEP = 8;
/** '@' and its fullwidth and small forms. */
export const AT = 16;
/** A label separator of a domain: '.', and the ideographic and fullwidth full stops IDNA maps to it. */
export const DOT = 32;
const KNOWN = 128;

const SEPARATORS = [
  [0x09, 0x0d], [0x20, 0x20], [0x2d, 0x2f], // tab..CR, space, '-' '.' '/'
  [0xa0, 0xa0], [0xad, 0xad], [0xb7, 0xb7], [0x34f, 0x34f], [0x61c, 0x61c], [0x1680, 0x1680], [0x180e, 0x180e],
  [0x2000, 0x200f], // spaces (en quad .. hair space), zero-width space and joiners, LRM, RLM
  [0x2010, 0x2015], [0x2022, 0x2022], [0x2024, 0x2024], [0x2027, 0x202f], // dashes, bullet, leaders, line/para separators, bidi embeddings, narrow NBSP
  [0x2043, 0x2044], [0x205f, 0x2064], [0x2066, 0x2069], [0x20e3, 0x20e3], [0x2212, 0x2212], [0x2215, 0x2215], [0x2219, 0x2219], [0x22c5, 0x22c5],
  [0x2e3a, 0x2e3b], [0x3000, 0x3000], [0x3002, 0x3002], [0x30fb, 0x30fb],
  [0xfe00, 0xfe0f], [0xfe58, 0xfe58], [0xfe63, 0xfe63], [0xfeff, 0xfeff], [0xff0d, 0xff0f], [0xff61, 0xff61], [0xff65, 0xff65],
] as const;

const table = new Uint16Array(0x10000);
const astral = new Map<number, number>();

const RE_LETTER = /[\p{L}\p{M}]/u;
const RE_WORD = /[\p{L}\p{M}\p{N}\p{Extended_Pictographic}\p{Emoji_Modifier}\u200c\u200d]/u;
const RE_DIGIT = /\p{Nd}/u;

function isSeparator(cp: number): boolean {
  for (const [lo, hi] of SEPARATORS) if (cp >= lo && cp <= hi) return true;
  return false;
}

/**
 * A decimal digit's value: Unicode assigns them in runs of ten, 0 to 9, and runs that touch
 * (the mathematical digits) are whole runs of ten, so the value is the count of digits before
 * it in its run, modulo 10.
 */
function digitValue(cp: number): number {
  let k = 0;
  while (k < 100 && RE_DIGIT.test(String.fromCodePoint(cp - k - 1))) k++;
  return k % 10;
}

function classify(cp: number): number {
  const ch = String.fromCodePoint(cp);
  let f = KNOWN;
  if (RE_DIGIT.test(ch)) f |= (digitValue(cp) + 1) << 8;
  if (cp >= 0x80 && RE_WORD.test(ch)) f |= LOCAL | DOMAIN;
  if (cp >= 0x80 && RE_LETTER.test(ch)) f |= LETTER;
  if (isSeparator(cp)) f |= SEP;
  if (cp === 0x40 || cp === 0xff20 || cp === 0xfe6b) f |= AT;
  if (cp === 0x2e || cp === 0x3002 || cp === 0xff0e || cp === 0xff61) f |= DOT;
  return f;
}

for (let c = 0; c < 0x80; c++) {
  let f = classify(c);
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9]/.test(ch)) f |= LOCAL | DOMAIN;
  if (/[A-Za-z]/.test(ch)) f |= LETTER;
  if (/[-._%+!#$&'*?^`{|}~]/.test(ch)) f |= LOCAL;
  if (c === 0x2d) f |= DOMAIN;
  table[c] = f;
}

/** The class of a code point below 0x10000 (a lone surrogate included). */
export function bmpInfo(c: number): number {
  const f = table[c] as number;
  return f !== 0 ? f : (table[c] = classify(c));
}

/** The class of any code point. */
export function info(cp: number): number {
  if (cp < 0x10000) return bmpInfo(cp);
  let f = astral.get(cp);
  if (f === undefined) {
    f = classify(cp);
    if (astral.size >= 4096) astral.clear();
    astral.set(cp, f);
  }
  return f;
}

/** A digit's value + 1 from a class (0: not a digit). */
export const digitOf = (f: number): number => f >> 8;

/** The code point at `i` (a surrogate pair read whole; `width` says how many units it took). */
export function codePointAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
    const d = s.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
  }
  return c;
}

/** UTF-16 units of a code point. */
export const width = (cp: number): number => (cp >= 0x10000 ? 2 : 1);
