/**
 * `tirex-guardian/service`: the guardian as an HTTP service. A subpath of its own, so that an
 * engine importing the library in process does not load Fastify, ioredis and the rest.
 */
export { createServer, type Service, type CreateServerOptions } from './server';
export { loadServiceConfig, defaultConfig as defaultServiceConfig, ENV_VARIABLES, type ServiceConfig, type ModelEntry, type LoadOptions as ServiceConfigSources } from './config';
export { KeyStore, createKey, revokeKey, listKeys, SCOPES, type ApiKey, type AuthOutcome, type KeyInfo, type KeyLimits, type Scope } from './keys';
export { MemoryLimiter, type MemoryLimiterOptions } from './limits/memory';
export { SharedLimiter, type LimiterMode } from './limits/shared';
export { AuthFailureLimiter } from './limits/auth-failures';
export type { LimitSpec, LimitCheck, LimitDecision, LimitAlgorithm } from './limits/spec';
