/**
 * The output shield's decisions for one call: one native pass over the model's forecast of every
 * series it got (each against its own anchors, a cautioned series against a tighter bound), the
 * forecast placed in the result's rows, then per series: served (ok, or corrected: sorted or
 * clamped), or to its fallback (not finite, or implausible beyond repair). What the breaker and
 * a strict call make of it is the guardian's.
 */
import { AssessField } from '../kernels/assess';
import { ForecastRow, type ForecastRowsIO } from '../kernels/forecast-check';
import type { CallState } from './call-state';
import { CAUTION } from './input-shield';
import { CLEAN, type OutputShield, type OutputVerdict } from './output-shield';
import type { ResultBuffers } from './result-slab';
import { sendToFallback } from './series';
import type { ProtectionStats } from './stats';

export interface OutputOutcome {
  /** Series whose forecast was not finite (a model failure). */
  corrupt: number;
  /** Series whose forecast was implausible beyond repair (replaced by their fallback). */
  replaced: number;
  firstCorrupt: string | null;
  firstImplausible: string | null;
}

/** `q`: the model's forecast [model rows, horizon, levels]; `io` holds at least that many rows. */
export function judgeOutputs(st: CallState, q: Float32Array, io: ForecastRowsIO, output: OutputShield, buffers: ResultBuffers, stats: ProtectionStats, levels: number): OutputOutcome {
  const B = st.batch;
  const H = st.horizon;
  const Q = levels;
  const rows = st.modelRows;
  const R = rows.length;
  const all = R === B;
  // The result's buffers: the model's own when every series went to it (no copy).
  const mean = buffers.take(B * H);
  const modelMean = all ? mean : new Float32Array(R * H);
  const a = st.inputs!;
  for (let i = 0; i < R; i++) {
    const b = rows[i]!;
    const o = io.row(i);
    io.io[o + ForecastRow.last] = a.stat(b, AssessField.last);
    io.io[o + ForecastRow.sigma] = a.stat(b, AssessField.sigma);
    io.io[o + ForecastRow.min] = a.stat(b, AssessField.min);
    io.io[o + ForecastRow.max] = a.stat(b, AssessField.max);
    io.io[o + ForecastRow.k] = output.k(a.decisions[b] === CAUTION) * st.regimeBoundFactor;
  }
  output.inspectRows(q, R, H, io, modelMean);
  let quantiles = q;
  if (!all) {
    quantiles = buffers.take(B * H * Q);
    for (let i = 0; i < R; i++) {
      const b = rows[i]!;
      quantiles.set(q.subarray(i * H * Q, (i + 1) * H * Q), b * H * Q);
      mean.set(modelMean.subarray(i * H, (i + 1) * H), b * H);
    }
  }
  st.quantiles = quantiles;
  st.mean = mean;
  const out: OutputOutcome = { corrupt: 0, replaced: 0, firstCorrupt: null, firstImplausible: null };
  let acted = false;
  for (let i = 0; i < R; i++) {
    const b = rows[i]!;
    const v = output.verdictOf(io, i);
    if (v === CLEAN) {
      st.series[b]!.status = 'ok';
      continue;
    }
    if (v.nonFinite + v.crossedSteps + v.implausibleSteps > 0) acted = true;
    if (v.nonFinite > 0) {
      out.corrupt++;
      const reason = `the model returned ${v.nonFinite} non-finite values`;
      st.decisions.push(B > 1 ? { shield: 'output', action: 'reject', row: b, nonFinite: v.nonFinite } : { shield: 'output', action: 'reject', nonFinite: v.nonFinite });
      st.shields.push({ shield: 'output', action: 'reject', detail: B > 1 ? `series ${b}: ${reason}` : reason });
      out.firstCorrupt ??= reason;
      sendToFallback(st.series[b]!, reason);
    } else if (v.needsFallback) {
      out.replaced++;
      const reason = v.corrections.join('; ');
      st.decisions.push(B > 1 ? { shield: 'output', action: 'replace', row: b, implausibleSteps: v.implausibleSteps } : { shield: 'output', action: 'replace', implausibleSteps: v.implausibleSteps });
      st.shields.push({ shield: 'output', action: 'replace', detail: B > 1 ? `series ${b}: ${reason}` : reason });
      out.firstImplausible ??= reason;
      sendToFallback(st.series[b]!, reason);
    } else {
      served(st, b, v, stats);
    }
  }
  stats.check('quantileProcessing', acted);
  return out;
}

/** Series b is served by the model: ok, or corrected (a flag alone changes no number). */
function served(st: CallState, b: number, v: OutputVerdict, stats: ProtectionStats): void {
  const s = st.series[b]!;
  s.status = 'ok';
  if (v.crossedSteps > 0) stats.bump(stats.corrections, 'sortedQuantileSteps', v.crossedSteps);
  if (v.clampedSteps > 0) stats.bump(stats.corrections, 'clampedSteps', v.clampedSteps);
  if (v.corrections.length === 0) return;
  const batch = st.batch > 1;
  st.decisions.push({ shield: 'output', action: 'correct', crossedSteps: v.crossedSteps, implausibleSteps: v.implausibleSteps, clampedSteps: v.clampedSteps, ...(batch ? { row: b } : {}) });
  for (const c of v.corrections) st.shields.push({ shield: 'output', action: 'correct', detail: batch ? `series ${b}: ${c}` : c });
  if (v.crossedSteps > 0 || v.clampedSteps > 0) {
    s.status = 'corrected';
    s.reason = v.corrections.join('; ');
  }
}
