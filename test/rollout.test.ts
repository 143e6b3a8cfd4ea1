// Rollout (lib/model/rollout.ts): one-patch models rolled out to longer horizons on the real
// quantile-ok and slow fixtures, checked against a hand-written reference of the rule (keep the
// last maxContext points, append the patch's median, run again) built on session.runSync.
import { afterAll, describe, expect, it } from 'vitest';

import { ModelSession, planRollout, rollout, rolloutSync } from '../lib/index';
import {
  context,
  expectBytesEqual,
  LEVELS,
  manifestPath,
  MAX_CONTEXT,
  MAX_HORIZON,
  MEDIAN_INDEX,
  MIN_CONTEXT,
  PATCH,
  rejection,
  rowOf,
  thrown,
} from './model-fixtures';

const ok = ModelSession.load(manifestPath('quantile-ok'));
afterAll(() => ok.close());

/**
 * The rollout rule written out independently, one row at a time, on runSync: the model sees the
 * last maxContext points of the history, each patch's median (level medianIndex) is appended to
 * the history, and the first `horizon` steps of the concatenated patches are the forecast.
 */
function referenceRollout(session: ModelSession, row: Float32Array, horizon: number): Float32Array {
  const { maxContext, patchLength, medianIndex } = session.manifest;
  const L = session.manifest.quantileLevels.length;
  const history: number[] = Array.from(row);
  const forecast: number[] = [];
  while (forecast.length < horizon * L) {
    const window = Float32Array.from(history.slice(Math.max(0, history.length - maxContext)));
    const patch = session.runSync(window, 1);
    forecast.push(...patch);
    for (let s = 0; s < patchLength; s++) history.push(patch[s * L + medianIndex]!);
  }
  return Float32Array.from(forecast.slice(0, horizon * L));
}

/** Reference for a [batch, time] context: the per-row references, concatenated. */
function referenceBatch(session: ModelSession, ctx: Float32Array, batch: number, horizon: number): Float32Array {
  const out = new Float32Array(batch * horizon * LEVELS);
  for (let b = 0; b < batch; b++) out.set(referenceRollout(session, rowOf(ctx, batch, b), horizon), b * horizon * LEVELS);
  return out;
}

describe('planRollout', () => {
  it('plans the patches and the first window', () => {
    expect(planRollout(ok, context(1, 100, 1), 1, 70)).toEqual({ batch: 1, time: 100, horizon: 70, patches: 3, window: 100 });
    expect(planRollout(ok, context(2, 3000, 1), 2, 32)).toEqual({ batch: 2, time: 3000, horizon: 32, patches: 1, window: MAX_CONTEXT });
    expect(planRollout(ok, context(1, MIN_CONTEXT, 1), 1, MAX_HORIZON).patches).toBe(MAX_HORIZON / PATCH);
  });

  it('refuses horizon > maxHorizon with TG_HORIZON_TOO_LONG', () => {
    const err = thrown(() => planRollout(ok, context(1, 100, 1), 1, MAX_HORIZON + 1));
    expect(err.code).toBe('TG_HORIZON_TOO_LONG');
    expect(err.message).toContain(`maxHorizon ${MAX_HORIZON}`);
    expect(thrown(() => rolloutSync(ok, context(1, 100, 1), 1, 10_000)).code).toBe('TG_HORIZON_TOO_LONG');
  });

  it('refuses a context shorter than minContext with TG_CONTEXT_TOO_SHORT', () => {
    const err = thrown(() => planRollout(ok, context(1, MIN_CONTEXT - 1, 1), 1, 10));
    expect(err.code).toBe('TG_CONTEXT_TOO_SHORT');
    expect(err.message).toContain(`at least ${MIN_CONTEXT}`);
    expect(thrown(() => rolloutSync(ok, context(2, MIN_CONTEXT - 1, 1), 2, 10)).code).toBe('TG_CONTEXT_TOO_SHORT');
  });

  it('refuses horizon 0, a context not a multiple of batch, and a Float64Array', () => {
    expect(thrown(() => planRollout(ok, context(1, 100, 1), 1, 0)).code).toBe('TG_OUT_OF_RANGE');
    expect(thrown(() => planRollout(ok, context(1, 101, 1), 2, 10)).code).toBe('TG_SHAPE_MISMATCH');
    expect(thrown(() => planRollout(ok, new Float64Array(100) as unknown as Float32Array, 1, 10)).code).toBe('TG_INVALID_ARGUMENT');
  });

  it('refuses an `out` of the wrong size with TG_SHAPE_MISMATCH', () => {
    expect(thrown(() => rolloutSync(ok, context(1, 100, 1), 1, 40, new Float32Array(39 * LEVELS))).code).toBe('TG_SHAPE_MISMATCH');
  });
});

