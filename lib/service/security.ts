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
import { evidenceDirFailures, preflightFailures, warnOnPreflightOverride } from '../guardian/security-gate';
import type { SecurityPreflightConfig } from '../guardian/types';
import { defaultTrustedKeysFile } from '../model/signature';
import { runPreflight, type PreflightOptions, type PreflightReport } from '../security/preflight';
import type { ServiceConfig } from './config';

/** The options the start's preflight and each guardian's share: paths resolved, nulls left out. */
function sharedOptions(c: ServiceConfig): Omit<SecurityPreflightConfig, 'required' | 'maxArtifactAgeHours'> {
  const s = c.security;
  const out: ReturnType<typeof sharedOptions> = { severityThreshold: s.severityThreshold };
  for (const k of ['projectDir', 'allowlistFile', 'osvDir', 'advisoryDb'] as const) if (s[k] !== null) out[k] = path.resolve(s[k]);
  if (s.omitDev !== null) out.omitDev = s.omitDev;
  return out;
}

/** The preflight's options from the service configuration. */
export function preflightOptionsOf(c: ServiceConfig): PreflightOptions {
  return { ...sharedOptions(c), registry: c.security.registry ?? false };
}

/** What each guardian is given: the same preflight, which finds the service's artifact. */
export function guardianPreflightOf(c: ServiceConfig): SecurityPreflightConfig {
  return { ...sharedOptions(c), required: c.security.preflight, maxArtifactAgeHours: c.security.maxArtifactAgeHours };
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
  warnOnPreflightOverride(report);
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
