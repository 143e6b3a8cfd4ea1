import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';

import {
  BREAKER_DEFAULTS,
  BreakerErrorCode,
  BreakerRegistry,
  CircuitBreaker,
  CircuitOpenError,
  ManualClock,
  systemClock,
  type BreakerOptions,
  type BreakerState,
  type BreakerTransition,
  type Permit,
} from '../lib/breaker';
import { ErrorCode, hasCode } from '../lib/errors';
import { thrown } from './model-fixtures';

const T0 = 1_000_000;

function make(opts: BreakerOptions = {}): { clock: ManualClock; b: CircuitBreaker; events: BreakerTransition[] } {
  const clock = new ManualClock(T0);
  const b = new CircuitBreaker({ clock, ...opts });
  const events: BreakerTransition[] = [];
  b.on('stateChange', (t) => events.push(t));
  return { clock, b, events };
}

function acquire(b: CircuitBreaker): Permit {
  const p = b.tryAcquire();
  if (p === null) throw new Error(`expected a permit, breaker is ${b.state}`);
  return p;
}
// A fresh permit always takes its first settlement.
const succeed = (b: CircuitBreaker): void => expect(acquire(b).success()).toBe(true);
const fail = (b: CircuitBreaker, reason = 'boom'): void => expect(acquire(b).failure(reason)).toBe(true);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('clocks', () => {
  it('ManualClock moves only when told, forwards only', () => {
    const c = new ManualClock(5);
    expect(c.now()).toBe(5);
    expect(c.advance(10)).toBe(15);
    expect(c.now()).toBe(15);
    expect(c.set(100)).toBe(100);
    expect(c.now()).toBe(100);
    for (const bad of [() => c.advance(-1), () => c.advance(NaN), () => c.set(99), () => c.set(Infinity), () => new ManualClock(NaN)]) {
      expect(hasCode(thrown(bad), ErrorCode.InvalidArgument)).toBe(true);
    }
    expect(c.now()).toBe(100);
  });

  it('systemClock is performance.now', () => {
    const a = performance.now();
    const t = systemClock.now();
    const b = performance.now();
    expect(t).toBeGreaterThanOrEqual(a);
    expect(t).toBeLessThanOrEqual(b);
  });
});

describe('options', () => {
  it('has the documented defaults in one frozen table, the seed values included', () => {
    expect(Object.isFrozen(BREAKER_DEFAULTS)).toBe(true);
    expect(BREAKER_DEFAULTS).toMatchObject({
      windowMs: 60_000,
      minimumCalls: 10,
      failureRateThreshold: 0.5,
      consecutiveFailures: 3,
      openMs: 60_000,
      halfOpenMaxCalls: 1,
      halfOpenSuccesses: 3,
    });
    expect(BREAKER_DEFAULTS.clock).toBe(systemClock);
    const b = new CircuitBreaker();
    expect(b.options).toEqual(BREAKER_DEFAULTS);
    expect(b.name).toBe('default');
    expect(b.state).toBe('closed');
  });

  it('rejects each invalid option with a coded error naming it', () => {
    const bad: [keyof BreakerOptions, unknown][] = [
      ['name', ''],
      ['name', 'a\nb'],
      ['name', 'x'.repeat(129)],
      ['windowMs', 0],
      ['windowMs', Infinity],
      ['windowBuckets', 0],
      ['windowBuckets', 1.5],
      ['minimumCalls', 0],
      ['failureRateThreshold', 0],
      ['failureRateThreshold', 1.01],
      ['consecutiveFailures', 0],
      ['consecutiveFailures', 2.5],
      ['slowCallMs', 0],
      ['slowCallRateThreshold', NaN],
      ['openMs', -1],
      ['openMs', Infinity],
      ['halfOpenMaxCalls', 0],
      ['halfOpenSuccesses', 0],
      ['trialTimeoutMs', 0],
      ['historyLimit', -1],
      ['clock', {}],
    ];
    for (const [key, value] of bad) {
      const err = thrown(() => new CircuitBreaker({ [key]: value } as BreakerOptions));
      expect(hasCode(err, ErrorCode.InvalidArgument), `${key} = ${String(value)}`).toBe(true);
      expect((err as Error).message).toContain(key);
    }
    const unknown = thrown(() => new CircuitBreaker({ timeout: 5 } as unknown as BreakerOptions));
    expect(hasCode(unknown, ErrorCode.InvalidArgument)).toBe(true);
    expect((unknown as Error).message).toContain('timeout');
    // Infinity switches a check off where documented.
    expect(() => new CircuitBreaker({ consecutiveFailures: Infinity, slowCallMs: Infinity, trialTimeoutMs: Infinity })).not.toThrow();
  });
});

