// Properties of the market regime engine (lib/regime) under arbitrary tick and bar streams and
// arbitrary configurations: no method throws, every snapshot is a valid frozen RegimeSnapshot,
// the statistics add up, the symbols stay within maxSymbols, and every answer (acceptance,
// snapshot, cache, LRU order, bars kept, sizing) equals a plain reference written below from the
// contract: arrays of bars, recomputed from scratch with straightforward loops.
//
// The reference uses the same formulas in the same order of operations as the engine (a centred
// least-squares slope, Wilder's recursion, population standard deviation), so equality is exact:
// what it checks is the bookkeeping (aggregation, ring buffers, ordering rules, cache, eviction).
// The formulas themselves are checked against technicalindicators and simple-statistics in
// test/regime-reference.test.ts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { ErrorCode } from '../lib/errors';
import { RegimeEngine, type RegimeConfig, type RegimeSnapshot, type RegimeStats, type TickRejection } from '../lib/regime';

// ---------------------------------------------------------------- the reference, from the contract

interface RefCfg {
  barPeriodMs: number; maxBars: number; slopePeriod: number; atrPeriod: number; bandPeriod: number;
  bandWidth: number; flatVelocityPct: number; ttlMs: number; maxSymbols: number;
}
interface RefBar { h: number; l: number; c: number }
interface RefSym {
  bars: RefBar[];
  forming: RefBar | null;
  lastBarStart: number;
  lastTs: number;
  lastPrice: number;
  version: number;
  cache: { version: number; snap: RegimeSnapshot } | null;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

function refConfig(raw: Partial<RefCfg>): RefCfg {
  const p = (v: number | undefined, d: number) => clamp(v ?? d, 5, 9999);
  const slopePeriod = p(raw.slopePeriod, 20);
  const atrPeriod = p(raw.atrPeriod, 14);
  const bandPeriod = p(raw.bandPeriod, 20);
  return {
    barPeriodMs: clamp(raw.barPeriodMs ?? 60_000, 1, 86_400_000),
    maxBars: clamp(raw.maxBars ?? 100, Math.max(slopePeriod, atrPeriod, bandPeriod) + 1, 10_000),
    slopePeriod, atrPeriod, bandPeriod,
    bandWidth: clamp(raw.bandWidth ?? 2, 0.5, 5),
    flatVelocityPct: clamp(raw.flatVelocityPct ?? 0.05, 0, 100),
    ttlMs: clamp(raw.ttlMs ?? 1000, 0, 3_600_000),
    maxSymbols: clamp(raw.maxSymbols ?? 10_000, 1, 1_000_000),
  };
}

const isSymbol = (s: unknown): s is string => typeof s === 'string' && s.length >= 1 && s.length <= 128;
const isPrice = (p: unknown): p is number => typeof p === 'number' && Number.isFinite(p) && p > 0;
const isTime = (t: unknown): t is number => typeof t === 'number' && Number.isFinite(t) && t >= 0 && t <= 8.64e15;

function neutral(symbol: string, reason: string, bars: number, lastClose: number | null, at: number): RegimeSnapshot {
  return { symbol, trend: 'flat', velocityPct: 0, volatility: 'normal', atrPct: 0, structure: 'range', bars, lastClose, computedAt: at, fromCache: false, neutral: true, reason };
}

function refCompute(cfg: RefCfg, symbol: string, bars: RefBar[], at: number): RegimeSnapshot {
  const n = bars.length;
  const need = Math.max(cfg.slopePeriod, cfg.atrPeriod + 1, cfg.bandPeriod + 1);
  const closes = bars.map((b) => b.c);
  const last = closes[n - 1]!;
  if (n < need) return neutral(symbol, `insufficient data: ${n} closed bars, ${need} needed`, n, n > 0 ? last : null, at);
  // Trend: least squares over the last slopePeriod closes, centred.
  const ys = closes.slice(n - cfg.slopePeriod);
  let sum = 0;
  for (const y of ys) sum += y;
  const yMean = sum / ys.length;
  const xMean = (ys.length - 1) / 2;
  let num = 0;
  let den = 0;
  ys.forEach((y, i) => {
    num += (i - xMean) * (y - yMean);
    den += (i - xMean) * (i - xMean);
  });
  const velocityPct = (num / den / last) * 100;
  // Wilder's ATR over every bar kept, as a share of each bar's close.
  const trs: number[] = [];
  for (let i = 1; i < n; i++) trs.push(Math.max(bars[i]!.h - bars[i]!.l, Math.abs(bars[i]!.h - closes[i - 1]!), Math.abs(bars[i]!.l - closes[i - 1]!)));
  let s0 = 0;
  for (let i = 0; i < cfg.atrPeriod; i++) s0 += trs[i]!;
  const atrs = [s0 / cfg.atrPeriod];
  for (let i = cfg.atrPeriod; i < trs.length; i++) atrs.push((atrs[atrs.length - 1]! * (cfg.atrPeriod - 1) + trs[i]!) / cfg.atrPeriod);
  const atrPcts = atrs.map((a, k) => (a / closes[cfg.atrPeriod + k]!) * 100);
  const atrPct = atrPcts[atrPcts.length - 1]!;
  // Bands of the bandPeriod closes before the last.
  const win = closes.slice(n - 1 - cfg.bandPeriod, n - 1);
  let bs = 0;
  for (const y of win) bs += y;
  const mid = bs / win.length;
  let ss = 0;
  for (const y of win) ss += (y - mid) * (y - mid);
  const sd = Math.sqrt(ss / win.length);
  const upper = mid + cfg.bandWidth * sd;
  const lower = mid - cfg.bandWidth * sd;
  if (![velocityPct, atrPct, upper, lower].every(Number.isFinite)) return neutral(symbol, 'indicators not finite: prices out of range', n, last, at);
  const trend = velocityPct > cfg.flatVelocityPct ? 'up' : velocityPct < -cfg.flatVelocityPct ? 'down' : 'flat';
  let volatility: RegimeSnapshot['volatility'] = 'normal';
  if (atrPcts.length >= 10) {
    const others = atrPcts.slice(0, -1);
    const rank = (others.filter((v) => v < atrPct).length + others.filter((v) => v === atrPct).length / 2) / others.length;
    volatility = rank > 0.8 ? 'high' : rank < 0.2 ? 'low' : 'normal';
  }
  const structure = last > upper || last < lower ? 'breakout' : trend !== 'flat' ? 'trending' : 'range';
  return { symbol, trend, velocityPct, volatility, atrPct, structure, bars: n, lastClose: last, computedAt: at, fromCache: false, neutral: false, reason: null };
}

const FACTORS = { high: 0.6, low: 1.15, normal: 1, breakout: 1.1, range: 0.85, trending: 1 } as const;

function refAdjust(qty: unknown, s: RegimeSnapshot, maxQty: unknown): number {
  const cap = typeof maxQty === 'number' && maxQty >= 1 ? Math.min(Math.floor(maxQty), Number.MAX_SAFE_INTEGER) : 1;
  if (typeof qty !== 'number' || !Number.isFinite(qty) || qty <= 0) return 1;
  const f = s.neutral ? 1 : FACTORS[s.volatility] * FACTORS[s.structure];
  return clamp(Math.round(qty * f), 1, cap);
}

class Reference {
  readonly syms = new Map<string, RefSym>();
  /** Most recently used first. */
  order: string[] = [];
  readonly stats: Omit<RegimeStats, 'computeUs'> = {
    symbols: 0, ticks: 0, bars: 0, hits: 0, misses: 0, evictions: 0, rejectedTicks: 0, rejectedBars: 0,
    rejected: { 'invalid-symbol': 0, 'invalid-price': 0, 'invalid-timestamp': 0, 'out-of-order': 0, duplicate: 0, error: 0 },
    neutral: 0, errors: 0,
  };

