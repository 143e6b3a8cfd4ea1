// Exact values of the market regime engine (lib/regime): bar aggregation, every rejection reason,
// the snapshot cache with an injected clock, LRU eviction order, neutral reasons, the
// configuration's errors and clamps, and the sizing table. Each expectation is a value a wrong
// engine cannot produce.
import { describe, expect, it } from 'vitest';

import { ErrorCode } from '../lib/errors';
import { RegimeEngine, resolveRegimeConfig, type Bar, type RegimeConfig, type RegimeSnapshot, type Structure, type VolatilityClass } from '../lib/regime';

const MIN = 60_000;

function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string };
  }
  return expect.fail('expected an error, nothing was thrown');
}

/** Bars with close[i], high/low = close ± range, open = close, one a minute from minute `from`. */
function feed(e: RegimeEngine, symbol: string, closes: number[], range = 0.5, from = 0): boolean[] {
  return closes.map((c, i) => e.onBar(symbol, { open: c, high: c + range, low: c - range, close: c, timestampMs: (from + i) * MIN }));
}

const ramp = (from: number, n: number, step: number) => Array.from({ length: n }, (_, i) => from + i * step);
const alternating = (n: number) => Array.from({ length: n }, (_, i) => 100 + (i % 2));

function snap(volatility: VolatilityClass, structure: Structure, neutral = false): RegimeSnapshot {
  return Object.freeze({ symbol: 'S', trend: 'up', velocityPct: 1, volatility, atrPct: 1, structure, bars: 30, lastClose: 100, computedAt: 0, fromCache: false, neutral, reason: neutral ? 'x' : null });
}

describe('bar aggregation', () => {
  it('ticks across three bars give the exact high, low and close of each closed bar', () => {
    const e = new RegimeEngine({ barPeriodMs: 1000 });
    const ticks: [number, number][] = [
      [100, 0], [101, 200], [99, 500], [100.5, 999],
      [102, 1000], [103, 1500], [101.5, 1999],
      [100, 2000], [98, 2100], [99, 2999],
    ];
    expect(ticks.map(([p, t]) => e.onTick('A', p, t))).toEqual(Array(10).fill(true));
    // The third bar is still forming: two closed.
    expect(e.barsOf('A')).toEqual({ high: [101, 103], low: [99, 101.5], close: [100.5, 101.5] });
    expect(e.onTick('A', 105, 3000)).toBe(true);
    expect(e.barsOf('A')).toEqual({ high: [101, 103, 100], low: [99, 101.5, 98], close: [100.5, 101.5, 99] });
    const s = e.snapshot('A');
    expect([s.bars, s.lastClose, s.reason]).toEqual([3, 99, 'insufficient data: 3 closed bars, 21 needed']);
    expect(e.stats()).toMatchObject({ ticks: 11, bars: 3, symbols: 1, rejectedTicks: 0 });
  });

  it('a gap of several bars closes only the forming bar (no empty bars invented)', () => {
    const e = new RegimeEngine({ barPeriodMs: 1000 });
    e.onTick('B', 7, 10);
    e.onTick('B', 8, 5500);
    expect(e.barsOf('B')).toEqual({ high: [7], low: [7], close: [7] });
    expect(e.stats().bars).toBe(1);
  });

  it('onBar closes a forming bar first, then its own bar', () => {
    const e = new RegimeEngine({ barPeriodMs: 1000 });
    e.onTick('C', 5, 0);
    e.onTick('C', 6, 10);
    expect(e.onBar('C', { open: 6, high: 9, low: 4, close: 8, timestampMs: 1000 })).toBe(true);
    expect(e.barsOf('C')).toEqual({ high: [6, 9], low: [5, 4], close: [6, 8] });
  });

  it('keeps the last maxBars closed bars, oldest first', () => {
    const e = new RegimeEngine({ maxBars: 5 });
    expect(e.config.maxBars).toBe(21);
    feed(e, 'R', ramp(1, 25, 1));
    expect(e.barsOf('R')!.close).toEqual(ramp(5, 21, 1));
    expect(e.barsOf('R')!.high[0]).toBe(5.5);
    expect(e.snapshot('R').bars).toBe(21);
  });

  it('a snapshot leaves the forming bar out', () => {
    const e = new RegimeEngine();
    feed(e, 'U', ramp(100, 30, 1));
    e.onTick('U', 500, 30 * MIN);
    const s = e.snapshot('U');
    expect([s.bars, s.lastClose]).toEqual([30, 129]);
  });
});

