// Exact values of the circuit breaker, table-driven: every option check with its message, every
// transition's reason, retryAfterMs in every state (getter, stats, CircuitOpenError), a clock that
// steps backwards or is not finite, and fire() with and without a timeout on calls that take real
// time. Written against the surviving mutants of lib/breaker/breaker.ts (npm run test:mutation --
// breaker): each expectation is an exact value a wrong breaker cannot produce.
import { afterEach, describe, expect, it, vi } from 'vitest';

import { CircuitBreaker, CircuitOpenError, ManualClock, type BreakerOptions, type Clock } from '../lib/breaker';
import { ErrorCode, hasCode } from '../lib/errors';
import { thrown } from './model-fixtures';

const T0 = 1_000_000;

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    (v) => {
      throw new Error(`expected a rejection, resolved with ${String(v)}`);
    },
    (e: unknown) => e,
  );
}

/** A clock the test sets to any value, backwards and NaN included (ManualClock refuses both). */
class SteppingClock implements Clock {
  constructor(public t: number) {}
  now(): number {
    return this.t;
  }
}

function make(opts: BreakerOptions = {}) {
  const clock = new ManualClock(T0);
  const b = new CircuitBreaker({ clock, ...opts });
  const events: string[] = [];
  b.on('stateChange', (t) => events.push(`${t.event}@${t.at - T0}`));
  return { clock, b, events };
}

