/**
 * Shield 1, input (vulnerability category: NaN handling, extreme values). One native call per
 * series (lib/kernels/assess.ts) gives the counts and statistics of the whole context and the
 * spike and level-shift signals of its most recent points. Signals combine into a threat score
 * that decides: pass, caution (the output shield tightens) or block.
 */
import { ASSESS_STRIDE, AssessField, assessSeriesTrusted } from '../kernels/assess';
import type { InputThresholds } from './thresholds';

export type ThreatDecision = 'pass' | 'caution' | 'block';

export interface ThreatSignal {
  name: string;
  value: number;
  threshold: number;
  /** How much of the score this signal alone can produce (1: it blocks on its own). */
  weight: number;
}

export interface ThreatAssessment {
  /** 0..1: 1 when a hard rule fires, else the noisy-OR of the soft signals. */
  score: number;
  decision: ThreatDecision;
  /** Signals at or above their threshold. */
  triggered: ThreatSignal[];
  stats: SeriesStats;
}

export interface SeriesStats {
  length: number;
  nan: number;
  posInf: number;
  negInf: number;
  outOfBounds: number;
  finite: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  longestNaNRun: number;
  alternatingRun: number;
  longestFlatRun: number;
  /** Largest recent one-step change over the mean absolute change of the others (one pass; a
   * single spike cannot inflate its own yardstick). */
  spike: number;
  /** Recent level shift in units of the typical change. */
  levelShift: number;
  /** The last finite value (NaN when none). */
  last: number;
  /** Realized volatility of recent one-step changes (1.2533 * mean |change|, the Gaussian
   * relation), the output shield's unit of plausible movement. */
  sigma: number;
}

/** The soft signals: name, weight (the score one signal at its threshold gives), threshold. */
const SOFT_SIGNALS: readonly { name: string; weight: number; threshold: (t: InputThresholds) => number }[] = [
  { name: 'missingShare', weight: 0.5, threshold: (t) => Math.max(1 - t.minFiniteRatio, 1e-9) },
  { name: 'nanRunRatio', weight: 0.6, threshold: (t) => t.maxNaNRunRatio },
  { name: 'alternatingNaN', weight: 0.7, threshold: (t) => t.alternatingRun },
  { name: 'flatRunRatio', weight: 0.5, threshold: (t) => t.flatRunRatio },
  { name: 'spike', weight: 0.7, threshold: (t) => t.spikeZ },
  { name: 'levelShift', weight: 0.5, threshold: (t) => t.levelShiftZ },
];

export class InputShield {
  readonly thresholds: InputThresholds;
  readonly #softThresholds: Float64Array;
  readonly #softValues = new Float64Array(SOFT_SIGNALS.length);
  readonly #out = new Float64Array(ASSESS_STRIDE);

  constructor(thresholds: InputThresholds) {
    this.thresholds = thresholds;
    this.#softThresholds = Float64Array.from(SOFT_SIGNALS, (s) => s.threshold(thresholds));
  }

  /**
   * Assesses one series (one native call); `bounds` replace the level's +-maxAbsValue. `data` is
   * a row the pipeline shield prepared (a Float32Array or Float64Array, attached); bounds were
   * checked at construction.
   */
  assess(data: Float32Array | Float64Array, bounds?: { lo: number; hi: number }): ThreatAssessment {
    const t = this.thresholds;
    const s = this.#out;
    assessSeriesTrusted(data, s, bounds?.lo ?? -t.maxAbsValue, bounds?.hi ?? t.maxAbsValue);
    const n = s[AssessField.count]!;
    const stats: SeriesStats = {
      length: n,
      nan: s[AssessField.nanCount]!,
      posInf: s[AssessField.posInfCount]!,
      negInf: s[AssessField.negInfCount]!,
      outOfBounds: s[AssessField.outOfBoundsCount]!,
      finite: s[AssessField.finiteCount]!,
      min: s[AssessField.min]!,
      max: s[AssessField.max]!,
      mean: s[AssessField.mean]!,
      std: s[AssessField.std]!,
      longestNaNRun: s[AssessField.longestNaNRun]!,
      alternatingRun: s[AssessField.alternatingRun]!,
      longestFlatRun: s[AssessField.longestFlatRun]!,
      spike: s[AssessField.spike]!,
      levelShift: s[AssessField.levelShift]!,
      last: s[AssessField.last]!,
      sigma: s[AssessField.sigma]!,
    };
    const len = Math.max(n, 1);
    const finiteRatio = stats.finite / len;
    const triggered: ThreatSignal[] = [];
    // Hard rules, with the original product's exact comparisons: any one blocks by itself.
    if (stats.posInf + stats.negInf > 0) triggered.push({ name: 'infinity', value: stats.posInf + stats.negInf, threshold: 0, weight: 1 });
    if (stats.nan / len > t.maxNaNRatio) triggered.push({ name: 'nanRatio', value: stats.nan / len, threshold: t.maxNaNRatio, weight: 1 });
    if (finiteRatio < t.minFiniteRatio) triggered.push({ name: 'finiteRatio', value: finiteRatio, threshold: t.minFiniteRatio, weight: 1 });
    if (stats.outOfBounds / len > t.maxOutOfBoundsRatio) {
      triggered.push({ name: 'outOfBoundsRatio', value: stats.outOfBounds / len, threshold: t.maxOutOfBoundsRatio, weight: 1 });
    }
    const hard = triggered.length > 0;
    // Soft signals: each min(1, value / threshold) * weight, combined as a noisy-OR, so one
    // signal at its threshold gives its weight and several weaker ones add up. Objects are made
    // only for the signals that fire (this runs on every forecast).
    const v = this.#softValues;
    v[0] = 1 - finiteRatio;
    v[1] = stats.longestNaNRun / len;
    v[2] = stats.alternatingRun;
    v[3] = n >= 8 ? stats.longestFlatRun / len : 0;
    v[4] = stats.spike;
    v[5] = stats.levelShift;
    let keep = 1;
    let strongest = -1;
    let strongestShare = 0;
    for (let i = 0; i < SOFT_SIGNALS.length; i++) {
      const value = v[i]!;
      const threshold = this.#softThresholds[i]!;
      const weight = SOFT_SIGNALS[i]!.weight;
      const r = value > 0 ? Math.min(1, value / threshold) : 0;
      keep *= 1 - weight * r;
      if (value > 0 && value >= threshold) triggered.push({ name: SOFT_SIGNALS[i]!.name, value, threshold, weight });
      if (r * weight > strongestShare) {
        strongestShare = r * weight;
        strongest = i;
      }
    }
    const score = hard ? 1 : 1 - keep;
    const decision: ThreatDecision = score >= t.blockScore ? 'block' : score >= t.cautionScore ? 'caution' : 'pass';
    // Several signals below their thresholds can add up: name the strongest so no decision
    // comes without a reason.
    if (decision !== 'pass' && triggered.length === 0 && strongest >= 0) {
      const sig = SOFT_SIGNALS[strongest]!;
      triggered.push({ name: `${sig.name} (combined)`, value: v[strongest]!, threshold: this.#softThresholds[strongest]!, weight: sig.weight });
    }
    return { score, decision, triggered, stats };
  }
}
