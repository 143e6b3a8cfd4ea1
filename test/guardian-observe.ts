/**
 * What one guardian call did, seen from outside, in one comparable object: the result (or the
 * typed error), its audit record, and the change it made to every protection statistic. The
 * scenario suite (guardian-scenarios.test.ts) compares these whole, so that no field of the
 * guardian's bookkeeping can change without a test noticing.
 */
import type { ForecastResult, TiRexGuardian } from '../lib/index';

export type RowContent = 'finite' | 'NaN' | 'mixed';

function content(a: Float32Array): RowContent {
  if (a.every((v) => Number.isFinite(v))) return 'finite';
  return a.every((v) => Number.isNaN(v)) ? 'NaN' : 'mixed';
}

export interface Observed {
  result: {
    status: string;
    reason: string | null;
    series: { status: string; reason: string | null; fallback: string | null; decision: string }[];
    shields: { shield: string; action: string; detail: string }[];
    warnings: string[];
    fallback: string | null;
    /** Per series: what its rows of quantiles and mean hold, and its first median (4 decimals). */
    rows: { quantiles: RowContent; mean: RowContent; firstMedian: number | null }[] | null;
    /** The model's time is counted only when it ran, and the two parts add up to the total. */
    timings: { modelRan: boolean; addsUp: boolean };
  } | null;
  error: { code: string; status: string; strategy: string; message: string; audited: boolean } | null;
  record: { status: string; decisions: unknown[]; fallback: string | null; series: unknown[]; batch: number; horizon: number } | null;
  /** Every statistic the call changed, by dotted path, with the amount it changed by. */
  delta: Record<string, number>;
  /** The model's breaker after the call: its state, why, and the last failure it recorded. */
  breaker: { state: string; reason: string; lastFailure: string | null; calls: number };
}

/** Numbers of a nested snapshot by dotted path. Left out: the rates (derived) and the session's
 * count of late outcomes (when a terminated run reports back is up to the thread pool). */
function flatten(value: unknown, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  if (typeof value === 'number') out[prefix] = value;
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'blockRate' || k === 'fallbackRate' || k === 'lateModelResults') continue;
      flatten(v, prefix ? `${prefix}.${k}` : k, out);
    }
  }
  return out;
}

function diff(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(after).sort()) {
    const d = after[k]! - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}

async function recordOf(g: TiRexGuardian, auditId: string | null): Promise<Observed['record']> {
  if (auditId === null) return null;
  await g.flushAudit();
  const lines = g.auditLog?.memoryLines() ?? [];
  const rec = lines.map((l) => JSON.parse(l)).find((e) => e.type === 'record' && e.inputStats?.callId === auditId);
  if (!rec) throw new Error(`no audit record for ${auditId}`);
  // min and max are the scan's (tested with the kernels); the rest is the guardian's bookkeeping.
  const series = (rec.inputStats.series as Record<string, unknown>[]).map(({ min: _min, max: _max, ...rest }) => rest);
  return { status: rec.status, decisions: rec.decisions, fallback: rec.fallback, series, batch: rec.inputStats.batch, horizon: rec.inputStats.horizon };
}

function resultView(r: ForecastResult): NonNullable<Observed['result']> {
  const rowLength = r.horizon * r.levels.length;
  return {
    status: r.status,
    reason: r.reason,
    series: r.series.map((s) => ({ status: s.status, reason: s.reason, fallback: s.fallback, decision: s.threat.decision })),
    shields: r.shields.map((s) => ({ shield: s.shield, action: s.action, detail: s.detail })),
    warnings: [...r.warnings],
    fallback: r.fallback?.method ?? null,
    rows:
      r.quantiles === null
        ? null
        : Array.from({ length: r.batch }, (_, b) => {
            const mean = r.mean!.subarray(b * r.horizon, (b + 1) * r.horizon);
            return {
              quantiles: content(r.quantiles!.subarray(b * rowLength, (b + 1) * rowLength)),
              mean: content(mean),
              firstMedian: Number.isFinite(mean[0]) ? Math.round(mean[0]! * 1e4) / 1e4 : null,
            };
          }),
    timings: { modelRan: r.timings.modelUs > 0, addsUp: Math.abs(r.timings.shieldsUs + r.timings.modelUs - r.timings.totalUs) < 1e-6 },
  };
}

/** Runs one call (sync, or async when it returns a promise) and observes it. */
export async function observe(g: TiRexGuardian, call: (g: TiRexGuardian) => ForecastResult | Promise<ForecastResult>): Promise<Observed> {
  const before = flatten(g.stats());
  let result: Observed['result'] = null;
  let error: Observed['error'] = null;
  let auditId: string | null = null;
  try {
    const r = await call(g);
    result = resultView(r);
    auditId = r.auditId;
  } catch (err) {
    const e = err as Error & { code?: string; status?: string; strategy?: string; auditId?: string | null };
    if (typeof e.code !== 'string') throw err;
    auditId = e.auditId ?? null;
    // A measured duration in a message is the one thing a run may change: written as <t>.
    const message = e.message.replace(/\d+\.\d+ ms/g, '<t> ms');
    error = { code: e.code, status: String(e.status), strategy: String(e.strategy), message, audited: auditId !== null };
  }
  const record = await recordOf(g, auditId);
  const b = g.breaker.stats();
  const breaker = { state: b.state, reason: b.reason, lastFailure: b.lastFailure?.reason ?? null, calls: b.calls };
  return { result, error, record, delta: diff(before, flatten(g.stats())), breaker };
}
