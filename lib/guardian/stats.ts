/**
 * Protection statistics (SPEC section 4): what the shields saw and did, queryable at any time.
 * Plain counters on the hot path; the metrics exporter reads `snapshot()`.
 */
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
}

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
    };
  }
}
