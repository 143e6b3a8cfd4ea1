// The forecast journal (lib/journal): its entries as written (exact quantiles, the naive inputs,
// the chain), outcomes and their corrections, the bar-step join, scoring against a plain
// TypeScript reference (fixed cases and fast-check), resume after close and after kill -9.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

import { verifyAuditDir } from '../lib/audit/index';
import { normalQuantile } from '../lib/eval/forecasters';
import { decodeBase64Into, decodeQuantiles, naiveInputs } from '../lib/journal/entries';
import { fastForecast, fastKind, fastOutcome, forecastFrom, outcomeFrom } from '../lib/journal/fast-entry';
import { ForecastJournal, type PendingForecast } from '../lib/journal/journal';
import { scoreJournal } from '../lib/journal/score';
import { segmentEntries } from './journal-fixtures';
import { killAfterAcks } from './kill-child';

const ROOT = path.resolve(__dirname, '..');
const KEY = 'journal-test-signing-key-0123456789abcdef';
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-journal-'));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));
let dirNo = 0;
const newDir = (): string => path.join(TMP, `j-${++dirNo}`);
const LEVELS = [0.1, 0.5, 0.9];
// The naive forecast's z-scores as the evaluation computes them (Acklam's approximation, |error| <
// 1.2e-9): the reference must use the same ones to agree to 1e-9.
const Z = LEVELS.map(normalQuantile);
const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 5); // a Monday

function forecast(instrument: string, origin: number, q: number[], tail: number[], extra: Partial<PendingForecast> = {}): PendingForecast {
  return {
    instrument,
    origin,
    horizon: q.length / LEVELS.length,
    levels: LEVELS,
    quantiles: Float32Array.from(q),
    context: Float32Array.from(tail),
    status: 'ok',
    source: 'model',
    modelHash: 'ab'.repeat(32),
    fallback: null,
    auditId: `call-${origin}`,
    ...extra,
  };
}

/** Plain reference: the sample standard deviation of the last (up to) 64 finite one-step changes. */
function refSigma(tail: number[]): number {
  const d: number[] = [];
  for (let t = tail.length - 1; t >= 1 && d.length < 64; t--) {
    const v = tail[t]! - tail[t - 1]!;
    if (Number.isFinite(v)) d.push(v);
  }
  if (d.length < 2) return 0;
  const m = d.reduce((a, b) => a + b, 0) / d.length;
  return Math.sqrt(d.reduce((a, b) => a + (b - m) ** 2, 0) / (d.length - 1));
}