describe('closed -> open', () => {
  it('opens on the third consecutive failure (the seed value); a success breaks the streak', () => {
    const { b, events } = make();
    fail(b);
    fail(b);
    succeed(b);
    fail(b);
    fail(b);
    expect(b.state).toBe('closed');
    expect(b.stats().consecutiveFailures).toBe(2);
    fail(b, 'model threw');
    expect(b.state).toBe('open');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ from: 'closed', to: 'open', event: 'open', at: T0 });
    expect(events[0]!.reason).toMatch(/3 consecutive failures.*model threw/);
    expect(b.stats()).toMatchObject({ state: 'open', failures: 5, successes: 1, consecutiveFailures: 3, openedCount: 1 });
  });

  it('opens on the failure rate over the window once minimumCalls is reached', () => {
    const { b } = make({ consecutiveFailures: Infinity, minimumCalls: 10, failureRateThreshold: 0.5 });
    // 4 failures in 10 calls: 40% < 50%.
    for (let i = 0; i < 10; i++) (i % 5 < 2 ? fail : succeed)(b);
    expect(b.state).toBe('closed');
    expect(b.stats().failureRate).toBeCloseTo(0.4);
    const c = make({ consecutiveFailures: Infinity, minimumCalls: 10, failureRateThreshold: 0.5 }).b;
    // f s f s ... : 5 of 9 calls fail (56%) but 9 < minimumCalls; the 10th call (a success) makes 50%.
    for (let i = 0; i < 9; i++) (i % 2 === 0 ? fail : succeed)(c);
    expect(c.state).toBe('closed');
    succeed(c);
    expect(c.state).toBe('open');
    expect(c.stats().reason).toMatch(/failure rate 50\.0% of 10 calls/);
  });

  it('opens on the slow-call rate; a call just under slowCallMs is not slow', () => {
    const { b, clock } = make({ minimumCalls: 4, slowCallMs: 100, slowCallRateThreshold: 0.5 });
    const timed = (ms: number): void => {
      const p = acquire(b);
      clock.advance(ms);
      p.success();
    };
    timed(99);
    timed(1);
    timed(100);
    expect(b.state).toBe('closed'); // 3 calls < minimumCalls
    expect(b.stats()).toMatchObject({ slow: 1, successes: 3 });
    timed(99); // 1 slow of 4
    expect(b.state).toBe('closed');
    timed(250); // 2 slow of 5 = 40%
    expect(b.state).toBe('closed');
    timed(100); // 3 of 6 = 50%
    expect(b.state).toBe('open');
    expect(b.stats()).toMatchObject({ slow: 3, successes: 6, failures: 0, openedCount: 1 });
    expect(b.stats().reason).toMatch(/slow call rate/);
  });

  it('refuses calls while open: null permits, CircuitOpenError, rejected counted, fn never run', () => {
    const { b, clock } = make({ openMs: 1_000 });
    for (let i = 0; i < 3; i++) fail(b);
    expect(b.tryAcquire()).toBeNull();
    clock.advance(400);
    const fn = vi.fn(() => 1);
    const err = thrown(() => b.execute(fn));
    expect(err).toBeInstanceOf(CircuitOpenError);
    expect(err).toMatchObject({ code: BreakerErrorCode.CircuitOpen, breaker: 'default', state: 'open', retryAfterMs: 600 });
    expect(fn).not.toHaveBeenCalled();
    expect(b.stats()).toMatchObject({ rejected: 2, retryAfterMs: 600 });
  });
});

describe('open -> half-open', () => {
  it('lets a trial through on the first tryAcquire after openMs, not before', () => {
    const { b, clock, events } = make({ openMs: 60_000 });
    for (let i = 0; i < 3; i++) fail(b);
    clock.advance(59_999);
    expect(b.tryAcquire()).toBeNull();
    clock.advance(1);
    const p = b.tryAcquire();
    expect(p).not.toBeNull();
    expect(p!.trial).toBe(true);
    expect(events.map((e) => e.event)).toEqual(['open', 'halfOpen']);
    expect(events[1]).toMatchObject({ from: 'open', to: 'half-open', at: T0 + 60_000 });
  });

  it('leaves the open state on a mere state read (the original never left it)', () => {
    const { b, clock, events } = make({ openMs: 5_000 });
    for (let i = 0; i < 3; i++) fail(b);
    clock.advance(5_000);
    expect(b.state).toBe('half-open');
    expect(events.at(-1)!.event).toBe('halfOpen');
    const c = make({ openMs: 5_000 });
    for (let i = 0; i < 3; i++) fail(c.b);
    c.clock.advance(10_000_000);
    expect(c.b.stats().state).toBe('half-open'); // stats() also refreshes
    expect(c.events.at(-1)).toMatchObject({ event: 'halfOpen', at: T0 + 10_000_000 });
  });
});

