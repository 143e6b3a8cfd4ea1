/**
 * The allowlist: advisories an owner has accepted for a while, each with why, until when, and
 * where its removal is tracked (seed 003, section 3). The file:
 *
 *     { "v": 1, "entries": [ { "id": "NSWG-ECO-493", "package": "lodash",
 *         "justification": "template() is never called with user input (review SEC-12)",
 *         "expires": "2027-01-31", "tracking": "https://tracker.example/SEC-12" } ] }
 *
 * `id` may be the advisory's id or any alias (a CVE); `package` (optional) narrows it. An entry
 * missing a field, with an unknown field, a justification under 10 characters, an expiry that
 * is not a date or lies more than 366 days ahead, or a duplicate, makes the file invalid
 * (TG_ALLOWLIST_INVALID: every problem listed). `expires` as a date means the end of that UTC
 * day. An expired entry stops counting and is reported; an entry nothing matched is reported too.
 */
import * as fs from 'node:fs';

import { codedError, ErrorCode } from '../errors';

export interface AllowlistEntry {
  readonly id: string;
  readonly package: string | null;
  readonly justification: string;
  /** As written in the file. */
  readonly expires: string;
  readonly expiresAt: number;
  readonly tracking: string;
}

export const ALLOWLIST_MAX_DAYS = 366;
const DAY_MS = 86_400_000;
const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{1,99}$/;
const FIELDS = new Set(['id', 'package', 'justification', 'expires', 'tracking']);

/** The instant an `expires` value ends, or NaN: a date is valid through the end of its UTC day. */
export function expiryInstant(value: string): number {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const t = Date.parse(`${value}T00:00:00Z`);
    return Number.isNaN(t) || new Date(t).toISOString().slice(0, 10) !== value ? NaN : t + DAY_MS - 1;
  }
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value) ? Date.parse(value) : NaN;
}

function entryProblems(e: unknown, i: number, now: number): { entry: AllowlistEntry | null; problems: string[] } {
  const at = `entries[${i}]`;
  if (e === null || typeof e !== 'object' || Array.isArray(e)) return { entry: null, problems: [`${at}: not an object`] };
  const o = e as Record<string, unknown>;
  const problems = Object.keys(o)
    .filter((k) => !FIELDS.has(k))
    .map((k) => `${at}: unknown field ${JSON.stringify(k)} (known: ${[...FIELDS].join(', ')})`);
  const str = (k: string): string | null => (typeof o[k] === 'string' && (o[k] as string).trim() !== '' ? (o[k] as string).trim() : null);
  const id = str('id');
  if (id === null || !ID.test(id)) problems.push(`${at}.id: missing, or not an advisory id (NSWG-ECO-493, CVE-2018-16487, GHSA-...)`);
  if (o.package !== undefined && str('package') === null) problems.push(`${at}.package: when present, a package name`);
  const justification = str('justification');
  if (justification === null || justification.length < 10) problems.push(`${at}.justification: missing or shorter than 10 characters (say why the risk is accepted)`);
  const tracking = str('tracking');
  if (tracking === null) problems.push(`${at}.tracking: missing (the ticket or URL that tracks removing this entry)`);
  const expires = str('expires');
  const expiresAt = expires === null ? NaN : expiryInstant(expires);
  if (Number.isNaN(expiresAt)) problems.push(`${at}.expires: missing or not a date (YYYY-MM-DD, or an ISO 8601 time with its zone)`);
  else if (expiresAt - now > ALLOWLIST_MAX_DAYS * DAY_MS) problems.push(`${at}.expires: ${expires} is more than ${ALLOWLIST_MAX_DAYS} days ahead (review exceptions at least yearly)`);
  if (problems.length > 0) return { entry: null, problems };
  return { entry: { id: id!, package: str('package'), justification: justification!, expires: expires!, expiresAt, tracking: tracking! }, problems };
}

/** Parses and checks an allowlist's text; TG_ALLOWLIST_INVALID with every problem. */
export function parseAllowlist(text: string, source: string, now: number = Date.now()): AllowlistEntry[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw codedError(ErrorCode.AllowlistInvalid, `allowlist ${source}: not JSON (${(err as Error).message})`);
  }
  const d = doc as Record<string, unknown> | null;
  if (d === null || typeof d !== 'object' || Array.isArray(d) || d.v !== 1 || !Array.isArray(d.entries)) {
    throw codedError(ErrorCode.AllowlistInvalid, `allowlist ${source}: expected { "v": 1, "entries": [...] }`);
  }
  const entries: AllowlistEntry[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  d.entries.forEach((e, i) => {
    const r = entryProblems(e, i, now);
    problems.push(...r.problems);
    if (r.entry === null) return;
    const key = `${r.entry.id.toUpperCase()} ${r.entry.package ?? '*'}`;
    if (seen.has(key)) problems.push(`entries[${i}]: a second entry for ${r.entry.id}${r.entry.package !== null ? ` (${r.entry.package})` : ''}`);
    seen.add(key);
    entries.push(r.entry);
  });
  if (problems.length > 0) throw codedError(ErrorCode.AllowlistInvalid, `allowlist ${source} is invalid:\n  - ${problems.join('\n  - ')}`);
  return entries;
}

export function loadAllowlist(file: string, now: number = Date.now()): AllowlistEntry[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw codedError(ErrorCode.AllowlistInvalid, `allowlist ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  return parseAllowlist(text, file, now);
}

/** The entries that name this advisory (its id or an alias; the package when the entry has one). */
export function entriesFor(entries: readonly AllowlistEntry[], ids: readonly string[], pkg: string): AllowlistEntry[] {
  const wanted = new Set(ids.map((x) => x.toUpperCase()));
  return entries.filter((e) => wanted.has(e.id.toUpperCase()) && (e.package === null || e.package === pkg));
}
