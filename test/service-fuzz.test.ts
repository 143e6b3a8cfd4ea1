/**
 * Whatever a client sends, every endpoint answers with a JSON 2xx/4xx (never a 5xx, never a
 * crash or a hang), and never echoes the client's strings back: fast-check generated bodies,
 * strings (lone surrogates, NUL, controls, any plane), header values and binary payloads, against
 * the real service.
 */
import * as http from 'node:http';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { series, startService, type TestService } from './service-fixtures';

let t: TestService;
let key: string;
const MARK = 'QzMarkQz';
const HIGH = { forecastPerSecond: 1_000_000, forecastBurst: 1_000_000, apiPerMinute: 10_000_000 };

beforeAll(async () => {
  t = await startService({ fuzz: { scopes: ['forecast', 'metrics', 'admin'], limits: HIGH } }, // Generated Authorization headers fail by the hundred: the address must not be blocked here
  // (the block itself is tested in service-http.test.ts).
  { rateLimits: { global: { algorithm: 'token-bucket', limit: 10_000_000, windowMs: 1000 }, authFailures: { limit: 1_000_000, windowMs: 60_000, blockMs: 1000 } } });
  key = t.keys.fuzz!;
}, 60_000);
afterAll(async () => {
  await t?.close();
});

/** A raw HTTP request (fetch refuses some header values a real client can still send). */
function raw(method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  const u = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers: { authorization: `Bearer ${key}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const ROUTES: [string, string][] = [
  ['POST', '/v1/forecast'],
  ['POST', '/v1/maintenance'],
  ['POST', '/v1/resume'],
  ['POST', '/v1/breakers/x/reset'],
  ['GET', '/v1/models'],
  ['GET', '/v1/stats'],
  ['GET', '/v1/breakers'],
];

function expectAnswered(r: { status: number; text: string }, allowed: number[]): void {
  expect(allowed).toContain(r.status);
  const body = JSON.parse(r.text);
  if (r.status >= 400) expect(typeof body.error.code).toBe('string');
}

async function restore(): Promise<void> {
  // A generated body may be a valid admin action: put the service back as it was.
  await raw('POST', '/v1/maintenance', { 'content-type': 'application/json' }, Buffer.from('{"action":"exit"}'));
  await raw('POST', '/v1/resume', { 'content-type': 'application/json' }, Buffer.from('{}'));
  t.service.context.models[0]!.guardian.resetBreaker();
}

describe('generated requests', () => {
  it('any JSON body on any route: 2xx or 4xx, JSON, never 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ROUTES), fc.jsonValue({ maxDepth: 4 }), async ([method, path], value) => {
        const r = await raw(method, path, method === 'GET' ? {} : { 'content-type': 'application/json' }, method === 'GET' ? undefined : Buffer.from(JSON.stringify(value) ?? 'null'));
        expectAnswered(r, [200, 400, 404, 415, 422]);
      }),
      { numRuns: 300 },
    );
    await restore();
  }, 120_000);

  it('any string in any string field: refused or served, never echoed', async () => {
    const anyString = fc.string({ unit: 'binary', maxLength: 80 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('instrument', 'userId', 'model'), anyString, async (field, s) => {
        const value = MARK + s;
        const r = await raw('POST', '/v1/forecast', { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ context: series(40), predictionLength: 8, [field]: value })));
        expectAnswered(r, [200, 400, 404]);
        expect(r.text.includes(MARK)).toBe(false);
        expect(JSON.stringify(r.headers).includes(MARK)).toBe(false);
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('any header value a client can send: refused or served, never 5xx, never echoed', async () => {
    // What Node's HTTP client lets through: tab, printable ASCII and the latin-1 upper half.
    const headerChar = fc.oneof(fc.constant('\t'), fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)));
    const headerValue = fc.array(headerChar, { maxLength: 60 }).map((a) => MARK + a.join(''));
    const name = fc.constantFrom('x-tg-prediction-length', 'x-tg-batch', 'x-tg-instrument', 'x-tg-user-id', 'x-tg-model', 'authorization', 'x-api-key', 'content-type');
    await fc.assert(
      fc.asyncProperty(name, headerValue, async (h, v) => {
        const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'x-tg-prediction-length': '8', [h]: v };
        if (h === 'x-api-key') delete (headers as Record<string, string | undefined>).authorization;
        const r = await raw('POST', '/v1/forecast', h === 'x-api-key' ? headers : headers, Buffer.from(Float32Array.from(series(40)).buffer));
        expect(r.status).toBeLessThan(500);
        expect([200, 400, 401, 404, 415, 429]).toContain(r.status);
        expect(r.text.includes(MARK)).toBe(false);
        expect(JSON.stringify(r.headers).includes(MARK)).toBe(false);
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('any binary payload and any numbers: served or refused with a 4xx', async () => {
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 4096 }).map((a) => Buffer.from(a)),
      fc.float32Array({ maxLength: 600 }).map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)),
    );
    await fc.assert(
      fc.asyncProperty(payload, fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 4 }), async (body, h, b) => {
        const r = await raw('POST', '/v1/forecast', { 'content-type': 'application/octet-stream', 'x-tg-prediction-length': String(h), 'x-tg-batch': String(b) }, body);
        expect([200, 400, 422]).toContain(r.status);
        if (r.status !== 200) expect(typeof JSON.parse(r.text).error.code).toBe('string');
      }),
      { numRuns: 300 },
    );
    const numbers = fc.array(fc.oneof(fc.double(), fc.constant(null), fc.integer()), { maxLength: 300 });
    await fc.assert(
      fc.asyncProperty(fc.oneof(numbers, fc.array(numbers, { minLength: 1, maxLength: 3 })), async (context) => {
        const r = await raw('POST', '/v1/forecast', { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ context, predictionLength: 16 })));
        expectAnswered(r, [200, 400, 422]);
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('still serves and has not grown: no internal error counted', async () => {
    const r = await raw('GET', '/v1/stats', {});
    const s = JSON.parse(r.text);
    expect(s.service.internalErrors).toBe(0);
    expect(s.service.byStatus['500']).toBeUndefined();
    expect(s.service.inFlight).toBe(0);
  });
});
