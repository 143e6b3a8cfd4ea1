/**
 * The regime engine's snapshot cache, one entry per bar-store slot: a snapshot is reused while
 * the slot's stamp is unchanged (no bar closed, the slot not handed to another symbol) and
 * 0 <= now - computedAt < ttlMs (a clock that stepped back does not keep an entry alive).
 * A hit returns one frozen copy marked fromCache, made on the first hit: later hits allocate nothing.
 */
import type { RegimeSnapshot } from './types';

export class SnapshotCache {
  private stamps: number[] = [];
  private fresh: (RegimeSnapshot | null)[] = [];
  private cached: (RegimeSnapshot | null)[] = [];

  constructor(private readonly ttlMs: number) {}

  get(slot: number, stamp: number, now: number): RegimeSnapshot | null {
    const f = slot < this.fresh.length ? this.fresh[slot]! : null;
    if (f === null || this.stamps[slot] !== stamp) return null;
    const age = now - f.computedAt;
    if (!(age >= 0 && age < this.ttlMs)) return null;
    return (this.cached[slot] ??= Object.freeze({ ...f, fromCache: true }));
  }

  set(slot: number, stamp: number, snapshot: RegimeSnapshot): void {
    // Slots are handed out in order: this pushes at most a few entries, and keeps the arrays dense.
    while (this.fresh.length <= slot) {
      this.stamps.push(-1);
      this.fresh.push(null);
      this.cached.push(null);
    }
    this.stamps[slot] = stamp;
    this.fresh[slot] = snapshot;
    this.cached[slot] = null;
  }
}
