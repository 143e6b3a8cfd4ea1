/**
 * The security preflight (seed 003): is the installed tree consistent, and does any installed
 * package version, or the running Node.js, have a known vulnerability at or above the threshold
 * that no live allowlist entry accepts? Sources: the Node.js Security WG database shipped with
 * this package (offline), an OSV directory when given, and the npm registry's bulk endpoint when
 * it answers. Strict: when no advisory source can be consulted, or the tree cannot be checked,
 * the preflight cannot pass. There is no lenient mode; the override (override.ts) is the one way
 * through, and it expires.
 *
 * Exit codes (`exitCode`): 0 pass (or an override in force), 1 findings, 2 cannot check,
 * 3 bad configuration. Findings win over "cannot check": what was found is certain.
 * runPreflightSync is the same without the registry, for a synchronous caller (the guardian's
 * constructor); runPreflight adds the registry.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { ErrorCode } from '../errors';
import type { Advisory } from './advisory';
import { loadAllowlist } from './allowlist';
import { applyPolicy, matchAdvisories, type AllowlistUse, type Finding, type Threshold } from './findings';
import { installedPackages, lockfileProblems, npmLsProblems, type InstalledPackage, type TreeProblem } from './installed-tree';
import { loadOsvDir } from './osv';
import { readOverride, type SecurityOverride } from './override';
import { DEFAULT_REGISTRY, queryRegistry } from './registry-audit';
import { defaultSecurityWgDir, loadSecurityWgDb } from './security-wg-db';
import { SEVERITIES, type Severity } from './severity';

const RANK: Readonly<Record<Severity, number>> = { unknown: 4, critical: 3, high: 2, moderate: 1, low: 0 };

export interface PreflightOptions {
  /** The project whose node_modules is checked (default: the working directory). */
  projectDir?: string;
  /** A Security WG database checkout (the directory holding vuln/); false: not used. Default: the shipped snapshot. */
  advisoryDb?: string | false;
  /** A directory of OSV JSON files. */
  osvDir?: string;
  /** The registry to ask (default: $npm_config_registry, else registry.npmjs.org); false: offline. */
  registry?: string | false;
  registryTimeoutMs?: number;
  /** Default 'moderate': moderate, high, critical (and unknown) findings fail. */
  severityThreshold?: Threshold;
  allowlistFile?: string;
  /** Dev dependencies may be absent (an install with --omit=dev). Default: NODE_ENV is production. */
  omitDev?: boolean;
  npmCommand?: string;
  /** The runtime checked against the core advisories (default: this process's). */
  nodeVersion?: string;
  /** Where TG_SECURITY_HARD_FAIL and TG_SECURITY_OVERRIDE_* are read (default: process.env). */
  env?: NodeJS.ProcessEnv;
  now?: number;
}

export type PreflightStatus = 'pass' | 'findings' | 'cannot-check' | 'bad-config';

export interface SourceReport {
  readonly name: 'nodejs-security-wg' | 'osv' | 'npm-registry';
  readonly ok: boolean;
  readonly location: string;
  readonly detail: string;
  readonly advisories: number;
  readonly skipped: readonly string[];
}

export interface PreflightReport {
  readonly v: 1;
  readonly time: string;
  durationMs: number;
  readonly projectDir: string;
  /** What was found, before any override. */
  readonly status: PreflightStatus;
  /** pass; fail; override (it failed, and an override in force lets it through). */
  readonly decision: 'pass' | 'fail' | 'override';
  readonly exitCode: 0 | 1 | 2 | 3;
  /** Bad configuration: the typed error. */
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly threshold: Threshold;
  readonly lockfile: { readonly path: string; readonly sha256: string } | null;
  readonly packages: number;
  readonly node: string | null;
  readonly sources: readonly SourceReport[];
  readonly tree: { readonly checked: boolean; readonly detail: string; readonly problems: readonly TreeProblem[] };
  readonly findings: readonly Finding[];
  readonly allowlist: { readonly file: string; readonly sha256: string; readonly entries: readonly AllowlistUse[] } | null;
  /** What the preflight was asked to do (with threshold, projectDir and the sources above). */
  readonly inputs: { readonly advisoryDb: string | false; readonly osvDir: string | null; readonly registry: string | false; readonly omitDev: boolean; readonly hardFail: boolean };
  readonly override: (SecurityOverride & { readonly used: boolean }) | null;
  /** Unused and expired allowlist entries, skipped advisories, an old database. */
  readonly warnings: readonly string[];
  /** What to do about each thing that failed, in order. */
  readonly remedies: readonly string[];
}

