// The service's in-memory rate limiter (lib/service/limits/memory.ts) against a plain reference
// model of both algorithms written here from their definitions, with an injected clock:
//  - token bucket: tokens = min(burst, tokens + elapsed * limit / windowMs) (a clock that steps
//    back adds nothing), admit when tokens >= 1, then subtract 1;
//  - sliding window: admit when fewer than `limit` admissions have times > now - windowMs.
// A set of checks is admitted only when every one admits, and only then is each charged.
// No Redis here: test/service-limits-redis.test.ts runs the Lua script against a real server.
import * as v8 from 'node:v8';
import { runInNewContext } from 'node:vm';

import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

import { MemoryLimiter } from '../lib/service/limits/memory';
import type { LimitCheck, LimitDecision, LimitSpec } from '../lib/service/limits/spec';

// ---------------------------------------------------------------------------------------------
// The reference model
// ---------------------------------------------------------------------------------------------

interface RefBucket {
  kind: 'tb';
  spec: LimitSpec;
  tokens: number;
  at: number;
  /** The same bucket in exact arithmetic (integer clock and specs): tokens * windowMs, an integer. */
  credit: number;
}
interface RefLog {
  kind: 'sw';
  spec: LimitSpec;
  /** Every admission's time (the whole history: the definition, not a ring buffer). */
  times: number[];
}
type RefState = RefBucket | RefLog;

/** What the reference says about a set of checks (the fields a LimitDecision must carry). */
interface RefDecision {
  allowed: boolean;
  /** Index of the binding check: the first refusing one, else the first with the fewest left. */
  bind: number;
  remaining: number;
  resetMs: number;
  retryAfterMs: number;
}

const burstOfRef = (s: LimitSpec): number => s.burst ?? s.limit;
const refKey = (c: LimitCheck): string =>
  `${c.policy}:${c.subject}:${c.spec.algorithm}:${c.spec.limit}:${c.spec.windowMs}:${burstOfRef(c.spec)}`;

class Reference {
  readonly states = new Map<string, RefState>();

  /** The check's state brought up to now. State is kept per policy, subject and spec: a changed
   * spec has state of its own (fresh the first time), and a return to an earlier spec finds that
   * spec's state where it was left. */
  #state(c: LimitCheck, now: number): RefState {
    const key = refKey(c);
    let s = this.states.get(key);
    if (s === undefined) {
      s = c.spec.algorithm === 'token-bucket' ? { kind: 'tb', spec: c.spec, tokens: burstOfRef(c.spec), at: now, credit: burstOfRef(c.spec) * c.spec.windowMs } : { kind: 'sw', spec: c.spec, times: [] };
      this.states.set(key, s);
    }
    if (s.kind === 'tb' && now > s.at) {
      s.tokens = Math.min(burstOfRef(s.spec), s.tokens + ((now - s.at) * s.spec.limit) / s.spec.windowMs);
      s.credit = Math.min(burstOfRef(s.spec) * s.spec.windowMs, s.credit + (now - s.at) * s.spec.limit);
      s.at = now;
    }
    return s;
  }

  /** Admission times still inside the window at `now`, ascending. */
  static inWindow(l: RefLog, now: number): number[] {
    return l.times.filter((t) => t > now - l.spec.windowMs).sort((a, b) => a - b);
  }

  /** A bucket's state as the last check left it. */
  bucket(c: LimitCheck): RefBucket {
    const s = this.states.get(refKey(c));
    if (s?.kind !== 'tb') throw new Error('no bucket');
    return s;
  }

  /** Tokens (bucket) or admissions in the window (log) of `c` at `now`, without charging. */
  level(c: LimitCheck, now: number): number {
    const s = this.#state(c, now);
    return s.kind === 'tb' ? s.tokens : Reference.inWindow(s, now).length;
  }

  check(checks: readonly LimitCheck[], now: number): RefDecision {
    // Every state is brought up to date first (as the limiter does), then the decision is taken.
    // The limiter's float test, with its tolerance (EPSILON: a float sum may hold one token as
    // 0.9999999999999999).
    const states = checks.map((c) => this.#state(c, now));
    const refused = states.findIndex((s) => (s.kind === 'tb' ? s.tokens < 1 - 1e-9 : Reference.inWindow(s, now).length >= s.spec.limit));
    if (refused >= 0) {
      const s = states[refused]!;
      let retry: number;
      if (s.kind === 'tb') retry = Math.ceil(((1 - s.tokens) * s.spec.windowMs) / s.spec.limit - 1e-9);
      else {
        // The admission whose leaving brings the count below the limit.
        const live = Reference.inWindow(s, now);
        retry = live[live.length - s.spec.limit]! + s.spec.windowMs - now;
      }
      return { allowed: false, bind: refused, remaining: 0, resetMs: resetRef(s, now), retryAfterMs: Math.max(1, retry) };
    }
    let bind = 0;
    let least = Infinity;
    states.forEach((s, i) => {
      let left: number;
      if (s.kind === 'tb') {
        s.tokens -= 1;
        s.credit -= s.spec.windowMs;
        left = Math.floor(s.tokens);
      } else {
        s.times.push(now);
        left = s.spec.limit - Reference.inWindow(s, now).length;
      }
      if (left < least) {
        least = left;
        bind = i;
      }
    });
    return { allowed: true, bind, remaining: Math.max(0, least), resetMs: resetRef(states[bind]!, now), retryAfterMs: 0 };
  }
}