describe('rejections, counted by reason', () => {
  it('every reason, exact counts', () => {
    const e = new RegimeEngine();
    const tick = (s: unknown, p: unknown, t: unknown) => e.onTick(s as string, p as number, t as number);
    const bar = (s: unknown, b: unknown) => e.onBar(s as string, b as Bar);
    const results = [
      // invalid-symbol x4
      tick('', 1, 0), tick('x'.repeat(129), 1, 0), tick(5, 1, 0), tick(null, 1, 0),
      // invalid-price x6
      tick('A', NaN, 0), tick('A', 0, 0), tick('A', -0, 0), tick('A', -1, 0), tick('A', Infinity, 0), tick('A', '1', 0),
      // invalid-timestamp x5
      tick('A', 1, NaN), tick('A', 1, -1), tick('A', 1, Infinity), tick('A', 1, 8.64e15 + 1), tick('A', 1, '0'),
      tick('A', 10, 1000), // accepted
      tick('A', 10, 1000), // duplicate
      tick('A', 11, 1000), // same time, new price: accepted
      tick('A', 11, 999), // out-of-order
      tick('y'.repeat(128), 1, 8.64e15), // accepted
      bar('A', { open: 10, high: 12, low: 9, close: 11, timestampMs: 2 * MIN }), // accepted (closes the forming bar)
      bar('A', { open: 10, high: 12, low: 9, close: 11, timestampMs: 2 * MIN }), // out-of-order (not after)
      bar('A', { open: 10, high: 12, low: 9, close: 11, timestampMs: MIN }), // out-of-order
      tick('A', 10, 2 * MIN + 500), // out-of-order: its bar was closed by onBar
      tick('A', 10, 3 * MIN), // accepted, forming
      bar('A', { open: 10, high: 10.5, low: 9, close: 11, timestampMs: 9 * MIN }), // invalid-price: high < close
      bar('A', { open: 10, high: 12, low: 10.5, close: 11, timestampMs: 9 * MIN }), // invalid-price: low > open
      bar('A', null), // invalid-price
      bar('A', { open: 10, high: NaN, low: 9, close: 11, timestampMs: 9 * MIN }), // invalid-price
      bar('A', { open: 0, high: 12, low: 9, close: 11, timestampMs: 9 * MIN }), // invalid-price
      bar('', { open: 10, high: 12, low: 9, close: 11, timestampMs: 9 * MIN }), // invalid-symbol
      bar('A', { open: 10, high: 12, low: 9, close: 11, timestampMs: -5 }), // invalid-timestamp
      bar('A', { get open(): number { throw new Error('boom'); }, high: 12, low: 9, close: 11, timestampMs: 9 * MIN }), // error
    ];
    expect(results.filter(Boolean).length).toBe(5);
    expect(e.stats()).toEqual({
      symbols: 2,
      ticks: 4,
      bars: 2,
      hits: 0,
      misses: 0,
      evictions: 0,
      rejectedTicks: 18,
      rejectedBars: 10,
      rejected: { 'invalid-symbol': 5, 'invalid-price': 11, 'invalid-timestamp': 6, 'out-of-order': 4, duplicate: 1, error: 1 },
      neutral: 0,
      errors: 1,
      computeUs: 0,
    });
    expect(e.symbols()).toEqual(['A', 'y'.repeat(128)]);
    // The forming bar of minute 0 (10 then 11) and the bar given whole.
    expect(e.barsOf('A')).toEqual({ high: [11, 12], low: [10, 9], close: [11, 11] });
  });
});