/** The options with their defaults. */
function resolve(o: PreflightOptions): Required<Omit<PreflightOptions, 'osvDir' | 'allowlistFile'>> & Pick<PreflightOptions, 'osvDir' | 'allowlistFile'> {
  const env = o.env ?? process.env;
  return {
    projectDir: path.resolve(o.projectDir ?? process.cwd()),
    advisoryDb: o.advisoryDb ?? defaultSecurityWgDir(),
    osvDir: o.osvDir,
    registry: o.registry ?? env.npm_config_registry ?? DEFAULT_REGISTRY,
    registryTimeoutMs: o.registryTimeoutMs ?? 5000,
    severityThreshold: o.severityThreshold ?? 'moderate',
    allowlistFile: o.allowlistFile,
    omitDev: o.omitDev ?? env.NODE_ENV === 'production',
    npmCommand: o.npmCommand ?? 'npm',
    nodeVersion: o.nodeVersion ?? process.version,
    env,
    now: o.now ?? Date.now(),
  };
}

type Resolved = ReturnType<typeof resolve>;

const sha256File = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function inputsOf(r: Resolved): PreflightReport['inputs'] {
  return { advisoryDb: r.advisoryDb, osvDir: r.osvDir === undefined ? null : path.resolve(r.osvDir), registry: r.registry, omitDev: r.omitDev, hardFail: r.env.TG_SECURITY_HARD_FAIL !== '0' };
}

class BadConfig extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const configError = (err: unknown): BadConfig => {
  const code = (err as { code?: string }).code;
  return new BadConfig(code ?? ErrorCode.ConfigInvalid, (err as Error).message);
};

/** The offline sources (configuration errors throw BadConfig; the default database missing is a source that failed). */
function offlineSources(r: Resolved): { advisories: Advisory[]; core: Advisory[]; sources: SourceReport[]; warnings: string[] } {
  const sources: SourceReport[] = [];
  const advisories: Advisory[] = [];
  const core: Advisory[] = [];
  const warnings: string[] = [];
  if (r.advisoryDb !== false) {
    const isDefault = r.advisoryDb === defaultSecurityWgDir();
    try {
      const db = loadSecurityWgDb(r.advisoryDb);
      advisories.push(...db.packages);
      core.push(...db.core);
      const ageDays = db.snapshot.date === null ? null : Math.floor((r.now - Date.parse(`${db.snapshot.date}T00:00:00Z`)) / 86_400_000);
      if (ageDays === null) warnings.push(`the advisory database at ${db.dir} does not say when it was taken (no SOURCE.md with its commit and date)`);
      else if (ageDays > 90) warnings.push(`the advisory database snapshot is ${ageDays} days old (${db.snapshot.date}): add a newer OSV snapshot with --osv-dir, or let the registry answer`);
      sources.push({ name: 'nodejs-security-wg', ok: true, location: db.dir, detail: `snapshot ${db.snapshot.commit ?? 'unknown'} (${db.snapshot.date ?? 'date unknown'}): ${db.packages.length} package and ${db.core.length} Node.js advisories`, advisories: db.packages.length + db.core.length, skipped: db.skipped });
    } catch (err) {
      if (!isDefault) throw configError(err);
      sources.push({ name: 'nodejs-security-wg', ok: false, location: r.advisoryDb, detail: (err as Error).message, advisories: 0, skipped: [] });
    }
  }
  if (r.osvDir !== undefined) {
    try {
      const osv = loadOsvDir(r.osvDir);
      advisories.push(...osv.advisories);
      sources.push({ name: 'osv', ok: true, location: osv.dir, detail: `${osv.files} files, ${osv.advisories.length} npm advisories`, advisories: osv.advisories.length, skipped: osv.skipped });
    } catch (err) {
      throw configError(err);
    }
  }
  return { advisories, core, sources, warnings };
}

interface Collected {
  installed: InstalledPackage[];
  tree: PreflightReport['tree'];
  lockfile: PreflightReport['lockfile'];
}

