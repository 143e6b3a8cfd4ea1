// OpenTelemetry traces end to end: the service installs the SDK from the standard OTEL_*
// variables and exports OTLP over HTTP to a real receiver that this test runs; the test decodes
// what the exporter sent and checks names, attributes, events and parent/child links, including
// the continuation of a caller's W3C traceparent.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FORECAST_SPAN, MODEL_SPAN, TRACER_NAME } from '../lib/index';
import { loadServiceConfig } from '../lib/service/config';
import { series, startService, type TestService } from './service-fixtures';

interface OtlpAttr {
  key: string;
  value: Record<string, unknown>;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes: OtlpAttr[];
  events?: { name: string; attributes: OtlpAttr[] }[];
  status?: { code?: number; message?: string };
}

/** An OTLP/HTTP receiver: every request's path, content type and decoded JSON body. */
class Receiver {
  readonly requests: { path: string; type: string; body: any }[] = [];
  readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      this.requests.push({ path: req.url ?? '', type: String(req.headers['content-type']), body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  spans(): { span: OtlpSpan; resource: OtlpAttr[]; scope: string }[] {
    return this.requests.flatMap((r) =>
      (r.body.resourceSpans ?? []).flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans.map((span: OtlpSpan) => ({ span, resource: rs.resource.attributes, scope: ss.scope.name })))),
    );
  }
}