describe('regimes on constructed series', () => {
  it('a steady rise with a constant range: up, low, trending', () => {
    const e = new RegimeEngine();
    feed(e, 'U', ramp(100, 30, 1));
    const s = e.snapshot('U');
    expect(s).toEqual({
      symbol: 'U', trend: 'up', velocityPct: (1 / 129) * 100, volatility: 'low', atrPct: (1.5 / 129) * 100, structure: 'trending',
      bars: 30, lastClose: 129, computedAt: s.computedAt, fromCache: false, neutral: false, reason: null,
    });
    expect(Object.isFrozen(s)).toBe(true);
    expect(e.sizeFactor(s)).toBe(1.15);
  });

  it('a steady fall: down, high (the same ATR over lower prices), trending', () => {
    const e = new RegimeEngine();
    feed(e, 'D', ramp(129, 30, -1));
    const s = e.snapshot('D');
    expect([s.trend, s.velocityPct, s.volatility, s.atrPct, s.structure]).toEqual(['down', (-1 / 100) * 100, 'high', (1.5 / 100) * 100, 'trending']);
    expect(e.sizeFactor(s)).toBe(0.6);
  });

  it('an alternating series: flat, normal, range', () => {
    const e = new RegimeEngine();
    feed(e, 'R', alternating(30));
    const s = e.snapshot('R');
    expect([s.trend, s.velocityPct, s.volatility, s.atrPct, s.structure]).toEqual(['flat', (5 / 665 / 101) * 100, 'normal', (1.5 / 101) * 100, 'range']);
    expect(e.sizeFactor(s)).toBe(0.85);
  });

  it('a close above the band of the closes before it: breakout (and a high ATR)', () => {
    const e = new RegimeEngine();
    feed(e, 'B', [...alternating(29), 103]);
    const s = e.snapshot('B');
    expect([s.trend, s.volatility, s.structure]).toEqual(['flat', 'high', 'breakout']);
    expect(s.velocityPct).toBeCloseTo((24 / 665 / 103) * 100, 12);
    expect(s.atrPct).toBeCloseTo((23 / 14 / 103) * 100, 12);
    expect(e.sizeFactor(s)).toBe(0.6 * 1.1);
  });

  it('the last close is judged against the bands of the closes before it, not bands it moved', () => {
    // Prior bands: 100.5 ± 2 x 0.5 = [99.5, 101.5]. With 101.6 inside the window the upper band
    // would be 101.62 and this would read as a range.
    const e = new RegimeEngine();
    feed(e, 'B', [...alternating(29), 101.6]);
    const s = e.snapshot('B');
    expect([s.trend, s.structure]).toEqual(['flat', 'breakout']);
  });

  it('a flat history ranks in the middle (ties count half): normal, range', () => {
    const e = new RegimeEngine();
    feed(e, 'F', Array(30).fill(100));
    const s = e.snapshot('F');
    expect([s.trend, s.velocityPct, s.volatility, s.atrPct, s.structure]).toEqual(['flat', 0, 'normal', 1, 'range']);
  });

  it('fewer than 10 ATR values: normal, whatever the rank', () => {
    const e = new RegimeEngine();
    feed(e, 'U', ramp(100, 23, 1)); // 23 - 14 = 9 ATR values, falling as a share of the close
    expect(e.snapshot('U').volatility).toBe('normal');
    feed(e, 'V', ramp(100, 24, 1));
    expect(e.snapshot('V').volatility).toBe('low');
  });

  it('prices near 1e308 overflow the indicators: neutral, with the reason', () => {
    const e = new RegimeEngine();
    feed(e, 'H', ramp(1e307, 25, 1e306), 0);
    const s = e.snapshot('H');
    expect([s.neutral, s.reason, s.trend, s.velocityPct, s.atrPct, s.bars]).toEqual([true, 'indicators not finite: prices out of range', 'flat', 0, 0, 25]);
  });
});

