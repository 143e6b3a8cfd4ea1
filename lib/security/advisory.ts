/**
 * One advisory, whatever its source (the Security WG database, an OSV directory, the npm
 * registry), and the one rule that says whether it affects an installed version: inside the
 * vulnerable range and outside the patched one, prereleases included (a 2.0.0-rc.1 is inside
 * "<2.0.0": fail closed).
 */
import semver from 'semver';

import type { Severity } from './severity';

export type AdvisorySourceName = 'nodejs-security-wg' | 'osv' | 'npm-registry';

export interface Advisory {
  /** The source's id: NSWG-ECO-493, NSWG-COR-163, GHSA-35jh-r3h4-6jhm, ... */
  readonly id: string;
  /** Other ids of the same vulnerability (CVE-..., GHSA-...): an allowlist entry may name any. */
  readonly aliases: readonly string[];
  /** The npm package name, or 'node' for the runtime itself. */
  readonly package: string;
  readonly title: string;
  readonly severity: Severity;
  readonly cvssScore: number | null;
  /** A semver range (node-semver syntax). */
  readonly vulnerable: string;
  readonly patched: string | null;
  readonly url: string | null;
  readonly source: AdvisorySourceName;
}

const RANGE_OPTIONS = { includePrerelease: true, loose: true } as const;

/** The range in node-semver's syntax, or null when node-semver cannot read it. */
export function validRange(range: unknown): string | null {
  if (typeof range !== 'string' || range.trim() === '') return null;
  try {
    return semver.validRange(range, RANGE_OPTIONS) === null ? null : range;
  } catch {
    return null;
  }
}

/** True when `version` is inside the advisory's vulnerable range and not inside its patched one. */
export function affects(a: Pick<Advisory, 'vulnerable' | 'patched'>, version: string): boolean {
  if (!semver.satisfies(version, a.vulnerable, RANGE_OPTIONS)) return false;
  return a.patched === null || !semver.satisfies(version, a.patched, RANGE_OPTIONS);
}

/** Advisories by package name, for one lookup per installed package. */
export function indexByPackage(list: Iterable<Advisory>): Map<string, Advisory[]> {
  const out = new Map<string, Advisory[]>();
  for (const a of list) {
    const l = out.get(a.package);
    if (l === undefined) out.set(a.package, [a]);
    else l.push(a);
  }
  return out;
}
