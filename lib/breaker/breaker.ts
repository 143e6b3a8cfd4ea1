/*
 * Circuit breaker for the circuit shield (SPEC section 4 item 3, "Emergency procedures").
 *
 * Why our own and not opossum: opossum's `fire()` is promise-based (every call allocates promises
 * and resolves on a later microtask, and by default arms a 10 s timeout timer), while the
 * guardian's lowest-latency path, `safeForecast` in sync mode, cannot await. This breaker's hot
 * path is synchronous: `tryAcquire()` hands out a permit, `permit.success()` / `permit.failure()`
 * settle it, with no promise, timer or allocation beyond the permit. Measured by
 * bench/scenarios/breaker.mjs (`npm run bench -- breaker`, figures in BENCHMARKS.md), closed
 * breaker, trivial function, p50 on a 2-core AMD EPYC shared with a training job, Node 20:
 * `tryAcquire()` + `success()` 157 ns, `execute(fn)` 162 ns; opossum 9 `await fire(fn)` 1.55 µs
 * (9.9x; 962 ns = 6.1x with its timeout off); our own `await fire(fn)` 481 ns. Two
 * performance.now() reads are most of our 157 ns (about 52 ns with a free clock).
 *
 * What the original Python guardian got wrong, and this one does not: it never left the open state
 * on its own (here: half-open after `openMs`, on the next `tryAcquire()` or state read), and it
 * counted one failure twice (here: a permit counts exactly once; a second report is ignored).
 */
import { EventEmitter } from 'node:events';

import { codedError, ErrorCode, rangeError, typeError } from '../errors';
import { systemClock, type Clock } from './clock';

/** closed: calls flow. open: calls refused until `openMs` passed. half-open: a few trial calls.
 * forced-open: maintenance, refused until `release()` (or `reset()`). */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'forced-open';

/** The event each kind of transition emits (besides the generic 'stateChange'). */
export type BreakerEventName = 'open' | 'halfOpen' | 'close' | 'forcedOpen' | 'release' | 'reset';

/** One transition, as emitted and as kept in the history. `at` is in clock milliseconds. */
export interface BreakerTransition {
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** What caused it: 'open' (thresholds tripped, or a trial failed), 'halfOpen' (open wait over),
   * 'close' (enough trial successes), 'forcedOpen', 'release', 'reset' (manual controls). */
  readonly event: BreakerEventName;
  readonly reason: string;
  readonly at: number;
}

/** Typed events: each listener receives the transition. */
export type BreakerEvents = { [K in BreakerEventName | 'stateChange']: [BreakerTransition] };

/**
 * Options. Every field is optional; the defaults are in BREAKER_DEFAULTS. Times are milliseconds
 * of the breaker's clock.
 */
export interface BreakerOptions {
  /** Name used in reasons, errors and metrics (1 to 128 printable characters). */
  name?: string;
  /** Length of the sliding window over which the failure and slow-call rates are computed. */
  windowMs?: number;
  /** The window is `windowBuckets` time buckets of windowMs / windowBuckets each, so memory is
   * bounded whatever the call rate. An outcome is forgotten when its bucket leaves the window:
   * never later than windowMs after it happened, never sooner than windowMs - one bucket. */
  windowBuckets?: number;
  /** Calls in the window before the rates can open the breaker (consecutive failures always can). */
  minimumCalls?: number;
  /** Opens when failures / calls in the window >= this (0 < x <= 1). */
  failureRateThreshold?: number;
  /** Opens after this many failures in a row while closed (integer >= 1, or Infinity: off). */
  consecutiveFailures?: number;
  /** A successful call lasting at least this long is slow (Infinity: nothing is slow). */
  slowCallMs?: number;
  /** Opens when slow successful calls / calls in the window >= this (0 < x <= 1). */
  slowCallRateThreshold?: number;
  /** How long the breaker stays open before it lets trial calls through (half-open). */
  openMs?: number;
  /** Half-open: at most this many trial calls in flight at once. A half-open episode also never
   * hands out more trials than successes it still needs (halfOpenSuccesses), so it admits at most
   * halfOpenSuccesses trials in all. */
  halfOpenMaxCalls?: number;
  /** Half-open: trial successes needed to close. Any trial failure (or slow trial) reopens. */
  halfOpenSuccesses?: number;
  /** Half-open: a trial permit not settled within this long counts as a failed trial, so a
   * forgotten permit cannot hold the breaker half-open forever (Infinity: never). */
  trialTimeoutMs?: number;
  /** Transitions kept by `history()` (oldest dropped first). */
  historyLimit?: number;
  /** Time source (ms, monotonic). Inject a ManualClock in tests. */
  clock?: Clock;
}