  constructor(readonly cfg: RefCfg) {}

  tick(sym: unknown, price: unknown, ts: unknown): boolean {
    const no = (r: TickRejection) => {
      this.stats.rejectedTicks++;
      this.stats.rejected[r]++;
      return false;
    };
    if (!isSymbol(sym)) return no('invalid-symbol');
    if (!isPrice(price)) return no('invalid-price');
    if (!isTime(ts)) return no('invalid-timestamp');
    const s = this.syms.get(sym);
    if (s !== undefined && ts < s.lastTs) return no('out-of-order');
    if (s !== undefined && ts === s.lastTs && price === s.lastPrice) return no('duplicate');
    const start = Math.floor(ts / this.cfg.barPeriodMs) * this.cfg.barPeriodMs;
    if (s !== undefined && s.forming !== null && start === s.lastBarStart) {
      s.forming = { h: Math.max(s.forming.h, price), l: Math.min(s.forming.l, price), c: price };
    } else if (s === undefined || start > s.lastBarStart) {
      const t = s ?? this.create(sym);
      if (t.forming !== null) this.close(t, t.forming);
      t.forming = { h: price, l: price, c: price };
      t.lastBarStart = start;
    } else return no('out-of-order');
    const t = this.syms.get(sym)!;
    t.lastTs = ts;
    t.lastPrice = price;
    this.touch(sym);
    this.stats.ticks++;
    return true;
  }

