/**
 * `tirex-guardian keys create | revoke | list`: the operator's side of the key file. lib/cli.ts
 * declares the flags and parses them; these read the values (a bad one is a usage error, exit 2)
 * and call lib/service/keys.ts (a typed error such as TG_KEY_EXISTS is exit 1).
 */
import * as path from 'node:path';

import { createKey, listKeys, revokeKey, SCOPES, type KeyInfo, type KeyLimits, type Scope } from './keys';
import { KEY_ID_PATTERN, parseTimestamp } from './key-file';

/** What these commands need of the CLI's parsed flags (lib/cli.ts's Flags; an interface, so this
 * file does not import the CLI that imports it). */
export interface CommandFlags {
  has(name: string): boolean;
  string(name: string): string | undefined;
  integer(name: string, fallback: number, min: number, max: number): number;
  number(name: string, fallback: number): number;
  /** A usage error (exit 2, with the command's usage line). */
  error(message: string): Error;
}

export const DEFAULT_KEYS_FILE = 'tirex-guardian-keys.json';

/** --keys-file, else $TG_KEYS_FILE, else ./tirex-guardian-keys.json; absolute, for the messages. */
export function keysFileOf(f: CommandFlags): string {
  return path.resolve(f.string('keys-file') ?? (process.env.TG_KEYS_FILE || DEFAULT_KEYS_FILE));
}

function requiredId(f: CommandFlags): string {
  const id = f.string('id');
  if (id === undefined) throw f.error('--id is required');
  if (!KEY_ID_PATTERN.test(id)) throw f.error(`--id must be 1 to 64 of A-Z a-z 0-9 _ - starting with a letter or digit, got ${JSON.stringify(id)}`);
  return id;
}

function scopesOf(f: CommandFlags): Scope[] {
  const raw = f.string('scopes');
  if (raw === undefined) throw f.error(`--scopes is required (a comma-separated list of ${SCOPES.join(', ')})`);
  const list = raw.split(',');
  const bad = list.find((s) => !(SCOPES as readonly string[]).includes(s));
  if (bad !== undefined) throw f.error(`--scopes takes a comma-separated list of ${SCOPES.join(', ')}, got ${JSON.stringify(bad)}`);
  if (new Set(list).size !== list.length) throw f.error(`--scopes lists a scope twice: ${JSON.stringify(raw)}`);
  return list as Scope[];
}

const DURATION_UNIT_MS: Readonly<Record<string, number>> = { h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** --expires TIME or --expires-in 30d|12h|2w (no minutes or months: `6m` would be ambiguous). */
function expiryOf(f: CommandFlags): Date | null {
  const at = f.string('expires');
  const within = f.string('expires-in');
  if (at !== undefined && within !== undefined) throw f.error('give --expires or --expires-in, not both');
  let t: number | null = null;
  if (at !== undefined) {
    t = parseTimestamp(at);
    if (t === null) throw f.error(`--expires must be an ISO-8601 UTC time like 2027-01-31T00:00:00Z, got ${JSON.stringify(at)}`);
  } else if (within !== undefined) {
    const m = /^([1-9]\d{0,5})([hdw])$/.exec(within);
    if (m === null) throw f.error(`--expires-in must be a count of hours, days or weeks like 12h, 30d, 2w, got ${JSON.stringify(within)}`);
    t = Date.now() + Number(m[1]) * DURATION_UNIT_MS[m[2]!]!;
  }
  if (t === null) return null;
  if (t <= Date.now()) throw f.error(`--expires ${new Date(t).toISOString()} is not in the future`);
  if (new Date(t).getUTCFullYear() > 9999) throw f.error(`--expires-in ${within} is past the year 9999`);
  return new Date(t);
}

function limitsOf(f: CommandFlags): KeyLimits | undefined {
  const limits: KeyLimits = {};
  if (f.has('forecast-per-second')) {
    const v = f.number('forecast-per-second', NaN);
    if (!(v > 0)) throw f.error(`--forecast-per-second must be a number above 0, got ${JSON.stringify(f.string('forecast-per-second'))}`);
    limits.forecastPerSecond = v;
  }
  if (f.has('forecast-burst')) limits.forecastBurst = f.integer('forecast-burst', 1, 1, Number.MAX_SAFE_INTEGER);
  if (f.has('api-per-minute')) limits.apiPerMinute = f.integer('api-per-minute', 1, 1, Number.MAX_SAFE_INTEGER);
  return Object.keys(limits).length > 0 ? limits : undefined;
}

function limitsText(l: KeyLimits | undefined): string {
  if (l === undefined) return 'service defaults';
  const parts: string[] = [];
  if (l.forecastPerSecond !== undefined) parts.push(`${l.forecastPerSecond} forecasts/s`);
  if (l.forecastBurst !== undefined) parts.push(`burst ${l.forecastBurst}`);
  if (l.apiPerMinute !== undefined) parts.push(`${l.apiPerMinute} calls/min`);
  return parts.join(', ');
}

/** Prints the new key once on stdout; what it is and where its hash went on stderr. Exit 0. */
export function keysCreateCommand(f: CommandFlags): number {
  // Every flag is checked before the file is touched.
  const id = requiredId(f);
  const scopes = scopesOf(f);
  const expiresAt = expiryOf(f);
  const limits = limitsOf(f);
  const file = keysFileOf(f);
  const { key, entry } = createKey(file, { id, scopes, expiresAt, ...(limits !== undefined ? { limits } : {}) });
  if (f.has('json')) process.stdout.write(`${JSON.stringify({ id: entry.id, key, scopes: entry.scopes, expiresAt: entry.expiresAt })}\n`);
  else process.stdout.write(`${key}\n`);
  process.stderr.write(
    `created key ${entry.id} (scopes ${entry.scopes.join(', ')}; expires ${entry.expiresAt ?? 'never'}; limits: ${limitsText(entry.limits)}).\n` +
      `This key will not be shown again: only its salted hash is stored, in ${file}.\n`,
  );
  return 0;
}

/** Revokes a key; running servers see it at their next check of the file. Exit 0. */
export function keysRevokeCommand(f: CommandFlags): number {
  const id = requiredId(f);
  const file = keysFileOf(f);
  const r = revokeKey(file, id);
  process.stdout.write(r.alreadyRevoked ? `key ${id} was already revoked at ${r.revokedAt}\n` : `revoked key ${id} at ${r.revokedAt} in ${file}\n`);
  return 0;
}

/** Lists the keys and their state: never a salt or a hash (listKeys does not return them). */
export function keysListCommand(f: CommandFlags): number {
  const file = keysFileOf(f);
  const keys: KeyInfo[] = listKeys(file);
  if (f.has('json')) {
    process.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
    return 0;
  }
  const rows = keys.map((k) => [k.id, k.state, k.scopes.join(','), k.createdAt, k.expiresAt ?? 'never', k.revokedAt ?? '-', limitsText(k.limits)]);
  const head = ['id', 'state', 'scopes', 'created', 'expires', 'revoked', 'limits'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  process.stdout.write([line(head), ...rows.map(line)].join('\n') + '\n');
  process.stderr.write(`${keys.length} key${keys.length === 1 ? '' : 's'} in ${file}\n`);
  return 0;
}