export type ResolvedBreakerOptions = Required<BreakerOptions>;

/**
 * The defaults, in one table. The seed's breaker opened after 3 consecutive failures and waited
 * 60 s before recovering; those two figures are kept.
 */
export const BREAKER_DEFAULTS: Readonly<ResolvedBreakerOptions> = Object.freeze({
  name: 'default',
  windowMs: 60_000, //           rates over the last minute
  windowBuckets: 10, //          6 s buckets
  minimumCalls: 10, //           no rate decision on fewer calls
  failureRateThreshold: 0.5, //  half the calls failing opens
  consecutiveFailures: 3, //     the seed's value
  slowCallMs: 1_000, //          a forecast taking 1 s is slow for a trading engine
  slowCallRateThreshold: 0.5, // half the calls slow opens
  openMs: 60_000, //             the seed's 60 s recovery wait
  halfOpenMaxCalls: 1, //        one trial at a time
  halfOpenSuccesses: 3, //       three good trials in a row close (gradual recovery)
  trialTimeoutMs: 30_000, //     a trial unsettled after 30 s is a failed trial
  historyLimit: 100, //          transitions kept
  clock: systemClock,
});

/** Error code of a call refused by the breaker (execute / fire). */
export const BreakerErrorCode = Object.freeze({ CircuitOpen: 'TG_CIRCUIT_OPEN' } as const);

/** Thrown by `execute()` and rejected by `fire()` when the breaker refuses the call. */
export class CircuitOpenError extends Error {
  readonly code = BreakerErrorCode.CircuitOpen;
  constructor(
    readonly breaker: string,
    readonly state: BreakerState,
    /** ms until the breaker lets a trial through (0: unknown / soon; Infinity: until released). */
    readonly retryAfterMs: number,
    readonly reason: string,
  ) {
    super(`circuit breaker "${breaker}" is ${state}: ${reason}`);
    this.name = 'CircuitOpenError';
  }
}

export interface BreakerWindowStats {
  readonly ms: number;
  readonly calls: number;
  readonly successes: number;
  readonly failures: number;
  readonly slow: number;
}

/** A snapshot; counters run since creation or the last `reset()`. */
export interface BreakerStats {
  readonly name: string;
  readonly state: BreakerState;
  /** Clock time at which the current state was entered. */
  readonly since: number;
  /** Why the breaker is in its current state. */
  readonly reason: string;
  /** Settled permits, whatever the state when they settled. successes + failures = calls. */
  readonly calls: number;
  readonly successes: number;
  readonly failures: number;
  /** Successful calls that lasted at least slowCallMs (included in successes). */
  readonly slow: number;
  /** Calls refused (tryAcquire returned null). */
  readonly rejected: number;
  /** Over the sliding window (outcomes recorded while closed): failures / calls, 0 with no call. */
  readonly failureRate: number;
  readonly slowRate: number;
  readonly window: BreakerWindowStats;
  /** Failures in a row while closed (kept when the breaker opens, cleared when it closes). */
  readonly consecutiveFailures: number;
  /** Times the breaker opened on its own (thresholds or failed trials); forceOpen not included. */
  readonly openedCount: number;
  readonly halfOpenInFlight: number;
  readonly halfOpenSuccesses: number;
  /** Open: ms left before half-open. Forced-open: Infinity. Otherwise 0. */
  readonly retryAfterMs: number;
  readonly lastFailure: { readonly reason: string; readonly at: number } | null;
  /** Event listeners that threw (their errors are turned into process warnings). */
  readonly listenerErrors: number;
}

