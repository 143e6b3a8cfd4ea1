/**
 * The production profile's security gates (issue 16): an evidence directory that can be written,
 * and a security preflight that passed (lib/security/preflight.ts), either run now or accepted
 * from a recent passing artifact (lib/evidence/preflight-evidence.ts); and the record of every
 * startup-gate decision, pass or fail, as an artifact with its run audit line.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { makeDirs } from '../atomic-file';
import { sha256Hex } from '../audit/chain';
import { writeArtifact } from '../evidence/artifacts';
import { acceptablePreflight, lockfileSha256, recordPreflight, type EntryPoint } from '../evidence/preflight-evidence';
import { evidenceVersions } from '../evidence/versions';
import { runPreflightSync, type PreflightOptions, type PreflightReport } from '../security/preflight';
import { defaultSecurityWgDir } from '../security/security-wg-db';
import type { GateFailure } from './gates';

export interface ResolvedSecurityConfig {
  /** Where evidence lands; null: not configured (a failing gate in production). */
  readonly evidenceDir: string | null;
  /** Off in production is a failing gate. */
  readonly required: boolean;
  /** A passing artifact younger than this is accepted instead of a new run (0: always run). */
  readonly maxArtifactAgeMs: number;
  readonly options: Readonly<PreflightOptions>;
}

export type ModelRef = { manifest: string; trustedKeysFile: string } | null;

/** The evidence directory's gate: configured, and creatable and writable. */
export function evidenceDirFailures(dir: string | null): GateFailure[] {
  if (dir === null) {
    return [{ gate: 'evidence-dir', problem: 'no evidence directory is configured', remedy: 'set evidenceDir (TG_EVIDENCE_DIR) to a directory on durable storage' }];
  }
  try {
    makeDirs(dir);
    fs.accessSync(dir, fs.constants.W_OK);
    return [];
  } catch {
    return [{ gate: 'evidence-dir', problem: `the evidence directory ${dir} cannot be created or written`, remedy: `create ${dir} and make it writable by this process` }];
  }
}

function summary(r: PreflightReport): string {
  if (r.status === 'bad-config') return `the preflight's configuration is invalid: ${r.error?.message ?? ''}`;
  const counted = r.findings.filter((f) => f.counts);
  const parts: string[] = [];
  if (counted.length > 0) {
    const shown = counted.slice(0, 5).map((f) => `${f.package}@${f.version} ${f.advisories.map((a) => a.id).join('/')} (${f.severity})`);
    parts.push(`${counted.length} known vulnerabilit${counted.length === 1 ? 'y' : 'ies'} at or above ${r.threshold}: ${shown.join(', ')}${counted.length > 5 ? ', ...' : ''}`);
  }
  if (r.tree.problems.length > 0) parts.push(`${r.tree.problems.length} installed-tree problem(s): ${r.tree.problems.slice(0, 3).map((p) => p.detail).join('; ')}`);
  if (!r.sources.some((s) => s.ok)) parts.push('no advisory source could be consulted');
  if (!r.tree.checked) parts.push(r.tree.detail);
  return `the security preflight ${r.status === 'cannot-check' ? 'could not check' : 'found'} ${parts.join('; ')}`;
}

/** The failure a preflight report makes (none when it passed or an override is in force). */
export function preflightFailures(r: PreflightReport): GateFailure[] {
  if (r.decision !== 'fail') return [];
  return [{ gate: 'security-preflight', problem: summary(r), remedy: r.remedies.join('; ') }];
}

/** A failing preflight let through by an override is never silent: a process warning says who
 * set it and until when (the evidence records the same). */
export function warnOnPreflightOverride(r: PreflightReport): void {
  if (r.decision !== 'override') return;
  process.emitWarning(`security preflight failed (${r.status}) and runs on under TG_SECURITY_HARD_FAIL=0 set by ${r.override?.user ?? '?'} until ${r.override?.until ?? '?'}`, { code: 'TG_SECURITY_OVERRIDE' });
}

/**
 * The preflight's gate for a synchronous start (the guardian): off is a failure; else a recent
 * passing artifact, or a run of the offline preflight now, recorded when the evidence directory
 * can take it.
 */
export function securityPreflightFailures(s: ResolvedSecurityConfig, evidenceOk: boolean, entryPoint: EntryPoint, model: ModelRef): GateFailure[] {
  if (!s.required) {
    return [{ gate: 'security-preflight', problem: 'the security preflight is off (securityPreflight.required: false)', remedy: 'leave securityPreflight.required on in production' }];
  }
  const projectDir = path.resolve(s.options.projectDir ?? process.cwd());
  if (evidenceOk && s.evidenceDir !== null) {
    const accepted = acceptablePreflight(s.evidenceDir, {
      maxAgeMs: s.maxArtifactAgeMs,
      projectDir,
      lockfileSha256: lockfileSha256(projectDir),
      allowlistSha256: allowlistSha256(s.options.allowlistFile),
      threshold: s.options.severityThreshold ?? 'moderate',
      nodeVersion: s.options.nodeVersion ?? process.version,
      advisoryDb: s.options.advisoryDb ?? defaultSecurityWgDir(),
      osvDir: s.options.osvDir === undefined ? null : path.resolve(s.options.osvDir),
      now: Date.now(),
    });
    if (accepted !== null) return [];
  }
  const report = runPreflightSync({ ...s.options, projectDir });
  warnOnPreflightOverride(report);
  const failures = preflightFailures(report);
  if (evidenceOk && s.evidenceDir !== null) {
    try {
      recordPreflight(s.evidenceDir, report, entryPoint, model);
    } catch (err) {
      failures.push({ gate: 'evidence-dir', problem: `the preflight's evidence could not be written: ${(err as Error).message}`, remedy: 'fix the evidence directory (see the message), then start again' });
    }
  }
  return failures;
}

function allowlistSha256(file: string | undefined): string | null {
  if (file === undefined) return null;
  try {
    return sha256Hex(fs.readFileSync(file));
  } catch {
    return null; // the preflight itself reports the unreadable allowlist
  }
}

/** Writes the startup-gate decision (pass or fail, every failure with its remedy). */
export function recordGateDecision(dir: string, entryPoint: EntryPoint, failures: readonly GateFailure[], model: ModelRef, extra: Record<string, unknown> = {}): void {
  const decision = failures.length === 0 ? 'pass' : 'fail';
  const time = new Date();
  writeArtifact(
    dir,
    'startup_gate',
    { kind: 'startup_gate', v: 1, time: time.toISOString(), entryPoint, decision, failures, versions: evidenceVersions(model), ...extra },
    { event: 'startup-gate', decision, detail: { entryPoint, failures: failures.length, gates: failures.map((f) => f.gate).join(',') || null } },
    time,
  );
}
