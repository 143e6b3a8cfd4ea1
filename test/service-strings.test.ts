/**
 * The service's string checks and message scrubbing against a plain reference written from their
 * contract: the first problem in the documented order, for any string (fast-check: any UTF-16
 * code unit, lone surrogates included), and a scrubbed message never holds a quoted fragment or a
 * character outside printable ASCII.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import Fastify from 'fastify';

import { addressKey } from '../lib/service/access';
import { httpStatusOf, scrubMessage, sendError } from '../lib/service/http-errors';
import { COUNT_RULE, describeProblem, IDENT_RULE, INSTRUMENT_RULE, stringProblem, TIME_RULE, USER_RULE, type StringProblem, type StringRule } from '../lib/service/strings';

/** The contract, one code unit at a time. */
function reference(value: unknown, rule: StringRule): StringProblem | null {
  if (typeof value !== 'string') return 'not-a-string';
  if (value.length === 0) return 'empty';
  if (value.length > rule.maxLength) return 'too-long';
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = i + 1 < value.length ? value.charCodeAt(i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) i++;
      else return 'lone-surrogate';
    } else if (c >= 0xdc00 && c <= 0xdfff) return 'lone-surrogate';
  }
  if ([...value].some((ch) => ch === '\u0000')) return 'nul';
  if ([...value].some((ch) => { const c = ch.codePointAt(0)!; return (c >= 1 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f); })) return 'control-character';
  return rule.allow.test(value) ? null : 'not-allowed';
}

const RULES: [string, StringRule][] = [['ident', IDENT_RULE], ['instrument', INSTRUMENT_RULE], ['user', USER_RULE], ['count', COUNT_RULE], ['time', TIME_RULE]];

