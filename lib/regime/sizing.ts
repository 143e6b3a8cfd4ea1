/**
 * Position sizing from a regime snapshot: the volatility factor times the structure factor
 * (trending x 1), so with the default factors every answer lies in [0.6 x 0.85, 1.15 x 1.1] =
 * [0.51, 1.265]. A neutral snapshot, or anything that is not a snapshot, sizes at 1: when the
 * engine cannot judge, the order goes through unchanged.
 */
import type { RegimeSnapshot, SizeFactors } from './types';

function volatilityFactor(v: unknown, f: Readonly<SizeFactors>): number {
  return v === 'high' ? f.highVolatility : v === 'low' ? f.lowVolatility : v === 'normal' ? 1 : NaN;
}

function structureFactor(s: unknown, f: Readonly<SizeFactors>): number {
  return s === 'breakout' ? f.breakout : s === 'range' ? f.range : s === 'trending' ? 1 : NaN;
}

export function sizeFactorOf(snapshot: RegimeSnapshot, factors: Readonly<SizeFactors>): number {
  if (typeof snapshot !== 'object' || snapshot === null || snapshot.neutral !== false) return 1;
  const k = volatilityFactor(snapshot.volatility, factors) * structureFactor(snapshot.structure, factors);
  return Number.isFinite(k) ? k : 1;
}

/**
 * round(qty x factor) within [1, floor(maxQty)]: a quantity that is not a positive finite number
 * gives 1, a cap below 1 or not a number counts as 1, and no answer exceeds
 * Number.MAX_SAFE_INTEGER (an order of more is no quantity an exchange takes).
 */
export function adjustQuantityOf(qty: number, snapshot: RegimeSnapshot, maxQty: number, factors: Readonly<SizeFactors>): number {
  const cap = typeof maxQty === 'number' && maxQty >= 1 ? Math.min(Math.floor(maxQty), Number.MAX_SAFE_INTEGER) : 1;
  if (!(typeof qty === 'number' && qty > 0 && qty < Infinity)) return 1;
  return Math.min(cap, Math.max(1, Math.round(qty * sizeFactorOf(snapshot, factors))));
}
