/**
 * Shield 4, output (vulnerability category: quantile processing), one native pass over the
 * forecast (lib/kernels/forecast-check.ts) and the policy here. Non-finite output is a
 * failure; crossing quantiles are sorted per step (native) and counted; a median that moves
 * implausibly far from the last value, relative to recent volatility, is flagged, clamped or
 * sent to a fallback, per level; under caution (a threat score above the caution threshold) the
 * bound tightens. Plausible means: inside the context's own range widened by k sigma sqrt(h)
 * (a seasonal swing back to yesterday's level is plausible, a move to 1e30 is not), with
 * 10-90% bands no wider than four times that span.
 */
import { checkForecastRowsTrusted, checkForecastTrusted, ForecastReport, ForecastRow, type ForecastCheckIO, type ForecastRowsIO } from '../kernels/forecast-check';
import type { OutputThresholds } from './thresholds';

export interface OutputVerdict {
  /** Non-finite values: the forecast cannot be repaired (a failure for the breaker). */
  nonFinite: number;
  /** Steps whose levels crossed and were sorted. */
  crossedSteps: number;
  /** Steps whose median was outside the plausibility bound. */
  implausibleSteps: number;
  /** Steps moved into the bound (when the level says clamp). */
  clampedSteps: number;
  /** Steps whose 10-90% band is wider than twice the bound: bands no clamp can repair. */
  implausibleBands: number;
  /** The forecast must be replaced by a fallback: the level says so for an implausible median,
   * or the bands are implausible, or the median is absurdly far (100 bounds) at any level. */
  needsFallback: boolean;
  corrections: string[];
}

export class OutputShield {
  readonly thresholds: OutputThresholds;
  readonly levels: number;
  readonly medianIndex: number;
  constructor(thresholds: OutputThresholds, levels: number, medianIndex: number) {
    this.thresholds = thresholds;
    this.levels = levels;
    this.medianIndex = medianIndex;
  }

  /**
   * Inspects and repairs q [batch, horizon, levels] in place, one native pass; `io.anchors` holds
   * ANCHOR_STRIDE doubles per series (last, sigma, min, max); `mean` gets the medians when the
   * forecast is finite. The verdict is the whole batch's.
   */
  inspect(q: Float32Array, batch: number, horizon: number, io: ForecastCheckIO, caution: boolean, mean: Float32Array | null): OutputVerdict {
    const t = this.thresholds;
    const k = this.k(caution);
    // Every argument is the guardian's own (sized for the model's output): no TypeScript checks
    // here; the native side still checks them all.
    checkForecastTrusted(q, { batch, horizon, levels: this.levels, medianIndex: this.medianIndex }, io, k, t.implausible === 'clamp', mean);
    return this.verdict(io.report, 0, k);
  }

  /**
   * The same pass series by series, in one native call: each series of q [batch, horizon,
   * levels] against the anchors and k the caller wrote into `io` (`k(caution)` per series); each
   * gets its own report there. Read each verdict with `verdictOf`.
   */
  inspectRows(q: Float32Array, batch: number, horizon: number, io: ForecastRowsIO, mean: Float32Array | null): void {
    checkForecastRowsTrusted(q, { batch, horizon, levels: this.levels, medianIndex: this.medianIndex }, io, this.thresholds.implausible === 'clamp', mean);
  }

  /** Series b's verdict after inspectRows: CLEAN (shared, frozen) when nothing was found. */
  verdictOf(io: ForecastRowsIO, b: number): OutputVerdict {
    const o = io.row(b);
    const p = io.io;
    const r = o + ForecastRow.report;
    // Non-finite, crossed, implausible, bands, unanchored: all zero is a clean forecast (an
    // absurd step is an implausible one, clamped steps too).
    if (p[r + 1] === 0 && p[r] === 0 && p[r + 3] === 0 && p[r + 5] === 0 && p[r + 7] === 0) return CLEAN;
    return this.verdict(p, r, p[o + ForecastRow.k]!);
  }

  /** The bound's k: plausibleSigmas, tightened under caution. */
  k(caution: boolean): number {
    const t = this.thresholds;
    return t.plausibleSigmas * (caution ? t.cautionFactor : 1);
  }

  /** The policy over one report (8 counts at `at`, offsets in ForecastReport). */
  verdict(report: Float64Array, at: number, k: number): OutputVerdict {
    const t = this.thresholds;
    const r = (field: number): number => report[at + field]!;
    const verdict: OutputVerdict = {
      nonFinite: r(ForecastReport.nonFiniteValues),
      crossedSteps: r(ForecastReport.crossedSteps),
      implausibleSteps: r(ForecastReport.implausibleSteps),
      clampedSteps: r(ForecastReport.clampedSteps),
      implausibleBands: r(ForecastReport.implausibleBands),
      needsFallback: false,
      corrections: [],
    };
    if (verdict.nonFinite > 0) return verdict;
    if (verdict.crossedSteps > 0) verdict.corrections.push(`sorted crossing quantiles at ${verdict.crossedSteps} steps`);
    const unanchored = r(ForecastReport.unanchoredRows);
    if (unanchored > 0) {
      // Nothing to judge the forecast against: it cannot be called plausible.
      verdict.needsFallback = true;
      verdict.corrections.push(`replaced: ${unanchored} series without a finite value to anchor the forecast`);
    }
    if (r(ForecastReport.absurdSteps) > 0) verdict.needsFallback = true;
    if (verdict.implausibleBands > 0) {
      verdict.needsFallback = true;
      verdict.corrections.push(`replaced: 10-90% band wider than four times the plausible span at ${verdict.implausibleBands} steps`);
    }
    if (verdict.implausibleSteps > 0) {
      const what = `median beyond the context's range by more than ${k.toFixed(1)} sigma*sqrt(h) at ${verdict.implausibleSteps} steps`;
      if (t.implausible === 'fallback') verdict.needsFallback = true;
      const how = verdict.needsFallback ? 'replaced' : t.implausible === 'clamp' ? 'clamped' : 'flagged';
      verdict.corrections.push(`${how}: ${what}`);
    }
    return verdict;
  }
}

/** The verdict on a forecast with nothing to report (shared: never changed). */
export const CLEAN: OutputVerdict = Object.freeze({
  nonFinite: 0,
  crossedSteps: 0,
  implausibleSteps: 0,
  clampedSteps: 0,
  implausibleBands: 0,
  needsFallback: false,
  corrections: Object.freeze([]) as unknown as string[],
});