describe('rolloutSync', () => {
  it.each([
    [1, 3, 1],
    [1, 100, 17],
    [1, 2048, 32],
    [3, 500, 32],
    [2, 2048, 5],
  ])('batch %i, T=%i, horizon %i <= 32: the first `horizon` steps of one runSync, exactly', (B, T, horizon) => {
    const ctx = context(B, T, T + horizon);
    const q = ok.runSync(ctx, B);
    const want = new Float32Array(B * horizon * LEVELS);
    for (let b = 0; b < B; b++) want.set(q.subarray(b * PATCH * LEVELS, (b * PATCH + horizon) * LEVELS), b * horizon * LEVELS);
    expectBytesEqual(rolloutSync(ok, ctx, B, horizon), want, `rollout of ${horizon}`);
  });

  it.each([
    [100, 70],
    [2000, 70], // the history outgrows maxContext during the rollout: the window slides
    [MIN_CONTEXT, 70],
    [700, MAX_HORIZON],
  ])('T=%i, horizon %i equals the hand-written reference', (T, horizon) => {
    const ctx = context(1, T, 3 * T + horizon);
    const got = rolloutSync(ok, ctx, 1, horizon);
    expect(got.length).toBe(horizon * LEVELS);
    expectBytesEqual(got, referenceRollout(ok, ctx, horizon), `rollout T=${T} h=${horizon}`);
    // a rollout past one patch is not just the first patch repeated
    expect(Buffer.from(got.buffer, 0, PATCH * LEVELS * 4).equals(Buffer.from(got.buffer, PATCH * LEVELS * 4, PATCH * LEVELS * 4))).toBe(false);
  });

  it('the reference would notice a different rule (appending a level other than the median)', () => {
    const ctx = context(1, 100, 5);
    const got = rolloutSync(ok, ctx, 1, 70);
    // The same model, but a session whose manifest names level 5 as the median.
    const wrong = { manifest: { ...ok.manifest, medianIndex: MEDIAN_INDEX + 1 }, runSync: ok.runSync.bind(ok) };
    const other = referenceRollout(wrong as unknown as ModelSession, ctx, 70);
    expect(Buffer.from(got.buffer).equals(Buffer.from(other.buffer))).toBe(false);
    // The first patch does not depend on the rule, only what follows.
    expectBytesEqual(got.subarray(0, PATCH * LEVELS), other.subarray(0, PATCH * LEVELS), 'first patch');
  });

  it('batch 2 with T=3000 (> maxContext: the last 2048 points are used) equals the per-row rollouts', () => {
    const T = 3000;
    const horizon = 70;
    const ctx = context(2, T, 42);
    const got = rolloutSync(ok, ctx, 2, horizon);
    for (let b = 0; b < 2; b++) {
      const row = rowOf(ctx, 2, b);
      const perRow = rolloutSync(ok, row, 1, horizon);
      expectBytesEqual(rowOf(got, 2, b), perRow, `row ${b} vs its own rollout`);
      expectBytesEqual(perRow, referenceRollout(ok, row, horizon), `row ${b} vs the reference`);
      // only the most recent maxContext points count
      expectBytesEqual(perRow, rolloutSync(ok, row.slice(T - MAX_CONTEXT), 1, horizon), `row ${b} vs its last ${MAX_CONTEXT} points`);
    }
  });

  it('batch 2 with T=3000 and horizon 10 (a single, trimmed run)', () => {
    const ctx = context(2, 3000, 43);
    const got = rolloutSync(ok, ctx, 2, 10);
    expectBytesEqual(got, referenceBatch(ok, ctx, 2, 10), 'single-patch rollout of a long context');
  });

  it('writes into `out` when given and leaves the context untouched', () => {
    const ctx = context(3, 200, 44);
    const copy = ctx.slice();
    const out = new Float32Array(3 * 70 * LEVELS).fill(NaN);
    expect(rolloutSync(ok, ctx, 3, 70, out)).toBe(out);
    expectBytesEqual(out, referenceBatch(ok, ctx, 3, 70), 'rollout into out');
    expectBytesEqual(ctx, copy, 'context after the rollout');
  });
});

