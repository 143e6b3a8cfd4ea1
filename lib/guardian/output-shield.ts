/**
 * Shield 4, output (vulnerability category: quantile processing). Non-finite output is a
 * failure; crossing quantiles are sorted per step (native) and counted; a median that moves
 * implausibly far from the last value, relative to recent volatility, is flagged, clamped or
 * sent to a fallback, per level; under caution (a threat score above the caution threshold) the
 * bound tightens.
 */
import { repairQuantilesInto } from '../kernels/quantiles';
import type { OutputThresholds } from './thresholds';

export interface RowAnchor {
  last: number;
  sigma: number;
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
  /** The level says an implausible forecast must be replaced by a fallback. */
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
      needsFallback: false,
      corrections: [],
    };
    if (verdict.nonFinite > 0) return verdict;
    if (verdict.crossedSteps > 0) verdict.corrections.push(`sorted crossing quantiles at ${verdict.crossedSteps} steps`);
    const t = this.thresholds;
    const k = t.plausibleSigmas * (caution ? t.cautionFactor : 1);
    for (let b = 0; b < batch; b++) {
      const { last, sigma } = anchors[b]!;
      if (!Number.isFinite(last)) continue;
      // A flat history still allows a small move: a relative floor keeps the bound positive.
      const unit = Math.max(sigma, 1e-6 * Math.abs(last), 1e-12);
      for (let h = 0; h < horizon; h++) {
        const o = (b * horizon + h) * Q;
        const bound = k * unit * Math.sqrt(h + 1);
        const median = q[o + this.medianIndex]!;
        const excess = median > last + bound ? median - (last + bound) : median < last - bound ? median - (last - bound) : 0;
        if (excess === 0) continue;
        verdict.implausibleSteps++;
        if (t.implausible === 'clamp') {
          // Shift the whole step: the levels stay ordered and the median lands on the bound.
          for (let j = 0; j < Q; j++) q[o + j] = q[o + j]! - excess;
          verdict.clampedSteps++;
        }
      }
    }
    if (verdict.implausibleSteps > 0) {
      const what = `median beyond ${k.toFixed(1)} sigma*sqrt(h) of the last value at ${verdict.implausibleSteps} steps`;
      if (t.implausible === 'fallback') verdict.needsFallback = true;
      verdict.corrections.push(t.implausible === 'clamp' ? `clamped: ${what}` : t.implausible === 'flag' ? `flagged: ${what}` : `replaced: ${what}`);
    }
    return verdict;
  }
}
