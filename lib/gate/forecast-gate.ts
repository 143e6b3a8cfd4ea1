/**
 * `evaluateGate`: whether a model may go live, decided on evidence and written down.
 *
 * Live evidence (`journal`): the model's journaled forecasts, scored against the outcomes recorded
 * after them, with the integrity of the journal and the audit log (live-evidence.ts). Backtest
 * evidence (`backtest`): rolling origins over held-out data (backtest.ts), for a model with no
 * live history; the artifact says which kind it is. The decision (decision.ts) is PASS only when
 * every check passes; with `evidenceDir` it lands in `audit_gate/production_gate_<utc>_...json`
 * with a run audit line naming its sha256 (lib/evidence).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { VerifyOptions } from '../audit';
import { codedError, ErrorCode } from '../errors';
import { writeArtifact } from '../evidence/artifacts';
import { evidenceVersions } from '../evidence/versions';
import { loadManifest } from '../model/manifest';
import { ModelSession, type SessionOptions } from '../model/session';
import { backtestEvidence } from './backtest';
import { decideGate, DEFAULT_GATE_THRESHOLDS, type GateCheck, type GateEvidence, type GateThresholds, type InstrumentEvidence } from './decision';
import { liveEvidence } from './live-evidence';

export interface GateOptions {
  /** The model: its sha256 (live evidence), or its manifest (either kind; required for a backtest). */
  model: string;
  /** Live evidence: the forecast journal's directory. */
  journal?: string;
  /** Live evidence: the audit log (file or directory) the forecasts were served under. */
  audit?: string;
  /** Verifies the journal's and the audit log's chains (HMAC secret or Ed25519 public key). */
  key?: VerifyOptions;
  /** Live evidence: served forecasts ('model', default) or a shadow candidate's ('shadow'). */
  source?: 'model' | 'shadow';
  /** Backtest evidence: series registries (.json) and wide CSV files. */
  backtest?: readonly string[];
  horizon?: number;
  maxOrigins?: number;
  heldOutFraction?: number;
  from?: number | string;
  to?: number | string;
  instruments?: readonly string[];
  thresholds?: Partial<GateThresholds>;
  /** Leave instruments short of minOrigins out of the lift (named in the result) instead of failing. */
  excludeThin?: boolean;
  /** Write the artifact and its run audit line here (default: nothing is written). */
  evidenceDir?: string;
  session?: SessionOptions;
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface GateResult {
  kind: 'production_gate';
  v: 1;
  time: string;
  status: 'PASS' | 'FAIL';
  evidence: { kind: GateEvidence['kind']; description: string; days: number; dayBasis: GateEvidence['dayBasis']; from: string | null; to: string | null };
  model: { sha256: string; name: string | null; version: string | null; manifest: string | null };
  thresholds: GateThresholds;
  measured: ReturnType<typeof decideGate>['aggregate'];
  checks: GateCheck[];
  reasons: string[];
  excluded: string[];
  instruments: InstrumentEvidence[];
  integrity: GateEvidence['integrity'];
  versions: ReturnType<typeof evidenceVersions>;
  /** Where the artifact was written (absent when no evidenceDir was given). */
  artifact?: { file: string; sha256: string };
}

const SHA256 = /^[0-9a-f]{64}$/;

function thresholdsOf(given: Partial<GateThresholds> | undefined): GateThresholds {
  const t = { ...DEFAULT_GATE_THRESHOLDS, ...(given ?? {}) };
  for (const [k, v] of Object.entries(t)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw codedError(ErrorCode.InvalidArgument, `gate: threshold ${k} must be a finite number >= 0, got ${String(v)}`);
  }
  if (t.minCoverage > t.maxCoverage) throw codedError(ErrorCode.InvalidArgument, 'gate: minCoverage is above maxCoverage');
  return t;
}

function isoOrNull(t: number | string | undefined): string | null {
  if (t === undefined) return null;
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) throw codedError(ErrorCode.InvalidArgument, `gate: not a time: ${String(t)}`);
  return new Date(ms).toISOString();
}

export async function evaluateGate(o: GateOptions): Promise<GateResult> {
  if (o === null || typeof o !== 'object' || typeof o.model !== 'string' || o.model.length === 0) throw codedError(ErrorCode.InvalidArgument, 'gate: model (a sha256 or a manifest) is required');
  if ((o.journal === undefined) === (o.backtest === undefined)) throw codedError(ErrorCode.InvalidArgument, 'gate: give a journal (live evidence) or backtest files, one of the two');
  const thresholds = thresholdsOf(o.thresholds);
  const from = isoOrNull(o.from);
  const to = isoOrNull(o.to);
  const byHash = SHA256.test(o.model.toLowerCase());
  const manifestPath = byHash ? null : path.resolve(o.model);
  if (manifestPath !== null && !fs.existsSync(manifestPath)) throw codedError(ErrorCode.InvalidArgument, `gate: model must be a sha256 (64 hex) or a manifest file; ${o.model} is neither`);
  const manifest = manifestPath === null ? null : loadManifest(manifestPath);
  let evidence: GateEvidence;
  let sha256: string;
  if (o.backtest !== undefined) {
    if (manifestPath === null) throw codedError(ErrorCode.InvalidArgument, 'gate: a backtest runs the model: give its manifest, not its sha256');
    const session = ModelSession.load(manifestPath, o.session ?? { intraOpThreads: 1 });
    try {
      sha256 = session.sha256;
      evidence = backtestEvidence(session, { files: o.backtest, horizon: o.horizon, maxOrigins: o.maxOrigins, heldOutFraction: o.heldOutFraction, onProgress: o.onProgress });
    } finally {
      session.close();
    }
  } else {
    sha256 = manifest !== null ? manifest.sha256 : o.model.toLowerCase();
    if (o.key === undefined) throw codedError(ErrorCode.InvalidArgument, 'gate: live evidence needs the key that verifies the journal and the audit log (key)');
    evidence = await liveEvidence({ journal: o.journal as string, audit: o.audit ?? null, key: o.key, model: sha256, source: o.source, from: o.from, to: o.to, instruments: o.instruments });
  }
  const d = decideGate(evidence, thresholds, o.excludeThin === true);
  const time = new Date();
  const result: GateResult = {
    kind: 'production_gate',
    v: 1,
    time: time.toISOString(),
    status: d.status,
    evidence: { kind: evidence.kind, description: evidence.description, days: evidence.days, dayBasis: evidence.dayBasis, from, to },
    model: { sha256, name: manifest?.name ?? null, version: manifest?.version ?? null, manifest: manifestPath },
    thresholds,
    measured: d.aggregate,
    checks: d.checks,
    reasons: d.reasons,
    excluded: d.excluded,
    instruments: evidence.instruments,
    integrity: evidence.integrity,
    versions: evidenceVersions(null),
  };
  if (o.evidenceDir !== undefined) {
    const written = writeArtifact(
      path.resolve(o.evidenceDir),
      'production_gate',
      result,
      { event: 'production-gate', decision: d.status === 'PASS' ? 'pass' : 'fail', detail: { model: sha256, evidence: evidence.kind, instruments: d.aggregate.instruments, reasons: d.reasons.length } },
      time,
    );
    result.artifact = { file: written.file, sha256: written.sha256 };
  }
  return result;
}
