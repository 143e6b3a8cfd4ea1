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
import { checkForecastTrusted, ForecastReport, type ForecastCheckIO } from '../kernels/forecast-check';
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
   * forecast is finite.
   */
  inspect(q: Float32Array, batch: number, horizon: number, io: ForecastCheckIO, caution: boolean, mean: Float32Array | null): OutputVerdict {
    const t = this.thresholds;
    const k = t.plausibleSigmas * (caution ? t.cautionFactor : 1);
    // Every argument is the guardian's own (sized for the model's output): no TypeScript checks
    // here; the native side still checks them all.
    checkForecastTrusted(q, { batch, horizon, levels: this.levels, medianIndex: this.medianIndex }, io, k, t.implausible === 'clamp', mean);
    const r = io.report;
    const verdict: OutputVerdict = {
      nonFinite: r[ForecastReport.nonFiniteValues]!,
      crossedSteps: r[ForecastReport.crossedSteps]!,
      implausibleSteps: r[ForecastReport.implausibleSteps]!,
      clampedSteps: r[ForecastReport.clampedSteps]!,
      implausibleBands: r[ForecastReport.implausibleBands]!,
      needsFallback: false,
      corrections: [],
    };
    if (verdict.nonFinite > 0) return verdict;
    if (verdict.crossedSteps > 0) verdict.corrections.push(`sorted crossing quantiles at ${verdict.crossedSteps} steps`);
    const unanchored = r[ForecastReport.unanchoredRows]!;
    if (unanchored > 0) {
      // Nothing to judge the forecast against: it cannot be called plausible.
      verdict.needsFallback = true;
      verdict.corrections.push(`replaced: ${unanchored} series without a finite value to anchor the forecast`);
    }
    if (r[ForecastReport.absurdSteps]! > 0) verdict.needsFallback = true;
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
