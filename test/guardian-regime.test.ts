// The guardian with a market regime engine (opt-in): a request's instrument gets its regime, the
// output shield's bound follows its volatility class (x1.5 high, x0.75 low), a fallback without a
// reliable volatility of its own draws its bands from the regime's ATR, and the result and the
// audit record carry the regime used. Real sessions (the `drifting` fixture runs away from the
// context, so the bound it crossed is in the correction), a real engine fed real bars.
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { fallbackChain, readCsvColumn, TiRexGuardian, type GuardianConfig } from '../lib/index';
import { RegimeEngine, type RegimeSnapshot } from '../lib/regime';
import { REGIME_BOUND_FACTORS } from '../lib/guardian/regime-use';
import { thrown } from './model-fixtures';

const ROOT = path.resolve(__dirname, '..');
const DRIFTING = path.join(ROOT, 'test', 'fixtures', 'models', 'drifting.json');
const brent = readCsvColumn(path.join(ROOT, 'data', 'brent-daily.csv'), 'Price').values;
const prices = Float32Array.from(brent.subarray(brent.length - 512));
const KEY = 'k'.repeat(32);

/** Bars around 80, segment by segment: `n` bars whose high-low range is `range` of the price
 * (each a little different: a symbol's own distribution is not a constant). */
function feed(engine: RegimeEngine, symbol: string, segments: [n: number, range: number][]): void {
  let t = 0;
  let i = 0;
  for (const [n, range] of segments) {
    for (let j = 0; j < n; j++, i++) {
      const r = range * (1 + 0.2 * Math.sin(i * 1.7));
      const close = 80 * (1 + 0.001 * Math.sin(i / 3));
      expect(engine.onBar(symbol, { open: close, high: close * (1 + r), low: close * (1 - r), close, timestampMs: (t += 1000) })).toBe(true);
    }
  }
}

const engine = new RegimeEngine({ barPeriodMs: 1000, ttlMs: 0 });
feed(engine, 'HI', [[80, 0.001], [20, 0.03]]); // the last bars far wilder than the symbol's own history
feed(engine, 'LO', [[80, 0.03], [20, 0.001]]); // the last bars far calmer
feed(engine, 'MID', [[40, 0.004], [40, 0.03], [20, 0.01]]); // between the calm and the wild it has seen

const open: TiRexGuardian[] = [];
function guardian(config: GuardianConfig): TiRexGuardian {
  const g = new TiRexGuardian({
    fallbackStrategy: 'graceful',
    threatDetectionLevel: 'medium',
    enableAuditLogging: true,
    audit: { signingKey: KEY, durability: 'memory' },
    marketBounds: { HI: { lo: 1, hi: 1e4 }, LO: { lo: 1, hi: 1e4 }, MID: { lo: 1, hi: 1e4 }, NEW: { lo: 1, hi: 1e4 } },
    ...config,
  });
  open.push(g);
  return g;
}
afterAll(async () => {
  for (const g of open) await g.close();
});

async function regimeDecision(g: TiRexGuardian, auditId: string | null): Promise<Record<string, unknown> | undefined> {
  await g.flushAudit();
  const rec = g.auditLog!.memoryLines().map((l) => JSON.parse(l)).find((e) => e.type === 'record' && e.inputStats?.callId === auditId);
  return rec.decisions.find((d: { shield: string }) => d.shield === 'regime');
}

