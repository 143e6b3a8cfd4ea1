/**
 * The service end to end over real HTTP: the shipped model behind the guardian behind Fastify,
 * API keys from a real key file, the audit log on disk. Exact answers for each endpoint and each
 * refusal.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TiRexGuardian } from '../lib/guardian/guardian';
import { createKey, revokeKey } from '../lib/service/keys';
import { auditLines, flushAudit, series, startService, type TestService } from './service-fixtures';

let t: TestService;
const json = (key: string | undefined, body: unknown, extra: Record<string, string> = {}) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { authorization: `Bearer ${key}` }), ...extra },
  body: typeof body === 'string' ? body : JSON.stringify(body),
});

beforeAll(async () => {
  t = await startService({
    desk: { scopes: ['forecast'] },
    reader: { scopes: ['metrics'] },
    ops: { scopes: ['admin'] },
    slow: { scopes: ['forecast'], limits: { forecastPerSecond: 0.01, forecastBurst: 2 } },
    gone: { scopes: ['forecast'] },
  });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('POST /v1/forecast', () => {
  it('answers what the guardian answers in process, in JSON and in binary', async () => {
    const context = series(512);
    const r = await fetch(`${t.url}/v1/forecast`, json(t.keys.desk, { context, predictionLength: 32, userId: 'alice' }));
    expect(r.status).toBe(200);
    const body = await r.json();
    expect(body.status).toBe('ok');
    expect([body.batch, body.horizon, body.levels.length]).toEqual([1, 32, 9]);
    expect(body.quantiles.length).toBe(1);
    expect(body.quantiles[0].length).toBe(32);
    expect(body.quantiles[0][0].length).toBe(9);
    expect(typeof body.auditId).toBe('string');
    const g = new TiRexGuardian({ enableAuditLogging: false });
    try {
      const own = g.safeForecast({ context: new Float64Array(context), predictionLength: 32, userId: 'x' });
      expect(Float32Array.from(body.quantiles.flat(2) as number[])).toEqual(own.quantiles);
      expect(Float32Array.from(body.mean.flat() as number[])).toEqual(own.mean);
    } finally {
      await g.close();
    }
    const b = await fetch(`${t.url}/v1/forecast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.keys.desk}`, 'content-type': 'application/octet-stream', 'x-tg-prediction-length': '32', 'x-tg-user-id': 'alice' },
      body: Buffer.from(Float32Array.from(context).buffer),
    });
    expect(b.status).toBe(200);
    expect(b.headers.get('x-tg-status')).toBe('ok');
    expect([b.headers.get('x-tg-batch'), b.headers.get('x-tg-horizon'), b.headers.get('x-tg-levels')]).toEqual(['1', '32', '0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9']);
    expect(b.headers.get('server-timing')).toMatch(/^total;dur=[0-9.]+, model;dur=[0-9.]+, shields;dur=[0-9.]+$/);
    const q = new Float32Array(await b.arrayBuffer());
    expect(q).toEqual(Float32Array.from(body.quantiles.flat(2) as number[]));
  });

  it('takes a ragged batch and judges each series', async () => {
    const bad = series(300);
    bad[299] = 1e300; // beyond float32 and any bound: this series is blocked, the other served
    const r = await fetch(`${t.url}/v1/forecast`, json(t.keys.desk, { context: [series(512), bad], predictionLength: 32 }));
    expect(r.status).toBe(200);
    const body = await r.json();
    expect(body.batch).toBe(2);
    expect(body.series.map((s: { status: string }) => s.status)).toEqual(['ok', 'blocked']);
    expect(body.quantiles[1][0]).toEqual(Array(9).fill(null)); // NaN rows: null in JSON
    expect(body.quantiles[0][0].every((v: unknown) => typeof v === 'number')).toBe(true);
  });

  it('records the key id as the caller and the client userId beside it', async () => {
    const r = await fetch(`${t.url}/v1/forecast`, json(t.keys.desk, { context: series(64), predictionLength: 32, userId: 'bob.trader@desk' }));
    const { auditId } = await r.json();
    await flushAudit(t);
    const rec = auditLines(t).find((e) => e.inputStats.callId === auditId);
    expect(rec?.callerId).toBe('desk');
    expect(rec?.inputStats.clientUserId).toBe('bob.trader@desk');
  });

  it('refuses a request the guardian refuses with its code, and still audits it', async () => {
    const r = await fetch(`${t.url}/v1/forecast`, json(t.keys.desk, { context: [1, 2], predictionLength: 32 }));
    expect(r.status).toBe(422);
    const body = await r.json();
    expect(body.error.code).toBe('TG_CONTEXT_TOO_SHORT');
    const auditId = r.headers.get('x-tg-audit-id');
    expect(typeof auditId).toBe('string');
    await flushAudit(t);
    expect(auditLines(t).find((e) => e.inputStats.callId === auditId)?.status).toBe('blocked');
  });

  it('refuses a strict-mode horizon beyond the model with 422', async () => {
    const r = await fetch(`${t.url}/v1/forecast`, json(t.keys.desk, { context: series(64), predictionLength: 5000 }));
    expect(r.status).toBe(422);
    expect((await r.json()).error.code).toBe('TG_HORIZON_TOO_LONG');
  });
});

describe('API keys and scopes', () => {
  it('401 without a key or with a wrong one, with WWW-Authenticate', async () => {
    for (const key of [undefined, 'tgk.desk.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'garbage']) {
      const r = await fetch(`${t.url}/v1/models`, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Bearer realm="tirex-guardian"');
      expect((await r.json()).error.code).toBe('TG_UNAUTHENTICATED');
    }
  });

  it('403 for a missing scope, recorded in the audit log under the key id', async () => {
    const r = await fetch(`${t.url}/v1/forecast`, json(t.keys.reader, { context: series(64), predictionLength: 32 }));
    expect(r.status).toBe(403);
    expect((await r.json()).error.code).toBe('TG_FORBIDDEN');
    await flushAudit(t);
    const rec = auditLines(t).filter((e) => e.callerId === 'reader');
    expect(rec.length).toBe(1);
    expect(rec[0]!.status).toBe('blocked');
    expect(rec[0]!.decisions).toEqual([{ action: 'refuse', httpStatus: 403, shield: 'service' }]);
    const m = await fetch(`${t.url}/v1/models`, { headers: { 'x-api-key': t.keys.reader! } });
    expect(m.status).toBe(200);
    const f = await fetch(`${t.url}/v1/stats`, { headers: { authorization: `Bearer ${t.keys.desk}` } });
    expect(f.status).toBe(403);
  });

  it('a revoked key stops working in the running service', async () => {
    const ok = await fetch(`${t.url}/v1/forecast`, json(t.keys.gone, { context: series(64), predictionLength: 32 }));
    expect(ok.status).toBe(200);
    revokeKey(t.keysFile, 'gone');
    let status = 0;
    for (let i = 0; i < 60 && status !== 401; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await fetch(`${t.url}/v1/forecast`, json(t.keys.gone, { context: series(64), predictionLength: 32 }))).status;
    }
    expect(status).toBe(401);
  });

  it('an expired key is refused', async () => {
    // Created here, not before the suite: under the sanitizers the tests before this one can
    // outlast any expiry set at startup. Reloaded at once (not polled for: each 401 would count
    // as an authentication failure of this address).
    const expiresAt = Date.now() + 5000;
    const { key } = createKey(t.keysFile, { id: 'soon', scopes: ['forecast'], expiresAt: new Date(expiresAt) });
    expect(t.service.context.keys.reload()).toMatchObject({ ok: true });
    const call = () => fetch(`${t.url}/v1/forecast`, json(key, { context: series(64), predictionLength: 32 }));
    expect((await call()).status).toBe(200);
    await new Promise((r) => setTimeout(r, Math.max(0, expiresAt + 100 - Date.now())));
    expect((await call()).status).toBe(401);
  });
});

describe('rate limits', () => {
  it('429 with Retry-After and the RateLimit fields past a key\'s own burst; audited', async () => {
    const codes: number[] = [];
    let last: Response | null = null;
    const started = performance.now();
    for (let i = 0; i < 3; i++) {
      last = await fetch(`${t.url}/v1/forecast`, json(t.keys.slow, { context: series(64), predictionLength: 32 }));
      codes.push(last.status);
      if (i < 2) expect(last.headers.get('ratelimit-policy')).toBe('"forecast";q=2;w=1');
    }
    const elapsed = (performance.now() - started) / 1000;
    expect(codes).toEqual([200, 200, 429]);
    // One token at 0.01/s takes 100 s, less whatever refilled while the three calls ran (a loaded
    // machine may take seconds over them).
    const retryAfter = Number(last!.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(Math.ceil(100 - elapsed));
    expect(retryAfter).toBeLessThanOrEqual(100);
    expect(last!.headers.get('ratelimit')).toMatch(/^"forecast";r=0;t=\d+$/);
    expect((await last!.json()).error).toMatchObject({ code: 'TG_RATE_LIMITED', message: "rate limit 'forecast' reached" });
    await flushAudit(t);
    const refused = auditLines(t).filter((e) => e.callerId === 'slow' && e.status === 'blocked');
    expect(refused.map((e) => e.decisions[0].httpStatus)).toEqual([429]);
  });
});

describe('admin actions and probes', () => {
  const admin = (p: string, body: unknown, key = t.keys.ops) => fetch(`${t.url}${p}`, json(key, body));

  it('maintenance in refuse mode: 503 for forecasts, not ready; exit restores', async () => {
    const enter = await admin('/v1/maintenance', { action: 'enter', mode: 'refuse', reason: 'model swap' });
    expect(enter.status).toBe(200);
    expect((await enter.json()).models[0].maintenance).toEqual({ reason: 'model swap', mode: 'refuse' });
    const f = await fetch(`${t.url}/v1/forecast`, json(t.keys.desk, { context: series(64), predictionLength: 32 }));
    expect(f.status).toBe(503);
    expect((await f.json()).error.code).toBe('TG_MAINTENANCE');
    const ready = await fetch(`${t.url}/health/ready`);
    expect(ready.status).toBe(503);
    expect((await ready.json()).checks['model:default']).toEqual({ ok: false, detail: 'maintenance (refuse)' });
    // A breaker reset does not end maintenance: refused (409), the model stays in maintenance.
    const names = Object.keys((await (await fetch(`${t.url}/v1/breakers`, { headers: { authorization: `Bearer ${t.keys.reader}` } })).json()).breakers);
    const reset = await admin(`/v1/breakers/${encodeURIComponent(names[0]!)}/reset`, {});
    expect([reset.status, (await reset.json()).error.code]).toEqual([409, 'TG_CONFLICT']);
    expect((await admin('/v1/resume', {})).status).toBe(409);
    expect((await admin('/v1/maintenance', { action: 'exit' })).status).toBe(200);
    expect((await fetch(`${t.url}/health/ready`)).status).toBe(200);
    await flushAudit(t);
    const acts = auditLines(t)
      .filter((e) => e.callerId === 'ops')
      .map((e) => [e.decisions[0].action, e.decisions[0].httpStatus ?? null]);
    // The two refused actions are in the log too, with their status.
    expect(acts).toEqual([
      ['maintenance-enter', null],
      ['refuse', 409],
      ['refuse', 409],
      ['maintenance-exit', null],
    ]);
  });

  it('lists breakers, resets one by name, 404 for an unknown one, 403 without admin', async () => {
    const list = await fetch(`${t.url}/v1/breakers`, { headers: { authorization: `Bearer ${t.keys.reader}` } });
    expect(list.status).toBe(200);
    const names = Object.keys((await list.json()).breakers);
    expect(names.length).toBe(1);
    const reset = await admin(`/v1/breakers/${encodeURIComponent(names[0]!)}/reset`, {});
    expect(reset.status).toBe(200);
    expect(await reset.json()).toEqual({ breaker: names[0], state: 'closed' });
    expect((await admin('/v1/breakers/nope/reset', {})).status).toBe(404);
    expect((await admin(`/v1/breakers/${encodeURIComponent(names[0]!)}/reset`, {}, t.keys.reader)).status).toBe(403);
    expect((await admin('/v1/resume', {})).status).toBe(200);
    // No body at all is an empty request (every model).
    const bare = await fetch(`${t.url}/v1/resume`, { method: 'POST', headers: { authorization: `Bearer ${t.keys.ops}` } });
    expect(bare.status).toBe(200);
  });

  it('probes: live, ready and startup answer 200 with their checks', async () => {
    expect(await (await fetch(`${t.url}/health/live`)).json()).toEqual({ status: 'live' });
    const ready = await (await fetch(`${t.url}/health/ready`)).json();
    expect(ready.status).toBe('ready');
    expect(ready.checks['audit:default']).toEqual({ ok: true });
    expect(await (await fetch(`${t.url}/health/startup`)).json()).toEqual({ status: 'started', models: [{ name: 'default', warmed: true }] });
  });

  it('stats report the refusals by code', async () => {
    const s = await (await fetch(`${t.url}/v1/stats`, { headers: { authorization: `Bearer ${t.keys.ops}` } })).json();
    expect(s.service.refusals['TG_RATE_LIMITED:forecast']).toBe(1);
    expect(s.keys.keys).toBe(6);
    expect(s.rateLimits.mode).toBe('memory');
    expect(s.models.default.calls).toBeGreaterThan(5);
  });
});

describe('malformed requests', () => {
  it('each framing problem has its own status and code', async () => {
    const k = t.keys.desk;
    const cases: [RequestInit, number, string][] = [
      [json(k, '{"context":[1,2,3'), 400, 'TG_INVALID_ARGUMENT'],
      [json(k, '{"__proto__":{"x":1},"context":[1,2,3],"predictionLength":1}'), 400, 'TG_INVALID_ARGUMENT'],
      [json(k, { context: series(64), predictionLength: 32, extra: 1 }), 400, 'TG_INVALID_ARGUMENT'],
      [json(k, { context: series(64), predictionLength: '32' }), 400, 'TG_INVALID_ARGUMENT'],
      [json(k, { context: [[[1]]], predictionLength: 32 }), 400, 'TG_INVALID_ARGUMENT'],
      [json(k, '[' .repeat(100_000) + ']'.repeat(100_000)), 400, 'TG_INVALID_ARGUMENT'],
      [{ method: 'POST', headers: { authorization: `Bearer ${k}`, 'content-type': 'text/plain' }, body: 'hello' }, 415, 'TG_UNSUPPORTED_MEDIA_TYPE'],
      [{ method: 'POST', headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) }, 400, 'TG_INVALID_ARGUMENT'],
      [json(k, { context: new Array(5_000_000).fill(1), predictionLength: 32 }), 413, 'TG_BODY_TOO_LARGE'],
      [{ method: 'POST', headers: { authorization: `Bearer ${k}`, 'content-type': 'application/octet-stream', 'x-tg-prediction-length': '32' }, body: Buffer.alloc(7) }, 400, 'TG_INVALID_ARGUMENT'],
      [{ method: 'POST', headers: { authorization: `Bearer ${k}`, 'content-type': 'application/octet-stream' }, body: Buffer.alloc(8) }, 400, 'TG_INVALID_ARGUMENT'],
      [{ method: 'POST', headers: { authorization: `Bearer ${k}`, 'content-type': 'application/octet-stream', 'x-tg-prediction-length': '0x20' }, body: Buffer.alloc(8) }, 400, 'TG_INVALID_ARGUMENT'],
    ];
    for (const [init, status, code] of cases) {
      const r = await fetch(`${t.url}/v1/forecast`, init);
      const body = await r.json();
      expect([r.status, body.error.code]).toEqual([status, code]);
      expect(typeof body.error.requestId).toBe('string');
    }
  });

  it('a string with a lone surrogate, NUL, a control character or past its length is refused by name, never echoed', async () => {
    const marker = 'ZZmarkerZZ';
    const bad: [string, string][] = [
      [`${marker}\ud800`, 'is not valid Unicode (a lone surrogate)'],
      [`${marker}\u0000`, 'contains a NUL character'],
      [`${marker}\u001b[31m`, 'contains a control character'],
      [`${marker}\u0085`, 'contains a control character'],
      [marker + 'x'.repeat(200), 'is longer than 64 characters'],
      [`${marker}\u00e9`, 'may contain only printable ASCII, no space at either end'],
      [`${marker} `, 'may contain only printable ASCII, no space at either end'],
    ];
    for (const [value, words] of bad) {
      const r = await fetch(`${t.url}/v1/forecast`, json(t.keys.desk, { context: series(64), predictionLength: 32, instrument: value }));
      const text = await r.text();
      expect(r.status).toBe(400);
      expect(JSON.parse(text).error).toMatchObject({ code: 'TG_INVALID_ARGUMENT', field: 'instrument', message: `instrument ${words}` });
      expect(text.includes(marker)).toBe(false);
    }
    // Printable ASCII passes the string rule ('ES=F', '^GSPC'); an instrument without market
    // bounds is then the guardian's refusal, which does not echo it either.
    const r = await fetch(`${t.url}/v1/forecast`, json(t.keys.desk, { context: series(64), predictionLength: 32, instrument: `${marker}<script>` }));
    const text = await r.text();
    expect(r.status).toBe(400);
    expect(JSON.parse(text).error.code).toBe('TG_INVALID_ARGUMENT');
    expect(text.includes(marker)).toBe(false);
  });

  it('an instrument without market bounds: the guardian refuses it, and the reply does not echo it', async () => {
    const r = await fetch(`${t.url}/v1/forecast`, json(t.keys.desk, { context: series(64), predictionLength: 32, instrument: 'ZZmarkerZZ' }));
    const text = await r.text();
    expect(r.status).toBe(400);
    expect(text.includes('ZZmarkerZZ')).toBe(false);
  });

  it('an error escaping a handler is a 500 with the request id, never echoed, and the process keeps serving', async () => {
    // Routes of the test's own that fail the way a bug would: the service's error handler is what
    // is under test (no client input reaches such a path in the real routes).
    const other = await startService({ desk: { scopes: ['forecast'] } }, {}, {}, (s) => {
      s.app.get('/v1/test-throws', { config: { access: { scopes: ['forecast'], limit: 'api' } } }, () => {
        throw new TypeError('secret internals ZZmarkerZZ');
      });
      s.app.get('/v1/test-rejects', { config: { access: { scopes: ['forecast'], limit: 'api' } } }, async () => Promise.reject(new Error('ZZmarkerZZ')));
    });
    try {
      for (const p of ['/v1/test-throws', '/v1/test-rejects']) {
        const r = await fetch(`${other.url}${p}`, { headers: { authorization: `Bearer ${other.keys.desk}` } });
        const text = await r.text();
        expect(r.status).toBe(500);
        const body = JSON.parse(text);
        expect(body.error.code).toBe('TG_INTERNAL');
        expect(body.error.requestId).toMatch(/^[0-9a-f]{8}-[0-9a-z]+$/);
        expect(text.includes('ZZmarkerZZ')).toBe(false);
      }
      expect((await fetch(`${other.url}/health/live`)).status).toBe(200);
      const stats = await (await fetch(`${other.url}/v1/stats`, { headers: { authorization: `Bearer ${other.keys.desk}` } })).status;
      expect(stats).toBe(403);
      expect(other.service.context.stats.internalErrors).toBe(2);
    } finally {
      await other.close();
    }
  });

  it('a strict model failure is a 502 with its code', async () => {
    const other = await startService({ desk: { scopes: ['forecast'] } }, { models: [{ name: 'default', manifest: 'models/tirex-guardian-default.json', fallbackStrategy: 'strict' }] });
    try {
      other.service.context.models[0]!.guardian.session.close();
      const r = await fetch(`${other.url}/v1/forecast`, json(other.keys.desk, { context: series(64), predictionLength: 32 }));
      expect(r.status).toBe(502);
      expect((await r.json()).error.code).toBe('TG_MODEL_FAILED');
      const none = await fetch(`${other.url}/v1/forecast`, { method: 'POST', headers: { authorization: `Bearer ${other.keys.desk}` } });
      expect([none.status, (await none.json()).error.code]).toEqual([415, 'TG_UNSUPPORTED_MEDIA_TYPE']);
    } finally {
      await other.close();
    }
  });
});

describe('failed authentications per address', () => {
  it('the sixth failure in a minute blocks the address, valid key included', async () => {
    const s = await startService({ desk: { scopes: ['forecast'] } });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) codes.push((await fetch(`${s.url}/v1/models`, { headers: { authorization: 'Bearer tgk.desk.wrong' } })).status);
      expect(codes).toEqual([401, 401, 401, 401, 401, 429]);
      const r = await fetch(`${s.url}/v1/forecast`, json(s.keys.desk, { context: series(64), predictionLength: 32 }));
      expect(r.status).toBe(429);
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(290);
      expect((await r.json()).error.message).toBe('too many failed authentications from this address');
    } finally {
      await s.close();
    }
  });
});

it('the audit logs verify after all of this', async () => {
  await flushAudit(t);
  const dir = path.join(t.dir, 'audit', 'default');
  expect(fs.readdirSync(dir).some((f) => f.startsWith('segment-'))).toBe(true);
  const { verifyAuditDir } = await import('../lib/audit');
  const report = await verifyAuditDir(dir, { signingKey: 'service-test-signing-key-0123456789abcdef' });
  expect(report.ok).toBe(true);
});
