/**
 * The forecast-quality gate's decision (seed 003's production gate, about forecasts): enough
 * evidence, a real lift over the naive forecast, honest bands, and no integrity violation.
 * Every threshold, every measured value and every reason goes into the result; PASS only when
 * every check passes.
 */
export interface GateThresholds {
  /** Scored forecast origins each instrument needs (seed 003: 30 closed trades). */
  minOrigins: number;
  /** Distinct trading days (UTC days of the scored origins; seed 003: 21). */
  minDays: number;
  /** Weighted quantile loss, model / naive (geometric mean over instruments). */
  maxWqlRatio: number;
  /** MASE of the median, model / naive (geometric mean over instruments). */
  maxMaseRatio: number;
  /** Coverage of the outermost band (10-90% for TiRex's levels), mean over instruments. */
  minCoverage: number;
  maxCoverage: number;
  /** Integrity violations tolerated. */
  maxIntegrityViolations: number;
}

export const DEFAULT_GATE_THRESHOLDS: Readonly<GateThresholds> = Object.freeze({
  minOrigins: 30,
  minDays: 21,
  maxWqlRatio: 0.95,
  maxMaseRatio: 1.0,
  minCoverage: 0.72,
  maxCoverage: 0.88,
  maxIntegrityViolations: 0,
});

export type EvidenceKind = 'live' | 'shadow' | 'backtest';

export interface InstrumentEvidence {
  instrument: string;
  forecasts: number;
  /** Distinct origins scored. */
  origins: number;
  points: number;
  wql: number;
  naiveWql: number;
  mase: number;
  naiveMase: number;
  wqlRatio: number;
  maseRatio: number;
  coverage: number;
  naiveCoverage: number;
}

export interface IntegrityViolation {
  kind: string;
  count: number;
  detail: string;
}

export interface GateEvidence {
  kind: EvidenceKind;
  /** What a reader must know about where the figures come from. */
  description: string;
  instruments: InstrumentEvidence[];
  /** Distinct trading days; for a backtest without dates, the fewest origins of any series. */
  days: number;
  dayBasis: 'utc-days-of-origins' | 'origins-per-series';
  integrity: { checked: boolean; violations: IntegrityViolation[]; facts: Record<string, unknown> };
}

export interface GateCheck {
  name: string;
  pass: boolean;
  measured: number | string | null;
  threshold: string;
}

export interface GateDecision {
  status: 'PASS' | 'FAIL';
  checks: GateCheck[];
  reasons: string[];
  /** Instruments with fewer origins than required, left out of the lift (excludeThin only). */
  excluded: string[];
  aggregate: { instruments: number; wqlRatio: number; maseRatio: number; coverage: number; naiveCoverage: number };
}

/** NaN for no values (0 / 0) or a NaN among them; Infinity (a naive loss of 0) stays Infinity.
 * Both fail every check: no aggregate is made up. */
function geometricMean(v: number[]): number {
  return Math.exp(v.reduce((s, x) => s + Math.log(x), 0) / v.length);
}

const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(4) : String(v));

/**
 * Decides on `e`. `excludeThin`: instruments short of minOrigins are named and left out of the
 * lift instead of failing the gate (at least one instrument must remain).
 */
export function decideGate(e: GateEvidence, t: GateThresholds, excludeThin = false): GateDecision {
  const checks: GateCheck[] = [];
  const reasons: string[] = [];
  const check = (name: string, pass: boolean, measured: number | string | null, threshold: string, reason: string) => {
    checks.push({ name, pass, measured, threshold });
    if (!pass) reasons.push(reason);
  };
  const thin = e.instruments.filter((i) => i.origins < t.minOrigins);
  const used = excludeThin ? e.instruments.filter((i) => i.origins >= t.minOrigins) : e.instruments;
  check('instruments', used.length > 0, used.length, '>= 1', e.instruments.length === 0 ? 'no scored forecast of this model in the evidence' : `no instrument has ${t.minOrigins} scored origins`);
  const fewest = used.reduce((m, i) => Math.min(m, i.origins), Infinity);
  check(
    'origins-per-instrument',
    excludeThin ? used.length > 0 : thin.length === 0 && e.instruments.length > 0,
    Number.isFinite(fewest) ? fewest : 0,
    `>= ${t.minOrigins} per instrument`,
    `${thin.length} instrument(s) have fewer than ${t.minOrigins} scored origins: ${thin.slice(0, 8).map((i) => `${i.instrument} (${i.origins})`).join(', ')}${thin.length > 8 ? ', ...' : ''}`,
  );
  // Without dates each rolling origin is a period: the fewest of the instruments judged.
  const days = e.dayBasis === 'origins-per-series' ? used.reduce((m, i) => Math.min(m, i.origins), used.length > 0 ? Infinity : 0) : e.days;
  check('trading-days', days >= t.minDays, days, `>= ${t.minDays}`, `${days} distinct trading days of scored origins (${e.dayBasis}), fewer than ${t.minDays}`);
  const wqlRatio = geometricMean(used.map((i) => i.wqlRatio));
  const maseRatio = geometricMean(used.map((i) => i.maseRatio));
  const coverage = mean(used.map((i) => i.coverage));
  const naiveCoverage = mean(used.map((i) => i.naiveCoverage));
  check('wql-ratio', wqlRatio <= t.maxWqlRatio, wqlRatio, `<= ${t.maxWqlRatio}`, `weighted quantile loss is ${fmt(wqlRatio)} of the naive forecast's, above ${t.maxWqlRatio}: no lift`);
  check('mase-ratio', maseRatio <= t.maxMaseRatio, maseRatio, `<= ${t.maxMaseRatio}`, `the median's MASE is ${fmt(maseRatio)} of the naive forecast's, above ${t.maxMaseRatio}: worse than no change`);
  check(
    'coverage',
    coverage >= t.minCoverage && coverage <= t.maxCoverage,
    coverage,
    `${t.minCoverage} to ${t.maxCoverage}`,
    `the outer band covers ${fmt(coverage)} of outcomes, outside ${t.minCoverage} to ${t.maxCoverage}: ${coverage > t.maxCoverage ? 'too wide' : 'too narrow'} (miscalibrated)`,
  );
  const violations = e.integrity.violations.reduce((s, v) => s + v.count, 0);
  check(
    'integrity',
    e.integrity.checked ? violations <= t.maxIntegrityViolations : e.kind === 'backtest',
    e.integrity.checked ? violations : 'not applicable',
    `<= ${t.maxIntegrityViolations} violations`,
    e.integrity.checked ? `${violations} integrity violation(s): ${e.integrity.violations.map((v) => `${v.kind} x${v.count} (${v.detail})`).join('; ')}` : 'live evidence was not checked for integrity',
  );
  return {
    status: reasons.length === 0 ? 'PASS' : 'FAIL',
    checks,
    reasons,
    excluded: excludeThin ? thin.map((i) => i.instrument) : [],
    aggregate: { instruments: used.length, wqlRatio, maseRatio, coverage, naiveCoverage },
  };
}
