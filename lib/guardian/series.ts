/**
 * One outcome per series of a call. A batch is judged series by series: one corrupt or empty
 * row gets its fallback (or is blocked) while the healthy rows get the model's forecast. The
 * call's status is the worst of its series' (blocked > fallback > corrected > ok).
 */
import type { CallState } from './call-state';
import type { BatchAssessment } from './input-shield';

export type ForecastStatus = 'ok' | 'corrected' | 'fallback' | 'blocked';

export interface ThreatView {
  score: number;
  decision: 'pass' | 'caution' | 'block';
  signals: string[];
}

/** What happened to one series of the call. */
export interface SeriesOutcome {
  status: ForecastStatus;
  /** Why the status is not `ok` (null when it is). */
  reason: string | null;
  threat: ThreatView;
  /** The fallback method that served this series (null when the model did, or nothing did). */
  fallback: string | null;
}

const RANK: Readonly<Record<ForecastStatus, number>> = { ok: 0, corrected: 1, fallback: 2, blocked: 3 };

/** The worse of two statuses (the batch status is the worst of its series'). */
export function worseStatus(a: ForecastStatus, b: ForecastStatus): ForecastStatus {
  return RANK[b] > RANK[a] ? b : a;
}

export const NO_THREAT: ThreatView = Object.freeze({ score: 0, decision: 'pass' as const, signals: Object.freeze([]) as unknown as string[] });

const NO_NAMES: string[] = Object.freeze([]) as unknown as string[];

/** Series b's threat as the result shows it (no statistics: those go to the audit record). */
export function threatOf(a: BatchAssessment | null, b: number): ThreatView {
  if (!a || b < 0 || b >= a.batch) return NO_THREAT;
  const signals = a.triggered[b];
  return { score: a.scores[b]!, decision: a.decision(b), signals: signals ? signals.map((s) => s.name) : NO_NAMES };
}

/** The worst of the series' threats (by score), or NO_THREAT. */
export function worstThreat(a: BatchAssessment | null): ThreatView {
  return a ? threatOf(a, a.worst()) : NO_THREAT;
}

/**
 * The state of one series while the call runs. `pending` until the model serves it (then `ok`
 * or `corrected`) or something sends it to a fallback (`needsFallback` with the reason); the
 * fallback step turns that into `fallback`, or `blocked` when nothing can be forecast.
 */
export interface SeriesState {
  status: ForecastStatus | 'pending';
  reason: string | null;
  needsFallback: boolean;
  fallback: string | null;
}

export function pendingSeries(): SeriesState {
  return { status: 'pending', reason: null, needsFallback: false, fallback: null };
}

/** Marks a series for the fallback (the first reason stays: it is what happened first). */
export function sendToFallback(s: SeriesState, reason: string): void {
  if (s.needsFallback) return;
  s.needsFallback = true;
  s.status = 'pending';
  s.reason = reason;
}

/**
 * The call's outcome per series at its end, and the call's status and reason: the worst
 * series' (a batch names it). A series still pending was never served (an internal fault:
 * blocked, and said so); a blocked series' rows of the forecast hold NaN, never a number to
 * mistake for a forecast; with no series served there is no forecast at all.
 */
export function settleSeries(st: CallState, levels: number): SeriesOutcome[] {
  const B = st.batch;
  const H = st.horizon;
  const series: SeriesOutcome[] = new Array(B);
  let worst: ForecastStatus = 'ok';
  let worstAt = -1;
  let served = false;
  for (let b = 0; b < B; b++) {
    const s = st.series[b]!;
    if (s.status === 'pending') s.reason ??= 'the series was never served (internal)';
    const status = s.status === 'pending' ? 'blocked' : s.status;
    if (status !== 'blocked') served = true;
    else if (st.quantiles) {
      st.quantiles.fill(NaN, b * H * levels, (b + 1) * H * levels);
      st.mean!.fill(NaN, b * H, (b + 1) * H);
    }
    if (status !== worst && worseStatus(worst, status) === status) {
      worst = status;
      worstAt = b;
    }
    s.status = status;
    series[b] = { status, reason: s.reason, threat: B === 1 ? st.threat : threatOf(st.inputs, b), fallback: s.fallback };
  }
  st.status = worst;
  st.reason = worstAt < 0 ? null : B > 1 ? `series ${worstAt}: ${series[worstAt]!.reason}` : series[worstAt]!.reason;
  if (!served) {
    st.quantiles = null;
    st.mean = null;
  }
  return series;
}
