// TiRexGuardian end to end, on real sessions: the shipped model for clean and hostile inputs,
// the broken fixture models for fault injection, an injectable clock for the breaker.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { ManualClock } from '../lib/breaker';
import { readCsvColumn, TiRexGuardian, type ForecastResult, type GuardianConfig } from '../lib/index';
import { thrown } from './model-fixtures';
import { cleanProject } from './preflight-fixtures';

const ROOT = path.resolve(__dirname, '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'models');
const KEY = 'k'.repeat(32);
const brent = readCsvColumn(path.join(ROOT, 'data', 'brent-daily.csv'), 'Price').values;
const prices = Float32Array.from(brent.subarray(brent.length - 1024));

const open: TiRexGuardian[] = [];
function guardian(config: GuardianConfig): TiRexGuardian {
  // 'memory' by name: staging refuses an audit log with no file or directory otherwise.
  const g = new TiRexGuardian({ audit: { signingKey: KEY, durability: 'memory' }, ...config });
  open.push(g);
  return g;
}
afterAll(async () => {
  for (const g of open) await g.close();
});

function fixture(kind: string): string {
  return path.join(FIXTURES, `${kind}.json`);
}

function expectServed(r: ForecastResult, batch = 1): void {
  expect(r.quantiles).not.toBeNull();
  const q = r.quantiles!;
  expect(q.length).toBe(batch * r.horizon * 9);
  for (let s = 0; s < batch * r.horizon; s++) {
    for (let k = 0; k < 9; k++) {
      expect(Number.isFinite(q[s * 9 + k]!)).toBe(true);
      if (k > 0) expect(q[s * 9 + k]!).toBeGreaterThanOrEqual(q[s * 9 + k - 1]!);
    }
    expect(r.mean![s]).toBe(q[s * 9 + 4]);
  }
}


describe('profiles and a clean forecast', () => {
  it('serves the shipped model on real prices with status ok, an audit id and timings', () => {
    const g = guardian({ profile: 'staging' });
    expect(g.config).toEqual({ level: 'medium', pipeline: 'strict', strategy: 'graceful', audit: true });
    const r = g.safeForecast({ context: prices, predictionLength: 32, userId: 'desk-7' });
    expect(r.status).toBe('ok');
    expect(r.reason).toBeNull();
    expectServed(r);
    expect(r.auditId).toMatch(/^c\d{16}-[0-9a-f]{12}$/);
    expect(r.timings.totalUs).toBeGreaterThan(r.timings.modelUs);
    expect(r.model.sha256).toBe(g.session.sha256);
    expect(g.auditLog!.stats().appended).toBe(0); // handed off: appended on the next tick
    g.drainAudit();
    expect(g.auditLog!.stats().appended).toBe(1);
  });

  it('accepts number[], Float64Array, ragged batches and a [B, T] batch', () => {
    const g = guardian({ profile: 'staging' });
    expect(g.safeForecast({ context: Array.from(prices), predictionLength: 8, userId: 'u' }).status).toBe('ok');
    // Bitcoin-like float64 prices: not "precision loss" (measured against the series' scale).
    const btc = Float64Array.from(prices, (v, i) => 60000 + v + i * 0.01);
    const r = g.safeForecast({ context: btc, predictionLength: 8, userId: 'u' });
    expect(r.status).toBe('ok');
    const ragged = g.safeForecast({ context: [prices.subarray(0, 300), prices.subarray(0, 700)], predictionLength: 8, userId: 'u' });
    expect(ragged.batch).toBe(2);
    expectServed(ragged, 2);
    expect(ragged.warnings.join(' ')).toContain('ragged');
    const both = new Float32Array(2048);
    both.set(prices);
    both.set(prices, 1024);
    const batch = g.safeForecast({ context: both, batch: 2, predictionLength: 8, userId: 'u' });
    expectServed(batch, 2);
    expect(Array.from(batch.quantiles!.subarray(0, 72))).toEqual(Array.from(batch.quantiles!.subarray(72)));
  });
});

describe('input shield: the threat score decides', () => {
  it('an Inf is corruption: graceful serves an honest fallback, strict throws TG_INPUT_BLOCKED (audited)', () => {
    const bad = prices.slice();
    bad[500] = Infinity;
    const g = guardian({ profile: 'staging' });
    const r = g.safeForecast({ context: bad, predictionLength: 16, userId: 'u' });
    expect(r.status).toBe('fallback');
    expect(r.reason).toContain('infinity');
    expect(r.fallback!.method).toBe('movingAverage');
    expect(r.threat.decision).toBe('block');
    expectServed(r);
    const strict = guardian({ profile: 'staging', fallbackStrategy: 'strict' });
    const e = thrown(() => strict.safeForecast({ context: bad, predictionLength: 16, userId: 'u' }));
    expect(e.code).toBe('TG_INPUT_BLOCKED');
    expect(e.auditId).toMatch(/^c\d{16}-/);
    strict.drainAudit();
    expect(strict.auditLog!.stats().appended).toBe(1);
  });

  it('the same NaN share passes at low, cautions at medium and blocks at high', () => {
    const x = prices.slice();
    for (let i = 0; i < x.length; i += 12) x[i] = NaN; // 8.3% NaN, isolated
    const low = guardian({ threatDetectionLevel: 'low', enableAuditLogging: false }).safeForecast({ context: x, predictionLength: 8, userId: 'u' });
    const med = guardian({ threatDetectionLevel: 'medium', enableAuditLogging: false }).safeForecast({ context: x, predictionLength: 8, userId: 'u' });
    const high = guardian({ threatDetectionLevel: 'high', enableAuditLogging: false, fallbackStrategy: 'graceful' }).safeForecast({ context: x, predictionLength: 8, userId: 'u' });
    expect(low.threat.score).toBeLessThan(med.threat.score + 1e-12);
    expect(low.status).toBe('ok');
    expect(med.threat.decision).not.toBe('pass');
    expect(high.status).toBe('fallback');
    expect(high.reason).toContain('finiteRatio');
  });

  it('an all-NaN context has nothing to forecast from: blocked, with a reason', () => {
    const g = guardian({ profile: 'staging' });
    const r = g.safeForecast({ context: new Float32Array(100).fill(NaN), predictionLength: 8, userId: 'u' });
    expect(r.status).toBe('blocked');
    expect(r.quantiles).toBeNull();
    expect(r.reason).toContain('no fallback');
  });

  it('requests the model cannot serve honestly are typed errors in every strategy', () => {
    const g = guardian({ profile: 'staging' });
    expect(thrown(() => g.safeForecast({ context: prices, predictionLength: 1000, userId: 'u' })).code).toBe('TG_HORIZON_TOO_LONG');
    expect(thrown(() => g.safeForecast({ context: new Float32Array(2), predictionLength: 8, userId: 'u' })).code).toBe('TG_CONTEXT_TOO_SHORT');
    expect(thrown(() => g.safeForecast({ context: prices, predictionLength: 8, userId: 'bad\u0000id' })).code).toBe('TG_INVALID_ARGUMENT');
    expect(thrown(() => g.safeForecast({ context: 'nope' as never, predictionLength: 8, userId: 'u' })).code).toBe('TG_INVALID_ARGUMENT');
    expect(thrown(() => g.safeForecast({ context: Float64Array.of(1, 2, 1e39, 3), predictionLength: 8, userId: 'u' })).code).toBe('TG_PRECISION_LOSS');
    expect(g.stats().errors).toMatchObject({ TG_HORIZON_TOO_LONG: 1, TG_CONTEXT_TOO_SHORT: 1, TG_INVALID_ARGUMENT: 2, TG_PRECISION_LOSS: 1 });
  });
});

describe('output shield with the broken fixture models', () => {
  it('crossing quantiles are sorted and the status says corrected', () => {
    const g = guardian({ profile: 'staging', model: fixture('crossing') });
    const r = g.safeForecast({ context: prices, predictionLength: 32, userId: 'u' });
    expect(r.status).toBe('corrected');
    expect(r.reason).toContain('sorted crossing quantiles');
    expectServed(r);
    expect(g.stats().corrections.sortedQuantileSteps).toBe(32);
  });

  it('huge values (1e30 bands): no clamp can repair them, a fallback replaces them at every level', () => {
    const med = guardian({ profile: 'staging', model: fixture('huge') }).safeForecast({ context: prices, predictionLength: 8, userId: 'u' });
    expect(med.status).toBe('fallback');
    expect(med.reason).toContain('band wider than');
    expectServed(med);
    const high = guardian({ threatDetectionLevel: 'high', fallbackStrategy: 'graceful', enableAuditLogging: false, model: fixture('huge') }).safeForecast({
      context: prices,
      predictionLength: 8,
      userId: 'u',
    });
    expect(high.status).toBe('fallback');
    expectServed(high);
  });
});

// Flag, clamp and fallback of a drifting median, per level: test/guardian-shields.test.ts.

describe('buffers the caller detaches', () => {
  it('a detached context is a typed, audited error', () => {
    const g = guardian({ profile: 'staging' });
    const x = prices.slice();
    structuredClone(x.buffer, { transfer: [x.buffer] });
    const e = thrown(() => g.safeForecast({ context: x, predictionLength: 8, userId: 'u' }));
    expect(e.code).toBe('TG_DETACHED_BUFFER');
    expect(e.auditId).toMatch(/^c\d{16}-/);
  });

  it('detaching during an async call cannot break the fallback (the guardian works on a copy)', async () => {
    const g = guardian({ profile: 'staging', model: fixture('slow') });
    const x = prices.slice();
    const p = g.safeForecastAsync({ context: x, predictionLength: 8, userId: 'u' }, { timeoutMs: 100 });
    structuredClone(x.buffer, { transfer: [x.buffer] });
    const r = await p;
    expect(r.status).toBe('fallback');
    expectServed(r);
  });

  it('an invalid timeout is the caller\'s error, not a model failure', async () => {
    const g = guardian({ profile: 'staging' });
    for (let i = 0; i < 4; i++) {
      await expect(g.safeForecastAsync({ context: prices, predictionLength: 8, userId: 'u' }, { timeoutMs: -1 })).rejects.toMatchObject({ code: 'TG_OUT_OF_RANGE' });
    }
    expect(g.breaker.state).toBe('closed');
  });

  it('a closed session gives an honest fallback, and the result matches the audit record', async () => {
    const g = guardian({ profile: 'staging' });
    g.session.close();
    const r = g.safeForecast({ context: prices, predictionLength: 8, userId: 'u' });
    expect(r.status).toBe('fallback');
    expect(r.reason).toContain('TG_SESSION_CLOSED');
    await g.flushAudit();
    const last = JSON.parse(g.auditLog!.memoryLines().filter((l) => l.includes('"type":"record"')).pop()!);
    expect(last.status).toBe('fallback');
    expect(last.inputStats.callId).toBe(r.auditId);
  });

  it('a null or missing userId is refused on the first call and after valid ones (typed, audited)', () => {
    const g = guardian({ profile: 'staging' });
    for (const userId of [null, undefined, 'desk-1', null]) {
      const call = () => g.safeForecast({ context: prices, predictionLength: 8, userId: userId as string });
      if (userId === 'desk-1') expect(call().status).toBe('ok');
      else expect(thrown(call).code).toBe('TG_INVALID_ARGUMENT');
    }
  });

  it('a caller changing its result (threat, arrays) cannot change the audit record', async () => {
    const g = guardian({ profile: 'staging' });
    const r = g.safeForecast({ context: prices, predictionLength: 8, userId: 'mutator' });
    const score = r.threat.score;
    r.threat.score = 0.999;
    r.shields.push({ shield: 'audit', action: 'forged' });
    await g.flushAudit();
    const rec = g.auditLog!.memoryLines().map((l) => JSON.parse(l)).find((e) => e.inputStats?.callId === r.auditId);
    expect(rec.inputStats.threat).toBe(Math.round(score * 1e4) / 1e4);
    expect(JSON.stringify(rec.decisions)).not.toContain('forged');
  });

  it('a record carries the wall time the call ended (derived from the monotonic clock at the hand-off)', async () => {
    const g = guardian({ profile: 'staging' });
    const before = Date.now();
    const r = g.safeForecast({ context: prices, predictionLength: 32, userId: 'clock' });
    const after = Date.now();
    await g.flushAudit();
    const rec = g.auditLog!.memoryLines().map((l) => JSON.parse(l)).find((e) => e.inputStats?.callId === r.auditId);
    const t = Date.parse(rec.time);
    expect(t).toBeGreaterThanOrEqual(before - 1);
    expect(t).toBeLessThanOrEqual(after + 1);
    expect(rec.latencyUs).toBeGreaterThan(0);
    expect(rec.latencyUs).toBeLessThanOrEqual(r.timings.totalUs);
  });
});

describe('circuit shield: breaker, fallbacks, emergency procedures', () => {
  it('non-finite outputs are failures: the breaker opens after 3, then the model is not called, half-open after the wait', () => {
    const clock = new ManualClock(0);
    const g = guardian({ profile: 'staging', model: fixture('emits-nan'), clock, suspendAfterCorruptOutputs: 100 });
    for (let i = 0; i < 3; i++) {
      const r = g.safeForecast({ context: prices, predictionLength: 8, userId: 'u' });
      expect(r.status).toBe('fallback');
      expect(r.reason).toContain('non-finite');
      expectServed(r);
    }
    expect(g.breaker.state).toBe('open');
    const rejected = g.safeForecast({ context: prices, predictionLength: 8, userId: 'u' });
    expect(rejected.status).toBe('fallback');
    expect(rejected.reason).toContain('circuit open');
    expect(rejected.timings.modelUs).toBe(0);
    clock.advance(60_000);
    expect(g.breaker.state).toBe('half-open');
    const trial = g.safeForecast({ context: prices, predictionLength: 8, userId: 'u' });
    expect(trial.reason).toContain('non-finite'); // the trial ran the model, and failed
    expect(g.breaker.state).toBe('open');
    expect(g.stats().breakerTransitions).toMatchObject({ 'closed->open': 1, 'open->half-open': 1, 'half-open->open': 1 });
  });

  it('repeated corrupt outputs suspend inference until a manual resume', () => {
    const g = guardian({ profile: 'staging', model: fixture('emits-inf'), suspendAfterCorruptOutputs: 2, breaker: { consecutiveFailures: 100 } });
    g.safeForecast({ context: prices, predictionLength: 8, userId: 'u' });
    const second = g.safeForecast({ context: prices, predictionLength: 8, userId: 'u' });
    expect(second.shields.some((s) => s.action === 'suspend')).toBe(true);
    expect(g.suspended).toContain('2 corrupt outputs');
    const third = g.safeForecast({ context: prices, predictionLength: 8, userId: 'u' });
    expect(third.reason).toContain('inference suspended');
    expect(third.timings.modelUs).toBe(0);
    g.resumeInference();
    expect(g.suspended).toBeNull();
    expect(g.breaker.state).toBe('half-open');
  });

  it('maintenance serves fallbacks or refuses; leaving it recovers through half-open trials', () => {
    const clock = new ManualClock(0);
    const g = guardian({ profile: 'staging', clock });
    g.enterMaintenance('model upgrade');
    const r = g.safeForecast({ context: prices, predictionLength: 8, userId: 'u' });
    expect(r.status).toBe('fallback');
    expect(r.reason).toContain('maintenance: model upgrade');
    g.enterMaintenance('incident', 'refuse');
    expect(thrown(() => g.safeForecast({ context: prices, predictionLength: 8, userId: 'u' })).code).toBe('TG_MAINTENANCE');
    g.exitMaintenance();
    for (let i = 0; i < 3; i++) expect(g.safeForecast({ context: prices, predictionLength: 8, userId: 'u' }).status).toBe('ok');
    expect(g.breaker.state).toBe('closed');
    g.resetBreaker();
    expect(g.breaker.state).toBe('closed');
  });

  it('a model that times out (async) is a failure with a fallback; strict throws TG_RUN_TIMEOUT', async () => {
    const g = guardian({ profile: 'staging', model: fixture('slow') });
    const r = await g.safeForecastAsync({ context: prices, predictionLength: 8, userId: 'u' }, { timeoutMs: 50 });
    expect(r.status).toBe('fallback');
    expect(r.reason).toBe('the model timed out');
    expectServed(r);
    const strict = guardian({ profile: 'staging', model: fixture('slow'), fallbackStrategy: 'strict' });
    await expect(strict.safeForecastAsync({ context: prices, predictionLength: 8, userId: 'u' }, { timeoutMs: 50 })).rejects.toMatchObject({
      code: 'TG_RUN_TIMEOUT',
    });
  });
});

describe('production gates fail closed', () => {
  it('lists every failing gate with its remedy', () => {
    const e = thrown(() => new TiRexGuardian({ profile: 'production', enableAuditLogging: false, audit: {} }));
    expect(e.code).toBe('TG_GATE_FAILED');
    for (const gate of ['audit', 'signing-key', 'audit-file', 'model-pin']) expect(e.message).toContain(`- ${gate}:`);
    expect(e.message).toContain('Remedy');
  });

  it('refuses a wrong pin and an unwritable audit directory; starts when everything is right', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-prod-'));
    const good = { profile: 'production' as const, evidenceDir: path.join(dir, 'evidence'), securityPreflight: { projectDir: cleanProject() }, audit: { signingKey: KEY, file: path.join(dir, 'audit.log') } };
    expect(thrown(() => new TiRexGuardian({ ...good, modelSha256: '0'.repeat(64) })).message).toContain('model-hash');
    expect(thrown(() => new TiRexGuardian({ ...good, modelSha256: '0'.repeat(64), audit: { signingKey: KEY, file: '/proc/nope/audit.log' } })).message).toContain('audit-dir');
    const sha = JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'tirex-guardian-default.json'), 'utf8')).sha256;
    const g = guardian({ ...good, modelSha256: sha });
    expect(g.config).toEqual({ level: 'high', pipeline: 'strict', strategy: 'graceful', audit: true });
    expect(g.safeForecast({ context: prices, predictionLength: 8, userId: 'u' }).auditId).not.toBeNull();
  });
});

