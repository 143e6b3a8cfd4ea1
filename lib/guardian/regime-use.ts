/**
 * How a guarded call uses the market regime of its instrument (opt-in: `regime` in the guardian's
 * configuration, `instrument` on the request; lib/regime is the engine):
 *  - the output shield's plausibility bound (k sigma sqrt(h) around the context's range) is
 *    widened in a high-volatility regime and tightened in a low one (REGIME_BOUND_FACTORS): a
 *    forecast that moves far is less surprising when the market itself moves far;
 *  - a fallback whose context gives no reliable volatility (fewer than two changes, or a realized
 *    volatility under the floor) draws its bands from the regime's ATR as a share of its center;
 *  - the result (`regime`) and the audit record (a `regime` decision) carry the snapshot used.
 * A neutral snapshot (too few bars, an unknown symbol) changes nothing and is still recorded.
 */
import type { RegimeSnapshot } from '../regime/types';
import type { CallState } from './call-state';

/** What the guardian asks of a regime engine (RegimeEngine satisfies it). */
export interface RegimeSource {
  snapshot(symbol: string): RegimeSnapshot;
}

/** Multipliers of the output shield's bound per volatility class. */
export const REGIME_BOUND_FACTORS = Object.freeze({ low: 0.75, normal: 1, high: 1.5 });

/** The instrument's snapshot for this call, its bound factor and its record; a source that
 * throws (one not ours) is a warning, never the call's failure. */
export function applyRegime(st: CallState, source: RegimeSource, instrument: string): void {
  let s: RegimeSnapshot;
  try {
    s = source.snapshot(instrument);
    if (s === null || typeof s !== 'object') throw new TypeError('snapshot() returned no object');
  } catch (err) {
    st.warnings.push(`regime: the engine failed (${err instanceof Error ? err.message : String(err)}); no regime applied`);
    return;
  }
  st.regime = s;
  st.regimeBoundFactor = s.neutral ? 1 : (REGIME_BOUND_FACTORS[s.volatility] ?? 1);
  st.decisions.push({
    shield: 'regime',
    action: s.neutral ? 'neutral' : 'applied',
    trend: s.trend,
    volatility: s.volatility,
    structure: s.structure,
    atrPct: s.atrPct,
    velocityPct: s.velocityPct,
    bars: s.bars,
    boundFactor: st.regimeBoundFactor,
    reason: s.reason,
  });
}

/** The fallback's band width as a share of its center, from the regime (undefined: none). */
export function regimeSigmaRelative(st: CallState): number | undefined {
  const s = st.regime;
  if (s === null || s.neutral || !(s.atrPct > 0) || !Number.isFinite(s.atrPct)) return undefined;
  return Math.min(s.atrPct / 100, 10); // fallbackChain accepts up to 10 (1000% of the center)
}
