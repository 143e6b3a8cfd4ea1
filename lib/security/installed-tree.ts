/**
 * What is installed, and whether it is consistent (the equivalent of `pip check`): every package
 * under node_modules (nested and scoped ones too) with its version; `npm ls --all --json`'s
 * problems (missing, invalid, extraneous); and the lockfile compared entry by entry with what is
 * on disk (a package the lockfile pins at one version and node_modules holds at another, or holds
 * at all when the lockfile does not list it).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import semver from 'semver';

export interface InstalledPackage {
  readonly name: string;
  readonly version: string;
  /** Relative to the project, '/'-separated: node_modules/a/node_modules/b. */
  readonly path: string;
}

export type TreeProblemKind = 'missing' | 'invalid' | 'extraneous' | 'lockfile-mismatch' | 'not-in-lockfile' | 'no-lockfile' | 'bad-version' | 'npm-ls';

export interface TreeProblem {
  readonly kind: TreeProblemKind;
  readonly detail: string;
}

function readJson(file: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Every package under `<projectDir>/node_modules`; linked packages (workspaces, npm link) are
 * listed but not descended into. Versions node-semver cannot read come back in `problems`. */
export function installedPackages(projectDir: string): { packages: InstalledPackage[]; problems: TreeProblem[] } {
  const packages: InstalledPackage[] = [];
  const problems: TreeProblem[] = [];
  const visit = (rel: string, link: boolean): void => {
    const pkg = readJson(path.join(projectDir, rel, 'package.json'));
    if (pkg === null) return; // a directory without a manifest is not a package (npm ls reports what is missing)
    const name = typeof pkg.name === 'string' ? pkg.name : rel.slice(rel.lastIndexOf('node_modules/') + 13);
    const version = typeof pkg.version === 'string' ? pkg.version : '';
    if (semver.valid(version, { loose: true }) === null) problems.push({ kind: 'bad-version', detail: `${rel}: version ${JSON.stringify(pkg.version)} is not a semantic version` });
    else packages.push({ name, version, path: rel });
    if (!link) walk(`${rel}/node_modules`);
  };
  const walk = (rel: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(projectDir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue; // .bin, .package-lock.json, .cache
      const child = `${rel}/${e.name}`;
      if (e.name.startsWith('@') && e.isDirectory()) walk(child);
      else if (e.isDirectory() || e.isSymbolicLink()) visit(child, e.isSymbolicLink());
    }
  };
  walk('node_modules');
  return { packages, problems };
}

/** The lockfile's view against the disk. `omitDev`: dev-only entries may be absent. */
export function lockfileProblems(projectDir: string, installed: readonly InstalledPackage[], omitDev: boolean): { lockfile: string | null; problems: TreeProblem[] } {
  const lockfile = ['npm-shrinkwrap.json', 'package-lock.json'].map((f) => path.join(projectDir, f)).find((f) => fs.existsSync(f)) ?? null;
  if (lockfile === null) {
    return { lockfile, problems: [{ kind: 'no-lockfile', detail: `no package-lock.json in ${projectDir}: what is installed cannot be compared with what was approved` }] };
  }
  const lock = readJson(lockfile);
  const entries = lock?.packages;
  if (entries === null || typeof entries !== 'object' || Array.isArray(entries)) {
    return { lockfile, problems: [{ kind: 'no-lockfile', detail: `${lockfile} has no "packages" map (lockfileVersion 2 or 3, npm 7 or later, is needed)` }] };
  }
  const problems: TreeProblem[] = [];
  const onDisk = new Map(installed.map((p) => [p.path, p.version]));
  for (const [key, raw] of Object.entries(entries as Record<string, unknown>)) {
    if (!key.startsWith('node_modules/')) continue; // the root, workspace sources and their own trees
    const e = (raw ?? {}) as Record<string, unknown>;
    const have = onDisk.get(key);
    onDisk.delete(key);
    if (e.link === true) continue; // a workspace or linked package: its source is checked where it lives
    if (have === undefined) {
      if (e.optional === true || (omitDev && (e.dev === true || e.devOptional === true))) continue;
      problems.push({ kind: 'lockfile-mismatch', detail: `${key}: the lockfile pins ${String(e.version)}, node_modules has nothing there` });
    } else if (typeof e.version === 'string' && e.version !== have) {
      problems.push({ kind: 'lockfile-mismatch', detail: `${key}: the lockfile pins ${e.version}, node_modules has ${have}` });
    }
  }
  for (const [p, v] of onDisk) problems.push({ kind: 'not-in-lockfile', detail: `${p}@${v} is installed but not in ${path.basename(lockfile)}` });
  return { lockfile, problems };
}

/** `npm ls --all --json` problems; throws with the reason when npm cannot be run or answers
 * something that is not its JSON. */
export function npmLsProblems(projectDir: string, omitDev: boolean, npmCommand = 'npm'): TreeProblem[] {
  const args = ['ls', '--all', '--json', ...(omitDev ? ['--omit=dev'] : [])];
  let stdout: string;
  try {
    stdout = execFileSync(npmCommand, args, { cwd: projectDir, encoding: 'utf8', maxBuffer: 256 << 20, timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error(`${npmCommand} is not installed (or not on PATH)`);
    if (typeof e.stdout !== 'string' || e.stdout.trim() === '') throw new Error(`npm ls failed: ${(e.stderr ?? e.message).trim().split('\n')[0]}`);
    stdout = e.stdout; // npm ls exits 1 when it found problems, with its JSON on stdout
  }
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(stdout) as Record<string, unknown>;
  } catch {
    throw new Error('npm ls did not print JSON');
  }
  const list = Array.isArray(parsed.problems) ? parsed.problems.filter((p): p is string => typeof p === 'string') : [];
  return list.map((p) => {
    const kind = /^(missing|invalid|extraneous):/.exec(p)?.[1] as TreeProblemKind | undefined;
    return { kind: kind ?? 'npm-ls', detail: p };
  });
}
