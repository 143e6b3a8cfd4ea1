// The forecast journal through the service: forecasts with an instrument and originTime (JSON and
// binary) journaled per model with their audit ids, POST /v1/outcomes (scope, validation, all or
// nothing), a shadow candidate configured per model, and the gate on what the service journaled.
// A real service on the shipped model.
import * as path from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { evaluateGate } from '../lib/gate/forecast-gate';
import { loadServiceConfig } from '../lib/service/config';
import { scoreJournal } from '../lib/journal/score';
import { segmentEntries } from './journal-fixtures';
import { SIGNING_KEY, series, startService, tempDir, type TestService } from './service-fixtures';

const FIXTURES = path.join(__dirname, 'fixtures', 'models');
const T0 = Date.UTC(2026, 10, 2, 9);
const HOUR = 3_600_000;
let t: TestService;
let journal: string;

async function call(url: string, key: string, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

beforeAll(async () => {
  journal = path.join(tempDir('tg-svc-journal-'), 'journal');
  t = await startService(
    { desk: { scopes: ['forecast'] }, reader: { scopes: ['metrics'] } },
    {
      models: [
        {
          name: 'default',
          manifest: loadServiceConfig({ env: {} }).models[0]!.manifest,
          marketBounds: { EURUSD: { lo: 0, hi: 1000 } },
          shadow: { manifest: path.join(FIXTURES, 'overconfident.json') },
        },
      ],
      journal: { dir: journal, durability: 'none' },
    },
  );
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('the journal in the service', () => {
  it('journals forecasts (JSON and binary) with originTime and audit id; outcomes from a forecast key only, all or nothing', async () => {
    const values = series(700);
    const json = await call(`${t.url}/v1/forecast`, t.keys.desk!, { context: values.slice(0, 600), predictionLength: 2, instrument: 'EURUSD', originTime: T0 });
    expect(json.status).toBe(200);
    const bin = await fetch(`${t.url}/v1/forecast`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.keys.desk}`, 'content-type': 'application/octet-stream', 'x-tg-prediction-length': '2', 'x-tg-instrument': 'EURUSD', 'x-tg-origin-time': String(T0 + HOUR) },
      body: Buffer.from(Float32Array.from(values.slice(1, 601)).buffer),
    });
    expect(bin.status).toBe(200);
    const binAudit = bin.headers.get('x-tg-audit-id');
    await bin.arrayBuffer();
    expect((await call(`${t.url}/v1/outcomes`, t.keys.reader!, { outcomes: [{ instrument: 'EURUSD', time: T0 + HOUR, value: 1 }] })).status).toBe(403);
    const bad = await call(`${t.url}/v1/outcomes`, t.keys.desk!, { outcomes: [{ instrument: 'EURUSD', time: T0 + HOUR, value: values[600] }, { instrument: ' EURUSD', time: T0 + 2 * HOUR, value: 1 }] });
    expect([bad.status, bad.json.error.code, bad.json.error.field]).toEqual([400, 'TG_INVALID_ARGUMENT', 'outcomes[1].instrument']);
    expect((await call(`${t.url}/v1/outcomes`, t.keys.desk!, { outcomes: [] })).status).toBe(400);
    expect((await call(`${t.url}/v1/outcomes`, t.keys.desk!, { outcomes: [{ instrument: 'EURUSD', time: -1, value: 1 }] })).status).toBe(400);
    const ok = await call(`${t.url}/v1/outcomes`, t.keys.desk!, {
      outcomes: [0, 1, 2].map((h) => ({ instrument: 'EURUSD', time: T0 + (h + 1) * HOUR, value: values[600 + h] })),
    });
    expect([ok.status, ok.json]).toEqual([200, { recorded: 3, models: ['default'] }]);
    // The shadow runs after the answers: wait for it, then for the journal's writes.
    const g = t.service.context.models[0]!.guardian;
    while (g.qualityStats()!.shadow!.pending > 0) await new Promise((r) => setTimeout(r, 5));
    g.drainAudit();
    const dir = path.join(journal, 'default');
    // The journal writes asynchronously ('none' durability): wait for its 7 entries, then check them.
    await vi.waitUntil(() => segmentEntries(dir, ['forecast', 'outcome']).length >= 7, { timeout: 10_000, interval: 50 });
    const es = segmentEntries(dir, ['forecast', 'outcome']);
    const forecasts = es.filter((e) => e.type === 'forecast');
    expect(forecasts.map((e) => `${e.source} ${e.origin - T0} ${e.auditId}`).sort()).toEqual(
      [`model 0 ${json.json.auditId}`, `model ${HOUR} ${binAudit}`, `shadow 0 ${json.json.auditId}`, `shadow ${HOUR} ${binAudit}`].sort(),
    );
    expect(es.filter((e) => e.type === 'outcome').map((e) => e.at)).toEqual([T0 + HOUR, T0 + 2 * HOUR, T0 + 3 * HOUR]);
    const s = scoreJournal(dir);
    expect(s.counts).toMatchObject({ forecasts: 4, scored: 4, pending: 0 });
  });

  it('the gate reads what the service journaled and audited', async () => {
    await t.service.context.models[0]!.guardian.flushAudit();
    const r = await evaluateGate({ model: t.service.context.models[0]!.guardian.session.sha256, journal: path.join(journal, 'default'), audit: path.join(t.dir, 'audit', 'default'), key: { signingKey: SIGNING_KEY } });
    expect(r.integrity.violations).toEqual([]);
    expect(r.status).toBe('FAIL'); // 2 forecasts are not 30 origins
    expect(r.reasons[0]).toMatch(/fewer than 30 scored origins: EURUSD \(2\)/);
  });

  it('a service without a journal answers 404', async () => {
    const bare = await startService({ desk: { scopes: ['forecast'] } });
    try {
      const r = await call(`${bare.url}/v1/outcomes`, bare.keys.desk!, { outcomes: [{ instrument: 'EURUSD', time: T0, value: 1 }] });
      expect([r.status, r.json.error.code]).toEqual([404, 'TG_NOT_FOUND']);
    } finally {
      await bare.close();
    }
  });
});
