/**
 * What every call leaves behind in the guardian's statistics and traces when it ends, whatever
 * its status: its shield actions, its latencies (once metrics are registered), its instrument's
 * count (listed instruments only) and its spans (when an OpenTelemetry SDK is registered).
 */
import { endTrace, type SpanModelInfo } from '../observability/tracing';
import type { CallState } from './call-state';
import type { ProtectionStats } from './stats';

/** `code`: the typed error a blocked call throws (null: the call returns a result). */
export function recordCallEnd(stats: ProtectionStats, st: CallState, model: SpanModelInfo, auditId: string | null, endPerfMs: number, code: string | null): void {
  for (const s of st.shields) stats.shieldAction(s.shield, s.action);
  const latency = stats.latency;
  if (latency !== null) {
    latency.forecast.observe((endPerfMs - st.t0) * 1000);
    if (st.modelRun !== null) latency.model.observe(st.modelUs);
  }
  const instruments = stats.instruments;
  if (instruments !== null && st.instrument !== null) {
    const counts = instruments.get(st.instrument);
    if (counts !== undefined) counts[st.status]++;
  }
  if (st.trace === null) return;
  try {
    endTrace(st.trace, st, model, auditId, endPerfMs, code);
  } catch {
    // A failing tracing SDK must not fail a forecast; the SDK reports its own errors (diag).
  }
}
