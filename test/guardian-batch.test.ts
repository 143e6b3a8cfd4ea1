// Batches through the guardian (issue 12): one native pass per shield for the whole batch must
// judge every series exactly as a call of its own would, whatever the batch's shape (one flat
// Float32Array, an array of rows, ragged rows, float64), sync or async; and the async path's
// speculation (the model queued before the input shield decides) must leave no trace in what is
// served, counted or recorded. Real sessions on the shipped model and on real prices.
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { readCsvColumn, TiRexGuardian, type ForecastResult, type GuardianConfig } from '../lib/index';

const ROOT = path.resolve(__dirname, '..');
const KEY = 'k'.repeat(32);
const T = 512;
const H = 32;
const Q = 9;

const sources = [readCsvColumn(path.join(ROOT, 'data', 'brent-daily.csv'), 'Price').values];
for (let c = 0; c < 3; c++) sources.push(readCsvColumn(path.join(ROOT, 'data', 'fx-daily-8.csv'), c, { header: false }).values);
/** Real series: windows of Brent and three exchange rates. */
function realRow(b: number, length = T): Float32Array {
  const src = sources[b % sources.length]!;
  const end = src.length - 50 * Math.floor(b / sources.length);
  return Float32Array.from(src.subarray(end - length, end));
}

/** Six real series, then the hostile ones the input shield must catch, each in its own row. */
function rows(): Float32Array[] {
  const out = [0, 1, 2, 3, 4, 5].map((b) => realRow(b));
  const inf = realRow(6);
  inf[100] = Infinity; // corruption: blocked
  const empty = new Float32Array(T).fill(NaN); // nothing to forecast from: blocked, no fallback
  const spike = realRow(7);
  spike[T - 3] = spike[T - 4]! * 40; // a recent spike: caution
  return [...out.slice(0, 2), inf, ...out.slice(2, 4), empty, spike, ...out.slice(4)];
}

const open: TiRexGuardian[] = [];
function guardian(config: GuardianConfig = {}): TiRexGuardian {
  const g = new TiRexGuardian({ profile: 'staging', audit: { signingKey: KEY, durability: 'memory' }, ...config });
  open.push(g);
  return g;
}
afterAll(async () => {
  for (const g of open) await g.close();
});

/** What a result says about series b, and its numbers. */
function seriesView(r: ForecastResult, b: number) {
  const s = r.series[b]!;
  return { status: s.status, reason: s.reason, fallback: s.fallback, threat: s.threat, quantiles: r.quantiles ? Array.from(r.quantiles.subarray(b * H * Q, (b + 1) * H * Q)) : null };
}

/** Equal up to float32 rounding of the model's batched arithmetic (NaN equals NaN). */
function expectClose(got: number[] | null, want: number[] | null, ctx: string): void {
  if (got === null || want === null) return expect(got, ctx).toEqual(want);
  expect(got.length, ctx).toBe(want.length);
  for (let i = 0; i < got.length; i++) {
    const a = got[i]!;
    const b = want[i]!;
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    if (Math.abs(a - b) > 1e-4 * Math.max(1, Math.abs(b))) expect.fail(`${ctx}: value ${i} is ${a}, alone ${b}`);
  }
}

describe('a batch judges every series as a call of its own would', () => {
  const g = guardian();
  const input = rows();
  const alone = input.map((row) => g.safeForecast({ context: row, predictionLength: H, userId: 'b' }));
  const expectedStatuses = ['ok', 'ok', 'fallback', 'ok', 'ok', 'blocked', 'ok', 'ok', 'ok'];

  it('the hostile rows get exactly the verdicts the single calls give (and those are the intended ones)', () => {
    expect(alone.map((r) => r.status)).toEqual(expectedStatuses);
    expect(alone[2]!.threat.signals).toContain('infinity');
    // The spike: caution, so its forecast is judged against a tighter bound (and passes it).
    expect(alone[6]!.threat).toMatchObject({ decision: 'caution', signals: ['spike'] });
  });

  const flat = new Float32Array(input.length * T);
  input.forEach((r, b) => flat.set(r, b * T));
  const shapes: [string, () => ForecastResult | Promise<ForecastResult>][] = [
    ['flat, sync', () => g.safeForecast({ context: flat, batch: input.length, predictionLength: H, userId: 'b' })],
    ['rows, sync', () => g.safeForecast({ context: input, predictionLength: H, userId: 'b' })],
    ['float64 rows, sync', () => g.safeForecast({ context: input.map((r) => Float64Array.from(r)), predictionLength: H, userId: 'b' })],
    ['flat, async', () => g.safeForecastAsync({ context: flat, batch: input.length, predictionLength: H, userId: 'b' })],
    ['rows, async', () => g.safeForecastAsync({ context: input, predictionLength: H, userId: 'b' })],
    ['float64 flat, async', () => g.safeForecastAsync({ context: Float64Array.from(flat), batch: input.length, predictionLength: H, userId: 'b' })],
  ];
  it.each(shapes)('%s', async (name, call) => {
    const r = await call();
    expect(r.batch).toBe(input.length);
    expect(r.series.map((s) => s.status)).toEqual(expectedStatuses);
    expect(r.status).toBe('blocked');
    for (let b = 0; b < input.length; b++) {
      const got = seriesView(r, b);
      const want = { ...seriesView(alone[b]!, 0), threat: alone[b]!.threat };
      const ctx = `${name}, series ${b}`;
      // A batch names the series in its reasons; a blocked series' rows are NaN (alone: no forecast).
      expect({ ...got, reason: got.reason === null ? null : got.reason.replace(` for series ${b}`, ''), quantiles: null }, ctx).toEqual({ ...want, quantiles: null });
      if (got.status === 'blocked') expect(got.quantiles!.every(Number.isNaN), ctx).toBe(true);
      else expectClose(got.quantiles, want.quantiles, ctx);
    }
  });

  it('ragged rows: each series judged on its own points (not the padding), like alone', async () => {
    const ragged = input.map((r, b) => r.subarray((b % 3) * 64));
    const singles = ragged.map((row) => g.safeForecast({ context: row, predictionLength: H, userId: 'b' }));
    for (const r of [g.safeForecast({ context: ragged, predictionLength: H, userId: 'b' }), await g.safeForecastAsync({ context: ragged, predictionLength: H, userId: 'b' })]) {
      expect(r.series.map((s) => s.status)).toEqual(singles.map((s) => s.status));
      r.series.forEach((s, b) => expect(s.threat, `series ${b}`).toEqual(singles[b]!.threat));
    }
  });
});

