// The redactor's exact output for each kind of personal data and at each of its bounds, against
// tokens computed here from the documented derivation (HMAC-SHA256 under a key derived from the
// signing key; 12 hex digits of HMAC(kind:value)). Redactors are made inside the tests: one that
// throws while being made fails a test instead of the whole file. Written against the surviving
// mutants of lib/audit/privacy.ts (npm run test:mutation -- privacy).
import { createHmac } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { mayHoldPersonalData, PersonalDataRedactor } from '../lib/audit/privacy';

const KEY = Buffer.from('privacy-exact-test-signing-key-0123456789');
const REDACTION_KEY = createHmac('sha256', KEY).update('tirex-guardian audit redaction v1').digest();

/** The token of a value (an e-mail in NFKC lower case, a card as its ASCII digits). */
function tok(kind: 'email' | 'card', value: string): string {
  return `[${kind}:${createHmac('sha256', REDACTION_KEY).update(`${kind}:${value}`).digest('hex').slice(0, 12)}]`;
}
const email = (v: string): string => tok('email', v);
const card = (v: string): string => tok('card', v);

function redact(s: string): string {
  return new PersonalDataRedactor(KEY).string(s);
}

describe('e-mail addresses: exact output', () => {
  const b63 = 'b'.repeat(63);
  it.each([
    ['plain', 'note: a@bank.com; thanks', `note: ${email('a@bank.com')}; thanks`],
    ['case folded', 'Desk@Bank.COM', email('desk@bank.com')],
    ['fullwidth, NFKC', 'ｔｒａｄｅｒ＠ｂａｎｋ．ｃｏｍ', email('trader@bank.com')],
    ['ideographic full stop', '用户＠例子。广告', email('用户@例子.广告')],
    ['short string, @', 'a@b.co', email('a@b.co')],
    ['short string, fullwidth @', 'a＠b.co', email('a@b.co')],
    ['short string, small @', 'a﹫b.co', email('a@b.co')],
    ['punycode top-level label', 'user@bank.xn--p1ai', email('user@bank.xn--p1ai')],
    ['top-level label: its leading letters only', 'x@bank.com2', `${email('x@bank.com')}2`],
    ['local part: at most 64 characters', `${'a'.repeat(70)}@bank.com`, `${'a'.repeat(6)}${email(`${'a'.repeat(64)}@bank.com`)}`],
    ['label: at most 63 characters', `x@aa.${'b'.repeat(70)}`, `${email(`x@aa.${b63}`)}${'b'.repeat(7)}`],
    ['domain: at most ten labels', 'x@aa.bb.cc.dd.ee.ff.gg.hh.ii.jj.kk', `${email('x@aa.bb.cc.dd.ee.ff.gg.hh.ii.jj')}.kk`],
    ['an address running into the next', 'a@b.com@c.org', `${email('a@b.com')}${email('@c.org')}`],
    // local parts of one astral character: surrogate pairs read whole, backwards
    ['emoji local part (low surrogate DC00)', '🐀@bank.com', email('🐀@bank.com')],
    ['digit local part (low surrogate DFFF)', '𝟿@bank.com', email('9@bank.com')],
    ['letter local part (high surrogate D800)', '𐀀@bank.com', email('𐀀@bank.com')],
    // a lone high surrogate before the local part is no part of it
    ['lone high surrogate, then ASCII', '\udbffx@bank.com', `\udbff${email('x@bank.com')}`],
    ['lone high surrogate, then fullwidth', '\udbffｔ@bank.com', `\udbff${email('t@bank.com')}`],
  ])('%s', (_name, input, output) => {
    expect(redact(input)).toBe(output);
  });

  it.each([
    ['no local part', '@bank.com'],
    ['no local part, after a space', 'see @bank.com'],
    ['single punycode label', 'x@xn--p1ai'],
    ['top-level label with one leading letter', 'x@bank.c2om'],
    ['empty label', 'x@bank..com'],
    ['no top-level label', 'user@localhost'],
    // a lone low surrogate is no local part
    ['lone low surrogate after fullwidth', 'ｔ\udc00@bank.com'],
    ['lone low surrogate after U+D7FF', '\ud7ff\udc00@bank.com'],
    ['lone low surrogate after ASCII', 'x\udc00@bank.com'],
  ])('leaves alone: %s', (_name, input) => {
    expect(redact(input)).toBe(input);
  });
});

