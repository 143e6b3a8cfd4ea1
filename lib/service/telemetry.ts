/**
 * The OpenTelemetry SDK of the service, installed when the OTEL_* variables ask for it
 * (tracing-config.ts): a tracer provider with a batching OTLP/HTTP exporter, the W3C trace-context
 * propagator (a caller's `traceparent` continues its trace) and an AsyncLocalStorage context
 * manager. The library's spans (lib/observability/tracing.ts) find it through the API's global
 * provider; each HTTP request gets a server span here (hooks.ts) that the guardian's span is a
 * child of. `shutdown()` flushes what is queued and gives the globals back.
 */
import { context, propagation, SpanKind, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
} from '@opentelemetry/sdk-trace';

import { TRACER_NAME, TRACER_VERSION } from '../observability/tracing';
import type { TracingConfig } from './tracing-config';

export interface ServiceTracing {
  /** True when this service's provider is the global one (an embedding program may have its own). */
  readonly installed: boolean;
  /** Flushes queued spans (bounded by the exporter's timeout) and unregisters the globals. */
  shutdown(): Promise<void>;
}

function samplerOf(c: TracingConfig): Sampler {
  switch (c.sampler) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(c.ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(c.ratio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

export function installTracing(c: TracingConfig): ServiceTracing {
  const exporter = new OTLPTraceExporter({ url: c.url, headers: c.headers });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ ...c.resourceAttributes, 'service.name': c.serviceName, 'service.version': TRACER_VERSION }),
    sampler: samplerOf(c),
    spanProcessors: [new BatchSpanProcessor({ exporter, ...c.batch })],
  });
  const installed = trace.setGlobalTracerProvider(provider);
  const contextManager = new AsyncLocalStorageContextManager().enable();
  const ownContext = context.setGlobalContextManager(contextManager);
  const ownPropagator = propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  let done: Promise<void> | null = null;
  return {
    installed,
    shutdown() {
      done ??= (async () => {
        try {
          await provider.shutdown();
        } finally {
          if (installed) trace.disable();
          if (ownContext) context.disable();
          if (ownPropagator) propagation.disable();
          contextManager.disable();
        }
      })();
      return done;
    },
  };
}

/** The server span of one HTTP request, continuing the caller's trace (W3C traceparent). */
export function startRequestSpan(method: string, route: string, headers: Record<string, unknown>): { span: Span; context: ReturnType<typeof context.active> } | null {
  const provider = trace.getTracerProvider() as { getDelegateTracer?: (n: string, v?: string) => unknown };
  if (typeof provider.getDelegateTracer === 'function' && provider.getDelegateTracer(TRACER_NAME, TRACER_VERSION) === undefined) return null;
  const parent = propagation.extract(context.active(), headers);
  const span = trace.getTracer(TRACER_NAME, TRACER_VERSION).startSpan(
    `${method} ${route}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': method, 'http.route': route } },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
}