function collectTree(r: Resolved): Collected {
  if (!fs.existsSync(path.join(r.projectDir, 'package.json'))) throw new BadConfig(ErrorCode.ConfigInvalid, `${r.projectDir} has no package.json: not a project to check`);
  const { packages: installed, problems } = installedPackages(r.projectDir);
  const lock = lockfileProblems(r.projectDir, installed, r.omitDev);
  problems.push(...lock.problems);
  const lockfile = lock.lockfile === null ? null : { path: lock.lockfile, sha256: sha256File(lock.lockfile) };
  let checked = true;
  let detail = `npm ls --all${r.omitDev ? ' --omit=dev' : ''}: ${installed.length} packages installed`;
  try {
    problems.push(...npmLsProblems(r.projectDir, r.omitDev, r.npmCommand));
  } catch (err) {
    checked = false;
    detail = `the installed tree could not be checked: ${(err as Error).message}`;
  }
  return { installed, lockfile, tree: { checked, detail, problems } };
}

/** The decision from what was found, the override applied. */
function decide(
  r: Resolved,
  parts: { sources: SourceReport[]; tree: PreflightReport['tree']; findings: Finding[] },
  override: SecurityOverride | null,
): { status: PreflightStatus; decision: PreflightReport['decision']; exitCode: PreflightReport['exitCode']; remedies: string[] } {
  const remedies: string[] = [];
  const counted = parts.findings.filter((f) => f.counts);
  for (const f of counted) remedies.push(f.remedy);
  if (parts.tree.problems.length > 0) remedies.push(`reinstall exactly what the lockfile says (npm ci${r.omitDev ? ' --omit=dev' : ''}), or update the lockfile through review: ${parts.tree.problems.length} tree problem(s)`);
  const anySource = parts.sources.some((s) => s.ok);
  if (!anySource) remedies.push('no advisory source could be consulted: reinstall tirex-guardian (its advisory snapshot is missing), give an OSV directory (--osv-dir), or let the npm registry answer');
  if (!parts.tree.checked) remedies.push(`${parts.tree.detail}: install npm beside node, or run the preflight where it is`);
  const status: PreflightStatus = counted.length > 0 || parts.tree.problems.length > 0 ? 'findings' : !anySource || !parts.tree.checked ? 'cannot-check' : 'pass';
  if (status === 'pass') return { status, decision: 'pass', exitCode: 0, remedies };
  if (override !== null) return { status, decision: 'override', exitCode: 0, remedies };
  return { status, decision: 'fail', exitCode: status === 'findings' ? 1 : 2, remedies };
}

interface Gathered {
  r: Resolved;
  override: SecurityOverride | null;
  allowlist: ReturnType<typeof loadAllowlist> | null;
  offline: ReturnType<typeof offlineSources>;
  collected: Collected;
}

function gather(options: PreflightOptions): Gathered {
  const r = resolve(options);
  if (!(SEVERITIES as readonly string[]).includes(r.severityThreshold)) throw new BadConfig(ErrorCode.ConfigInvalid, `severity threshold must be one of ${SEVERITIES.join(', ')}`);
  let override: SecurityOverride | null;
  let allowlist: ReturnType<typeof loadAllowlist> | null;
  try {
    override = readOverride(r.env, r.now);
    allowlist = r.allowlistFile === undefined ? null : loadAllowlist(r.allowlistFile, r.now);
  } catch (err) {
    throw configError(err);
  }
  return { r, override, allowlist, offline: offlineSources(r), collected: collectTree(r) };
}

