// The service's shared rate limits in a real redis-server (test/redis-server.ts): the Lua script
// (lib/service/limits/redis-script.ts) decides as the memory limiter does, instances sharing a
// Redis share the limits, a Redis outage hands the decisions to the insurance limiter and its
// return takes them back, and an address blocked by the auth-failure limit (rate-limiter-flexible)
// on one instance is refused by the script on another. Real time here, so the assertions are
// counts and bounds that hold whatever the scheduling delay (tiny refill rates where exactness
// matters); the timing of one decision is printed, never asserted.
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AuthFailureLimiter } from '../lib/service/limits/auth-failures';
import { MemoryLimiter } from '../lib/service/limits/memory';
import { SharedLimiter, type AddressBlocked } from '../lib/service/limits/shared';
import type { LimitCheck, LimitDecision, LimitSpec } from '../lib/service/limits/spec';
import { freePort, RedisServer } from './redis-server';

let server: RedisServer;
const clients: Redis[] = [];
const limiters: SharedLimiter[] = [];
const extraServers: RedisServer[] = [];

beforeAll(async () => {
  server = await RedisServer.start();
}, 20_000);

afterAll(async () => {
  for (const l of limiters) l.close();
  for (const c of clients) c.disconnect();
  for (const s of extraServers) await s.kill();
  await server?.kill();
});

/**
 * A client configured as the service's (fail fast, no offline queue, reconnect in the background).
 * Its command timeout is 2 s, not the service's 50 ms: these tests check what Redis decides, and a
 * test process stalled on a loaded machine (under the sanitizers) must not pass for a slow Redis.
 * The timeout test sets its own.
 */
function client(url: string, commandTimeout = 2000): Redis {
  const r = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout, retryStrategy: (t) => Math.min(50 * t, 500) });
  r.on('error', () => {
    /* an unhandled 'error' event would crash the test process while Redis is down */
  });
  clients.push(r);
  return r;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits (up to `ms`) for cond; the caller then asserts what it waited for. */
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(10);
}

async function readyClient(url = server.url, commandTimeout?: number): Promise<Redis> {
  const r = client(url, commandTimeout);
  await until(() => r.status === 'ready');
  expect(r.status).toBe('ready');
  return r;
}

let prefixes = 0;
/** A limiter with keys of its own (tests never see each other's state). */
function shared(redis: Redis | null, prefix = `tg-test-${++prefixes}:rl:`): SharedLimiter {
  const l = new SharedLimiter({ redis, prefix, memory: new MemoryLimiter({ sweepMs: 0 }) });
  limiters.push(l);
  return l;
}