describe('snapshot cache', () => {
  it('hit within ttlMs, miss at ttlMs, after a closed bar, and when the clock steps back', () => {
    let t = 5000;
    const e = new RegimeEngine({ clock: () => t });
    feed(e, 'U', ramp(100, 30, 1));
    const s1 = e.snapshot('U');
    expect([s1.fromCache, s1.computedAt]).toEqual([false, 5000]);
    const s2 = e.snapshot('U');
    expect(s2).toEqual({ ...s1, fromCache: true });
    expect(Object.isFrozen(s2)).toBe(true);
    expect(e.snapshot('U')).toBe(s2);
    t = 5999;
    expect(e.snapshot('U').fromCache).toBe(true);
    t = 6000;
    const s3 = e.snapshot('U');
    expect([s3.fromCache, s3.computedAt]).toEqual([false, 6000]);
    expect(e.stats()).toMatchObject({ hits: 3, misses: 2 });
    // A tick that opens a new bar closes nothing: still cached. The next bar's tick closes it.
    expect(e.onTick('U', 130, 30 * MIN + 10)).toBe(true);
    expect(e.snapshot('U').fromCache).toBe(true);
    expect(e.onTick('U', 131, 31 * MIN)).toBe(true);
    const s4 = e.snapshot('U');
    expect([s4.fromCache, s4.bars, s4.lastClose]).toEqual([false, 31, 130]);
    t = 5500; // back before computedAt
    expect(e.snapshot('U').fromCache).toBe(false);
    expect(e.stats()).toMatchObject({ hits: 4, misses: 4, neutral: 0 });
    expect(e.stats().computeUs).toBeGreaterThan(0);
  });

  it('ttlMs 0 never hits; neutral snapshots of kept symbols are cached and counted', () => {
    const e0 = new RegimeEngine({ ttlMs: 0, clock: () => 1 });
    feed(e0, 'U', ramp(100, 30, 1));
    expect([e0.snapshot('U').fromCache, e0.snapshot('U').fromCache]).toEqual([false, false]);
    expect(e0.stats()).toMatchObject({ hits: 0, misses: 2 });
    const e = new RegimeEngine({ clock: () => 1 });
    e.onTick('A', 1, 0);
    expect([e.snapshot('A').fromCache, e.snapshot('A').fromCache, e.snapshot('Z').fromCache]).toEqual([false, true, false]);
    expect(e.stats()).toMatchObject({ hits: 1, misses: 1, neutral: 3 });
  });

  it('a clock that is not finite or throws counts an error and Date.now stands in', () => {
    let bad: () => number = () => NaN;
    const e = new RegimeEngine({ clock: () => bad() });
    const before = Date.now();
    const s = e.snapshot('Z');
    bad = () => {
      throw new Error('clock down');
    };
    const s2 = e.snapshot('Z');
    const after = Date.now();
    expect(s.computedAt).toBeGreaterThanOrEqual(before);
    expect(s2.computedAt).toBeLessThanOrEqual(after);
    expect([s.reason, s2.reason, e.stats().errors]).toEqual(['no bars for this symbol', 'no bars for this symbol', 2]);
  });
});

describe('LRU eviction', () => {
  it('evicts the least recently accepted symbol; reads and rejections do not count as use', () => {
    const e = new RegimeEngine({ maxSymbols: 3, barPeriodMs: 1000 });
    for (const s of ['A', 'B', 'C']) e.onTick(s, 1, 0);
    expect(e.symbols()).toEqual(['C', 'B', 'A']);
    e.onTick('A', 1, 1);
    expect(e.symbols()).toEqual(['A', 'C', 'B']);
    e.onTick('D', 1, 0);
    e.onTick('D', 2, 1000);
    e.onTick('D', 3, 2000);
    expect(e.symbols()).toEqual(['D', 'A', 'C']);
    expect(e.snapshot('B').reason).toBe('no bars for this symbol');
    e.snapshot('C'); // a read
    e.onTick('E', 1, 0);
    expect(e.symbols()).toEqual(['E', 'D', 'A']);
    expect(e.onTick('A', 1, 1)).toBe(false); // a duplicate
    e.onTick('F', 1, 0);
    expect(e.symbols()).toEqual(['F', 'E', 'D']);
    expect(e.stats()).toMatchObject({ evictions: 3, symbols: 3 });
    expect([e.forget('E'), e.forget('E'), e.forget('' as string)]).toEqual([true, false, false]);
    expect(e.symbols()).toEqual(['F', 'D']);
    e.onTick('G', 1, 0);
    expect(e.symbols()).toEqual(['G', 'F', 'D']);
    expect(e.stats().evictions).toBe(3);
    // H takes D's slot: none of D's two closed bars may show through.
    expect(e.barsOf('D')!.close).toEqual([1, 2]);
    e.onTick('H', 9, 0);
    expect(e.symbols()).toEqual(['H', 'G', 'F']);
    expect(e.barsOf('H')).toEqual({ high: [], low: [], close: [] });
    expect(e.barsOf('D')).toBe(null);
    e.onTick('H', 8, 1000);
    expect(e.barsOf('H')).toEqual({ high: [9], low: [9], close: [9] });
    expect(e.snapshot('H').bars).toBe(1);
    expect(e.stats()).toMatchObject({ evictions: 4, symbols: 3 });
  });
});

