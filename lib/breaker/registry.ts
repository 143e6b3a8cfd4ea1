import { EventEmitter } from 'node:events';

import { ErrorCode, rangeError } from '../errors';
import { CircuitBreaker, resolveBreakerOptions, type BreakerOptions, type BreakerStats, type BreakerTransition } from './breaker';

/** A transition of one of the registry's breakers, with the breaker's name. */
export interface NamedBreakerTransition extends BreakerTransition {
  readonly name: string;
}

export type BreakerRegistryEvents = { stateChange: [NamedBreakerTransition] };

/**
 * Named circuit breakers shared by the guardian (one per model) and the service. `get(name)`
 * creates a breaker on first use from the registry defaults merged with the options given; later
 * calls return the same breaker. Asking for an existing name with options that resolve
 * differently throws, rather than silently returning a breaker configured otherwise.
 * Re-emits every breaker's 'stateChange' with its name.
 */
export class BreakerRegistry extends EventEmitter<BreakerRegistryEvents> {
  private readonly defaults: Omit<BreakerOptions, 'name'>;
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly forwarders = new Map<string, (t: BreakerTransition) => void>();

  constructor(defaults: Omit<BreakerOptions, 'name'> = {}) {
    super();
    if (defaults !== null && typeof defaults === 'object' && 'name' in defaults) {
      throw rangeError(ErrorCode.InvalidArgument, 'BreakerRegistry: defaults cannot carry a name (each breaker is named by get())');
    }
    resolveBreakerOptions(defaults); // fail at construction, not at the first get()
    this.defaults = { ...defaults };
  }

  /** The breaker named `name`, created with the defaults and `options` when it does not exist. */
  get(name: string, options: Omit<BreakerOptions, 'name'> = {}): CircuitBreaker {
    const existing = this.breakers.get(name);
    if (existing !== undefined && Object.keys(options).length === 0) return existing;
    const resolved = resolveBreakerOptions({ ...this.defaults, ...options, name });
    if (existing !== undefined) {
      for (const key of Object.keys(resolved) as (keyof typeof resolved)[]) {
        if (!Object.is(resolved[key], existing.options[key])) {
          throw rangeError(
            ErrorCode.InvalidArgument,
            `BreakerRegistry: breaker "${name}" exists with ${key} = ${String(existing.options[key])}, asked for ${String(resolved[key])}`,
          );
        }
      }
      return existing;
    }
    const breaker = new CircuitBreaker(resolved);
    const forward = (t: BreakerTransition): void => {
      if (this.listenerCount('stateChange') > 0) this.emit('stateChange', { ...t, name });
    };
    breaker.on('stateChange', forward);
    this.breakers.set(name, breaker);
    this.forwarders.set(name, forward);
    return breaker;
  }

  has(name: string): boolean {
    return this.breakers.has(name);
  }

  /** Forgets a breaker (which keeps working for whoever holds it); true when it existed. */
  delete(name: string): boolean {
    const b = this.breakers.get(name);
    if (b === undefined) return false;
    const forward = this.forwarders.get(name);
    if (forward !== undefined) b.off('stateChange', forward);
    this.forwarders.delete(name);
    return this.breakers.delete(name);
  }

  /** Names of the breakers, in creation order. */
  list(): string[] {
    return [...this.breakers.keys()];
  }

  /** A stats snapshot of every breaker, keyed by name. */
  stats(): Record<string, BreakerStats> {
    const out: Record<string, BreakerStats> = {};
    for (const [name, b] of this.breakers) out[name] = b.stats();
    return out;
  }

  /** Manual reset of every breaker (forced-open ones included: a reset overrides maintenance). */
  resetAll(reason = 'manual reset of all breakers'): void {
    for (const b of this.breakers.values()) b.reset(reason);
  }

  get size(): number {
    return this.breakers.size;
  }
}
