/**
 * What a finished guardian call leaves for its audit record, and the record built from it at
 * the drain (off the caller's time). No context and no forecast are kept: bounded memory.
 */
import type { AuditDecision, AuditRecordInput } from '../audit';
import { AssessField } from '../kernels/assess';
import type { BatchAssessment } from './input-shield';
import type { ForecastStatus, SeriesState } from './series';

export interface PendingRecord {
  callId: string;
  t0: number;
  latencyUs: number;
  callerId: string | null;
  clientUserId: string | null;
  status: ForecastStatus;
  horizon: number;
  batch: number;
  /** The input shield's statistics and scores (the call's own arrays, never changed after). */
  inputs: BatchAssessment | null;
  /** Each series' own outcome, for a batch (null for one series: the call's is its own). */
  series: readonly SeriesState[] | null;
  /** The score, copied: the result's threat object is the caller's to change. */
  threatScore: number;
  decisions: AuditDecision[];
  fallback: string | null;
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/**
 * The audit record of a handed-off call. `wallOffsetMs` turns the monotonic clock into wall
 * time (read once per drain: Date.now() costs about half a microsecond on the hot path after a
 * model run, measured); the record's time is when the call ended, to the millisecond. Keys are
 * in canonical (sorted) order: the log's serializer then has nothing to sort.
 */
export function auditRecordOf(st: PendingRecord, modelHash: string, wallOffsetMs: number, clientIdOf: (id: string) => string = (id) => id): AuditRecordInput {
  const a = st.inputs;
  const series = [];
  for (let b = 0; a !== null && b < a.batch; b++) {
    const max = a.stat(b, AssessField.max);
    const min = a.stat(b, AssessField.min);
    const base = {
      inf: a.stat(b, AssessField.posInfCount) + a.stat(b, AssessField.negInfCount),
      max: Number.isFinite(max) ? max : null,
      min: Number.isFinite(min) ? min : null,
      n: a.stat(b, AssessField.count),
      nan: a.stat(b, AssessField.nanCount),
      oob: a.stat(b, AssessField.outOfBoundsCount),
      score: round4(a.scores[b]!),
    };
    const s = st.series?.[b];
    if (!s) {
      series.push(base); // one series (the common case): one literal, no keys added later
      continue;
    }
    const reason = s.reason !== null && s.status !== 'ok' ? { reason: s.reason } : {};
    series.push({ inf: base.inf, max: base.max, min: base.min, n: base.n, nan: base.nan, oob: base.oob, ...reason, score: base.score, status: s.status });
  }
  return {
    callerId: st.callerId ?? 'invalid-caller-id', // validated once, in the guardian's #begin
    status: st.status,
    latencyUs: st.latencyUs,
    modelHash,
    inputStats:
      st.clientUserId === null
        ? { batch: st.batch, callId: st.callId, horizon: st.horizon, series, threat: round4(st.threatScore) }
        : { batch: st.batch, callId: st.callId, clientUserId: clientIdOf(st.clientUserId), horizon: st.horizon, series, threat: round4(st.threatScore) },
    decisions: st.decisions,
    fallback: st.fallback,
    time: Math.round(st.t0 + st.latencyUs / 1000 + wallOffsetMs),
  };
}