describe('neutral snapshots', () => {
  const neutral = (symbol: string, reason: string, bars = 0, lastClose: number | null = null) => ({
    symbol, trend: 'flat', velocityPct: 0, volatility: 'normal', atrPct: 0, structure: 'range', bars, lastClose, computedAt: 7, fromCache: false, neutral: true, reason,
  });

  it('exact reasons', () => {
    const e = new RegimeEngine({ clock: () => 7 });
    expect(e.snapshot('')).toEqual(neutral('', 'invalid symbol'));
    expect(e.snapshot(5 as unknown as string)).toEqual(neutral('', 'invalid symbol'));
    expect(e.snapshot('x'.repeat(129))).toEqual(neutral('x'.repeat(129), 'invalid symbol'));
    expect(e.snapshot('__proto__')).toEqual(neutral('__proto__', 'no bars for this symbol'));
    e.onTick('A', 3, 0);
    expect(e.snapshot('A')).toEqual(neutral('A', 'insufficient data: 0 closed bars, 21 needed'));
    feed(e, 'B', ramp(100, 20, 1));
    expect(e.snapshot('B')).toEqual(neutral('B', 'insufficient data: 20 closed bars, 21 needed', 20, 119));
    feed(e, 'B', [120], 0.5, 20);
    expect([e.snapshot('B').neutral, e.snapshot('B').reason]).toEqual([false, null]);
    expect(e.sizeFactor(e.snapshot('A'))).toBe(1);
  });

  it('minimum bars: max(slopePeriod, atrPeriod + 1, bandPeriod + 1)', () => {
    const need = (c: RegimeConfig) => {
      const e = new RegimeEngine(c);
      e.onTick('A', 1, 0);
      return e.snapshot('A').reason;
    };
    expect(need({ slopePeriod: 30 })).toBe('insufficient data: 0 closed bars, 30 needed');
    expect(need({ atrPeriod: 40 })).toBe('insufficient data: 0 closed bars, 41 needed');
    expect(need({ bandPeriod: 9, slopePeriod: 9, atrPeriod: 5 })).toBe('insufficient data: 0 closed bars, 10 needed');
    expect(need({ bandPeriod: 5, slopePeriod: 8, atrPeriod: 5 })).toBe('insufficient data: 0 closed bars, 8 needed');
  });
});