describe('half-open', () => {
  function halfOpen(opts: BreakerOptions) {
    const m = make({ openMs: 1_000, ...opts });
    for (let i = 0; i < (opts.consecutiveFailures ?? 3); i++) fail(m.b);
    m.clock.advance(1_000);
    expect(m.b.state).toBe('half-open');
    return m;
  }

  it('allows at most halfOpenMaxCalls trials in flight', () => {
    const { b } = halfOpen({ halfOpenMaxCalls: 2, halfOpenSuccesses: 5 });
    const p1 = acquire(b);
    const p2 = acquire(b);
    expect(b.tryAcquire()).toBeNull();
    expect(b.stats()).toMatchObject({ halfOpenInFlight: 2, rejected: 1 });
    p1.success();
    const p3 = acquire(b);
    expect(b.tryAcquire()).toBeNull();
    p2.success();
    p3.success();
    expect(b.state).toBe('half-open');
    expect(b.stats().halfOpenSuccesses).toBe(3);
  });

  it('never hands out more trials than successes still needed', () => {
    const { b } = halfOpen({ halfOpenMaxCalls: 5, halfOpenSuccesses: 2 });
    const p1 = acquire(b);
    acquire(b);
    expect(b.tryAcquire()).toBeNull();
    p1.success();
    expect(b.tryAcquire()).toBeNull(); // 1 success + 1 in flight = 2 needed
  });

  it('closes after halfOpenSuccesses successes, with a fresh window', () => {
    const { b, events } = halfOpen({ halfOpenSuccesses: 3 });
    succeed(b);
    succeed(b);
    expect(b.state).toBe('half-open');
    succeed(b);
    expect(b.state).toBe('closed');
    expect(events.map((e) => e.event)).toEqual(['open', 'halfOpen', 'close']);
    expect(b.stats()).toMatchObject({ consecutiveFailures: 0, window: { calls: 0, failures: 0 }, successes: 3, failures: 3 });
    // Fresh: two failures do not reopen it (the three old ones are gone).
    fail(b);
    fail(b);
    expect(b.state).toBe('closed');
  });

  it('reopens on a trial failure and waits openMs again from then', () => {
    const { b, clock, events } = halfOpen({ halfOpenSuccesses: 3 });
    succeed(b);
    clock.advance(10);
    fail(b, 'still broken');
    expect(b.state).toBe('open');
    expect(events.at(-1)).toMatchObject({ from: 'half-open', to: 'open', event: 'open', reason: 'trial call failed: still broken' });
    expect(b.stats()).toMatchObject({ openedCount: 2, retryAfterMs: 1_000 });
    clock.advance(999);
    expect(b.tryAcquire()).toBeNull();
    clock.advance(1);
    expect(b.tryAcquire()).not.toBeNull();
  });

  it('reopens on a slow trial', () => {
    const { b, clock } = halfOpen({ slowCallMs: 50, halfOpenSuccesses: 1 });
    const p = acquire(b);
    clock.advance(50);
    p.success();
    expect(b.state).toBe('open');
    expect(b.stats().reason).toMatch(/slow trial call/);
  });

  it('ignores the outcome of a call started before the breaker opened', () => {
    const m = make({ openMs: 1_000, halfOpenSuccesses: 1 });
    const early = acquire(m.b);
    for (let i = 0; i < 3; i++) fail(m.b);
    m.clock.advance(1_000);
    expect(m.b.state).toBe('half-open');
    expect(early.trial).toBe(false);
    expect(early.failure('late failure')).toBe(true);
    expect(m.b.state).toBe('half-open');
    expect(m.b.stats()).toMatchObject({ failures: 4, lastFailure: { reason: 'late failure' } });
  });

  it('fails a trial that is never settled after trialTimeoutMs, and ignores its late report', () => {
    const { b, clock } = halfOpen({ trialTimeoutMs: 500 });
    const forgotten = acquire(b);
    clock.advance(499);
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBeNull();
    clock.advance(1);
    expect(b.state).toBe('open');
    expect(forgotten.settled).toBe(true);
    expect(forgotten.success()).toBe(false);
    expect(b.stats()).toMatchObject({ successes: 0, failures: 4, openedCount: 2 });
  });
});