/**
 * The right to make one call. Settle it exactly once with `success()` or `failure(reason)`; a
 * second settlement is ignored and returns false. The constructor is internal: get permits from
 * `CircuitBreaker.tryAcquire()`.
 */
export class Permit {
  /** @internal null once settled. */
  _b: CircuitBreaker | null;
  /** @internal the breaker's generation when the permit was given. */
  readonly _gen: number;
  /** Clock time when the permit was given (the call's start, for the slow-call measure). */
  readonly startedAt: number;
  /** True for a half-open trial call. */
  readonly trial: boolean;

  /** @internal */
  constructor(breaker: CircuitBreaker, gen: number, startedAt: number, trial: boolean) {
    this._b = breaker;
    this._gen = gen;
    this.startedAt = startedAt;
    this.trial = trial;
  }

  /** True once success() or failure() was counted (or a half-open trial timed out). */
  get settled(): boolean {
    return this._b === null;
  }

  /** Counts the call as a success (slow if it lasted slowCallMs or more). False if already settled. */
  success(): boolean {
    const b = this._b;
    if (b === null) return false;
    this._b = null;
    // Stryker disable next-line StringLiteral: _settle reads the reason of failures only
    b._settle(this, true, '');
    return true;
  }

  /**
   * Gives the permit back without a verdict: the call did not use the protected resource after
   * all (the guardian's speculative model run whose output was discarded, say). Nothing is
   * counted; a half-open trial's slot is free again. False if already settled.
   */
  cancel(): boolean {
    const b = this._b;
    if (b === null) return false;
    this._b = null;
    b._cancel(this);
    return true;
  }

  /** Counts the call as a failure. False (and nothing counted) if already settled. */
  failure(reason: string): boolean {
    const b = this._b;
    if (b === null) return false;
    this._b = null;
    b._settle(this, false, typeof reason === 'string' && reason !== '' ? reason : 'failure');
    return true;
  }
}

const OPTION_KEYS = Object.keys(BREAKER_DEFAULTS) as (keyof ResolvedBreakerOptions)[];

