/**
 * What a rate limit is and what a decision says. One shape for both algorithms, so a limit's
 * configuration names its algorithm and nothing else changes:
 *  - 'token-bucket': `limit` tokens per `windowMs` flow into a bucket of `burst` tokens (default
 *    `limit`); a request takes one. Bursts up to `burst`, then the steady rate.
 *  - 'sliding-window': at most `limit` requests in any `windowMs` (an exact log of the last
 *    `limit` admissions, not the two-window approximation): strict, no burst past the window.
 */
export type LimitAlgorithm = 'token-bucket' | 'sliding-window';

export interface LimitSpec {
  readonly algorithm: LimitAlgorithm;
  readonly limit: number;
  readonly windowMs: number;
  /** Token bucket only: the bucket's size (default `limit`). */
  readonly burst?: number;
}

/** One limit applied to one subject: the policy's name ('forecast'), the subject ('desk-7'). */
export interface LimitCheck {
  readonly policy: string;
  readonly subject: string;
  readonly spec: LimitSpec;
}

/**
 * The outcome of a set of checks taken together: a request is admitted only when every limit
 * admits it, and then each of them is charged; a refused request charges none (a request the
 * per-key limit refuses does not eat the global budget).
 */
export interface LimitDecision {
  allowed: boolean;
  /** The policy that bound: the refusing one, else the one with the fewest requests left. */
  policy: string;
  spec: LimitSpec;
  /** Requests left under that policy after this one. */
  remaining: number;
  /** Milliseconds until that policy's quota is whole again (token bucket: full; log: empty). */
  resetMs: number;
  /** Refused: milliseconds until a retry can be admitted (0 when allowed). */
  retryAfterMs: number;
  /** Which store decided. */
  backend: 'memory' | 'redis';
}

/**
 * Tokens are a floating-point sum of refills, so a bucket holding exactly one token can hold
 * 0.9999999999999999: decisions and waits allow this much (both stores, the same arithmetic).
 */
export const EPSILON = 1e-9;

/** The bucket's capacity. */
export function burstOf(spec: LimitSpec): number {
  return spec.burst ?? spec.limit;
}

/**
 * The key a store keeps a check's state under. It names the spec too: a limit changed by a key
 * file reload or a rolling deploy starts afresh under a new key (as in memory) instead of reading
 * state of another shape (a Redis WRONGTYPE) or a bucket sized for another burst.
 */
export function stateKey(check: LimitCheck): string {
  let key = STATE_KEYS.get(check);
  // Stryker disable next-line ConditionalExpression: a cache: computing the key again gives the same key
  if (key === undefined) {
    key = `${check.policy}:${check.subject}:${specId(check.spec)}`;
    STATE_KEYS.set(check, key);
  }
  return key;
}

// Built once per check and spec object: the service reuses both for every request of a key, and
// a string built per decision (then hashed by the Map) cost more than the decision itself.
const STATE_KEYS = new WeakMap<LimitCheck, string>();

/** Each spec object's id, computed once. */
const SPEC_IDS = new WeakMap<LimitSpec, string>();
function specId(s: LimitSpec): string {
  let id = SPEC_IDS.get(s);
  // Stryker disable next-line ConditionalExpression: a cache: computing the id again gives the same id
  if (id === undefined) {
    id = `${s.algorithm === 'token-bucket' ? 'tb' : 'sw'}:${s.limit}:${s.windowMs}:${burstOf(s)}`;
    SPEC_IDS.set(s, id);
  }
  return id;
}
