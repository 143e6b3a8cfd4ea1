// guardian.registerMetrics(registry): the guardian's statistics as Prometheus metrics, read back
// from a real scrape of a prom-client registry, against real sessions (the shipped model, the
// broken fixture models).
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';

import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';

import { LATENCY_BOUNDS_S, readCsvColumn, TiRexGuardian, type GuardianConfig } from '../lib/index';
import { parseExposition } from './metrics-text';
import { thrown } from './model-fixtures';

const ROOT = path.resolve(__dirname, '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'models');
const KEY = 'k'.repeat(32);
const brent = readCsvColumn(path.join(ROOT, 'data', 'brent-daily.csv'), 'Price').values;
const prices = Float32Array.from(brent.subarray(brent.length - 512));
const P = 'tirex_guardian_';

const open: TiRexGuardian[] = [];
function guardian(config: GuardianConfig = {}): TiRexGuardian {
  const g = new TiRexGuardian({ fallbackStrategy: 'graceful', enableAuditLogging: true, audit: { signingKey: KEY, durability: 'memory' }, ...config });
  open.push(g);
  return g;
}
afterAll(async () => {
  for (const g of open) await g.close();
});

async function scrape(r: Registry) {
  return parseExposition(await r.metrics());
}

/** A series with one wild spike: the input shield blocks it and a fallback serves it. */
function spiked(): Float32Array {
  const x = Float32Array.from(prices);
  x[x.length - 3] = x[x.length - 3]! * 1e4;
  return x;
}

describe('registerMetrics', () => {
  it('exports the statistics of the calls served, by status, shield, signal and fallback, exactly', async () => {
    const g = guardian({ marketBounds: { BRENT: { lo: 1, hi: 500 }, WTI: { lo: 1, hi: 500 } } });
    const registry = new Registry();
    g.registerMetrics(registry, { instruments: ['BRENT'] });
    const statuses: string[] = [];
    for (let i = 0; i < 3; i++) statuses.push(g.safeForecast({ context: prices, predictionLength: 8, userId: 'desk', instrument: 'BRENT' }).status);
    statuses.push(g.safeForecast({ context: prices, predictionLength: 8, userId: 'desk', instrument: 'WTI' }).status);
    const spike = g.safeForecast({ context: spiked(), predictionLength: 8, userId: 'desk', instrument: 'BRENT' });
    expect(statuses).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(spike.status).toBe('fallback');
    const invalid = thrown(() => g.safeForecast({ context: prices, predictionLength: 0, userId: 'desk' }));
    expect(invalid.code).toBe('TG_INVALID_ARGUMENT');

    const m = await scrape(registry);
    const model = g.session.manifest.name;
    expect(m.value(`${P}forecasts_total`, { model, status: 'ok' })).toBe(4);
    expect(m.value(`${P}forecasts_total`, { model, status: 'fallback' })).toBe(1);
    expect(m.value(`${P}forecasts_total`, { model, status: 'blocked' })).toBe(1);
    expect(m.value(`${P}forecasts_total`, { model, status: 'corrected' })).toBe(0);
    expect(m.value(`${P}forecast_errors_total`, { model, code: 'TG_INVALID_ARGUMENT' })).toBe(1);
    // Every signal the spike fired, each once; the method that served it.
    const signals = spike.threat.signals;
    expect(signals.length).toBeGreaterThan(0);
    for (const s of signals) expect(m.value(`${P}threat_signals_total`, { model, signal: s })).toBe(1);
    expect(m.series(`${P}threat_signals_total`)).toHaveLength(signals.length);
    expect(m.value(`${P}fallbacks_total`, { model, method: spike.fallback!.method })).toBe(1);
    expect(m.value(`${P}shield_actions_total`, { model, shield: 'input', action: spike.threat.decision })).toBe(1);
    expect(m.value(`${P}shield_actions_total`, { model, shield: 'circuit', action: 'fallback' })).toBe(1);
    expect(m.value(`${P}shield_actions_total`, { model, shield: 'pipeline', action: 'refuse' })).toBe(1);
    // Only the listed instrument is a label; WTI (not listed) and user ids never are.
    expect(m.value(`${P}instrument_forecasts_total`, { model, instrument: 'BRENT', status: 'ok' })).toBe(3);
    expect(m.value(`${P}instrument_forecasts_total`, { model, instrument: 'BRENT', status: 'fallback' })).toBe(1);
    const text = await registry.metrics();
    expect(text).not.toContain('WTI');
    expect(text).not.toContain('desk');
    // The latency histograms count every call that reached the shields, errors included.
    expect(m.value(`${P}forecast_duration_seconds_count`, { model })).toBe(6);
    expect(m.value(`${P}forecast_duration_seconds_bucket`, { model, le: '+Inf' })).toBe(6);
    expect(m.series(`${P}forecast_duration_seconds_bucket`)).toHaveLength(LATENCY_BOUNDS_S.length + 1);
    expect(m.value(`${P}model_duration_seconds_count`, { model })).toBe(4);
    const sum = m.value(`${P}forecast_duration_seconds_sum`, { model })!;
    const stats = g.stats();
    expect(sum).toBeCloseTo(stats.latency!.forecast.sumUs / 1e6, 9);
    expect(sum).toBeGreaterThan(0);
    // Buckets are cumulative.
    const buckets = m.series(`${P}forecast_duration_seconds_bucket`).map((s) => s.value);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!).toBeGreaterThanOrEqual(buckets[i - 1]!);
    expect(m.value(`${P}breaker_state`, { model, breaker: g.breaker.name })).toBe(0);
    expect(m.value(`${P}model_info`, { model, name: model, version: g.session.manifest.version, sha256: g.session.sha256.slice(0, 12), provider: g.session.provider })).toBe(1);
    expect(m.types.get(`${P}forecasts_total`)).toBe('counter');
    expect(m.types.get(`${P}forecast_duration_seconds`)).toBe('histogram');
    expect(m.types.get(`${P}breaker_state`)).toBe('gauge');
  });

  it('reports the audit log: records written, queue, capacity, checkpoints, health', async () => {
    const g = guardian();
    const registry = new Registry();
    g.registerMetrics(registry, { name: 'main' });
    for (let i = 0; i < 5; i++) g.safeForecast({ context: prices, predictionLength: 4, userId: 'desk' });
    await g.flushAudit();
    const log = g.auditLog!.stats();
    const m = await scrape(registry);
    expect(m.value(`${P}audit_records_written_total`, { model: 'main' })).toBe(log.written);
    expect(log.written).toBeGreaterThanOrEqual(5);
    expect(m.value(`${P}audit_queue_depth`, { model: 'main' })).toBe(0);
    expect(m.value(`${P}audit_queue_capacity`, { model: 'main' })).toBe(100_000);
    expect(m.value(`${P}audit_dropped_total`, { model: 'main' })).toBe(0);
    expect(m.value(`${P}audit_write_errors_total`, { model: 'main' })).toBe(0);
    expect(m.value(`${P}audit_log_up`, { model: 'main' })).toBe(1);
    expect(m.value(`${P}audit_uncheckpointed_entries`, { model: 'main' })).toBe(log.sinceCheckpoint);
    const age = m.value(`${P}audit_last_checkpoint_age_seconds`, { model: 'main' })!;
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(60);
    await g.close();
    const closed = await scrape(registry);
    expect(closed.value(`${P}audit_log_up`, { model: 'main' })).toBe(0);
  });

  it('shows suspension, the forced-open breaker and its transitions after corrupt outputs', async () => {
    // The fixture's NaN is at forecast step 5: a horizon of 8 reaches it.
    const g = guardian({ model: path.join(FIXTURES, 'emits-nan.json'), suspendAfterCorruptOutputs: 2, breaker: { consecutiveFailures: 100, minimumCalls: 100 } });
    const registry = new Registry();
    g.registerMetrics(registry);
    const model = g.session.manifest.name;
    for (let i = 0; i < 3; i++) g.safeForecast({ context: prices, predictionLength: 8, userId: 'desk' });
    const m = await scrape(registry);
    expect(g.suspended).not.toBeNull();
    expect(m.value(`${P}inference_suspended`, { model })).toBe(1);
    expect(m.value(`${P}maintenance`, { model })).toBe(0);
    expect(m.value(`${P}breaker_state`, { model, breaker: g.breaker.name })).toBe(3);
    expect(m.value(`${P}breaker_transitions_total`, { model, from: 'closed', to: 'forced-open' })).toBe(1);
    expect(m.value(`${P}shield_actions_total`, { model, shield: 'emergency', action: 'suspend' })).toBe(1);
    expect(m.value(`${P}shield_actions_total`, { model, shield: 'emergency', action: 'suspended' })).toBe(1);
    expect(m.value(`${P}forecasts_total`, { model, status: 'fallback' })).toBe(3);
    g.resumeInference();
    const after = await scrape(registry);
    expect(after.value(`${P}inference_suspended`, { model })).toBe(0);
    expect(after.value(`${P}breaker_state`, { model, breaker: g.breaker.name })).toBe(2);
  });

  it('several guardians share a registry under their own model label; a repeated label is refused', async () => {
    const a = guardian();
    const b = guardian();
    const registry = new Registry();
    a.registerMetrics(registry, { name: 'alpha' });
    b.registerMetrics(registry, { name: 'beta' });
    a.safeForecast({ context: prices, predictionLength: 4, userId: 'u' });
    const m = await scrape(registry);
    expect(m.value(`${P}forecasts_total`, { model: 'alpha', status: 'ok' })).toBe(1);
    expect(m.value(`${P}forecasts_total`, { model: 'beta', status: 'ok' })).toBe(0);
    expect(thrown(() => b.registerMetrics(registry, { name: 'alpha' })).code).toBe('TG_CONFLICT');
    expect(thrown(() => a.registerMetrics(registry, { name: 'bad label' })).code).toBe('TG_INVALID_ARGUMENT');
    expect(thrown(() => a.registerMetrics(registry, { instruments: ['x'.repeat(65)] })).code).toBe('TG_INVALID_ARGUMENT');
    expect(thrown(() => a.registerMetrics(registry, { instruments: 'BRENT' as never })).code).toBe('TG_INVALID_ARGUMENT');
    // A registry that already holds one of our names from elsewhere: a typed refusal.
    const taken = new Registry();
    taken.registerMetric({ name: `${P}forecasts_total`, get: async () => ({}) } as never);
    expect(thrown(() => a.registerMetrics(taken, { name: 'gamma' })).code).toBe('TG_CONFLICT');
  });

  it('without registerMetrics no latency is recorded (the hot path pays nothing)', () => {
    const g = guardian();
    g.safeForecast({ context: prices, predictionLength: 4, userId: 'u' });
    expect(g.stats().latency).toBeNull();
    expect(g.stats().instruments).toBeNull();
    expect(g.stats().shieldActions).toEqual({});
  });

  const promtool = spawnSync('promtool', ['--version']).status === 0;
  it('the exposition passes promtool check metrics (Prometheus\' own linter)', async () => {
    expect(promtool, 'promtool is missing: apt-get install prometheus (.ci/run installs it)').toBe(true);
    const g = guardian();
    const registry = new Registry();
    g.registerMetrics(registry, { instruments: ['BRENT'] });
    g.safeForecast({ context: prices, predictionLength: 4, userId: 'u' });
    const out = execFileSync('promtool', ['check', 'metrics'], { input: await registry.metrics(), encoding: 'utf8' });
    expect(out).toBe('');
  });
});
