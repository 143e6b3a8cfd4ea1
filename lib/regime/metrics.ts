/**
 * The regime engine's statistics as Prometheus metrics (prom-client), read at scrape time from
 * `engine.stats()`: symbols held, cache hits and misses, evictions, ticks and bars accepted,
 * rejected ticks by reason, neutral snapshots, errors caught, compute time. No symbol is a label.
 */
import { Counter, Gauge, type Registry } from 'prom-client';

import { METRIC_PREFIX } from '../observability/metrics';
import type { RegimeStats } from './types';

export function registerRegimeMetrics(registry: Registry, engine: { stats(): RegimeStats }): void {
  const registers = [registry];
  const counter = (name: string, help: string, value: (s: RegimeStats) => number) =>
    new Counter({
      name: `${METRIC_PREFIX}regime_${name}`,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(value(engine.stats()));
      },
    });
  counter('cache_hits_total', 'Regime snapshots served from the cache.', (s) => s.hits);
  counter('cache_misses_total', 'Regime snapshots computed afresh.', (s) => s.misses);
  counter('evictions_total', 'Symbols evicted (least recently used) beyond maxSymbols.', (s) => s.evictions);
  counter('ticks_total', 'Ticks accepted.', (s) => s.ticks);
  counter('bars_total', 'Bars closed (from ticks or given whole).', (s) => s.bars);
  counter('neutral_total', 'Snapshots that were neutral (too few bars, unknown symbol, an error).', (s) => s.neutral);
  counter('errors_total', 'Errors caught inside the engine (each a neutral snapshot or a rejection).', (s) => s.errors);
  counter('compute_seconds_total', 'Time spent computing fresh snapshots.', (s) => s.computeUs / 1e6);
  new Counter({
    name: `${METRIC_PREFIX}regime_rejected_ticks_total`,
    help: 'Ticks and bars rejected, by reason.',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(engine.stats().rejected)) this.inc({ reason }, n);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}regime_symbols`,
    help: 'Symbols the engine holds bars for.',
    registers,
    collect() {
      this.set(engine.stats().symbols);
    },
  });
}