function invalid(name: string, key: string, want: string, got: unknown): RangeError {
  const shown = typeof got === 'number' || typeof got === 'boolean' ? String(got) : typeof got === 'string' ? JSON.stringify(got) : typeof got;
  return rangeError(ErrorCode.InvalidArgument, `CircuitBreaker "${name}": ${key} must be ${want}, got ${shown}`);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isRate = (v: unknown): boolean => typeof v === 'number' && v > 0 && v <= 1;
// Printable, no control characters (names end up in metrics labels and logs).
const NAME_RE = /^[^\p{Cc}]{1,128}$/u;

/** Checks `options` against the table and fills in the defaults; throws a coded RangeError/TypeError. */
export function resolveBreakerOptions(options: BreakerOptions = {}): ResolvedBreakerOptions {
  if (options === null || typeof options !== 'object') {
    throw typeError(ErrorCode.InvalidArgument, `CircuitBreaker: options must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (!(OPTION_KEYS as string[]).includes(key)) {
      throw rangeError(ErrorCode.InvalidArgument, `CircuitBreaker: unknown option ${key} (known: ${OPTION_KEYS.join(', ')})`);
    }
  }
  const o = { ...BREAKER_DEFAULTS } as ResolvedBreakerOptions;
  for (const key of OPTION_KEYS) {
    const v = options[key];
    if (v !== undefined) (o as Record<string, unknown>)[key] = v;
  }
  const n = typeof o.name === 'string' ? o.name : '?';
  if (typeof o.name !== 'string' || !NAME_RE.test(o.name)) throw invalid(n, 'name', 'a string of 1 to 128 printable characters', o.name);
  if (typeof o.windowMs !== 'number' || !(o.windowMs > 0) || !Number.isFinite(o.windowMs)) throw invalid(n, 'windowMs', 'finite and > 0', o.windowMs);
  if (!isInt(o.windowBuckets) || o.windowBuckets < 1 || o.windowBuckets > 1000) throw invalid(n, 'windowBuckets', 'an integer from 1 to 1000', o.windowBuckets);
  if (!isInt(o.minimumCalls) || o.minimumCalls < 1) throw invalid(n, 'minimumCalls', 'an integer >= 1', o.minimumCalls);
  if (!isRate(o.failureRateThreshold)) throw invalid(n, 'failureRateThreshold', 'in (0, 1]', o.failureRateThreshold);
  if (!((isInt(o.consecutiveFailures) && o.consecutiveFailures >= 1) || o.consecutiveFailures === Infinity)) {
    throw invalid(n, 'consecutiveFailures', 'an integer >= 1 or Infinity', o.consecutiveFailures);
  }
  if (typeof o.slowCallMs !== 'number' || !(o.slowCallMs > 0)) throw invalid(n, 'slowCallMs', '> 0 (Infinity: off)', o.slowCallMs);
  if (!isRate(o.slowCallRateThreshold)) throw invalid(n, 'slowCallRateThreshold', 'in (0, 1]', o.slowCallRateThreshold);
  if (typeof o.openMs !== 'number' || !(o.openMs >= 0) || !Number.isFinite(o.openMs)) throw invalid(n, 'openMs', 'finite and >= 0', o.openMs);
  if (!isInt(o.halfOpenMaxCalls) || o.halfOpenMaxCalls < 1) throw invalid(n, 'halfOpenMaxCalls', 'an integer >= 1', o.halfOpenMaxCalls);
  if (!isInt(o.halfOpenSuccesses) || o.halfOpenSuccesses < 1) throw invalid(n, 'halfOpenSuccesses', 'an integer >= 1', o.halfOpenSuccesses);
  if (typeof o.trialTimeoutMs !== 'number' || !(o.trialTimeoutMs > 0)) throw invalid(n, 'trialTimeoutMs', '> 0 (Infinity: never)', o.trialTimeoutMs);
  if (!isInt(o.historyLimit) || o.historyLimit < 0 || o.historyLimit > 100_000) throw invalid(n, 'historyLimit', 'an integer from 0 to 100000', o.historyLimit);
  if (o.clock === null || typeof o.clock !== 'object' || typeof o.clock.now !== 'function') {
    throw typeError(ErrorCode.InvalidArgument, `CircuitBreaker "${n}": clock must be an object with a now() method`);
  }
  return Object.freeze(o);
}

function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : `${err.name}: ${err.message}`;
  }
  return `non-Error thrown: ${String(err)}`;
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

/**
 * A circuit breaker with closed / open / half-open / forced-open states, failure and slow-call
 * rates over a bucketed sliding window, consecutive failures, automatic half-open after `openMs`,
 * limited half-open trials and manual controls. Synchronous: nothing here awaits or arms a timer
 * (except `fire()`'s optional timeout); the open -> half-open move happens on the next
 * `tryAcquire()`, `state` or `stats()` after `openMs`.
 */
export class CircuitBreaker extends EventEmitter<BreakerEvents> {
  readonly name: string;
  readonly options: Readonly<ResolvedBreakerOptions>;

  private readonly clock: Clock;
  private _state: BreakerState = 'closed';
  private _since: number;
  private _reason = 'created';
  /** Bumped on every transition: permits of an earlier generation are stale. */
  private gen = 0;
  private lastNow: number;

  // Sliding window: a ring of buckets, each holding the outcomes of one bucketMs slice of time.
  private readonly bucketMs: number;
  private readonly nb: number;
  private readonly bSucc: Float64Array;
  private readonly bFail: Float64Array;
  private readonly bSlow: Float64Array;
  /** Absolute index (floor(t / bucketMs)) of the newest bucket, and its slot in the ring. */
  private curBucket: number;
  private curSlot: number;
  private wSucc = 0;
  private wFail = 0;
  private wSlow = 0;

  private succ = 0;
  private fail = 0;
  private slowCount = 0;
  private rejected = 0;
  private consecutive = 0;
  private openedCount = 0;
  private listenerErrors = 0;
  private lastFailure: { reason: string; at: number } | null = null;

  private openUntil = 0;
  // Stryker disable ArrayDeclaration: an initial value only: read while half-open, and every transition sets it to []
  /** In-flight trial permits of the current half-open episode. */
  private trials: Permit[] = [];
  // Stryker restore ArrayDeclaration
  private trialSuccesses = 0;
  private readonly hist: BreakerTransition[] = [];

  constructor(options: BreakerOptions = {}) {
    super();
    const o = resolveBreakerOptions(options);
    this.options = o;
    this.name = o.name;
    this.clock = o.clock;
    const t0 = o.clock.now();
    this.lastNow = Number.isFinite(t0) ? t0 : 0;
    this._since = this.lastNow;
    this.nb = o.windowBuckets;
    this.bucketMs = o.windowMs / o.windowBuckets;
    this.bSucc = new Float64Array(this.nb);
    this.bFail = new Float64Array(this.nb);
    this.bSlow = new Float64Array(this.nb);
    this.curBucket = Math.floor(this.lastNow / this.bucketMs);
    this.curSlot = this.slotOf(this.curBucket);
  }

  // ---- hot path -------------------------------------------------------------------------------

  /**
   * A permit for one call, or null when the call is not allowed (open, forced-open, or half-open
   * with no trial slot left); a null counts as rejected. Settle the permit exactly once.
   */
  tryAcquire(): Permit | null {
    const now = this.now();
    if (this._state === 'closed') return new Permit(this, this.gen, now, false);
    this.refresh(now);
    const state = this._state;
    if (state === 'half-open') {
      const o = this.options;
      const inFlight = this.trials.length;
      if (inFlight < o.halfOpenMaxCalls && this.trialSuccesses + inFlight < o.halfOpenSuccesses) {
        const p = new Permit(this, this.gen, now, true);
        this.trials.push(p);
        return p;
      }
    }
    this.rejected++;
    return null;
  }

  /**
   * Runs `fn` under a permit: a throw counts as a failure (and is rethrown), a return as a
   * success. Throws CircuitOpenError (code TG_CIRCUIT_OPEN) without calling `fn` when refused.
   * For synchronous functions: a returned promise would count as a success at once; use fire().
   */
  execute<T>(fn: () => T): T {
    const permit = this.tryAcquire();
    if (permit === null) throw this.openError();
    let result: T;
    try {
      result = fn();
    } catch (err) {
      permit.failure(describeError(err));
      throw err;
    }
    permit.success();
    return result;
  }

  /**
   * Async form of execute(): awaits `fn()`; a rejection (or a synchronous throw) counts as a
   * failure. With `timeoutMs`, a call not settled in time counts as a failure and the returned
   * promise rejects with code TG_RUN_TIMEOUT (the late result is then ignored; `fn` is not
   * cancelled). The timeout uses a real timer, the durations the breaker's clock.
   */
  fire<T>(fn: () => Promise<T> | T, timeoutMs?: number): Promise<T> {
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || !Number.isFinite(timeoutMs))) {
      return Promise.reject(invalid(this.name, 'timeoutMs', 'finite and > 0', timeoutMs));
    }
    const permit = this.tryAcquire();
    if (permit === null) return Promise.reject(this.openError());
    let pending: Promise<T>;
    try {
      pending = Promise.resolve(fn());
    } catch (err) {
      permit.failure(describeError(err));
      return Promise.reject(err);
    }
    if (timeoutMs === undefined) {
      return pending.then(
        (value) => {
          permit.success();
          return value;
        },
        (err: unknown) => {
          permit.failure(describeError(err));
          throw err;
        },
      );
    }
    // The promise settles whether or not the permit still counts: a half-open trial may already
    // have been failed by trialTimeoutMs (the permit then ignores the report, the caller still
    // gets the outcome). After the timeout, the late outcome is ignored (the promise is settled).
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        permit.failure(`timeout after ${timeoutMs} ms`);
        reject(codedError(ErrorCode.RunTimeout, `circuit breaker "${this.name}": call timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      pending.then(
        (value) => {
          clearTimeout(timer);
          permit.success();
          resolve(value);
        },
        (err: unknown) => {
          clearTimeout(timer);
          permit.failure(describeError(err));
          reject(err);
        },
      );
    });
  }

  /** @internal Called once per permit by Permit.cancel: frees its trial slot, counts nothing. */
  _cancel(p: Permit): void {
    const i = this.trials.indexOf(p);
    if (i >= 0) this.trials.splice(i, 1);
  }

  /** @internal Called once per permit by Permit.success / failure. */
  _settle(p: Permit, ok: boolean, reason: string): void {
    const now = this.now();
    const o = this.options;
    const duration = now - p.startedAt;
    const slow = ok && duration >= o.slowCallMs;
    if (ok) {
      this.succ++;
      if (slow) this.slowCount++;
    } else {
      this.fail++;
      this.lastFailure = { reason, at: now };
    }
    // A permit given before the last transition is stale: counted above, but it says nothing
    // about the current state (a call started while closed must not fail a half-open trial).
    if (p._gen !== this.gen) return;
    if (this._state === 'closed') {
      this.roll(now);
      const s = this.curSlot;
      if (ok) {
        this.bSucc[s]!++;
        this.wSucc++;
        if (slow) {
          this.bSlow[s]!++;
          this.wSlow++;
        }
        this.consecutive = 0;
      } else {
        this.bFail[s]!++;
        this.wFail++;
        this.consecutive++;
        if (this.consecutive >= o.consecutiveFailures) {
          this.trip(now, `${this.consecutive} consecutive failures (threshold ${o.consecutiveFailures}); last: ${reason}`);
          return;
        }
      }
      const calls = this.wSucc + this.wFail;
      if (calls >= o.minimumCalls) {
        const failureRate = this.wFail / calls;
        if (failureRate >= o.failureRateThreshold) {
          this.trip(now, `failure rate ${pct(failureRate)} of ${calls} calls in the window >= ${pct(o.failureRateThreshold)}`);
        } else if (this.wSlow / calls >= o.slowCallRateThreshold) {
          this.trip(
            now,
            `slow call rate ${pct(this.wSlow / calls)} of ${calls} calls in the window (>= ${o.slowCallMs} ms) >= ${pct(o.slowCallRateThreshold)}`,
          );
        }
      }
    } else if (this._state === 'half-open') {
      const i = this.trials.indexOf(p);
      if (i >= 0) this.trials.splice(i, 1);
      if (ok && !slow) {
        this.trialSuccesses++;
        if (this.trialSuccesses >= o.halfOpenSuccesses) {
          this.transition('closed', 'close', `${this.trialSuccesses} trial call(s) succeeded`, now);
        }
      } else {
        this.trip(now, ok ? `slow trial call (${duration} ms >= ${o.slowCallMs} ms)` : `trial call failed: ${reason}`);
      }
    }
  }

  // ---- state and manual controls --------------------------------------------------------------

  /** The current state (moves open -> half-open first when openMs has passed). */
  get state(): BreakerState {
    if (this._state !== 'closed') this.refresh(this.now());
    return this._state;
  }

  /**
   * Maintenance: refuse every call until `release()` (or `reset()`), whatever the statistics.
   * Returns false (and changes nothing) when already forced open.
   */
  forceOpen(reason: string): boolean {
    if (typeof reason !== 'string' || reason === '') {
      throw typeError(ErrorCode.InvalidArgument, `CircuitBreaker "${this.name}": forceOpen needs a reason (non-empty string)`);
    }
    if (this._state === 'forced-open') return false;
    this.transition('forced-open', 'forcedOpen', reason, this.now());
    return true;
  }

  /**
   * Ends maintenance. By default into half-open, so trial calls confirm the model before full
   * traffic (gradual recovery); `to = 'closed'` resumes at once. False when not forced open.
   */
  release(reason = 'released', to: 'half-open' | 'closed' = 'half-open'): boolean {
    if (to !== 'half-open' && to !== 'closed') {
      throw invalid(this.name, 'release target', "'half-open' or 'closed'", to);
    }
    if (this._state !== 'forced-open') return false;
    this.transition(to, 'release', reason, this.now());
    return true;
  }

  /**
   * Manual reset to closed, from any state, with cleared statistics (window, consecutive
   * failures, call counters, last failure). openedCount and the history are kept; the reset is
   * in the history. Permits given before the reset no longer affect the state.
   */
  reset(reason = 'manual reset'): void {
    this.succ = 0;
    this.fail = 0;
    this.slowCount = 0;
    this.rejected = 0;
    this.lastFailure = null;
    this.transition('closed', 'reset', reason, this.now());
  }

  /** ms until the breaker lets a trial call through: open: the wait left; forced-open: Infinity. */
  get retryAfterMs(): number {
    const now = this.now();
    if (this._state !== 'closed') this.refresh(now);
    if (this._state === 'open') return Math.max(0, this.openUntil - now);
    return this._state === 'forced-open' ? Infinity : 0;
  }

  /** A snapshot of the counters and the state (reading it may move open -> half-open). */
  stats(): BreakerStats {
    const now = this.now();
    if (this._state !== 'closed') this.refresh(now);
    this.roll(now);
    const calls = this.wSucc + this.wFail;
    return {
      name: this.name,
      state: this._state,
      since: this._since,
      reason: this._reason,
      calls: this.succ + this.fail,
      successes: this.succ,
      failures: this.fail,
      slow: this.slowCount,
      rejected: this.rejected,
      failureRate: calls === 0 ? 0 : this.wFail / calls,
      slowRate: calls === 0 ? 0 : this.wSlow / calls,
      window: { ms: this.options.windowMs, calls, successes: this.wSucc, failures: this.wFail, slow: this.wSlow },
      consecutiveFailures: this.consecutive,
      openedCount: this.openedCount,
      halfOpenInFlight: this._state === 'half-open' ? this.trials.length : 0,
      halfOpenSuccesses: this._state === 'half-open' ? this.trialSuccesses : 0,
      retryAfterMs: this._state === 'open' ? Math.max(0, this.openUntil - now) : this._state === 'forced-open' ? Infinity : 0,
      lastFailure: this.lastFailure,
      listenerErrors: this.listenerErrors,
    };
  }

  /** The last `historyLimit` transitions, oldest first. */
  history(): BreakerTransition[] {
    return this.hist.slice();
  }

  // ---- internals ------------------------------------------------------------------------------

  private now(): number {
    const t = this.clock.now();
    if (t > this.lastNow) this.lastNow = t; // a clock that steps back (or NaN) is time standing still
    return this.lastNow;
  }

  private slotOf(bucket: number): number {
    const n = this.nb;
    return ((bucket % n) + n) % n;
  }

  /** Advances the window to `now`, emptying the buckets that left it. */
  private roll(now: number): void {
    const idx = Math.floor(now / this.bucketMs);
    const cur = this.curBucket;
    if (idx <= cur) return;
    if (idx - cur >= this.nb) {
      this.bSucc.fill(0);
      this.bFail.fill(0);
      this.bSlow.fill(0);
      this.wSucc = this.wFail = this.wSlow = 0;
    } else {
      for (let k = cur + 1; k <= idx; k++) {
        const s = this.slotOf(k);
        this.wSucc -= this.bSucc[s]!;
        this.wFail -= this.bFail[s]!;
        this.wSlow -= this.bSlow[s]!;
        this.bSucc[s] = this.bFail[s] = this.bSlow[s] = 0;
      }
    }
    this.curBucket = idx;
    this.curSlot = this.slotOf(idx);
  }

  private clearWindow(now: number): void {
    this.bSucc.fill(0);
    this.bFail.fill(0);
    this.bSlow.fill(0);
    this.wSucc = this.wFail = this.wSlow = 0;
    this.curBucket = Math.floor(now / this.bucketMs);
    this.curSlot = this.slotOf(this.curBucket);
    this.consecutive = 0;
  }

  /**
   * Time-driven moves: open -> half-open after openMs; a half-open trial unsettled for
   * trialTimeoutMs fails (and reopens). Idempotent at a given time: a read never shows a state
   * that is already due to move.
   */
  private refresh(now: number): void {
    this.halfOpenIfDue(now);
    if (this._state === 'half-open' && this.trials.length > 0) {
      const limit = this.options.trialTimeoutMs;
      for (const p of this.trials) {
        if (now - p.startedAt >= limit) {
          p.failure(`trial call not settled within ${limit} ms`);
          this.halfOpenIfDue(now); // openMs = 0: due again at once (the new episode has no trial)
          break; // one failed trial reopens the breaker
        }
      }
    }
  }

  private halfOpenIfDue(now: number): void {
    if (this._state === 'open' && now >= this.openUntil) {
      this.transition('half-open', 'halfOpen', `open for ${this.options.openMs} ms; letting trial calls through`, now);
    }
  }

  private trip(now: number, reason: string): void {
    this.transition('open', 'open', reason, now);
  }

  private openError(): CircuitOpenError {
    return new CircuitOpenError(this.name, this._state, this.retryAfterMs, this._reason);
  }

  private transition(to: BreakerState, event: BreakerEventName, reason: string, now: number): void {
    const from = this._state;
    this._state = to;
    this._since = now;
    this._reason = reason;
    // Stryker disable next-line UpdateOperator: counting down gives distinct generations just as well
    this.gen++;
    this.trials = [];
    this.trialSuccesses = 0;
    if (to === 'open') {
      this.openUntil = now + this.options.openMs;
      this.openedCount++;
    } else if (to === 'closed') {
      this.clearWindow(now);
    }
    const t: BreakerTransition = Object.freeze({ from, to, event, reason, at: now });
    const limit = this.options.historyLimit;
    if (limit > 0) {
      this.hist.push(t);
      if (this.hist.length > limit) this.hist.shift();
    }
    // The state is complete before any listener runs; a throwing listener cannot undo it nor
    // reach the caller of the hot path (it becomes a process warning).
    this.safeEmit(event, t);
    this.safeEmit('stateChange', t);
  }

  private safeEmit(event: BreakerEventName | 'stateChange', t: BreakerTransition): void {
    if (this.listenerCount(event) === 0) return;
    try {
      (this.emit as (e: string, t: BreakerTransition) => boolean)(event, t);
    } catch (err) {
      this.listenerErrors++;
      process.emitWarning(`circuit breaker "${this.name}": a '${event}' listener threw: ${describeError(err)}`, {
        code: 'TG_BREAKER_LISTENER',
      });
    }
  }
}