/** Until the quota is whole again: the bucket full, the log empty. */
function resetRef(s: RefState, now: number): number {
  if (s.kind === 'tb') return Math.max(0, Math.ceil(((burstOfRef(s.spec) - s.tokens) * s.spec.windowMs) / s.spec.limit));
  const live = Reference.inWindow(s, now);
  return live.length === 0 ? 0 : Math.max(0, Math.ceil(live[live.length - 1]! + s.spec.windowMs - now));
}

/** The LimitDecision the reference's answer stands for. */
function expected(checks: readonly LimitCheck[], r: RefDecision): LimitDecision {
  const c = checks[r.bind]!;
  return { allowed: r.allowed, policy: c.policy, spec: c.spec, remaining: r.remaining, resetMs: r.resetMs, retryAfterMs: r.retryAfterMs, backend: 'memory' };
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** A limiter on a clock the test moves (no sweep timer). */
function clocked(start = 0): { limiter: MemoryLimiter; clock: { t: number } } {
  const clock = { t: start };
  return { limiter: new MemoryLimiter({ sweepMs: 0, now: () => clock.t }), clock };
}

const tb = (limit: number, windowMs: number, burst?: number): LimitSpec =>
  burst === undefined ? { algorithm: 'token-bucket', limit, windowMs } : { algorithm: 'token-bucket', limit, windowMs, burst };
const sw = (limit: number, windowMs: number): LimitSpec => ({ algorithm: 'sliding-window', limit, windowMs });
const chk = (policy: string, subject: string, spec: LimitSpec): LimitCheck => ({ policy, subject, spec });

const specArb: fc.Arbitrary<LimitSpec> = fc.oneof(
  fc
    .record({ limit: fc.integer({ min: 1, max: 50 }), windowMs: fc.integer({ min: 1, max: 5000 }), burst: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }) })
    .map(({ limit, windowMs, burst }) => tb(limit, windowMs, burst)),
  fc.record({ limit: fc.integer({ min: 1, max: 50 }), windowMs: fc.integer({ min: 1, max: 5000 }) }).map(({ limit, windowMs }) => sw(limit, windowMs)),
);

/** Mostly short advances (so limits are reached), sometimes none, sometimes long (refills). */
const advanceArb = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 3000 }));