describe('rollout (async)', () => {
  it.each([
    [1, 100, 20],
    [1, 2000, 70],
    [2, 3000, 70],
    [4, 64, MAX_HORIZON],
  ])('batch %i, T=%i, horizon %i equals rolloutSync bytewise', async (B, T, horizon) => {
    const ctx = context(B, T, 7 * T + B);
    const want = rolloutSync(ok, ctx, B, horizon);
    expectBytesEqual(await rollout(ok, ctx, B, horizon), want, 'rollout vs rolloutSync');
    expectBytesEqual(await rollout(ok, ctx, B, horizon, { timeoutMs: 30_000 }), want, 'rollout with a timeout that does not fire');
  });

  it('concurrent rollouts on one session do not interfere', async () => {
    const ctxs = [0, 1, 2, 3, 4, 5].map((i) => context(1, 150 + 300 * i, 900 + i));
    const outs = await Promise.all(ctxs.map((c) => rollout(ok, c, 1, 100)));
    outs.forEach((o, i) => expectBytesEqual(o, referenceRollout(ok, ctxs[i]!, 100), `concurrent rollout ${i}`));
  });

  it('refuses what rolloutSync refuses, as a rejection', async () => {
    expect((await rejection(rollout(ok, context(1, 100, 1), 1, MAX_HORIZON + 1))).code).toBe('TG_HORIZON_TOO_LONG');
    expect((await rejection(rollout(ok, context(1, 2, 1), 1, 10))).code).toBe('TG_CONTEXT_TOO_SHORT');
  });

  it('a timeout too short for the slow fixture rejects with TG_RUN_TIMEOUT, promptly', async () => {
    const slow = ModelSession.load(manifestPath('slow'));
    try {
      const t0 = performance.now();
      const err = await rejection(rollout(slow, context(1, 200, 3), 1, 70, { timeoutMs: 50 }));
      const elapsed = performance.now() - t0;
      expect(err.code, err.message).toBe('TG_RUN_TIMEOUT');
      expect(err.ortCode).toBeUndefined(); // settled by the deadline, not by ONNX Runtime
      // Before even one step of the slow graph could finish (measured here: a loaded machine slows
      // both; a fixed bound near the step's time would pass a rollout that waited for it).
      const t1 = performance.now();
      await rollout(slow, context(1, 200, 3), 1, 1);
      const oneStep = performance.now() - t1;
      expect(elapsed).toBeLessThan(oneStep / 2);
    } finally {
      slow.close();
    }
  });

  // Session.run treats timeoutMs 0 as "no timeout" and refuses a negative one; a rollout's
  // timeoutMs should mean the same.
  it('timeoutMs 0 means no timeout, as for session.run', async () => {
    const ctx = context(1, 100, 9);
    expectBytesEqual(await rollout(ok, ctx, 1, 40, { timeoutMs: 0 }), rolloutSync(ok, ctx, 1, 40), 'timeoutMs 0');
  });

  it('a negative timeoutMs is refused with TG_OUT_OF_RANGE, as for session.run', async () => {
    expect((await rejection(ok.run(context(1, 100, 9), 1, { timeoutMs: -5 }))).code).toBe('TG_OUT_OF_RANGE');
    expect((await rejection(rollout(ok, context(1, 100, 9), 1, 40, { timeoutMs: -5 }))).code).toBe('TG_OUT_OF_RANGE');
  });
});
