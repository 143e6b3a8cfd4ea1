/**
 * Shield 1, input (vulnerability category: NaN handling, extreme values). One native call for a
 * whole batch (lib/kernels/assess.ts) gives the counts and statistics of each series and the
 * spike and level-shift signals of its most recent points. Signals combine into a threat score
 * that decides: pass, caution (the output shield tightens) or block. A batch's scores and
 * decisions live in typed arrays (BatchAssessment): objects are made only for the series whose
 * signals fire, or when someone asks for one.
 */
import { ASSESS_STRIDE, AssessField, assessRowsTrusted, assessSeriesTrusted, assessSpansTrusted } from '../kernels/assess';
import type { FloatArray } from '../kernels/validate';
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

/** Decisions as stored in BatchAssessment.decisions. */
export const DECISIONS: readonly ThreatDecision[] = ['pass', 'caution', 'block'];
const PASS = 0;
export const CAUTION = 1;
const BLOCK = 2;

const NO_SIGNALS: readonly ThreatSignal[] = Object.freeze([]);

/** The statistics of row b of an assessment buffer, as an object. */
export function seriesStatsOf(s: Float64Array, b: number): SeriesStats {
  const o = b * ASSESS_STRIDE;
  return {
    // Stryker disable next-line ArithmeticOperator: count is at offset 0 (o - 0 is o)
    length: s[o + AssessField.count]!,
    nan: s[o + AssessField.nanCount]!,
    posInf: s[o + AssessField.posInfCount]!,
    negInf: s[o + AssessField.negInfCount]!,
    outOfBounds: s[o + AssessField.outOfBoundsCount]!,
    finite: s[o + AssessField.finiteCount]!,
    min: s[o + AssessField.min]!,
    max: s[o + AssessField.max]!,
    mean: s[o + AssessField.mean]!,
    std: s[o + AssessField.std]!,
    longestNaNRun: s[o + AssessField.longestNaNRun]!,
    alternatingRun: s[o + AssessField.alternatingRun]!,
    longestFlatRun: s[o + AssessField.longestFlatRun]!,
    spike: s[o + AssessField.spike]!,
    levelShift: s[o + AssessField.levelShift]!,
    last: s[o + AssessField.last]!,
    sigma: s[o + AssessField.sigma]!,
  };
}

/**
 * The input shield's verdict on every series of a call, sized once for the batch: the kernel's
 * statistics (ASSESS_STRIDE doubles per series, offsets in AssessField), each series' score and
 * decision, and the signals that fired (only for series where any did). Owned by the call (the
 * audit record reads it after the call).
 */
export class BatchAssessment {
  readonly batch: number;
  readonly stats: Float64Array;
  readonly scores: Float64Array;
  /** 0 pass, 1 caution, 2 block (DECISIONS). */
  readonly decisions: Uint8Array;
  /** The signals that fired, per series; undefined where none did. */
  readonly triggered: (ThreatSignal[] | undefined)[];

  constructor(batch: number) {
    this.batch = batch;
    // One allocation for the three arrays: a typed array's own buffer costs microseconds.
    const buffer = new ArrayBuffer(batch * (ASSESS_STRIDE + 1) * 8 + batch);
    this.stats = new Float64Array(buffer, 0, batch * ASSESS_STRIDE);
    this.scores = new Float64Array(buffer, batch * ASSESS_STRIDE * 8, batch);
    this.decisions = new Uint8Array(buffer, batch * (ASSESS_STRIDE + 1) * 8, batch);
    this.triggered = new Array(batch);
  }

  decision(b: number): ThreatDecision {
    return DECISIONS[this.decisions[b]!]!;
  }

  /** Field `field` (an AssessField offset) of series b's statistics. */
  stat(b: number, field: number): number {
    return this.stats[b * ASSESS_STRIDE + field]!;
  }

  signals(b: number): readonly ThreatSignal[] {
    return this.triggered[b] ?? NO_SIGNALS;
  }

  /** Blocks series b with a signal of its own (a rule outside the threat score). */
  block(b: number, signal: ThreatSignal): void {
    this.decisions[b] = BLOCK;
    this.scores[b] = 1;
    (this.triggered[b] ??= []).push(signal);
  }

  /** Series b's assessment as an object (made on request: the hot path reads the arrays). */
  assessment(b: number): ThreatAssessment {
    return { score: this.scores[b]!, decision: this.decision(b), triggered: [...this.signals(b)], stats: seriesStatsOf(this.stats, b) };
  }

  /** The series with the highest score (the first of equals); -1 for an empty batch. */
  worst(): number {
    let worst = -1;
    for (let b = 0; b < this.batch; b++) if (worst < 0 || this.scores[b]! > this.scores[worst]!) worst = b;
    return worst;
  }
}

