/**
 * OSV advisories (ossf.github.io/osv-schema; the format osv.dev and GitHub's advisory database
 * publish) read from a directory an operator fills with a newer snapshot: every `*.json` file
 * below it, each one advisory or an array of them. Only `npm` entries count; withdrawn ones are
 * skipped. Ranges (`SEMVER` or `ECOSYSTEM` events: introduced, fixed, last_affected) and explicit
 * `versions` become one node-semver range. Severity: GitHub's `database_specific.severity`, else
 * the CVSS v3 vector's base score, else unknown (which fails closed).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import semver from 'semver';

import { codedError, ErrorCode } from '../errors';
import type { Advisory } from './advisory';
import { cvss3BaseScore, severityOfScore, severityOfWord, type Severity } from './severity';

export interface OsvLoad {
  readonly dir: string;
  readonly files: number;
  readonly advisories: readonly Advisory[];
  /** Entries or ranges that could not be used (a malformed version): reported, never dropped silently. */
  readonly skipped: readonly string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const MAX_FILES = 100_000;

function jsonFiles(dir: string, out: string[] = []): string[] {
  // In name order: the same directory gives the same report on every filesystem.
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) jsonFiles(p, out);
    else if (e.isFile() && e.name.endsWith('.json')) out.push(p);
    if (out.length > MAX_FILES) throw codedError(ErrorCode.AdvisorySourceInvalid, `OSV directory ${dir}: more than ${MAX_FILES} files`);
  }
  return out;
}

function version(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  if (v === '0') return '0.0.0-0'; // OSV's "from the beginning", prereleases included
  return semver.valid(v, { loose: true });
}

/** The affected intervals of one range's events as node-semver ('>=a <b || >=c <=d || >=e'). */
function eventsRange(events: unknown, where: string, skipped: string[]): string[] {
  if (!Array.isArray(events)) return [];
  const parts: string[] = [];
  let start: string | null = null;
  for (const ev of events) {
    if (!isObj(ev)) continue;
    if ('introduced' in ev) {
      start = version(ev.introduced);
      if (start === null) skipped.push(`${where}: introduced ${JSON.stringify(ev.introduced)} is not a version`);
    } else if (start !== null && ('fixed' in ev || 'last_affected' in ev)) {
      const end = version(ev.fixed ?? ev.last_affected);
      if (end === null) skipped.push(`${where}: end ${JSON.stringify(ev.fixed ?? ev.last_affected)} is not a version`);
      else parts.push(`>=${start} ${'fixed' in ev ? '<' : '<='}${end}`);
      start = null;
    }
  }
  if (start !== null) parts.push(`>=${start}`);
  return parts;
}

function severityOf(o: Obj): { severity: Severity; score: number | null } {
  const list = Array.isArray(o.severity) ? o.severity.filter(isObj) : [];
  const v3 = list.find((s) => s.type === 'CVSS_V3' && typeof s.score === 'string');
  const score = v3 !== undefined ? cvss3BaseScore(v3.score as string) : null;
  const word = isObj(o.database_specific) ? severityOfWord(o.database_specific.severity) : 'unknown';
  if (word !== 'unknown') return { severity: word, score };
  return score === null ? { severity: 'unknown', score: null } : { severity: severityOfScore(score), score };
}

function advisoriesOf(o: Obj, file: string, skipped: string[]): Advisory[] {
  if (typeof o.id !== 'string' || o.withdrawn !== undefined || !Array.isArray(o.affected)) return [];
  const { severity, score } = severityOf(o);
  const refs = Array.isArray(o.references) ? o.references.filter(isObj) : [];
  const url = (refs.find((r) => r.type === 'ADVISORY') ?? refs[0])?.url;
  const out: Advisory[] = [];
  for (const aff of o.affected.filter(isObj)) {
    const pkg = isObj(aff.package) ? aff.package : {};
    if (pkg.ecosystem !== 'npm' || typeof pkg.name !== 'string') continue;
    const where = `${path.basename(file)} ${o.id} ${pkg.name}`;
    const ranges = Array.isArray(aff.ranges) ? aff.ranges.filter(isObj) : [];
    const parts = ranges.filter((r) => r.type === 'SEMVER' || r.type === 'ECOSYSTEM').flatMap((r) => eventsRange(r.events, where, skipped));
    for (const v of Array.isArray(aff.versions) ? aff.versions : []) {
      const exact = version(v);
      if (exact === null) skipped.push(`${where}: listed version ${JSON.stringify(v)} is not a version`);
      else parts.push(exact);
    }
    if (parts.length === 0) continue;
    out.push({
      id: o.id,
      aliases: Array.isArray(o.aliases) ? o.aliases.filter((a): a is string => typeof a === 'string') : [],
      package: pkg.name,
      title: typeof o.summary === 'string' ? o.summary : o.id,
      severity,
      cvssScore: score,
      vulnerable: parts.join(' || '),
      patched: null,
      url: typeof url === 'string' ? url : null,
      source: 'osv',
    });
  }
  return out;
}

/** Reads every OSV file under `dir`; TG_ADVISORY_SOURCE_INVALID when the directory cannot be read
 * or a file is not JSON (an operator's snapshot that does not load is a configuration error). */
export function loadOsvDir(dir: string): OsvLoad {
  const root = path.resolve(dir);
  let files: string[];
  try {
    files = jsonFiles(root);
  } catch (err) {
    if ((err as { code?: string }).code === ErrorCode.AdvisorySourceInvalid) throw err;
    throw codedError(ErrorCode.AdvisorySourceInvalid, `OSV directory ${root}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const advisories: Advisory[] = [];
  const skipped: string[] = [];
  for (const f of files) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(f, 'utf8'));
    } catch (err) {
      throw codedError(ErrorCode.AdvisorySourceInvalid, `OSV file ${f}: ${(err as Error).message}`);
    }
    for (const o of Array.isArray(parsed) ? parsed : [parsed]) {
      if (isObj(o)) advisories.push(...advisoriesOf(o, f, skipped));
    }
  }
  return { dir: root, files: files.length, advisories, skipped };
}
