/**
 * Every threshold behind a level, in one table (SPEC sections 3, 4 and 6). The input shield's
 * columns start from the original product's table; the rest are ours. Change a number here and
 * the whole guardian follows.
 */
import { ErrorCode, typeError } from '../errors';

export const THREAT_LEVELS = Object.freeze(['low', 'medium', 'high'] as const);
export const PIPELINE_PROTECTIONS = Object.freeze(['permissive', 'moderate', 'strict'] as const);
export const FALLBACK_STRATEGIES = Object.freeze(['strict', 'graceful'] as const);
export const PROFILE_NAMES = Object.freeze(['production', 'staging', 'development'] as const);

export type ThreatLevel = (typeof THREAT_LEVELS)[number];
export type PipelineProtection = (typeof PIPELINE_PROTECTIONS)[number];
export type FallbackStrategy = (typeof FALLBACK_STRATEGIES)[number];
export type ProfileName = (typeof PROFILE_NAMES)[number];

/**
 * A table keyed by level: a frozen object without a prototype, so that a name like
 * 'constructor' or '__proto__' finds nothing (a plain object would hand out Object.prototype's
 * members, and the checks they stand for would silently be off). Read it through `lookup`.
 */
function table<K extends string, V extends object>(rows: Record<K, V>): Readonly<Record<K, Readonly<V>>> {
  const t = Object.create(null) as Record<K, Readonly<V>>;
  for (const key of Object.keys(rows) as K[]) t[key] = Object.freeze({ ...rows[key] });
  return Object.freeze(t);
}

/** The row named `name`, an own row only; a typed error listing the names otherwise. */
export function lookup<K extends string, V>(rows: Readonly<Record<K, V>>, name: unknown, what: string): V {
  if (typeof name === 'string' && Object.hasOwn(rows, name)) return rows[name as K];
  const shown = typeof name === 'string' ? JSON.stringify(name) : typeof name;
  throw typeError(ErrorCode.InvalidArgument, `${what} must be one of ${Object.keys(rows).join(', ')}, got ${shown}`);
}

export interface InputThresholds {
  /** Block when the share of NaN in a series is above this (original: 0.95 / 0.20 / 0.10). */
  maxNaNRatio: number;
  /** Values with |x| above this count as out of bounds (original: 5e9 / 1e6 / 1e5), unless the
   * caller gives market bounds per instrument. */
  maxAbsValue: number;
  /** Block when the share of finite values is below this (original: 0.05 / 0.80 / 0.95). */
  minFiniteRatio: number;
  /** Block when the share of out-of-bounds values is above this: 0 at every level, the
   * original's "block if abs value above" (market bounds per instrument replace the default). */
  maxOutOfBoundsRatio: number;
  /** A run of NaN longer than this share of the context is a threat signal. */
  maxNaNRunRatio: number;
  /** A strictly alternating NaN/value stretch at least this long is a threat signal. */
  alternatingRun: number;
  /** A flat run covering at least this share of the context is a threat signal. */
  flatRunRatio: number;
  /** Spike signal: largest of the last 256 one-step changes / mean absolute change of the
   * others, above this. */
  spikeZ: number;
  /** Level-shift signal: |mean of the last 16 points - mean of the 240 before| / (that typical
   * change * 4), above this. */
  levelShiftZ: number;
  /** The threat score (0..1) at or above which a series is blocked. */
  blockScore: number;
  /** The threat score at or above which the output shield tightens its plausibility bound. */
  cautionScore: number;
}

export interface OutputThresholds {
  /** A median further than this many sigma*sqrt(h) outside the context's own range is implausible. */
  plausibleSigmas: number;
  /** Under caution (threat score >= cautionScore) the bound above shrinks by this factor. */
  cautionFactor: number;
  /** What to do with an implausible forecast: flag it, clamp it into the bound, or replace it
   * by a fallback. */
  implausible: 'flag' | 'clamp' | 'fallback';
  /** A mean further than this share of the 10-90% band from the median is replaced by it. */
  meanMaxDeviation: number;
}

