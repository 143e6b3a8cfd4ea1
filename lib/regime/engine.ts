/**
 * The market regime engine: ticks and bars in, a per-symbol regime (trend, volatility class,
 * structure) out, and a position-size factor from it. Built for a trading engine's hot path:
 * construction is the only place it throws (a bad configuration); afterwards every method returns
 * (a rejection, counted by reason, or a neutral snapshot that sizes at 1), whatever it is given.
 *
 * - onTick aggregates ticks into bars of barPeriodMs (bar = floor(t / barPeriodMs)); a tick in a
 *   later bar closes the forming one. onBar adds a whole bar, closed at once.
 * - Rejections: 'invalid-symbol' (not a string of 1 to 128 UTF-16 units), 'invalid-price' (not a
 *   positive finite number; for a bar also high < max(open, close) or low > min(open, close)),
 *   'invalid-timestamp' (not a number in [0, 8.64e15], the Date range), 'out-of-order' (a tick
 *   before the last accepted one, or in a bar already closed; a bar not after the newest bar),
 *   'duplicate' (the last accepted tick again: same timestamp, same price), 'error' (caught).
 * - snapshot() computes from closed bars only (snapshot.ts says how and why) and reuses the result
 *   (fromCache) for ttlMs unless a bar closed since (cache.ts).
 * - Symbols are bounded by maxSymbols: the least recently used (by accepted ticks and bars; a
 *   snapshot is a read and does not count) is evicted with its bars.
 */
import { BarStore, TICK_ACCEPTED, TICK_DUPLICATE, type ClosedBars } from './bars';
import { SnapshotCache } from './cache';
import { resolveRegimeConfig, type ResolvedRegimeConfig } from './config';
import { computeSnapshot, neutralSnapshot, RegimeScratch } from './snapshot';
import { adjustQuantityOf, sizeFactorOf } from './sizing';
import type { Bar, RegimeConfig, RegimeSnapshot, RegimeStats, TickRejection } from './types';

export const MAX_SYMBOL_LENGTH = 128;
/** The largest epoch-ms a Date can hold. */
export const MAX_TIMESTAMP_MS = 8.64e15;

const validSymbol = (s: unknown): s is string => typeof s === 'string' && s.length > 0 && s.length <= MAX_SYMBOL_LENGTH;
const validPrice = (p: unknown): p is number => typeof p === 'number' && p > 0 && p < Infinity;
const validTimestamp = (t: unknown): t is number => typeof t === 'number' && t >= 0 && t <= MAX_TIMESTAMP_MS;

/** An error's message without trusting it (a thrown value's toString may throw too). */
function messageOf(err: unknown): string {
  try {
    return err instanceof Error ? err.message : String(err);
  } catch {
    return 'unprintable error';
  }
}

export class RegimeEngine {
  readonly config: ResolvedRegimeConfig;
  private readonly store: BarStore;
  private readonly cache: SnapshotCache;
  private readonly scratch: RegimeScratch;
  private readonly rejected: Record<TickRejection, number> = { 'invalid-symbol': 0, 'invalid-price': 0, 'invalid-timestamp': 0, 'out-of-order': 0, duplicate: 0, error: 0 };
  private ticks = 0;
  private rejectedTicks = 0;
  private rejectedBars = 0;
  private hits = 0;
  private misses = 0;
  private neutral = 0;
  private errors = 0;
  private computeUs = 0;

  /** Throws TG_INVALID_ARGUMENT on a bad configuration (config.ts); never afterwards. */
  constructor(config?: RegimeConfig) {
    this.config = resolveRegimeConfig(config);
    this.store = new BarStore(this.config.maxSymbols, this.config.maxBars, this.config.barPeriodMs);
    this.cache = new SnapshotCache(this.config.ttlMs);
    this.scratch = new RegimeScratch(this.config.maxBars);
  }

  /** True when the tick was accepted; false when rejected (counted in stats().rejected). */
  onTick(symbol: string, price: number, timestampMs: number): boolean {
    try {
      if (!validSymbol(symbol)) return this.rejectTick('invalid-symbol');
      if (!validPrice(price)) return this.rejectTick('invalid-price');
      if (!validTimestamp(timestampMs)) return this.rejectTick('invalid-timestamp');
      const outcome = this.store.tick(symbol, price, timestampMs);
      if (outcome === TICK_ACCEPTED) {
        this.ticks++;
        return true;
      }
      return this.rejectTick(outcome === TICK_DUPLICATE ? 'duplicate' : 'out-of-order');
    } catch {
      this.errors++;
      return this.rejectTick('error');
    }
  }