function acquire(b: CircuitBreaker) {
  const p = b.tryAcquire();
  if (p === null) throw new Error(`expected a permit, breaker is ${b.state}`);
  return p;
}

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('option checks: exact coded errors', () => {
  const KNOWN = 'name, windowMs, windowBuckets, minimumCalls, failureRateThreshold, consecutiveFailures, slowCallMs, slowCallRateThreshold, openMs, halfOpenMaxCalls, halfOpenSuccesses, trialTimeoutMs, historyLimit, clock';
  // [options, error class, message]
  const cases: [string, unknown, 'RangeError' | 'TypeError', string][] = [
    ['null options', null, 'TypeError', 'CircuitBreaker: options must be an object, got null'],
    ['number options', 5, 'TypeError', 'CircuitBreaker: options must be an object, got number'],
    ['unknown key', { timeout: 5 }, 'RangeError', `CircuitBreaker: unknown option timeout (known: ${KNOWN})`],
    ['empty name', { name: '' }, 'RangeError', 'CircuitBreaker "": name must be a string of 1 to 128 printable characters, got ""'],
    ['number name', { name: 5 }, 'RangeError', 'CircuitBreaker "?": name must be a string of 1 to 128 printable characters, got 5'],
    ['control in name', { name: 'a\nb' }, 'RangeError', 'CircuitBreaker "a\nb": name must be a string of 1 to 128 printable characters, got "a\\nb"'],
    ['windowMs 0', { windowMs: 0 }, 'RangeError', 'CircuitBreaker "default": windowMs must be finite and > 0, got 0'],
    ['windowMs null', { windowMs: null }, 'RangeError', 'CircuitBreaker "default": windowMs must be finite and > 0, got object'],
    ['windowBuckets 1001', { windowBuckets: 1001 }, 'RangeError', 'CircuitBreaker "default": windowBuckets must be an integer from 1 to 1000, got 1001'],
    ['windowBuckets "5"', { windowBuckets: '5' }, 'RangeError', 'CircuitBreaker "default": windowBuckets must be an integer from 1 to 1000, got "5"'],
    ['minimumCalls 0', { minimumCalls: 0 }, 'RangeError', 'CircuitBreaker "default": minimumCalls must be an integer >= 1, got 0'],
    ['failure rate "0.5"', { failureRateThreshold: '0.5' }, 'RangeError', 'CircuitBreaker "default": failureRateThreshold must be in (0, 1], got "0.5"'],
    ['consecutiveFailures 0', { consecutiveFailures: 0 }, 'RangeError', 'CircuitBreaker "default": consecutiveFailures must be an integer >= 1 or Infinity, got 0'],
    ['slowCallMs "5"', { slowCallMs: '5' }, 'RangeError', 'CircuitBreaker "default": slowCallMs must be > 0 (Infinity: off), got "5"'],
    ['slow rate true', { slowCallRateThreshold: true }, 'RangeError', 'CircuitBreaker "default": slowCallRateThreshold must be in (0, 1], got true'],
    ['openMs -1', { openMs: -1 }, 'RangeError', 'CircuitBreaker "default": openMs must be finite and >= 0, got -1'],
    ['halfOpenMaxCalls 0', { halfOpenMaxCalls: 0 }, 'RangeError', 'CircuitBreaker "default": halfOpenMaxCalls must be an integer >= 1, got 0'],
    ['halfOpenSuccesses 0', { halfOpenSuccesses: 0 }, 'RangeError', 'CircuitBreaker "default": halfOpenSuccesses must be an integer >= 1, got 0'],
    ['trialTimeoutMs "5"', { trialTimeoutMs: '5' }, 'RangeError', 'CircuitBreaker "default": trialTimeoutMs must be > 0 (Infinity: never), got "5"'],
    ['historyLimit 100001', { historyLimit: 100_001 }, 'RangeError', 'CircuitBreaker "default": historyLimit must be an integer from 0 to 100000, got 100001'],
    ['clock null', { clock: null }, 'TypeError', 'CircuitBreaker "default": clock must be an object with a now() method'],
    ['clock a function', { clock: Object.assign(() => 0, { now: () => 0 }) }, 'TypeError', 'CircuitBreaker "default": clock must be an object with a now() method'],
  ];

  it.each(cases)('%s', (_name, options, cls, message) => {
    const err = thrown(() => new CircuitBreaker(options as BreakerOptions));
    expect(hasCode(err, ErrorCode.InvalidArgument)).toBe(true);
    expect((err as Error).constructor.name).toBe(cls);
    expect((err as Error).message).toBe(message);
  });

  it('accepts the boundaries', () => {
    const b = new CircuitBreaker({ windowBuckets: 1000, historyLimit: 100_000, openMs: 0, failureRateThreshold: 1, slowCallRateThreshold: 1 });
    expect(b.options).toMatchObject({ windowBuckets: 1000, historyLimit: 100_000, openMs: 0 });
    expect(new CircuitBreaker({ windowBuckets: 1, historyLimit: 0, name: 'x'.repeat(128) }).name).toBe('x'.repeat(128));
  });
});

