/**
 * Shield 4, output (vulnerability category: quantile processing). Non-finite output is a
 * failure; crossing quantiles are sorted per step (native) and counted; a median that moves
 * implausibly far from the last value, relative to recent volatility, is flagged, clamped or
 * sent to a fallback, per level; under caution (a threat score above the caution threshold) the
 * bound tightens. Plausible means: inside the context's own range widened by k sigma sqrt(h)
 * (a seasonal swing back to yesterday's level is plausible, a move to 1e30 is not), with
 * 10-90% bands no wider than four times that span.
 */
import { repairQuantilesInto } from '../kernels/quantiles';
import type { OutputThresholds } from './thresholds';

export interface RowAnchor {
  last: number;
  sigma: number;
  /** Finite range of the context the model saw. */
  min: number;
  max: number;
}

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
  #report = new Float64Array(3);

  constructor(thresholds: OutputThresholds, levels: number, medianIndex: number) {
    this.thresholds = thresholds;
    this.levels = levels;
    this.medianIndex = medianIndex;
  }

  /** Inspects and repairs q [batch, horizon, levels] in place. */
  inspect(q: Float32Array, batch: number, horizon: number, anchors: RowAnchor[], caution: boolean): OutputVerdict {
    const Q = this.levels;
    repairQuantilesInto(q, batch * horizon, Q, this.#report);
    const verdict: OutputVerdict = {
      nonFinite: this.#report[1]!,
      crossedSteps: this.#report[0]!,
      implausibleSteps: 0,
      clampedSteps: 0,
      implausibleBands: 0,
      needsFallback: false,
      corrections: [],
    };
    if (verdict.nonFinite > 0) return verdict;
    if (verdict.crossedSteps > 0) verdict.corrections.push(`sorted crossing quantiles at ${verdict.crossedSteps} steps`);
    const t = this.thresholds;
    const k = t.plausibleSigmas * (caution ? t.cautionFactor : 1);
    for (let b = 0; b < batch; b++) {
      const { last, sigma, min, max } = anchors[b]!;
      if (!Number.isFinite(last)) {
        // Nothing to judge the forecast against: it cannot be called plausible.
        verdict.needsFallback = true;
        verdict.corrections.push(`replaced: series ${b} has no finite value to anchor the forecast`);
        continue;
      }
      // A flat history still allows a small move: a relative floor keeps the bound positive.
      const unit = Math.max(sigma, 1e-6 * Math.abs(last), 1e-12);
      const lo = Number.isFinite(min) ? Math.min(min, last) : last;
      const hi = Number.isFinite(max) ? Math.max(max, last) : last;
      for (let h = 0; h < horizon; h++) {
        const o = (b * horizon + h) * Q;
        const bound = k * unit * Math.sqrt(h + 1);
        const median = q[o + this.medianIndex]!;
        // The bands too: a sane median with +-1e29 bands is no forecast (nothing can clamp it).
        if (q[o + Q - 1]! - q[o]! > 4 * (hi - lo + 2 * bound)) verdict.implausibleBands++;
        const excess = median > hi + bound ? median - (hi + bound) : median < lo - bound ? median - (lo - bound) : 0;
        if (excess === 0) continue;
        if (Math.abs(excess) > 100 * (hi - lo + bound)) verdict.needsFallback = true;
        verdict.implausibleSteps++;
        if (t.implausible === 'clamp') {
          // Shift the whole step: the levels stay ordered and the median lands on the bound.
          for (let j = 0; j < Q; j++) q[o + j] = q[o + j]! - excess;
          verdict.clampedSteps++;
        }
      }
    }
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
