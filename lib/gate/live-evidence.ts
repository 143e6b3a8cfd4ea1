/**
 * The gate's live evidence: a model's journaled forecasts scored against the outcomes recorded
 * after them (lib/journal/score.ts), and the integrity of what they rest on:
 *
 * - the journal's chain verifies (lib/audit/verify.ts) and lost no forecast (no gap entry);
 * - the audit log's chain verifies;
 * - every forecast journaled in the period has its audit record (the call's id is a record's
 *   `inputStats.callId`), and names the model that made it.
 *
 * An unsigned tail (entries after the last checkpoint of a log still being written) is chained
 * but not yet signed: reported, not a violation.
 */
import * as fs from 'node:fs';

import { queryAuditLog, verifyAuditDir, verifyAuditLog, type AuditVerifyReport, type VerifyOptions } from '../audit';
import { codedError, ErrorCode } from '../errors';
import type { ForecastSource } from '../journal/entries';
import { outerCoverage, scoreJournal, type InstrumentScore, type ScoreQuery } from '../journal/score';
import type { GateEvidence, InstrumentEvidence, IntegrityViolation } from './decision';

export interface LiveEvidenceOptions {
  journal: string;
  /** The audit log (a file or a directory of segments) the journal's forecasts were served under. */
  audit: string | null;
  /** Verifies both chains: the HMAC secret, or the Ed25519 public key. */
  key: VerifyOptions;
  /** The model's sha256. */
  model: string;
  /** Served forecasts ('model', default) or a shadow candidate's ('shadow'). */
  source?: Extract<ForecastSource, 'model' | 'shadow'>;
  from?: number | string;
  to?: number | string;
  instruments?: readonly string[];
}

const DAY_MS = 86_400_000;

function verifyFacts(r: AuditVerifyReport): Record<string, unknown> {
  return { status: r.status, entries: r.entries, lastSeq: r.lastSeq, dropped: r.dropped, problem: r.problem?.message ?? null };
}

/** The call ids of the audit log's records from `from` (a day earlier: a record's time is its call's, an origin may be older). */
async function auditCallIds(audit: string, from: number | string | undefined): Promise<Set<string>> {
  const ids = new Set<string>();
  const start = from === undefined ? undefined : (typeof from === 'number' ? from : Date.parse(from)) - DAY_MS;
  await queryAuditLog(audit, start === undefined ? {} : { from: start }, (r) => {
    const id = (r.inputStats as { callId?: unknown } | undefined)?.callId;
    if (typeof id === 'string') ids.add(id);
  });
  return ids;
}

function instrumentEvidence(r: InstrumentScore): InstrumentEvidence {
  return {
    instrument: r.instrument,
    forecasts: r.forecasts,
    origins: r.origins,
    points: r.points,
    wql: r.model.wql,
    naiveWql: r.naive.wql,
    mase: r.model.mase,
    naiveMase: r.naive.mase,
    wqlRatio: r.wqlRatio,
    maseRatio: r.maseRatio,
    coverage: outerCoverage(r.model.coverage),
    naiveCoverage: outerCoverage(r.naive.coverage),
  };
}

export async function liveEvidence(o: LiveEvidenceOptions): Promise<GateEvidence & { score: ReturnType<typeof scoreJournal> }> {
  if (!fs.existsSync(o.journal) || !fs.statSync(o.journal).isDirectory()) throw codedError(ErrorCode.InvalidArgument, `gate: the journal ${o.journal} is not a directory`);
  const model = o.model.toLowerCase();
  const source = o.source ?? 'model';
  const violations: IntegrityViolation[] = [];
  const facts: Record<string, unknown> = {};
  const journalReport = await verifyAuditDir(o.journal, o.key);
  facts.journal = verifyFacts(journalReport);
  if (journalReport.status === 'invalid') violations.push({ kind: 'journal-chain', count: 1, detail: journalReport.problem?.message ?? 'the journal does not verify' });
  if (journalReport.dropped > 0) violations.push({ kind: 'journal-gap', count: journalReport.dropped, detail: 'entries (forecasts or outcomes) refused by a full queue or hand-off buffer were never journaled' });
  let ids: Set<string> | null = null;
  if (o.audit === null) {
    violations.push({ kind: 'no-audit-log', count: 1, detail: 'no audit log was given: the journal cannot be joined to its audit records' });
  } else {
    if (!fs.existsSync(o.audit)) throw codedError(ErrorCode.InvalidArgument, `gate: the audit log ${o.audit} does not exist`);
    const auditReport = await verifyAuditLog(o.audit, o.key);
    facts.audit = verifyFacts(auditReport);
    if (auditReport.status === 'invalid') violations.push({ kind: 'audit-chain', count: 1, detail: auditReport.problem?.message ?? 'the audit log does not verify' });
    ids = await auditCallIds(o.audit, o.from);
  }
  let withoutRecord = 0;
  let withoutModel = 0;
  const firstMissing: string[] = [];
  const query: ScoreQuery = {
    from: o.from,
    to: o.to,
    instruments: o.instruments,
    onForecast: (e) => {
      if (e.modelHash === null || e.modelHash.length === 0) withoutModel++;
      // A shadow forecast names the live call it shadowed: that call's record must exist too.
      if (ids !== null && (e.auditId === null || !ids.has(e.auditId))) {
        withoutRecord++;
        if (firstMissing.length < 5) firstMissing.push(`seq ${String(e.seq)}`);
      }
    },
  };
  // Every model's forecasts are read (the integrity checks cover the whole period); this model's are judged.
  const score = scoreJournal(o.journal, query);
  if (withoutModel > 0) violations.push({ kind: 'forecast-without-model', count: withoutModel, detail: 'journaled forecasts that name no model hash' });
  if (withoutRecord > 0) violations.push({ kind: 'forecast-without-audit-record', count: withoutRecord, detail: `journaled forecasts whose call has no audit record (first: ${firstMissing.join(', ')})` });
  const rows = score.instruments.filter((r) => r.modelHash === model && r.source === source);
  const modelRow = score.models.find((m) => m.modelHash === model && m.source === source);
  facts.counts = score.counts;
  return {
    kind: source === 'shadow' ? 'shadow' : 'live',
    description:
      source === 'shadow'
        ? 'live requests answered by the serving model; this model ran beside it in shadow on the same contexts, its forecasts journaled and never served'
        : 'forecasts this model served, journaled as served, scored against the outcomes recorded after them',
    instruments: rows.map(instrumentEvidence),
    days: modelRow?.days ?? 0,
    dayBasis: 'utc-days-of-origins',
    integrity: { checked: true, violations, facts },
    score,
  };
}
