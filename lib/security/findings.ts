/**
 * Installed versions matched against advisories, one finding per vulnerability per installed
 * version (the same vulnerability reported by two sources, known by a shared CVE, is one finding
 * listing both), then the threshold and the allowlist applied: a finding counts when it is at or
 * above the threshold and no live allowlist entry names it.
 */
import { affects, indexByPackage, type Advisory } from './advisory';
import { entriesFor, type AllowlistEntry } from './allowlist';
import type { InstalledPackage } from './installed-tree';
import { meetsThreshold, SEVERITIES, type Severity } from './severity';

/** An advisory as a finding lists it (its package is the finding's). */
export type AdvisoryRef = Omit<Advisory, 'package'>;

export interface Finding {
  /** The npm package, or 'node' for the runtime. */
  readonly package: string;
  readonly version: string;
  /** Where it is installed (node_modules/...; 'process' for the runtime). */
  readonly paths: readonly string[];
  readonly advisories: readonly AdvisoryRef[];
  /** The highest known severity among the advisories (unknown only when none is known). */
  readonly severity: Severity;
  /** At or above the threshold and not allowlisted by a live entry: it fails the preflight. */
  counts: boolean;
  allowlisted: { readonly id: string; readonly expires: string; readonly tracking: string; readonly justification: string } | null;
  /** An entry named it but has expired (so it counts again). */
  expiredAllowlist: { readonly id: string; readonly expires: string; readonly tracking: string } | null;
  readonly remedy: string;
}

export type Threshold = (typeof SEVERITIES)[number];

const ref = ({ package: _package, ...rest }: Advisory): AdvisoryRef => rest;

/** One key per vulnerability: its first CVE when it has one (shared across sources), else its id. */
const vulnKey = (a: Advisory): string => [...a.aliases].filter((x) => /^CVE-/i.test(x)).sort()[0]?.toUpperCase() ?? a.id.toUpperCase();

const ORDER: readonly Severity[] = ['low', 'moderate', 'high', 'critical'];
function worst(list: readonly AdvisoryRef[]): Severity {
  const known = list.map((a) => a.severity).filter((s) => s !== 'unknown');
  return known.length === 0 ? 'unknown' : known.reduce((m, s) => (ORDER.indexOf(s) > ORDER.indexOf(m) ? s : m));
}

function remedyOf(pkg: string, version: string, runtime: boolean, list: readonly AdvisoryRef[]): string {
  const ids = list.map((a) => a.id).join(', ');
  if (runtime) {
    const patched = list.find((a) => a.patched !== null)?.patched;
    return `upgrade Node.js ${version}${patched ? ` to a release in ${patched}` : ''} (${ids})`;
  }
  const a = list[0]!;
  return `upgrade ${pkg} ${version} out of ${a.vulnerable}${a.patched ? ` (patched: ${a.patched})` : ''}; \`npm ls ${pkg}\` shows what requires it; or allowlist ${ids} with a justification, an expiry and a tracking reference`;
}

/** Matches every installed package against the package advisories, and the runtime (as 'node'
 * at `nodeVersion`) against the core ones: two lists, since npm has a package named node too. */
export function matchAdvisories(installed: readonly InstalledPackage[], advisories: readonly Advisory[], core: readonly Advisory[], nodeVersion: string | null): Finding[] {
  const byName = indexByPackage(advisories);
  const groups = new Map<string, { pkg: string; version: string; paths: Set<string>; refs: Map<string, AdvisoryRef> }>();
  const add = (pkg: string, version: string, where: string, a: Advisory): void => {
    const key = `${where === 'process' ? 'runtime ' : ''}${pkg}@${version} ${vulnKey(a)}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { pkg, version, paths: new Set(), refs: new Map() }));
    g.paths.add(where);
    g.refs.set(`${a.source} ${a.id}`, ref(a));
  };
  for (const p of installed) {
    for (const a of byName.get(p.name) ?? []) if (affects(a, p.version)) add(p.name, p.version, p.path, a);
  }
  if (nodeVersion !== null) for (const a of core) if (affects(a, nodeVersion)) add('node', nodeVersion, 'process', a);
  return [...groups.values()].map((g) => {
    const refs = [...g.refs.values()];
    return {
      package: g.pkg,
      version: g.version,
      paths: [...g.paths].sort(),
      advisories: refs,
      severity: worst(refs),
      counts: false,
      allowlisted: null,
      expiredAllowlist: null,
      remedy: remedyOf(g.pkg, g.version, g.paths.has('process'), refs),
    };
  });
}

export interface AllowlistUse {
  readonly id: string;
  readonly package: string | null;
  readonly expires: string;
  readonly tracking: string;
  readonly status: 'used' | 'unused' | 'expired';
}

/** Sets `counts`, `allowlisted` and `expiredAllowlist` on every finding; how each entry was used. */
export function applyPolicy(findings: Finding[], threshold: Threshold, entries: readonly AllowlistEntry[], now: number): AllowlistUse[] {
  const used = new Set<AllowlistEntry>();
  for (const f of findings) {
    const ids = f.advisories.flatMap((a) => [a.id, ...a.aliases]);
    const named = entriesFor(entries, ids, f.package);
    const live = named.find((e) => e.expiresAt >= now);
    const expired = named.find((e) => e.expiresAt < now);
    if (live !== undefined) {
      used.add(live);
      f.allowlisted = { id: live.id, expires: live.expires, tracking: live.tracking, justification: live.justification };
    } else if (expired !== undefined) {
      f.expiredAllowlist = { id: expired.id, expires: expired.expires, tracking: expired.tracking };
    }
    f.counts = live === undefined && meetsThreshold(f.severity, threshold);
  }
  return entries.map((e) => ({
    id: e.id,
    package: e.package,
    expires: e.expires,
    tracking: e.tracking,
    status: e.expiresAt < now ? 'expired' : used.has(e) ? 'used' : 'unused',
  }));
}