describe('exact reasons and messages', () => {
  it('a new breaker: closed since its creation, every counter zero', () => {
    const { b } = make();
    expect(b.stats()).toEqual({
      name: 'default', state: 'closed', since: T0, reason: 'created', calls: 0, successes: 0, failures: 0, slow: 0, rejected: 0,
      failureRate: 0, slowRate: 0, window: { ms: 60_000, calls: 0, successes: 0, failures: 0, slow: 0 }, consecutiveFailures: 0,
      openedCount: 0, halfOpenInFlight: 0, halfOpenSuccesses: 0, retryAfterMs: 0, lastFailure: null, listenerErrors: 0,
    });
  });

  it('permit.failure without a usable reason records "failure"', () => {
    const { b } = make({ consecutiveFailures: Infinity });
    for (const bad of ['', undefined, 5]) {
      expect(acquire(b).failure(bad as string)).toBe(true);
      expect(b.stats().lastFailure).toEqual({ reason: 'failure', at: T0 });
    }
  });

  it('execute describes what was thrown: code, else name, else a non-Error', () => {
    const { b } = make({ consecutiveFailures: Infinity });
    const table: [unknown, string][] = [
      [new TypeError('bad input'), 'TypeError: bad input'],
      [Object.assign(new Error('bad output'), { code: 'TG_RUN_FAILED' }), 'TG_RUN_FAILED: bad output'],
      [Object.assign(new Error('odd'), { code: 42 }), 'Error: odd'],
      ['plain', 'non-Error thrown: plain'],
      [null, 'non-Error thrown: null'],
    ];
    for (const [value, reason] of table) {
      expect(thrown(() => b.execute(() => { throw value; }))).toBe(value);
      expect(b.stats().lastFailure).toEqual({ reason, at: T0 });
    }
  });

  it('each transition carries its exact reason', () => {
    const { b, clock } = make({ openMs: 1_000, halfOpenSuccesses: 3, slowCallMs: 50, trialTimeoutMs: 500 });
    const reasons = (): string[] => b.history().map((t) => `${t.event}: ${t.reason}`);
    for (let i = 0; i < 3; i++) acquire(b).failure('boom');
    clock.advance(1_000);
    for (let i = 0; i < 3; i++) acquire(b).success();
    for (let i = 0; i < 3; i++) acquire(b).failure('boom');
    clock.advance(1_000);
    const slow = acquire(b);
    clock.advance(50);
    slow.success();
    clock.advance(1_000);
    acquire(b); // forgotten: expires after trialTimeoutMs
    clock.advance(500);
    expect(b.state).toBe('open');
    clock.advance(1_000);
    acquire(b).failure('still broken');
    expect(b.forceOpen('swap')).toBe(true);
    expect(b.release()).toBe(true);
    expect(b.forceOpen('swap again')).toBe(true);
    expect(b.release(undefined, 'closed')).toBe(true);
    b.reset();
    expect(reasons()).toEqual([
      'open: 3 consecutive failures (threshold 3); last: boom',
      'halfOpen: open for 1000 ms; letting trial calls through',
      'close: 3 trial call(s) succeeded',
      'open: 3 consecutive failures (threshold 3); last: boom',
      'halfOpen: open for 1000 ms; letting trial calls through',
      'open: slow trial call (50 ms >= 50 ms)',
      'halfOpen: open for 1000 ms; letting trial calls through',
      'open: trial call failed: trial call not settled within 500 ms',
      'halfOpen: open for 1000 ms; letting trial calls through',
      'open: trial call failed: still broken',
      'forcedOpen: swap',
      'release: released',
      'forcedOpen: swap again',
      'release: released',
      'reset: manual reset',
    ]);
  });

  it('rate trips: exact figures in the reason, exact rates in the stats', () => {
    const f = make({ consecutiveFailures: Infinity, minimumCalls: 4, failureRateThreshold: 0.75 });
    for (const ok of [false, true, false, false]) (ok ? acquire(f.b).success() : acquire(f.b).failure('x'));
    expect(f.b.stats().reason).toBe('failure rate 75.0% of 4 calls in the window >= 75.0%');

    const s = make({ minimumCalls: 4, slowCallMs: 100, slowCallRateThreshold: 0.75 });
    const timed = (ms: number): void => {
      const p = acquire(s.b);
      s.clock.advance(ms);
      p.success();
    };
    timed(100);
    timed(0);
    timed(150);
    expect(s.b.stats()).toMatchObject({ state: 'closed', slow: 2, slowRate: 2 / 3, failureRate: 0, window: { calls: 3, slow: 2, successes: 3 } });
    timed(100);
    expect(s.b.stats()).toMatchObject({ state: 'open', reason: 'slow call rate 75.0% of 4 calls in the window (>= 100 ms) >= 75.0%' });
  });

  it('CircuitOpenError: name, message, state and retryAfterMs', () => {
    const { b, clock } = make({ openMs: 1_000, consecutiveFailures: 1 });
    acquire(b).failure('boom');
    clock.advance(250);
    const err = thrown(() => b.execute(() => 1)) as CircuitOpenError;
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('CircuitOpenError');
    expect(err.message).toBe('circuit breaker "default" is open: 1 consecutive failures (threshold 1); last: boom');
    expect([err.state, err.retryAfterMs, err.reason, err.breaker]).toEqual(['open', 750, '1 consecutive failures (threshold 1); last: boom', 'default']);
    expect(b.forceOpen('maintenance')).toBe(true);
    const forced = thrown(() => b.execute(() => 1)) as CircuitOpenError;
    expect(forced.message).toBe('circuit breaker "default" is forced-open: maintenance');
    expect(forced.retryAfterMs).toBe(Infinity);
  });

  it('manual controls: exact errors', () => {
    const { b } = make();
    for (const bad of ['', 5, undefined]) {
      const err = thrown(() => b.forceOpen(bad as string));
      expect(err).toBeInstanceOf(TypeError);
      expect(hasCode(err, ErrorCode.InvalidArgument)).toBe(true);
      expect((err as Error).message).toBe('CircuitBreaker "default": forceOpen needs a reason (non-empty string)');
    }
    expect(b.state).toBe('closed');
    const err = thrown(() => b.release('x', 'open' as 'closed'));
    expect((err as Error).message).toBe('CircuitBreaker "default": release target must be \'half-open\' or \'closed\', got "open"');
  });

  it('a throwing listener becomes a coded process warning', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const { b } = make({ consecutiveFailures: 1 });
    b.on('open', () => {
      throw new Error('listener bug');
    });
    acquire(b).failure('x');
    expect(warn.mock.calls).toEqual([[`circuit breaker "default": a 'open' listener threw: Error: listener bug`, { code: 'TG_BREAKER_LISTENER' }]]);
  });
});