describe('the guardian with a regime engine', () => {
  it('the engine classes the three symbols as fed (the premise of the rest)', () => {
    expect([engine.snapshot('HI').volatility, engine.snapshot('LO').volatility, engine.snapshot('MID').volatility]).toEqual(['high', 'low', 'normal']);
    expect(REGIME_BOUND_FACTORS).toEqual({ low: 0.75, normal: 1, high: 1.5 });
  });

  it('widens the output bound in a high-volatility regime, tightens it in a low one, leaves it otherwise', async () => {
    const g = guardian({ model: DRIFTING, regime: engine });
    const bound = (instrument: string) => {
      const r = g.safeForecast({ context: prices, predictionLength: 16, userId: 'u', instrument });
      const detail = r.shields.find((s) => s.shield === 'output')?.detail ?? '';
      return { r, k: /by more than ([0-9.]+) sigma/.exec(detail)?.[1] };
    };
    const hi = bound('HI');
    const lo = bound('LO');
    const mid = bound('MID');
    const none = bound('NEW'); // bounds but no bars: a neutral regime
    expect([hi.k, lo.k, mid.k, none.k]).toEqual(['18.0', '9.0', '12.0', '12.0']);
    expect(hi.r.regime!.volatility).toBe('high');
    expect(none.r.regime!.neutral).toBe(true);
    expect(none.r.regime!.reason).toBe('no bars for this symbol');
    expect(await regimeDecision(g, hi.r.auditId)).toMatchObject({ shield: 'regime', action: 'applied', volatility: 'high', boundFactor: 1.5, trend: hi.r.regime!.trend, structure: hi.r.regime!.structure });
    expect(await regimeDecision(g, lo.r.auditId)).toMatchObject({ action: 'applied', volatility: 'low', boundFactor: 0.75 });
    expect(await regimeDecision(g, none.r.auditId)).toMatchObject({ action: 'neutral', boundFactor: 1, reason: 'no bars for this symbol' });
  });

  it('without an engine, or without an instrument, no regime is used or recorded', async () => {
    const plain = guardian({ model: DRIFTING });
    const r = plain.safeForecast({ context: prices, predictionLength: 16, userId: 'u', instrument: 'HI' });
    expect(r.regime).toBeNull();
    expect(await regimeDecision(plain, r.auditId)).toBeUndefined();
    const withEngine = guardian({ model: DRIFTING, regime: engine });
    const noInstrument = withEngine.safeForecast({ context: prices, predictionLength: 16, userId: 'u' });
    expect(noInstrument.regime).toBeNull();
  });

  it('a fallback whose context has no reliable volatility takes its bands from the regime ATR', () => {
    // A flat context: its realized volatility is 0, under the floor.
    const flat = new Float32Array(256).fill(80);
    const levels = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
    const floor = fallbackChain(flat, 4, { levels });
    const hinted = fallbackChain(flat, 4, { levels, sigmaRelative: 0.02 });
    expect(floor.ok && hinted.ok).toBe(true);
    if (!floor.ok || !hinted.ok) return;
    expect(floor.info.sigmaSource).toBe('floor');
    expect(hinted.info.sigmaSource).toBe('relative');
    expect(hinted.info.sigma).toBeCloseTo(0.02 * 80, 12);
    // The 10-90% band of step 1: 2 z(0.9) sigma.
    expect(hinted.quantiles[8]! - hinted.quantiles[0]!).toBeCloseTo(2 * 1.2815515655446004 * 1.6, 4);
    // A reliable realized volatility is kept whatever the hint says.
    const noisy = Float32Array.from(prices);
    const real = fallbackChain(noisy, 4, { levels, sigmaRelative: 0.5 });
    expect(real.ok && real.info.sigmaSource).toBe('realized');
    expect(thrown(() => fallbackChain(flat, 4, { sigmaRelative: -1 })).code).toBe('TG_OUT_OF_RANGE');
    expect(thrown(() => fallbackChain(flat, 4, { sigmaRelative: NaN })).code).toBe('TG_OUT_OF_RANGE');
  });

  it('in the guardian: a blocked flat series falls back with the regime ATR as its sigma', () => {
    const g = guardian({ regime: engine });
    const atrPct = engine.snapshot('HI').atrPct;
    // Flat, with one value far out of the market bounds long before its tail: the input shield
    // blocks it, the fallback leaves the out-of-bounds value out and sees no volatility at all.
    const flat = new Float32Array(256).fill(80);
    flat[50] = 8e4;
    const withRegime = g.safeForecast({ context: flat, predictionLength: 4, userId: 'u', instrument: 'HI' });
    const without = g.safeForecast({ context: flat, predictionLength: 4, userId: 'u', instrument: 'NEW' });
    expect(withRegime.status).toBe('fallback');
    expect(without.status).toBe('fallback');
    const width = (r: typeof withRegime) => r.quantiles![8]! - r.quantiles![0]!;
    expect(width(withRegime)).toBeCloseTo(2 * 1.2815515655446004 * (atrPct / 100) * 80, 3);
    expect(width(without)).toBeLessThan(width(withRegime) / 10);
  });

  it('a regime source that throws is a warning, never the call\'s failure; a bad one is refused at construction', () => {
    const broken = { snapshot: (): RegimeSnapshot => { throw new Error('feed down'); } };
    const g = guardian({ regime: broken });
    const r = g.safeForecast({ context: prices, predictionLength: 8, userId: 'u', instrument: 'MID' });
    expect(r.status).toBe('ok');
    expect(r.regime).toBeNull();
    expect(r.warnings).toContain('regime: the engine failed (feed down); no regime applied');
    const e = thrown(() => new TiRexGuardian({ regime: {} as never, enableAuditLogging: false }));
    expect([e.code, (e as { option?: string }).option]).toEqual(['TG_INVALID_ARGUMENT', 'regime']);
  });
});
