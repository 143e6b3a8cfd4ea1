/**
 * A preflight's evidence: its artifact (the whole report, what ran, where it was asked from) and
 * its run audit line; and the search for a recent passing artifact that a production start may
 * accept instead of running the preflight again. An artifact is accepted only when it passed,
 * is younger than the allowed age, and was made for the same project, lockfile (sha256), allowlist
 * (sha256), threshold, offline sources and Node.js version, and the run audit names it with its sha256 (an artifact
 * edited after the fact, or dropped into the directory by hand, is not accepted).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { sha256Hex } from '../audit/chain';
import type { PreflightReport } from '../security/preflight';
import { namedInRunAudit, readArtifacts, writeArtifact, type WrittenArtifact } from './artifacts';
import { evidenceVersions } from './versions';

export type EntryPoint = 'cli' | 'guardian' | 'serve';

export interface PreflightArtifact {
  readonly kind: 'security_preflight';
  readonly v: 1;
  readonly entryPoint: EntryPoint;
  readonly versions: ReturnType<typeof evidenceVersions>;
  readonly report: PreflightReport;
}

export function recordPreflight(dir: string, report: PreflightReport, entryPoint: EntryPoint, model: { manifest: string; trustedKeysFile: string } | null = null): WrittenArtifact {
  const body: PreflightArtifact = { kind: 'security_preflight', v: 1, entryPoint, versions: evidenceVersions(model), report };
  return writeArtifact(
    dir,
    'security_preflight',
    body,
    {
      event: 'preflight',
      decision: report.decision,
      detail: {
        entryPoint,
        status: report.status,
        exitCode: report.exitCode,
        findings: report.findings.filter((f) => f.counts).length,
        treeProblems: report.tree.problems.length,
        overrideBy: report.override?.used === true ? report.override.user : null,
        overrideUntil: report.override?.used === true ? report.override.until : null,
      },
    },
    new Date(report.time),
  );
}

export interface AcceptCriteria {
  readonly maxAgeMs: number;
  readonly projectDir: string;
  readonly lockfileSha256: string | null;
  readonly allowlistSha256: string | null;
  readonly threshold: string;
  readonly nodeVersion: string;
  /** The offline sources asked for: an artifact made without them does not stand for a run with them. */
  readonly advisoryDb: string | false;
  readonly osvDir: string | null;
  readonly now: number;
}

/** The lockfile the preflight would read, hashed (null: none). */
export function lockfileSha256(projectDir: string): string | null {
  for (const f of ['npm-shrinkwrap.json', 'package-lock.json']) {
    try {
      return sha256Hex(fs.readFileSync(path.join(projectDir, f)));
    } catch {
      // try the next name
    }
  }
  return null;
}

function acceptable(a: PreflightArtifact, c: AcceptCriteria): boolean {
  const r = a.report;
  const age = c.now - Date.parse(r.time);
  return (
    a.kind === 'security_preflight' &&
    r.decision === 'pass' &&
    age >= -60_000 && // a clock a minute behind the writer's is tolerated, not more
    age <= c.maxAgeMs &&
    r.projectDir === c.projectDir &&
    (r.lockfile?.sha256 ?? null) === c.lockfileSha256 &&
    (r.allowlist?.sha256 ?? null) === c.allowlistSha256 &&
    r.threshold === c.threshold &&
    r.node === c.nodeVersion &&
    r.inputs?.advisoryDb === c.advisoryDb &&
    (r.inputs?.osvDir ?? null) === c.osvDir
  );
}

/** The newest passing artifact that meets the criteria, or null. */
export function acceptablePreflight(dir: string, c: AcceptCriteria): { file: string; report: PreflightReport } | null {
  if (c.maxAgeMs <= 0) return null;
  for (const { file, body, sha256 } of readArtifacts(dir, 'security_preflight')) {
    const a = body as PreflightArtifact;
    if (a?.report === undefined || !acceptable(a, c)) continue;
    if (namedInRunAudit(dir, file, sha256, a.report.time.slice(0, 10))) return { file, report: a.report };
  }
  return null;
}