describe('forced open, release and reset', () => {
  it('stays forced open whatever the time, until released (into half-open by default)', () => {
    const { b, clock, events } = make({ openMs: 1_000, halfOpenSuccesses: 1 });
    expect(() => b.forceOpen('')).toThrow(TypeError);
    expect(b.release()).toBe(false);
    expect(b.forceOpen('model swap')).toBe(true);
    expect(b.forceOpen('again')).toBe(false);
    clock.advance(1e9);
    expect(b.tryAcquire()).toBeNull();
    expect(b.state).toBe('forced-open');
    expect(b.stats()).toMatchObject({ retryAfterMs: Infinity, reason: 'model swap', rejected: 1 });
    expect((thrown(() => b.execute(() => 1)) as CircuitOpenError).state).toBe('forced-open');
    expect(b.release('swap done')).toBe(true);
    expect(b.state).toBe('half-open');
    succeed(b);
    expect(b.state).toBe('closed');
    expect(events.map((e) => `${e.from}>${e.to}:${e.event}`)).toEqual([
      'closed>forced-open:forcedOpen',
      'forced-open>half-open:release',
      'half-open>closed:close',
    ]);
  });

  it('forces open an open breaker (no automatic half-open), releases straight to closed on request', () => {
    const { b, clock } = make({ openMs: 1_000 });
    for (let i = 0; i < 3; i++) fail(b);
    expect(b.forceOpen('suspended: corrupt outputs')).toBe(true);
    clock.advance(5_000);
    expect(b.state).toBe('forced-open');
    expect(() => b.release('x', 'open' as 'closed')).toThrow(RangeError);
    expect(b.release('resumed', 'closed')).toBe(true);
    expect(b.state).toBe('closed');
    expect(b.stats().consecutiveFailures).toBe(0);
  });

  it('reset closes from any state with cleared statistics; openedCount and history stay', () => {
    const { b, clock, events } = make({ openMs: 1_000 });
    succeed(b);
    const early = acquire(b);
    for (let i = 0; i < 3; i++) fail(b);
    expect(b.tryAcquire()).toBeNull(); // refused: counted as rejected
    const onReset = vi.fn();
    b.on('reset', onReset);
    clock.advance(10);
    b.reset('operator');
    expect(b.state).toBe('closed');
    expect(onReset).toHaveBeenCalledWith(expect.objectContaining({ from: 'open', to: 'closed', reason: 'operator', at: T0 + 10 }));
    expect(b.stats()).toMatchObject({
      successes: 0, failures: 0, slow: 0, rejected: 0, consecutiveFailures: 0, lastFailure: null, openedCount: 1,
      window: { calls: 0 },
    });
    early.failure('from before the reset');
    expect(b.stats()).toMatchObject({ failures: 1, consecutiveFailures: 0, window: { calls: 0 } });
    expect(b.forceOpen('m')).toBe(true);
    b.reset();
    expect(b.state).toBe('closed');
    expect(events.map((e) => e.event)).toEqual(['open', 'reset', 'forcedOpen', 'reset']);
    expect(b.history()).toEqual(events);
  });
});

describe('sliding window', () => {
  // T0 = 1_000_000 is a bucket boundary for 1 s buckets.
  const opts: BreakerOptions = { windowMs: 10_000, windowBuckets: 10, minimumCalls: 4, consecutiveFailures: Infinity };

  it('forgets an outcome when its bucket leaves the window: between windowMs - bucket and windowMs later', () => {
    const { b, clock } = make(opts);
    fail(b); // at the start of its bucket
    clock.advance(999);
    fail(b); // at the end of the same bucket
    expect(b.stats().window).toMatchObject({ calls: 2, failures: 2, ms: 10_000 });
    clock.advance(9_000); // T0 + 9_999: 9_999 and 9_000 ms old, both still in
    expect(b.stats().window.failures).toBe(2);
    clock.advance(1); // T0 + 10_000: the bucket is gone (10_000 and 9_001 ms old)
    expect(b.stats().window).toMatchObject({ calls: 0, failures: 0 });
    expect(b.stats()).toMatchObject({ failures: 2, failureRate: 0 }); // lifetime counters keep them
  });

  it('decides on the recent calls only', () => {
    const { b, clock } = make({ ...opts, failureRateThreshold: 0.5 });
    fail(b);
    fail(b);
    fail(b);
    clock.advance(10_000);
    fail(b);
    succeed(b);
    succeed(b);
    succeed(b); // 1 of 4 recent calls failed (25%); with the old ones it would be 4 of 7
    expect(b.state).toBe('closed');
    expect(b.stats().failureRate).toBeCloseTo(0.25);
    fail(b); // 2 of 5
    expect(b.state).toBe('closed');
    fail(b); // 3 of 6 = 50%
    expect(b.state).toBe('open');
  });

  it('keeps memory bounded: a long idle gap or many buckets clears in one step', () => {
    const { b, clock } = make({ ...opts, windowBuckets: 1000, minimumCalls: 1000 });
    for (let i = 0; i < 50; i++) {
      succeed(b);
      clock.advance(7);
    }
    expect(b.stats().window.calls).toBe(50);
    clock.advance(1e12);
    expect(b.stats().window.calls).toBe(0);
  });
});

describe('permits', () => {
  it('count exactly once: a second report on the same permit is ignored', () => {
    const { b } = make(); // 3 consecutive failures open it
    const p = acquire(b);
    expect(p.settled).toBe(false);
    expect(p.failure('first')).toBe(true);
    expect(p.settled).toBe(true);
    expect(p.failure('second')).toBe(false);
    expect(p.failure('third')).toBe(false);
    expect(p.success()).toBe(false);
    expect(b.state).toBe('closed');
    expect(b.stats()).toMatchObject({ failures: 1, successes: 0, consecutiveFailures: 1, lastFailure: { reason: 'first' } });
    const q = acquire(b);
    q.success();
    q.success();
    q.failure('late');
    expect(b.stats()).toMatchObject({ failures: 1, successes: 1, consecutiveFailures: 0, calls: 2 });
  });

  it('record their start time on the breaker clock', () => {
    const { b, clock } = make();
    clock.advance(123);
    expect(acquire(b).startedAt).toBe(T0 + 123);
  });
});

