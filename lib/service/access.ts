/**
 * Who may do what, how often: the first thing every /v1 request meets, before its body is read.
 * In order: a blocked client address is refused (429); the API key is checked (401, and the
 * failure counts against the address: 5 in a minute block it); a draining service refuses (503,
 * after the key, so that the refusal is recorded under it); the rate limits, global and per key, decided together in one step (memory, or one Redis script
 * call) (429 with Retry-After); then the route's scope (403). Every admitted response carries
 * the binding limit in the IETF RateLimit-Policy / RateLimit header fields.
 */
import { isIPv4, isIPv6 } from 'node:net';

import type { FastifyReply, FastifyRequest } from 'fastify';

import { ErrorCode } from '../errors';
import { sendError } from './http-errors';
import type { ServiceConfig } from './config';
import type { ApiKey, KeyStore, Scope } from './keys';
import type { AuthFailureLimiter } from './limits/auth-failures';
import type { SharedLimiter } from './limits/shared';
import type { LimitCheck, LimitDecision, LimitSpec } from './limits/spec';
import type { ServiceStats } from './service-stats';

/** What a route asks of its callers: a scope (any of them) and which per-key limit it counts against. */
export interface RouteAccess {
  scopes: readonly Scope[];
  limit: 'forecast' | 'api';
}

const GLOBAL_SUBJECT = '*';

export class AccessGate {
  readonly #keys: KeyStore;
  readonly #limiter: SharedLimiter | null;
  readonly #authFailures: AuthFailureLimiter | null;
  readonly #config: ServiceConfig['rateLimits'];
  readonly #stats: ServiceStats;
  /** Each key's checks per route kind, built once per key object (a key file reload makes new
   * key objects, and with them new checks): the limiters cache their state keys per check. */
  readonly #checks = new WeakMap<ApiKey, { forecast?: LimitCheck[]; api?: LimitCheck[] }>();
  readonly #global: LimitCheck;
  /** The service's lifecycle (shared with the probes and the drain). */
  readonly #state: { readonly draining: boolean };

  constructor(o: {
    keys: KeyStore;
    limiter: SharedLimiter | null;
    authFailures: AuthFailureLimiter | null;
    rateLimits: ServiceConfig['rateLimits'];
    stats: ServiceStats;
    state: { readonly draining: boolean };
  }) {
    this.#keys = o.keys;
    this.#limiter = o.limiter;
    this.#authFailures = o.authFailures;
    this.#config = o.rateLimits;
    this.#stats = o.stats;
    this.#state = o.state;
    this.#global = { policy: 'global', subject: GLOBAL_SUBJECT, spec: o.rateLimits.global };
  }

  /** The caller's key when the request may go on; null when it was answered (refused). */
  async admit(request: FastifyRequest, reply: FastifyReply, access: RouteAccess): Promise<ApiKey | null> {
    const address = addressKey(request.ip);
    const blockedMs = this.#authFailures?.blockedFor(address) ?? 0;
    if (blockedMs > 0) return this.#blocked(request, reply, blockedMs);
    const outcome = this.#keys.authenticate(presentedKey(request));
    if (!outcome.ok) {
      const blockMs = this.#authFailures === null ? 0 : await this.#authFailures.fail(address);
      if (blockMs > 0) return this.#blocked(request, reply, blockMs);
      this.#stats.refused(ErrorCode.Unauthenticated, outcome.reason);
      reply.header('www-authenticate', 'Bearer realm="tirex-guardian"');
      // A client without a key holds no connection slot (they are bounded: limits.maxConnections).
      reply.header('connection', 'close');
      sendError(reply, request, ErrorCode.Unauthenticated, outcome.reason === 'missing' ? 'an API key is required (Authorization: Bearer <key>)' : 'the API key is not valid');
      return null;
    }
    const key = outcome.key;
    // Known from here on: whatever happens next is recorded under this key (audited routes).
    request.tg.key = key;
    if (this.#state.draining) {
      reply.header('connection', 'close');
      this.#stats.refused(ErrorCode.Draining);
      sendError(reply, request, ErrorCode.Draining, 'the service is shutting down; retry on another instance');
      return null;
    }
    // The limits before the scope: a key knocking on endpoints it may not use is charged like any
    // other request (each refusal is an audit record, so it must not come at wire speed).
    if (this.#limiter !== null && !(await this.#withinLimits(request, reply, key, address, access))) return null;
    if (!access.scopes.some((s) => key.scopes.has(s))) {
      this.#stats.refused(ErrorCode.Forbidden);
      sendError(reply, request, ErrorCode.Forbidden, `this key lacks the scope this endpoint needs (${access.scopes.join(' or ')})`);
      return null;
    }
    return key;
  }

  async #withinLimits(request: FastifyRequest, reply: FastifyReply, key: ApiKey, address: string, access: RouteAccess): Promise<boolean> {
    const limiter = this.#limiter!;
    const checks = this.#checksOf(key, access.limit);
    const block = this.#authFailures !== null ? { key: this.#authFailures.redisKey(address), points: this.#authFailures.limit } : undefined;
    const d = await limiter.check(checks, block);
    if ('blocked' in d) return this.#blocked(request, reply, d.retryAfterMs) ?? false;
    setRateLimitHeaders(reply, d);
    if (!d.allowed) {
      reply.header('retry-after', String(Math.max(1, Math.ceil(d.retryAfterMs / 1000))));
      this.#stats.refused(ErrorCode.RateLimited, d.policy);
      sendError(reply, request, ErrorCode.RateLimited, `rate limit '${d.policy}' reached`);
      return false;
    }
    return true;
  }

