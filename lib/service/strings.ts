/**
 * Every string a client sends that the service reads (instrument, user id, model name, header
 * values) is checked before use, in this order, and refused with the first problem found:
 * length (before anything that scans it), well-formed UTF-16 (a lone surrogate is what invalid
 * UTF-8 becomes after a lenient decode, or a `\ud800` JSON escape), NUL, other control
 * characters (C0, DEL, C1), then an allowlist pattern. The problem names the field and the rule,
 * never the value: a response must not echo what the client sent.
 */
export type StringProblem = 'not-a-string' | 'empty' | 'too-long' | 'lone-surrogate' | 'nul' | 'control-character' | 'not-allowed';

export interface StringRule {
  readonly maxLength: number;
  /** Anchored allowlist the whole value must match. */
  readonly allow: RegExp;
  /** What the allowlist accepts, in words, for the error message. */
  readonly allowed: string;
}

/** Identifiers: instruments ('BRENT', 'EUR/USD', 'ES:Z26'), model names. */
export const IDENT_RULE: StringRule = { maxLength: 64, allow: /^[A-Za-z0-9][A-Za-z0-9._:/+-]*$/, allowed: 'letters, digits and . _ : / + - (starting with a letter or digit)' };
/** Instruments as exchanges and data vendors name them ('BRENT', 'EUR/USD', 'ES=F', '^GSPC',
 * 'BRK B', 'M&M.NS'): printable ASCII, no space at either end. The guardian serves only the
 * instruments its configuration bounds, and every place that shows one escapes it (JSON, the
 * audit log, Prometheus labels, the dashboard's text nodes). */
export const INSTRUMENT_RULE: StringRule = { maxLength: 64, allow: /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/, allowed: 'printable ASCII, no space at either end' };
/** User ids as a client names them: also e-mail-like ids (the audit log pseudonymizes those). */
export const USER_RULE: StringRule = { maxLength: 128, allow: /^[A-Za-z0-9][A-Za-z0-9._:@+-]*$/, allowed: 'letters, digits and . _ : @ + - (starting with a letter or digit)' };
/** A decimal count in a header. */
export const COUNT_RULE: StringRule = { maxLength: 9, allow: /^[1-9][0-9]*$/, allowed: 'a positive decimal integer' };
export const TIME_RULE: StringRule = { maxLength: 16, allow: /^(0|[1-9][0-9]*)$/, allowed: 'ms since the epoch (a decimal integer)' };

// C0 controls except NUL, DEL, and the C1 range.
const CONTROL = /[\u0001-\u001f\u007f-\u009f]/;

export function stringProblem(value: unknown, rule: StringRule): StringProblem | null {
  if (typeof value !== 'string') return 'not-a-string';
  if (value.length === 0) return 'empty';
  if (value.length > rule.maxLength) return 'too-long';
  if (!(value as unknown as { isWellFormed(): boolean }).isWellFormed()) return 'lone-surrogate'; // ES2024, Node >= 20
  if (value.includes('\u0000')) return 'nul';
  if (CONTROL.test(value)) return 'control-character';
  if (!rule.allow.test(value)) return 'not-allowed';
  return null;
}

const WORDS: Readonly<Record<StringProblem, (rule: StringRule) => string>> = {
  'not-a-string': () => 'must be a string',
  empty: () => 'must not be empty',
  'too-long': (r) => `is longer than ${r.maxLength} characters`,
  'lone-surrogate': () => 'is not valid Unicode (a lone surrogate)',
  nul: () => 'contains a NUL character',
  'control-character': () => 'contains a control character',
  'not-allowed': (r) => `may contain only ${r.allowed}`,
};

/** The problem in words, for `field` (the value itself is never part of it). */
export function describeProblem(field: string, problem: StringProblem, rule: StringRule): string {
  return `${field} ${WORDS[problem](rule)}`;
}
