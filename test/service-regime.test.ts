// The regime engine through the service: ticks fed over HTTP (their own scope), the snapshot read
// back, a forecast for the instrument carrying the regime (JSON and binary), the engine's metrics
// in /metrics. A real service on the shipped model; ticks replayed from a real series.
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { readCsvColumn } from '../lib/index';
import { loadServiceConfig } from '../lib/service/config';
import { parseExposition } from './metrics-text';
import { startService, type TestService } from './service-fixtures';

const ROOT = path.resolve(__dirname, '..');
const brent = readCsvColumn(path.join(ROOT, 'data', 'brent-daily.csv'), 'Price').values;
const closes = Array.from(brent.subarray(brent.length - 60));

let t: TestService;

async function call(method: string, url: string, key: string, body?: unknown): Promise<{ status: number; json: any; headers: Headers }> {
  const r = await fetch(url, { method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null, headers: r.headers };
}

/** Three ticks per one-second bar: low, high, close (bar i spans [i s, i+1 s)). */
function ticksOf(symbol: string, prices: number[]): { symbol: string; price: number; timestampMs: number }[] {
  return prices.flatMap((p, i) => [
    { symbol, price: p * 0.998, timestampMs: i * 1000 + 100 },
    { symbol, price: p * 1.002, timestampMs: i * 1000 + 500 },
    { symbol, price: p, timestampMs: i * 1000 + 900 },
  ]);
}

beforeAll(async () => {
  t = await startService(
    { feeder: { scopes: ['ticks'] }, desk: { scopes: ['forecast'] }, reader: { scopes: ['metrics'] } },
    {
      models: [{ name: 'default', manifest: loadServiceConfig({ env: {} }).models[0]!.manifest, marketBounds: { BRENT: { lo: 1, hi: 1000 } } }],
      regime: { enabled: true, barPeriodMs: 1000, maxBars: 100, slopePeriod: 20, atrPeriod: 14, ttlMs: 1000, maxSymbols: 100, maxTicksPerRequest: 500 },
    },
  );
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('the regime engine in the service', () => {
  it('takes ticks from a `ticks` key only, counts what it rejects, and serves the snapshot', async () => {
    const ticks = ticksOf('BRENT', closes);
    expect((await call('POST', `${t.url}/v1/regime/ticks`, t.keys.desk, { ticks })).status).toBe(403);
    const bad = [
      { symbol: 'BRENT', price: -1, timestampMs: 1 },
      { symbol: 'BRENT', price: 0, timestampMs: 2 },
      { symbol: ' BRENT', price: 80, timestampMs: 3 },
      { symbol: 'BR\u0001ENT', price: 80, timestampMs: 3 },
    ];
    const fed = await call('POST', `${t.url}/v1/regime/ticks`, t.keys.feeder, { ticks: [...ticks, ...bad] });
    expect(fed.status).toBe(200);
    expect(fed.json).toEqual({ accepted: ticks.length, rejected: bad.length });
    // An old tick after newer ones: out of order.
    expect((await call('POST', `${t.url}/v1/regime/ticks`, t.keys.feeder, { ticks: [{ symbol: 'BRENT', price: 80, timestampMs: 5 }] })).json).toEqual({ accepted: 0, rejected: 1 });
    const read = await call('GET', `${t.url}/v1/regime/BRENT`, t.keys.desk);
    expect(read.status).toBe(200);
    // 60 bars opened, the last still forming: 59 closed.
    expect(read.json.snapshot).toMatchObject({ symbol: 'BRENT', bars: 59, neutral: false, reason: null, lastClose: closes[58] });
    expect(read.json.sizeFactor).toBeGreaterThanOrEqual(0.51);
    expect(read.json.sizeFactor).toBeLessThanOrEqual(1.265);
    const unknown = await call('GET', `${t.url}/v1/regime/WTI`, t.keys.reader);
    expect(unknown.json).toMatchObject({ snapshot: { neutral: true, reason: 'no bars for this symbol' }, sizeFactor: 1 });
  });

  it('refuses a malformed body, too many ticks, and a symbol outside the instrument rule', async () => {
    expect((await call('POST', `${t.url}/v1/regime/ticks`, t.keys.feeder, { ticks: [{ symbol: 'BRENT', price: '80', timestampMs: 1 }] })).status).toBe(400);
    expect((await call('POST', `${t.url}/v1/regime/ticks`, t.keys.feeder, { ticks: ticksOf('X', new Array(200).fill(80)) })).status).toBe(400);
    const r = await call('GET', `${t.url}/v1/regime/${encodeURIComponent(' BRENT')}`, t.keys.reader);
    expect([r.status, r.json.error.code, r.json.error.field]).toEqual([400, 'TG_INVALID_ARGUMENT', 'symbol']);
  });

  it('a forecast for the instrument carries the regime (JSON and binary), and /metrics counts the engine', async () => {
    const snapshot = (await call('GET', `${t.url}/v1/regime/BRENT`, t.keys.desk)).json.snapshot;
    const json = await call('POST', `${t.url}/v1/forecast`, t.keys.desk, { context: closes, predictionLength: 8, instrument: 'BRENT' });
    expect(json.status).toBe(200);
    expect(json.json.regime).toMatchObject({ symbol: 'BRENT', trend: snapshot.trend, volatility: snapshot.volatility, structure: snapshot.structure, bars: 59, neutral: false });
    const bin = await fetch(`${t.url}/v1/forecast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.keys.desk}`, 'content-type': 'application/octet-stream', 'x-tg-prediction-length': '8', 'x-tg-instrument': 'BRENT' },
      body: Buffer.from(Float32Array.from(closes).buffer),
    });
    await bin.arrayBuffer();
    expect(bin.headers.get('x-tg-regime')).toBe(`${snapshot.trend};${snapshot.volatility};${snapshot.structure}`);
    const m = parseExposition(await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.keys.reader}` } })).text());
    expect(m.value('tirex_guardian_regime_ticks_total')).toBe(closes.length * 3);
    expect(m.value('tirex_guardian_regime_symbols')).toBe(1);
    expect(m.value('tirex_guardian_regime_rejected_ticks_total', { reason: 'invalid-price' })).toBe(2);
    expect(m.value('tirex_guardian_regime_rejected_ticks_total', { reason: 'out-of-order' })).toBe(1);
  });

  it('off by default: no regime routes', async () => {
    const off = await startService({ desk: { scopes: ['forecast'] } });
    try {
      expect((await call('GET', `${off.url}/v1/regime/BRENT`, off.keys.desk)).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
