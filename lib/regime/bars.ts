/**
 * Per-symbol bar storage for the regime engine: closed bars in ring buffers, the bar that ticks
 * are forming, the last accepted tick, and the least-recently-used order of the symbols.
 *
 * Everything per symbol lives at a slot index: scalars in typed arrays (grown by doubling up to
 * maxSymbols), the LRU order as an intrusive doubly-linked list over slot indices, so a tick is a
 * Map lookup and a few array writes (no allocation once the symbol exists). A slot's ring is one
 * Float64Array [high x maxBars | low x maxBars | close x maxBars], kept when the slot is reused.
 * The open is checked by the engine but not stored: no rule reads it.
 *
 * The caller (engine.ts) has validated symbol, prices and timestamps; this file only orders them.
 */

export const TICK_ACCEPTED = 0;
export const TICK_OUT_OF_ORDER = 1;
export const TICK_DUPLICATE = 2;
export type TickOutcome = typeof TICK_ACCEPTED | typeof TICK_OUT_OF_ORDER | typeof TICK_DUPLICATE;

const NONE = -1;
const INITIAL_CAPACITY = 64;

export interface ClosedBars {
  high: number[];
  low: number[];
  close: number[];
}

function grown<T extends Int32Array | Float64Array | Uint8Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

export class BarStore {
  private readonly index = new Map<string, number>();
  private names: string[] = [];
  private rings: Float64Array[] = [];
  private capacity: number;
  /** Slots handed out so far (0..allocated-1); freed ones wait in `free`. */
  private allocated = 0;
  private free: number[] = [];
  // LRU list: head is the most recently used, tail the next to evict.
  private prev: Int32Array;
  private next: Int32Array;
  private head = NONE;
  private tail = NONE;
  /** Closed bars kept (<= maxBars) and where the next one goes. */
  private count: Int32Array;
  private pos: Int32Array;
  /** Changes whenever a bar closes or the slot changes hands: the snapshot cache's key. */
  private stampOf: Float64Array;
  private lastStamp = 0;
  /** The newest bar's start, forming or closed (-Infinity: none). */
  private lastBarStart: Float64Array;
  private lastTickTs: Float64Array;
  private lastTickPrice: Float64Array;
  private forming: Uint8Array;
  private formingHigh: Float64Array;
  private formingLow: Float64Array;
  private formingClose: Float64Array;
  evictions = 0;
  /** Bars closed so far, from ticks or given whole. */
  closed = 0;

  constructor(
    readonly maxSymbols: number,
    readonly maxBars: number,
    readonly barPeriodMs: number,
  ) {
    this.capacity = Math.min(maxSymbols, INITIAL_CAPACITY);
    const c = this.capacity;
    this.prev = new Int32Array(c);
    this.next = new Int32Array(c);
    this.count = new Int32Array(c);
    this.pos = new Int32Array(c);
    this.stampOf = new Float64Array(c);
    this.lastBarStart = new Float64Array(c);
    this.lastTickTs = new Float64Array(c);
    this.lastTickPrice = new Float64Array(c);
    this.forming = new Uint8Array(c);
    this.formingHigh = new Float64Array(c);
    this.formingLow = new Float64Array(c);
    this.formingClose = new Float64Array(c);
  }

  get size(): number {
    return this.index.size;
  }

  /** The symbol's slot, or -1; does not count as a use. */
  slotOf(symbol: string): number {
    return this.index.get(symbol) ?? NONE;
  }

  /** Symbols from the most to the least recently used. */
  symbols(): string[] {
    const out: string[] = [];
    for (let s = this.head; s !== NONE; s = this.next[s]!) out.push(this.names[s]!);
    return out;
  }

  stamp(slot: number): number {
    return this.stampOf[slot]!;
  }

  closedCount(slot: number): number {
    return this.count[slot]!;
  }

  /** The ring of closed bars: high at [0, maxBars), low at [maxBars, 2 maxBars), close after. */
  ring(slot: number): Float64Array {
    return this.rings[slot]!;
  }

  /** Ring index of the oldest closed bar kept. */
  oldest(slot: number): number {
    const p = this.pos[slot]!;
    return this.count[slot]! < this.maxBars ? 0 : p;
  }

  lastClose(slot: number): number | null {
    const n = this.count[slot]!;
    if (n === 0) return null;
    const p = this.pos[slot]!;
    return this.rings[slot]![2 * this.maxBars + (p === 0 ? this.maxBars - 1 : p - 1)]!;
  }

  /** Copies of the closed bars kept, oldest first. */
  closedBars(slot: number): ClosedBars {
    const out: ClosedBars = { high: [], low: [], close: [] };
    const m = this.maxBars;
    const r = this.rings[slot]!;
    for (let i = 0, j = this.oldest(slot); i < this.count[slot]!; i++, j = j + 1 === m ? 0 : j + 1) {
      out.high.push(r[j]!);
      out.low.push(r[m + j]!);
      out.close.push(r[2 * m + j]!);
    }
    return out;
  }

