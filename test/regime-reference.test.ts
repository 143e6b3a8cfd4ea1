// The regime engine's indicators against independent implementations on real series from data/:
// Wilder's ATR and Bollinger bands against technicalindicators, the least-squares slope against
// simple-statistics' linearRegression, all to 1e-9 relative, over many windows; then the engine
// itself (bars fed one by one, a snapshot after each) against the same libraries.
//
// data/ has no OHLC file: bars are built from consecutive values (open = the previous close,
// close = the value, high and low beyond both by a deterministic 0.1% to 1.1%), so true ranges mix
// gaps and ranges as real bars do.
import * as path from 'node:path';

import { linearRegression } from 'simple-statistics';
import { ATR, BollingerBands } from 'technicalindicators';
import { describe, expect, it } from 'vitest';

import { readCsvColumn } from '../lib/index';
import { RegimeEngine } from '../lib/regime';
import { bollinger, slope, wilderAtr } from '../lib/regime/indicators';

const DATA = path.join(__dirname, '..', 'data');
const SERIES: [string, string | number][] = [
  ['brent-daily.csv', 'Price'],
  ['sp500-monthly.csv', 'SP500'],
  ['gold-monthly.csv', 'Price'],
  ['fx-daily-8.csv', 0],
  ['fx-daily-8.csv', 3],
];
const TOL = 1e-9;

interface Bars {
  name: string;
  open: number[];
  high: number[];
  low: number[];
  close: number[];
}

function barsOf(file: string, column: string | number): Bars {
  const col = readCsvColumn(path.join(DATA, file), column);
  const close = Array.from(col.values);
  let seed = 7;
  const u = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const open = close.map((c, i) => (i === 0 ? c : close[i - 1]!));
  const high = close.map((c, i) => Math.max(open[i]!, c) * (1.001 + 0.01 * u()));
  const low = close.map((c, i) => Math.min(open[i]!, c) * (0.999 - 0.01 * u()));
  return { name: `${file}:${column}`, open, high, low, close };
}

const ALL = SERIES.map(([f, c]) => barsOf(f, c));

/** |a - b| <= TOL x |b|, with a floor of TOL x `scale` for values that are zero up to rounding. */
function relErr(a: number, b: number, scale = 0): number {
  return Math.abs(a - b) / Math.max(Math.abs(b), scale, Number.MIN_VALUE);
}

describe('the data is what the tests assume', () => {
  it('every series is positive, finite and long', () => {
    expect(ALL.map((b) => [b.name, b.close.length >= 1800, b.close.every((x) => x > 0 && Number.isFinite(x))])).toEqual(ALL.map((b) => [b.name, true, true]));
  });
});

