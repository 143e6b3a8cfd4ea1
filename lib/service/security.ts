/**
 * The service's security preflight and evidence (issue 16): the preflight runs once at start,
 * with the npm registry as a second source when it answers, before any model loads; its artifact
 * lands in the evidence directory, where each guardian's own gate then accepts it (same project,
 * lockfile, allowlist, threshold and Node.js, minutes old) instead of running it again. The run
 * audit gets a line for every start (started, refused, failed) and stop.
 */
import * as path from 'node:path';

import { appendRunEvent, type RunEvent } from '../evidence/run-audit';
import { recordPreflight } from '../evidence/preflight-evidence';
import type { GateFailure } from '../guardian/gates';
import { evidenceDirFailures, preflightFailures } from '../guardian/security-gate';
import type { SecurityPreflightConfig } from '../guardian/types';
import { defaultTrustedKeysFile } from '../model/signature';
import { runPreflight, type PreflightOptions, type PreflightReport } from '../security/preflight';
import type { ServiceConfig } from './config';

/** The preflight's options from the service configuration. */
export function preflightOptionsOf(c: ServiceConfig): PreflightOptions {
  const s = c.security;
  const o: PreflightOptions = { registry: s.registry ?? false, severityThreshold: s.severityThreshold };
  if (s.projectDir !== null) o.projectDir = path.resolve(s.projectDir);
  if (s.allowlistFile !== null) o.allowlistFile = path.resolve(s.allowlistFile);
  if (s.osvDir !== null) o.osvDir = path.resolve(s.osvDir);
  if (s.advisoryDb !== null) o.advisoryDb = path.resolve(s.advisoryDb);
  if (s.omitDev !== null) o.omitDev = s.omitDev;
  return o;
}

/** What each guardian is given: the same preflight, which finds the service's artifact. */
export function guardianPreflightOf(c: ServiceConfig): SecurityPreflightConfig {
  const s = c.security;
  const g: SecurityPreflightConfig = { required: s.preflight, maxArtifactAgeHours: s.maxArtifactAgeHours, severityThreshold: s.severityThreshold };
  if (s.projectDir !== null) g.projectDir = path.resolve(s.projectDir);
  if (s.allowlistFile !== null) g.allowlistFile = path.resolve(s.allowlistFile);
  if (s.osvDir !== null) g.osvDir = path.resolve(s.osvDir);
  if (s.advisoryDb !== null) g.advisoryDb = path.resolve(s.advisoryDb);
  if (s.omitDev !== null) g.omitDev = s.omitDev;
  return g;
}

export interface ServiceSecurity {
  readonly evidenceDir: string | null;
  readonly report: PreflightReport | null;
  /** The evidence directory's and the preflight's failures (all of them; production reports them
   * with the other gates, other profiles only the preflight's when it was asked for). */
  readonly failures: GateFailure[];
}

/** Runs the start's preflight (when configured) and records it. */
export async function startSecurity(c: ServiceConfig): Promise<ServiceSecurity> {
  const evidenceDir = c.evidenceDir === null ? null : path.resolve(c.evidenceDir);
  const evidence = evidenceDirFailures(evidenceDir);
  const failures: GateFailure[] = c.profile === 'production' || evidenceDir !== null ? [...evidence] : [];
  if (!c.security.preflight) {
    if (c.profile === 'production') failures.push({ gate: 'security-preflight', problem: 'the security preflight is off (security.preflight: false)', remedy: 'leave security.preflight on in production (TG_SECURITY_PREFLIGHT=on)' });
    return { evidenceDir, report: null, failures };
  }
  const report = await runPreflight(preflightOptionsOf(c));
  failures.push(...preflightFailures(report));
  if (evidence.length === 0 && evidenceDir !== null) {
    const first = c.models[0];
    try {
      recordPreflight(evidenceDir, report, 'serve', first === undefined ? null : { manifest: first.manifest, trustedKeysFile: defaultTrustedKeysFile() });
    } catch (err) {
      failures.push({ gate: 'evidence-dir', problem: `the preflight's evidence could not be written: ${(err as Error).message}`, remedy: 'fix the evidence directory (see the message), then start again' });
    }
  }
  return { evidenceDir, report, failures };
}

/** One run audit line, when there is an evidence directory; a failure to write is returned, not
 * thrown (a stop must complete whatever the disk does). */
export function runEvent(dir: string | null, event: RunEvent): Error | null {
  if (dir === null) return null;
  try {
    appendRunEvent(dir, event);
    return null;
  } catch (err) {
    return err as Error;
  }
}
