/**
 * The guardian's side of the audit shield: every finished call is handed off (no log work on
 * the caller's time), its record built, canonicalized, hashed and queued on the next tick, and
 * written by the log's background batch writer. Failures of the log are counted in the
 * protection statistics; they never fail the call.
 */
import { randomBytes } from 'node:crypto';

import { AuditLog, type AuditLogOptions } from '../audit';
import { AuditHandoff, type HandoffFullPolicy } from '../audit/handoff';
import { pseudonymizeCallerId } from '../audit/record';
import { auditRecordOf, type PendingRecord } from './audit-record';
import type { CallState } from './call-state';
import type { ProtectionStats } from './stats';
import { NO_THREAT, worstThreat } from './series';

const now = () => performance.now();

export interface AuditTrailOptions {
  log: AuditLogOptions;
  handoffLimit?: number;
  onHandoffFull?: HandoffFullPolicy;
}

export class GuardianAuditTrail {
  readonly log: AuditLog;
  readonly #handoff: AuditHandoff<PendingRecord>;
  readonly #stats: ProtectionStats;
  readonly #modelHash: string;
  readonly #callPrefix = randomBytes(6).toString('hex');
  #callSeq = 0;
  readonly #clientIdOf: (id: string) => string = (id) => id;
  #refusedInDrain = 0;

  /** Opens the log (throws its typed errors: the guardian closes what it opened). */
  constructor(options: AuditTrailOptions, stats: ProtectionStats, modelHash: string) {
    this.#stats = stats;
    // A client's own user id is personal data like the caller's: the same pseudonym when asked.
    const key = options.log.hashCallerIds?.key;
    if (key !== undefined) this.#clientIdOf = (id) => pseudonymizeCallerId(id, key);
    this.#modelHash = modelHash;
    const handoff = new AuditHandoff<PendingRecord>({
      limit: options.handoffLimit,
      onFull: options.onHandoffFull,
      drain: (batch) => this.#appendRecords(batch),
      onDrop: (n) => this.#handoffDropped(n),
    });
    this.log = AuditLog.openSync(options.log);
    this.#handoff = handoff;
    // process.exit(): the records still waiting here reach the log before it writes its queue.
    this.log.beforeExitFlush(() => handoff.drain());
  }

  /**
   * Hands the finished call to the audit log without doing the log's work on the caller's time:
   * the call gets its id and latency here and leaves what its record needs (references, no
   * copies, nothing large) in the hand-off buffer (lib/audit/handoff.ts); the record is built,
   * canonicalized, hashed and queued on the next tick. The id is written into the record
   * (`inputStats.callId`), so a result and its record are found from each other.
   */
  record(st: CallState): string {
    const callId = `c${String(++this.#callSeq).padStart(16, '0')}-${this.#callPrefix}`;
    this.#handoff.push({
      callId,
      t0: st.t0,
      // To the nanosecond: the clock's own resolution, and a short number to write.
      latencyUs: Math.max(0, Math.round((now() - st.t0) * 1e6) / 1000),
      callerId: st.callerId,
      clientUserId: st.clientUserId,
      status: st.status,
      horizon: st.horizon,
      batch: st.batch,
      inputs: st.inputs,
      // Per series only for a batch: a single series' status is the call's.
      series: st.batch > 1 && st.series.length === st.batch ? st.series : null,
      // A call refused halfway through the input shield has assessments but no verdict yet.
      threatScore: st.threat === NO_THREAT && st.inputs !== null ? worstThreat(st.inputs).score : st.threat.score,
      decisions: st.decisions,
      fallback: st.fallback?.method ?? null,
    });
    return callId;
  }

  /** Appends what was handed off; returns how many records the log refused in this drain. */
  drain(): number {
    this.#refusedInDrain = 0;
    this.#handoff.drain();
    return this.#refusedInDrain;
  }

  /** Appends what was handed off and waits until the log has it at its durability level. */
  async flush(): Promise<void> {
    this.drain();
    await this.log.flush();
  }

  async close(): Promise<void> {
    this.drain();
    await this.log.close();
  }

  #appendRecords(batch: PendingRecord[]): void {
    let refused = 0;
    const wallOffsetMs = Date.now() - now();
    for (const st of batch) {
      try {
        if (!this.log.append(auditRecordOf(st, this.#modelHash, wallOffsetMs, this.#clientIdOf)).accepted) refused++;
      } catch (err) {
        refused++;
        this.#stats.bump(this.#stats.errors, (err as { code?: string }).code ?? 'TG_AUDIT_WRITE_FAILED');
      }
    }
    if (refused > 0) this.#stats.bump(this.#stats.errors, 'TG_AUDIT_DROPPED', refused);
    this.#refusedInDrain += refused;
  }

  /** A full hand-off buffer refused records ('drop' policy): counted, and a gap in the log. */
  #handoffDropped(count: number): void {
    this.#stats.bump(this.#stats.errors, 'TG_AUDIT_DROPPED', count);
    try {
      this.log.recordDropped(count);
    } catch (err) {
      this.#stats.bump(this.#stats.errors, (err as { code?: string }).code ?? 'TG_AUDIT_WRITE_FAILED');
    }
  }
}
