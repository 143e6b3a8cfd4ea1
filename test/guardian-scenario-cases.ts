/**
 * The guardian scenarios (guardian-scenarios.test.ts): a guardian configuration and one call
 * each, on the fixture models of training/make_fixtures.py, whose outputs are simple enough to
 * reason about (quantile-ok: the mean of the last 64 points with Gaussian bands).
 */
import fs from 'node:fs';
import path from 'node:path';

import { ManualClock } from '../lib/breaker';
import { TiRexGuardian, type ForecastRequest, type ForecastResult, type GuardianConfig } from '../lib/index';
import { modelPath, rng, writeModelCopy, type FixtureKind } from './model-fixtures';

const FIXTURES = path.join(__dirname, 'fixtures', 'models');
const KEY = 's'.repeat(32);

export function fixture(kind: FixtureKind): string {
  return path.join(FIXTURES, `${kind}.json`);
}

/** A random walk around `level` with steps in [-step/2, step/2), deterministic, in float32 or float64. */
export function walk(n: number, seed = 11, level = 100, step = 1): Float32Array {
  return walkInto(new Float32Array(n), seed, level, step);
}

function walkInto<T extends Float32Array | Float64Array>(out: T, seed: number, level: number, step: number): T {
  const r = rng(seed);
  let x = level;
  for (let i = 0; i < out.length; i++) {
    x += (r() - 0.5) * step;
    out[i] = x;
  }
  return out;
}

const f64walk = (n: number, level: number, step: number): Float64Array => walkInto(new Float64Array(n), 5, level, step);

function edited<T extends Float32Array | Float64Array>(a: T, edit: (x: T) => void): T {
  const c = a.slice() as T;
  edit(c);
  return c;
}

export interface Scenario {
  name: string;
  config: GuardianConfig;
  /** Prepares the guardian before the observed call (a breaker opened, maintenance, ...). */
  setup?: (g: TiRexGuardian, clock: ManualClock) => void | Promise<void>;
  call: (g: TiRexGuardian) => ForecastResult | Promise<ForecastResult>;
}

const W = walk(512);
const u = (context: ForecastRequest['context'], extra: Partial<ForecastRequest> = {}): ForecastRequest => ({ context, predictionLength: 8, userId: 'desk-1', ...extra });
const sync = (req: ForecastRequest) => (g: TiRexGuardian) => g.safeForecast(req);

/** Staging (medium threats, strict pipeline, graceful, audit in memory) on quantile-ok. */
function staging(over: Partial<GuardianConfig> = {}, model: FixtureKind = 'quantile-ok'): GuardianConfig {
  return { profile: 'staging', model: fixture(model), audit: { signingKey: KEY, durability: 'memory' }, ...over };
}
const strict = (model: FixtureKind = 'quantile-ok', over: Partial<GuardianConfig> = {}) => staging({ fallbackStrategy: 'strict', ...over }, model);

/** quantile-ok with a manifest that asks the guardian to impute NaN (the graph masks them anyway). */
const IMPUTING = writeModelCopy(fs.readFileSync(modelPath('quantile-ok')), { sha: 'actual', overrides: { nanHandling: 'impute' } });

function detached(): Float32Array {
  const a = walk(64);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  return a;
}

/** A context whose last point jumps: a spike that cautions at medium. */
const SPIKED = edited(W, (x) => (x[509]! += 40));

async function failTimes(g: TiRexGuardian, n: number): Promise<void> {
  for (let i = 0; i < n; i++) g.safeForecast(u(W));
}

