import { ErrorCode, rangeError } from '../errors';

/**
 * A monotonic time source in milliseconds. The breaker reads it for call durations, the sliding
 * window and the open wait; injecting one makes every transition testable without sleeping.
 * `now()` must never go backwards (the breaker clamps a backwards step to no time passing).
 */
export interface Clock {
  now(): number;
}

/** The process' monotonic clock (`performance.now()`, ms, sub-millisecond resolution). */
export const systemClock: Clock = Object.freeze({
  now: (): number => performance.now(),
});

/** A clock that moves only when told: for tests and replays. */
export class ManualClock implements Clock {
  private t: number;

  constructor(start = 0) {
    if (!Number.isFinite(start)) throw rangeError(ErrorCode.InvalidArgument, `ManualClock: start must be finite, got ${start}`);
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  /** Moves the clock forward by `ms` (finite, >= 0); returns the new time. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) {
      throw rangeError(ErrorCode.InvalidArgument, `ManualClock.advance: ms must be finite and >= 0, got ${ms}`);
    }
    this.t += ms;
    return this.t;
  }

  /** Sets the clock to `ms` (finite, not before the current time: a Clock is monotonic). */
  set(ms: number): number {
    if (!Number.isFinite(ms) || ms < this.t) {
      throw rangeError(ErrorCode.InvalidArgument, `ManualClock.set: ms must be finite and >= now (${this.t}), got ${ms}`);
    }
    this.t = ms;
    return this.t;
  }
}
