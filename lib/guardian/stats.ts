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
  categories = Object.fromEntries(CATEGORIES.map((c) => [c, { checks: 0, actions: 0 }])) as Record<Category, { checks: number; actions: number }>;

  bump(map: Record<string, number>, key: string, by = 1): void {
    map[key] = (map[key] ?? 0) + by;
  }

  check(category: Category, acted = false): void {
    const c = this.categories[category];
    c.checks++;
    if (acted) c.actions++;
  }

  snapshot(): StatsSnapshot {
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
      categories: Object.fromEntries(CATEGORIES.map((c) => [c, { ...this.categories[c] }])) as StatsSnapshot['categories'],
    };
  }
}
