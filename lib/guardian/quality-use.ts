/**
 * The guardian's side of the forecast journal and of shadow mode: after a call is settled, a
 * forecast served for one series with an `instrument` is handed to the journal (the quantiles and
 * the context's last points copied, nothing encoded or written on the caller's time), and the
 * shadow candidate gets the same context. A batch call (several series) is not journaled: a
 * request names one instrument; it is counted as skipped.
 */
import type { KeyObject } from 'node:crypto';

import type { AuditTicket } from '../audit';
import type { Clock } from '../breaker';
import { codedError, ErrorCode } from '../errors';
import { ForecastJournal, type ForecastJournalStats } from '../journal/journal';
import type { CallState } from './call-state';
import type { ResolvedQualityConfig } from './quality-config';
import { ShadowRunner, type ShadowStats } from './shadow';

export interface QualityStats {
  journal: ForecastJournalStats;
  /** Calls with an instrument not journaled because they carried several series. */
  skippedBatch: number;
  shadow: ShadowStats | null;
}

export class GuardianQuality {
  readonly journal: ForecastJournal;
  readonly shadow: ShadowRunner | null;
  readonly #clock: Clock;
  readonly #modelHash: string;
  readonly #levels: readonly number[];
  #skippedBatch = 0;

  /** Opens the journal, then loads the shadow candidate (closing the journal if that fails). */
  constructor(q: ResolvedQualityConfig, auditKey: string | KeyObject | undefined, clock: Clock, live: { sha256: string; levels: readonly number[] }) {
    const j = q.journal!;
    const signingKey = j.signingKey ?? auditKey;
    if (signingKey === undefined) throw codedError(ErrorCode.GateFailed, 'the forecast journal needs a signing key: pass journal.signingKey, audit.signingKey or set $TG_AUDIT_SIGNING_KEY');
    this.journal = ForecastJournal.open({
      dir: j.dir,
      signingKey,
      durability: j.durability,
      segmentBytes: j.segmentBytes,
      segmentMs: j.segmentMs,
      handoffLimit: j.handoffLimit,
      onHandoffFull: j.onHandoffFull,
    });
    try {
      this.shadow = q.shadow === null ? null : new ShadowRunner(q.shadow.model, q.shadow, this.journal);
    } catch (err) {
      void this.journal.close();
      throw err;
    }
    this.#clock = clock;
    this.#modelHash = live.sha256;
    this.#levels = live.levels;
  }

  /** Journals what the settled call served (and starts its shadow run). */
  afterCall(st: CallState, auditId: string | null): void {
    // A blocked call served nothing (its rows, if any, are NaN): nothing to journal.
    if (st.instrument === null || st.quantiles === null || st.prepared === null || st.status === 'blocked') return;
    if (st.batch !== 1) {
      this.#skippedBatch++;
      return;
    }
    const T = st.prepared.window;
    const row = st.prepared.tensor.length === T ? st.prepared.tensor : st.prepared.tensor.subarray(0, T);
    const origin = st.originTime ?? this.#clock.now();
    const fallback = st.status === 'fallback';
    // The journal copies the numbers it keeps: the result and the staging memory stay the caller's.
    this.journal.recordForecast({
      instrument: st.instrument,
      origin,
      horizon: st.horizon,
      levels: this.#levels,
      quantiles: st.quantiles,
      context: row,
      status: st.status,
      source: fallback ? 'fallback' : 'model',
      modelHash: this.#modelHash,
      fallback: fallback ? (st.fallback?.method ?? null) : null,
      auditId,
    });
    this.shadow?.submit({ instrument: st.instrument, origin, horizon: st.horizon, context: row.slice(), auditId });
  }

  recordOutcome(instrument: string, timeMs: number, value: number): AuditTicket {
    return this.journal.recordOutcome(instrument, timeMs, value);
  }

  stats(): QualityStats {
    return { journal: this.journal.stats(), skippedBatch: this.#skippedBatch, shadow: this.shadow?.stats() ?? null };
  }

  /** The shadow's queued runs first (they journal), then the journal. */
  async close(): Promise<void> {
    try {
      await this.shadow?.close();
    } finally {
      await this.journal.close();
    }
  }
}