  bar(sym: unknown, b: { open: unknown; high: unknown; low: unknown; close: unknown; timestampMs: unknown } | null): boolean {
    const no = (r: TickRejection) => {
      this.stats.rejectedBars++;
      this.stats.rejected[r]++;
      return false;
    };
    if (!isSymbol(sym)) return no('invalid-symbol');
    if (b === null) return no('invalid-price');
    const { open, high, low, close, timestampMs } = b;
    if (!isPrice(open) || !isPrice(high) || !isPrice(low) || !isPrice(close)) return no('invalid-price');
    if (high < Math.max(open, close) || low > Math.min(open, close)) return no('invalid-price');
    if (!isTime(timestampMs)) return no('invalid-timestamp');
    const existing = this.syms.get(sym);
    if (existing !== undefined && !(timestampMs > existing.lastBarStart)) return no('out-of-order');
    const s = existing ?? this.create(sym);
    if (s.forming !== null) this.close(s, s.forming);
    s.forming = null;
    this.close(s, { h: high, l: low, c: close });
    s.lastBarStart = timestampMs;
    this.touch(sym);
    return true;
  }

  snapshot(sym: unknown, now: number): RegimeSnapshot {
    let out: RegimeSnapshot;
    const s = isSymbol(sym) ? this.syms.get(sym) : undefined;
    if (!isSymbol(sym)) out = neutral(typeof sym === 'string' ? sym : '', 'invalid symbol', 0, null, now);
    else if (s === undefined) out = neutral(sym, 'no bars for this symbol', 0, null, now);
    else if (s.cache !== null && s.cache.version === s.version && now - s.cache.snap.computedAt >= 0 && now - s.cache.snap.computedAt < this.cfg.ttlMs) {
      this.stats.hits++;
      out = { ...s.cache.snap, fromCache: true };
    } else {
      this.stats.misses++;
      out = refCompute(this.cfg, sym, s.bars, now);
      s.cache = { version: s.version, snap: out };
    }
    if (out.neutral) this.stats.neutral++;
    return out;
  }

  forget(sym: unknown): boolean {
    if (!isSymbol(sym) || !this.syms.has(sym)) return false;
    this.syms.delete(sym);
    this.order = this.order.filter((x) => x !== sym);
    this.stats.symbols--;
    return true;
  }

  private create(sym: string): RefSym {
    if (this.syms.size >= this.cfg.maxSymbols) {
      this.syms.delete(this.order.pop()!);
      this.stats.evictions++;
      this.stats.symbols--;
    }
    const s: RefSym = { bars: [], forming: null, lastBarStart: -Infinity, lastTs: -Infinity, lastPrice: NaN, version: 0, cache: null };
    this.syms.set(sym, s);
    this.order.unshift(sym);
    this.stats.symbols++;
    return s;
  }

  private close(s: RefSym, b: RefBar): void {
    s.bars.push(b);
    if (s.bars.length > this.cfg.maxBars) s.bars.shift();
    s.version++;
    this.stats.bars++;
  }