export interface PipelineThresholds {
  /** Minimum share of finite values the pipeline accepts (original: 0.60 / 0.80 / 0.95). */
  minFiniteRatio: number;
  /** Warn when |location| or scale is above this (original: 1e10 / 1e8 / 1e6). */
  warnScale: number;
  /** Refuse a float64 context whose float32 conversion loses more than this, relative to the
   * series' own scale (the original measured it absolutely and blocked float64 Bitcoin prices). */
  maxPrecisionLoss: number;
}

export const INPUT_THRESHOLDS = table<ThreatLevel, InputThresholds>({
  low: { maxNaNRatio: 0.95, maxAbsValue: 5e9, minFiniteRatio: 0.05, maxOutOfBoundsRatio: 0, maxNaNRunRatio: 0.9, alternatingRun: 64, flatRunRatio: 0.98, spikeZ: 100, levelShiftZ: 60, blockScore: 0.95, cautionScore: 0.7 },
  medium: { maxNaNRatio: 0.2, maxAbsValue: 1e6, minFiniteRatio: 0.8, maxOutOfBoundsRatio: 0, maxNaNRunRatio: 0.15, alternatingRun: 16, flatRunRatio: 0.9, spikeZ: 40, levelShiftZ: 30, blockScore: 0.8, cautionScore: 0.4 },
  high: { maxNaNRatio: 0.1, maxAbsValue: 1e5, minFiniteRatio: 0.95, maxOutOfBoundsRatio: 0.0, maxNaNRunRatio: 0.05, alternatingRun: 8, flatRunRatio: 0.75, spikeZ: 25, levelShiftZ: 20, blockScore: 0.6, cautionScore: 0.25 },
});

export const OUTPUT_THRESHOLDS = table<ThreatLevel, OutputThresholds>({
  low: { plausibleSigmas: 20, cautionFactor: 0.75, implausible: 'flag', meanMaxDeviation: 1 },
  medium: { plausibleSigmas: 12, cautionFactor: 0.6, implausible: 'clamp', meanMaxDeviation: 0.5 },
  high: { plausibleSigmas: 8, cautionFactor: 0.5, implausible: 'fallback', meanMaxDeviation: 0.25 },
});

export const PIPELINE_THRESHOLDS = table<PipelineProtection, PipelineThresholds>({
  // Precision loss in units of the series' std: 1e-2 is a hundredth of a typical move, below
  // anything a forecast resolves; float32 prices near 60,000 with a std of 5 lose 2e-4, a
  // stablecoin near 1.0 with a std of 5e-5 loses 1.2e-3.
  permissive: { minFiniteRatio: 0.6, warnScale: 1e10, maxPrecisionLoss: 1e-1 },
  moderate: { minFiniteRatio: 0.8, warnScale: 1e8, maxPrecisionLoss: 5e-2 },
  strict: { minFiniteRatio: 0.95, warnScale: 1e6, maxPrecisionLoss: 1e-2 },
});

/** Limits of a request, whatever the level (SPEC section 6 for the original's). */
export const REQUEST_LIMITS = {
  /** Shortest context accepted (the original: 3). */
  minContext: 3,
  /** Longest context accepted; longer than the model's window keeps the most recent points. */
  maxContext: 100_000,
  /** Most series in one batch (the original: 10,000). */
  maxBatch: 10_000,
  /** A horizon beyond the model's manifest maxHorizon is refused: the original allowed 100,000. */
};

export interface Profile {
  threatDetectionLevel: ThreatLevel;
  dataPipelineProtection: PipelineProtection;
  fallbackStrategy: FallbackStrategy;
  enableAuditLogging: boolean;
}

/** The seed's three environment presets. */
export const PROFILES = table<ProfileName, Profile>({
  production: { threatDetectionLevel: 'high', dataPipelineProtection: 'strict', fallbackStrategy: 'graceful', enableAuditLogging: true },
  staging: { threatDetectionLevel: 'medium', dataPipelineProtection: 'strict', fallbackStrategy: 'graceful', enableAuditLogging: true },
  development: { threatDetectionLevel: 'low', dataPipelineProtection: 'moderate', fallbackStrategy: 'strict', enableAuditLogging: false },
});