describe('execute and fire', () => {
  it('execute returns the value or rethrows, counting each outcome once', () => {
    const { b } = make();
    expect(b.execute(() => 42)).toBe(42);
    const boom = Object.assign(new Error('bad output'), { code: 'TG_RUN_FAILED' });
    expect(thrown(() => b.execute(() => { throw boom; }))).toBe(boom);
    expect(b.stats()).toMatchObject({ successes: 1, failures: 1, lastFailure: { reason: 'TG_RUN_FAILED: bad output' } });
  });

  it('fire resolves, rejects, and refuses like execute', async () => {
    const { b } = make({ consecutiveFailures: 2 });
    await expect(b.fire(async () => 'v')).resolves.toBe('v');
    await expect(b.fire(() => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    await expect(b.fire(() => { throw new TypeError('sync'); })).rejects.toThrow('sync');
    expect(b.state).toBe('open');
    const fn = vi.fn(async () => 1);
    await expect(b.fire(fn)).rejects.toBeInstanceOf(CircuitOpenError);
    expect(fn).not.toHaveBeenCalled();
    expect(b.stats()).toMatchObject({ successes: 1, failures: 2, rejected: 1 });
    await expect(b.fire(async () => 1, 0)).rejects.toMatchObject({ code: ErrorCode.InvalidArgument });
  });

  it('fire with a timeout fails the call once, even when the late result arrives', async () => {
    const { b } = make();
    let finish!: (v: string) => void;
    const late = new Promise<string>((resolve) => (finish = resolve));
    const err = await b.fire(() => late, 5).then(
      () => null,
      (e: unknown) => e,
    );
    expect(hasCode(err, ErrorCode.RunTimeout)).toBe(true);
    finish('too late');
    await late;
    await new Promise((r) => setImmediate(r));
    expect(b.stats()).toMatchObject({ successes: 0, failures: 1, lastFailure: { reason: 'timeout after 5 ms' } });
    await expect(b.fire(async () => 'quick', 1_000)).resolves.toBe('quick');
    expect(b.stats().successes).toBe(1);
  });
});

describe('events and history', () => {
  it('emits the specific event and stateChange for each transition, and keeps a bounded history', () => {
    const { b, clock } = make({ openMs: 100, halfOpenSuccesses: 1, historyLimit: 3 });
    const seen: string[] = [];
    for (const name of ['open', 'halfOpen', 'close', 'forcedOpen', 'release', 'reset'] as const) {
      b.on(name, (t) => seen.push(`${name}:${t.from}>${t.to}@${t.at - T0}`));
    }
    b.on('stateChange', (t) => seen.push(`stateChange:${t.event}`));
    for (let i = 0; i < 3; i++) fail(b);
    clock.advance(100);
    succeed(b);
    expect(b.forceOpen('maintenance')).toBe(true);
    expect(b.release()).toBe(true);
    b.reset();
    expect(seen).toEqual([
      'open:closed>open@0', 'stateChange:open',
      'halfOpen:open>half-open@100', 'stateChange:halfOpen',
      'close:half-open>closed@100', 'stateChange:close',
      'forcedOpen:closed>forced-open@100', 'stateChange:forcedOpen',
      'release:forced-open>half-open@100', 'stateChange:release',
      'reset:half-open>closed@100', 'stateChange:reset',
    ]);
    expect(b.history().map((t) => t.event)).toEqual(['forcedOpen', 'release', 'reset']);
    expect(Object.isFrozen(b.history()[0])).toBe(true);
    b.history().length = 0;
    expect(b.history()).toHaveLength(3); // a copy
  });

  it('a throwing listener neither breaks the hot path nor the transition', () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    const { b } = make();
    b.on('open', () => {
      throw new Error('listener bug');
    });
    fail(b);
    fail(b);
    expect(() => fail(b)).not.toThrow();
    expect(b.state).toBe('open');
    expect(b.stats().listenerErrors).toBe(1);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/listener bug/);
  });
});