describe('retryAfterMs in every state: getter, stats and refusal agree', () => {
  it('closed 0, open the wait left, half-open 0, forced-open Infinity', () => {
    const { b, clock } = make({ openMs: 1_000, consecutiveFailures: 1, halfOpenSuccesses: 2 });
    const all = (): number[] => [b.retryAfterMs, b.stats().retryAfterMs];
    expect(all()).toEqual([0, 0]);
    acquire(b).failure('x');
    expect(all()).toEqual([1_000, 1_000]);
    clock.advance(999);
    expect(all()).toEqual([1, 1]);
    expect((thrown(() => b.execute(() => 1)) as CircuitOpenError).retryAfterMs).toBe(1);
    clock.advance(1);
    expect(all()).toEqual([0, 0]);
    expect(b.state).toBe('half-open');
    acquire(b).success();
    expect(all()).toEqual([0, 0]);
    expect(b.stats()).toMatchObject({ state: 'half-open', halfOpenSuccesses: 1, halfOpenInFlight: 0 });
    expect(b.forceOpen('maintenance')).toBe(true);
    expect(all()).toEqual([Infinity, Infinity]);
    clock.advance(1e9);
    expect(all()).toEqual([Infinity, Infinity]);
    expect(b.release('done', 'closed')).toBe(true);
    expect(all()).toEqual([0, 0]);
  });

  it('reading it alone moves open -> half-open when due', () => {
    const { b, clock, events } = make({ openMs: 1_000, consecutiveFailures: 1 });
    acquire(b).failure('x');
    clock.advance(1_000);
    expect(b.retryAfterMs).toBe(0);
    expect(events).toEqual(['open@0', 'halfOpen@1000']);
  });

  it('reading it alone fails an overdue trial and reports the new wait', () => {
    const { b, clock, events } = make({ openMs: 1_000, consecutiveFailures: 1, trialTimeoutMs: 500 });
    acquire(b).failure('x');
    clock.advance(1_000);
    acquire(b);
    clock.advance(500);
    expect(b.retryAfterMs).toBe(1_000);
    expect(events).toEqual(['open@0', 'halfOpen@1000', 'open@1500']);
  });
});