export const SCENARIOS: Scenario[] = [
  { name: 'clean', config: staging(), call: sync(u(W)) },
  { name: 'longer than the model window: trimmed', config: staging(), call: sync(u(walk(2100))) },
  { name: 'a few NaN: passed on (the model masks them)', config: staging(), call: sync(u(edited(W, (x) => ((x[100] = NaN), (x[300] = NaN))))) },
  { name: 'float64 prices: converted', config: staging(), call: sync(u(f64walk(512, 100, 1))) },
  { name: 'float64 near 5e5 with moves of 1: converted with a precision warning', config: staging(), call: sync(u(f64walk(512, 5e5, 2))) },
  { name: 'float64 near 1e6 with moves of 0.1: float32 loses too much', config: staging(), call: sync(u(f64walk(512, 1e6, 0.2))) },
  { name: 'ragged batch', config: staging(), call: sync(u([W, walk(300, 3)])) },
  { name: 'a batch with one corrupt row: that row falls back', config: staging(), call: sync(u([W, edited(W, (x) => (x[5] = Infinity))])) },
  { name: 'strict: a batch with one corrupt row throws for that row', config: strict(), call: sync(u([W, edited(W, (x) => (x[5] = Infinity))])) },
  { name: 'a spike: caution', config: staging(), call: sync(u(edited(W, (x) => (x[509]! += 40)))) },
  { name: 'pipeline floor on finite values (strict pipeline 0.95) blocks what the input shield passes', config: staging(), call: sync(u(edited(W, (x) => { for (let i = 0; i < 512; i += 12) x[i] = NaN; }))) },
  { name: 'a batch whose rows are all NaN: nothing to serve', config: staging(), call: sync(u([new Float32Array(64).fill(NaN), new Float32Array(64).fill(NaN)])) },
  { name: 'too short', config: staging(), call: sync(u(new Float32Array([1, 2]))) },
  { name: 'a batch with one row too short: that row is refused', config: staging(), call: sync(u([W, new Float32Array([1, 2])])) },
  { name: 'strict: a batch with one row too short throws', config: strict(), call: sync(u([W, new Float32Array([1, 2])])) },
  { name: 'horizon beyond the manifest', config: staging(), call: sync(u(W, { predictionLength: 300 })) },
  { name: 'an invalid userId', config: staging(), call: sync(u(W, { userId: '' })) },
  { name: 'an unknown instrument', config: staging(), call: sync(u(W, { instrument: 'WTI' })) },
  { name: 'market bounds: a value outside blocks', config: staging({ marketBounds: { BRENT: { lo: 95, hi: 200 } } }), call: sync(u(edited(W, (x) => (x[7] = 90)), { instrument: 'BRENT' })) },
  { name: 'crossing output: sorted', config: staging({}, 'crossing'), call: sync(u(W)) },
  { name: 'non-finite output: fallback, a breaker failure', config: staging({}, 'emits-inf'), call: sync(u(W)) },
  { name: 'strict: non-finite output throws', config: strict('emits-inf'), call: sync(u(W)) },
  { name: 'a batch with non-finite output: every row falls back', config: staging({}, 'emits-inf'), call: sync(u([W, walk(512, 4)])) },
  { name: 'drifting output at high: replaced', config: staging({ threatDetectionLevel: 'high' }, 'drifting'), call: sync(u(W)) },
  { name: 'strict: drifting output at high throws', config: strict('drifting', { threatDetectionLevel: 'high' }), call: sync(u(W)) },
  { name: 'a closed session: a model failure', config: staging(), setup: (g) => g.session.close(), call: sync(u(W)) },
  { name: 'strict: a model failure throws', config: strict(), setup: (g) => g.session.close(), call: sync(u(W)) },
  {
    name: 'circuit open after three failures',
    config: staging({ breaker: { consecutiveFailures: 3, openMs: 30_000 } }, 'emits-inf'),
    setup: (g) => failTimes(g, 3),
    call: sync(u(W)),
  },
  {
    name: 'strict: circuit open throws',
    config: strict('emits-inf', { breaker: { consecutiveFailures: 3, openMs: 30_000 } }),
    setup: async (g) => {
      for (let i = 0; i < 3; i++) {
        try {
          g.safeForecast(u(W));
        } catch {
          /* TG_OUTPUT_CORRUPT: the failures that open it */
        }
      }
    },
    call: sync(u(W)),
  },
  { name: 'maintenance: fallback', config: staging(), setup: (g) => g.enterMaintenance('upgrade'), call: sync(u(W)) },
  { name: 'maintenance: refuse', config: staging(), setup: (g) => g.enterMaintenance('incident', 'refuse'), call: sync(u(W)) },
  { name: 'strict: maintenance throws', config: strict(), setup: (g) => g.enterMaintenance('upgrade'), call: sync(u(W)) },
  {
    name: 'suspended after two corrupt outputs',
    config: staging({ suspendAfterCorruptOutputs: 2, breaker: { consecutiveFailures: 100 } }, 'emits-inf'),
    setup: (g) => failTimes(g, 2),
    call: sync(u(W)),
  },
  {
    name: 'the second corrupt output suspends',
    config: staging({ suspendAfterCorruptOutputs: 2, breaker: { consecutiveFailures: 100 } }, 'emits-inf'),
    setup: (g) => failTimes(g, 1),
    call: sync(u(W)),
  },
  { name: 'a flat context with batch 3 that does not divide it', config: staging(), call: sync(u(walk(100), { batch: 3 })) },
  { name: 'a flat context with batch 2: two rows', config: staging(), call: sync(u(walk(200), { batch: 2 })) },
  { name: 'not a request', config: staging(), call: (g) => g.safeForecast(null as unknown as ForecastRequest) },
  { name: 'a detached context', config: staging(), call: sync(u(detached())) },
  { name: 'finite share exactly at the pipeline floor (19 of 20): served', config: staging(), call: sync(u(edited(walk(20), (x) => (x[10] = NaN)))) },
  { name: 'finite share under the pipeline floor (18 of 20): blocked', config: staging(), call: sync(u(edited(walk(20), (x) => ((x[10] = NaN), (x[12] = NaN))))) },
  { name: 'a model that wants NaN imputed', config: { ...staging(), model: IMPUTING }, call: sync(u(edited(W, (x) => ((x[100] = NaN), (x[300] = NaN))))) },
  { name: 'caution tightens the bound (drifting model, medium)', config: staging({}, 'drifting'), call: sync(u(SPIKED)) },
  { name: 'the same drifting forecast without caution', config: staging({}, 'drifting'), call: sync(u(W)) },
  { name: 'a batch on the crossing model', config: staging({}, 'crossing'), call: sync(u([W, walk(512, 4)])) },
  { name: 'a batch on the drifting model at high: every row replaced', config: staging({ threatDetectionLevel: 'high' }, 'drifting'), call: sync(u([W, walk(512, 4)])) },
  {
    name: 'the third implausible output opens the circuit',
    config: staging({ threatDetectionLevel: 'high', breaker: { consecutiveFailures: 3, openMs: 30_000 } }, 'drifting'),
    setup: (g) => failTimes(g, 2),
    call: sync(u(W)),
  },
  { name: 'a circuit forced open: no trial until released', config: staging(), setup: (g) => g.breaker.forceOpen('operator'), call: sync(u(W)) },
  { name: 'maintenance with every series blocked: the input decision stands', config: staging(), setup: (g) => g.enterMaintenance('upgrade'), call: sync(u(edited(W, (x) => (x[3] = Infinity)))) },
  {
    name: 'a batch with one blocked row and one served: the model sees only the served row',
    config: staging(),
    call: sync(u([edited(W, (x) => (x[3] = Infinity)), walk(512, 4)])),
  },
  { name: 'async: clean', config: staging(), call: (g) => g.safeForecastAsync(u(W), { timeoutMs: 5000 }) },
  { name: 'async: the model times out', config: staging({}, 'slow'), call: (g) => g.safeForecastAsync(u(W), { timeoutMs: 50 }) },
  { name: 'async: a deadline too short for the shields', config: staging(), call: (g) => g.safeForecastAsync(u(walk(2048)), { timeoutMs: 0.001 }) },
  {
    name: 'async: circuit open',
    config: staging({ breaker: { consecutiveFailures: 3, openMs: 30_000 } }, 'emits-inf'),
    setup: (g) => failTimes(g, 3),
    call: (g) => g.safeForecastAsync(u(W), { timeoutMs: 5000 }),
  },
  { name: 'async: an invalid timeout', config: staging(), call: (g) => g.safeForecastAsync(u(W), { timeoutMs: -1 }) },
  { name: 'strict async: the model times out', config: strict('slow'), call: (g) => g.safeForecastAsync(u(W), { timeoutMs: 50 }) },
];

export function guardianFor(s: Scenario, clock: ManualClock): TiRexGuardian {
  return new TiRexGuardian({ clock, ...s.config });
}
