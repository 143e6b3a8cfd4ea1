/**
 * `tirex-guardian audit query`: the records of a log that match a filter, streamed line by line
 * (a log of any size, constant memory). Read-only; it does not verify (run `audit verify` for
 * that) but it says which lines are not entries.
 */
import * as fs from 'node:fs';
import * as readline from 'node:readline';

import { auditTypeError } from './errors';
import { AUDIT_STATUSES, pseudonymizeCallerId, type AuditRecord, type AuditStatus } from './record';
import { listSegments } from './segments';

export interface AuditQuery {
  /** Records at or after this time (ISO 8601 or ms since the epoch). */
  from?: string | number;
  /** Records before this time. */
  to?: string | number;
  /** The caller's id as the application knows it (pseudonymized with callerIdKey when the log hashes ids). */
  user?: string;
  callerIdKey?: string | Uint8Array;
  status?: AuditStatus | readonly AuditStatus[];
  /** The model's sha256, or a prefix of it (at least 8 hex characters). */
  model?: string;
  /** Stop after this many matches. */
  limit?: number;
}

export interface AuditQueryResult {
  matched: number;
  scanned: number;
  /** Lines that are not JSON entries (the verifier says more). */
  unreadable: number;
}

function isoOf(t: string | number, what: string): string {
  const d = typeof t === 'number' ? new Date(t) : new Date(t);
  if (Number.isNaN(d.getTime())) throw auditTypeError(`audit query: ${what} is not a date: ${String(t)}`);
  return d.toISOString();
}

/** Compiles a query into a predicate on parsed entries (times compare as ISO strings: fixed width, UTC). */
export function recordFilter(q: AuditQuery): (e: Record<string, unknown>) => boolean {
  const from = q.from === undefined ? null : isoOf(q.from, 'from');
  const to = q.to === undefined ? null : isoOf(q.to, 'to');
  const statuses = q.status === undefined ? null : new Set<string>(Array.isArray(q.status) ? q.status : [q.status as AuditStatus]);
  if (statuses) for (const s of statuses) if (!AUDIT_STATUSES.includes(s as AuditStatus)) throw auditTypeError(`audit query: unknown status ${s}`);
  const model = q.model?.toLowerCase() ?? null;
  if (model !== null && !/^[0-9a-f]{8,64}$/.test(model)) throw auditTypeError('audit query: model must be 8 to 64 hex characters of a sha256');
  const clear = q.user ?? null;
  const hashed = clear !== null && q.callerIdKey !== undefined ? pseudonymizeCallerId(clear, q.callerIdKey) : null;
  return (e) => {
    if (e.type !== 'record') return false;
    const time = e.time as string;
    if (from !== null && time < from) return false;
    if (to !== null && time >= to) return false;
    if (statuses !== null && !statuses.has(e.status as string)) return false;
    if (model !== null && !(typeof e.modelHash === 'string' && e.modelHash.startsWith(model))) return false;
    if (clear !== null) {
      const id = e.callerId as string;
      if (!(e.callerIdHashed === true ? id === hashed : id === clear)) return false;
    }
    return true;
  };
}

/** Streams the matching records of a log file, or of a directory of segments (oldest first), to `onRecord`. */
export async function queryAuditLog(file: string, q: AuditQuery, onRecord: (r: AuditRecord) => void): Promise<AuditQueryResult> {
  const keep = recordFilter(q);
  const limit = q.limit ?? Infinity;
  const result: AuditQueryResult = { matched: 0, scanned: 0, unreadable: 0 };
  const files = fs.statSync(file).isDirectory() ? listSegments(file).map((s) => s.path) : [file];
  for (const f of files) {
    if (result.matched >= limit) break;
    await queryFile(f, keep, limit, result, onRecord);
  }
  return result;
}

async function queryFile(
  file: string,
  keep: (e: Record<string, unknown>) => boolean,
  limit: number,
  result: AuditQueryResult,
  onRecord: (r: AuditRecord) => void,
): Promise<void> {
  const lines = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      if (line === '') continue;
      result.scanned++;
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(line);
      } catch {
        result.unreadable++;
        continue;
      }
      if (e === null || typeof e !== 'object') {
        result.unreadable++;
        continue;
      }
      if (!keep(e)) continue;
      onRecord(e as unknown as AuditRecord);
      if (++result.matched >= limit) break;
    }
  } finally {
    lines.close();
  }
}