describe('BreakerRegistry', () => {
  it('gets or creates named breakers from the defaults', () => {
    const clock = new ManualClock(T0);
    const reg = new BreakerRegistry({ clock, openMs: 500 });
    const a = reg.get('model-a');
    expect(reg.get('model-a')).toBe(a);
    expect(a.name).toBe('model-a');
    expect(a.options.openMs).toBe(500);
    const c = reg.get('model-c', { consecutiveFailures: 1 });
    expect(c.options).toMatchObject({ consecutiveFailures: 1, openMs: 500 });
    expect(reg.get('model-c', { consecutiveFailures: 1 })).toBe(c);
    expect(reg.get('model-c')).toBe(c);
    expect(hasCode(thrown(() => reg.get('model-c', { consecutiveFailures: 2 })), ErrorCode.InvalidArgument)).toBe(true);
    expect(reg.list()).toEqual(['model-a', 'model-c']);
    expect(reg.size).toBe(2);
    expect(reg.has('model-b')).toBe(false);
    expect(hasCode(thrown(() => reg.get('')), ErrorCode.InvalidArgument)).toBe(true);
    expect(reg.list()).toEqual(['model-a', 'model-c']);
  });

  it('reports stats of all, resets all, forwards transitions with names, forgets on delete', () => {
    const clock = new ManualClock(T0);
    const reg = new BreakerRegistry({ clock });
    const a = reg.get('a');
    const b = reg.get('b', { consecutiveFailures: 1 });
    const seen: string[] = [];
    reg.on('stateChange', (t) => seen.push(`${t.name}:${t.event}`));
    fail(b);
    expect(a.forceOpen('maintenance')).toBe(true);
    const stats = reg.stats();
    expect(Object.keys(stats)).toEqual(['a', 'b']);
    expect(stats.a).toMatchObject({ name: 'a', state: 'forced-open' });
    expect(stats.b).toMatchObject({ name: 'b', state: 'open', failures: 1 });
    reg.resetAll();
    expect([a.state, b.state]).toEqual(['closed', 'closed']);
    expect(seen).toEqual(['b:open', 'a:forcedOpen', 'a:reset', 'b:reset']);
    expect(reg.delete('a')).toBe(true);
    expect(reg.delete('a')).toBe(false);
    expect(a.forceOpen('after delete')).toBe(true);
    expect(seen).toHaveLength(4);
    expect(reg.get('a')).not.toBe(a);
  });

  it('rejects invalid or named defaults at construction', () => {
    expect(hasCode(thrown(() => new BreakerRegistry({ openMs: -1 })), ErrorCode.InvalidArgument)).toBe(true);
    expect(hasCode(thrown(() => new BreakerRegistry({ name: 'x' } as BreakerOptions)), ErrorCode.InvalidArgument)).toBe(true);
  });
});

// ---- properties -------------------------------------------------------------------------------

type Cmd =
  | { k: 'acquire' }
  | { k: 'settle'; i: number; ok: boolean; ms: number; twice: boolean }
  | { k: 'advance'; ms: number }
  | { k: 'forceOpen' }
  | { k: 'release'; to: 'half-open' | 'closed' }
  | { k: 'reset' }
  | { k: 'read'; how: 'state' | 'stats' | 'retryAfter' };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<Cmd>({ k: 'acquire' }) },
  {
    weight: 16,
    arbitrary: fc.record({
      k: fc.constant('settle' as const),
      i: fc.nat(),
      ok: fc.integer({ min: 0, max: 9 }).map((n) => n < 7),
      ms: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 800 }) }),
      twice: fc.boolean(),
    }),
  },
  { weight: 6, arbitrary: fc.record({ k: fc.constant('advance' as const), ms: fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.constant(10_000)) }) },
  { weight: 1, arbitrary: fc.constant<Cmd>({ k: 'forceOpen' }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('release' as const), to: fc.constantFrom('half-open' as const, 'closed' as const) }) },
  { weight: 1, arbitrary: fc.constant<Cmd>({ k: 'reset' }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('read' as const), how: fc.constantFrom('state' as const, 'stats' as const, 'retryAfter' as const) }) },
);

const configArb = fc.record({
  windowMs: fc.constantFrom(1_000, 5_000),
  windowBuckets: fc.integer({ min: 1, max: 10 }),
  minimumCalls: fc.integer({ min: 1, max: 6 }),
  failureRateThreshold: fc.constantFrom(0.25, 0.5, 1),
  consecutiveFailures: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(Infinity)),
  slowCallMs: fc.oneof(fc.integer({ min: 50, max: 500 }), fc.constant(Infinity)),
  slowCallRateThreshold: fc.constantFrom(0.3, 0.5, 1),
  openMs: fc.integer({ min: 0, max: 2_000 }),
  halfOpenMaxCalls: fc.integer({ min: 1, max: 3 }),
  halfOpenSuccesses: fc.integer({ min: 1, max: 4 }),
  trialTimeoutMs: fc.oneof(fc.integer({ min: 100, max: 5_000 }), fc.constant(Infinity)),
  historyLimit: fc.integer({ min: 0, max: 5 }),
});

const STATES: readonly BreakerState[] = ['closed', 'open', 'half-open', 'forced-open'];

function legal(t: BreakerTransition): boolean {
  switch (t.event) {
    case 'open':
      return t.to === 'open' && (t.from === 'closed' || t.from === 'half-open');
    case 'halfOpen':
      return t.from === 'open' && t.to === 'half-open';
    case 'close':
      return t.from === 'half-open' && t.to === 'closed';
    case 'forcedOpen':
      return t.to === 'forced-open' && t.from !== 'forced-open';
    case 'release':
      return t.from === 'forced-open' && (t.to === 'half-open' || t.to === 'closed');
    case 'reset':
      return t.to === 'closed';
  }
}

