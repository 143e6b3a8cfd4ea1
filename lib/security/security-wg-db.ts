/**
 * The Node.js Security WG vulnerability database (github.com/nodejs/security-wg, `vuln/`), the
 * offline advisory source: `vuln/npm/index.json` (npm packages: module_name,
 * vulnerable_versions, patched_versions, cves, cvss_score, cvss_vector) and
 * `vuln/core/index.json` (Node.js itself: vulnerable, patched, cve, severity). The index files
 * are the repository's own, equal to its per-advisory files. A snapshot ships in
 * security/advisories/nodejs-security-wg/ (MIT, SOURCE.md says which commit); an operator can
 * point at a newer checkout of the same repository.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { codedError, ErrorCode } from '../errors';
import { packageRoot } from '../native/addon';
import { validRange, type Advisory } from './advisory';
import { cvss3BaseScore, severityOfScore, severityOfWord, type Severity } from './severity';

export interface SecurityWgDb {
  readonly dir: string;
  /** npm package advisories. */
  readonly packages: readonly Advisory[];
  /** Advisories against the Node.js runtime (package 'node'). */
  readonly core: readonly Advisory[];
  /** Entries that could not be used (an unreadable range): reported, never silently dropped. */
  readonly skipped: readonly string[];
  /** From SOURCE.md when present: the upstream commit and its date (YYYY-MM-DD). */
  readonly snapshot: { readonly commit: string | null; readonly date: string | null };
}

export function defaultSecurityWgDir(): string {
  return path.join(packageRoot(), 'security', 'advisories', 'nodejs-security-wg');
}

type Entry = Record<string, unknown>;

function readIndex(file: string): Record<string, Entry> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw codedError(ErrorCode.AdvisorySourceInvalid, `advisory database: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw codedError(ErrorCode.AdvisorySourceInvalid, `advisory database: ${file} is not an object of advisories keyed by id`);
  }
  return parsed as Record<string, Entry>;
}

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? v.trim() : null);

function npmSeverity(e: Entry): { severity: Severity; score: number | null } {
  if (typeof e.cvss_score === 'number') return { severity: severityOfScore(e.cvss_score), score: e.cvss_score };
  const computed = typeof e.cvss_vector === 'string' ? cvss3BaseScore(e.cvss_vector) : null;
  return computed === null ? { severity: 'unknown', score: null } : { severity: severityOfScore(computed), score: computed };
}

function npmAdvisory(id: string, e: Entry): Advisory | null {
  const name = text(e.module_name);
  const vulnerable = validRange(e.vulnerable_versions);
  if (name === null || vulnerable === null) return null;
  const { severity, score } = npmSeverity(e);
  return {
    id: `NSWG-ECO-${id}`,
    aliases: strings(e.cves),
    package: name,
    title: text(e.title) ?? `advisory ${id} for ${name}`,
    severity,
    cvssScore: score,
    vulnerable,
    patched: validRange(e.patched_versions),
    url: strings(e.references)[0] ?? null,
    source: 'nodejs-security-wg',
  };
}

function coreAdvisory(id: string, e: Entry): Advisory | null {
  const vulnerable = validRange(e.vulnerable);
  if (vulnerable === null) return null;
  const title = text(e.description) ?? text(e.overview)?.split('\n')[0] ?? `Node.js core advisory ${id}`;
  return {
    id: `NSWG-COR-${id}`,
    aliases: strings(e.cve),
    package: 'node',
    title,
    severity: severityOfWord(e.severity),
    cvssScore: typeof e.cvss_score === 'number' ? e.cvss_score : null,
    vulnerable,
    patched: validRange(e.patched),
    url: text(e.ref),
    source: 'nodejs-security-wg',
  };
}

function snapshotOf(dir: string): SecurityWgDb['snapshot'] {
  try {
    const source = fs.readFileSync(path.join(dir, 'SOURCE.md'), 'utf8');
    const m = /commit\s+([0-9a-f]{7,40})\s*\((\d{4}-\d{2}-\d{2})\)/.exec(source);
    return { commit: m?.[1] ?? null, date: m?.[2] ?? null };
  } catch {
    return { commit: null, date: null };
  }
}

/** Loads the database at `dir` (the directory holding `vuln/`); TG_ADVISORY_SOURCE_INVALID when
 * an index is missing or not JSON. */
export function loadSecurityWgDb(dir: string = defaultSecurityWgDir()): SecurityWgDb {
  const root = path.resolve(dir);
  const skipped: string[] = [];
  const collect = (kind: 'npm' | 'core', make: (id: string, e: Entry) => Advisory | null): Advisory[] => {
    const out: Advisory[] = [];
    for (const [id, e] of Object.entries(readIndex(path.join(root, 'vuln', kind, 'index.json')))) {
      const a = e !== null && typeof e === 'object' ? make(id, e) : null;
      if (a === null) skipped.push(`${kind}/${id}: no usable package name or version range`);
      else out.push(a);
    }
    return out;
  };
  const packages = collect('npm', npmAdvisory);
  const core = collect('core', coreAdvisory);
  return { dir: root, packages, core, skipped, snapshot: snapshotOf(root) };
}
