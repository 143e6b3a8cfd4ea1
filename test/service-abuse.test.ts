/**
 * What the review of the service found a client could do, each pinned: a spoofed X-Forwarded-For
 * behind a proxy, an answer far larger than its request, a key hammering past its limit filling
 * the log, a request abandoned after admission, a malformed or overlong URL echoed back.
 */
import * as http from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { auditLines, flushAudit, series, startService, type TestService } from './service-fixtures';

let t: TestService;
beforeAll(async () => {
  t = await startService(
    { desk: { scopes: ['forecast', 'metrics'] }, slow: { scopes: ['forecast'], limits: { forecastPerSecond: 0.1, forecastBurst: 1 } } },
    { behindProxy: true, proxyHops: 1 },
  );
}, 60_000);
afterAll(async () => {
  await t?.close();
});

function raw(method: string, path: string, headers: Record<string, string>, body?: Buffer | string): Promise<{ status: number; text: string }> {
  const u = new URL(t.url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('behind a proxy', () => {
  it('only the proxy-appended address counts: rotating the client-written entries does not escape the block', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await raw('GET', '/v1/models', { authorization: 'Bearer tgk.desk.wrong', 'x-forwarded-for': `198.51.100.${i}, 203.0.113.7` });
      statuses.push(r.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    // The same client with a valid key: still blocked.
    const blocked = await raw('GET', '/v1/models', { authorization: `Bearer ${t.keys.desk}`, 'x-forwarded-for': '192.0.2.99, 203.0.113.7' });
    expect(blocked.status).toBe(429);
    // Another client (another address appended by the proxy) is not.
    const other = await raw('GET', '/v1/models', { authorization: `Bearer ${t.keys.desk}`, 'x-forwarded-for': '203.0.113.7, 203.0.113.8' });
    expect(other.status).toBe(200);
  });
});

describe('answers bounded before any work', () => {
  it('a small JSON request for a huge answer is refused; the same via binary is bounded by its own limit', async () => {
    const body = JSON.stringify({ context: Array.from({ length: 2000 }, () => [1, 2, 3, 4]), predictionLength: 256 });
    const r = await raw('POST', '/v1/forecast', { authorization: `Bearer ${t.keys.desk}`, 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.20' }, body);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).error.message).toBe("the answer would hold 4608000 values (series x steps x levels), over this service's 262144 (the binary form allows more)");
    const bin = await raw(
      'POST',
      '/v1/forecast',
      { authorization: `Bearer ${t.keys.desk}`, 'content-type': 'application/octet-stream', 'x-tg-prediction-length': '256', 'x-tg-batch': '2000', 'x-forwarded-for': '203.0.113.20' },
      Buffer.from(new Float32Array(8000).fill(1).buffer),
    );
    expect(bin.status).toBe(400);
    expect(JSON.parse(bin.text).error.message).toBe("the answer would hold 4608000 values (series x steps x levels), over this service's 4194304");
  });
});

describe('the audit log cannot be flooded by one key', () => {
  it('rate-limit refusals: one record a second per key, carrying how many were left out', async () => {
    const send = () => raw('POST', '/v1/forecast', { authorization: `Bearer ${t.keys.slow}`, 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.30' }, JSON.stringify({ context: series(64), predictionLength: 32 }));
    const first = [await send(), await send(), await send(), await send(), await send()].map((r) => r.status);
    expect(first).toEqual([200, 429, 429, 429, 429]);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await send()).status).toBe(429);
    await flushAudit(t);
    const refused = auditLines(t).filter((e) => e.callerId === 'slow' && e.status === 'blocked');
    expect(refused.map((e) => e.inputStats.service.suppressedBefore)).toEqual([0, 3]);
  });
});

describe('a request abandoned after admission', () => {
  it('is in the audit log (status 499)', async () => {
    const u = new URL(t.url);
    await new Promise<void>((resolve) => {
      const req = http.request({
        host: u.hostname,
        port: u.port,
        method: 'POST',
        path: '/v1/forecast',
        headers: { authorization: `Bearer ${t.keys.desk}`, 'content-type': 'application/json', 'content-length': '100000', 'x-forwarded-for': '203.0.113.40' },
      });
      req.on('error', () => resolve());
      req.write('{"context":[1,2,3');
      // Long enough for a loaded server to read the headers and admit the request (the body is
      // never finished, so nothing else can happen to it meanwhile).
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 1000);
    });
    let found: Record<string, any>[] = [];
    for (let i = 0; i < 200 && found.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      await flushAudit(t);
      found = auditLines(t).filter((e) => e.callerId === 'desk' && e.inputStats.service?.httpStatus === 499);
    }
    expect(found.length).toBe(1);
    expect(found[0]!.decisions).toEqual([{ action: 'refuse', httpStatus: 499, shield: 'service' }]);
  });
});

describe('URLs the router refuses', () => {
  it('a malformed URL and an overlong path segment are refused without echoing them', async () => {
    const bad = await raw('GET', '/v1/models%ff?QzMarkQz', { authorization: `Bearer ${t.keys.desk}` });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error).toMatchObject({ code: 'TG_INVALID_ARGUMENT', message: 'the URL is malformed' });
    expect(bad.text.includes('QzMarkQz')).toBe(false);
    const long = await raw('POST', `/v1/breakers/QzMarkQz${'x'.repeat(200)}/reset`, { authorization: `Bearer ${t.keys.desk}`, 'content-type': 'application/json' }, '{}');
    expect(long.status).toBe(414);
    expect(long.text.includes('QzMarkQz')).toBe(false);
  });

});
