// The guardian end to end, scenario by scenario (test/guardian-scenario-cases.ts): each call's
// whole observable effect (result or typed error, audit record, every statistic it changed)
// against the expected observation in test/fixtures/guardian-scenarios.json, written and checked
// by hand. A change to any status, reason, shield activation, decision, fallback, category count
// or breaker transition fails here, so the guardian's bookkeeping cannot drift unseen.
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ManualClock } from '../lib/breaker';
import { TiRexGuardian } from '../lib/index';
import { observe, type Observed } from './guardian-observe';
import { guardianFor, SCENARIOS } from './guardian-scenario-cases';
import { thrown, writeModelCopy } from './model-fixtures';

const EXPECTED = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'guardian-scenarios.json'), 'utf8')).scenarios as Record<string, Observed>;

describe('guardian scenarios: the whole observable effect of one call', () => {
  it('every scenario has an expected observation and every expectation a scenario', () => {
    expect(SCENARIOS.map((s) => s.name).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', async (_name, s) => {
    const clock = new ManualClock(0);
    const g = guardianFor(s, clock);
    try {
      await s.setup?.(g, clock);
      expect(await observe(g, s.call)).toEqual(EXPECTED[s.name]);
    } finally {
      await g.close();
    }
  });
});

describe('the guardian API around the calls', () => {
  const model = path.join(__dirname, 'fixtures', 'models', 'quantile-ok.json');
  const plain = { model, enableAuditLogging: false, threatDetectionLevel: 'medium' as const };

  it('names its breaker after the model and its hash; emergency procedures move it as documented', async () => {
    const g = new TiRexGuardian(plain);
    try {
      expect(g.breaker.name).toBe(`model:tg-fixture-quantile-ok@${g.session.sha256.slice(0, 12)}`);
      expect(g.maintenance).toBeNull();
      g.enterMaintenance('upgrade');
      expect(g.maintenance).toEqual({ reason: 'upgrade', mode: 'fallback' });
      expect(g.breaker.stats()).toMatchObject({ state: 'forced-open', reason: 'maintenance: upgrade' });
      g.exitMaintenance();
      expect(g.maintenance).toBeNull();
      expect(g.breaker.stats()).toMatchObject({ state: 'half-open', reason: 'maintenance over' });
      g.breaker.forceOpen('x');
      g.resumeInference();
      expect(g.suspended).toBeNull();
      expect(g.breaker.stats()).toMatchObject({ state: 'half-open', reason: 'inference resumed' });
      g.resetBreaker();
      expect(g.breaker.stats()).toMatchObject({ state: 'closed', reason: 'manual reset' });
      expect(g.closed).toBe(false);
      expect(g.drainAudit()).toBe(0);
    } finally {
      await g.close();
    }
    expect(g.closed).toBe(true);
    expect(thrown(() => g.safeForecast({ context: new Float32Array(64).fill(1), predictionLength: 8, userId: 'u' }))).toMatchObject({
      code: 'TG_GUARDIAN_CLOSED',
      message: 'the guardian is closed: no call is served after close()',
    });
    expect(g.stats().errors).toEqual({ TG_GUARDIAN_CLOSED: 1 });
    expect(g.stats().deadlines.lateModelResults).toBeNull();
  });

  it('a model whose sha256 is not the pinned one is refused, and its session closed', () => {
    const e = thrown(() => new TiRexGuardian({ ...plain, modelSha256: '0'.repeat(64) }));
    expect(e.code).toBe('TG_MODEL_HASH_MISMATCH');
    expect(e.message).toMatch(/^the model's sha256 [0-9a-f]{64} is not the pinned 0{64}$/);
  });

  it('a model that wants its input scaled outside the graph is refused', () => {
    const bytes = fs.readFileSync(path.join(__dirname, 'fixtures', 'models', 'quantile-ok.onnx'));
    const external = writeModelCopy(bytes, { sha: 'actual', overrides: { scaling: 'standard' } });
    const e = thrown(() => new TiRexGuardian({ ...plain, model: external }));
    expect(e.code).toBe('TG_MODEL_CONTRACT_MISMATCH');
    expect(e.message).toBe("tg-fixture-quantile-ok declares scaling 'standard'; the guardian serves models that scale inside the graph ('internal') only");
  });

  it('a live guardian counts the late model outcomes of its own session only', async () => {
    const g = new TiRexGuardian(plain);
    try {
      expect(g.stats().deadlines).toEqual({ expired: 0, lateDiscarded: 0, lateModelResults: 0 });
    } finally {
      await g.close();
    }
  });
});