  #blocked(request: FastifyRequest, reply: FastifyReply, ms: number): null {
    reply.header('retry-after', String(Math.max(1, Math.ceil(ms / 1000))));
    reply.header('connection', 'close');
    this.#stats.refused(ErrorCode.RateLimited, 'address-blocked');
    sendError(reply, request, ErrorCode.RateLimited, 'too many failed authentications from this address');
    return null;
  }

  #checksOf(key: ApiKey, limit: 'forecast' | 'api'): LimitCheck[] {
    let byKind = this.#checks.get(key);
    if (byKind === undefined) this.#checks.set(key, (byKind = {}));
    return (byKind[limit] ??= [this.#global, { policy: limit, subject: key.id, spec: this.#specOf(key, limit) }]);
  }

  /** The key's own limit where its entry sets one, else the service's (built once per key
   * object, by #checksOf; a limiter keys its state by the limit's values, not this object). */
  #specOf(key: ApiKey, limit: 'forecast' | 'api'): LimitSpec {
    const l = key.limits;
    if (limit === 'api') return l.apiPerMinute === undefined ? this.#config.api : { algorithm: this.#config.api.algorithm, limit: l.apiPerMinute, windowMs: 60_000 };
    if (l.forecastPerSecond === undefined && l.forecastBurst === undefined) return this.#config.forecast;
    const base = this.#config.forecast;
    return {
      algorithm: 'token-bucket',
      limit: l.forecastPerSecond ?? (base.limit * 1000) / base.windowMs,
      windowMs: 1000,
      burst: l.forecastBurst ?? Math.max(1, Math.ceil(l.forecastPerSecond ?? base.burst ?? base.limit)),
    };
  }
}

/** The key from `Authorization: Bearer <key>` or `X-API-Key: <key>` (undefined: none). */
export function presentedKey(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string') return auth.startsWith('Bearer ') ? auth.slice(7) : auth;
  const x = request.headers['x-api-key'];
  return typeof x === 'string' ? x : undefined;
}

/** draft-ietf-httpapi-ratelimit-headers: the policy (quota q per window w seconds) and what is
 * left of it (r requests, t seconds until it is whole). */
export function setRateLimitHeaders(reply: FastifyReply, d: LimitDecision): void {
  const w = Math.max(1, Math.ceil(d.spec.windowMs / 1000));
  const q = d.spec.algorithm === 'token-bucket' ? (d.spec.burst ?? d.spec.limit) : d.spec.limit;
  reply.header('ratelimit-policy', `"${d.policy}";q=${q};w=${w}`);
  reply.header('ratelimit', `"${d.policy}";r=${d.remaining};t=${Math.ceil(d.resetMs / 1000)}`);
}

/**
 * The client as the auth-failure limit counts it: an IPv4 address, or an IPv6 address's /64 (a
 * host can rotate through the addresses of its /64 at will); an IPv4-mapped IPv6 address is its
 * IPv4 address. Anything else (never from Node's socket) is one bucket of its own.
 */
export function addressKey(ip: string): string {
  if (isIPv4(ip)) return ip;
  if (!isIPv6(ip)) return 'unknown-address';
  const bare = ip.split('%')[0]!.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  if (mapped !== null) return mapped[1]!;
  const [head, tail] = bare.includes('::') ? (bare.split('::') as [string, string]) : [bare, null];
  const groups = (s: string | null) => (s === null || s === '' ? [] : s.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])));
  const h = groups(head);
  const t = tail === null ? [] : groups(tail);
  const all = tail === null ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return `${all.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