  /** An accepted tick (price > 0, timestamp valid) or why not. Creates the symbol if new. */
  tick(symbol: string, price: number, ts: number): TickOutcome {
    let s = this.index.get(symbol);
    if (s === undefined) s = this.create(symbol);
    else {
      const last = this.lastTickTs[s]!;
      if (ts < last) return TICK_OUT_OF_ORDER;
      if (ts === last && price === this.lastTickPrice[s]) return TICK_DUPLICATE;
    }
    const start = Math.floor(ts / this.barPeriodMs) * this.barPeriodMs;
    const newest = this.lastBarStart[s]!;
    if (this.forming[s] === 1 && start === newest) {
      if (price > this.formingHigh[s]!) this.formingHigh[s] = price;
      if (price < this.formingLow[s]!) this.formingLow[s] = price;
      this.formingClose[s] = price;
    } else if (start > newest) {
      if (this.forming[s] === 1) this.push(s, this.formingHigh[s]!, this.formingLow[s]!, this.formingClose[s]!);
      this.forming[s] = 1;
      this.formingHigh[s] = this.formingLow[s] = this.formingClose[s] = price;
      this.lastBarStart[s] = start;
    } else return TICK_OUT_OF_ORDER; // the tick's bar was closed by onBar
    this.lastTickTs[s] = ts;
    this.lastTickPrice[s] = price;
    this.touch(s);
    return TICK_ACCEPTED;
  }

  /** A whole bar (checked by the caller) or TICK_OUT_OF_ORDER; closes a forming bar first. */
  bar(symbol: string, high: number, low: number, close: number, ts: number): TickOutcome {
    let s = this.index.get(symbol);
    if (s === undefined) s = this.create(symbol);
    else if (!(ts > this.lastBarStart[s]!)) return TICK_OUT_OF_ORDER;
    if (this.forming[s] === 1) {
      this.push(s, this.formingHigh[s]!, this.formingLow[s]!, this.formingClose[s]!);
      this.forming[s] = 0;
    }
    this.push(s, high, low, close);
    this.lastBarStart[s] = ts;
    this.touch(s);
    return TICK_ACCEPTED;
  }

  forget(symbol: string): boolean {
    const s = this.index.get(symbol);
    if (s === undefined) return false;
    this.unlink(s);
    this.index.delete(symbol);
    this.names[s] = '';
    this.free.push(s);
    return true;
  }

  private push(s: number, high: number, low: number, close: number): void {
    const m = this.maxBars;
    const r = this.rings[s]!;
    const p = this.pos[s]!;
    r[p] = high;
    r[m + p] = low;
    r[2 * m + p] = close;
    this.pos[s] = p + 1 === m ? 0 : p + 1;
    if (this.count[s]! < m) this.count[s]!++;
    this.stampOf[s] = ++this.lastStamp;
    this.closed++;
  }

  /** A slot for a new symbol: a freed one, a new one, or the least recently used one's. */
  private create(symbol: string): number {
    let s: number;
    if (this.free.length > 0) s = this.free.pop()!;
    else if (this.allocated < this.maxSymbols) {
      if (this.allocated === this.capacity) this.grow();
      s = this.allocated++;
      this.rings[s] = new Float64Array(3 * this.maxBars);
    } else {
      s = this.tail;
      this.unlink(s);
      this.index.delete(this.names[s]!);
      this.evictions++;
    }
    this.names[s] = symbol;
    this.index.set(symbol, s);
    this.count[s] = 0;
    this.pos[s] = 0;
    this.stampOf[s] = ++this.lastStamp;
    this.lastBarStart[s] = -Infinity;
    this.lastTickTs[s] = -Infinity;
    this.lastTickPrice[s] = NaN;
    this.forming[s] = 0;
    this.prev[s] = this.next[s] = NONE;
    this.pushFront(s);
    return s;
  }

  private grow(): void {
    const c = Math.min(this.maxSymbols, this.capacity * 2);
    this.prev = grown(this.prev, c);
    this.next = grown(this.next, c);
    this.count = grown(this.count, c);
    this.pos = grown(this.pos, c);
    this.stampOf = grown(this.stampOf, c);
    this.lastBarStart = grown(this.lastBarStart, c);
    this.lastTickTs = grown(this.lastTickTs, c);
    this.lastTickPrice = grown(this.lastTickPrice, c);
    this.forming = grown(this.forming, c);
    this.formingHigh = grown(this.formingHigh, c);
    this.formingLow = grown(this.formingLow, c);
    this.formingClose = grown(this.formingClose, c);
    this.capacity = c;
  }

  private touch(s: number): void {
    if (this.head === s) return;
    this.unlink(s);
    this.pushFront(s);
  }

  private unlink(s: number): void {
    const p = this.prev[s]!;
    const n = this.next[s]!;
    if (p !== NONE) this.next[p] = n;
    else this.head = n;
    if (n !== NONE) this.prev[n] = p;
    else this.tail = p;
    this.prev[s] = this.next[s] = NONE;
  }

  private pushFront(s: number): void {
    this.prev[s] = NONE;
    this.next[s] = this.head;
    if (this.head !== NONE) this.prev[this.head] = s;
    this.head = s;
    if (this.tail === NONE) this.tail = s;
  }
}
