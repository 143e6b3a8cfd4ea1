/**
 * Protection statistics (SPEC section 4): what the shields saw and did, queryable at any time.
 * Plain counters on the hot path; the metrics exporter reads `snapshot()`.
 */
import { LatencyHistogram, type LatencySummary } from './latency';

export type Category = 'nanHandling' | 'quantileProcessing' | 'contextLength' | 'tensorOperations' | 'devicePrecision' | 'modelLoading';

export const CATEGORIES: readonly Category[] = ['nanHandling', 'quantileProcessing', 'contextLength', 'tensorOperations', 'devicePrecision', 'modelLoading'];

export interface StatsSnapshot {
  calls: number;
  byStatus: Record<'ok' | 'corrected' | 'fallback' | 'blocked', number>;
  /** Calls that threw (strict strategy or invalid arguments). */
  errors: Record<string, number>;
  blockRate: number;
  fallbackRate: number;
  threatsBySignal: Record<string, number>;
  corrections: Record<string, number>;
  fallbacks: Record<string, number>;
  breakerTransitions: Record<string, number>;
  /** Async calls with a timeout: `expired` settled by their deadline (fallback or
   * TG_RUN_TIMEOUT); `lateDiscarded` model results that reached the guardian after the deadline
   * (the addon had answered in time, this thread was busy); `lateModelResults` outcomes of timed
   * runs (a result, or ONNX Runtime's report of a terminated run) that the addon discarded
   * because the deadline had settled the call first, since this guardian loaded its model (the
   * session is shared process-wide: another guardian on the same model counts here too; null
   * once closed). */
  deadlines: { expired: number; lateDiscarded: number; lateModelResults: number | null };
  /** Per vulnerability category: checks run and actions taken. */
  categories: Record<Category, { checks: number; actions: number }>;
  /** Shield activations (a result's `shields`), by shield, then action. */
  shieldActions: Record<string, Record<string, number>>;
  /** Latency of whole calls and of model runs, in µs: recorded once metrics are registered
   * (`registerMetrics`), null before. */
  latency: { forecast: LatencySummary; model: LatencySummary } | null;
  /** Calls by status for the instruments the operator listed (`registerMetrics(r, { instruments })`),
   * null when none was listed. */
  instruments: Record<string, Record<'ok' | 'corrected' | 'fallback' | 'blocked', number>> | null;
}

export type StatusCounts = { ok: number; corrected: number; fallback: number; blocked: number };

export class ProtectionStats {
  calls = 0;
  byStatus = { ok: 0, corrected: 0, fallback: 0, blocked: 0 };
  errors: Record<string, number> = {};
  threatsBySignal: Record<string, number> = {};
  corrections: Record<string, number> = {};
  fallbacks: Record<string, number> = {};
  breakerTransitions: Record<string, number> = {};
  deadlines = { expired: 0, lateDiscarded: 0 };
  categories = Object.fromEntries(CATEGORIES.map((c) => [c, { checks: 0, actions: 0 }])) as Record<Category, { checks: number; actions: number }>;
  readonly shieldActions: Record<string, Record<string, number>> = Object.create(null);
  /** Set by enableLatency (metrics registered): the hot path pays nothing before. */
  latency: { forecast: LatencyHistogram; model: LatencyHistogram } | null = null;
  /** Listed instruments only (a bounded label set); no prototype: '__proto__' is a name like any other. */
  instruments: Map<string, StatusCounts> | null = null;

  enableLatency(): void {
    this.latency ??= { forecast: new LatencyHistogram(), model: new LatencyHistogram() };
  }

  trackInstruments(names: readonly string[]): void {
    if (names.length === 0) return;
    this.instruments ??= new Map();
    for (const n of names) if (!this.instruments.has(n)) this.instruments.set(n, { ok: 0, corrected: 0, fallback: 0, blocked: 0 });
  }

  shieldAction(shield: string, action: string): void {
    const byAction = (this.shieldActions[shield] ??= Object.create(null) as Record<string, number>);
    byAction[action] = (byAction[action] ?? 0) + 1;
  }

  bump(map: Record<string, number>, key: string, by = 1): void {
    map[key] = (map[key] ?? 0) + by;
  }

  check(category: Category, acted = false): void {
    const c = this.categories[category];
    c.checks++;
    if (acted) c.actions++;
  }

  snapshot(native: { lateModelResults: number | null } = { lateModelResults: null }): StatsSnapshot {
    const n = Math.max(this.calls, 1);
    return {
      calls: this.calls,
      byStatus: { ...this.byStatus },
      errors: { ...this.errors },
      blockRate: this.byStatus.blocked / n,
      fallbackRate: this.byStatus.fallback / n,
      threatsBySignal: { ...this.threatsBySignal },
      corrections: { ...this.corrections },
      fallbacks: { ...this.fallbacks },
      breakerTransitions: { ...this.breakerTransitions },
      deadlines: { ...this.deadlines, lateModelResults: native.lateModelResults },
      categories: Object.fromEntries(CATEGORIES.map((c) => [c, { ...this.categories[c] }])) as StatsSnapshot['categories'],
      shieldActions: Object.fromEntries(Object.entries(this.shieldActions).map(([s, a]) => [s, { ...a }])),
      latency: this.latency === null ? null : { forecast: this.latency.forecast.summary(), model: this.latency.model.summary() },
      instruments: this.instruments === null ? null : Object.fromEntries([...this.instruments].map(([n, c]) => [n, { ...c }])),
    };
  }
}
