/** What the routes share: the configuration, the models, the access gate and the counters; and
 * what each request carries through the hooks (`request.tg`). */
import type { AuditLog } from '../audit';
import type { ServiceConfig } from './config';
import type { AccessGate, RouteAccess } from './access';
import type { ApiKey, KeyStore } from './keys';
import type { AuthFailureLimiter } from './limits/auth-failures';
import type { SharedLimiter } from './limits/shared';
import type { ServedModel } from './models';
import type { ServiceStats } from './service-stats';
import type { LatestForecasts } from './latest-forecasts';
import type { ServiceMetrics } from './metrics';
import type { Context, Span } from '@opentelemetry/api';

export interface ServiceContext {
  readonly config: ServiceConfig;
  readonly stats: ServiceStats;
  readonly models: readonly ServedModel[];
  readonly keys: KeyStore;
  readonly limiter: SharedLimiter | null;
  readonly authFailures: AuthFailureLimiter | null;
  readonly gate: AccessGate;
  /** The model named (the first when no name is given), or null. */
  modelOf(name: string | undefined): ServedModel | null;
  /** Where the service's own records go (refusals, admin actions): the model's log, else the first's. */
  auditLogFor(model: ServedModel | null): AuditLog | null;
  /** Lifecycle, for the probes. */
  readonly state: { started: boolean; draining: boolean };
  readonly metrics: ServiceMetrics;
  /** The dashboard's fan charts. */
  readonly latest: LatestForecasts;
}

/** Per request. */
export interface RequestTrail {
  key: ApiKey | null;
  model: ServedModel | null;
  /** True once the guardian (or an admin handler) has recorded the request itself. */
  audited: boolean;
  startedNs: bigint;
  /** The request's server span and its context (null: no tracing SDK). */
  trace: { span: Span; context: Context } | null;
}

declare module 'fastify' {
  interface FastifyRequest {
    tg: RequestTrail;
  }
  interface FastifyContextConfig {
    /** Absent: no key needed (the probes). */
    access?: RouteAccess;
    /** Refusals of an authenticated request to this route are recorded in the audit log. */
    audited?: boolean;
  }
}
