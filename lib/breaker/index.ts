export { systemClock, ManualClock, type Clock } from './clock';
export {
  CircuitBreaker,
  CircuitOpenError,
  Permit,
  BREAKER_DEFAULTS,
  BreakerErrorCode,
  resolveBreakerOptions,
  type BreakerState,
  type BreakerEventName,
  type BreakerEvents,
  type BreakerTransition,
  type BreakerOptions,
  type ResolvedBreakerOptions,
  type BreakerStats,
  type BreakerWindowStats,
} from './breaker';
export { BreakerRegistry, type NamedBreakerTransition, type BreakerRegistryEvents } from './registry';
