/**
 * Failed authentications per client address (seed 004's login limit: 5 per minute blocks the
 * address for 5 minutes). A fixed window with a block is exactly what rate-limiter-flexible
 * does, so it does it: RateLimiterRedis shared by every instance, with a RateLimiterMemory as its
 * insurance limiter when Redis fails (the library's own mechanism), or memory alone.
 *
 * Every request (not only failed ones) must honour a block, including one set by another
 * instance: blocks this instance saw are remembered here (`blockedFor`, no I/O), and with Redis
 * the request's limits script reads the library's key for the address (`redisKey`), which holds
 * the consumed points and outlives the block by the block's duration.
 */
import type Redis from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';

export interface AuthFailureOptions {
  redis: Redis | null;
  /** Failures allowed per window; the next one blocks. */
  limit: number;
  windowMs: number;
  blockMs: number;
  prefix?: string;
  now?: () => number;
}

export class AuthFailureLimiter {
  readonly limit: number;
  readonly #limiter: RateLimiterRedis | RateLimiterMemory;
  readonly #prefix: string;
  readonly #blocked = new Map<string, number>();
  readonly #now: () => number;
  #blocks = 0;

  constructor(o: AuthFailureOptions) {
    this.limit = o.limit;
    this.#prefix = o.prefix ?? 'tg:authfail';
    this.#now = o.now ?? Date.now;
    const common = { keyPrefix: this.#prefix, points: o.limit, duration: o.windowMs / 1000, blockDuration: o.blockMs / 1000 };
    const memory = new RateLimiterMemory(common);
    this.#limiter = o.redis === null ? memory : new RateLimiterRedis({ ...common, storeClient: o.redis, insuranceLimiter: memory, rejectIfRedisNotReady: true });
  }

  /** The key rate-limiter-flexible keeps the address's count under in Redis. */
  redisKey(address: string): string {
    return `${this.#prefix}:${address}`;
  }

  /** Milliseconds the address stays blocked by a block this instance saw (0: not blocked). */
  blockedFor(address: string): number {
    const until = this.#blocked.get(address);
    if (until === undefined) return 0;
    const left = until - this.#now();
    if (left > 0) return left;
    this.#blocked.delete(address);
    return 0;
  }

  /** Counts a failed authentication; resolves to the block's length when this one blocks. */
  async fail(address: string): Promise<number> {
    try {
      await this.#limiter.consume(address);
      return 0;
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res; // never: Redis errors go to the insurance limiter
      const ms = Math.max(1, res.msBeforeNext);
      this.#blocked.set(address, this.#now() + ms);
      this.#blocks++;
      return ms;
    }
  }

  /** Drops expired local blocks (bounded memory under an address sweep). */
  sweep(): void {
    const now = this.#now();
    for (const [a, until] of this.#blocked) if (until <= now) this.#blocked.delete(a);
  }

  status(): { blockedAddresses: number; blocks: number } {
    return { blockedAddresses: this.#blocked.size, blocks: this.#blocks };
  }
}