describe('configuration', () => {
  const KNOWN = 'barPeriodMs, maxBars, slopePeriod, atrPeriod, bandPeriod, bandWidth, flatVelocityPct, ttlMs, maxSymbols, sizeFactors, clock';
  const cases: [string, unknown, 'TypeError' | 'RangeError', string][] = [
    ['unknown key', { foo: 1 }, 'RangeError', `RegimeEngine: unknown option foo (known: ${KNOWN})`],
    ['__proto__ as a key', JSON.parse('{"__proto__": 5}'), 'RangeError', `RegimeEngine: unknown option __proto__ (known: ${KNOWN})`],
    ['null config', null, 'TypeError', 'RegimeEngine: config must be an object, got null'],
    ['array config', [], 'TypeError', 'RegimeEngine: config must be an object, got array'],
    ['string period', { slopePeriod: '20' }, 'TypeError', 'RegimeEngine: slopePeriod must be a number, got string'],
    ['null width', { bandWidth: null }, 'TypeError', 'RegimeEngine: bandWidth must be a number, got null'],
    ['NaN period', { atrPeriod: NaN }, 'RangeError', 'RegimeEngine: atrPeriod must be finite, got NaN'],
    ['infinite ttl', { ttlMs: Infinity }, 'RangeError', 'RegimeEngine: ttlMs must be finite, got Infinity'],
    ['fractional maxBars', { maxBars: 50.5 }, 'RangeError', 'RegimeEngine: maxBars must be an integer, got 50.5'],
    ['fractional bar period', { barPeriodMs: 1.5 }, 'RangeError', 'RegimeEngine: barPeriodMs must be an integer, got 1.5'],
    ['clock not a function', { clock: 5 }, 'TypeError', 'RegimeEngine: clock must be a function, got number'],
    ['sizeFactors a number', { sizeFactors: 5 }, 'TypeError', 'RegimeEngine: sizeFactors must be an object, got number'],
    ['unknown factor', { sizeFactors: { big: 1 } }, 'RangeError', 'RegimeEngine: unknown size factor big (known: highVolatility, lowVolatility, breakout, range)'],
    ['high vol > 1', { sizeFactors: { highVolatility: 1.2 } }, 'RangeError', 'RegimeEngine: sizeFactors.highVolatility must be within [0.1, 1], got 1.2'],
    ['high vol < 0.1', { sizeFactors: { highVolatility: 0.05 } }, 'RangeError', 'RegimeEngine: sizeFactors.highVolatility must be within [0.1, 1], got 0.05'],
    ['low vol < 1', { sizeFactors: { lowVolatility: 0.9 } }, 'RangeError', 'RegimeEngine: sizeFactors.lowVolatility must be within [1, 2], got 0.9'],
    ['breakout > 2', { sizeFactors: { breakout: 2.5 } }, 'RangeError', 'RegimeEngine: sizeFactors.breakout must be within [1, 2], got 2.5'],
    ['range < 0.1', { sizeFactors: { range: 0.05 } }, 'RangeError', 'RegimeEngine: sizeFactors.range must be within [0.1, 1], got 0.05'],
    ['NaN factor', { sizeFactors: { range: NaN } }, 'RangeError', 'RegimeEngine: sizeFactors.range must be finite, got NaN'],
    ['string factor', { sizeFactors: { breakout: '1.1' } }, 'TypeError', 'RegimeEngine: sizeFactors.breakout must be a number, got string'],
  ];
  it.each(cases)('%s', (_name, config, cls, message) => {
    const err = thrown(() => new RegimeEngine(config as RegimeConfig));
    expect([err.constructor.name, err.message, err.code]).toEqual([cls, message, ErrorCode.InvalidArgument]);
  });

  it('defaults', () => {
    const c = resolveRegimeConfig();
    expect({ ...c, clock: null }).toEqual({
      barPeriodMs: 60_000, maxBars: 100, slopePeriod: 20, atrPeriod: 14, bandPeriod: 20, bandWidth: 2, flatVelocityPct: 0.05, ttlMs: 1000, maxSymbols: 10_000,
      sizeFactors: { highVolatility: 0.6, lowVolatility: 1.15, breakout: 1.1, range: 0.85 }, clock: null, minBars: 21,
    });
    expect(c.clock).toBe(Date.now);
    expect(Object.isFrozen(c)).toBe(true);
    expect(resolveRegimeConfig({ slopePeriod: undefined, sizeFactors: { range: undefined } }).slopePeriod).toBe(20);
  });

  const clamps: [RegimeConfig, Record<string, number>][] = [
    [{ slopePeriod: 2 }, { slopePeriod: 5, minBars: 21 }],
    [{ atrPeriod: -3 }, { atrPeriod: 5 }],
    [{ bandPeriod: 1e6 }, { bandPeriod: 9999, maxBars: 10_000, minBars: 10_000 }],
    [{ maxBars: 5 }, { maxBars: 21 }],
    [{ maxBars: 5, slopePeriod: 50 }, { maxBars: 51, minBars: 50 }],
    [{ maxBars: 1e9 }, { maxBars: 10_000 }],
    [{ maxSymbols: 0 }, { maxSymbols: 1 }],
    [{ maxSymbols: 1e7 }, { maxSymbols: 1_000_000 }],
    [{ ttlMs: -5 }, { ttlMs: 0 }],
    [{ ttlMs: 1e9 }, { ttlMs: 3_600_000 }],
    [{ barPeriodMs: 0 }, { barPeriodMs: 1 }],
    [{ barPeriodMs: 1e12 }, { barPeriodMs: 31_622_400_000 }],
    [{ bandWidth: 0.1 }, { bandWidth: 0.5 }],
    [{ bandWidth: 10 }, { bandWidth: 5 }],
    [{ flatVelocityPct: -1 }, { flatVelocityPct: 0 }],
    [{ flatVelocityPct: 1000 }, { flatVelocityPct: 100 }],
  ];
  it.each(clamps)('clamps %j', (config, expected) => {
    expect(resolveRegimeConfig(config)).toMatchObject(expected);
  });

  it('size factors at their bounds are accepted', () => {
    const c = resolveRegimeConfig({ sizeFactors: { highVolatility: 0.1, lowVolatility: 2, breakout: 1, range: 1 } });
    expect(c.sizeFactors).toEqual({ highVolatility: 0.1, lowVolatility: 2, breakout: 1, range: 1 });
    expect(resolveRegimeConfig({ sizeFactors: { highVolatility: 1, lowVolatility: 1, breakout: 2, range: 0.1 } }).sizeFactors).toEqual({ highVolatility: 1, lowVolatility: 1, breakout: 2, range: 0.1 });
  });
});