describe('async speculation leaves no trace', () => {
  const clean = [0, 1, 2, 3].map((b) => realRow(b));
  const withBlocked = [...clean];
  withBlocked[2] = realRow(2).map((v, i) => (i === 7 ? Infinity : v));

  it('every series passes: one model run, counted once; the same forecast as the sync call', async () => {
    const g = guardian();
    const a = await g.safeForecastAsync({ context: clean, predictionLength: H, userId: 's' });
    expect(g.breaker.stats()).toMatchObject({ calls: 1, successes: 1, failures: 0 });
    const s = g.safeForecast({ context: clean, predictionLength: H, userId: 's' });
    expect(a.series.map((x) => x.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(Array.from(a.quantiles!)).toEqual(Array.from(s.quantiles!));
    expect(a.timings.modelUs).toBeGreaterThan(0);
  });

  it('a blocked series: the speculative run is discarded unseen, the model runs once more on the others, counted once', async () => {
    const g = guardian();
    const a = await g.safeForecastAsync({ context: withBlocked, predictionLength: H, userId: 's' });
    expect(g.breaker.stats()).toMatchObject({ calls: 1, successes: 1, failures: 0 });
    const s = g.safeForecast({ context: withBlocked, predictionLength: H, userId: 's' });
    expect(a.series.map((x) => x.status)).toEqual(['ok', 'ok', 'fallback', 'ok']);
    expect(a.series.map((x) => x.status)).toEqual(s.series.map((x) => x.status));
    // The served forecasts come from the same run as without speculation: the same bytes.
    expect(Array.from(a.quantiles!)).toEqual(Array.from(s.quantiles!));
    expect(a.shields.filter((x) => x.shield === 'circuit' && x.action !== 'fallback')).toEqual([]);
  });

  it('the only series blocked: the model is never counted and modelUs is 0', async () => {
    const g = guardian();
    const r = await g.safeForecastAsync({ context: withBlocked[2]!, predictionLength: H, userId: 's' });
    expect(r.status).toBe('fallback');
    expect(r.timings.modelUs).toBe(0);
    expect(g.breaker.stats()).toMatchObject({ calls: 0, successes: 0, failures: 0 });
  });

  it('strict: a blocked series throws TG_INPUT_BLOCKED and the discarded run counts nothing', async () => {
    const g = guardian({ fallbackStrategy: 'strict' });
    await expect(g.safeForecastAsync({ context: withBlocked, predictionLength: H, userId: 's' })).rejects.toMatchObject({ code: 'TG_INPUT_BLOCKED' });
    expect(g.breaker.stats()).toMatchObject({ calls: 0 });
    // The next call is served normally.
    const r = await g.safeForecastAsync({ context: clean, predictionLength: H, userId: 's' });
    expect(r.status).toBe('ok');
    expect(g.breaker.stats()).toMatchObject({ calls: 1, successes: 1 });
  });

  it('a half-open breaker: no speculation, one trial spent per call, closed after its successes', async () => {
    const g = guardian({ breaker: { halfOpenMaxCalls: 1, halfOpenSuccesses: 2 } });
    g.breaker.forceOpen('test');
    g.breaker.release('test', 'half-open');
    const first = await g.safeForecastAsync({ context: withBlocked, predictionLength: H, userId: 's' });
    expect(first.series.map((x) => x.status)).toEqual(['ok', 'ok', 'fallback', 'ok']);
    expect(g.breaker.state).toBe('half-open');
    expect(g.breaker.stats()).toMatchObject({ successes: 1, halfOpenInFlight: 0 });
    await g.safeForecastAsync({ context: clean, predictionLength: H, userId: 's' });
    expect(g.breaker.state).toBe('closed');
  });

  it('pooled tensors are reused only once their run has ended: many concurrent calls give the sync bytes', async () => {
    const g = guardian();
    const want = g.safeForecast({ context: clean, predictionLength: H, userId: 's' });
    const wantBlocked = g.safeForecast({ context: withBlocked, predictionLength: H, userId: 's' });
    for (let round = 0; round < 3; round++) {
      const calls = [];
      for (let i = 0; i < 8; i++) {
        calls.push(g.safeForecastAsync({ context: i % 2 ? withBlocked : clean, predictionLength: H, userId: 's' }));
      }
      const results = await Promise.all(calls);
      results.forEach((r, i) => expect(Array.from(r.quantiles!), `round ${round} call ${i}`).toEqual(Array.from((i % 2 ? wantBlocked : want).quantiles!)));
    }
  });
});
