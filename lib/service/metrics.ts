/**
 * The service's Prometheus registry: every guardian's metrics (lib/observability/metrics.ts,
 * labelled with the served model's name), the service's own (HTTP requests by route, method and
 * code with a latency histogram; rate-limit hits by limiter; refusals by code; forecasts in
 * flight; whether Redis or the insurance limiter decides), and the process's (prom-client's
 * default metrics: memory, CPU, event loop lag, handles). The HTTP counters are prom-client's own
 * objects, fed once per response (a request costs hundreds of microseconds; an observation, one);
 * the rest is read at scrape time.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

import { LATENCY_BOUNDS_S } from '../guardian/latency';
import { METRIC_PREFIX } from '../observability/metrics';
import type { ServiceConfig } from './config';
import type { SharedLimiter } from './limits/shared';
import type { ServedModel } from './models';
import type { ServiceStats } from './service-stats';

const RATE_LIMITED = 'TG_RATE_LIMITED:';

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'method' | 'code'>;
  readonly #duration: Histogram<'route' | 'method'>;

  constructor(config: ServiceConfig, models: readonly ServedModel[], stats: ServiceStats, limiter: SharedLimiter | null) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    for (const m of models) m.guardian.registerMetrics(this.registry, { name: m.name, instruments: config.metrics.instruments });
    this.#requests = new Counter({ name: `${METRIC_PREFIX}http_requests_total`, help: 'HTTP requests answered, by route (its pattern), method and status code.', labelNames: ['route', 'method', 'code'], registers });
    this.#duration = new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'HTTP request latency, from the request to the response, by route and method.',
      labelNames: ['route', 'method'],
      buckets: [...LATENCY_BOUNDS_S],
      registers,
    });
    new Counter({
      name: `${METRIC_PREFIX}rate_limit_hits_total`,
      help: 'Requests refused by a rate limit, by limiter (global, forecast, api, address-blocked).',
      labelNames: ['limiter'],
      registers,
      collect() {
        this.reset();
        for (const [k, v] of Object.entries(stats.refusals)) if (k.startsWith(RATE_LIMITED)) this.inc({ limiter: k.slice(RATE_LIMITED.length) }, v);
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}http_refusals_total`,
      help: 'Requests the service refused before the guardian, by error code.',
      labelNames: ['code'],
      registers,
      collect() {
        this.reset();
        for (const [k, v] of Object.entries(stats.refusals)) this.inc({ code: k.split(':')[0]! }, v);
      },
    });
    new Gauge({ name: `${METRIC_PREFIX}http_forecasts_in_flight`, help: 'Forecast requests being served.', registers, collect() { this.set(stats.inFlight); } });
    new Gauge({
      name: `${METRIC_PREFIX}rate_limit_insurance`,
      help: '1 while Redis is unreachable and the in-memory insurance limiter decides (shared limits only).',
      registers,
      collect() {
        this.set(limiter?.mode === 'insurance' ? 1 : 0);
      },
    });
  }

  /** One answered request (route: the matched pattern, 'unmatched' for none). */
  observe(route: string, method: string, code: number, seconds: number): void {
    this.#requests.inc({ route, method, code: String(code) });
    this.#duration.observe({ route, method }, seconds);
  }
}
