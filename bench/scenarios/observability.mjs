// What observability costs (issue 14). Usage: observability.mjs overhead | tracing | scrape
//  - overhead: the per-call work metrics add (recordCallEnd with the latency histograms on,
//    against off, on the same call state: nanoseconds), the per-call work tracing costs without
//    an SDK (beginTrace: one look at the global provider), and, end to end, safeForecast of a
//    guardian registered in a prom-client registry against one that is not (alternating rounds;
//    the real `quantile-ok` fixture model, the cheapest real session, so the shields dominate).
//  - tracing: safeForecast with the OpenTelemetry SDK installed (a TracerProvider, a
//    BatchSpanProcessor and the OTLP/HTTP exporter sending to a receiver in this process) against
//    none, alternating rounds, the event loop given back every 64 calls so the exporter runs.
//  - scrape: registry.metrics() of a guardian that served 1,000,000 forecasts (a mix: clean,
//    spiked (fallback with threat signals), listed instruments) against the same scrape of a fresh
//    guardian.
import http from 'node:http';
import path from 'node:path';

import { emit, lib, machine, measure, measureRounds, require, roundRatios, summarizeSamples } from '../harness.mjs';

const mode = process.argv[2] ?? 'overhead';
const { Registry } = require('prom-client');
const { recordCallEnd } = require('../dist/cjs/guardian/call-end.js');
const { newCallState } = require('../dist/cjs/guardian/call-state.js');
const { ProtectionStats } = require('../dist/cjs/guardian/stats.js');
const { beginTrace } = require('../dist/cjs/observability/tracing.js');

const FIXTURE = path.resolve('test/fixtures/models/quantile-ok.json');
const brent = lib.readCsvColumn(path.resolve('data/brent-daily.csv'), 'Price').values;
const context = Float32Array.from(brent.subarray(brent.length - 256));
const spiked = Float32Array.from(context);
spiked[250] *= 1e4;
const guardianOf = () =>
  new lib.TiRexGuardian({
    model: FIXTURE,
    fallbackStrategy: 'graceful',
    enableAuditLogging: false,
    marketBounds: { BRENT: { lo: 1, hi: 1000 }, WTI: { lo: 1, hi: 1000 } },
    session: { intraOpThreads: 1, interOpThreads: 1 },
  });
const req = { context, predictionLength: 8, userId: 'bench', instrument: 'BRENT' };
const rounds = Number(process.env.TG_BENCH_ROUNDS ?? 10);

async function overhead() {
  // The exact per-call work, isolated: a finished call's state with two shield actions.
  const model = { name: 'm', sha256: 'a'.repeat(64), provider: 'cpu' };
  const st = newCallState(0, { lo: -1, hi: 1 });
  st.status = 'ok';
  st.modelRun = { startedAt: 0, rows: 1 };
  st.modelUs = 12;
  st.instrument = 'BRENT';
  st.shields.push({ shield: 'pipeline', action: 'trim' }, { shield: 'pipeline', action: 'impute' });
  const off = new ProtectionStats();
  const on = new ProtectionStats();
  on.enableLatency();
  on.trackInstruments(['BRENT']);
  const end = performance.now();
  const reps = 2000;
  const callEndOff = await measure('recordCallEnd, metrics off (shield actions counted)', () => recordCallEnd(off, st, model, null, end, null), { reps });
  const callEndOn = await measure('recordCallEnd, metrics on (+ two histograms, one instrument)', () => recordCallEnd(on, st, model, null, end, null), { reps });
  const noSdk = await measure('beginTrace() without an SDK (per call)', () => beginTrace(), { reps });

  const plain = guardianOf();
  const metered = guardianOf();
  metered.registerMetrics(new Registry(), { instruments: ['BRENT'] });
  const tasks = await measureRounds(
    [
      { name: 'safeForecast, no metrics', fn: () => plain.safeForecast(req) },
      { name: 'safeForecast, registerMetrics', fn: () => metered.safeForecast(req) },
    ],
    { rounds, perRoundMs: 500 },
  );
  if (plain.stats().byStatus.ok < 1000 || metered.stats().latency.forecast.count !== metered.stats().calls) throw new Error('the calls were not served as measured');
  await plain.close();
  await metered.close();
  emit({
    scenario: 'observability-overhead',
    machine: machine(),
    tasks: [callEndOff, callEndOn, noSdk, ...tasks],
    ratios: { safeForecastMetricsVsNone: roundRatios(tasks[1], tasks[0]).median },
    figures: {
      metricsAddedNsPerCall: callEndOn.p50Ns - callEndOff.p50Ns,
      tracingWithoutSdkNsPerCall: noSdk.p50Ns,
      safeForecastDeltaNsP50: tasks[1].p50Ns - tasks[0].p50Ns,
    },
  });
}

