/**
 * ForecastJournal: every forecast served (and every shadow forecast) and every realized value,
 * appended to a directory of segments with the audit log's own machinery (lib/audit/writer.ts:
 * hash chain, signed checkpoints, rotation, fsync with group commit, resume after a crash, a
 * bounded queue whose refusals are counted and written as gap entries). The journal is a log of
 * its own, beside the audit log: its entries are joined to the audit records by the call's id.
 *
 * Hot path: `recordForecast` copies what the entry needs (the quantiles and the context's last
 * 65 points: the caller may reuse its buffers) into a staging slab (no allocation per call:
 * allocating two small typed arrays cost more than the rest of the hand-off, BENCHMARKS.md,
 * journal) and pushes it into a hand-off buffer (lib/audit/handoff.ts); the entry is encoded,
 * hashed and queued on the next tick, when the slab is reused.
 */
import type { KeyObject } from 'node:crypto';

import { AuditLog, type AuditDurability, type AuditLogStats, type AuditTicket } from '../audit';
import { AuditHandoff, type HandoffFullPolicy } from '../audit/handoff';
import { VOL_WINDOW } from '../eval/forecasters';
import { codedError, ErrorCode } from '../errors';
import { checkOutcome, encodeQuantiles, naiveInputs, type ForecastSource } from './entries';

export interface ForecastJournalOptions {
  /** The journal's directory of segments (created when missing, resumed when present). */
  dir: string;
  /** Signs the chain's checkpoints, as the audit log's signingKey (HMAC secret or Ed25519 key). */
  signingKey: string | Uint8Array | KeyObject;
  keyId?: string | null;
  /** Default 'fsync' (group commit: the journal's writes never wait on the caller's thread). */
  durability?: AuditDurability;
  segmentBytes?: number;
  segmentMs?: number;
  /** Forecasts waiting for the next tick before the policy applies (default 4096). */
  handoffLimit?: number;
  /** 'block' (default): the call that finds the buffer full appends the waiting entries itself;
   * 'drop': the forecast is refused, counted and written as a gap entry. */
  onHandoffFull?: HandoffFullPolicy;
  now?: () => number;
}

/** What a served (or shadow) forecast leaves for its journal entry. */
export interface PendingForecast {
  instrument: string;
  origin: number;
  horizon: number;
  levels: readonly number[];
  /** [horizon, levels] (its first horizon x levels values; copied before recordForecast returns). */
  quantiles: Float32Array;
  /** The context (only its last VOL_WINDOW + 1 points are read; copied before recordForecast returns). */
  context: Float32Array;
  status: string;
  source: ForecastSource;
  modelHash: string | null;
  fallback: string | null;
  auditId: string | null;
}

export interface ForecastJournalStats {
  forecasts: number;
  outcomes: number;
  /** Forecasts refused: a full hand-off buffer ('drop') or a full log queue (both in gap entries). */
  dropped: number;
  log: AuditLogStats;
}

const TAIL = VOL_WINDOW + 1;
const SLAB = 1 << 16;

/** A forecast waiting for the next tick: its fields, and where its numbers lie in a slab. */
class Staged {
  constructor(
    readonly f: PendingForecast,
    readonly slab: Float32Array,
    readonly q: number,
    readonly qn: number,
    readonly t: number,
    readonly tn: number,
  ) {}
}

export class ForecastJournal {
  readonly log: AuditLog;
  readonly #handoff: AuditHandoff<Staged>;
  /** Where waiting forecasts' numbers are copied; reused once they are appended. */
  #slab = new Float32Array(SLAB);
  #used = 0;
  /** Copied into a slab and not yet encoded (the slab is reused only when none is). */
  #staged = 0;
  #forecasts = 0;
  #outcomes = 0;
  #dropped = 0;

