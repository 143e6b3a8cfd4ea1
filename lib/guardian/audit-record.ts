/**
 * What a finished guardian call leaves for its audit record, and the record built from it at
 * the drain (off the caller's time). No context and no forecast are kept: bounded memory.
 */
import type { AuditDecision, AuditRecordInput } from '../audit';
import type { ThreatAssessment } from './input-shield';
import type { ForecastStatus, SeriesState } from './series';

export interface PendingRecord {
  callId: string;
  t0: number;
  latencyUs: number;
  callerId: string | null;
  status: ForecastStatus;
  horizon: number;
  batch: number;
  assessments: ThreatAssessment[];
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
export function auditRecordOf(st: PendingRecord, modelHash: string, wallOffsetMs: number): AuditRecordInput {
  const series = st.assessments.map((a, b) => {
    const base = {
      inf: a.stats.posInf + a.stats.negInf,
      max: Number.isFinite(a.stats.max) ? a.stats.max : null,
      min: Number.isFinite(a.stats.min) ? a.stats.min : null,
      n: a.stats.length,
      nan: a.stats.nan,
      oob: a.stats.outOfBounds,
      score: round4(a.score),
    };
    const s = st.series?.[b];
    if (!s) return base; // one series (the common case): one literal, no keys added later
    const reason = s.reason !== null && s.status !== 'ok' ? { reason: s.reason } : {};
    return { inf: base.inf, max: base.max, min: base.min, n: base.n, nan: base.nan, oob: base.oob, ...reason, score: base.score, status: s.status };
  });
  return {
    callerId: st.callerId ?? 'invalid-caller-id', // validated once, in the guardian's #begin
    status: st.status,
    latencyUs: st.latencyUs,
    modelHash,
    inputStats: { batch: st.batch, callId: st.callId, horizon: st.horizon, series, threat: round4(st.threatScore) },
    decisions: st.decisions,
    fallback: st.fallback,
    time: Math.round(st.t0 + st.latencyUs / 1000 + wallOffsetMs),
  };
}