describe('stringProblem', () => {
  it('instruments: printable ASCII as exchanges write them, no space at either end, at most 64', () => {
    for (const ok of ['BRENT', 'EUR/USD', 'ES=F', '^GSPC', 'BRK B', 'M&M.NS', '<img src=x onerror=alert(1)>', '!', '~', 'a b', 'x'.repeat(64)]) {
      expect([ok, stringProblem(ok, INSTRUMENT_RULE)]).toEqual([ok, null]);
    }
    const refused: [string, StringProblem][] = [
      [' BRENT', 'not-allowed'],
      ['BRENT ', 'not-allowed'],
      [' ', 'not-allowed'],
      ['BR\u00e9NT', 'not-allowed'],
      ['\u00a0', 'not-allowed'],
      ['BR\tENT', 'control-character'],
      ['', 'empty'],
      ['x'.repeat(65), 'too-long'],
    ];
    for (const [value, problem] of refused) expect([value, stringProblem(value, INSTRUMENT_RULE)]).toEqual([value, problem]);
    expect(describeProblem('instrument', 'not-allowed', INSTRUMENT_RULE)).toBe('instrument may contain only printable ASCII, no space at either end');
  });

  it('equals the reference for any string, on every rule', () => {
    const anyString = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 140 }),
      fc.string({ unit: fc.constantFrom('a', 'Z', '0', '9', '.', '_', ':', '/', '+', '-', '@', ' ', '\u0000', '\u001f', '\u007f', '\u0085', '\u009f', '\ud800', '\udc00', '\u00e9', '😀'), maxLength: 140 }),
    );
    fc.assert(
      fc.property(anyString, (s) => {
        for (const [, rule] of RULES) expect(stringProblem(s, rule)).toBe(reference(s, rule));
      }),
      { numRuns: 3000 },
    );
  });

  it('exact answers at the edges of each rule', () => {
    const cases: [unknown, StringRule, StringProblem | null][] = [
      [12, IDENT_RULE, 'not-a-string'],
      [null, USER_RULE, 'not-a-string'],
      ['', IDENT_RULE, 'empty'],
      ['a'.repeat(64), IDENT_RULE, null],
      ['a'.repeat(65), IDENT_RULE, 'too-long'],
      ['a'.repeat(128), USER_RULE, null],
      ['a'.repeat(129), USER_RULE, 'too-long'],
      ['\ud800', USER_RULE, 'lone-surrogate'],
      ['a\udc00', USER_RULE, 'lone-surrogate'],
      ['😀', USER_RULE, 'not-allowed'], // a well-formed pair: past the encoding checks, not allowed
      ['a\u0000', USER_RULE, 'nul'],
      ['\u0000\u0001', USER_RULE, 'nul'], // NUL is named before other controls
      ['a\u0001', USER_RULE, 'control-character'],
      ['a\u001f', USER_RULE, 'control-character'],
      ['a\u007f', USER_RULE, 'control-character'],
      ['a\u009f', USER_RULE, 'control-character'],
      ['a\u00a0', USER_RULE, 'not-allowed'],
      ['a b', USER_RULE, 'not-allowed'],
      ['-a', IDENT_RULE, 'not-allowed'],
      ['EUR/USD', IDENT_RULE, null],
      ['ES:Z26', IDENT_RULE, null],
      ['bob@desk.example', USER_RULE, null],
      ['bob@desk', IDENT_RULE, 'not-allowed'],
      ['32', COUNT_RULE, null],
      ['032', COUNT_RULE, 'not-allowed'],
      ['0', COUNT_RULE, 'not-allowed'],
      ['1'.repeat(9), COUNT_RULE, null],
      ['1'.repeat(10), COUNT_RULE, 'too-long'],
      ['12a', COUNT_RULE, 'not-allowed'],
      ['a1', COUNT_RULE, 'not-allowed'],
      ['0', TIME_RULE, null],
      ['1737331200000', TIME_RULE, null],
      ['9'.repeat(16), TIME_RULE, null],
      ['9'.repeat(17), TIME_RULE, 'too-long'],
      ['01', TIME_RULE, 'not-allowed'],
      ['-1', TIME_RULE, 'not-allowed'],
      ['1e3', TIME_RULE, 'not-allowed'],
      ['1.5', TIME_RULE, 'not-allowed'],
      ['12a', TIME_RULE, 'not-allowed'],
      ['a12', TIME_RULE, 'not-allowed'],
    ];
    for (const [value, rule, problem] of cases) expect([value, stringProblem(value, rule)]).toEqual([value, problem]);
  });

  it('describes each problem by the field and the rule, never the value', () => {
    expect(describeProblem('instrument', 'too-long', IDENT_RULE)).toBe('instrument is longer than 64 characters');
    expect(describeProblem('userId', 'not-allowed', USER_RULE)).toBe('userId may contain only letters, digits and . _ : @ + - (starting with a letter or digit)');
    expect(describeProblem('x', 'lone-surrogate', USER_RULE)).toBe('x is not valid Unicode (a lone surrogate)');
    expect(describeProblem('x', 'nul', USER_RULE)).toBe('x contains a NUL character');
    expect(describeProblem('x', 'control-character', USER_RULE)).toBe('x contains a control character');
    expect(describeProblem('x', 'empty', USER_RULE)).toBe('x must not be empty');
    expect(describeProblem('x', 'not-a-string', USER_RULE)).toBe('x must be a string');
    expect(describeProblem('instrument', 'not-allowed', IDENT_RULE)).toBe('instrument may contain only letters, digits and . _ : / + - (starting with a letter or digit)');
    expect(describeProblem('x-tg-batch', 'not-allowed', COUNT_RULE)).toBe('x-tg-batch may contain only a positive decimal integer');
    expect(describeProblem('x-tg-origin-time', 'not-allowed', TIME_RULE)).toBe('x-tg-origin-time may contain only ms since the epoch (a decimal integer)');
    expect(describeProblem('x-tg-origin-time', 'too-long', TIME_RULE)).toBe('x-tg-origin-time is longer than 16 characters');
  });
});