describe('indicators against the libraries', () => {
  it("Wilder's ATR equals technicalindicators' ATR over windows of 100 bars", () => {
    let compared = 0;
    let worst = 0;
    for (const b of ALL) {
      const out = new Float64Array(100);
      for (let s = 0; s + 100 <= b.close.length; s += 37) {
        const [h, l, c] = [b.high.slice(s, s + 100), b.low.slice(s, s + 100), b.close.slice(s, s + 100)];
        const last = wilderAtr(h, l, c, 100, 14, out);
        const lib = ATR.calculate({ high: h, low: l, close: c, period: 14 });
        expect(lib.length).toBe(86);
        for (let k = 0; k < 86; k++) worst = Math.max(worst, relErr(out[k]!, lib[k]!));
        worst = Math.max(worst, relErr(last, lib[85]!));
        compared += 86;
      }
    }
    expect(compared).toBeGreaterThan(40_000);
    expect(worst).toBeLessThan(TOL);
  });

  it('the slope equals simple-statistics linearRegression over windows of 20 closes', () => {
    let compared = 0;
    let worst = 0;
    for (const b of ALL) {
      for (let s = 0; s + 20 <= b.close.length; s += 3) {
        // x = the bar's own index (not 0..19): the library centres x itself.
        const m = linearRegression(b.close.slice(s, s + 20).map((y, i) => [s + i, y])).m;
        // A window flat to rounding has a slope of ~1e-16 x its level: compared against the level.
        worst = Math.max(worst, relErr(slope(b.close, s, 20), m, 1e-6 * b.close[s]!));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(8000);
    expect(worst).toBeLessThan(TOL);
  });

  it('Bollinger bands equal technicalindicators BollingerBands (20 closes, 2 deviations)', () => {
    let compared = 0;
    let worst = 0;
    for (const b of ALL) {
      const lib = BollingerBands.calculate({ period: 20, values: b.close, stdDev: 2 });
      expect(lib.length).toBe(b.close.length - 19);
      for (let s = 0; s + 20 <= b.close.length; s++) {
        const ours = bollinger(b.close, s, 20, 2);
        const r = lib[s]!;
        worst = Math.max(worst, relErr(ours.middle, r.middle), relErr(ours.upper, r.upper), relErr(ours.lower, r.lower));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(25_000);
    expect(worst).toBeLessThan(TOL);
  });
});

describe('the engine against the libraries', () => {
  it('every snapshot along each series agrees with ATR, linearRegression and BollingerBands', () => {
    const counts: Record<string, number> = {};
    let snapshots = 0;
    let worst = 0;
    for (const b of ALL) {
      const e = new RegimeEngine({ ttlMs: 0, maxBars: 100 });
      const n = Math.min(b.close.length, 1500);
      for (let i = 0; i < n; i++) {
        expect(e.onBar('S', { open: b.open[i]!, high: b.high[i]!, low: b.low[i]!, close: b.close[i]!, timestampMs: i * 86_400_000 })).toBe(true);
        if (i < 20) continue; // neutral: fewer than 21 bars
        const s = e.snapshot('S');
        const from = Math.max(0, i - 99);
        const [h, l, c] = [b.high.slice(from, i + 1), b.low.slice(from, i + 1), b.close.slice(from, i + 1)];
        const last = c[c.length - 1]!;
        const atrs = ATR.calculate({ high: h, low: l, close: c, period: 14 });
        const atrPcts = atrs.map((a, k) => (a / c[14 + k]!) * 100);
        const velocity = (linearRegression(c.slice(-20).map((y, k) => [k, y])).m / last) * 100;
        const bands = BollingerBands.calculate({ period: 20, values: c.slice(-21, -1), stdDev: 2 })[0]!;
        const trend = velocity > 0.05 ? 'up' : velocity < -0.05 ? 'down' : 'flat';
        const lastPct = atrPcts[atrPcts.length - 1]!;
        const others = atrPcts.slice(0, -1);
        const rank = (others.filter((v) => v < lastPct).length + others.filter((v) => v === lastPct).length / 2) / others.length;
        const volatility = atrPcts.length < 10 ? 'normal' : rank > 0.8 ? 'high' : rank < 0.2 ? 'low' : 'normal';
        const structure = last > bands.upper || last < bands.lower ? 'breakout' : trend !== 'flat' ? 'trending' : 'range';
        expect([s.neutral, s.bars, s.lastClose, s.trend, s.volatility, s.structure]).toEqual([false, c.length, last, trend, volatility, structure]);
        worst = Math.max(worst, relErr(s.atrPct, lastPct), relErr(s.velocityPct, velocity, 1e-6));
        for (const k of [s.trend, s.volatility, s.structure]) counts[k] = (counts[k] ?? 0) + 1;
        snapshots++;
      }
    }
    expect(worst).toBeLessThan(TOL);
    expect(snapshots).toBeGreaterThan(6000);
    // Every class occurs on real data (the comparison above is not between two constants).
    expect(Object.keys(counts).sort()).toEqual(['breakout', 'down', 'flat', 'high', 'low', 'normal', 'range', 'trending', 'up']);
  });
});