function report(g: Gathered, extra: { advisories: Advisory[]; sources: SourceReport[] }, started: number): PreflightReport {
  const { r, collected } = g;
  const sources = [...g.offline.sources, ...extra.sources];
  const findings = matchAdvisories(collected.installed, [...g.offline.advisories, ...extra.advisories], g.offline.core, r.nodeVersion);
  const uses = applyPolicy(findings, r.severityThreshold, g.allowlist ?? [], r.now);
  // What fails first, the worst first; then by package.
  findings.sort((a, b) => Number(b.counts) - Number(a.counts) || RANK[b.severity] - RANK[a.severity] || a.package.localeCompare(b.package) || a.version.localeCompare(b.version));
  const warnings = [...g.offline.warnings];
  for (const u of uses) {
    if (u.status === 'expired') warnings.push(`allowlist entry ${u.id} expired on ${u.expires} and no longer counts (tracking: ${u.tracking})`);
    if (u.status === 'unused') warnings.push(`allowlist entry ${u.id} matches no finding: remove it (tracking: ${u.tracking})`);
  }
  for (const s of sources) if (s.skipped.length > 0) warnings.push(`${s.name}: ${s.skipped.length} advisories could not be used (${s.skipped.slice(0, 3).join('; ')}${s.skipped.length > 3 ? '; ...' : ''})`);
  const d = decide(r, { sources, tree: collected.tree, findings }, g.override);
  return {
    v: 1,
    time: new Date(r.now).toISOString(),
    durationMs: performance.now() - started,
    projectDir: r.projectDir,
    ...d,
    error: null,
    threshold: r.severityThreshold,
    lockfile: collected.lockfile,
    packages: collected.installed.length,
    node: r.nodeVersion,
    sources,
    tree: collected.tree,
    findings,
    allowlist: r.allowlistFile === undefined ? null : { file: path.resolve(r.allowlistFile), sha256: sha256File(r.allowlistFile), entries: uses },
    inputs: inputsOf(r),
    override: g.override === null ? null : { ...g.override, used: d.decision === 'override' },
    warnings,
    remedies: d.remedies,
  };
}

function badConfigReport(options: PreflightOptions, err: BadConfig, started: number): PreflightReport {
  const now = options.now ?? Date.now();
  return {
    v: 1,
    time: new Date(now).toISOString(),
    durationMs: performance.now() - started,
    projectDir: path.resolve(options.projectDir ?? process.cwd()),
    status: 'bad-config',
    decision: 'fail',
    exitCode: 3,
    error: { code: err.code, message: err.message },
    threshold: options.severityThreshold ?? 'moderate',
    lockfile: null,
    packages: 0,
    node: options.nodeVersion ?? process.version,
    sources: [],
    tree: { checked: false, detail: 'not checked: the configuration is invalid', problems: [] },
    findings: [],
    allowlist: null,
    inputs: { advisoryDb: options.advisoryDb ?? defaultSecurityWgDir(), osvDir: options.osvDir ?? null, registry: options.registry ?? false, omitDev: options.omitDev ?? false, hardFail: true },
    override: null,
    warnings: [],
    remedies: [`fix the configuration: ${err.message}`],
  };
}

/** The preflight from the offline sources only, synchronously (npm ls runs as a child process). */
export function runPreflightSync(options: PreflightOptions = {}): PreflightReport {
  const started = performance.now();
  try {
    return report(gather({ ...options, registry: false }), { advisories: [], sources: [] }, started);
  } catch (err) {
    if (err instanceof BadConfig) return badConfigReport(options, err, started);
    throw err;
  }
}

/** The whole preflight: the offline sources and, unless `registry: false`, the npm registry. */
export async function runPreflight(options: PreflightOptions = {}): Promise<PreflightReport> {
  const started = performance.now();
  let g: Gathered;
  try {
    g = gather(options);
  } catch (err) {
    if (err instanceof BadConfig) return badConfigReport(options, err, started);
    throw err;
  }
  const extra = { advisories: [] as Advisory[], sources: [] as SourceReport[] };
  if (g.r.registry !== false) {
    const versions = new Map<string, string[]>();
    for (const p of g.collected.installed) {
      const l = versions.get(p.name) ?? [];
      if (!l.includes(p.version)) l.push(p.version);
      versions.set(p.name, l);
    }
    try {
      const answer = await queryRegistry(g.r.registry, versions, g.r.registryTimeoutMs);
      extra.advisories.push(...answer.advisories);
      extra.sources.push({ name: 'npm-registry', ok: true, location: g.r.registry, detail: `${answer.advisories.length} advisories for the installed packages`, advisories: answer.advisories.length, skipped: answer.skipped });
    } catch (err) {
      extra.sources.push({ name: 'npm-registry', ok: false, location: g.r.registry, detail: `the bulk advisory endpoint did not answer: ${(err as Error).message}`, advisories: 0, skipped: [] });
    }
  }
  return report(g, extra, started);
}