// Plain checks (vitest's expect is too slow for thousands of checks per run).
function must(cond: boolean, what: string, detail?: unknown): void {
  if (!cond) throw new Error(`${what}${detail === undefined ? '' : `: ${JSON.stringify(detail)}`}`);
}
function same(actual: unknown, expected: unknown, what: string, detail?: unknown): void {
  if (!Object.is(actual, expected)) {
    throw new Error(`${what}: got ${String(actual)}, expected ${String(expected)}${detail === undefined ? '' : ` ${JSON.stringify(detail)}`}`);
  }
}

interface Tracked {
  p: Permit;
  epoch: number;
  accounted: boolean; // its outcome is in the expected counters
}

/**
 * Runs `cmds` against a breaker and an independent account of what it must do. Checks, after
 * every command: the state is legal and every transition is a legal edge chained on the previous
 * one; no more half-open trials in flight than halfOpenMaxCalls, nor given in an episode than
 * halfOpenSuccesses; counts add up (successes + failures = settled permits, rejected = refusals);
 * the bucketed window equals a naive recount of the log; a closed breaker opens exactly when the
 * naive figures cross a threshold; a read never shows 'open' once openMs has passed; a half-open
 * episode closes only after halfOpenSuccesses good trials; the history is the last transitions.
 */
