/**
 * OpenTelemetry spans of guarded forecasts, through `@opentelemetry/api` only: whoever embeds the
 * library decides whether there is an SDK (the service installs one when the OTEL_* variables
 * ask for it: lib/service/telemetry.ts).
 *
 * Without an SDK the cost is one look at the global tracer provider per call (28 ns measured,
 * BENCHMARKS.md): a call asks whether a real provider is registered, and only then remembers its
 * parent context. The spans are written when the call ends, with the call's own start and model
 * times: nothing of this runs between the shields.
 *
 *   tirex_guardian.forecast  (the call: status, threat, decision, model, fallback, batch;
 *     │                        an event per shield action; status ERROR with the code when blocked)
 *     └ tirex_guardian.model (the model run, when the model ran: provider, rows; ERROR on failure)
 */
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Tracer } from '@opentelemetry/api';

import * as fs from 'node:fs';
import * as path from 'node:path';

import type { CallState } from '../guardian/call-state';
import { packageRoot } from '../native/addon';

export const TRACER_NAME = 'tirex-guardian';
export const FORECAST_SPAN = 'tirex_guardian.forecast';
export const MODEL_SPAN = 'tirex_guardian.model';
export const TRACER_VERSION: string = (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;

interface DelegatingProvider {
  getDelegateTracer?(name: string, version?: string): Tracer | undefined;
  getTracer(name: string, version?: string): Tracer;
}

/** The call's tracer and parent, when an SDK is registered. */
export interface TraceStart {
  tracer: Tracer;
  parent: Context;
}

/**
 * The tracer of a registered SDK, or undefined when there is none (the API's proxy provider has
 * no delegate). A provider that is not the API's proxy is asked for a tracer outright.
 */
export function activeTracer(): Tracer | undefined {
  const provider = trace.getTracerProvider() as DelegatingProvider;
  return typeof provider.getDelegateTracer === 'function' ? provider.getDelegateTracer(TRACER_NAME, TRACER_VERSION) : provider.getTracer(TRACER_NAME, TRACER_VERSION);
}

/** At the start of a call: the tracer and the caller's context (null: no SDK, nothing to do). */
export function beginTrace(): TraceStart | null {
  const tracer = activeTracer();
  return tracer === undefined ? null : { tracer, parent: context.active() };
}

export interface SpanModelInfo {
  name: string;
  sha256: string;
  provider: string;
}

/** performance.now() times as epoch milliseconds, which every SDK takes as a TimeInput. */
const epochMs = (perfMs: number) => performance.timeOrigin + perfMs;

function forecastAttributes(st: CallState, model: SpanModelInfo, auditId: string | null, code: string | null): Attributes {
  const a: Attributes = {
    'tirex_guardian.status': st.status,
    'tirex_guardian.threat.score': st.threat.score,
    'tirex_guardian.threat.decision': st.threat.decision,
    'tirex_guardian.decision': st.decisions.map((d) => `${d.shield}:${d.action}`),
    'tirex_guardian.model.name': model.name,
    'tirex_guardian.model.sha256': model.sha256.slice(0, 12),
    'tirex_guardian.model.provider': model.provider,
    'tirex_guardian.batch': st.batch,
    'tirex_guardian.horizon': st.horizon,
    'tirex_guardian.fallback': st.fallback?.method ?? 'none',
  };
  if (st.threat.signals.length > 0) a['tirex_guardian.threat.signals'] = st.threat.signals;
  if (auditId !== null) a['tirex_guardian.audit_id'] = auditId;
  if (st.regime !== null) {
    a['tirex_guardian.regime.trend'] = st.regime.trend;
    a['tirex_guardian.regime.volatility'] = st.regime.volatility;
    a['tirex_guardian.regime.structure'] = st.regime.structure;
    a['tirex_guardian.regime.neutral'] = st.regime.neutral;
  }
  if (code !== null) a['error.type'] = code;
  return a;
}

/**
 * The call's spans, written at its end (`endPerfMs` is performance.now() then). `code` is the
 * typed error a blocked call threw (null when it returned a result).
 */
export function endTrace(t: TraceStart, st: CallState, model: SpanModelInfo, auditId: string | null, endPerfMs: number, code: string | null): void {
  const span = t.tracer.startSpan(FORECAST_SPAN, { kind: SpanKind.INTERNAL, startTime: epochMs(st.t0), attributes: forecastAttributes(st, model, auditId, code) }, t.parent);
  for (const s of st.shields) {
    const attrs: Attributes = { 'tirex_guardian.shield': s.shield, 'tirex_guardian.action': s.action };
    if (s.detail !== undefined) attrs['tirex_guardian.detail'] = s.detail;
    span.addEvent(`shield.${s.shield}.${s.action}`, attrs);
  }
  const run = st.modelRun;
  if (run !== null) {
    const failure = st.decisions.find((d) => d.shield === 'circuit' && d.action === 'model-failure');
    const child = t.tracer.startSpan(
      MODEL_SPAN,
      {
        kind: SpanKind.INTERNAL,
        startTime: epochMs(run.startedAt),
        attributes: { 'tirex_guardian.model.name': model.name, 'tirex_guardian.model.provider': model.provider, 'tirex_guardian.model.rows': run.rows },
      },
      trace.setSpan(t.parent, span),
    );
    if (failure !== undefined) child.setStatus({ code: SpanStatusCode.ERROR, message: String(failure.code) });
    child.end(epochMs(run.startedAt + st.modelUs / 1000));
  }
  if (code !== null) span.setStatus({ code: SpanStatusCode.ERROR, message: code });
  span.end(epochMs(endPerfMs));
}