describe('entries as written', () => {
  it('a forecast entry: the exact float32 quantiles, the naive inputs of its tail, its ids; an outcome; the chain verifies', async () => {
    const dir = newDir();
    const j = ForecastJournal.open({ dir, signingKey: KEY });
    const q = [0.1, 1 / 3, 2.5e-39, -0, 7, 1e30];
    const tail = Array.from({ length: 70 }, (_, i) => 100 + Math.sin(i) * 3 + (i === 66 ? NaN : 0));
    expect(j.recordForecast(forecast('EURUSD', T0, q, tail, { auditId: 'c0000000000000007-abcdef012345' }))).toBe(true);
    j.recordOutcome('EURUSD', T0 + DAY, 101.25);
    await j.close();
    const es = segmentEntries(dir);
    expect(es.map((e) => e.type)).toEqual(['open', 'forecast', 'outcome', 'checkpoint']);
    const f = es[1]!;
    expect(f).toMatchObject({ instrument: 'EURUSD', origin: T0, horizon: 2, levels: LEVELS, status: 'ok', source: 'model', modelHash: 'ab'.repeat(32), fallback: null, auditId: 'c0000000000000007-abcdef012345' });
    expect(Array.from(decodeQuantiles(f.q, 2, 3)!)).toEqual(Array.from(Float32Array.from(q)));
    const f32tail = Array.from(Float32Array.from(tail));
    expect(f.naive.last).toBe(f32tail[69]);
    // Of the last 65 points only (two of their changes touch the NaN).
    expect(f.naive.sigma).toBeCloseTo(refSigma(f32tail.slice(-65)), 12);
    expect(es[2]).toMatchObject({ instrument: 'EURUSD', at: T0 + DAY, value: 101.25 });
    const report = await verifyAuditDir(dir, { signingKey: KEY });
    expect(report.status).toBe('verified');
    expect([report.forecasts, report.outcomes]).toEqual([1, 1]);
  });

  it('the staging slab: forecasts handed over in one tick through a small hand-off buffer (drained from inside the call) and past a slab each keep their own numbers', async () => {
    const dir = newDir();
    const j = ForecastJournal.open({ dir, signingKey: KEY, durability: 'none', handoffLimit: 3 });
    const big = 6000; // steps: 18000 quantiles, four of them more than a slab of 65536
    const n = 12;
    for (let i = 0; i < n; i++) {
      const horizon = i % 3 === 0 ? big : 2;
      const q = Float32Array.from({ length: horizon * 3 }, (_, k) => i * 1e5 + k);
      expect(j.recordForecast({ ...forecast('A', i, [1, 2, 3], [i, i + 1]), horizon, quantiles: q })).toBe(true);
      q.fill(-1); // the caller reuses its buffer at once
    }
    await j.close();
    const fs_ = segmentEntries(dir).filter((e) => e.type === 'forecast');
    expect(fs_.map((e) => e.origin)).toEqual(Array.from({ length: n }, (_, i) => i));
    for (const e of fs_) {
      const q = decodeQuantiles(e.q, e.horizon, 3)!;
      expect(q.every((v, k) => v === Math.fround(e.origin * 1e5 + k))).toBe(true);
      expect(e.naive).toEqual({ last: e.origin + 1, sigma: 0 });
    }
  });

  it('naiveInputs: the last finite value and the sample deviation of at most 64 changes, NaN pairs skipped', () => {
    expect(naiveInputs([])).toEqual({ last: NaN, sigma: 0 });
    expect(naiveInputs([5])).toEqual({ last: 5, sigma: 0 });
    expect(naiveInputs([1, 2, NaN])).toEqual({ last: 2, sigma: 0 });
    expect(naiveInputs([1, 2, 4])).toEqual({ last: 4, sigma: Math.SQRT1_2 });
    const long = Array.from({ length: 100 }, (_, i) => i * i);
    expect(naiveInputs(long).sigma).toBeCloseTo(refSigma(long), 12);
  });

  it('bad outcomes are typed errors and leave nothing in the journal', async () => {
    const dir = newDir();
    const j = ForecastJournal.open({ dir, signingKey: KEY });
    for (const [instrument, at, value] of [
      ['', T0, 1],
      ['A\nB', T0, 1],
      ['X'.repeat(129), T0, 1],
      ['EURUSD', NaN, 1],
      ['EURUSD', T0, Infinity],
      ['EURUSD', T0, NaN],
      [7, T0, 1],
    ] as const) {
      expect(() => j.recordOutcome(instrument as string, at, value)).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
    }
    await j.close();
    expect(segmentEntries(dir).map((e) => e.type)).toEqual(['open', 'checkpoint']);
  });
});

interface RefForecast {
  instrument: string;
  origin: number;
  q: number[];
  tail: number[];
}

/** Plain reference of the scores: the join (the h-th distinct outcome time after the origin, the
 * last value recorded for a time) and the metrics, one forecast at a time. */
