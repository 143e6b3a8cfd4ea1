// Property: whatever series a caller sends (NaN runs, +-Inf, -0, subnormals, 1e308, flat runs,
// unaligned views, lengths 0 to 2053, float32 or float64), safeForecast never throws an untyped
// error, never returns non-finite or crossing quantiles, never calls a forecast `ok` when the
// input held an Inf, never changes the caller's data, and always leaves an audit record.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

import { TiRexGuardian, type ForecastResult } from '../lib/index';
import { anySeriesArb } from './arbitraries';

const graceful = new TiRexGuardian({ profile: 'staging', audit: { signingKey: 'p'.repeat(32), durability: 'memory' } });
const strict = new TiRexGuardian({ profile: 'staging', fallbackStrategy: 'strict', audit: { signingKey: 'p'.repeat(32), durability: 'memory' } });
afterAll(async () => {
  await graceful.close();
  await strict.close();
});

function checkServed(r: ForecastResult): void {
  if (r.status === 'blocked') {
    expect(r.quantiles).toBeNull();
    expect(r.reason).toBeTruthy();
    return;
  }
  const q = r.quantiles!;
  expect(q.length).toBe(r.batch * r.horizon * 9);
  for (let s = 0; s < r.batch * r.horizon; s++) {
    for (let k = 0; k < 9; k++) {
      expect(Number.isFinite(q[s * 9 + k]!)).toBe(true);
      if (k > 0) expect(q[s * 9 + k]!).toBeGreaterThanOrEqual(q[s * 9 + k - 1]!);
    }
  }
  if (r.status !== 'ok') expect(r.reason).toBeTruthy();
}

describe('safeForecast on arbitrary series', () => {
  const seen = { inf: 0, served: 0, errors: 0, fallback: 0 };
  afterAll(() => {
    console.log('guardian property coverage', JSON.stringify(seen));
    // The corpus must reach the interesting paths, or the property proves little.
    expect(seen.inf).toBeGreaterThan(20);
    expect(seen.served).toBeGreaterThan(20);
    expect(seen.errors).toBeGreaterThan(5);
  });
  it('typed errors or honest results, never corrupt output, never a silent Inf, data unchanged, always audited', () => {
    fc.assert(
      fc.property(anySeriesArb(), fc.integer({ min: 1, max: 64 }), fc.boolean(), (c, horizon, useStrict) => {
        const g = useStrict ? strict : graceful;
        const before = Array.from(c.data);
        const hadInf = before.some((v) => v === Infinity || v === -Infinity);
        if (hadInf) seen.inf++;
        let result: ForecastResult | null = null;
        try {
          result = g.safeForecast({ context: c.data, predictionLength: horizon, userId: 'prop' });
        } catch (e) {
          const err = e as { code?: unknown; auditId?: unknown };
          expect(typeof err.code === 'string' && err.code.startsWith('TG_'), `untyped error: ${String(e)}`).toBe(true);
          expect(typeof err.auditId === 'string' && err.auditId.length > 0).toBe(true);
          seen.errors++;
        }
        if (result) {
          seen.served++;
          if (result.status === 'fallback') seen.fallback++;
          checkServed(result);
          expect(result.auditId).toBeTruthy();
          if (hadInf) expect(result.status).not.toBe('ok');
          if (useStrict) expect(result.status).not.toBe('fallback');
        }
        const after = Array.from(c.data);
        expect(after.length).toBe(before.length);
        for (let i = 0; i < after.length; i++) expect(Object.is(after[i], before[i]) || (Number.isNaN(after[i]) && Number.isNaN(before[i]))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('clean prices with a few injected Inf or NaN: never ok with an Inf, always finite and ordered when served', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 16, max: 2100 }),
        fc.array(fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), v: fc.constantFrom(Infinity, -Infinity, NaN) }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        (n, injections, horizon, f64) => {
          const x = f64 ? new Float64Array(n) : new Float32Array(n);
          for (let i = 0; i < n; i++) x[i] = 100 + 5 * Math.sin(i / 9) + (i % 7) * 0.1;
          for (const { at, v } of injections) x[Math.min(n - 1, Math.floor(at * n))] = v;
          // Only the model's window (the last 2048 points) counts: older points are trimmed away.
          const hadInf = Array.from(x.subarray(Math.max(0, n - 2048))).some((v) => !Number.isFinite(v) && !Number.isNaN(v));
          const r = graceful.safeForecast({ context: x, predictionLength: horizon, userId: 'prop' });
          checkServed(r);
          expect(r.status).not.toBe('blocked');
          if (hadInf) expect(r.status).toBe('fallback');
        },
      ),
      { numRuns: 200 },
    );
  });
});