describe('sizing', () => {
  const e = new RegimeEngine();
  const table: [VolatilityClass, Structure, number][] = [
    ['high', 'breakout', 0.6 * 1.1],
    ['high', 'range', 0.6 * 0.85],
    ['high', 'trending', 0.6],
    ['normal', 'breakout', 1.1],
    ['normal', 'range', 0.85],
    ['normal', 'trending', 1],
    ['low', 'breakout', 1.15 * 1.1],
    ['low', 'range', 1.15 * 0.85],
    ['low', 'trending', 1.15],
  ];
  it.each(table)('%s volatility, %s: %d', (v, s, f) => {
    expect(e.sizeFactor(snap(v, s))).toBe(f);
  });

  it('neutral, invalid and foreign snapshots size at 1', () => {
    expect(e.sizeFactor(snap('high', 'range', true))).toBe(1);
    for (const bad of [null, undefined, 5, 'x', {}, { neutral: false, volatility: 'wild', structure: 'range' }, { neutral: false, volatility: 'high', structure: 'spiral' }]) {
      expect(e.sizeFactor(bad as unknown as RegimeSnapshot)).toBe(1);
    }
    const trap = new Proxy({}, { get: () => { throw new Error('trap'); } });
    expect(e.sizeFactor(trap as RegimeSnapshot)).toBe(1);
    expect(e.adjustQuantity(10, trap as RegimeSnapshot)).toBe(1);
    expect(e.stats().errors).toBe(2);
  });

  it('custom factors', () => {
    const c = new RegimeEngine({ sizeFactors: { highVolatility: 0.5, breakout: 2 } });
    expect([c.sizeFactor(snap('high', 'breakout')), c.sizeFactor(snap('low', 'range'))]).toEqual([1, 1.15 * 0.85]);
  });

  it('adjustQuantity: rounding, at least 1, the cap, invalid inputs', () => {
    const hr = snap('high', 'range'); // 0.51
    const lb = snap('low', 'breakout'); // 1.265
    const hb = snap('high', 'breakout'); // 0.66
    const rows: [number, RegimeSnapshot, number | undefined, number][] = [
      [100, hr, undefined, 51],
      [10, hb, undefined, 7], // 6.6
      [3, hr, undefined, 2], // 1.53
      [1, hr, undefined, 1], // 0.51 rounds to 1
      [0.4, hr, undefined, 1], // 0.204 rounds to 0: at least 1
      [2, lb, undefined, 3], // 2.53
      [100, lb, 120, 120], // 126.5 capped
      [100, lb, 120.9, 120],
      [100, lb, 0.5, 1],
      [100, lb, NaN, 1],
      [100, lb, -Infinity, 1],
      [100, lb, '200' as unknown as number, 1],
      [NaN, lb, undefined, 1],
      [-5, lb, undefined, 1],
      [0, lb, undefined, 1],
      [Infinity, lb, undefined, 1],
      ['5' as unknown as number, lb, undefined, 1],
      [1e308, lb, undefined, Number.MAX_SAFE_INTEGER],
      [17, snap('normal', 'range', true), undefined, 17],
      [17.4, null as unknown as RegimeSnapshot, undefined, 17],
    ];
    expect(rows.map(([q, s, m]) => (m === undefined ? e.adjustQuantity(q, s) : e.adjustQuantity(q, s, m)))).toEqual(rows.map((r) => r[3]));
  });
});