  private touch(sym: string): void {
    this.order = [sym, ...this.order.filter((x) => x !== sym)];
  }
}

// ---------------------------------------------------------------- arbitraries

const LONG = 'z'.repeat(100_000);
const symbolArb = fc.oneof(
  { weight: 10, arbitrary: fc.constant('A') }, // one busy symbol: long histories
  { weight: 6, arbitrary: fc.constantFrom('B', '__proto__', 'constructor') },
  { weight: 1, arbitrary: fc.constantFrom<unknown>('', 'x'.repeat(129), 'y'.repeat(128), LONG, 'hasOwnProperty', 5, null, undefined, {}) },
);
const SPECIAL_PRICES: unknown[] = [NaN, Infinity, -Infinity, 0, -0, -1, 5e-324, 1e-310, 2.2250738585072014e-308, 1e308, Number.MAX_VALUE, '7'];
const priceArb = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: 95, max: 105 }) },
  { weight: 1, arbitrary: fc.constantFrom(60, 150) }, // jumps: high volatility, breakouts
  { weight: 4, arbitrary: fc.double({ min: 0.5, max: 200, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(...SPECIAL_PRICES) },
);
/** A step of market time (negative: one tick in the past), or a timestamp that is not one. */
const dtArb = fc.oneof(
  { weight: 12, arbitrary: fc.integer({ min: 0, max: 12 }) },
  { weight: 2, arbitrary: fc.integer({ min: -6, max: -1 }) },
  { weight: 1, arbitrary: fc.constantFrom<number | string>(NaN, Infinity, -1e9, 1e16, 0.5, 'str') },
);
const extraArb = fc.constantFrom(0, 0.5, 2, -0.5);

const opArb = fc.oneof(
  { weight: 10, arbitrary: fc.record({ k: fc.constant('tick' as const), sym: symbolArb, price: priceArb, dt: dtArb }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('bar' as const), sym: symbolArb, open: priceArb, close: priceArb, up: extraArb, down: extraArb, dt: dtArb, none: fc.integer({ min: 0, max: 19 }).map((x) => x === 0) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('snap' as const), sym: symbolArb, qty: fc.constantFrom<unknown>(1, 3, 10, 100, 0.4, 1e308, 0, -2, NaN, Infinity, '5'), maxQty: fc.constantFrom<unknown>(undefined, Infinity, 1, 50, 0.5, NaN, -3) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('clock' as const), dt: fc.integer({ min: -20, max: 60 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('forget' as const), sym: symbolArb }) },
);

const configFields = {
  barPeriodMs: fc.integer({ min: 0, max: 10 }),
  maxBars: fc.integer({ min: 0, max: 60 }),
  slopePeriod: fc.integer({ min: 2, max: 8 }),
  atrPeriod: fc.integer({ min: 2, max: 8 }),
  bandPeriod: fc.integer({ min: 2, max: 8 }),
  bandWidth: fc.double({ min: 0.1, max: 6, noNaN: true }),
  flatVelocityPct: fc.double({ min: -1, max: 2, noNaN: true }),
  ttlMs: fc.integer({ min: -5, max: 40 }),
  maxSymbols: fc.integer({ min: 0, max: 4 }),
};
// Mostly short periods and bars (so snapshots get past the minimum bars), sometimes any subset
// of keys (the defaults: 21 bars of a minute needed).
const configArb = fc.oneof(
  { weight: 4, arbitrary: fc.record(configFields, { requiredKeys: ['barPeriodMs', 'slopePeriod', 'atrPeriod', 'bandPeriod'] }) },
  { weight: 1, arbitrary: fc.record(configFields, { requiredKeys: [] }) },
);

const TRENDS = ['up', 'down', 'flat'];
const VOLS = ['low', 'normal', 'high'];
const STRUCTS = ['breakout', 'range', 'trending'];

function checkValid(s: RegimeSnapshot): void {
  expect(Object.isFrozen(s)).toBe(true);
  expect(typeof s.symbol).toBe('string');
  expect([TRENDS.includes(s.trend), VOLS.includes(s.volatility), STRUCTS.includes(s.structure)]).toEqual([true, true, true]);
  expect([s.velocityPct, s.atrPct, s.computedAt, s.bars].every(Number.isFinite)).toBe(true);
  expect(Number.isInteger(s.bars) && s.bars >= 0).toBe(true);
  expect(s.lastClose === null || (Number.isFinite(s.lastClose) && s.lastClose > 0)).toBe(true);
  expect(s.neutral ? typeof s.reason === 'string' && s.reason.length > 0 : s.reason === null).toBe(true);
  expect(!s.neutral || (s.trend === 'flat' && s.volatility === 'normal' && s.structure === 'range' && s.velocityPct === 0 && s.atrPct === 0)).toBe(true);
}

// ---------------------------------------------------------------- properties

describe('regime engine properties', () => {
  it('never throws, stays valid and bounded, and equals the reference', () => {
    let nonNeutral = 0;
    let hits = 0;
    const seen = new Map<string, number>();
    const kinds = { tick: 0, bar: 0, snap: 0, clock: 0, forget: 0 };
    fc.assert(
      fc.property(configArb, fc.constantFrom(1, 1e-4), fc.array(opArb, { minLength: 20, maxLength: 250, size: 'max' }), (raw, calm, ops) => {
        let now = 1_000_000;
        const engine = new RegimeEngine({ ...(raw as RegimeConfig), clock: () => now });
        const ref = new Reference(refConfig(raw));
        const { sizeFactors: _f, clock: _c, minBars: _m, ...resolved } = engine.config;
        expect(resolved).toEqual(ref.cfg);
        // A calm run (calm 1e-4) squeezes the ordinary prices towards 100: flat trends and ranges.
        const px = (p: unknown) => (typeof p === 'number' && p >= 0.5 && p <= 200 ? 100 + (p - 100) * calm : p);
        let t = 0;
        let tickCalls = 0;
        const time = (dt: number | string): unknown => {
          if (typeof dt !== 'number' || !Number.isInteger(dt) || Math.abs(dt) > 100) return dt === 0.5 ? (t += 0.5) : dt;
          const ts = t + dt;
          if (dt >= 0) t = ts;
          return ts;
        };
        for (const op of ops) {
          kinds[op.k]++;
          if (op.k === 'tick') {
            const ts = time(op.dt);
            tickCalls++;
            const price = px(op.price);
            expect(engine.onTick(op.sym as string, price as number, ts as number)).toBe(ref.tick(op.sym, price, ts));
          } else if (op.k === 'bar') {
            const [open, close] = [px(op.open), px(op.close)];
            const num = typeof open === 'number' && typeof close === 'number';
            const [up, down] = [op.up * calm, op.down * calm];
            const b = op.none
              ? null
              : { open, close, high: num ? Math.max(open, close) + up : open, low: num ? Math.min(open, close) - down : close, timestampMs: time(op.dt) };
            expect(engine.onBar(op.sym as string, b as never)).toBe(ref.bar(op.sym, b));
          } else if (op.k === 'snap') {
            const s = engine.snapshot(op.sym as string);
            checkValid(s);
            expect(s).toEqual(ref.snapshot(op.sym, now));
            const f = engine.sizeFactor(s);
            expect(f >= 0.51 && f <= 1.265).toBe(true);
            const q = op.maxQty === undefined ? engine.adjustQuantity(op.qty as number, s) : engine.adjustQuantity(op.qty as number, s, op.maxQty as number);
            expect(q).toBe(refAdjust(op.qty, s, op.maxQty ?? Infinity));
            expect(Number.isSafeInteger(q) && q >= 1).toBe(true);
            if (!s.neutral) {
              nonNeutral++;
              for (const c of [s.trend, s.volatility, s.structure]) seen.set(c, (seen.get(c) ?? 0) + 1);
            }
            if (s.fromCache) hits++;
          } else if (op.k === 'clock') now += op.dt;
          else expect(engine.forget(op.sym as string)).toBe(ref.forget(op.sym));
          const st = engine.stats();
          expect(st.ticks + st.rejectedTicks).toBe(tickCalls);
          expect(st.symbols).toBeLessThanOrEqual(ref.cfg.maxSymbols);
          expect(Object.values(st.rejected).reduce((a, b) => a + b, 0)).toBe(st.rejectedTicks + st.rejectedBars);
        }
        const { computeUs, ...st } = engine.stats();
        expect(st).toEqual(ref.stats);
        expect(computeUs >= 0 && Number.isFinite(computeUs)).toBe(true);
        expect(engine.symbols()).toEqual(ref.order);
        expect(ref.order.map((s) => engine.barsOf(s))).toEqual(ref.order.map((s) => {
          const b = ref.syms.get(s)!.bars;
          return { high: b.map((x) => x.h), low: b.map((x) => x.l), close: b.map((x) => x.c) };
        }));
      }),
      // A fixed seed: the coverage checks below must not depend on the draw (a random one missed
      // the 'high' class about once in seven runs); a failure still prints its counterexample.
      { numRuns: 400, seed: 20261130 },
    );
    // The runs reached the interesting states (otherwise the equality above proved little).
    expect(nonNeutral).toBeGreaterThan(100);
    expect(hits).toBeGreaterThan(100);
    // Every branch of the loop above ran, many times.
    expect(Object.values(kinds).every((n) => n > 1000)).toBe(true);
    expect([...seen.keys()].sort()).toEqual([...TRENDS, ...VOLS, ...STRUCTS].sort());
  });

  it('an invalid configuration is refused at construction with TG_INVALID_ARGUMENT, nothing later', () => {
    const NUMERIC = ['barPeriodMs', 'maxBars', 'slopePeriod', 'atrPeriod', 'bandPeriod', 'bandWidth', 'flatVelocityPct', 'ttlMs', 'maxSymbols'];
    const INTEGER = ['barPeriodMs', 'maxBars', 'slopePeriod', 'atrPeriod', 'bandPeriod', 'maxSymbols'];
    const FACTOR_BOUNDS: Record<string, [number, number]> = { highVolatility: [0.1, 1], lowVolatility: [1, 2], breakout: [1, 2], range: [0.1, 1] };
    const badValue = fc.constantFrom<unknown>(NaN, Infinity, -Infinity, '5', null, {}, true, [], 5n);
    const invalid = fc.oneof(
      fc.record({ key: fc.constantFrom(...NUMERIC), value: badValue }).map(({ key, value }) => ({ [key]: value })),
      fc.record({ key: fc.constantFrom(...INTEGER), value: fc.double({ min: -1e6, max: 1e6, noNaN: true }).filter((v) => !Number.isInteger(v)) }).map(({ key, value }) => ({ [key]: value })),
      fc.string({ minLength: 1, maxLength: 12 }).filter((k) => ![...NUMERIC, 'sizeFactors', 'clock'].includes(k)).map((k) => JSON.parse(JSON.stringify({ [k]: 1 })) as object),
      fc.record({ key: fc.constantFrom(...Object.keys(FACTOR_BOUNDS)), value: fc.double({ min: -10, max: 10, noNaN: true }) })
        .filter(({ key, value }) => value < FACTOR_BOUNDS[key]![0] || value > FACTOR_BOUNDS[key]![1])
        .map(({ key, value }) => ({ sizeFactors: { [key]: value } })),
      fc.record({ key: fc.constantFrom(...Object.keys(FACTOR_BOUNDS)), value: badValue }).map(({ key, value }) => ({ sizeFactors: { [key]: value } })),
      fc.constantFrom<unknown>(null, 5, 'config', [], { sizeFactors: null }, { sizeFactors: [] }, { clock: 'now' }, { clock: null }),
    );
    fc.assert(
      fc.property(configArb, invalid, (valid, bad) => {
        const config = typeof bad === 'object' && bad !== null && !Array.isArray(bad) ? { ...valid, ...bad } : bad;
        let err: unknown = null;
        try {
          new RegimeEngine(config as RegimeConfig);
        } catch (e) {
          err = e;
        }
        expect(err instanceof TypeError || err instanceof RangeError).toBe(true);
        expect((err as { code?: string }).code).toBe(ErrorCode.InvalidArgument);
      }),
      { numRuns: 500 },
    );
  });
});