describe('a clock that steps backwards or is not finite', () => {
  it('a backwards step is time standing still: the wait does not grow, nothing runs backwards', () => {
    const clock = new SteppingClock(T0);
    const b = new CircuitBreaker({ clock, openMs: 1_000, consecutiveFailures: 1, slowCallMs: 100 });
    clock.t = T0 + 100;
    const p = acquire(b);
    expect(p.startedAt).toBe(T0 + 100);
    clock.t = T0 - 5_000;
    expect(acquire(b).startedAt).toBe(T0 + 100); // clamped, not T0 - 5_000
    p.failure('x'); // opens at the clamped time
    expect(b.stats()).toMatchObject({ state: 'open', since: T0 + 100, retryAfterMs: 1_000 });
    expect(b.retryAfterMs).toBe(1_000); // unclamped: 6_100
    clock.t = T0 + 1_099;
    expect(b.retryAfterMs).toBe(1);
    clock.t = T0 + 50; // back again: still 1 ms to wait, not 1_050
    expect(b.retryAfterMs).toBe(1);
    expect(b.state).toBe('open');
    clock.t = T0 + 1_100;
    expect(b.state).toBe('half-open');
  });

  it('a step back from +0 to -0 keeps +0', () => {
    const clock = new SteppingClock(0);
    const b = new CircuitBreaker({ clock });
    clock.t = -0;
    expect(Object.is(acquire(b).startedAt, 0)).toBe(true);
  });

  it('a non-finite start counts from 0; NaN later is time standing still', () => {
    const clock = new SteppingClock(NaN);
    const b = new CircuitBreaker({ clock });
    expect(b.stats().since).toBe(0);
    expect(acquire(b).startedAt).toBe(0);
    clock.t = 250;
    expect(acquire(b).startedAt).toBe(250);
    clock.t = NaN;
    expect(acquire(b).startedAt).toBe(250);
    expect(new CircuitBreaker({ clock: new SteppingClock(Infinity) }).stats().since).toBe(0);
  });
});