function reference(forecasts: RefForecast[], outcomes: [string, number, number][]) {
  const byInstrument = new Map<string, Map<number, number>>();
  for (const [i, at, v] of outcomes) {
    if (!byInstrument.has(i)) byInstrument.set(i, new Map());
    byInstrument.get(i)!.set(at, v); // later recordings replace earlier ones
  }
  const out: Record<string, { m: number[]; n: number[]; absY: number; mErr: number; nErr: number; mCov: number; nCov: number; points: number; scored: number }> = {};
  let pending = 0;
  let unscorable = 0;
  for (const f of forecasts) {
    const series = [...(byInstrument.get(f.instrument) ?? new Map()).entries()].sort((a, b) => a[0] - b[0]);
    const after = series.filter(([t]) => t > f.origin);
    const H = f.q.length / 3;
    if (after.length < H) {
      pending++;
      continue;
    }
    const values = series.map(([, v]) => v);
    let sum = 0;
    for (let i = 1; i < values.length; i++) sum += Math.abs(values[i]! - values[i - 1]!);
    const scale = sum / (values.length - 1);
    const tail32 = Array.from(Float32Array.from(f.tail));
    const last = [...tail32].reverse().find((v) => Number.isFinite(v))!;
    const sigma = refSigma(tail32);
    if (!(scale > 0)) {
      unscorable++;
      continue;
    }
    const r = (out[f.instrument] ??= { m: [0, 0, 0], n: [0, 0, 0], absY: 0, mErr: 0, nErr: 0, mCov: 0, nCov: 0, points: 0, scored: 0 });
    const q32 = Array.from(Float32Array.from(f.q));
    for (let h = 0; h < H; h++) {
      const y = after[h]![1];
      const mq = q32.slice(h * 3, h * 3 + 3);
      const nq = Z.map((z) => last + z * sigma * Math.sqrt(h + 1));
      for (let k = 0; k < 3; k++) {
        const tau = LEVELS[k]!;
        r.m[k]! += Math.max(tau * (y - mq[k]!), (tau - 1) * (y - mq[k]!));
        r.n[k]! += Math.max(tau * (y - nq[k]!), (tau - 1) * (y - nq[k]!));
      }
      r.absY += Math.abs(y);
      r.mErr += Math.abs(y - mq[1]!) / scale;
      r.nErr += Math.abs(y - nq[1]!) / scale;
      r.mCov += y >= mq[0]! && y <= mq[2]! ? 1 : 0;
      r.nCov += y >= nq[0]! && y <= nq[2]! ? 1 : 0;
      r.points++;
    }
    r.scored++;
  }
  const wql = (p: number[], absY: number) => p.reduce((a, x) => a + (2 * x) / absY, 0) / 3;
  const instruments = Object.fromEntries(
    Object.entries(out).map(([i, r]) => [
      i,
      { forecasts: r.scored, points: r.points, wql: wql(r.m, r.absY), naiveWql: wql(r.n, r.absY), mase: r.mErr / r.points, naiveMase: r.nErr / r.points, coverage: r.mCov / r.points, naiveCoverage: r.nCov / r.points },
    ]),
  );
  return { instruments, pending, unscorable };
}

async function writeJournal(dir: string, forecasts: RefForecast[], outcomes: [string, number, number][]): Promise<void> {
  const j = ForecastJournal.open({ dir, signingKey: KEY, durability: 'none' });
  for (const f of forecasts) j.recordForecast(forecast(f.instrument, f.origin, f.q, f.tail));
  j.drain();
  for (const [i, at, v] of outcomes) j.recordOutcome(i, at, v);
  await j.close();
}

