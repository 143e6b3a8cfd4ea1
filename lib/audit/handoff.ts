/**
 * The hot path's side of the audit trail: a bounded in-process buffer of pending items (what a
 * finished call leaves for its record) that a consumer turns into log entries on the next tick.
 * `push` is an array push and, once per tick, a setImmediate: well under a microsecond
 * (bench/scenarios/audit.mjs, "hand-off").
 *
 * Full buffer (`limit` items waiting, which only happens in a loop that never yields):
 * - 'block' (default): the caller drains the buffer itself before it returns, so nothing is
 *   lost and memory stays bounded; that one call pays for the records.
 * - 'drop': the item is refused and counted (`dropped`, and the consumer's `onDrop` gets the
 *   count so the log can write a gap entry): never a silent loss.
 */
export type HandoffFullPolicy = 'block' | 'drop';

export interface HandoffOptions<T> {
  /** Turns waiting items into log entries (called with a batch, in order). */
  drain: (items: T[]) => void;
  /** Items waiting before the policy applies (default 4096). */
  limit?: number;
  onFull?: HandoffFullPolicy;
  /** 'drop': told how many items were refused since the last call (the log records a gap). */
  onDrop?: (count: number) => void;
}

export class AuditHandoff<T> {
  readonly limit: number;
  readonly onFull: HandoffFullPolicy;
  #items: T[] = [];
  #scheduled = false;
  #dropped = 0;
  #droppedSinceReport = 0;
  readonly #drain: (items: T[]) => void;
  readonly #onDrop: ((count: number) => void) | null;

  constructor(options: HandoffOptions<T>) {
    const limit = options.limit ?? 4096;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${String(limit)}`);
    const onFull = options.onFull ?? 'block';
    if (onFull !== 'block' && onFull !== 'drop') throw new TypeError(`onFull must be 'block' or 'drop', got ${String(onFull)}`);
    this.limit = limit;
    this.onFull = onFull;
    this.#drain = options.drain;
    this.#onDrop = options.onDrop ?? null;
  }

  /** Hands an item over; false when it was refused ('drop' policy, buffer full). */
  push(item: T): boolean {
    if (this.#items.length >= this.limit) {
      if (this.onFull === 'drop') {
        this.#dropped++;
        this.#droppedSinceReport++;
        this.#schedule();
        return false;
      }
      this.drain();
    }
    this.#items.push(item);
    this.#schedule();
    return true;
  }

  /** Items waiting. */
  get pending(): number {
    return this.#items.length;
  }

  /** Items refused so far ('drop' policy). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Hands everything waiting to the consumer now (also done on the next tick by itself). */
  drain(): void {
    if (this.#droppedSinceReport > 0 && this.#onDrop) {
      const n = this.#droppedSinceReport;
      this.#droppedSinceReport = 0;
      this.#onDrop(n);
    }
    if (this.#items.length === 0) return;
    const batch = this.#items;
    this.#items = [];
    this.#drain(batch);
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#onTick);
  }

  readonly #onTick = (): void => {
    this.#scheduled = false;
    this.drain();
  };
}
