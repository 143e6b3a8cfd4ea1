/**
 * The pipeline shield's part of a call: the horizon, then the context prepared as the model's
 * tensor (shapes, lengths, dtype), with what it trimmed, imputed, padded or converted counted,
 * shown and recorded.
 */
import { ErrorCode, type ErrorCodeValue } from '../errors';
import type { CallState } from './call-state';
import type { CallFailure } from './input-decisions';
import { isRefusal, type PipelineRefusal, type PipelineShield, type PreparedContext } from './pipeline-shield';
import type { RequestSnapshot } from './request';
import type { ProtectionStats } from './stats';

/** Pipeline shield: horizon, shapes, lengths, dtype; the call's tensors from `borrow`. */
export function preparePipeline(st: CallState, req: RequestSnapshot, copyRows: boolean, pipeline: PipelineShield, stats: ProtectionStats, end: CallFailure, borrow: (st: CallState, n: number) => Float32Array): void {
  const horizonRefusal = pipeline.checkHorizon(req.predictionLength);
  stats.check('contextLength', horizonRefusal !== null);
  if (horizonRefusal) end.refuse(st, horizonRefusal);
  st.horizon = req.predictionLength as number;
  let prepared: PreparedContext | PipelineRefusal;
  try {
    // Tensors from the pool (given back by #finish): a fresh one per call costs a garbage
    // collector's attention (lib/native/staging.ts).
    prepared = pipeline.prepare(req.context, req.batch, (n) => borrow(st, n));
  } catch (err) {
    // A coded error from a kernel (a detached buffer, say) is the caller's: typed and audited.
    const code = ((err as { code?: string }).code ?? ErrorCode.Internal) as ErrorCodeValue;
    end.reject(st, code, `context: ${(err as Error).message}`);
  }
  if (isRefusal(prepared)) {
    stats.check(prepared.code === 'TG_PRECISION_LOSS' ? 'devicePrecision' : prepared.code === 'TG_CONTEXT_TOO_SHORT' || prepared.code === 'TG_CONTEXT_TOO_LONG' ? 'contextLength' : 'tensorOperations', true);
    end.refuse(st, prepared);
  }
  const p = prepared as PreparedContext;
  if (copyRows) pipeline.ownCopy(p, (n) => borrow(st, n)); // async: nothing the caller owns is read after this
  st.prepared = p;
  st.batch = p.batch;
  for (const w of p.warnings) st.warnings.push(w);
  stats.check('contextLength', p.trimmed);
  const ragged = p.batch > 1 && p.lengths.some((l) => l !== p.lengths[0]);
  stats.check('tensorOperations', ragged);
  stats.check('devicePrecision', p.precisionLoss > 0);
  if (p.trimmed) {
    st.shields.push({ shield: 'pipeline', action: 'trim', detail: `kept the last ${p.window} points` });
    st.decisions.push({ shield: 'pipeline', action: 'trim', kept: p.window });
  }
  if (p.imputed > 0) {
    st.shields.push({ shield: 'pipeline', action: 'impute', detail: `${p.imputed} values` });
    st.decisions.push({ shield: 'pipeline', action: 'impute', values: p.imputed });
  }
  if (ragged) st.decisions.push({ shield: 'pipeline', action: 'pad-ragged', window: p.window });
  if (p.precisionLoss > 0) st.decisions.push({ shield: 'pipeline', action: 'float32', maxRelativeError: p.precisionLoss });
  if (p.precisionLoss > 1e-3) {
    st.warnings.push(`float32 conversion lost ${p.precisionLoss.toExponential(2)} of a series' own scale (accepted up to ${pipeline.thresholds.maxPrecisionLoss})`);
  }
}
