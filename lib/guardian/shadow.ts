/**
 * Shadow mode: a candidate model runs beside the live one on the same requests and its forecasts
 * are journaled (source 'shadow'), never served. Off the caller's latency: the call only copies
 * the context it served (the caller and the staging pool reuse theirs) and queues a job; the
 * candidate runs after the answer was returned, on the thread pool (an AsyncWorker, one run at a
 * time so it never takes more than one core from the live model). The queue is bounded: a job
 * that finds `queueLimit` jobs waiting or running is dropped and counted.
 */
import { codedError, ErrorCode } from '../errors';
import type { ForecastJournal } from '../journal/journal';
import { rollout } from '../model/rollout';
import { ModelSession, type SessionOptions } from '../model/session';

export interface ShadowJob {
  instrument: string;
  origin: number;
  horizon: number;
  /** The context the live model saw, the job's own copy. */
  context: Float32Array;
  auditId: string | null;
}

export interface ShadowStats {
  model: { name: string; sha256: string };
  submitted: number;
  /** Run and handed to the journal. */
  completed: number;
  /** Refused: the queue was full. */
  dropped: number;
  /** The candidate failed (its code counted) or asked for a horizon beyond its own limit. */
  failed: Record<string, number>;
  pending: number;
}

export class ShadowRunner {
  readonly session: ModelSession;
  readonly #journal: ForecastJournal;
  readonly #limit: number;
  readonly #queue: ShadowJob[] = [];
  /** The drain loop (null: idle) and whether a run is in progress in it. */
  #running: Promise<void> | null = null;
  #inRun = false;
  #closed = false;
  #submitted = 0;
  #completed = 0;
  #dropped = 0;
  readonly #failed: Record<string, number> = {};

  constructor(manifest: string, options: { modelSha256?: string; queueLimit: number; session?: SessionOptions }, journal: ForecastJournal) {
    this.session = ModelSession.load(manifest, options.session ?? {});
    if (options.modelSha256 !== undefined && options.modelSha256 !== this.session.sha256) {
      this.session.close();
      throw codedError(ErrorCode.ModelHashMismatch, `the shadow model's sha256 ${this.session.sha256} is not the pinned ${options.modelSha256}`);
    }
    this.#journal = journal;
    this.#limit = options.queueLimit;
  }

  /** Queues a job (no model work here); false when it was dropped. */
  submit(job: ShadowJob): boolean {
    if (this.#closed) return false;
    this.#submitted++;
    if (this.#pending() >= this.#limit) {
      this.#dropped++;
      return false;
    }
    this.#queue.push(job);
    // Started on a later turn of the event loop: the caller has its answer first.
    if (!this.#running) this.#running = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
    return true;
  }

  async #drain(): Promise<void> {
    const m = this.session.manifest;
    for (let job = this.#queue.shift(); job !== undefined; job = this.#queue.shift()) {
      if (job.horizon > m.maxHorizon) {
        this.#fail('TG_HORIZON_TOO_LONG');
        continue;
      }
      const T = Math.min(job.context.length, m.maxContext);
      this.#inRun = true;
      try {
        const q = await rollout(this.session, job.context.subarray(job.context.length - T), 1, job.horizon);
        const accepted = this.#journal.recordForecast({
          instrument: job.instrument,
          origin: job.origin,
          horizon: job.horizon,
          levels: m.quantileLevels,
          quantiles: q,
          context: job.context,
          status: 'shadow',
          source: 'shadow',
          modelHash: this.session.sha256,
          fallback: null,
          auditId: job.auditId,
        });
        if (accepted) this.#completed++;
        else this.#fail('TG_JOURNAL_DROPPED');
      } catch (err) {
        this.#fail((err as { code?: string }).code ?? 'TG_INTERNAL');
      } finally {
        this.#inRun = false;
      }
    }
    this.#running = null;
  }

  #pending(): number {
    return this.#queue.length + (this.#inRun ? 1 : 0);
  }

  #fail(code: string): void {
    this.#failed[code] = (this.#failed[code] ?? 0) + 1;
  }

  stats(): ShadowStats {
    return {
      model: { name: this.session.manifest.name, sha256: this.session.sha256 },
      submitted: this.#submitted,
      completed: this.#completed,
      dropped: this.#dropped,
      failed: { ...this.#failed },
      pending: this.#pending(),
    };
  }

  /** Refuses new jobs, finishes the queued ones, then releases the candidate. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#running) await this.#running;
    this.session.close();
  }
}