export class InputShield {
  readonly thresholds: InputThresholds;
  readonly #softThresholds: Float64Array;
  readonly #softValues = new Float64Array(SOFT_SIGNALS.length);

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
    const a = new BatchAssessment(1);
    assessSeriesTrusted(data, a.stats, bounds?.lo ?? -t.maxAbsValue, bounds?.hi ?? t.maxAbsValue);
    this.#score(a, 0);
    return a.assessment(0);
  }

  /**
   * Assesses a batch: one native call for `rows` equal rows of `data` (spans null) or for the
   * spans ([start, length] per series) of `data`; series given one by one (an array: float64
   * rows of different lengths, say) get one call each. The pipeline shield chose (PreparedContext).
   */
  assessBatch(data: FloatArray | readonly FloatArray[], spans: Float64Array | null, rows: number, bounds?: { lo: number; hi: number }): BatchAssessment {
    const t = this.thresholds;
    const a = new BatchAssessment(rows);
    const lo = bounds?.lo ?? -t.maxAbsValue;
    const hi = bounds?.hi ?? t.maxAbsValue;
    if (Array.isArray(data)) {
      for (let b = 0; b < rows; b++) assessSeriesTrusted(data[b]!, a.stats.subarray(b * ASSESS_STRIDE, (b + 1) * ASSESS_STRIDE), lo, hi);
    } else if (spans !== null) {
      assessSpansTrusted(data as FloatArray, spans, a.stats, lo, hi);
    } else {
      assessRowsTrusted(data as FloatArray, rows, a.stats, lo, hi);
    }
    for (let b = 0; b < rows; b++) this.#score(a, b);
    return a;
  }

  /** Series b's score, decision and fired signals, from its statistics (no object unless a
   * signal fires). */
  #score(a: BatchAssessment, b: number): void {
    const t = this.thresholds;
    const s = a.stats;
    const o = b * ASSESS_STRIDE;
    // Stryker disable next-line ArithmeticOperator: count is at offset 0 (o - 0 is o)
    const n = s[o + AssessField.count]!;
    const nan = s[o + AssessField.nanCount]!;
    const inf = s[o + AssessField.posInfCount]! + s[o + AssessField.negInfCount]!;
    const outOfBounds = s[o + AssessField.outOfBoundsCount]!;
    const len = Math.max(n, 1);
    const finiteRatio = s[o + AssessField.finiteCount]! / len;
    let triggered: ThreatSignal[] | undefined;
    // Hard rules, with the original product's exact comparisons: any one blocks by itself.
    if (inf > 0) (triggered ??= []).push({ name: 'infinity', value: inf, threshold: 0, weight: 1 });
    if (nan / len > t.maxNaNRatio) (triggered ??= []).push({ name: 'nanRatio', value: nan / len, threshold: t.maxNaNRatio, weight: 1 });
    if (finiteRatio < t.minFiniteRatio) (triggered ??= []).push({ name: 'finiteRatio', value: finiteRatio, threshold: t.minFiniteRatio, weight: 1 });
    if (outOfBounds / len > t.maxOutOfBoundsRatio) {
      (triggered ??= []).push({ name: 'outOfBoundsRatio', value: outOfBounds / len, threshold: t.maxOutOfBoundsRatio, weight: 1 });
    }
    const hard = triggered !== undefined;
    // Soft signals: each min(1, value / threshold) * weight, combined as a noisy-OR, so one
    // signal at its threshold gives its weight and several weaker ones add up. Objects are made
    // only for the signals that fire (this runs on every series of every forecast).
    const v = this.#softValues;
    v[0] = 1 - finiteRatio;
    v[1] = s[o + AssessField.longestNaNRun]! / len;
    v[2] = s[o + AssessField.alternatingRun]!;
    v[3] = n >= 8 ? s[o + AssessField.longestFlatRun]! / len : 0;
    v[4] = s[o + AssessField.spike]!;
    v[5] = s[o + AssessField.levelShift]!;
    let keep = 1;
    let strongest = -1;
    let strongestShare = 0;
    for (let i = 0; i < SOFT_SIGNALS.length; i++) {
      const value = v[i]!;
      const threshold = this.#softThresholds[i]!;
      const weight = SOFT_SIGNALS[i]!.weight;
      const r = value > 0 ? Math.min(1, value / threshold) : 0;
      keep *= 1 - weight * r;
      if (value > 0 && value >= threshold) (triggered ??= []).push({ name: SOFT_SIGNALS[i]!.name, value, threshold, weight });
      if (r * weight > strongestShare) {
        strongestShare = r * weight;
        strongest = i;
      }
    }
    const score = hard ? 1 : 1 - keep;
    const decision = score >= t.blockScore ? BLOCK : score >= t.cautionScore ? CAUTION : PASS;
    // Several signals below their thresholds can add up: name the strongest so no decision
    // comes without a reason.
    if (decision !== PASS && triggered === undefined && strongest >= 0) {
      const sig = SOFT_SIGNALS[strongest]!;
      (triggered ??= []).push({ name: `${sig.name} (combined)`, value: v[strongest]!, threshold: this.#softThresholds[strongest]!, weight: sig.weight });
    }
    a.scores[b] = score;
    a.decisions[b] = decision;
    a.triggered[b] = triggered;
  }
}
