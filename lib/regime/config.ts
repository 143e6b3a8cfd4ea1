/**
 * The regime engine's configuration, checked once at construction: the only place the engine
 * throws. Every error is TG_INVALID_ARGUMENT and names the key.
 *
 * Two policies, on purpose:
 * - clamped (periods, maxBars, maxSymbols, ttlMs, barPeriodMs, bandWidth, flatVelocityPct): a
 *   value of the right type outside its range is moved to the nearest bound, as the seed engine
 *   clamps its periods to at least 5. These change what the engine sees, not what it trades.
 * - refused (sizeFactors): a factor outside its bounds is a RangeError, never a clamp. A sizing
 *   factor multiplies order quantities: a typo there is money, so it must stop the start-up.
 * Either way a wrong type, a non-finite number or a fractional count is refused.
 */
import { ErrorCode, rangeError, typeError } from '../errors';
import type { RegimeConfig, SizeFactors } from './types';

export interface ResolvedRegimeConfig {
  readonly barPeriodMs: number;
  readonly maxBars: number;
  readonly slopePeriod: number;
  readonly atrPeriod: number;
  readonly bandPeriod: number;
  readonly bandWidth: number;
  readonly flatVelocityPct: number;
  readonly ttlMs: number;
  readonly maxSymbols: number;
  readonly sizeFactors: Readonly<SizeFactors>;
  readonly clock: () => number;
  /** Closed bars a non-neutral snapshot needs: max(slopePeriod, atrPeriod + 1, bandPeriod + 1)
   * (the first ATR needs atrPeriod true ranges, each needing the bar before; the bands judge the
   * last close against the bandPeriod closes before it). */
  readonly minBars: number;
}

export const MIN_PERIOD = 5;
/** So that the longest period + 1 fits in MAX_BARS. */
export const MAX_PERIOD = 9999;
export const MAX_BARS = 10_000;

export const SIZE_FACTOR_BOUNDS: Readonly<Record<keyof SizeFactors, readonly [number, number]>> = Object.freeze({
  highVolatility: [0.1, 1],
  lowVolatility: [1, 2],
  breakout: [1, 2],
  range: [0.1, 1],
});

export const DEFAULT_SIZE_FACTORS: Readonly<SizeFactors> = Object.freeze({ highVolatility: 0.6, lowVolatility: 1.15, breakout: 1.1, range: 0.85 });

type NumericKey = Exclude<keyof RegimeConfig, 'sizeFactors' | 'clock'>;

interface NumericRule {
  def: number;
  lo: number;
  hi: number;
  integer: boolean;
}

// maxBars' lower bound depends on the periods: applied after them.
const NUMERIC: Readonly<Record<NumericKey, NumericRule>> = {
  barPeriodMs: { def: 60_000, lo: 1, hi: 31_622_400_000, integer: true },
  maxBars: { def: 100, lo: MIN_PERIOD + 1, hi: MAX_BARS, integer: true },
  slopePeriod: { def: 20, lo: MIN_PERIOD, hi: MAX_PERIOD, integer: true },
  atrPeriod: { def: 14, lo: MIN_PERIOD, hi: MAX_PERIOD, integer: true },
  bandPeriod: { def: 20, lo: MIN_PERIOD, hi: MAX_PERIOD, integer: true },
  bandWidth: { def: 2, lo: 0.5, hi: 5, integer: false },
  flatVelocityPct: { def: 0.05, lo: 0, hi: 100, integer: false },
  ttlMs: { def: 1000, lo: 0, hi: 3_600_000, integer: false },
  maxSymbols: { def: 10_000, lo: 1, hi: 1_000_000, integer: true },
};

export const REGIME_CONFIG_KEYS: readonly (keyof RegimeConfig)[] = [...(Object.keys(NUMERIC) as NumericKey[]), 'sizeFactors', 'clock'];
const FACTOR_KEYS = Object.keys(SIZE_FACTOR_BOUNDS) as (keyof SizeFactors)[];

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v;
}

/** A finite number (an integer where `integer`), or a coded error naming `key`. */
function number(key: string, v: unknown, integer: boolean): number {
  if (typeof v !== 'number') throw typeError(ErrorCode.InvalidArgument, `RegimeEngine: ${key} must be a number, got ${describe(v)}`);
  if (!Number.isFinite(v)) throw rangeError(ErrorCode.InvalidArgument, `RegimeEngine: ${key} must be finite, got ${v}`);
  if (integer && !Number.isInteger(v)) throw rangeError(ErrorCode.InvalidArgument, `RegimeEngine: ${key} must be an integer, got ${v}`);
  return v;
}

function plainObject(key: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw typeError(ErrorCode.InvalidArgument, `RegimeEngine: ${key} must be an object, got ${describe(v)}`);
  }
  return v as Record<string, unknown>;
}

function unknownKeys(where: string, o: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(o)) {
    if (!known.includes(key)) throw rangeError(ErrorCode.InvalidArgument, `RegimeEngine: unknown ${where} ${key} (known: ${known.join(', ')})`);
  }
}

function sizeFactors(v: unknown): Readonly<SizeFactors> {
  if (v === undefined) return DEFAULT_SIZE_FACTORS;
  const o = plainObject('sizeFactors', v);
  unknownKeys('size factor', o, FACTOR_KEYS);
  const out = { ...DEFAULT_SIZE_FACTORS };
  for (const key of FACTOR_KEYS) {
    if (o[key] === undefined) continue;
    const f = number(`sizeFactors.${key}`, o[key], false);
    const [lo, hi] = SIZE_FACTOR_BOUNDS[key];
    if (f < lo || f > hi) throw rangeError(ErrorCode.InvalidArgument, `RegimeEngine: sizeFactors.${key} must be within [${lo}, ${hi}], got ${f}`);
    out[key] = f;
  }
  return Object.freeze(out);
}

/** Checks `config`, applies the defaults and the clamps; throws only here (TG_INVALID_ARGUMENT). */
export function resolveRegimeConfig(config: RegimeConfig = {}): ResolvedRegimeConfig {
  const o = plainObject('config', config);
  unknownKeys('option', o, REGIME_CONFIG_KEYS);
  const n = {} as Record<NumericKey, number>;
  for (const key of Object.keys(NUMERIC) as NumericKey[]) {
    const rule = NUMERIC[key];
    n[key] = o[key] === undefined ? rule.def : clamp(number(key, o[key], rule.integer), rule.lo, rule.hi);
  }
  n.maxBars = clamp(n.maxBars, Math.max(n.slopePeriod, n.atrPeriod, n.bandPeriod) + 1, MAX_BARS);
  const clock = o.clock === undefined ? Date.now : o.clock;
  if (typeof clock !== 'function') throw typeError(ErrorCode.InvalidArgument, `RegimeEngine: clock must be a function, got ${describe(clock)}`);
  return Object.freeze({
    ...n,
    sizeFactors: sizeFactors(o.sizeFactors),
    clock: clock as () => number,
    minBars: Math.max(n.slopePeriod, n.atrPeriod + 1, n.bandPeriod + 1),
  });
}