function runModel(config: BreakerOptions, cmds: Cmd[], seen: Map<string, number>): void {
  const clock = new ManualClock(T0);
  const b = new CircuitBreaker({ ...config, clock });
  const o = b.options;
  const transitions: BreakerTransition[] = [];
  let epoch = 0;
  b.on('stateChange', (t) => {
    transitions.push(t);
    epoch++;
  });
  const permits: Tracked[] = [];
  // Expected counters since creation or the last reset.
  let refused = 0;
  let successes = 0;
  let failures = 0;
  let slowCalls = 0;
  // Closed-state log: outcomes recorded in the window of the current closed period.
  let log: { t: number; ok: boolean; slow: boolean }[] = [];
  let streak = 0;
  let trialsGiven = 0;
  let trialSuccesses = 0;

  const bucketMs = o.windowMs / o.windowBuckets;
  const naiveWindow = (now: number) => {
    const cur = Math.floor(now / bucketMs);
    const inWin = log.filter((e) => cur - Math.floor(e.t / bucketMs) < o.windowBuckets);
    return {
      calls: inWin.length,
      failures: inWin.filter((e) => !e.ok).length,
      slow: inWin.filter((e) => e.slow).length,
    };
  };

  const onTransitions = (from: number): void => {
    for (let i = from; i < transitions.length; i++) {
      const t = transitions[i]!;
      must(legal(t), 'illegal transition', t);
      same(t.from, i === 0 ? 'closed' : transitions[i - 1]!.to, 'transition chained on the previous one');
      if (t.event === 'close') same(trialSuccesses, o.halfOpenSuccesses, 'closed after halfOpenSuccesses good trials');
      if (t.to === 'closed') {
        log = [];
        streak = 0;
      }
      trialsGiven = 0;
      trialSuccesses = 0;
    }
  };

  for (const cmd of cmds) {
    const before = transitions.length;
    const stateBefore = (b as unknown as { _state: BreakerState })._state;
    switch (cmd.k) {
      case 'acquire': {
        const p = b.tryAcquire();
        if (p === null) refused++;
        else {
          same(p.startedAt, clock.now(), 'permit start time');
          same(p.settled, false, 'new permit unsettled');
          permits.push({ p, epoch, accounted: false });
          if (p.trial) {
            onTransitions(before); // a move to half-open happened in this call, before the permit
            trialsGiven++;
          }
        }
        break;
      }
      case 'settle': {
        const open = permits.filter((x) => !x.p.settled);
        if (open.length === 0) break;
        const x = open[cmd.i % open.length]!;
        clock.advance(cmd.ms);
        const now = clock.now();
        const slow = cmd.ok && now - x.p.startedAt >= o.slowCallMs;
        const current = x.epoch === epoch;
        same(cmd.ok ? x.p.success() : x.p.failure('f'), true, 'first settlement counted');
        x.accounted = true;
        if (cmd.ok) successes++;
        else failures++;
        if (slow) slowCalls++;
        if (cmd.twice) same(cmd.ok ? x.p.failure('again') : x.p.success(), false, 'second settlement ignored');
        const moved = transitions.slice(before);
        if (current && stateBefore === 'closed') {
          log.push({ t: now, ok: cmd.ok, slow });
          streak = cmd.ok ? 0 : streak + 1;
          const w = naiveWindow(now);
          const shouldOpen =
            streak >= o.consecutiveFailures ||
            (w.calls >= o.minimumCalls && (w.failures / w.calls >= o.failureRateThreshold || w.slow / w.calls >= o.slowCallRateThreshold));
          same(moved.map((t) => t.to).join(), shouldOpen ? 'open' : '', 'closed opens exactly when a threshold is crossed', { w, streak });
        }
        if (current && stateBefore === 'half-open') {
          same(x.p.trial, true, 'a current permit in half-open is a trial');
          const good = cmd.ok && !slow;
          if (good) trialSuccesses++;
          same(moved.some((t) => t.to === 'open'), !good, 'a failed or slow trial reopens, a good one does not');
        }
        if (!current) same(moved.length, 0, 'a stale outcome changes nothing');
        break;
      }
      case 'advance':
        clock.advance(cmd.ms);
        break;
      case 'forceOpen':
        same(b.forceOpen('maintenance'), stateBefore !== 'forced-open', 'forceOpen result');
        break;
      case 'release':
        same(b.release('done', cmd.to), stateBefore === 'forced-open', 'release result');
        break;
      case 'reset':
        b.reset();
        refused = successes = failures = slowCalls = 0;
        break;
      case 'read': {
        // Each read may move the state (refresh); a second read at the same time must agree.
        if (cmd.how === 'state') same(b.state, b.stats().state, 'state read, then stats');
        else if (cmd.how === 'stats') same(b.stats().state, b.state, 'stats read, then state');
        else {
          const wait = b.retryAfterMs;
          const st = b.stats();
          same(wait, st.state === 'open' ? st.since + o.openMs - clock.now() : st.state === 'forced-open' ? Infinity : 0, 'retryAfterMs read', st);
          same(st.retryAfterMs, wait, 'retryAfterMs = stats().retryAfterMs');
        }
        break;
      }
    }
    const state = b.state; // may fail an overdue trial (trialTimeoutMs) or move open -> half-open
    const s = b.stats(); // a second read at the same time changes nothing
    onTransitions(before);
    // A permit settled without us: a half-open trial that timed out, counted as one failure.
    for (const x of permits) {
      if (x.p.settled && !x.accounted) {
        must(x.p.trial, 'only a trial settles on its own');
        same(x.p.success(), false, 'a timed-out trial ignores its late report');
        x.accounted = true;
        failures++;
      }
    }

    // --- invariants ---
    must(STATES.includes(state), 'legal state', state);
    same(s.state, state, 'stats state = state');
    const now = clock.now();
    if (state === 'open') {
      must(now - s.since < o.openMs, 'never open once openMs has passed', s);
      same(s.retryAfterMs, s.since + o.openMs - now, 'retryAfterMs while open');
    }
    if (state === 'forced-open') same(s.retryAfterMs, Infinity, 'retryAfterMs while forced open');
    let liveTrials = 0;
    for (const x of permits) if (x.epoch === epoch && x.p.trial && !x.p.settled) liveTrials++;
    if (state === 'half-open') {
      same(s.halfOpenInFlight, liveTrials, 'trials in flight');
      must(liveTrials <= o.halfOpenMaxCalls, 'at most halfOpenMaxCalls trials in flight', liveTrials);
      must(trialsGiven <= o.halfOpenSuccesses, 'at most halfOpenSuccesses trials per episode', trialsGiven);
      same(s.halfOpenSuccesses, trialSuccesses, 'trial successes');
    } else {
      same(liveTrials, 0, 'no live trial outside half-open');
    }
    // Counts add up: every settlement counted once, every refusal counted.
    same(s.successes, successes, 'successes');
    same(s.failures, failures, 'failures');
    same(s.slow, slowCalls, 'slow');
    same(s.rejected, refused, 'rejected');
    same(s.calls, successes + failures, 'calls');
    // The bucketed window equals the naive recount of the current closed period.
    const w = naiveWindow(now);
    same(s.window.calls, w.calls, 'window calls');
    same(s.window.failures, w.failures, 'window failures');
    same(s.window.slow, w.slow, 'window slow');
    same(s.failureRate, w.calls === 0 ? 0 : w.failures / w.calls, 'failure rate');
    same(s.consecutiveFailures, streak, 'consecutive failures');
    let opens = 0;
    for (const t of transitions) if (t.event === 'open') opens++;
    same(s.openedCount, opens, 'openedCount');
    const h = b.history();
    const want = o.historyLimit === 0 ? [] : transitions.slice(-o.historyLimit);
    must(h.length === want.length && h.every((t, i) => t === want[i]), 'history = the last historyLimit transitions');
  }
  for (const t of transitions) {
    const kind = t.event === 'open' && t.from === 'half-open' ? (t.reason.includes('not settled') ? 'trial expired' : 'trial failed') : t.event;
    seen.set(kind, (seen.get(kind) ?? 0) + 1);
  }
}

describe('properties (fast-check)', () => {
  it('random sequences of calls, time and manual controls keep every invariant', () => {
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(configArb, fc.array(cmdArb, { minLength: 10, maxLength: 120, size: 'max' }), (config, cmds) => runModel(config, cmds, seen)),
      { numRuns: 400 },
    );
    // The runs reached every kind of transition, so the invariants were checked around each.
    for (const kind of ['open', 'halfOpen', 'close', 'trial failed', 'trial expired', 'forcedOpen', 'release', 'reset']) {
      expect(seen.get(kind) ?? 0, kind).toBeGreaterThan(0);
    }
  });
});