/** The decision, within 1 s (a hang fails here rather than at the test timeout). */
async function decide(l: SharedLimiter, checks: LimitCheck[], block?: { key: string; points: number }): Promise<LimitDecision | AddressBlocked> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('no decision within 1 s')), 1000);
  });
  try {
    return await Promise.race([Promise.resolve(l.check(checks, block)), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A decision that must not be a block. */
async function decision(l: SharedLimiter, checks: LimitCheck[]): Promise<LimitDecision> {
  const d = await decide(l, checks);
  if ('blocked' in d) throw new Error('unexpected address block');
  return d;
}

const tb = (limit: number, windowMs: number, burst?: number): LimitSpec =>
  burst === undefined ? { algorithm: 'token-bucket', limit, windowMs } : { algorithm: 'token-bucket', limit, windowMs, burst };
const sw = (limit: number, windowMs: number): LimitSpec => ({ algorithm: 'sliding-window', limit, windowMs });
const chk = (policy: string, subject: string, spec: LimitSpec): LimitCheck => ({ policy, subject, spec });

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};

describe('the Lua script decides as the memory limiter does', () => {
  // Refill rates of one per minute: nothing refills during a test, so the decisions are exact.
  const global = tb(1, 60_000, 5);
  const perKey = tb(1, 60_000, 2);
  const log = sw(3, 60_000);
  const scenarios: Record<string, LimitCheck[][]> = {
    'token bucket, burst 5': Array.from({ length: 10 }, () => [chk('forecast', 'k', tb(1, 60_000, 5))]),
    'token bucket, burst = limit': Array.from({ length: 6 }, () => [chk('api', 'k', tb(4, 60_000))]),
    'sliding window, 4 per minute': Array.from({ length: 8 }, () => [chk('api', 'k', sw(4, 60_000))]),
    // Refused sets charge none: 'a' refused by its own limit leaves the global budget whole.
    'global + per key': ['a', 'a', 'a', 'a', 'b', 'c', 'd', 'e', 'e'].map((k) => [chk('global', '*', global), chk('forecast', k, perKey)]),
    'sliding-window global + per key bucket': ['a', 'a', 'a', 'b', 'b', 'c'].map((k) => [chk('global', '*', log), chk('forecast', k, perKey)]),
  };

  for (const [name, sets] of Object.entries(scenarios)) {
    it(name, async () => {
      const redis = await readyClient();
      const limiter = shared(redis);
      expect(limiter.mode).toBe('shared');
      const memory = new MemoryLimiter({ sweepMs: 0, now: () => 0 });
      const started = Date.now();
      for (const [i, checks] of sets.entries()) {
        const want = memory.check(checks);
        const got = await decision(limiter, checks);
        const label = `${name} #${i}`;
        expect({ allowed: got.allowed, policy: got.policy, remaining: got.remaining, backend: got.backend }, label).toEqual({
          allowed: want.allowed,
          policy: want.policy,
          remaining: want.remaining,
          backend: 'redis',
        });
        expect(got.spec, label).toBe(want.spec);
        // Times differ by the milliseconds the test has run (memory's clock stands at 0).
        const slack = Date.now() - started + 2;
        expect(got.retryAfterMs, label).toBeGreaterThanOrEqual(want.allowed ? 0 : Math.max(1, want.retryAfterMs - slack));
        expect(got.retryAfterMs, label).toBeLessThanOrEqual(want.retryAfterMs);
        expect(got.resetMs, label).toBeGreaterThanOrEqual(want.resetMs - slack);
        expect(got.resetMs, label).toBeLessThanOrEqual(want.resetMs + 1);
      }
    });
  }

  it('a burst of N+5 against a bucket of N: exactly N with a tiny refill rate, N or N+1 with one token a second', async () => {
    const limiter = shared(await readyClient());
    const tiny = chk('forecast', 'tiny', tb(1, 60_000, 10));
    const second = chk('forecast', 'second', tb(1, 1000, 10));
    const tinyAllowed: boolean[] = [];
    for (let i = 0; i < 15; i++) tinyAllowed.push((await decision(limiter, [tiny])).allowed);
    expect(tinyAllowed).toEqual([...Array(10).fill(true), ...Array(5).fill(false)]);

    const started = Date.now();
    const ds: LimitDecision[] = [];
    for (let i = 0; i < 15; i++) ds.push(await decision(limiter, [second]));
    const took = Date.now() - started;
    const admitted = ds.filter((d) => d.allowed).length;
    // One token a second flows in while the burst runs (a few ms): at most one more.
    expect(took).toBeLessThan(1000);
    expect(admitted === 10 || admitted === 11, `admitted ${admitted} in ${took} ms`).toBe(true);
    const last = ds[14]!;
    expect(last.allowed).toBe(false);
    expect(last.retryAfterMs).toBeGreaterThanOrEqual(1);
    expect(last.retryAfterMs).toBeLessThanOrEqual(1000);
    // The retry it names is admitted (Redis's clock is this machine's: the wait covers it).
    await sleep(last.retryAfterMs + 2);
    expect((await decision(limiter, [second])).allowed).toBe(true);
  });

  it('sliding window 3 per 1000 ms: 3 admitted, the 4th refused until the oldest leaves', async () => {
    const limiter = shared(await readyClient());
    const c = chk('api', 'k', sw(3, 1000));
    const started = Date.now();
    const ds: LimitDecision[] = [];
    for (let i = 0; i < 5; i++) ds.push(await decision(limiter, [c]));
    const took = Date.now() - started;
    expect(took).toBeLessThan(1000);
    expect(ds.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    expect(ds.map((d) => d.remaining)).toEqual([2, 1, 0, 0, 0]);
    // The oldest admission leaves 1000 ms after it was made, which was at most `took` ago.
    const retry = ds[4]!.retryAfterMs;
    expect(retry).toBeGreaterThanOrEqual(1000 - (Date.now() - started) - 1);
    expect(retry).toBeLessThanOrEqual(1000);
    await sleep(retry + 2);
    expect((await decision(limiter, [c])).allowed).toBe(true);
  });
});

describe('instances sharing a Redis share the limits', () => {
  it('two SharedLimiters on two clients: alternating, the sum admitted is the limit', async () => {
    const prefix = 'tg-test-pair:rl:';
    const a = shared(await readyClient(), prefix);
    const b = shared(await readyClient(), prefix);
    const c = chk('forecast', 'desk-7', tb(1, 60_000, 7));
    const admitted = { a: 0, b: 0 };
    for (let i = 0; i < 20; i++) {
      const [name, l] = i % 2 === 0 ? (['a', a] as const) : (['b', b] as const);
      const d = await decision(l, [c]);
      expect(d.backend).toBe('redis');
      if (d.allowed) admitted[name]++;
    }
    expect(admitted).toEqual({ a: 4, b: 3 });
  });

  it('concurrent checks from both instances: the script is atomic (exactly the limit admitted)', async () => {
    const prefix = 'tg-test-race:rl:';
    const a = shared(await readyClient(), prefix);
    const b = shared(await readyClient(), prefix);
    for (const [subject, spec, limit] of [
      ['bucket', tb(1, 60_000, 7), 7],
      ['log', sw(5, 60_000), 5],
    ] as const) {
      const c = chk('api', subject, spec);
      const all = await Promise.all(Array.from({ length: 60 }, (_, i) => decision(i % 2 === 0 ? a : b, [c])));
      expect(all.filter((d) => d.allowed).length, subject).toBe(limit);
      expect(all.every((d) => d.backend === 'redis'), subject).toBe(true);
    }
  });
});

describe('a Redis outage', () => {
  it('killed: decisions keep coming from the insurance limiter; restarted: shared again within seconds', async () => {
    const own = await RedisServer.start();
    extraServers.push(own);
    const redis = await readyClient(own.url);
    const limiter = shared(redis);
    const c = chk('forecast', 'desk-7', tb(1, 60_000, 3));
    expect(limiter.mode).toBe('shared');
    expect((await decision(limiter, [c])).backend).toBe('redis');

    await own.kill();
    // Through the switch: every check answers (a decision, never a rejection nor a throw).
    const deadline = Date.now() + 5000;
    let answered = 0;
    while (limiter.mode !== 'insurance' && Date.now() < deadline) {
      expect(typeof (await decision(limiter, [c])).allowed).toBe('boolean');
      answered++;
      await sleep(5);
    }
    expect(limiter.mode).toBe('insurance');
    expect(limiter.status().mode).toBe('insurance');

    // Insured: memory decides, and enforces the same limit (a fresh subject: 3 of 6).
    const before = limiter.status().insuranceDecisions;
    const insured: LimitDecision[] = [];
    for (let i = 0; i < 6; i++) insured.push(await decision(limiter, [chk('forecast', 'insured', tb(1, 60_000, 3))]));
    expect(insured.map((d) => d.backend)).toEqual(Array(6).fill('memory'));
    expect(insured.map((d) => d.allowed)).toEqual([true, true, true, false, false, false]);
    expect(limiter.status().insuranceDecisions - before).toBe(6);
    expect(limiter.status().memoryStates).toBeGreaterThanOrEqual(1);

    await own.restart(); // the same port
    await until(() => limiter.mode === 'shared', 5000);
    expect(limiter.mode).toBe('shared');
    const back = await decision(limiter, [chk('forecast', 'after', tb(1, 60_000, 3))]);
    expect(back).toMatchObject({ backend: 'redis', allowed: true, remaining: 2 });
    // The restarted Redis forgot the script: ioredis loaded it again (EVAL after NOSCRIPT).
    expect(limiter.status().insuranceDecisions - before).toBe(6);
    console.log(`[service-limits-redis] ${answered} decision(s) answered while the switch to insurance happened`);
  }, 20_000);
});

describe('without Redis, or never connected', () => {
  it('redis: null: mode memory, memory decides (synchronously)', () => {
    const limiter = shared(null);
    expect(limiter.mode).toBe('memory');
    const c = chk('forecast', 'desk-7', tb(1, 60_000, 2));
    const ds = [1, 2, 3].map(() => limiter.check([c]) as LimitDecision);
    expect(ds.map((d) => [d.allowed, d.backend])).toEqual([
      [true, 'memory'],
      [true, 'memory'],
      [false, 'memory'],
    ]);
    expect(limiter.status()).toMatchObject({ mode: 'memory', insuranceDecisions: 0, redisErrors: 0 });
  });

  it('a Redis that never answers: insured from the start, the global policies divided by insuranceDivisor', async () => {
    const redis = client(`redis://127.0.0.1:${await freePort()}`); // nothing listens there
    const limiter = new SharedLimiter({ redis, prefix: 'tg-test-div:rl:', globalPolicies: ['global'], insuranceDivisor: 4, memory: new MemoryLimiter({ sweepMs: 0 }) });
    limiters.push(limiter);
    expect(limiter.mode).toBe('insurance');
    const global = tb(1, 60_000, 10); // 10 for the fleet: 2 (floor(10 / 4)) for this instance alone
    const perKey = tb(1, 60_000, 5); // per key: not divided
    const ds: LimitDecision[] = [];
    for (let i = 0; i < 4; i++) ds.push(await decision(limiter, [chk('global', '*', global), chk('forecast', 'desk-7', perKey)]));
    expect(ds.map((d) => [d.allowed, d.policy, d.backend])).toEqual([
      [true, 'global', 'memory'],
      [true, 'global', 'memory'],
      [false, 'global', 'memory'],
      [false, 'global', 'memory'],
    ]);
    expect(ds[0]!.spec).toMatchObject({ limit: 1, burst: 2 });
    // The per-key limit alone: its whole 5 (two were charged with the admitted pair).
    const alone = [1, 2, 3, 4].map(() => limiter.check([chk('forecast', 'desk-7', perKey)]) as LimitDecision);
    expect(alone.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(limiter.status()).toMatchObject({ mode: 'insurance', insuranceDecisions: 8, redisErrors: 0 });
  });
});

describe('a Redis slower than the command timeout', () => {
  it('a decision that times out (200 ms) is insured and counted as an error; the next answered one is shared again', async () => {
    const redis = await readyClient(server.url, 200);
    const limiter = shared(redis);
    const c = chk('forecast', 'desk-7', tb(1, 60_000, 3));
    expect((await decision(limiter, [c])).backend).toBe('redis');
    const pauser = await readyClient();
    // Redis answers nothing for 3 s (a stall, not a disconnect: the client stays 'ready').
    expect(await pauser.call('CLIENT', 'PAUSE', '3000', 'ALL')).toBe('OK');
    const started = Date.now();
    const d = await decision(limiter, [c]);
    expect(d.backend).toBe('memory');
    expect(Date.now() - started).toBeLessThan(3000); // the 200 ms timeout decided, not the pause
    expect(redis.status).toBe('ready');
    expect(limiter.status()).toMatchObject({ mode: 'insurance', insuranceDecisions: 1, redisErrors: 1 });
    expect(limiter.status().lastError).toMatch(/timed out/i);
    // Backing off: the next decisions (Redis still stalled, the client still 'ready') are memory's,
    // without trying Redis: a try would have timed out too and counted a second error.
    const meanwhile = [await decision(limiter, [c]), await decision(limiter, [c])];
    expect(meanwhile.map((x) => x.backend)).toEqual(['memory', 'memory']);
    expect(limiter.status()).toMatchObject({ mode: 'insurance', insuranceDecisions: 3, redisErrors: 1 });
    // After the pause, Redis decides again.
    let back: LimitDecision | null = null;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      back = await decision(limiter, [c]);
      if (back.backend === 'redis') break;
      await sleep(20);
    }
    expect(back?.backend).toBe('redis');
    expect(limiter.mode).toBe('shared');
  });
});

describe('a limit that changes for the same policy and subject', () => {
  // The Redis key names the spec (stateKey): a bucket's string is never read as a window's sorted
  // set (a WRONGTYPE that would hand the decision to the insurance limiter), and a changed limit
  // starts afresh, as in memory.
  it('a switch of algorithm is decided by Redis, afresh, like the memory limiter', async () => {
    const limiter = shared(await readyClient());
    const bucket = chk('api', 'desk-7', tb(1, 60_000, 2));
    const log = chk('api', 'desk-7', sw(2, 60_000));
    expect((await decision(limiter, [bucket])).backend).toBe('redis');
    const switched = [await decision(limiter, [log]), await decision(limiter, [log]), await decision(limiter, [log])];
    expect(switched.map((d) => [d.allowed, d.backend])).toEqual([
      [true, 'redis'],
      [true, 'redis'],
      [false, 'redis'],
    ]);
    expect(limiter.status()).toMatchObject({ mode: 'shared', redisErrors: 0, insuranceDecisions: 0 });
  });
});

describe('the auth-failure block', () => {
  it('an address blocked through AuthFailureLimiter.fail() is refused by the script on another instance', async () => {
    const r1 = await readyClient();
    const r2 = await readyClient();
    const authFailures = new AuthFailureLimiter({ redis: r1, limit: 2, windowMs: 60_000, blockMs: 5000, prefix: 'tg-test:authfail' });
    const here = shared(r1, 'tg-test-block:rl:');
    const other = shared(r2, 'tg-test-block:rl:');
    const addr = '203.0.113.7';
    expect(await authFailures.fail(addr)).toBe(0);
    expect(await authFailures.fail(addr)).toBe(0);
    const blockMs = await authFailures.fail(addr);
    expect(blockMs).toBeGreaterThan(4000);
    expect(blockMs).toBeLessThanOrEqual(5000);
    expect(authFailures.blockedFor(addr)).toBeGreaterThan(0);
    // Two failures of another address: at the limit, not past it.
    const twice = '203.0.113.8';
    expect(await authFailures.fail(twice)).toBe(0);
    expect(await authFailures.fail(twice)).toBe(0);

    const checks = [chk('forecast', 'desk-7', tb(1, 60_000, 1))];
    const block = (a: string) => ({ key: authFailures.redisKey(a), points: authFailures.limit });
    for (const l of [other, here, other]) {
      const d = await decide(l, checks, block(addr));
      expect(d).toEqual({ blocked: true, retryAfterMs: expect.any(Number) });
      expect((d as AddressBlocked).retryAfterMs).toBeGreaterThan(0);
      expect((d as AddressBlocked).retryAfterMs).toBeLessThanOrEqual(5000);
    }
    // Blocked requests charged nothing: the bucket of one still admits once, then refuses.
    expect(await decide(other, checks, block('198.51.100.1'))).toMatchObject({ allowed: true, backend: 'redis' });
    expect(await decide(other, checks, block(twice))).toMatchObject({ allowed: false, backend: 'redis' });
    expect(await decide(other, [chk('forecast', 'desk-9', tb(1, 60_000, 1))], block(twice))).toMatchObject({ allowed: true, backend: 'redis' });
  });
});

describe('the cost of one decision', () => {
  it('median EVALSHA decision vs median PING round trip (printed, not asserted)', async () => {
    const redis = await readyClient();
    const limiter = shared(redis);
    const checks = [chk('global', '*', tb(1000, 1000, 1000)), chk('forecast', 'desk-7', tb(100, 1000, 100))];
    for (let i = 0; i < 100; i++) await limiter.check(checks); // script loaded, paths warm
    for (let i = 0; i < 100; i++) await redis.ping();
    const decisions: number[] = [];
    const pings: number[] = [];
    let fromRedis = 0;
    for (let i = 0; i < 2000; i++) {
      const t0 = process.hrtime.bigint();
      const d = await limiter.check(checks);
      decisions.push(Number(process.hrtime.bigint() - t0) / 1000);
      if (!('blocked' in d) && d.backend === 'redis') fromRedis++;
    }
    for (let i = 0; i < 2000; i++) {
      const t0 = process.hrtime.bigint();
      await redis.ping();
      pings.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    expect(fromRedis).toBe(2000);
    const d = median(decisions);
    const p = median(pings);
    console.log(`[service-limits-redis] median decision (EVALSHA, 2 checks) ${d.toFixed(1)} µs, median PING ${p.toFixed(1)} µs, ratio ${(d / p).toFixed(2)}`);
  });
});