describe('fire', () => {
  const later = <T>(ms: number, value: T): Promise<T> => new Promise((resolve) => setTimeout(() => resolve(value), ms));

  it('without a timeout, a call taking real time resolves and counts one success', async () => {
    const { b } = make();
    await expect(b.fire(() => later(30, 'slow but fine'))).resolves.toBe('slow but fine');
    expect(b.stats()).toMatchObject({ successes: 1, failures: 0, calls: 1 });
  });

  it('without a timeout, a call lasting slowCallMs on the breaker clock is slow', async () => {
    const { b, clock } = make({ slowCallMs: 100 });
    await expect(b.fire(async () => { clock.advance(100); return 1; })).resolves.toBe(1);
    await expect(b.fire(async () => { clock.advance(99); return 2; })).resolves.toBe(2);
    expect(b.stats()).toMatchObject({ successes: 2, slow: 1, window: { slow: 1, calls: 2 } });
  });

  it('with a timeout, a rejection is passed through and counted once', async () => {
    const { b } = make();
    const boom = new RangeError('nope');
    expect(await rejection(b.fire(() => Promise.reject(boom), 1_000))).toBe(boom);
    expect(b.stats()).toMatchObject({ failures: 1, successes: 0, lastFailure: { reason: 'RangeError: nope', at: T0 } });
  });

  it('the timeout error is coded and names the breaker and the time', async () => {
    const { b } = make({ name: 'model-a' });
    const err = await rejection(b.fire(() => later(200, 'late'), 5));
    expect(hasCode(err, ErrorCode.RunTimeout)).toBe(true);
    expect((err as Error).message).toBe('circuit breaker "model-a": call timed out after 5 ms');
  });

  it('rejects a bad timeout with an exact coded error, calling nothing', async () => {
    const { b } = make();
    const fn = vi.fn(async () => 1);
    for (const [bad, shown] of [[0, '0'], [-1, '-1'], [NaN, 'NaN'], [Infinity, 'Infinity'], ['5', '"5"']] as const) {
      const err = await rejection(b.fire(fn, bad as number));
      expect(hasCode(err, ErrorCode.InvalidArgument)).toBe(true);
      expect((err as Error).message).toBe(`CircuitBreaker "default": timeoutMs must be finite and > 0, got ${shown}`);
    }
    expect(fn).not.toHaveBeenCalled();
    expect(b.stats().calls).toBe(0);
  });

  it('leaves no timer behind once the call settles', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { b } = make();
    await expect(b.fire(async () => 'v', 60_000)).resolves.toBe('v');
    await expect(b.fire(() => Promise.reject(new Error('x')), 60_000)).rejects.toThrow('x');
    expect(vi.getTimerCount()).toBe(0);
  });

  // A half-open trial failed by trialTimeoutMs ignores its late report; fire() used to ignore the
  // outcome too, and its promise never settled (a bug, fixed in breaker.ts).
  it('a trial expired by trialTimeoutMs still settles the promise: the value, or the timeout', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const flush = (): Promise<void> => new Promise((r) => setImmediate(r)); // not faked
    const outcome = (p: Promise<unknown>): { v: unknown } => {
      const o: { v: unknown } = { v: 'pending' };
      p.then((v) => (o.v = v), (e: unknown) => (o.v = hasCode(e, ErrorCode.RunTimeout) ? 'timeout' : e));
      return o;
    };
    const { b, clock } = make({ openMs: 10, consecutiveFailures: 1, trialTimeoutMs: 100, halfOpenSuccesses: 1 });
    acquire(b).failure('x');
    clock.advance(10);
    let finish!: (v: string) => void;
    const resolved = outcome(b.fire(() => new Promise<string>((r) => (finish = r)), 1_000));
    clock.advance(100);
    expect(b.state).toBe('open'); // the trial expired
    finish('value');
    await flush();
    expect(resolved.v).toBe('value');

    clock.advance(10);
    const timedOut = outcome(b.fire(() => new Promise<string>(() => undefined), 1_000));
    clock.advance(100);
    expect(b.state).toBe('open');
    vi.advanceTimersByTime(1_000);
    await flush();
    expect(timedOut.v).toBe('timeout');
    expect(b.stats()).toMatchObject({ successes: 0, failures: 3 });
  });
});

describe('Permit.cancel: a permit given back without a verdict', () => {
  it('closed: nothing is counted, the permit is settled, later settlements are refused', () => {
    const { b } = make({ minimumCalls: 1, consecutiveFailures: 1 });
    const p = b.tryAcquire()!;
    expect(p.cancel()).toBe(true);
    expect(p.settled).toBe(true);
    expect(p.cancel()).toBe(false);
    expect(p.failure('late')).toBe(false);
    expect(p.success()).toBe(false);
    expect(b.stats()).toMatchObject({ state: 'closed', calls: 0, successes: 0, failures: 0, consecutiveFailures: 0, window: { calls: 0 } });
  });

  it('half-open: a cancelled trial frees its slot, and counts towards neither closing nor opening', () => {
    const { b, clock } = make({ halfOpenMaxCalls: 1, halfOpenSuccesses: 1, openMs: 100, consecutiveFailures: 1 });
    b.tryAcquire()!.failure('boom');
    expect(b.state).toBe('open');
    clock.advance(100);
    const trial = b.tryAcquire()!;
    expect(trial.trial).toBe(true);
    expect(b.tryAcquire()).toBeNull(); // the one slot is taken
    expect(b.stats().halfOpenInFlight).toBe(1);
    expect(trial.cancel()).toBe(true);
    expect(b.state).toBe('half-open');
    expect(b.stats()).toMatchObject({ halfOpenInFlight: 0, successes: 0, failures: 1 });
    const next = b.tryAcquire()!;
    expect(next.trial).toBe(true);
    next.success();
    expect(b.state).toBe('closed');
  });
});
