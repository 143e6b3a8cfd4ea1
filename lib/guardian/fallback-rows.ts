/**
 * The circuit shield's fallback, series by series: every series of a call marked for a fallback
 * gets the chain's forecast (moving average -> robust trend -> last value) written into its own
 * rows of the result; a series with nothing to forecast from is blocked, its rows NaN. The
 * healthy series' rows (the model's) are not touched.
 */
import { fallbackChain } from '../fallback';
import { AssessField } from '../kernels/assess';
import type { CallState } from './call-state';
import { regimeSigmaRelative } from './regime-use';
import type { ResultBuffers } from './result-slab';
import type { ProtectionStats } from './stats';

export interface FallbackLayout {
  levels: readonly number[];
  medianIndex: number;
}

/** Row b for the fallback: values beyond the bounds (corruption, by the input shield's rule)
 * are left out, so a blocked input cannot steer the fallback that replaces the model. */
function cleanRow(st: CallState, b: number): Float32Array | Float64Array {
  const row = st.prepared!.row(b);
  if (!st.inputs || st.inputs.stat(b, AssessField.outOfBoundsCount) === 0) return row;
  const { lo, hi } = st.bounds;
  const clean = row.slice();
  for (let i = 0; i < clean.length; i++) if (clean[i]! < lo || clean[i]! > hi) clean[i] = NaN;
  return clean;
}

/** Serves the fallback of every series of `st` that needs one (see the file's comment). */
export function serveFallbacks(st: CallState, layout: FallbackLayout, buffers: ResultBuffers, stats: ProtectionStats): void {
  const B = st.batch;
  const H = st.horizon;
  const Q = layout.levels.length;
  if (!st.prepared || !st.series.some((s) => s.needsFallback)) return;
  if (!st.quantiles) {
    st.quantiles = buffers.take(B * H * Q);
    st.mean = buffers.take(B * H);
  }
  const q = st.quantiles;
  const mean = st.mean!;
  const methods = new Set<string>();
  for (let b = 0; b < B; b++) {
    const s = st.series[b]!;
    if (!s.needsFallback) continue;
    const out = q.subarray(b * H * Q, (b + 1) * H * Q);
    let r: ReturnType<typeof fallbackChain>;
    try {
      r = fallbackChain(cleanRow(st, b), H, { levels: layout.levels, out, sigmaRelative: regimeSigmaRelative(st) });
    } catch (err) {
      r = { ok: false, reason: `the context could not be read: ${(err as Error).message}`, steps: [] };
    }
    const row = B > 1 ? { row: b } : {};
    if (!r.ok) {
      s.status = 'blocked';
      s.reason = `${s.reason}; no fallback${B > 1 ? ` for series ${b}` : ''}: ${r.reason}`;
      out.fill(NaN);
      mean.fill(NaN, b * H, (b + 1) * H);
      st.decisions.push({ shield: 'circuit', action: 'no-fallback', ...row, reason: r.reason });
      continue;
    }
    for (let h = 0; h < H; h++) mean[b * H + h] = out[h * Q + layout.medianIndex]!;
    s.status = 'fallback';
    s.fallback = r.method;
    methods.add(r.method);
    if (!st.fallback) st.fallback = { method: r.method, steps: r.steps };
    st.shields.push({ shield: 'circuit', action: 'fallback', detail: `${B > 1 ? `series ${b}: ` : ''}${r.method}: ${s.reason}` });
    st.decisions.push({ shield: 'circuit', action: 'fallback', ...row, method: r.method, reason: s.reason! });
  }
  if (methods.size > 0) {
    const method = methods.size === 1 ? st.fallback!.method : 'mixed';
    st.fallback = { method, steps: st.fallback!.steps };
    stats.bump(stats.fallbacks, method);
  }
}