interface CheckPick {
  policy: number;
  subject: number;
  /** 0: the policy's alternative spec (a spec change), else its main one. */
  alt: number;
}
const stepArb = fc.record({
  advance: advanceArb,
  // The same set again this many times at the same instant: bursts that empty a bucket of 60.
  repeat: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 70 })),
  // One or two checks, of different policies.
  checks: fc.uniqueArray(fc.record({ policy: fc.integer({ min: 0, max: 2 }), subject: fc.integer({ min: 0, max: 1 }), alt: fc.integer({ min: 0, max: 15 }) }), {
    minLength: 1,
    maxLength: 2,
    selector: (c: CheckPick) => c.policy,
  }),
});
const scenarioArb = fc.record({
  specs: fc.array(fc.tuple(specArb, specArb), { minLength: 3, maxLength: 3 }),
  steps: fc.array(stepArb, { minLength: 1, maxLength: 80 }),
});

const POLICIES = ['global', 'forecast', 'api'];
const SUBJECTS = ['desk-7', 'desk-9'];
// A Date.now-sized origin: the float arithmetic of real clocks.
const T0 = 1_700_000_000_000;

// ---------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------

describe('MemoryLimiter against the reference model', () => {
  it('every decision (allowed, binding policy, remaining, resetMs, retryAfterMs) equals the reference, single and multi-check; a retry at now + retryAfterMs is admitted', () => {
    const seen = { refusedSingleTb: 0, refusedSingleSw: 0, refusedMulti: 0, admittedMulti: 0, swProbesBefore: 0 };
    fc.assert(
      fc.property(scenarioArb, ({ specs, steps }) => {
        const { limiter, clock } = clocked(T0);
        const ref = new Reference();
        const decide = (checks: LimitCheck[]): LimitDecision => {
          const got = limiter.check(checks);
          expect(got).toEqual(expected(checks, ref.check(checks, clock.t)));
          return got;
        };
        for (const step of steps) {
          clock.t += step.advance;
          const checks = step.checks.map((p) => chk(POLICIES[p.policy]!, SUBJECTS[p.subject]!, specs[p.policy]![p.alt === 0 ? 1 : 0]));
          let d = decide(checks);
          for (let r = 1; r < step.repeat && d.allowed; r++) d = decide(checks);
          if (checks.length === 2) d.allowed ? seen.admittedMulti++ : seen.refusedMulti++;
          if (d.allowed) continue;
          expect(d.retryAfterMs).toBeGreaterThanOrEqual(1);
          if (checks.length !== 1) continue;
          // A lone refused check: retry exactly when it said (both probes are steps of the run,
          // decided by the reference too).
          const refusedAt = clock.t;
          const retry = d.retryAfterMs;
          if (checks[0]!.spec.algorithm === 'sliding-window') {
            seen.refusedSingleSw++;
            if (retry > 1) {
              seen.swProbesBefore++;
              clock.t = refusedAt + retry - 1;
              expect(decide(checks).allowed).toBe(false);
            }
            clock.t = refusedAt + retry;
            expect(decide(checks).allowed).toBe(true);
          } else {
            seen.refusedSingleTb++;
            // The exact wait for one token (integer arithmetic): the float sums of the limiter,
            // with its tolerance, name exactly that, and a retry then is admitted.
            const { credit, spec } = ref.bucket(checks[0]!);
            const exact = Math.max(1, Math.ceil((spec.windowMs - credit) / spec.limit));
            expect(retry).toBe(exact);
            clock.t = refusedAt + retry;
            expect(decide(checks).allowed).toBe(true);
          }
        }
      }),
      { numRuns: 400 },
    );
    // The generators did reach the interesting cases (else the property proved little).
    for (const [what, n] of Object.entries(seen)) expect(n, what).toBeGreaterThan(50);
  });

  it('a clock stepping backwards never adds tokens nor admits beyond the limit', () => {
    let admittedTotal = 0;
    let backSteps = 0;
    fc.assert(
      fc.property(
        specArb,
        fc.array(fc.oneof(fc.integer({ min: -3000, max: 0 }), fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 3000 })), { minLength: 1, maxLength: 80 }),
        (spec, moves) => {
          const { limiter, clock } = clocked(T0);
          const c = chk('forecast', 'desk-7', spec);
          const ref = new Reference();
          let first: number | null = null;
          let high = -Infinity;
          const admissions: number[] = [];
          for (const move of moves) {
            if (move < 0) backSteps++;
            clock.t += move;
            first ??= clock.t; // the bucket is born (full) at the first check
            high = Math.max(high, clock.t);
            const d = limiter.check([c]);
            if (spec.algorithm === 'token-bucket') {
              // The reference ignores backward steps (refills only when now > at): exact match.
              expect(d.allowed).toBe(ref.check([c], clock.t).allowed);
              if (d.allowed) admissions.push(clock.t);
              // Never more than the burst plus what the furthest clock reading has let in.
              expect(admissions.length).toBeLessThanOrEqual((spec.burst ?? spec.limit) + ((high - first) * spec.limit) / spec.windowMs + 1e-9);
            } else {
              // Time is the furthest reading so far (what has surely passed): at most `limit`
              // admissions in any (x - windowMs, x] of it.
              if (d.allowed) admissions.push(high);
              for (const x of admissions) expect(admissions.filter((t) => t > x - spec.windowMs && t <= x).length).toBeLessThanOrEqual(spec.limit);
            }
          }
          admittedTotal += admissions.length;
        },
      ),
      { numRuns: 400 },
    );
    expect(admittedTotal).toBeGreaterThan(1000);
    expect(backSteps).toBeGreaterThan(1000);
  });
});

