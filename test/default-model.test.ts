// The model we ship (models/tirex-guardian-default.*): its manifest, its contract as ONNX Runtime
// sees it, and sane forecasts over the inputs TiRex's contract allows (NaN inside, T up to 2048).
import * as fs from 'node:fs';
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { loadManifest, ModelSession, rolloutSync } from '../lib/index';
import { runCli } from './cli-run';

const ROOT = path.resolve(__dirname, '..');
const MANIFEST = path.join(ROOT, 'models', 'tirex-guardian-default.json');
const session = ModelSession.load(MANIFEST);
afterAll(() => session.close());

function expectSane(q: Float32Array, steps: number, levels = 9): void {
  expect(q.length).toBe(steps * levels);
  for (let s = 0; s < steps; s++) {
    for (let k = 0; k < levels; k++) {
      const v = q[s * levels + k]!;
      expect(Number.isFinite(v), `step ${s} level ${k} = ${v}`).toBe(true);
      if (k > 0) expect(v, `levels cross at step ${s}`).toBeGreaterThanOrEqual(q[s * levels + k - 1]!);
    }
  }
}

function walk(n: number, start = 100, seed = 7): Float32Array {
  let s = seed;
  let v = start;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) >>> 0;
    v += (s / 2 ** 32 - 0.5) * 0.8;
    return v;
  });
}

describe('the shipped default model', () => {
  it('has TiRex contract in its manifest, a pinned hash, and fits the size budget', () => {
    const m = loadManifest(MANIFEST);
    expect(m.inputs[0]).toEqual({ name: 'context', dtype: 'float32', shape: ['batch', 'time'] });
    expect(m.outputs[0]).toEqual({ name: 'quantiles', dtype: 'float32', shape: ['batch', 32, 9] });
    expect(m.quantileLevels).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
    expect(m.maxContext).toBe(2048);
    expect(m.nanHandling).toBe('masked');
    expect(m.scaling).toBe('internal');
    expect(fs.statSync(m.modelPath).size).toBeLessThanOrEqual(8 * 2 ** 20);
    expect(session.sha256).toBe(m.sha256);
  });

  it('its graph declares exactly that contract', () => {
    expect(session.inputs[0]).toMatchObject({ name: 'context', dtype: 'float32' });
    expect(session.outputs[0]!.shape.slice(1)).toEqual([32, 9]);
  });

  it.each([3, 17, 100, 512, 513, 2048])('forecasts a random walk with T = %i: finite, ordered, near the last value', (T) => {
    const x = walk(T);
    const q = session.runSync(x, 1);
    expectSane(q, 32);
    const last = x[T - 1]!;
    expect(Math.abs(q[4]! - last)).toBeLessThan(2); // first step's median, steps of ~0.2
  });

  it('masks NaN inside the model: gaps, a NaN tail, a mostly-NaN context, an all-NaN context', () => {
    const x = walk(600);
    for (let i = 100; i < 160; i++) x[i] = NaN;
    expectSane(session.runSync(x, 1), 32);
    const tail = walk(600);
    tail.fill(NaN, 590);
    expectSane(session.runSync(tail, 1), 32);
    const sparse = new Float32Array(600).fill(NaN);
    sparse[3] = 10;
    sparse[400] = 11;
    expectSane(session.runSync(sparse, 1), 32);
    expectSane(session.runSync(new Float32Array(64).fill(NaN), 1), 32);
  });

  it('works across scales: prices near 1e-4 and near 1e6, and a flat series', () => {
    for (const scale of [1e-4, 1e6]) {
      const x = walk(512).map((v) => v * scale);
      const q = session.runSync(x, 1);
      expectSane(q, 32);
      expect(Math.abs(q[4]! - x[511]!) / scale).toBeLessThan(5);
    }
    const flat = new Float32Array(300).fill(42);
    const q = session.runSync(flat, 1);
    expectSane(q, 32);
    expect(q[4]).toBeCloseTo(42, 3);
  });

  // Version 2's structure test divides changes by their deviation: on a flat series that is ~1e-10,
  // and a change that spans a gap (value minus the masked 0) became 1e21 and its square overflowed.
  it('a flat series with gaps, at any price level, gives a finite forecast at the last value', () => {
    for (const level of [8.5, 5329.3, 1e12, 1e-20]) {
      const x = new Float32Array(512).fill(level);
      x.fill(NaN, 0, 17);
      for (const i of [100, 101, 250, 300, 302, 480]) x[i] = NaN;
      const q = session.runSync(x, 1);
      expectSane(q, 32);
      expect(Math.abs(q[4]! - Math.fround(level)) / level, `level ${level}`).toBeLessThan(1e-3);
    }
  });

  it('batches rows independently and rolls out 96 steps', () => {
    const a = walk(700, 100, 1);
    const b = walk(700, 5000, 2);
    const both = new Float32Array(1400);
    both.set(a);
    both.set(b, 700);
    const q = session.runSync(both, 2);
    expect(Array.from(q.subarray(0, 288))).toEqual(Array.from(session.runSync(a, 1)));
    expect(Array.from(q.subarray(288))).toEqual(Array.from(session.runSync(b, 1)));
    expectSane(rolloutSync(session, a, 1, 96), 96);
  });

  it('the forecast command runs the shipped model on a real series', () => {
    const r = runCli(['forecast', path.join(ROOT, 'data', 'brent-daily.csv'), '--column', 'Price', '--horizon', '40', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.model.sha256).toBe(session.sha256);
    expect(out.quantiles).toHaveLength(40);
    expect(out.status).toBe('ok');
    expectSane(Float32Array.from(out.quantiles.flat()), 40);
    expect(out.shields.some((s: { action: string }) => s.action === 'trim')).toBe(true);
  });

  it('the evaluation command scores it against the baselines on held-out windows', () => {
    const r = runCli(['evaluate', MANIFEST, '--data', path.join(ROOT, 'data'), '--series', 'etth1/', '--origins', '4']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('aggregate over 7 series, 28 windows');
    expect(r.stdout).toMatch(/weighted quantile loss ratio\s+\d\.\d{3}/);
  });
});
