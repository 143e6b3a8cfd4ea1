/**
 * AuditLog: the append-only, hash-chained JSON-lines audit file.
 *
 * Hot path. `append(record)` validates the record, serializes it canonically, hashes it onto the
 * chain and pushes the line onto an in-memory queue; it performs no I/O and never waits. Lines
 * are written in batches, one batch in flight at a time, by `fs.write` / `fs.fdatasync` (libuv's
 * thread pool), from a timer or setImmediate on the event loop. Checkpoints are built on the
 * same path (every `checkpointEvery` entries, an HMAC: about a microsecond), and from an unref'd
 * timer every `checkpointIntervalMs` when entries are waiting for one.
 *
 * Durability (what an acknowledgement means: `ticket.durable()` resolves when the entry is
 * acknowledged at the log's level; `flush()` and `close()` always write and fdatasync):
 *
 * - 'memory': nothing touches the disk; lines are kept in `memoryLines()`. Tests only.
 * - 'none' (development; 'batched' is its older name): the queue is written every
 *   `flushIntervalMs` (default 50 ms; earlier when a batch
 *   reaches `maxBatchBytes`) without fsync. An entry is acknowledged once `write()` has returned:
 *   it is then in the kernel's page cache and survives kill -9 of this process, but not a power
 *   loss or kernel crash (the kernel writes dirty pages back within about 30 s by default). On
 *   kill -9 the entries not yet handed to `write()` are lost: at most those appended in the last
 *   `flushIntervalMs` plus the duration of one write (at most the queue bound), the resulting file
 *   stays a valid chain, possibly with an unverified tail and, rarely, one cut line that
 *   `verifyAuditLog` reports as truncation and the next `open` cuts off and records.
 * - 'fsync' (default): every batch is written then fdatasync'd before its entries are
 *   acknowledged (group commit: entries appended while a batch is being synced go into the
 *   next one; `flushIntervalMs`, default 0, can add a delay to make batches larger). An
 *   acknowledged entry survives kill -9 and power loss, as far as the storage honours fsync.
 *   Appends are not slowed down; only the acknowledgement waits.
 *
 * Queue bound. At most `maxQueue` entries (default 100,000) or `maxQueueBytes` (64 MiB) may wait
 * to be written. When full, `append` refuses the record: with `onFull: 'drop'` (default) it
 * returns a ticket with `accepted: false`; with `onFull: 'throw'` it throws RangeError
 * TG_AUDIT_QUEUE_FULL. Either way the refusal is counted (`stats().dropped`), emitted as a
 * 'drop' event (a process warning, at most once a second, when nobody listens), and written into
 * the chain as a `gap` entry (count, first and last time) before the next accepted entry, so the
 * log itself says that records are missing and `verifyAuditLog` reports how many.
 *
 * Failure. A failed write or fdatasync ends the log: every pending acknowledgement is rejected
 * with TG_AUDIT_WRITE_FAILED, the 'failed' event fires (a process warning when nobody listens),
 * and every later `append` throws TG_AUDIT_WRITE_FAILED (after an fsync error the page cache can
 * no longer be trusted, so nothing is retried; reopen the log to resume it).
 *
 * Resume. Opening an existing file reads its tail back to the last checkpoint, checks hashes,
 * links and that checkpoint's signature with the signing key (TG_AUDIT_CORRUPT otherwise), cuts
 * off an incomplete last line (recorded in the new `open` entry), and continues the chain.
 *
 * One writer per file: a process-wide registry and a `<file>.lock` file holding the writer's pid
 * (a lock whose process is gone is taken over) refuse a second writer with TG_AUDIT_LOCKED.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';

import { checkpointBody, entryHash, sealLine, type ChainCursor, type JournalEntryType } from './chain';
import { auditError, AuditErrorCode, auditRangeError, auditTypeError, type AuditError } from './errors';
import {
  CallerIdResolver,
  canonicalJson,
  checkRecordInput,
  makeAuditId,
  newInstanceId,
  recordCanonical,
  recordFieldsFrom,
  type AuditRecordInput,
  type JsonValue,
} from './record';
import { PersonalDataRedactor } from './privacy';
import { segmentName } from './segments';
import { DigestWriter, digestPathFor, type DigestCheckpoint } from './digest';
import type { TailState } from './tail';
import {
  driveAsync,
  FRESH,
  fsyncDirSync,
  lockOrFail,
  openFailure,
  openSegmentSync,
  registerExitFlush,
  release,
  resumeFileSync,
  unregisterExitFlush,
  writeAllSync,
} from './writer-files';
import {
  resolveOptions,
  type AcceptedAuditTicket,
  type AuditCheckpointInfo,
  type AuditDropInfo,
  type AuditDurability,
  type AuditLogOptions,
  type AuditLogState,
  type AuditLogStats,
  type AuditTicket,
  type DroppedAuditTicket,
  type ResolvedOptions,
} from './writer-options';


interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

// ---------------------------------------------------------------------------------------------
// Tickets

class Accepted implements AcceptedAuditTicket {
  readonly accepted = true as const;
  constructor(
    private readonly log: AuditLog,
    readonly seq: number,
    readonly id: string,
    readonly hash: string,
  ) {}
  durable(): Promise<void> {
    return this.log.whenAcknowledged(this.seq);
  }
}

const DROPPED: DroppedAuditTicket = Object.freeze({
  accepted: false as const,
  seq: null,
  id: null,
  hash: null,
  reason: 'queue-full' as const,
  durable: () => Promise.reject(auditError(AuditErrorCode.Dropped, 'audit: the record was dropped (queue full); it is counted in a gap entry')),
});

function insertWaiter(list: Waiter[], w: Waiter): void {
  let i = list.length;
  while (i > 0 && (list[i - 1] as Waiter).seq > w.seq) i--;
  list.splice(i, 0, w);
}

// ---------------------------------------------------------------------------------------------

export interface AuditLogEvents {
  drop: [AuditDropInfo];
  checkpoint: [AuditCheckpointInfo];
  failed: [AuditError];
}

export class AuditLog extends EventEmitter<AuditLogEvents> {
  readonly instanceId: string;
  private readonly cfg: ResolvedOptions;
  private readonly callers: CallerIdResolver;
  private readonly redactor: PersonalDataRedactor;
  private readonly redact: (s: string) => string;
  private readonly cursor: ChainCursor;
  private sinceCheckpoint: number;
  private state: AuditLogState = 'open';
  private fd: number | null;
  private readonly lockPath: string | null;
  private readonly resumed: boolean;
  private readonly recoveredBytes: number;

  // queue of lines not yet written; queue[head] has seq headSeq
  private queue: string[] = [];
  private head = 0;
  private headSeq: number;
  private queueBytes = 0;

  private writtenSeq: number;
  private syncedSeq: number;
  private syncTarget: number;
  private busy = false;
  private scheduled: 'timer' | 'immediate' | null = null;
  private timer: NodeJS.Timeout | null = null;
  private checkpointTimer: NodeJS.Timeout | null = null;
  private ackWaiters: Waiter[] = [];
  private syncWaiters: Waiter[] = [];
  private closeWaiter: { resolve: (s: AuditLogStats) => void; reject: (e: Error) => void } | null = null;
  private closePromise: Promise<AuditLogStats> | null = null;
  private error: AuditError | null = null;
  private readonly memory: string[] | null;
  /** Dir mode: the segment being written, its first seq, its bytes (written and queued), its start. */
  private segmentPath: string | null;
  private segmentFirstSeq: number;
  private segmentBytesSoFar: number;
  private segmentStartMs: number;
  /** Seqs at which a new segment starts (each one a checkpoint not yet written). */
  private rotations: number[] = [];
  private segmentsStarted = 0;
  /** The digest file's writer (null in 'memory'), and checkpoints waiting to be acknowledged. */
  private digest: DigestWriter | null = null;
  private pendingDigests: DigestCheckpoint[] = [];
  /** Set by the exit flush: digest lines are queued, not written asynchronously, from then on. */
  private exiting = false;
  /** A digest write failed while a log write was in flight: the log fails once that one is done. */
  private pendingFailure: Error | null = null;
  /** Run on process exit before the log writes what it holds (a hand-off buffer drains into it). */
  private readonly exitHooks: (() => void)[] = [];
  /** Bytes in the file (for the exit flush: was the batch in flight written?). */
  private fileBytes: number;
  /** The batch being written by the thread pool, and where it starts in the file. */
  private inflight: { buf: Buffer; start: number } | null = null;

  private appended = 0;
  private entries = 0;
  private writtenEntries = 0;
  private syncedEntries = 0;
  private bytes = 0;
  private batches = 0;
  private checkpoints = 0;
  private lastCheckpointAtMs: number | null = null;
  private openedAtMs = 0;
  private dropped = 0;
  private droppedSinceGap = 0;
  /** Refused before they reached the log (a full hand-off buffer), not yet in a gap entry. */
  private handoffDroppedSinceGap = 0;
  private firstDropMs = 0;
  private lastDropMs = 0;
  private lastDropWarning = -Infinity;
  private lastTimeMs = NaN;
  private lastTimeIso = '';
  private lastSecond = NaN;
  /** The ISO string of lastSecond without its milliseconds and Z ("2026-11-23T04:00:00."). */
  private lastSecondPrefix = '';

  /** Opens (creates or resumes) a log; reads the tail with async I/O. */
  static async open(options: AuditLogOptions): Promise<AuditLog> {
    const cfg = resolveOptions(options);
    if (cfg.dir !== null) return AuditLog.openSync(options); // startup: segment listing and one tail read
    const instanceId = newInstanceId();
    if (cfg.file === null) return new AuditLog(cfg, instanceId, FRESH, null, null);
    const file = cfg.file;
    const lockPath = lockOrFail(file, instanceId, cfg, file);
    try {
      let size = 0;
      let existed = true;
      try {
        size = (await fs.promises.stat(file)).size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        existed = false;
      }
      const tail = await driveAsync(file, size, cfg.signingKey, cfg.maxResumeScanBytes);
      if (tail.keepBytes < size) await fs.promises.truncate(file, tail.keepBytes);
      const fd = await new Promise<number>((res, rej) => fs.open(file, 'a', cfg.fileMode, (err, fd) => (err ? rej(err) : res(fd))));
      if (!existed && cfg.durability === 'fsync') fsyncDirSync(file);
      return new AuditLog(cfg, instanceId, tail, fd, lockPath);
    } catch (err) {
      release(file, lockPath);
      throw openFailure(err, file);
    }
  }

  /** Opens (creates or resumes) a log with synchronous I/O: for constructors and startup code. */
  static openSync(options: AuditLogOptions): AuditLog {
    const cfg = resolveOptions(options);
    const instanceId = newInstanceId();
    if (cfg.dir !== null) {
      const anchor = path.join(cfg.dir, 'audit');
      try {
        fs.mkdirSync(cfg.dir, { recursive: true, mode: 0o750 });
      } catch (err) {
        throw openFailure(err, cfg.dir);
      }
      const lockPath = lockOrFail(anchor, instanceId, cfg, cfg.dir);
      try {
        const seg = openSegmentSync(cfg);
        return new AuditLog(cfg, instanceId, seg.tail, seg.fd, lockPath, { path: seg.path, firstSeq: seg.firstSeq });
      } catch (err) {
        release(anchor, lockPath);
        throw openFailure(err, cfg.dir);
      }
    }
    if (cfg.file === null) return new AuditLog(cfg, instanceId, FRESH, null, null);
    const file = cfg.file;
    const lockPath = lockOrFail(file, instanceId, cfg, file);
    try {
      const { tail, fd } = resumeFileSync(file, cfg, cfg.durability === 'fsync');
      return new AuditLog(cfg, instanceId, tail, fd, lockPath);
    } catch (err) {
      release(file, lockPath);
      throw openFailure(err, file);
    }
  }

  private constructor(
    cfg: ResolvedOptions,
    instanceId: string,
    tail: TailState,
    fd: number | null,
    lockPath: string | null,
    segment: { path: string; firstSeq: number } | null = null,
  ) {
    super();
    this.cfg = cfg;
    this.segmentPath = segment?.path ?? null;
    this.segmentFirstSeq = segment?.firstSeq ?? 0;
    this.segmentBytesSoFar = tail.keepBytes;
    this.segmentStartMs = cfg.now();
    this.openedAtMs = this.segmentStartMs;
    this.instanceId = instanceId;
    this.fd = fd;
    this.lockPath = lockPath;
    this.memory = cfg.durability === 'memory' ? [] : null;
    this.fileBytes = tail.keepBytes;
    const digestPath = digestPathFor(cfg);
    if (fd !== null && digestPath !== null) {
      try {
        this.digest = DigestWriter.openSync(digestPath, cfg.durability === 'fsync', cfg.fileMode, (err) => {
          if (this.busy) this.pendingFailure = err;
          else this.fail(err);
        });
        if (!tail.resumed && this.digest.entries > 0) {
          throw auditError(
            AuditErrorCode.Corrupt,
            `audit: ${digestPath} lists ${this.digest.entries} checkpoints but the log is empty or missing: the log was removed. Move the log and its digest aside together to start a new one`,
          );
        }
      } catch (err) {
        this.digest?.close();
        fs.closeSync(fd);
        throw err;
      }
    }
    if (fd !== null) registerExitFlush(this);
    this.redactor = new PersonalDataRedactor(cfg.signingKey.secret as Buffer);
    this.redact = (x) => this.redactor.string(x);
    this.callers = new CallerIdResolver(cfg.callerHashKey, (id) => this.redactor.string(id));
    this.cursor = { nextSeq: tail.nextSeq, prevHash: tail.prevHash, lastCheckpointSeq: tail.lastCheckpointSeq };
    this.sinceCheckpoint = tail.sinceCheckpoint;
    this.headSeq = tail.nextSeq;
    this.writtenSeq = tail.nextSeq - 1;
    this.syncedSeq = tail.nextSeq - 1;
    this.syncTarget = tail.nextSeq - 1;
    this.resumed = tail.resumed;
    this.recoveredBytes = tail.discarded?.discardedBytes ?? 0;
    this.pushEntry({
      v: 1,
      type: 'open',
      seq: this.cursor.nextSeq,
      prevHash: this.cursor.prevHash,
      time: this.isoTime(cfg.now()),
      instanceId,
      pid: process.pid,
      durability: cfg.durability,
      resumed: tail.resumed,
      recovered: tail.discarded,
    });
    if (cfg.checkpointIntervalMs > 0) {
      this.checkpointTimer = setInterval(() => this.onCheckpointTimer(), cfg.checkpointIntervalMs);
      this.checkpointTimer.unref();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Hot path

  /**
   * Hashes the record onto the chain and queues it; no I/O, never waits. Throws TypeError
   * TG_INVALID_ARGUMENT for an invalid record or caller id, TG_AUDIT_CLOSED after close(),
   * TG_AUDIT_WRITE_FAILED once the log has failed, and (with onFull: 'throw') RangeError
   * TG_AUDIT_QUEUE_FULL when the queue is full.
   */
  append(input: AuditRecordInput): AuditTicket {
    if (this.state !== 'open') throw this.notOpen();
    checkRecordInput(input);
    const callerId = this.callers.resolve(input.callerId);
    const ms = this.timeOf(input.time);
    if (!this.admit()) return this.refuse();
    const seq = this.cursor.nextSeq;
    const id = makeAuditId(seq, this.instanceId);
    // Personal data in any string of the record is replaced by a keyed token while it is
    // serialized (privacy.ts): one walk, and the caller's objects are never touched.
    const canon = recordCanonical(recordFieldsFrom(input, seq, this.cursor.prevHash, id, this.isoTime(ms), callerId, this.callers.hashed), this.redact);
    return this.seal(canon, seq, id);
  }

  /**
   * Appends a forecast journal's entry (lib/journal): the same chain, queue bound, segments,
   * checkpoints, fsync and acknowledgements as a record. The journal checks its fields itself;
   * they are written as they are (no redaction: instruments, numbers and hashes only, and a
   * redacted base64 field would no longer decode). Throws like `append`.
   */
  appendEntry(type: JournalEntryType, fields: Readonly<Record<string, JsonValue>>, time?: number): AuditTicket {
    if (this.state !== 'open') throw this.notOpen();
    if (type !== 'forecast' && type !== 'outcome') throw auditTypeError(`audit: appendEntry takes 'forecast' or 'outcome' entries, got ${String(type)}`);
    const ms = this.timeOf(time);
    if (!this.admit()) return this.refuse();
    const seq = this.cursor.nextSeq;
    const id = makeAuditId(seq, this.instanceId);
    // The chain's fields last: a field of the entry's own cannot replace them.
    const canon = canonicalJson({ ...fields, v: 1, type, seq, prevHash: this.cursor.prevHash, id, time: this.isoTime(ms) });
    return this.seal(canon, seq, id);
  }

  private timeOf(t: number | Date | undefined): number {
    const ms = t === undefined ? this.cfg.now() : typeof t === 'number' ? t : t instanceof Date ? t.getTime() : NaN;
    if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) throw auditTypeError(`audit: time must be a valid date or ms since the epoch, got ${String(t)}`);
    return ms;
  }

  /** Room in the queue for one more entry: rotates and writes a pending gap entry first. */
  private admit(): boolean {
    if (this.cursor.nextSeq - 1 - this.writtenSeq >= this.cfg.maxQueue || this.queueBytes >= this.cfg.maxQueueBytes) return false;
    if (this.segmentPath !== null && this.rotationDue()) this.startSegment();
    if (this.droppedSinceGap + this.handoffDroppedSinceGap > 0) this.pushGap();
    return true;
  }

  private seal(canon: string, seq: number, id: string): AuditTicket {
    const hash = entryHash(this.cursor.prevHash, canon);
    this.enqueue(sealLine(canon, hash), hash);
    this.appended++;
    if (this.sinceCheckpoint >= this.cfg.checkpointEvery) this.pushCheckpoint(false);
    return new Accepted(this, seq, id, hash);
  }

  /** ISO 8601 of a time in ms; within the same second only the milliseconds change (no Date). */
  private isoTime(ms: number): string {
    if (ms === this.lastTimeMs) return this.lastTimeIso;
    const t = Math.floor(ms);
    const second = Math.floor(t / 1000);
    if (second !== this.lastSecond || t !== ms) {
      this.lastTimeIso = new Date(ms).toISOString();
      if (t === ms) {
        this.lastSecond = second;
        this.lastSecondPrefix = this.lastTimeIso.slice(0, -4);
      }
    } else {
      const milli = t - second * 1000;
      this.lastTimeIso = `${this.lastSecondPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
    }
    this.lastTimeMs = ms;
    return this.lastTimeIso;
  }

  private rotationDue(): boolean {
    if (this.cursor.nextSeq === this.segmentFirstSeq) return false; // nothing in it yet
    if (this.segmentBytesSoFar >= this.cfg.segmentBytes) return true;
    return this.cfg.segmentMs > 0 && this.cfg.now() - this.segmentStartMs >= this.cfg.segmentMs;
  }

  /**
   * The next entry opens a new segment, and it is a checkpoint: it signs everything in the
   * segments before, so each segment can be checked on its own and resumed from its start.
   */
  private startSegment(): void {
    const first = this.cursor.nextSeq;
    this.rotations.push(first);
    this.segmentFirstSeq = first;
    this.segmentBytesSoFar = 0;
    this.segmentStartMs = this.cfg.now();
    this.pushCheckpoint(false);
  }

  private enqueue(line: string, hash: string): void {
    this.queue.push(line);
    this.queueBytes += line.length;
    this.segmentBytesSoFar += line.length;
    this.cursor.nextSeq++;
    this.cursor.prevHash = hash;
    this.entries++;
    this.sinceCheckpoint++;
    this.requestPump(this.urgent());
  }

  private pushEntry(body: { seq: number; prevHash: string; [key: string]: unknown }): string {
    const canon = canonicalJson(body);
    const hash = entryHash(body.prevHash, canon);
    this.enqueue(sealLine(canon, hash), hash);
    return hash;
  }

  private pushCheckpoint(final: boolean): void {
    const body = checkpointBody(this.cursor, this.isoTime(this.cfg.now()), this.cfg.signingKey, this.cfg.keyId, final);
    const hash = this.pushEntry(body);
    if (this.digest !== null) {
      const segment = this.segmentPath !== null ? segmentName(this.segmentFirstSeq) : path.basename(this.cfg.file as string);
      this.pendingDigests.push({ seq: body.seq, hash, fromSeq: body.fromSeq, toSeq: body.toSeq, lastHash: body.lastHash, time: body.time, final, keyId: body.keyId, alg: body.alg, sig: body.sig, segment });
    }
    this.cursor.lastCheckpointSeq = body.seq;
    this.sinceCheckpoint = 0;
    this.checkpoints++;
    this.lastCheckpointAtMs = this.cfg.now();
    if (this.listenerCount('checkpoint') > 0) {
      this.emit('checkpoint', { seq: body.seq, fromSeq: body.fromSeq, toSeq: body.toSeq, lastHash: body.lastHash, hash, time: body.time, final });
    }
  }

  private pushGap(): void {
    for (const [reason, dropped] of [['queue-full', this.droppedSinceGap], ['handoff-full', this.handoffDroppedSinceGap]] as const) {
      if (dropped === 0) continue;
      this.pushEntry({
        v: 1,
        type: 'gap',
        seq: this.cursor.nextSeq,
        prevHash: this.cursor.prevHash,
        time: this.isoTime(this.cfg.now()),
        reason,
        dropped,
        firstTime: new Date(this.firstDropMs).toISOString(),
        lastTime: new Date(this.lastDropMs).toISOString(),
      });
    }
    this.droppedSinceGap = 0;
    this.handoffDroppedSinceGap = 0;
  }

  /**
   * Records that `count` records were refused before they reached the log (a full hand-off
   * buffer with the 'drop' policy): counted in `stats().dropped` and written as a gap entry
   * (reason 'handoff-full') before the next entry, so the log itself says records are missing.
   */
  recordDropped(count: number): void {
    if (this.state !== 'open') throw this.notOpen();
    if (!Number.isSafeInteger(count) || count < 1) throw auditTypeError(`audit: count must be a positive integer, got ${String(count)}`);
    const now = this.cfg.now();
    if (this.droppedSinceGap + this.handoffDroppedSinceGap === 0) this.firstDropMs = now;
    this.lastDropMs = now;
    this.dropped += count;
    this.handoffDroppedSinceGap += count;
    this.requestPump(false);
  }

  private refuse(): DroppedAuditTicket {
    const now = this.cfg.now();
    this.dropped++;
    if (this.droppedSinceGap++ + this.handoffDroppedSinceGap === 0) this.firstDropMs = now;
    this.lastDropMs = now;
    const info: AuditDropInfo = { dropped: this.dropped, pending: this.cursor.nextSeq - 1 - this.writtenSeq, pendingBytes: this.queueBytes };
    if (this.listenerCount('drop') > 0) this.emit('drop', info);
    else if (now - this.lastDropWarning >= 1000) {
      this.lastDropWarning = now;
      process.emitWarning(`audit queue full (${info.pending} entries pending): ${info.dropped} record(s) dropped so far; a gap entry will record them`, {
        code: AuditErrorCode.QueueFull,
      });
    }
    if (this.cfg.onFull === 'throw') {
      throw auditRangeError(AuditErrorCode.QueueFull, `audit: queue full (${info.pending} entries, ${info.pendingBytes} bytes pending); record refused`);
    }
    return DROPPED;
  }

  private notOpen(): Error {
    if (this.state === 'failed' && this.error) return this.error;
    return auditError(AuditErrorCode.Closed, `audit: the log is ${this.state}`);
  }

  // -------------------------------------------------------------------------------------------
  // Writing

  private urgent(): boolean {
    return (
      this.cfg.flushIntervalMs === 0 ||
      this.state === 'closing' ||
      this.syncTarget > this.syncedSeq ||
      this.queueBytes >= this.cfg.maxBatchBytes
    );
  }

  private requestPump(urgent: boolean): void {
    if (this.busy || this.state === 'failed' || this.state === 'closed') return;
    if (this.scheduled === 'immediate') return;
    if (this.scheduled === 'timer') {
      if (!urgent) return;
      clearTimeout(this.timer as NodeJS.Timeout);
      this.timer = null;
    }
    if (urgent) {
      this.scheduled = 'immediate';
      setImmediate(this.pump);
    } else {
      this.scheduled = 'timer';
      this.timer = setTimeout(this.pump, this.cfg.flushIntervalMs);
    }
  }

  private readonly pump = (): void => {
    this.scheduled = null;
    this.timer = null;
    if (this.busy || this.state === 'failed' || this.state === 'closed') return;
    const queued = this.queue.length - this.head;
    if (this.memory !== null) {
      for (let i = this.head; i < this.queue.length; i++) this.memory.push((this.queue[i] as string).slice(0, -1));
      this.writtenEntries += queued;
      this.syncedEntries += queued;
      this.headSeq += queued;
      this.queue = [];
      this.head = 0;
      this.queueBytes = 0;
      this.writtenSeq = this.syncedSeq = this.cursor.nextSeq - 1;
      this.afterOp();
      return;
    }
    if (queued > 0 && this.rotations.length > 0 && this.rotations[0] === this.headSeq) {
      try {
        this.switchSegment(this.rotations.shift() as number);
      } catch (err) {
        return this.fail(err as Error);
      }
    }
    const fd = this.fd as number;
    const boundary = this.rotations.length > 0 ? (this.rotations[0] as number) : Infinity;
    if (queued > 0) {
      let n = 0;
      let chars = 0;
      while (this.head + n < this.queue.length && this.headSeq + n < boundary) {
        const len = (this.queue[this.head + n] as string).length;
        if (n > 0 && chars + len > this.cfg.maxBatchBytes) break;
        chars += len;
        n++;
      }
      const text = n === queued && this.head === 0 ? this.queue.join('') : this.queue.slice(this.head, this.head + n).join('');
      this.head += n;
      if (this.head === this.queue.length) {
        this.queue = [];
        this.head = 0;
      } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.queueBytes -= chars;
      const lastSeq = this.headSeq + n - 1;
      this.headSeq += n;
      const buf = Buffer.from(text, 'utf8');
      const sync = this.cfg.durability === 'fsync' || this.syncTarget > this.syncedSeq;
      this.busy = true;
      this.inflight = { buf, start: this.fileBytes };
      this.writeAll(fd, buf, 0, (err) => {
        this.inflight = null;
        if (err) return this.fail(err);
        this.fileBytes += buf.length;
        this.writtenSeq = lastSeq;
        this.writtenEntries += n;
        this.bytes += buf.length;
        this.batches++;
        if (!sync) return this.afterOp();
        fs.fdatasync(fd, (err2) => {
          if (err2) return this.fail(err2);
          this.syncedEntries += lastSeq - this.syncedSeq;
          this.syncedSeq = lastSeq;
          this.afterOp();
        });
      });
    } else if (this.syncTarget > this.syncedSeq && this.writtenSeq > this.syncedSeq) {
      const target = this.writtenSeq;
      this.busy = true;
      fs.fdatasync(fd, (err) => {
        if (err) return this.fail(err);
        this.syncedEntries += target - this.syncedSeq;
        this.syncedSeq = target;
        this.afterOp();
      });
    } else {
      this.afterOp();
    }
  };

  /**
   * Dir mode: the entries from `firstSeq` on go to a new segment file. The old one is
   * fdatasync'd and closed first (rare: once per segmentBytes or segmentMs), so a flush
   * promised for its entries holds; the new one is created exclusively and its directory synced.
   */
  private switchSegment(firstSeq: number): void {
    const old = this.fd as number;
    fs.fdatasyncSync(old);
    this.syncedEntries += this.writtenSeq - this.syncedSeq;
    this.syncedSeq = this.writtenSeq;
    this.fd = null; // never keep a closed descriptor: its number may be reused by anything else
    fs.closeSync(old);
    const next = path.join(this.cfg.dir as string, segmentName(firstSeq));
    this.fd = fs.openSync(next, 'ax', this.cfg.fileMode);
    fsyncDirSync(next);
    this.segmentPath = next;
    this.fileBytes = 0;
    this.segmentsStarted++;
    this.settle();
  }

  private writeAll(fd: number, buf: Buffer, off: number, cb: (err: Error | null) => void): void {
    fs.write(fd, buf, off, buf.length - off, null, (err, n) => {
      if (err) return cb(err);
      if (off + n < buf.length) return this.writeAll(fd, buf, off + n, cb);
      cb(null);
    });
  }

  private afterOp(): void {
    this.busy = false;
    if (this.pendingFailure !== null) {
      const err = this.pendingFailure;
      this.pendingFailure = null;
      return this.fail(err);
    }
    this.settle();
    if (this.state === 'failed' || this.state === 'closed') return;
    if (this.queue.length > this.head) this.requestPump(this.urgent());
    else if (this.syncTarget > this.syncedSeq) this.requestPump(true);
    else if (this.state === 'closing') this.finishClose();
  }

  private ackedSeq(): number {
    return this.cfg.durability === 'fsync' ? this.syncedSeq : this.writtenSeq;
  }

  private settle(): void {
    const acked = this.ackedSeq();
    if (this.digest !== null && this.pendingDigests.length > 0) {
      let k = 0;
      while (k < this.pendingDigests.length && (this.pendingDigests[k] as DigestCheckpoint).seq <= acked) {
        this.digest.add(this.pendingDigests[k++] as DigestCheckpoint, !this.exiting);
      }
      if (k > 0) this.pendingDigests.splice(0, k);
    }
    let i = 0;
    while (i < this.ackWaiters.length && (this.ackWaiters[i] as Waiter).seq <= acked) (this.ackWaiters[i++] as Waiter).resolve();
    if (i > 0) this.ackWaiters.splice(0, i);
    let j = 0;
    while (j < this.syncWaiters.length && (this.syncWaiters[j] as Waiter).seq <= this.syncedSeq) (this.syncWaiters[j++] as Waiter).resolve();
    if (j > 0) this.syncWaiters.splice(0, j);
  }

  private fail(cause: Error): void {
    if (this.state === 'failed' || this.state === 'closed') return;
    const err = auditError(
      AuditErrorCode.WriteFailed,
      `audit: writing ${this.segmentPath ?? this.cfg.file} failed (${cause.message}); the log accepts no more records`,
      cause,
    );
    this.error = err;
    this.state = 'failed';
    this.busy = false;
    unregisterExitFlush(this);
    this.stopTimers();
    for (const w of this.ackWaiters) w.reject(err);
    for (const w of this.syncWaiters) w.reject(err);
    this.ackWaiters = [];
    this.syncWaiters = [];
    if (this.listenerCount('failed') > 0) this.emit('failed', err);
    else process.emitWarning(err.message, { code: AuditErrorCode.WriteFailed });
    if (this.closeWaiter) this.finishClose();
  }

  /**
   * @internal On process exit (process.exit() included, where no callback runs again): writes
   * the batch in flight if the thread pool has not (waiting up to 2 s for one it is writing), then
   * every queued line, then fdatasync (not in 'none'). No final checkpoint: the verifier reports
   * an unverified tail, never a gap. Errors are swallowed: the process is ending, and the
   * verifier reports whatever is missing.
   */
  flushOnExit(): void {
    const fd = this.fd;
    if (this.exiting) return;
    if (fd === null || this.state === 'failed' || this.state === 'closed') return;
    for (const hook of this.exitHooks) {
      try {
        hook();
      } catch {
        /* exiting */
      }
    }
    try {
      this.exiting = true;
      const f = this.inflight;
      if (f !== null) {
        // The thread pool goes on running during 'exit' and finishes (or starts) the batch in
        // flight: wait for it to be in the file. Never write it a second time (the file appends:
        // a late original would duplicate it); if it is not there in time, write nothing after
        // it either, so the log ends consistently and resumes (what it held was not acknowledged).
        const end = f.start + f.buf.length;
        const deadline = Date.now() + 5000;
        let size = fs.fstatSync(fd).size;
        while (size < end && Date.now() < deadline) size = fs.fstatSync(fd).size;
        if (size < end) return;
        this.inflight = null;
      }
      let out = fd;
      let seq = this.headSeq;
      let from = this.head;
      while (from < this.queue.length) {
        if (this.rotations.length > 0 && this.rotations[0] === seq) {
          this.switchSegment(this.rotations.shift() as number);
          out = this.fd as number;
        }
        const next = this.rotations.length > 0 ? (this.rotations[0] as number) : Infinity;
        const to = Math.min(this.queue.length, from + (next - seq));
        writeAllSync(out, Buffer.from(this.queue.slice(from, to).join(''), 'utf8'));
        seq += to - from;
        from = to;
      }
      this.queue = [];
      this.head = 0;
      if (this.cfg.durability === 'fsync') fs.fdatasyncSync(out);
      if (this.digest !== null) {
        for (const c of this.pendingDigests) this.digest.add(c, false);
        this.pendingDigests = [];
        this.digest.flushSync();
      }
    } catch {
      /* exiting */
    }
  }

  /** Runs `hook` on process exit just before this log writes what it holds (to append records
   * still waiting in front of it, like the guardian's hand-off buffer). */
  beforeExitFlush(hook: () => void): void {
    this.exitHooks.push(hook);
  }

  private stopTimers(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    this.timer = null;
    this.checkpointTimer = null;
  }

  private onCheckpointTimer(): void {
    if (this.state !== 'open') return;
    if (this.droppedSinceGap + this.handoffDroppedSinceGap > 0) this.pushGap();
    if (this.sinceCheckpoint > 0) this.pushCheckpoint(false);
  }

  /** @internal Resolves when entry `seq` is acknowledged at the log's durability level. */
  whenAcknowledged(seq: number): Promise<void> {
    if (seq <= this.ackedSeq()) return Promise.resolve();
    if (this.state === 'failed') return Promise.reject(this.error);
    return new Promise((resolve, reject) => insertWaiter(this.ackWaiters, { seq, resolve, reject }));
  }

  /** Writes and fdatasyncs every entry appended so far ('memory': stores them). */
  flush(): Promise<void> {
    if (this.state === 'failed') return Promise.reject(this.error);
    if (this.state === 'closed') return Promise.resolve();
    const target = this.cursor.nextSeq - 1;
    if (target <= this.syncedSeq) return Promise.resolve();
    if (target > this.syncTarget) this.syncTarget = target;
    const p = new Promise<void>((resolve, reject) => insertWaiter(this.syncWaiters, { seq: target, resolve, reject }));
    this.requestPump(true);
    return p;
  }

  /**
   * Writes a gap entry for pending drops and a final signed checkpoint, writes and fdatasyncs
   * everything, closes the file and releases the lock. Resolves with the final stats; rejects
   * with TG_AUDIT_WRITE_FAILED when the log failed (resources are released either way).
   */
  close(): Promise<AuditLogStats> {
    if (this.closePromise) return this.closePromise;
    this.closePromise = new Promise<AuditLogStats>((resolve, reject) => {
      this.closeWaiter = { resolve, reject };
    });
    if (this.state === 'failed') {
      this.finishClose();
      return this.closePromise;
    }
    if (this.checkpointTimer) clearInterval(this.checkpointTimer);
    this.checkpointTimer = null;
    if (this.droppedSinceGap + this.handoffDroppedSinceGap > 0) this.pushGap();
    this.pushCheckpoint(true);
    this.state = 'closing';
    this.syncTarget = this.cursor.nextSeq - 1;
    this.requestPump(true);
    return this.closePromise;
  }

  private finishClose(): void {
    const waiter = this.closeWaiter;
    if (!waiter) return;
    this.closeWaiter = null;
    this.stopTimers();
    unregisterExitFlush(this);
    const done = (err: Error | null): void => {
      // Read now: the digest's last write (waited for) may have failed the log meanwhile.
      const failed = this.state === 'failed';
      if (this.cfg.file !== null) release(this.cfg.file, this.lockPath);
      if (this.cfg.dir !== null) release(path.join(this.cfg.dir, 'audit'), this.lockPath);
      if (!failed) this.state = 'closed';
      if (failed) waiter.reject(this.error as Error);
      else if (err) waiter.reject(err);
      else waiter.resolve(this.stats());
    };
    const fd = this.fd;
    this.fd = null;
    const closeFile = (): void => {
      if (fd === null) done(null);
      else fs.close(fd, (err) => done(err));
    };
    const digest = this.digest;
    if (digest === null) return closeFile();
    void digest.whenIdle().then(() => {
      try {
        digest.close();
      } catch {
        /* closing a descriptor we own cannot fail in a way that loses data already synced */
      }
      closeFile();
    });
  }

  // -------------------------------------------------------------------------------------------
  // Introspection

  stats(): AuditLogStats {
    return {
      file: this.segmentPath ?? this.cfg.file,
      dir: this.cfg.dir,
      segmentsStarted: this.segmentsStarted,
      durability: this.cfg.durability,
      state: this.state,
      instanceId: this.instanceId,
      appended: this.appended,
      entries: this.entries,
      written: this.writtenEntries,
      synced: this.syncedEntries,
      pending: this.cursor.nextSeq - 1 - this.writtenSeq,
      pendingBytes: this.queueBytes,
      dropped: this.dropped,
      redacted: this.redactor.redacted,
      bytes: this.bytes,
      batches: this.batches,
      checkpoints: this.checkpoints,
      lastCheckpointAtMs: this.lastCheckpointAtMs,
      openedAtMs: this.openedAtMs,
      sinceCheckpoint: this.sinceCheckpoint,
      maxQueue: this.cfg.maxQueue,
      lastSeq: this.cursor.nextSeq - 1,
      lastHash: this.cursor.prevHash,
      lastWrittenSeq: this.writtenSeq,
      lastSyncedSeq: this.syncedSeq,
      resumed: this.resumed,
      recoveredBytes: this.recoveredBytes,
      error: this.error ? this.error.message : null,
    };
  }

  get durability(): AuditDurability {
    return this.cfg.durability;
  }

  /** The file written now (in dir mode, the current segment). */
  get file(): string | null {
    return this.segmentPath ?? this.cfg.file;
  }

  get dir(): string | null {
    return this.cfg.dir;
  }

  /** 'memory' durability: the lines written so far (without newlines). Empty otherwise. */
  memoryLines(): readonly string[] {
    return this.memory ?? [];
  }
}