async function receiver() {
  let spans = 0;
  const server = http.createServer((q, s) => {
    const chunks = [];
    q.on('data', (c) => chunks.push(c));
    q.on('end', () => {
      for (const rs of JSON.parse(Buffer.concat(chunks).toString()).resourceSpans ?? []) for (const ss of rs.scopeSpans) spans += ss.spans.length;
      s.end('{}');
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${server.address().port}/v1/traces`, spans: () => spans, close: () => server.close() };
}

async function tracing() {
  const { trace, context: otelContext } = require('@opentelemetry/api');
  const { TracerProvider, BatchSpanProcessor, AlwaysOnSampler } = require('@opentelemetry/sdk-trace');
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http');
  const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
  const rx = await receiver();
  const provider = new TracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: rx.url }), scheduledDelayMillis: 200 })] });
  otelContext.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const g = guardianOf();
  const samples = { off: [], on: [] };
  const wall = { off: 0, on: 0 };
  const calls = { off: 0, on: 0 };
  const roundP50s = { off: [], on: [] };
  for (let i = 0; i < 500; i++) g.safeForecast(req);
  for (let r = 0; r < rounds; r++) {
    for (const which of ['off', 'on']) {
      if (which === 'on') trace.setGlobalTracerProvider(provider);
      else trace.disable();
      const round = [];
      const t0 = performance.now();
      while (performance.now() - t0 < 600) {
        for (let k = 0; k < 64; k++) {
          const a = performance.now();
          g.safeForecast(req);
          round.push((performance.now() - a) * 1e6);
        }
        await new Promise((res) => setImmediate(res)); // the exporter's timers and sockets run here
      }
      wall[which] += performance.now() - t0;
      calls[which] += round.length;
      samples[which].push(...round);
      roundP50s[which].push(summarizeSamples(which, round).p50Ns);
    }
  }
  trace.disable();
  await provider.forceFlush();
  const exported = rx.spans();
  await provider.shutdown();
  rx.close();
  // Every traced call made a guardian span and a model span; none may be missing.
  if (exported < 2 * calls.on * 0.99) throw new Error(`only ${exported} spans reached the receiver for ${calls.on} traced calls`);
  const off = { ...summarizeSamples('safeForecast, no SDK', samples.off), roundP50s: roundP50s.off };
  const on = { ...summarizeSamples('safeForecast, SDK + BatchSpanProcessor + OTLP/HTTP exporter', samples.on), roundP50s: roundP50s.on };
  await g.close();
  emit({
    scenario: 'observability-tracing',
    machine: machine(),
    tasks: [off, on],
    ratios: { sdkVsNone: roundRatios(on, off).median, throughputSdkVsNone: calls.on / wall.on / (calls.off / wall.off) },
    figures: { sdkDeltaNsP50: on.p50Ns - off.p50Ns, spansExported: exported, tracedCalls: calls.on },
  });
}

async function scrape() {
  const N = Number(process.env.TG_BENCH_FORECASTS ?? 1_000_000);
  const busy = guardianOf();
  const fresh = guardianOf();
  const busyRegistry = new Registry();
  const freshRegistry = new Registry();
  busy.registerMetrics(busyRegistry, { instruments: ['BRENT', 'WTI'] });
  fresh.registerMetrics(freshRegistry, { instruments: ['BRENT', 'WTI'] });
  const wti = { ...req, instrument: 'WTI' };
  const hostile = { ...req, context: spiked };
  const t0 = performance.now();
  for (let i = 0; i < N; i++) busy.safeForecast(i % 100 === 0 ? hostile : i % 3 === 0 ? wti : req);
  const servedMs = performance.now() - t0;
  const s = busy.stats();
  if (s.calls !== N || s.byStatus.fallback < N / 100) throw new Error(`expected ${N} calls with fallbacks: ${JSON.stringify(s.byStatus)}`);
  const text = await busyRegistry.metrics();
  const series = text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
  const busyScrape = await measure(`registry.metrics() after ${N} forecasts (${series} series)`, () => busyRegistry.metrics(), { time: 3000 });
  const freshScrape = await measure('registry.metrics() of a fresh guardian', () => freshRegistry.metrics(), { time: 3000 });
  await busy.close();
  await fresh.close();
  emit({
    scenario: 'observability-scrape',
    machine: machine(),
    tasks: [busyScrape, freshScrape],
    ratios: { busyVsFresh: busyScrape.p50Ns / freshScrape.p50Ns },
    figures: { forecasts: N, seriesExposed: series, secondsToServeThem: servedMs / 1000 },
  });
}

await { overhead, tracing, scrape }[mode]();