describe('scrubMessage and httpStatusOf', () => {
  it('removes every quoted fragment and anything but printable ASCII, and cuts at 300', () => {
    expect(scrubMessage('instrument "EUR\\"X" has no market bounds')).toBe('instrument "…" has no market bounds');
    expect(scrubMessage("unknown request field 'instrumnet': the fields are x")).toBe("unknown request field '…': the fields are x");
    expect(scrubMessage('a\u0000b\u001b[31mc\u00e9d')).toBe('ab[31mcd');
    expect(scrubMessage('x'.repeat(400)).length).toBe(300);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ maxLength: 40 }), (secret, prefix) => {
        const marked = `QzQ${secret.replace(/["'\\]/g, '')}`;
        // The prefix is the message's own text: it must not contain the marker itself (fast-check
        // once drew the prefix 'QzQ'), so its Q's go too.
        const out = scrubMessage(`${prefix.replace(/["'\\Q]/g, '')} "${marked}" and '${marked}'`);
        expect(out.includes('QzQ')).toBe(false);
        expect(/^[\x20-\x7e…]*$/.test(out)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('maps each code to its status, and anything unknown to 500', () => {
    const expected: Record<string, number> = {
      TG_UNAUTHENTICATED: 401, TG_FORBIDDEN: 403, TG_NOT_FOUND: 404, TG_CONFLICT: 409, TG_AUDIT_WRITE_FAILED: 503, TG_BODY_TOO_LARGE: 413, TG_UNSUPPORTED_MEDIA_TYPE: 415,
      TG_RATE_LIMITED: 429, TG_DRAINING: 503, TG_OVERLOADED: 503, TG_GUARDIAN_CLOSED: 503, TG_INVALID_ARGUMENT: 400,
      TG_INVALID_BOUNDS: 400, TG_OUT_OF_RANGE: 400, TG_BATCH_INVALID: 400, TG_SHAPE_MISMATCH: 400, TG_CONTEXT_TOO_SHORT: 422,
      TG_CONTEXT_TOO_LONG: 422, TG_HORIZON_TOO_LONG: 422, TG_PRECISION_LOSS: 422, TG_SCALING_INVALID: 422, TG_INPUT_BLOCKED: 422,
      TG_CIRCUIT_OPEN: 503, TG_MAINTENANCE: 503, TG_SUSPENDED: 503, TG_RUN_TIMEOUT: 504, TG_RUN_FAILED: 502, TG_MODEL_FAILED: 502,
      TG_OUTPUT_CORRUPT: 502, TG_OUTPUT_IMPLAUSIBLE: 502, TG_NO_FALLBACK: 502, TG_INTERNAL: 500, TG_SESSION_CLOSED: 500, toString: 500, __proto__: 500,
    };
    for (const [code, status] of Object.entries(expected)) expect([code, httpStatusOf(code)]).toEqual([code, status]);
    expect(httpStatusOf('__proto__')).toBe(500);
  });
});

describe('sendError', () => {
  it('answers JSON with the code, the message, the request id and the field, uncached, with the mapped status', async () => {
    const app = Fastify({ genReqId: () => 'req-1' });
    app.get('/with', (request, reply) => sendError(reply, request, 'TG_FORBIDDEN', 'no scope', 'model'));
    app.get('/without', (request, reply) => sendError(reply, request, 'TG_RATE_LIMITED', 'slow down'));
    try {
      const a = await app.inject({ method: 'GET', url: '/with' });
      expect([a.statusCode, a.headers['cache-control'], a.headers['content-type']]).toEqual([403, 'no-store', 'application/json; charset=utf-8']);
      expect(a.json()).toEqual({ error: { code: 'TG_FORBIDDEN', message: 'no scope', requestId: 'req-1', field: 'model' } });
      const b = await app.inject({ method: 'GET', url: '/without' });
      expect(b.statusCode).toBe(429);
      expect(b.json()).toEqual({ error: { code: 'TG_RATE_LIMITED', message: 'slow down', requestId: 'req-1' } });
    } finally {
      await app.close();
    }
  });
});

describe('addressKey', () => {
  it('an IPv4 address is itself; an IPv6 address counts as its /64; a mapped IPv4 address as the IPv4', () => {
    const cases: [string, string][] = [
      ['127.0.0.1', '127.0.0.1'],
      ['10.1.2.3', '10.1.2.3'],
      ['::ffff:10.1.2.3', '10.1.2.3'],
      ['::FFFF:10.1.2.3', '10.1.2.3'],
      ['2001:db8:85a3:8d3:1319:8a2e:370:7348', '2001:db8:85a3:8d3::/64'],
      ['2001:db8:85a3:8d3::1', '2001:db8:85a3:8d3::/64'],
      ['2001:DB8:85A3:08D3:ffff::2', '2001:db8:85a3:8d3::/64'],
      ['2001:db8::1', '2001:db8:0:0::/64'],
      ['2001:db8:0:0:1::1', '2001:db8:0:0::/64'],
      ['::1', '0:0:0:0::/64'],
      ['fe80::1%eth0', 'fe80:0:0:0::/64'],
      ['64:ff9b::10.1.2.3', '64:ff9b:0:0::/64'],
      ['not an address', 'unknown-address'],
      ['', 'unknown-address'],
    ];
    for (const [ip, key] of cases) expect([ip, addressKey(ip)]).toEqual([ip, key]);
  });
});