  private constructor(log: AuditLog, options: ForecastJournalOptions) {
    this.log = log;
    this.#handoff = new AuditHandoff<Staged>({
      limit: options.handoffLimit,
      onFull: options.onHandoffFull,
      drain: (batch) => this.#append(batch),
      onDrop: (n) => {
        this.#dropped += n;
        this.log.recordDropped(n);
      },
    });
    log.beforeExitFlush(() => this.#handoff.drain());
  }

  /** Opens (creates or resumes) the journal in `options.dir`; throws the audit log's typed errors. */
  static open(options: ForecastJournalOptions): ForecastJournal {
    if (options === null || typeof options !== 'object' || typeof options.dir !== 'string' || options.dir.length === 0) {
      throw codedError(ErrorCode.InvalidArgument, 'journal: dir must be a non-empty string');
    }
    const log = AuditLog.openSync({
      dir: options.dir,
      signingKey: options.signingKey,
      keyId: options.keyId ?? null,
      durability: options.durability ?? 'fsync',
      segmentBytes: options.segmentBytes,
      segmentMs: options.segmentMs,
      now: options.now,
    });
    return new ForecastJournal(log, options);
  }

  /**
   * Hands a forecast over (no I/O, no encoding here: its numbers are copied, `f` itself is kept
   * until the next tick, so it must not be changed); false when the 'drop' policy refused it.
   */
  recordForecast(f: PendingForecast): boolean {
    const qn = f.horizon * f.levels.length;
    const tn = Math.min(TAIL, f.context.length);
    if (qn > f.quantiles.length) throw codedError(ErrorCode.InvalidArgument, `journal: ${f.quantiles.length} quantiles for ${f.horizon} steps of ${f.levels.length} levels`);
    if (this.#used + qn + tn > this.#slab.length) {
      // The waiting entries keep the full slab; a new one takes the next.
      this.#slab = new Float32Array(Math.max(SLAB, qn + tn));
      this.#used = 0;
    }
    const slab = this.#slab;
    const q = this.#used;
    slab.set(qn === f.quantiles.length ? f.quantiles : f.quantiles.subarray(0, qn), q);
    const t = q + qn;
    slab.set(tn === f.context.length ? f.context : f.context.subarray(f.context.length - tn), t);
    this.#used = t + tn;
    this.#staged++;
    const accepted = this.#handoff.push(new Staged(f, slab, q, qn, t, tn));
    if (!accepted) this.#staged--;
    return accepted;
  }

  /**
   * Records the realized value of `instrument` at `timeMs` (the h-th one after a forecast's origin
   * is its step h). TypeError TG_INVALID_ARGUMENT for a bad value; the log's errors once closed
   * or failed. Forecasts handed over before it are appended first, so the journal is in order.
   */
  recordOutcome(instrument: string, timeMs: number, value: number): AuditTicket {
    checkOutcome(instrument, timeMs, value);
    this.#handoff.drain();
    const ticket = this.log.appendEntry('outcome', { instrument, at: timeMs, value });
    if (ticket.accepted) this.#outcomes++;
    return ticket;
  }

  /** Appends what was handed over (normally done on the next tick). */
  drain(): void {
    this.#handoff.drain();
  }

  /** Appends what was handed over and waits until the journal has it at its durability level. */
  async flush(): Promise<void> {
    this.#handoff.drain();
    await this.log.flush();
  }

  async close(): Promise<void> {
    this.#handoff.drain();
    await this.log.close();
  }

  stats(): ForecastJournalStats {
    return { forecasts: this.#forecasts, outcomes: this.#outcomes, dropped: this.#dropped, log: this.log.stats() };
  }

  #append(batch: Staged[]): void {
    this.#staged -= batch.length;
    // Encoded below, synchronously: nothing else is staged (a full hand-off buffer drains from
    // inside recordForecast, after that call's numbers were copied): the slab can be reused.
    if (this.#staged === 0) this.#used = 0;
    for (const s of batch) {
      const f = s.f;
      let ticket: AuditTicket;
      try {
        ticket = this.log.appendEntry('forecast', {
          instrument: f.instrument,
          origin: f.origin,
          horizon: f.horizon,
          levels: f.levels,
          q: encodeQuantiles(s.slab.subarray(s.q, s.q + s.qn)),
          status: f.status,
          source: f.source,
          modelHash: f.modelHash,
          fallback: f.fallback,
          auditId: f.auditId,
          naive: naiveInputs(s.slab.subarray(s.t, s.t + s.tn)),
        });
      } catch {
        // A closed or failed log: its own state says so (stats().log.error); counted here too.
        this.#dropped++;
        continue;
      }
      if (ticket.accepted) this.#forecasts++;
      else this.#dropped++;
    }
  }
}
