/**
 * Shield 1, input (vulnerability category: NaN handling, extreme values). One native scan per
 * series gives the counts and statistics; a short TypeScript pass over the most recent points
 * gives the spike and level-shift signals. Signals combine into a threat score that decides:
 * pass, caution (the output shield tightens) or block.
 */
import { SCAN_STRIDE, ScanField, scanInto } from '../kernels/scan';
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
  /** Largest recent one-step change over the mean absolute change (robust enough: one pass). */
  spike: number;
  /** Recent level shift in units of the typical change. */
  levelShift: number;
  /** The last finite value (NaN when none). */
  last: number;
  /** Realized volatility of recent one-step changes (1.2533 * mean |change|, the Gaussian
   * relation), the output shield's unit of plausible movement. */
  sigma: number;
}

/** Points of the tail the spike and level-shift signals look at. */
const RECENT = 256;
const SHIFT_TAIL = 16;

/** Spike and level-shift signals over the last RECENT points, in one pass. */
export function recentSignals(
  x: ArrayLike<number>,
  start: number,
  end: number,
): { spike: number; levelShift: number; last: number; sigma: number } {
  const from = Math.max(start, end - RECENT);
  let prev = NaN;
  let sumAbs = 0;
  let maxAbs = 0;
  let changes = 0;
  let tailSum = 0;
  let tailN = 0;
  let headSum = 0;
  let headN = 0;
  for (let i = from; i < end; i++) {
    const v = x[i]!;
    if (v - v !== 0) continue; // NaN or +-Inf
    if (prev === prev) {
      const d = Math.abs(v - prev);
      sumAbs += d;
      if (d > maxAbs) maxAbs = d;
      changes++;
    }
    prev = v;
    if (i >= end - SHIFT_TAIL) {
      tailSum += v;
      tailN++;
    } else {
      headSum += v;
      headN++;
    }
  }
  const last = prev;
  const sigma = changes > 0 ? (1.2533 * sumAbs) / changes : 0;
  if (changes < 4) return { spike: 0, levelShift: 0, last, sigma };
  // The typical change without the largest one, so a single spike cannot hide itself.
  const typical = (sumAbs - maxAbs) / (changes - 1);
  if (typical === 0) return { spike: maxAbs > 0 ? Infinity : 0, levelShift: 0, last, sigma };
  const spike = maxAbs / typical;
  const levelShift = tailN > 0 && headN > 0 ? Math.abs(tailSum / tailN - headSum / headN) / (typical * Math.sqrt(SHIFT_TAIL)) : 0;
  return { spike, levelShift, last, sigma };
}

export class InputShield {
  readonly thresholds: InputThresholds;
  #scan = new Float64Array(SCAN_STRIDE);

  constructor(thresholds: InputThresholds) {
    this.thresholds = thresholds;
  }

  /** Assesses data[start, end): one native scan plus one pass over the most recent points. */
  assess(data: Float32Array | Float64Array, start: number, end: number, bounds?: { lo: number; hi: number }): ThreatAssessment {
    const t = this.thresholds;
    const view = start === 0 && end === data.length ? data : data.subarray(start, end);
    const lo = bounds?.lo ?? -t.maxAbsValue;
    const hi = bounds?.hi ?? t.maxAbsValue;
    scanInto(view, this.#scan, 1, lo, hi);
    const s = this.#scan;
    const n = s[ScanField.count]!;
    const recent = recentSignals(data, start, end);
    const { spike, levelShift, sigma } = recent;
    let last = recent.last;
    // A NaN tail longer than the recent window: the last finite value lies further back.
    if (last !== last && s[ScanField.finiteCount]! > 0) {
      for (let i = end - 1; i >= start; i--) {
        const v = data[i]!;
        if (v - v === 0) {
          last = v;
          break;
        }
      }
    }
    const stats: SeriesStats = {
      length: n,
      nan: s[ScanField.nanCount]!,
      posInf: s[ScanField.posInfCount]!,
      negInf: s[ScanField.negInfCount]!,
      outOfBounds: s[ScanField.outOfBoundsCount]!,
      finite: s[ScanField.finiteCount]!,
      min: s[ScanField.min]!,
      max: s[ScanField.max]!,
      mean: s[ScanField.mean]!,
      std: s[ScanField.std]!,
      longestNaNRun: s[ScanField.longestNaNRun]!,
      alternatingRun: s[ScanField.alternatingRun]!,
      longestFlatRun: s[ScanField.longestFlatRun]!,
      spike,
      levelShift,
      last,
      sigma,
    };
    const len = Math.max(n, 1);
    const finiteRatio = stats.finite / len;
    // Hard rules, with the original product's exact comparisons: any one blocks by itself.
    const hard: ThreatSignal[] = [];
    if (stats.posInf + stats.negInf > 0) hard.push({ name: 'infinity', value: stats.posInf + stats.negInf, threshold: 0, weight: 1 });
    if (stats.nan / len > t.maxNaNRatio) hard.push({ name: 'nanRatio', value: stats.nan / len, threshold: t.maxNaNRatio, weight: 1 });
    if (finiteRatio < t.minFiniteRatio) hard.push({ name: 'finiteRatio', value: finiteRatio, threshold: t.minFiniteRatio, weight: 1 });
    if (stats.outOfBounds / len > t.maxOutOfBoundsRatio) {
      hard.push({ name: 'outOfBoundsRatio', value: stats.outOfBounds / len, threshold: t.maxOutOfBoundsRatio, weight: 1 });
    }
    // Soft signals: each min(1, value / threshold) * weight, combined as a noisy-OR, so one
    // signal at its threshold gives its weight and several weaker ones add up.
    const soft: ThreatSignal[] = [
      { name: 'missingShare', value: 1 - finiteRatio, threshold: Math.max(1 - t.minFiniteRatio, 1e-9), weight: 0.5 },
      { name: 'nanRunRatio', value: stats.longestNaNRun / len, threshold: t.maxNaNRunRatio, weight: 0.6 },
      { name: 'alternatingNaN', value: stats.alternatingRun, threshold: t.alternatingRun, weight: 0.7 },
      { name: 'flatRunRatio', value: n >= 8 ? stats.longestFlatRun / len : 0, threshold: t.flatRunRatio, weight: 0.5 },
      { name: 'spike', value: spike, threshold: t.spikeZ, weight: 0.7 },
      { name: 'levelShift', value: levelShift, threshold: t.levelShiftZ, weight: 0.5 },
    ];
    let keep = 1;
    const triggered: ThreatSignal[] = [...hard];
    let strongest: ThreatSignal | null = null;
    let strongestShare = 0;
    for (const sig of soft) {
      const r = sig.value > 0 ? Math.min(1, sig.value / sig.threshold) : 0;
      keep *= 1 - sig.weight * r;
      if (sig.value > 0 && sig.value >= sig.threshold) triggered.push(sig);
      if (r * sig.weight > strongestShare) {
        strongestShare = r * sig.weight;
        strongest = sig;
      }
    }
    const score = hard.length > 0 ? 1 : 1 - keep;
    const decision: ThreatDecision = score >= t.blockScore ? 'block' : score >= t.cautionScore ? 'caution' : 'pass';
    // Several signals below their thresholds can add up: name the strongest so no decision
    // comes without a reason.
    if (decision !== 'pass' && triggered.length === 0 && strongest) triggered.push({ ...strongest, name: `${strongest.name} (combined)` });
    return { score, decision, triggered, stats };
  }
}
