/**
 * Finding a passing forecast-quality gate artifact for a model: the newest
 * `audit_gate/production_gate_*.json` of the evidence directory that says PASS for this sha256,
 * on evidence of an accepted kind, is younger than the allowed age, and is named with its sha256
 * by the run audit (an artifact edited after the fact, or dropped into the directory by hand, is
 * not accepted: lib/evidence/preflight-evidence.ts does the same for the preflight).
 */
import { namedInRunAudit, readArtifacts } from '../evidence/artifacts';
import type { GateResult } from './forecast-gate';

export interface GateAcceptCriteria {
  sha256: string;
  maxAgeMs: number;
  evidence: readonly string[];
  now: number;
}

export type GateLookup = { file: string; result: GateResult } | { file: null; why: string };

/** The newest artifact of an accepted kind for the model decides: a FAIL is not outweighed by an
 * older PASS. An artifact the run audit does not name is not trusted and is passed over. */
export function acceptableGate(dir: string, c: GateAcceptCriteria): GateLookup {
  let seen = 0;
  for (const { file, body, sha256 } of readArtifacts(dir, 'production_gate', 500)) {
    const a = body as GateResult;
    if (a?.kind !== 'production_gate' || a.model?.sha256 !== c.sha256 || !c.evidence.includes(a.evidence?.kind)) continue;
    seen++;
    if (!namedInRunAudit(dir, file, sha256, String(a.time).slice(0, 10))) continue;
    const age = c.now - Date.parse(a.time);
    if (!(age >= -60_000 && age <= c.maxAgeMs)) return { file: null, why: `the newest gate artifact for this model, ${file}, is older than ${c.maxAgeMs / 3_600_000} hours` };
    if (a.status !== 'PASS') return { file: null, why: `the newest gate artifact for this model, ${file}, says FAIL: ${(a.reasons ?? []).join('; ')}` };
    return { file, result: a };
  }
  return { file: null, why: seen === 0 ? `no forecast-quality gate artifact on ${c.evidence.join('/')} evidence names this model` : 'no gate artifact for this model is named by the run audit (edited, or not written by the gate)' };
}