  /** A whole bar, closed at once: true when accepted; the same rules and counters as onTick. */
  onBar(symbol: string, bar: Bar): boolean {
    try {
      if (!validSymbol(symbol)) return this.rejectBar('invalid-symbol');
      if (typeof bar !== 'object' || bar === null) return this.rejectBar('invalid-price');
      // Each field read once: a getter is not asked twice for a value that was checked.
      const { open, high, low, close, timestampMs } = bar;
      if (!validPrice(open) || !validPrice(high) || !validPrice(low) || !validPrice(close)) return this.rejectBar('invalid-price');
      if (high < Math.max(open, close) || low > Math.min(open, close)) return this.rejectBar('invalid-price');
      if (!validTimestamp(timestampMs)) return this.rejectBar('invalid-timestamp');
      return this.store.bar(symbol, high, low, close, timestampMs) === TICK_ACCEPTED || this.rejectBar('out-of-order');
    } catch {
      this.errors++;
      return this.rejectBar('error');
    }
  }

  /** The symbol's regime: never throws; frozen; neutral (with a reason) when it cannot judge. */
  snapshot(symbol: string): RegimeSnapshot {
    const name = typeof symbol === 'string' ? symbol : '';
    let now = 0;
    try {
      now = this.now();
      if (!validSymbol(symbol)) return this.countNeutral(neutralSnapshot(name, 'invalid symbol', 0, null, now));
      const slot = this.store.slotOf(symbol);
      if (slot < 0) return this.countNeutral(neutralSnapshot(symbol, 'no bars for this symbol', 0, null, now));
      const stamp = this.store.stamp(slot);
      const hit = this.cache.get(slot, stamp, now);
      if (hit !== null) {
        this.hits++;
        return hit.neutral ? this.countNeutral(hit) : hit;
      }
      const t0 = performance.now();
      const fresh = computeSnapshot(symbol, this.store, slot, this.config, this.scratch, now);
      this.computeUs += (performance.now() - t0) * 1000;
      this.misses++;
      this.cache.set(slot, stamp, fresh);
      return fresh.neutral ? this.countNeutral(fresh) : fresh;
    } catch (err) {
      this.errors++;
      return this.countNeutral(neutralSnapshot(name, `error: ${messageOf(err)}`, 0, null, now));
    }
  }

  /** The sizing multiplier of a snapshot (sizing.ts); 1 for a neutral one or a non-snapshot. */
  sizeFactor(snapshot: RegimeSnapshot): number {
    try {
      return sizeFactorOf(snapshot, this.config.sizeFactors);
    } catch {
      this.errors++;
      return 1;
    }
  }

  /** round(qty x sizeFactor) within [1, floor(maxQty)]; never throws, never NaN (sizing.ts). */
  adjustQuantity(qty: number, snapshot: RegimeSnapshot, maxQty = Infinity): number {
    try {
      return adjustQuantityOf(qty, snapshot, maxQty, this.config.sizeFactors);
    } catch {
      this.errors++;
      return 1;
    }
  }

  /** Drops a symbol and its bars; false when it was not kept. */
  forget(symbol: string): boolean {
    return validSymbol(symbol) && this.store.forget(symbol);
  }

  /** The symbols kept, most recently used first. */
  symbols(): string[] {
    return this.store.symbols();
  }

  /** Copies of a symbol's closed bars, oldest first (the forming bar excluded); null if unknown. */
  barsOf(symbol: string): ClosedBars | null {
    if (!validSymbol(symbol)) return null;
    const slot = this.store.slotOf(symbol);
    return slot < 0 ? null : this.store.closedBars(slot);
  }

  /**
   * Counters: ticks are the accepted onTick calls, rejectedTicks and rejectedBars the rejected
   * onTick and onBar calls (`rejected` splits both by reason); bars the bars closed, from ticks
   * or given whole; hits and misses the snapshots of kept symbols reused or computed (computeUs
   * the time of the computations); neutral every neutral snapshot returned.
   */
  stats(): RegimeStats {
    return {
      symbols: this.store.size,
      ticks: this.ticks,
      bars: this.store.closed,
      hits: this.hits,
      misses: this.misses,
      evictions: this.store.evictions,
      rejectedTicks: this.rejectedTicks,
      rejectedBars: this.rejectedBars,
      rejected: { ...this.rejected },
      neutral: this.neutral,
      errors: this.errors,
      computeUs: this.computeUs,
    };
  }

  /** The configured clock; one that throws or is not finite counts an error and Date.now stands in. */
  private now(): number {
    let t: unknown;
    try {
      t = this.config.clock();
    } catch {
      t = NaN;
    }
    if (typeof t === 'number' && Number.isFinite(t)) return t;
    this.errors++;
    return Date.now();
  }

  private countNeutral(s: RegimeSnapshot): RegimeSnapshot {
    this.neutral++;
    return s;
  }

  private rejectTick(reason: TickRejection): false {
    this.rejectedTicks++;
    this.rejected[reason]++;
    return false;
  }

  private rejectBar(reason: TickRejection): false {
    this.rejectedBars++;
    this.rejected[reason]++;
    return false;
  }
}