describe('cards: exact output', () => {
  it.each([
    ['spaced', 'card 4111 1111 1111 1111 ok', `card ${card('4111111111111111')} ok`],
    ['13 digits, the shortest', '4222222222222', card('4222222222222')],
    ['fullwidth digits', '４１１１ １１１１ １１１１ １１１１', card('4111111111111111')],
    ['digits next to a card: the whole run', '0 4111 1111 1111 1111.', `${card('04111111111111111')}.`],
    ['65 groups: replaced whole, unchecked', `${'1 '.repeat(64)}1`, card('1'.repeat(65))],
  ])('%s', (_name, input, output) => {
    expect(redact(input)).toBe(output);
  });

  // Runs of at least 13 digits after a non-zero one (so the scan looks) in which no window of
  // whole groups is a card. X = 412345678905 is Luhn-valid with 12 digits (too short).
  it.each([
    ['64 groups of 1: checked, no window passes Luhn', `${'1 '.repeat(63)}1`],
    ['65 groups of 0 (and an @): no digit after a non-zero one, not even looked at', `x@y ${'0 '.repeat(64)}0`],
    ['a Luhn-valid window that starts with 0', '5 0 412345678905'],
    ['a Luhn-valid window of 12 digits', '412345678905 5'],
    ['a Luhn-valid window of 22 digits', '412345678901234567 1234'],
    ['13 digits in two groups, not Luhn-valid', '412345678 1003'],
    ['not Luhn-valid', '4111 1111 1111 1112'],
  ])('leaves alone: %s', (_name, input) => {
    expect(redact(input)).toBe(input);
  });
});

describe('the pre-check and the counter', () => {
  it.each([
    ['desk-7', false],
    ['a@b', true],
    ['a＠b', true],
    ['a﹫b', true],
    ['long text with an @ sign', true],
    ['plain text, no sign at all', false],
    ['1234567890123', true],
    ['123456789012 x', false],
    ['0000000000000042-x', false], // zero-led: 2 digits from the first non-zero one
    ['0000000000042 1', false],
    ['4111 1111 1111 1111', true],
  ])('mayHoldPersonalData(%j) is %s', (s, want) => {
    expect(mayHoldPersonalData(s)).toBe(want);
  });

  it('counts the strings that had something replaced, not those that were looked at', () => {
    const r = new PersonalDataRedactor(KEY);
    expect([r.string('a@b'), r.redacted]).toEqual(['a@b', 0]);
    expect([r.string('user@localhost is 4111 1111 1111 1112'), r.redacted]).toEqual(['user@localhost is 4111 1111 1111 1112', 0]);
    expect([r.string('x a@bank.com'), r.redacted]).toEqual([`x ${email('a@bank.com')}`, 1]);
    expect([r.string('4111-1111-1111-1111 and a@bank.com'), r.redacted]).toEqual([`${card('4111111111111111')} and ${email('a@bank.com')}`, 2]);
    expect([r.string('plain'), r.redacted]).toEqual(['plain', 2]);
  });

  it('tokens depend on the signing key', () => {
    const other = new PersonalDataRedactor(Buffer.from('another-signing-key-0123456789abcdef'));
    expect(other.string('a@bank.com')).not.toBe(email('a@bank.com'));
    expect(other.string('a@bank.com')).toMatch(/^\[email:[0-9a-f]{12}\]$/);
  });
});