const attr = (attrs: OtlpAttr[], key: string): unknown => {
  const v = attrs.find((a) => a.key === key)?.value;
  if (v === undefined) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return ((v.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map((x) => x.stringValue);
  return v;
};

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';

let receiver: Receiver;
let t: TestService;
let endpoint: string;

beforeAll(async () => {
  receiver = new Receiver();
  endpoint = await receiver.start();
  t = await startService(
    { desk: { scopes: ['forecast'] } },
    { models: [{ name: 'brent', manifest: loadServiceConfig({ env: {} }).models[0]!.manifest }] },
    { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SERVICE_NAME: 'tg-under-test', OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test' },
  );
}, 60_000);
afterAll(async () => {
  await t?.close();
  receiver?.server.close();
});

const forecast = (body: object, headers: Record<string, string> = {}) =>
  fetch(`${t.url}/v1/forecast`, { method: 'POST', headers: { authorization: `Bearer ${t.keys.desk}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('tracing through the service (OTLP/HTTP to a real receiver)', () => {
  it('exports the request span, the guardian span and the model span, linked, continuing the caller\'s traceparent', async () => {
    const spiked = series(256);
    spiked[250] = spiked[250]! * 1e4;
    const traced = await forecast({ context: series(256), predictionLength: 8 }, { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` });
    await traced.text();
    expect(traced.status).toBe(200);
    const blocked = await forecast({ context: spiked, predictionLength: 8 });
    expect(blocked.status).toBe(200);
    expect(((await blocked.json()) as { status: string }).status).toBe('fallback');
    // The drain flushes the batch processor: everything queued reaches the receiver.
    await t.close();

    expect(receiver.requests.length).toBeGreaterThan(0);
    for (const r of receiver.requests) {
      expect(r.path).toBe('/v1/traces');
      expect(r.type).toContain('application/json');
    }
    const spans = receiver.spans();
    expect(new Set(spans.map((s) => s.scope))).toEqual(new Set([TRACER_NAME]));
    for (const s of spans) {
      expect(attr(s.resource, 'service.name')).toBe('tg-under-test');
      expect(attr(s.resource, 'deployment.environment')).toBe('test');
    }
    // The first request: its server span continues the caller's trace.
    const server = spans.filter((s) => s.span.name === 'POST /v1/forecast');
    expect(server).toHaveLength(2);
    const first = server.find((s) => s.span.traceId === TRACE_ID)!;
    expect(first).toBeDefined();
    expect(first.span.parentSpanId).toBe(PARENT_ID);
    expect(first.span.kind).toBe(2); // SERVER
    expect(attr(first.span.attributes, 'http.route')).toBe('/v1/forecast');
    expect(attr(first.span.attributes, 'http.response.status_code')).toBe(200);

    const guarded = spans.filter((s) => s.span.name === FORECAST_SPAN && s.span.traceId === TRACE_ID);
    expect(guarded).toHaveLength(1);
    const g = guarded[0]!.span;
    expect(g.parentSpanId).toBe(first.span.spanId);
    expect(attr(g.attributes, 'tirex_guardian.status')).toBe('ok');
    expect(attr(g.attributes, 'tirex_guardian.batch')).toBe(1);
    expect(attr(g.attributes, 'tirex_guardian.horizon')).toBe(8);
    expect(attr(g.attributes, 'tirex_guardian.fallback')).toBe('none');
    expect(attr(g.attributes, 'tirex_guardian.threat.decision')).toBe('pass');
    expect(typeof attr(g.attributes, 'tirex_guardian.threat.score')).toBe('number');
    expect(attr(g.attributes, 'tirex_guardian.model.name')).toBe(t.service.context.models[0]!.guardian.session.manifest.name);
    expect(String(attr(g.attributes, 'tirex_guardian.audit_id'))).toMatch(/.+/);
    const model = spans.filter((s) => s.span.name === MODEL_SPAN && s.span.traceId === TRACE_ID);
    expect(model).toHaveLength(1);
    expect(model[0]!.span.parentSpanId).toBe(g.spanId);
    expect(attr(model[0]!.span.attributes, 'tirex_guardian.model.rows')).toBe(1);
    // The model ran inside the call.
    expect(BigInt(model[0]!.span.startTimeUnixNano) >= BigInt(g.startTimeUnixNano)).toBe(true);
    expect(BigInt(model[0]!.span.endTimeUnixNano) <= BigInt(g.endTimeUnixNano)).toBe(true);

    // The second request started its own trace; its guardian span says fallback, with an event
    // per shield action, and no model span (the input shield sent the series to a fallback).
    const second = server.find((s) => s.span.traceId !== TRACE_ID)!;
    expect(second.span.parentSpanId ?? '').toBe('');
    const g2 = spans.find((s) => s.span.name === FORECAST_SPAN && s.span.traceId === second.span.traceId)!.span;
    expect(g2.parentSpanId).toBe(second.span.spanId);
    expect(attr(g2.attributes, 'tirex_guardian.status')).toBe('fallback');
    expect(attr(g2.attributes, 'tirex_guardian.threat.decision')).toBe('block');
    expect(attr(g2.attributes, 'tirex_guardian.fallback')).not.toBe('none');
    expect((g2.events ?? []).map((e) => e.name)).toEqual(['shield.input.block', 'shield.circuit.fallback']);
    expect(spans.filter((s) => s.span.name === MODEL_SPAN && s.span.traceId === second.span.traceId)).toHaveLength(0);
    // The drain gave the global provider back.
    expect(trace.getTracerProvider().getTracer('x').startSpan('y').isRecording()).toBe(false);
  });

  it('refuses an OTLP protocol it does not send, and an exporter other than otlp or none', () => {
    const problems = (env: NodeJS.ProcessEnv) => {
      try {
        loadServiceConfig({ env });
        return [];
      } catch (err) {
        return (err as { problems: string[] }).problems;
      }
    };
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toEqual(["OTEL_EXPORTER_OTLP_PROTOCOL: the service sends http/json, got 'grpc'"]);
    expect(problems({ OTEL_TRACES_EXPORTER: 'zipkin' })).toEqual(["OTEL_TRACES_EXPORTER: the service exports OTLP only ('otlp' or 'none'), got 'zipkin'"]);
    expect(problems({ OTEL_TRACES_EXPORTER: 'otlp' })).toEqual(['OTEL_TRACES_EXPORTER=otlp needs OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
    expect(loadServiceConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_SDK_DISABLED: 'true' } }).tracing).toBeNull();
    expect(loadServiceConfig({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_EXPORTER: 'none' } }).tracing).toBeNull();
    expect(loadServiceConfig({ env: {} }).tracing).toBeNull();
    const c = loadServiceConfig({ env: { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/custom', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25', OTEL_EXPORTER_OTLP_HEADERS: 'x-token=a%20b' } }).tracing!;
    expect(c.url).toBe('http://collector:4318/custom');
    expect(c.sampler).toBe('parentbased_traceidratio');
    expect(c.ratio).toBe(0.25);
    expect(c.headers).toEqual({ 'x-token': 'a b' });
  });
});
