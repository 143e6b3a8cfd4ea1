/**
 * Rate limits in this process's memory: the single-instance store, and the insurance store that
 * answers while Redis cannot. A decision is a Map lookup and a few float operations per limit
 * (no promise, no allocation beyond the decision): well under a microsecond
 * (bench/scenarios/service-limits.mjs).
 *
 * Memory is bounded: state exists per (policy, subject) and subjects are API keys (bounded by the
 * key file) and the one global subject; state that carries no information any more (a full
 * bucket, an empty log) is swept every `sweepMs`, so 10,000 keys that stop calling cost nothing.
 */
import { ErrorCode, rangeError } from '../../errors';
import { burstOf, EPSILON, stateKey, type LimitCheck, type LimitDecision, type LimitSpec } from './spec';

interface Bucket {
  kind: 0;
  spec: LimitSpec;
  tokens: number;
  at: number;
}

/** The admission times of the last `limit` admissions, oldest at `head`. The ring starts small
 * and doubles as admissions accumulate, up to `limit`: memory follows the traffic a subject
 * actually sends, not the quota it may send. */
interface Log {
  kind: 1;
  spec: LimitSpec;
  times: Float64Array;
  head: number;
  count: number;
}

type State = Bucket | Log;

export interface MemoryLimiterOptions {
  /** How often idle state is dropped (default 10 s; 0: never, for benchmarks and tests). */
  sweepMs?: number;
  now?: () => number;
}

export class MemoryLimiter {
  readonly #states = new Map<string, State>();
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout | null;

  constructor(options: MemoryLimiterOptions = {}) {
    this.#now = options.now ?? Date.now;
    const every = options.sweepMs ?? 10_000;
    this.#timer = every > 0 ? setInterval(() => this.sweep(), every).unref() : null;
  }

  /** How many (policy, subject) states are held. */
  get size(): number {
    return this.#states.size;
  }

  check(checks: readonly LimitCheck[]): LimitDecision {
    if (checks.length === 0) throw rangeError(ErrorCode.InvalidArgument, 'a rate-limit decision needs at least one check');
    const now = this.#now();
    const states: State[] = [];
    let refused = -1;
    let refusedLevel = 0;
    for (let i = 0; i < checks.length; i++) {
      const s = this.#stateOf(checks[i]!, now);
      states.push(s);
      const level = s.kind === 0 ? refill(s, now) : expire(s, now);
      // Stryker disable next-line EqualityOperator: a float sum of refills landing exactly on 1 - EPSILON does not occur; > and >= decide alike
      const ok = s.kind === 0 ? level >= 1 - EPSILON : level < s.spec.limit;
      if (!ok && refused < 0) {
        refused = i;
        refusedLevel = level;
      }
    }
    if (refused >= 0) {
      const s = states[refused]!;
      return decision(checks[refused]!, false, 0, resetOf(s, now), retryOf(s, refusedLevel, now));
    }
    // Admitted: charge every limit, and report the tightest.
    let bind = 0;
    let least = Infinity;
    for (let i = 0; i < checks.length; i++) {
      const s = states[i]!;
      let left: number;
      if (s.kind === 0) {
        s.tokens -= 1;
        left = Math.floor(s.tokens);
      } else {
        admit(s, now);
        left = s.spec.limit - s.count;
      }
      if (left < least) {
        least = left;
        bind = i;
      }
    }
    return decision(checks[bind]!, true, least, resetOf(states[bind]!, now), 0);
  }

  /** Drops state that says nothing any more: full buckets, logs with every admission expired. */
  sweep(): number {
    const now = this.#now();
    let dropped = 0;
    for (const [key, s] of this.#states) {
      const idle = s.kind === 0 ? refill(s, now) >= burstOf(s.spec) : expire(s, now) === 0;
      if (idle) {
        this.#states.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  close(): void {
    // Stryker disable next-line ConditionalExpression: clearInterval(null) does nothing either
    if (this.#timer !== null) clearInterval(this.#timer);
  }

  #stateOf(c: LimitCheck, now: number): State {
    const key = stateKey(c);
    const s = this.#states.get(key);
    // The key names the spec (stateKey): a changed limit has state of its own.
    if (s !== undefined) return s;
    const fresh: State =
      c.spec.algorithm === 'token-bucket'
        ? { kind: 0, spec: c.spec, tokens: burstOf(c.spec), at: now }
        : // Stryker disable next-line MethodExpression: the ring's first size is memory only: no decision depends on it
          { kind: 1, spec: c.spec, times: new Float64Array(Math.min(c.spec.limit, 16)), head: 0, count: 0 };
    this.#states.set(key, fresh);
    return fresh;
  }
}

/** Tokens now (the bucket is brought up to date). A clock that steps back adds nothing. */
function refill(b: Bucket, now: number): number {
  const elapsed = now - b.at;
  // Stryker disable next-line EqualityOperator: no time elapsed adds no token either way
  if (elapsed > 0) {
    b.tokens = Math.min(burstOf(b.spec), b.tokens + (elapsed * b.spec.limit) / b.spec.windowMs);
    b.at = now;
  }
  return b.tokens;
}

/** Admissions still inside the window (older ones are dropped). */
function expire(l: Log, now: number): number {
  const edge = now - l.spec.windowMs;
  const n = l.times.length;
  while (l.count > 0 && l.times[l.head]! <= edge) {
    l.head = l.head + 1 === n ? 0 : l.head + 1;
    l.count--;
  }
  return l.count;
}

function admit(l: Log, now: number): void {
  if (l.count === l.times.length) grow(l);
  const n = l.times.length;
  let tail = l.head + l.count;
  if (tail >= n) tail -= n;
  l.times[tail] = now;
  l.count++;
}

/** Doubles the ring (never past the limit: a full ring at the limit refuses before admitting). */
function grow(l: Log): void {
  // Stryker disable next-line MethodExpression: a ring as large as the limit at once is memory only
  const bigger = new Float64Array(Math.min(l.spec.limit, l.times.length * 2));
  const n = l.times.length;
  // Stryker disable next-line EqualityOperator: one slot past the count is never read
  for (let i = 0; i < l.count; i++) bigger[i] = l.times[(l.head + i) % n]!;
  l.times = bigger;
  l.head = 0;
}

function resetOf(s: State, now: number): number {
  if (s.kind === 0) return Math.max(0, Math.ceil(((burstOf(s.spec) - s.tokens) * s.spec.windowMs) / s.spec.limit));
  // A log here holds an admission: the one just made, or the limit's worth that refused.
  let newest = s.head + s.count - 1;
  if (newest >= s.times.length) newest -= s.times.length;
  return Math.max(0, Math.ceil(s.times[newest]! + s.spec.windowMs - now));
}

function retryOf(s: State, level: number, now: number): number {
  // Bucket: until one whole token has flowed in. Log: until the oldest admission leaves the window.
  if (s.kind === 0) return Math.max(1, Math.ceil(((1 - level) * s.spec.windowMs) / s.spec.limit - EPSILON));
  return Math.max(1, Math.ceil(s.times[s.head]! + s.spec.windowMs - now));
}

function decision(c: LimitCheck, allowed: boolean, remaining: number, resetMs: number, retryAfterMs: number): LimitDecision {
  return { allowed, policy: c.policy, spec: c.spec, remaining: Math.max(0, remaining), resetMs, retryAfterMs, backend: 'memory' };
}
