/**
 * The input shield's decisions for one call, from its pass over every series (st.inputs): the
 * protection statistics, the pipeline's own floor on finite data, TiRex's scaling state, the
 * call's threat, and per series one of three ways: refused by the pipeline (blocked), blocked by
 * the threat score (to its fallback), or on to the model (st.modelRows).
 */
import { ErrorCode, type ErrorCodeValue } from '../errors';
import { AssessField } from '../kernels/assess';
import type { CallState } from './call-state';
import { checkScaling, type PipelineRefusal } from './pipeline-shield';
import { pendingSeries, sendToFallback, worstThreat } from './series';
import type { ProtectionStats } from './stats';
import type { PipelineThresholds } from './thresholds';

/** How a decision step ends the call with a typed error, recorded first (both throw). */
export interface CallFailure {
  fail(st: CallState, code: ErrorCodeValue, message: string): never;
  refuse(st: CallState, refusal: PipelineRefusal): never;
  /** The caller's mistake: thrown whatever the strategy (there is nothing to serve). */
  reject(st: CallState, code: ErrorCodeValue, message: string): never;
}

export function judgeInputs(st: CallState, thresholds: PipelineThresholds, stats: ProtectionStats, strict: boolean, end: CallFailure): void {
  const p = st.prepared!;
  const a = st.inputs!;
  const minFinite = thresholds.minFiniteRatio;
  for (let b = 0; b < p.batch; b++) {
    st.series.push(pendingSeries());
    const fired = a.triggered[b];
    if (fired) for (const sig of fired) stats.bump(stats.threatsBySignal, sig.name);
    const n = a.stat(b, AssessField.count);
    const finite = a.stat(b, AssessField.finiteCount);
    stats.check('nanHandling', a.stat(b, AssessField.nanCount) > 0 || a.stat(b, AssessField.posInfCount) + a.stat(b, AssessField.negInfCount) > 0);
    // The pipeline's own floor on finite data (0.60 / 0.80 / 0.95 by protection level).
    if (finite < minFinite * n && a.decision(b) !== 'block') {
      a.block(b, { name: 'pipelineFiniteRatio', value: finite / Math.max(n, 1), threshold: minFinite, weight: 1 });
    }
    const scaling = checkScaling(finite, a.stat(b, AssessField.mean), a.stat(b, AssessField.std), thresholds.warnScale, b, st.warnings);
    if (scaling === null) continue;
    if (!p.rowProblems) end.refuse(st, scaling);
    p.rowProblems[b] ??= scaling;
  }
  const threat = (st.threat = worstThreat(a));
  if (threat.decision !== 'pass') {
    st.shields.push({ shield: 'input', action: threat.decision, detail: `threat ${threat.score.toFixed(3)}: ${threat.signals.join(', ')}` });
    if (threat.decision === 'caution') st.decisions.push({ shield: 'input', action: 'caution', score: threat.score, signals: threat.signals });
  }
  for (let b = 0; b < p.batch; b++) {
    const problem = p.rowProblems?.[b];
    if (problem) {
      // What the pipeline refuses for one series is that series' refusal: nothing to serve.
      st.shields.push({ shield: 'pipeline', action: 'refuse', detail: problem.reason });
      st.decisions.push({ shield: 'pipeline', action: 'refuse', row: b, code: problem.code });
      if (strict) end.fail(st, problem.code as ErrorCodeValue, problem.reason);
      Object.assign(st.series[b]!, { status: 'blocked', reason: problem.reason });
      continue;
    }
    if (a.decision(b) !== 'block') {
      st.modelRows.push(b);
      continue;
    }
    const signals = a.signals(b).map((s) => s.name);
    const score = a.scores[b]!;
    const reason = `input blocked (threat ${score.toFixed(3)}): ${signals.join(', ')}`;
    st.decisions.push(p.batch > 1 ? { shield: 'input', action: 'block', row: b, score, signals } : { shield: 'input', action: 'block', score, signals });
    if (strict) end.fail(st, ErrorCode.InputBlocked, p.batch > 1 ? `series ${b}: ${reason}` : reason);
    sendToFallback(st.series[b]!, reason);
  }
}