describe('review findings', () => {
  it('a NaN tail longer than the recent window still anchors the output check', () => {
    const g = guardian({ threatDetectionLevel: 'low', dataPipelineProtection: 'permissive', fallbackStrategy: 'graceful', enableAuditLogging: false });
    const x = prices.slice(0, 800);
    x.fill(NaN, 500);
    const r = g.safeForecast({ context: x, predictionLength: 8, userId: 'u' });
    expectServed(r);
    const lastFinite = x[499]!;
    expect(Math.abs(r.quantiles![4]! - lastFinite)).toBeLessThan(50);
  });

  it('one huge value anywhere blocks at medium, and the fallback ignores it', () => {
    const g = guardian({ profile: 'staging' });
    const x = Float64Array.from(prices);
    x[100] = 1e30;
    const r = g.safeForecast({ context: x, predictionLength: 8, userId: 'u' });
    expect(r.status).toBe('fallback');
    expect(r.reason).toContain('outOfBoundsRatio');
    expectServed(r);
    expect(Math.abs(r.quantiles![4]! - x[x.length - 1]!)).toBeLessThan(20);
  });

  it('results cannot change the guardian: levels and model info are frozen', () => {
    const g = guardian({ profile: 'staging' });
    const r = g.safeForecast({ context: prices, predictionLength: 8, userId: 'u' });
    expect(Object.isFrozen(r.levels)).toBe(true);
    expect(Object.isFrozen(r.model)).toBe(true);
    expect(() => (r.levels as number[]).sort((a, b) => b - a)).toThrow(TypeError);
    expect(g.safeForecast({ context: prices, predictionLength: 8, userId: 'u' }).status).toBe('ok');
  });

  it('refuses bad market bounds and models it cannot scale, at construction', () => {
    expect(thrown(() => new TiRexGuardian({ enableAuditLogging: false, marketBounds: { BRENT: { lo: 10, hi: 1 } } })).code).toBe('TG_INVALID_BOUNDS');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-std-'));
    const m = JSON.parse(fs.readFileSync(fixture('quantile-ok'), 'utf8'));
    fs.copyFileSync(path.join(FIXTURES, 'quantile-ok.onnx'), path.join(dir, 'quantile-ok.onnx'));
    fs.writeFileSync(path.join(dir, 'm.json'), JSON.stringify({ ...m, scaling: 'standard' }));
    expect(thrown(() => new TiRexGuardian({ enableAuditLogging: false, model: path.join(dir, 'm.json') })).code).toBe('TG_MODEL_CONTRACT_MISMATCH');
  });

  it('a flat number[] with batch is split into rows; batch with an array of series is refused', () => {
    const g = guardian({ profile: 'staging' });
    const flat = [...Array.from(prices.subarray(0, 500)), ...Array.from(prices.subarray(500, 1000))];
    const r = g.safeForecast({ context: flat, batch: 2, predictionLength: 4, userId: 'u' });
    expect(r.batch).toBe(2);
    expectServed(r, 2);
    expect(thrown(() => g.safeForecast({ context: [prices, prices], batch: 3, predictionLength: 4, userId: 'u' })).code).toBe('TG_BATCH_INVALID');
  });
});