function expectMatchesReference(dir: string, forecasts: RefForecast[], outcomes: [string, number, number][]): void {
  const ref = reference(forecasts, outcomes);
  const got = scoreJournal(dir);
  expect(got.counts.pending).toBe(ref.pending);
  expect(got.counts.unscorable).toBe(ref.unscorable);
  expect(got.instruments.map((r) => r.instrument).sort()).toEqual(Object.keys(ref.instruments).sort());
  for (const r of got.instruments) {
    const want = ref.instruments[r.instrument]!;
    expect(r.forecasts).toBe(want.forecasts);
    expect(r.points).toBe(want.points);
    // NaN on both sides: a WQL over outcomes that are all 0 is undefined for both.
    const rel = (a: number, b: number) => (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
    expect(rel(r.model.wql, want.wql), `${r.instrument} wql ${r.model.wql} vs ${want.wql}`).toBe(true);
    expect(rel(r.naive.wql, want.naiveWql), `${r.instrument} naive wql`).toBe(true);
    expect(rel(r.model.mase, want.mase), `${r.instrument} mase`).toBe(true);
    expect(rel(r.naive.mase, want.naiveMase), `${r.instrument} naive mase`).toBe(true);
    expect(r.model.coverage['10-90']).toBe(want.coverage);
    expect(r.naive.coverage['10-90']).toBe(want.naiveCoverage);
  }
}

describe('scoring', () => {
  it('joins by bars (a weekend is not a step), takes the last value recorded for a time, counts pending and unscorable forecasts', async () => {
    const dir = newDir();
    const tail = [99, 100.5, 100, 101];
    // Friday's forecast, two steps: Monday and Tuesday (no outcome on Saturday or Sunday).
    const fri = T0 + 4 * DAY;
    const forecasts: RefForecast[] = [
      { instrument: 'A', origin: fri, q: [100, 101, 102, 99, 101, 103], tail },
      { instrument: 'A', origin: fri + 3 * DAY, q: [101, 102, 103, 100, 102, 104], tail },
      // Its second step has no outcome yet.
      { instrument: 'A', origin: fri + 4 * DAY, q: [100, 101, 102, 99, 101, 103], tail },
      // Outcomes that never change: no MASE scale.
      { instrument: 'FLAT', origin: fri, q: [1, 2, 3], tail: [2, 2, 2] },
      // No outcome at all.
      { instrument: 'NONE', origin: fri, q: [1, 2, 3], tail },
    ];
    const outcomes: [string, number, number][] = [
      ['A', fri, 101],
      ['A', fri + 3 * DAY, 100],
      ['A', fri + 3 * DAY, 102.5], // a correction of Monday's value: the last one counts
      ['A', fri + 4 * DAY, 103],
      ['A', fri + 5 * DAY, 99],
      ['FLAT', fri, 2],
      ['FLAT', fri + DAY, 2],
    ];
    await writeJournal(dir, forecasts, outcomes);
    const r = scoreJournal(dir, { byDay: true });
    expect(r.counts).toMatchObject({ forecasts: 5, scored: 2, pending: 2, unscorable: 1, outcomes: 7, unreadable: 0 });
    const a = r.instruments.find((x) => x.instrument === 'A')!;
    expect([a.forecasts, a.origins, a.days, a.points]).toEqual([2, 2, 2, 4]);
    // Friday's forecast: Monday 102.5 (not 100) and Tuesday 103; Monday's: Tuesday 103 and
    // Wednesday 99. Median errors 1.5, 2, 1, 3 over the scale mean(1.5, 0.5, 4) = 2.
    expect(a.model.mase).toBeCloseTo((1.5 + 2 + 1 + 3) / 4 / 2, 12);
    expect(a.daily!.map((d) => d.day)).toEqual(['2026-01-09', '2026-01-12']);
    expectMatchesReference(dir, forecasts, outcomes);
  });

  it('the query: instruments, the model hash (a prefix), the period of origins, the source', async () => {
    const dir = newDir();
    const j = ForecastJournal.open({ dir, signingKey: KEY, durability: 'none' });
    const tail = [1, 2, 3];
    j.recordForecast(forecast('A', T0, [1, 2, 3], tail));
    j.recordForecast(forecast('B', T0, [1, 2, 3], tail));
    j.recordForecast(forecast('A', T0 + DAY, [1, 2, 3], tail, { modelHash: 'cd'.repeat(32), source: 'shadow' }));
    j.drain();
    for (const i of ['A', 'B']) for (let d = 0; d < 3; d++) j.recordOutcome(i, T0 + d * DAY, d * 2);
    await j.close();
    expect(scoreJournal(dir).counts.forecasts).toBe(3);
    expect(scoreJournal(dir, { instruments: ['B'] }).instruments.map((r) => r.instrument)).toEqual(['B']);
    expect(scoreJournal(dir, { model: 'cdcdcdcd' }).instruments.map((r) => [r.instrument, r.source])).toEqual([['A', 'shadow']]);
    expect(scoreJournal(dir, { sources: ['model'] }).counts.forecasts).toBe(2);
    expect(scoreJournal(dir, { from: T0 + 1, to: new Date(T0 + 2 * DAY).toISOString() }).counts.forecasts).toBe(1);
    expect(() => scoreJournal(dir, { model: 'xyz' })).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
    expect(() => scoreJournal(dir, { from: 'not a date' })).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
    const m = scoreJournal(dir).models;
    expect(m.map((x) => [x.modelHash!.slice(0, 4), x.source, x.instruments])).toEqual([
      ['abab', 'model', 2],
      ['cdcd', 'shadow', 1],
    ]);
  });

  it('matches the plain reference on random journals (fast-check)', async () => {
    // Prices in cents: sums of |y| far from 0 (a WQL over outcomes that are all 0 or subnormal has
    // no meaningful relative error to compare).
    const value = fc.integer({ min: -100_000, max: 100_000 }).map((c) => c / 100);
    const arb = fc.record({
      forecasts: fc.array(
        fc.record({ instrument: fc.constantFrom('A', 'B'), day: fc.integer({ min: 0, max: 12 }), h: fc.integer({ min: 1, max: 3 }), q: fc.array(value, { minLength: 9, maxLength: 9 }), tail: fc.array(fc.oneof(value, fc.constant(NaN)), { minLength: 2, maxLength: 80 }) }),
        { maxLength: 12 },
      ),
      outcomes: fc.array(fc.tuple(fc.constantFrom('A', 'B'), fc.integer({ min: 0, max: 14 }), value), { maxLength: 30 }),
    });
    await fc.assert(
      fc.asyncProperty(arb, async ({ forecasts, outcomes }) => {
        const fs3: RefForecast[] = forecasts.map((f) => ({
          instrument: f.instrument,
          origin: T0 + f.day * DAY,
          // Sorted levels, as a served forecast's are.
          q: Array.from({ length: f.h }, (_, h) => f.q.slice(h * 3, h * 3 + 3).sort((a, b) => a - b)).flat(),
          tail: Number.isFinite(f.tail[f.tail.length - 1]) ? f.tail : [...f.tail, 1],
        }));
        const os3: [string, number, number][] = outcomes.map(([i, d, v]) => [i, T0 + d * DAY, v]);
        const dir = newDir();
        await writeJournal(dir, fs3, os3);
        expectMatchesReference(dir, fs3, os3);
        fs.rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns: 40 },
    );
  });
});

describe('the fast reader', () => {
  it('reads canonical lines as JSON.parse does; escaped strings and non-finite numbers go to JSON.parse, with the same scores', async () => {
    const dir = newDir();
    const odd = ['plain', 'quote"d', 'back\\slash', 'ünï', 'all-nan'];
    const j = ForecastJournal.open({ dir, signingKey: KEY, durability: 'none' });
    for (const [i, name] of odd.entries()) {
      j.recordForecast(forecast(name, T0 + i, [1, 2, 3], i === 4 ? [NaN, NaN] : [1, 2.5]));
      j.drain();
      j.recordOutcome(name, T0 + i, 2);
      j.recordOutcome(name, T0 + i + 1, 2.25);
    }
    await j.close();
    const lines = fs.readdirSync(dir).filter((f) => /^segment-/.test(f)).flatMap((f) => fs.readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean));
    let fastOnes = 0;
    for (const line of lines) {
      const e = JSON.parse(line);
      const kind = fastKind(line);
      expect(kind).toBe(e.type === 'forecast' || e.type === 'outcome' ? e.type : null);
      if (kind === 'forecast') {
        const f = fastForecast(line);
        if (f !== null) fastOnes++;
        if (f !== null) expect(f).toEqual(forecastFrom(e));
        // Escaped characters and the "NaN" of an all-NaN context: the slow path.
        expect(f === null).toBe(/["\\]/.test(e.instrument) || typeof e.naive.last === 'string');
      }
      if (kind === 'outcome') {
        const o = fastOutcome(line);
        expect(o === null).toBe(/["\\]/.test(e.instrument));
        if (o !== null) expect(o).toEqual(outcomeFrom(e));
      }
    }
    expect(fastOnes).toBe(2);
    const r = scoreJournal(dir);
    expect(r.instruments.map((x) => x.instrument).sort()).toEqual(['back\\slash', 'plain', 'quote"d', 'ünï'].sort());
    expect(r.counts).toMatchObject({ forecasts: 5, unscorable: 1 });
  });
});

describe('the scorer\'s base64 decoder', () => {
  it('decodes what Buffer encodes, any length (padding 0, 1, 2); refuses what is not base64 or does not fit', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const out = new Uint8Array(64);
        const s = Buffer.from(bytes).toString('base64');
        expect(decodeBase64Into(s, out)).toBe(bytes.length);
        expect(Array.from(out.subarray(0, bytes.length))).toEqual(Array.from(bytes));
      }),
    );
    const out = new Uint8Array(8);
    for (const bad of ['A', 'AB=', 'A===', '@AAA', 'AA\u00e9A', 'AAAA AAA']) expect(decodeBase64Into(bad, out)).toBe(-1);
    expect(decodeBase64Into('AAAAAAAAAAAA', out)).toBe(-1); // 9 bytes into 8
    expect(decodeBase64Into('', out)).toBe(0);
  });
});

describe('crash safety', () => {
  it('resumes after close: one chain across sessions, the scores see both', async () => {
    const dir = newDir();
    await writeJournal(dir, [{ instrument: 'A', origin: T0, q: [1, 2, 3], tail: [1, 2] }], [['A', T0, 1]]);
    await writeJournal(dir, [], [['A', T0 + DAY, 2], ['A', T0 + 2 * DAY, 4]]);
    const report = await verifyAuditDir(dir, { signingKey: KEY });
    expect([report.status, report.sessions, report.forecasts, report.outcomes]).toEqual(['verified', 2, 1, 3]);
    expect(scoreJournal(dir).counts).toMatchObject({ scored: 1, outcomes: 3 });
  });

  it('kill -9 while journaling: every acknowledged outcome is there with its hash, and the resumed chain verifies', async () => {
    const compiled = path.join(ROOT, 'dist', 'cjs', 'journal', 'journal.js');
    expect(fs.existsSync(compiled), 'dist/cjs missing: run node scripts/build-ts.js').toBe(true);
    const dir = newDir();
    const acked = new Map<number, string>();
    const { signal, newAcks } = await killAfterAcks([compiled, dir, KEY], 200, acked, path.join(__dirname, 'fixtures', 'journal-kill-child.js'));
    expect(signal).toBe('SIGKILL');
    expect(newAcks).toBeGreaterThanOrEqual(200);
    const j = ForecastJournal.open({ dir, signingKey: KEY });
    j.recordOutcome('KILL', 1, 1);
    await j.close();
    const onDisk = new Map(segmentEntries(dir).map((e) => [e.seq as number, e]));
    for (const [seq, hash] of acked) expect(onDisk.get(seq)?.hash).toBe(hash);
    const report = await verifyAuditDir(dir, { signingKey: KEY });
    expect(report.status).toBe('verified');
    expect(report.outcomes).toBeGreaterThanOrEqual(acked.size + 1);
  });
});
