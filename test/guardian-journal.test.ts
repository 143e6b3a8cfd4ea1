// The guardian's journal and shadow wiring: what is journaled (one series with an instrument,
// served by the model or a fallback), what is not (batches, blocked calls, calls without an
// instrument), the request's originTime, recordOutcome, the shadow's bounded queue, and the
// configuration's refusals.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { TiRexGuardian } from '../lib/guardian/guardian';
import { segmentEntries } from './journal-fixtures';
import { thrown } from './model-fixtures';

const FIXTURES = path.join(__dirname, 'fixtures', 'models');
const KEY = 'guardian-journal-test-key-0123456789abcdef';
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-gjournal-'));
let n = 0;
const newDir = (): string => path.join(TMP, `j-${++n}`);
const BOUNDS = { marketBounds: { EURUSD: { lo: 0, hi: 10 } } };
const series = (len: number, at = 1.1): Float64Array => Float64Array.from({ length: len }, (_, i) => at + 0.01 * Math.sin(i / 3));

describe('journaling from the guardian', () => {
  it('one series with an instrument is journaled (model or fallback); batches, blocked calls and calls without an instrument are not', async () => {
    const dir = newDir();
    const g = new TiRexGuardian({ journal: { dir, signingKey: KEY }, fallbackStrategy: 'graceful', ...BOUNDS });
    const ok = g.safeForecast({ context: series(300), predictionLength: 3, userId: 'u', instrument: 'EURUSD', originTime: 1_000 });
    g.safeForecast({ context: series(300), predictionLength: 3, userId: 'u' });
    g.safeForecast({ context: [series(300), series(300)], predictionLength: 3, userId: 'u', instrument: 'EURUSD' });
    g.enterMaintenance('test');
    const fb = g.safeForecast({ context: series(300), predictionLength: 3, userId: 'u', instrument: 'EURUSD', originTime: 2_000 });
    g.exitMaintenance();
    expect(() => g.safeForecast({ context: series(300, 50), predictionLength: 3, userId: 'u', instrument: 'EURUSD', originTime: 3_000 })).not.toThrow();
    g.recordOutcome('EURUSD', 1_500, 1.2);
    expect(g.qualityStats()!.skippedBatch).toBe(1);
    await g.close();
    const es = segmentEntries(dir, ['forecast', 'outcome']);
    expect(es.map((e) => [e.type, e.origin ?? e.at, e.status, e.source ?? null, e.fallback ?? null])).toEqual([
      ['forecast', 1_000, 'ok', 'model', null],
      ['forecast', 2_000, 'fallback', 'fallback', fb.fallback!.method],
      ['outcome', 1_500, undefined, null, null],
    ]);
    expect(ok.status).toBe('ok');
    expect(es[0]!.modelHash).toBe(g.session.sha256);
    expect(es[1]!.modelHash).toBe(g.session.sha256);
  });

  it('originTime is checked; recordOutcome needs a journal; bad outcomes are typed errors', async () => {
    const g = new TiRexGuardian({ ...BOUNDS });
    for (const originTime of [NaN, Infinity, '1000', 1e20]) {
      expect(thrown(() => g.safeForecast({ context: series(100), predictionLength: 1, userId: 'u', instrument: 'EURUSD', originTime: originTime as number }))).toMatchObject({ code: 'TG_INVALID_ARGUMENT', message: expect.stringMatching(/originTime/) });
    }
    expect(thrown(() => g.recordOutcome('EURUSD', 1, 1))).toMatchObject({ code: 'TG_INVALID_ARGUMENT', message: expect.stringMatching(/no forecast journal/) });
    expect(g.qualityStats()).toBe(null);
    await g.close();
    const j = new TiRexGuardian({ journal: { dir: newDir(), signingKey: KEY }, ...BOUNDS });
    expect(thrown(() => j.recordOutcome('EURUSD', 1, NaN))).toMatchObject({ code: 'TG_INVALID_ARGUMENT' });
    await j.close();
  });

  it('the shadow queue is bounded: runs that find it full are dropped and counted, the rest journaled as shadow', async () => {
    const dir = newDir();
    const g = new TiRexGuardian({ journal: { dir, signingKey: KEY }, shadow: { model: path.join(FIXTURES, 'quantile-ok.json'), queueLimit: 2 }, ...BOUNDS });
    // Five calls in one turn of the event loop: the shadow has not started yet.
    for (let i = 0; i < 5; i++) g.safeForecast({ context: series(200), predictionLength: 2, userId: 'u', instrument: 'EURUSD', originTime: i });
    expect(g.qualityStats()!.shadow).toMatchObject({ submitted: 5, dropped: 3, pending: 2 });
    await g.close();
    const shadow = segmentEntries(dir, ['forecast', 'outcome']).filter((e) => e.source === 'shadow');
    expect(shadow.map((e) => e.origin)).toEqual([0, 1]);
    expect(shadow[0]!.modelHash).toBe(JSON.parse(fs.readFileSync(path.join(FIXTURES, 'quantile-ok.json'), 'utf8')).sha256);
  });

  it('the configuration refuses what cannot work, before anything is opened', () => {
    const bad = [
      [{ journal: {} }, /journal\.dir is required/],
      [{ journal: { dir: newDir(), nope: 1 } }, /unknown key "nope"/],
      [{ journal: { dir: newDir(), durability: 'memory' } }, /journal\.durability must be one of/],
      [{ shadow: { model: path.join(FIXTURES, 'quantile-ok.json') } }, /shadow needs journal/],
      [{ journal: { dir: newDir() }, shadow: {} }, /shadow\.model is required/],
      [{ forecastGate: { evidence: ['rumour'] } }, /forecastGate\.evidence must be/],
    ] as const;
    for (const [config, message] of bad) {
      expect(thrown(() => new TiRexGuardian({ ...config, ...BOUNDS } as never))).toMatchObject({ code: 'TG_INVALID_ARGUMENT', message: expect.stringMatching(message) });
    }
    const before = { ...process.env };
    delete process.env.TG_AUDIT_SIGNING_KEY;
    try {
      expect(thrown(() => new TiRexGuardian({ journal: { dir: newDir() } }))).toMatchObject({ code: 'TG_GATE_FAILED', message: expect.stringMatching(/journal needs a signing key/) });
    } finally {
      Object.assign(process.env, before);
    }
    expect(thrown(() => new TiRexGuardian({ journal: { dir: newDir(), signingKey: KEY }, shadow: { model: path.join(FIXTURES, 'quantile-ok.json'), modelSha256: '0'.repeat(64) } }))).toMatchObject({ code: 'TG_MODEL_HASH_MISMATCH' });
  });
});
