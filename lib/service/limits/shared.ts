/**
 * The service's limiter: the limits in Redis, shared by every instance, with an in-memory
 * insurance limiter that decides whenever Redis cannot (not connected, an error, slower than
 * its command timeout). A Redis outage therefore never fails a request: it changes who decides,
 * `mode` says so (readiness reports it), and the shared limits resume with the next decision
 * after ioredis reconnects. Without Redis, memory decides alone.
 *
 * While insured, each instance enforces the shared limits by itself; `insuranceDivisor` (the
 * number of instances, say) divides the global policies' limits so the fleet stays near them.
 */
import type Redis from 'ioredis';

import { ErrorCode, rangeError } from '../../errors';
import { MemoryLimiter } from './memory';
import { LIMITS_LUA } from './redis-script';
import { burstOf, stateKey, type LimitCheck, type LimitDecision, type LimitSpec } from './spec';

export type LimiterMode = 'memory' | 'shared' | 'insurance';

/** A client address blocked by the auth-failure limit (another instance may have blocked it). */
export interface AddressBlocked {
  blocked: true;
  retryAfterMs: number;
}

export interface SharedLimiterOptions {
  redis: Redis | null;
  /** Prefix of every key this limiter writes (default 'tg:rl:'). */
  prefix?: string;
  /** Policies whose subject is every caller: divided by `insuranceDivisor` while insured. */
  globalPolicies?: readonly string[];
  insuranceDivisor?: number;
  memory?: MemoryLimiter;
}

 /** How long memory decides alone after a Redis error or timeout. */
const BACKOFF_MS = 1000;

type LimitsCommand = (...args: (string | number)[]) => Promise<number[]>;

export class SharedLimiter {
  readonly memory: MemoryLimiter;
  readonly #redis: Redis | null;
  readonly #prefix: string;
  readonly #global: ReadonlySet<string>;
  readonly #divisor: number;
  readonly #insured = new WeakMap<LimitSpec, LimitSpec>();
  /** Redis keys per check object (the service reuses its checks: no string built per decision). */
  readonly #keys = new WeakMap<LimitCheck, string>();
  #mode: LimiterMode;
  /** After a Redis failure, memory decides until then (performance.now() ms). */
  #backoffUntil = 0;
  #insuranceDecisions = 0;
  #redisErrors = 0;
  #lastError: string | null = null;

  constructor(options: SharedLimiterOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix ?? 'tg:rl:';
    this.#global = new Set(options.globalPolicies ?? []);
    this.#divisor = options.insuranceDivisor ?? 1;
    this.memory = options.memory ?? new MemoryLimiter();
    this.#mode = this.#redis === null ? 'memory' : this.#redis.status === 'ready' ? 'shared' : 'insurance';
    if (this.#redis !== null) {
      this.#redis.defineCommand('tgLimits', { lua: LIMITS_LUA });
      this.#redis.on('ready', this.#onReady);
      this.#redis.on('close', this.#onClose);
    }
  }

  readonly #onReady = (): void => {
    this.#mode = 'shared';
    this.#backoffUntil = 0;
  };
  readonly #onClose = (): void => {
    this.#mode = 'insurance';
  };

  get mode(): LimiterMode {
    return this.#mode;
  }

  status(): { mode: LimiterMode; insuranceDecisions: number; redisErrors: number; lastError: string | null; memoryStates: number } {
    return { mode: this.#mode, insuranceDecisions: this.#insuranceDecisions, redisErrors: this.#redisErrors, lastError: this.#lastError, memoryStates: this.memory.size };
  }

  /**
   * Decides `checks` together. `block`: the client address's auth-failure key and its points, so
   * that a block set by any instance is honoured (Redis only; memory blocks are checked by the
   * caller). Never rejects (a Redis failure is answered by the insurance limiter); throws only
   * for an empty list of checks.
   */
  check(checks: readonly LimitCheck[], block?: { key: string; points: number }): LimitDecision | AddressBlocked | Promise<LimitDecision | AddressBlocked> {
    const redis = this.#redis;
    if (checks.length === 0) throw rangeError(ErrorCode.InvalidArgument, 'a rate-limit decision needs at least one check');
    if (redis === null) return this.memory.check(checks);
    // Not connected, or a recent failure (a slow Redis stays 'ready'): memory decides at once
    // rather than every request waiting out the command timeout.
    if (redis.status !== 'ready' || performance.now() < this.#backoffUntil) return this.#insure(checks, null);
    const args: string[] = [];
    for (const c of checks) args.push(this.#redisKey(c));
    if (block !== undefined) args.push(block.key);
    args.push(String(checks.length), block === undefined ? '' : String(block.points));
    for (const c of checks) args.push(...specArgs(c.spec));
    return ((redis as unknown as { tgLimits: LimitsCommand }).tgLimits(checks.length + (block === undefined ? 0 : 1), ...args)).then(
      (r) => {
        if (this.#mode !== 'shared') this.#mode = 'shared';
        if (r[0] === -2) return { blocked: true as const, retryAfterMs: Math.max(1, Number(r[1])) };
        const c = checks[Number(r[1])]!;
        return { allowed: r[0] === 1, policy: c.policy, spec: c.spec, retryAfterMs: Number(r[2]), resetMs: Number(r[3]), remaining: Number(r[4]), backend: 'redis' as const };
      },
      (err: Error) => this.#insure(checks, err),
    );
  }

  #redisKey(c: LimitCheck): string {
    let k = this.#keys.get(c);
    if (k === undefined) this.#keys.set(c, (k = this.#prefix + stateKey(c)));
    return k;
  }

  #insure(checks: readonly LimitCheck[], err: Error | null): LimitDecision {
    if (err !== null) {
      this.#redisErrors++;
      this.#lastError = err.message;
      this.#backoffUntil = performance.now() + BACKOFF_MS;
    }
    this.#mode = 'insurance';
    this.#insuranceDecisions++;
    if (this.#divisor === 1 || this.#global.size === 0) return this.memory.check(checks);
    return this.memory.check(checks.map((c) => (this.#global.has(c.policy) ? { ...c, spec: this.#insuredSpec(c.spec) } : c)));
  }

  #insuredSpec(spec: LimitSpec): LimitSpec {
    let s = this.#insured.get(spec);
    if (s === undefined) {
      const limit = Math.max(1, Math.floor(spec.limit / this.#divisor));
      s = spec.burst === undefined ? { ...spec, limit } : { ...spec, limit, burst: Math.max(1, Math.floor(spec.burst / this.#divisor)) };
      this.#insured.set(spec, s);
    }
    return s;
  }

  close(): void {
    this.memory.close();
    this.#redis?.off('ready', this.#onReady);
    this.#redis?.off('close', this.#onClose);
  }
}

/** A spec's script arguments, as strings, once per spec object. */
const SPEC_ARGS = new WeakMap<LimitSpec, readonly string[]>();
function specArgs(s: LimitSpec): readonly string[] {
  let a = SPEC_ARGS.get(s);
  if (a === undefined) SPEC_ARGS.set(s, (a = [s.algorithm === 'token-bucket' ? 'tb' : 'sw', String(s.limit), String(s.windowMs), String(burstOf(s))]));
  return a;
}