// ---------------------------------------------------------------------------------------------
// Exact scenarios
// ---------------------------------------------------------------------------------------------

describe('MemoryLimiter exact scenarios', () => {
  it('token bucket 10/s burst 10: exactly 10 at t=0, then refused until t=100, one more at t=100', () => {
    const { limiter, clock } = clocked(0);
    const c = chk('forecast', 'desk-7', tb(10, 1000, 10));
    const remaining: number[] = [];
    for (let i = 0; i < 10; i++) {
      const d = limiter.check([c]);
      expect(d.allowed).toBe(true);
      remaining.push(d.remaining);
    }
    expect(remaining).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    // Refused: one token is 100 ms away; the bucket is full again after 1000 ms.
    expect(limiter.check([c])).toEqual({ allowed: false, policy: 'forecast', spec: c.spec, remaining: 0, resetMs: 1000, retryAfterMs: 100, backend: 'memory' });
    clock.t = 99;
    // 0.99 tokens: 1 ms to go by the definition (the float 1 - 0.99 = 0.01000000000000001 would
    // round up to 2 without the tolerance).
    expect(limiter.check([c])).toMatchObject({ allowed: false, retryAfterMs: 1 });
    clock.t = 100;
    expect(limiter.check([c])).toMatchObject({ allowed: true, remaining: 0, resetMs: 1000 });
    expect(limiter.check([c])).toMatchObject({ allowed: false, retryAfterMs: 100 });
  });

  // Tokens are a float sum along the path of checks: a bucket that holds exactly one token by the
  // definition can hold 0.9999999999999999; the tolerance admits it (found by the property above).
  it('the retry a token bucket names is admitted: 2/s, 3 taken by t=593, retry at t=1000', () => {
    const { limiter, clock } = clocked(0);
    const c = chk('forecast', 'desk-7', tb(2, 1000, 2));
    expect([limiter.check([c]).allowed, limiter.check([c]).allowed]).toEqual([true, true]);
    clock.t = 593; // 1.186 tokens
    expect(limiter.check([c]).allowed).toBe(true);
    const refused = limiter.check([c]); // 0.186 tokens: 0.814 to go at 2 per 1000 ms = 407 ms
    expect(refused).toMatchObject({ allowed: false, retryAfterMs: 407 });
    clock.t = 593 + 407; // 4 tokens have flowed in since t=0 (2 + 2 per second), 3 were taken
    expect(limiter.check([c])).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('token bucket without burst: the bucket holds `limit`', () => {
    const { limiter } = clocked(0);
    const c = chk('api', 'desk-7', tb(3, 60_000));
    expect([1, 2, 3, 4].map(() => limiter.check([c]).allowed)).toEqual([true, true, true, false]);
  });

  it('sliding window 3 per 1000: admits at t=0,1,2, refuses at 999, admits at 1000', () => {
    const { limiter, clock } = clocked(0);
    const c = chk('api', 'desk-7', sw(3, 1000));
    const at = (t: number): LimitDecision => {
      clock.t = t;
      return limiter.check([c]);
    };
    expect(at(0)).toMatchObject({ allowed: true, remaining: 2, resetMs: 1000 });
    expect(at(1)).toMatchObject({ allowed: true, remaining: 1, resetMs: 1000 });
    expect(at(2)).toMatchObject({ allowed: true, remaining: 0, resetMs: 1000 });
    // The oldest admission (t=0) leaves the window at 1000: 1 ms away; the newest (t=2) at 1002.
    expect(at(999)).toEqual({ allowed: false, policy: 'api', spec: c.spec, remaining: 0, resetMs: 3, retryAfterMs: 1, backend: 'memory' });
    expect(at(1000)).toMatchObject({ allowed: true, remaining: 0, resetMs: 1000 });
    // Full again: t=1 leaves at 1001.
    expect(at(1000)).toMatchObject({ allowed: false, retryAfterMs: 1 });
    expect(at(1001)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('a set of checks: admitted only when every one admits; a refused set charges none; the tightest binds', () => {
    const { limiter } = clocked(0);
    const global = tb(1, 60_000, 5); // 5 for everyone
    const perKey = tb(1, 60_000, 2); // 2 per key
    const req = (key: string): LimitCheck[] => [chk('global', '*', global), chk('forecast', key, perKey)];
    expect(limiter.check(req('a'))).toMatchObject({ allowed: true, policy: 'forecast', remaining: 1 });
    expect(limiter.check(req('a'))).toMatchObject({ allowed: true, policy: 'forecast', remaining: 0 });
    // Refused by the per-key limit, many times: the global budget is not eaten.
    for (let i = 0; i < 5; i++) expect(limiter.check(req('a'))).toMatchObject({ allowed: false, policy: 'forecast' });
    // 'b': global 2 left, per-key 1 left: the per-key limit binds.
    expect(limiter.check(req('b'))).toMatchObject({ allowed: true, policy: 'forecast', remaining: 1 });
    // 'c': both 1 left: the first of the tied ones binds.
    expect(limiter.check(req('c'))).toMatchObject({ allowed: true, policy: 'global', remaining: 1 });
    expect(limiter.check(req('d'))).toMatchObject({ allowed: true, policy: 'global', remaining: 0 });
    // Global empty now: refused by it, and 'e' keeps its whole per-key quota.
    expect(limiter.check(req('e'))).toMatchObject({ allowed: false, policy: 'global' });
    expect(limiter.check([chk('forecast', 'e', perKey)])).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('a clock stepping backwards adds no tokens and frees no window slot', () => {
    const { limiter, clock } = clocked(10_000);
    const b = chk('forecast', 'desk-7', tb(10, 1000, 10));
    const w = chk('api', 'desk-7', sw(2, 1000));
    for (let i = 0; i < 10; i++) limiter.check([b]);
    limiter.check([w]);
    limiter.check([w]);
    clock.t = 5_000; // 5 s back
    expect(limiter.check([b]).allowed).toBe(false);
    expect(limiter.check([w]).allowed).toBe(false);
    clock.t = 10_099; // had the step back moved the bucket's time, 5 s of tokens would be there
    expect(limiter.check([b]).allowed).toBe(false);
    expect(limiter.check([w]).allowed).toBe(false);
    clock.t = 10_100;
    expect(limiter.check([b]).allowed).toBe(true);
    expect(limiter.check([b]).allowed).toBe(false);
    clock.t = 10_999;
    expect(limiter.check([w]).allowed).toBe(false);
    clock.t = 11_000;
    expect(limiter.check([w]).allowed).toBe(true);
  });

  it('a spec change for the same policy and subject has state of its own; an equal spec object does not', () => {
    const { limiter } = clocked(0);
    const two = tb(1, 60_000, 2);
    const three = tb(1, 60_000, 3);
    const c = (spec: LimitSpec): LimitCheck[] => [chk('forecast', 'desk-7', spec)];
    expect([1, 2, 3].map(() => limiter.check(c(two)).allowed)).toEqual([true, true, false]);
    // A copy with the same values is the same limit: still empty.
    expect(limiter.check(c({ ...two })).allowed).toBe(false);
    // A bigger burst: a fresh, full bucket.
    expect(limiter.check(c(three))).toMatchObject({ allowed: true, remaining: 2 });
    // Back to the old spec: its own state, where it was left (as in Redis, where the key names
    // the spec: instances on either spec during a rolling deploy share that spec's state).
    expect(limiter.check(c(two)).allowed).toBe(false);
    // Another algorithm: a fresh log.
    const log = sw(1, 60_000);
    expect(limiter.check(c(log))).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.check(c(log)).allowed).toBe(false);
    // Another window for the same log limit: fresh.
    expect(limiter.check(c(sw(1, 30_000))).allowed).toBe(true);
    expect(limiter.size).toBe(4);
  });
});

// ---------------------------------------------------------------------------------------------
// Memory: sweep and many subjects
// ---------------------------------------------------------------------------------------------

describe('MemoryLimiter memory', () => {
  it('sweep() drops full buckets and empty logs and keeps the others (boundaries exact)', () => {
    const { limiter, clock } = clocked(0);
    limiter.check([chk('a', 's', tb(10, 1000, 10))]); // 9 tokens; full again at t=100
    limiter.check([chk('b', 's', tb(1, 60_000, 5))]); // 4 tokens; full again at t=60000
    limiter.check([chk('c', 's', sw(3, 100))]); // log [0]; empty at t=100
    limiter.check([chk('d', 's', sw(3, 1000))]); // log [0]; empty at t=1000
    // A refused set still creates the other checks' states: a full bucket and an empty log.
    const full = tb(1, 60_000, 1);
    limiter.check([chk('e', 's', full)]);
    expect(limiter.check([chk('e', 's', full), chk('f', 's', tb(1, 60_000, 3)), chk('g', 's', sw(1, 60_000))]).allowed).toBe(false);
    expect(limiter.size).toBe(7);
    // t=0: 'f' (full bucket) and 'g' (empty log) say nothing.
    expect(limiter.sweep()).toBe(2);
    expect(limiter.size).toBe(5);
    clock.t = 99;
    expect(limiter.sweep()).toBe(0);
    expect(limiter.size).toBe(5);
    clock.t = 100; // 'a' holds 10 tokens again, 'c''s admission is out of its window
    expect(limiter.sweep()).toBe(2);
    expect(limiter.size).toBe(3);
    // What was kept still limits: 'b' has 4 tokens left, 'd' one admission in its window.
    const b = [1, 2, 3, 4, 5].map(() => limiter.check([chk('b', 's', tb(1, 60_000, 5))]).allowed);
    expect(b).toEqual([true, true, true, true, false]);
    const d = [1, 2, 3].map(() => limiter.check([chk('d', 's', sw(3, 1000))]).allowed);
    expect(d).toEqual([true, true, false]);
    expect(limiter.size).toBe(3);
  });

  it('10,000 subjects: 10,000 states after one check each, none after the window and a sweep', () => {
    // A collector to call around the measurement (the forks pool runs without --expose-gc).
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (const spec of [tb(10, 1000, 10), sw(10, 1000)]) {
      const { limiter, clock } = clocked(T0);
      const checks = Array.from({ length: 10_000 }, (_, i) => [chk('forecast', `key-${i}`, spec)]);
      gc();
      const before = process.memoryUsage().heapUsed;
      for (const c of checks) limiter.check(c);
      gc();
      const grown = process.memoryUsage().heapUsed - before;
      for (const c of checks) expect(limiter.check(c).allowed).toBe(true); // a second one each
      expect(limiter.size).toBe(10_000);
      console.log(`[service-limits] ${spec.algorithm}: heap growth for 10,000 subjects ${(grown / 1024 / 1024).toFixed(2)} MiB (${Math.round(grown / 10_000)} B per subject, after a full GC)`);
      clock.t += 999; // the buckets are full again (after 200 ms); the logs keep their admissions until 1000 ms
      expect(limiter.sweep()).toBe(spec.algorithm === 'token-bucket' ? 10_000 : 0);
      clock.t += 1; // the window has passed
      expect(limiter.sweep()).toBe(spec.algorithm === 'token-bucket' ? 0 : 10_000);
      expect(limiter.size).toBe(0);
      limiter.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Memory: edges the properties reach rarely (found by mutation testing)
// ---------------------------------------------------------------------------------------------

describe('memory limiter edges', () => {
  it('an empty set of checks is a typed error, not a decision', () => {
    const { limiter } = clocked(0);
    let err: unknown = null;
    try {
      limiter.check([]);
    } catch (e) {
      err = e;
    }
    expect((err as { code?: string }).code).toBe('TG_INVALID_ARGUMENT');
    expect((err as Error).message).toBe('a rate-limit decision needs at least one check');
  });

  it('a sliding window past its first ring (40 admissions) keeps every one: exact refusals and retries', () => {
    const { limiter, clock } = clocked(0);
    const c = [chk('api', 'desk-7', sw(40, 1000))];
    const admitted: boolean[] = [];
    for (let t = 0; t < 40; t++) {
      clock.t = t;
      admitted.push(limiter.check(c).allowed);
    }
    expect(admitted.every(Boolean)).toBe(true);
    clock.t = 40;
    expect(limiter.check(c)).toMatchObject({ allowed: false, retryAfterMs: 960, resetMs: 999 });
    clock.t = 1000; // the admission at t=0 leaves the window
    expect(limiter.check(c)).toMatchObject({ allowed: true, remaining: 0 });
    expect(limiter.check(c)).toMatchObject({ allowed: false, retryAfterMs: 1 });
    clock.t = 1001;
    expect(limiter.check(c)).toMatchObject({ allowed: true, remaining: 0 });
    clock.t = 2001; // every admission from t=2 to t=1001 has left: a whole window again
    expect(limiter.check(c)).toMatchObject({ allowed: true, remaining: 39 });
  });

  it('a token bucket and a sliding window with the same numbers are two limits', () => {
    const { limiter } = clocked(0);
    const bucket = [chk('api', 'desk-7', tb(3, 1000))];
    const log = [chk('api', 'desk-7', sw(3, 1000))];
    expect([1, 2, 3, 4].map(() => limiter.check(bucket).allowed)).toEqual([true, true, true, false]);
    expect(limiter.check(log)).toMatchObject({ allowed: true, remaining: 2 });
    expect(limiter.size).toBe(2);
  });

  it('sweepMs: 0 never sweeps on its own', async () => {
    const clock = { t: 0 };
    const limiter = new MemoryLimiter({ sweepMs: 0, now: () => clock.t });
    limiter.check([chk('forecast', 'desk-7', tb(10, 1000))]);
    clock.t = 100;
    await new Promise((r) => setTimeout(r, 40));
    expect(limiter.size).toBe(1);
    expect(limiter.sweep()).toBe(1);
    expect(limiter.size).toBe(0);
  });

  it('sweeps on its own every sweepMs, and close() stops it', async () => {
    const clock = { t: 0 };
    const limiter = new MemoryLimiter({ sweepMs: 20, now: () => clock.t });
    const c = [chk('forecast', 'desk-7', tb(10, 1000))];
    limiter.check(c);
    expect(limiter.size).toBe(1);
    clock.t = 100; // full again
    // A 20 ms timer may fire late on a loaded machine: wait for the sweep (a missing one still fails).
    await vi.waitUntil(() => limiter.size === 0, { timeout: 5000, interval: 20 });
    expect(limiter.size).toBe(0);
    limiter.close();
    limiter.check(c);
    clock.t = 200;
    await new Promise((r) => setTimeout(r, 120));
    expect(limiter.size).toBe(1);
  });
});