describe('result buffers', () => {
  it('pooled: results share slabs but never each other\'s bytes; later calls change no earlier result', () => {
    const g = guardian({ profile: 'staging' });
    const req = { context: prices, predictionLength: 32, userId: 'pool' };
    const first = g.safeForecast(req);
    const kept = { q: first.quantiles!.slice(), mean: first.mean!.slice() };
    const all = [first];
    for (let i = 0; i < 40; i++) all.push(g.safeForecast({ ...req, context: prices.subarray(i) }));
    // A fallback result too (it takes its buffers from the same slabs).
    const bad = prices.slice();
    bad[100] = Infinity;
    all.push(g.safeForecast({ ...req, context: bad }));
    expect(all.at(-1)!.status).toBe('fallback');
    expect(Array.from(first.quantiles!)).toEqual(Array.from(kept.q));
    expect(Array.from(first.mean!)).toEqual(Array.from(kept.mean));
    expect(first.quantiles!.buffer).toBe(all[1]!.quantiles!.buffer); // shared, as documented
    const spans = all.flatMap((r) => [r.quantiles!, r.mean!]).map((v) => [v.buffer, v.byteOffset, v.byteOffset + v.byteLength] as const);
    for (let i = 0; i < spans.length; i++) {
      for (let j = i + 1; j < spans.length; j++) {
        const [ba, a0, a1] = spans[i]!;
        const [bb, b0, b1] = spans[j]!;
        if (ba === bb) expect(a1 <= b0 || b1 <= a0, `views ${i} and ${j} overlap`).toBe(true);
      }
    }
    for (const r of all) expectServed(r);
  });

  it('pooled: a transfer of a result buffer never detaches other results (Node 20 copies, later Nodes throw)', () => {
    const g = guardian({ profile: 'staging' });
    const a = g.safeForecast({ context: prices, predictionLength: 32, userId: 'pool' });
    const b = g.safeForecast({ context: prices, predictionLength: 32, userId: 'pool' });
    const before = Array.from(b.quantiles!);
    const attempt = (fn: () => void): void => {
      try {
        fn();
      } catch (err) {
        expect((err as Error).name).toBe('DataCloneError');
      }
    };
    attempt(() => structuredClone(a.quantiles!.buffer, { transfer: [a.quantiles!.buffer] }));
    const { port1, port2 } = new MessageChannel();
    attempt(() => port1.postMessage(a.quantiles, [a.quantiles!.buffer]));
    port1.close();
    port2.close();
    expect(a.quantiles!.length).toBe(32 * 9);
    expect(b.quantiles!.buffer.byteLength).toBeGreaterThan(0);
    expect(Array.from(b.quantiles!)).toEqual(before);
    // The guardian goes on serving from its slabs.
    expectServed(g.safeForecast({ context: prices, predictionLength: 32, userId: 'pool' }));
    expect(Array.from(structuredClone(a.quantiles!))).toEqual(Array.from(a.quantiles!));
    const own = a.quantiles!.slice();
    const bytes = own.byteLength;
    expect(structuredClone(own.buffer, { transfer: [own.buffer] }).byteLength).toBe(bytes);
    expect(own.byteLength).toBe(0); // a copy of one's own transfers like any buffer
  });

  it("'own': every result array has a buffer of its own; a bad choice is a typed error", async () => {
    const g = guardian({ profile: 'staging', resultBuffers: 'own' });
    const r = g.safeForecast({ context: prices, predictionLength: 32, userId: 'own' });
    const ra = await g.safeForecastAsync({ context: prices, predictionLength: 32, userId: 'own' });
    for (const v of [r.quantiles!, r.mean!, ra.quantiles!, ra.mean!]) expect(v.buffer.byteLength).toBe(v.byteLength);
    expect(Array.from(ra.quantiles!)).toEqual(Array.from(r.quantiles!));
    expect(thrown(() => new TiRexGuardian({ resultBuffers: 'shared' as 'own' })).code).toBe('TG_INVALID_ARGUMENT');
  });
});

describe('protection statistics', () => {
  it('count statuses, signals, fallbacks and the six categories as calls happen', () => {
    const g = guardian({ profile: 'staging' });
    g.safeForecast({ context: prices, predictionLength: 8, userId: 'u' });
    const bad = prices.slice();
    bad[10] = -Infinity;
    g.safeForecast({ context: bad, predictionLength: 8, userId: 'u' });
    try {
      g.safeForecast({ context: prices, predictionLength: 999, userId: 'u' });
    } catch {
      // counted below
    }
    const s = g.stats();
    expect(s.calls).toBe(3);
    expect(s.byStatus).toEqual({ ok: 1, corrected: 0, fallback: 1, blocked: 1 });
    expect(s.blockRate).toBeCloseTo(1 / 3);
    expect(s.fallbackRate).toBeCloseTo(1 / 3);
    expect(s.threatsBySignal.infinity).toBe(1);
    expect(s.fallbacks.movingAverage).toBe(1);
    expect(s.errors.TG_HORIZON_TOO_LONG).toBe(1);
    expect(s.categories.nanHandling).toEqual({ checks: 2, actions: 1 });
    expect(s.categories.contextLength.actions).toBe(1);
    expect(Object.keys(s.categories)).toHaveLength(6);
  });
});
