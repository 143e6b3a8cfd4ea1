/**
 * AuditLog's options, statistics and tickets (its public types), and how the options are checked
 * and completed with their defaults (writer.ts documents what each one does to the log).
 */
import type { KeyObject } from 'node:crypto';
import path from 'node:path';

import { auditTypeError } from './errors';
import { keyBytes } from './record';
import { signingKeyOf, type CheckpointKey } from './signing';


export type AuditDurability = 'memory' | 'none' | 'batched' | 'fsync';

export interface AuditLogOptions {
  /** The JSON-lines file (created when missing, resumed when present). Not used in 'memory'. */
  file?: string;
  /**
   * Instead of one file: a directory of segments `segment-<first seq, 16 digits>.jsonl`, a new
   * one every `segmentBytes` or `segmentMs` (the chain runs on across them; each segment after the
   * first starts with a checkpoint signing everything before it), resumed from the newest.
   */
  dir?: string;
  /** Dir mode: start a new segment once the current one holds this many bytes (default 64 MiB). */
  segmentBytes?: number;
  /** Dir mode: ... or is this old (default 3,600,000 ms; 0: never by time). */
  segmentMs?: number;
  /** Default 'fsync'. See the module comment. */
  durability?: AuditDurability;
  /**
   * Signs the checkpoints: an HMAC-SHA256 secret of at least 32 bytes (string or bytes), or an
   * Ed25519 private key (KeyObject or PEM) whose public key is all an auditor needs. Keep it
   * outside the log's host if you can.
   */
  signingKey: string | Uint8Array | KeyObject;
  /** Names the signing key in each checkpoint (signed), for key rotation. Default null. */
  keyId?: string | null;
  /** When set, caller ids are written as HMAC-SHA256(key, callerId) hex (key >= 16 bytes). */
  hashCallerIds?: { key: string | Uint8Array } | null;
  /** 'batched': at most this long between an append and its write (default 50). 'fsync': extra delay before a batch (default 0). */
  flushIntervalMs?: number;
  /** Entries waiting to be written before `append` refuses (default 100,000). */
  maxQueue?: number;
  /** Bytes waiting to be written before `append` refuses (default 64 MiB). */
  maxQueueBytes?: number;
  /** Largest single write (default 4 MiB); a queue reaching it is written without waiting. */
  maxBatchBytes?: number;
  /** What `append` does when the queue is full: 'drop' (default, counted) or 'throw'. */
  onFull?: 'drop' | 'throw';
  /** A signed checkpoint after this many entries (default 1000). */
  checkpointEvery?: number;
  /** ... and at least this often while entries wait for one (default 10,000 ms; 0: never by time). */
  checkpointIntervalMs?: number;
  /** Resume gives up when no checkpoint lies within this many bytes of the end (default 64 MiB). */
  maxResumeScanBytes?: number;
  /** Take `<file>.lock` (default true). */
  lock?: boolean;
  /** File mode for a new log (default 0o640). */
  fileMode?: number;
  /** Clock in ms since the epoch (default Date.now); tests inject their own. */
  now?: () => number;
}

export type AuditLogState = 'open' | 'closing' | 'closed' | 'failed';

export interface AuditLogStats {
  /** The file written now: the log file, or in dir mode the current segment. */
  file: string | null;
  /** Dir mode: the directory of segments (null otherwise). */
  dir: string | null;
  /** Dir mode: segments started by this session (rotations). */
  segmentsStarted: number;
  durability: AuditDurability;
  state: AuditLogState;
  instanceId: string;
  /** Records accepted by append() in this session. */
  appended: number;
  /** Chain entries created in this session (records, checkpoints, open, gap). */
  entries: number;
  /** Entries handed to the OS (write() returned; in 'memory': stored). */
  written: number;
  /** Entries fdatasync'd (every batch in 'fsync'; on flush/close in 'batched'). */
  synced: number;
  /** Entries created but not yet written. */
  pending: number;
  pendingBytes: number;
  /** Records refused: a full queue, or a full hand-off buffer in front of the log (recordDropped). */
  dropped: number;
  /** Strings in which personal data (e-mail-like, card-like) was replaced by a keyed token. */
  redacted: number;
  /** Bytes written in this session. */
  bytes: number;
  /** Write batches in this session. */
  batches: number;
  checkpoints: number;
  /** When this session last created a checkpoint (epoch ms; null: none yet). */
  lastCheckpointAtMs: number | null;
  /** When this session opened the log (epoch ms): the reference before the first checkpoint. */
  openedAtMs: number;
  /** Entries since the last checkpoint: not yet covered by a signature. */
  sinceCheckpoint: number;
  /** The queue bound (`maxQueue`): `pending` at this refuses records. */
  maxQueue: number;
  /** seq and hash of the newest entry (hashed, maybe not yet written). */
  lastSeq: number;
  lastHash: string;
  lastWrittenSeq: number;
  lastSyncedSeq: number;
  /** True when this session continued an existing log. */
  resumed: boolean;
  /** Bytes of an incomplete last line cut off on resume (0: none). */
  recoveredBytes: number;
  error: string | null;
}

export interface AuditDropInfo {
  /** Records refused so far in this session. */
  dropped: number;
  pending: number;
  pendingBytes: number;
}

export interface AuditCheckpointInfo {
  seq: number;
  fromSeq: number;
  toSeq: number;
  lastHash: string;
  /** The checkpoint entry's own hash: export it off-host to anchor the log. */
  hash: string;
  time: string;
  final: boolean;
}

/** An accepted record: its place in the chain, and its acknowledgement. */
export interface AcceptedAuditTicket {
  readonly accepted: true;
  readonly seq: number;
  readonly id: string;
  readonly hash: string;
  /** Resolves when the entry is acknowledged at the log's durability level; rejects on failure. */
  durable(): Promise<void>;
}

/** A record refused because the queue was full (counted, and written as a gap entry). */
export interface DroppedAuditTicket {
  readonly accepted: false;
  readonly seq: null;
  readonly id: null;
  readonly hash: null;
  readonly reason: 'queue-full';
  /** Rejects with TG_AUDIT_DROPPED. */
  durable(): Promise<void>;
}

export type AuditTicket = AcceptedAuditTicket | DroppedAuditTicket;

export interface ResolvedOptions {
  file: string | null;
  dir: string | null;
  segmentBytes: number;
  segmentMs: number;
  durability: AuditDurability;
  signingKey: CheckpointKey;
  keyId: string | null;
  callerHashKey: Buffer | null;
  flushIntervalMs: number;
  maxQueue: number;
  maxQueueBytes: number;
  maxBatchBytes: number;
  onFull: 'drop' | 'throw';
  checkpointEvery: number;
  checkpointIntervalMs: number;
  maxResumeScanBytes: number;
  lock: boolean;
  fileMode: number;
  now: () => number;
}

export const SIGNING_KEY_MIN_BYTES = 32;

function posInt(v: unknown, name: string, def: number, min = 1): number {
  if (v === undefined) return def;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) throw auditTypeError(`audit: ${name} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

function callerHashKey(h: AuditLogOptions['hashCallerIds']): Buffer | null {
  if (h === undefined || h === null) return null;
  if (typeof h !== 'object') throw auditTypeError('audit: hashCallerIds must be { key } or null');
  return keyBytes(h.key, 'hashCallerIds.key');
}

export function resolveOptions(o: AuditLogOptions): ResolvedOptions {
  if (o === null || typeof o !== 'object') throw auditTypeError('audit: options must be an object');
  const durability = o.durability ?? 'fsync';
  if (!['memory', 'none', 'batched', 'fsync'].includes(durability)) {
    throw auditTypeError(`audit: durability must be 'memory', 'none' (or 'batched') or 'fsync', got ${String(durability)}`);
  }
  const hasFile = typeof o.file === 'string' && o.file.length > 0;
  const hasDir = typeof o.dir === 'string' && o.dir.length > 0;
  if (durability !== 'memory' && hasFile === hasDir) throw auditTypeError(`audit: exactly one of file and dir is required with durability '${durability}'`);
  const onFull = o.onFull ?? 'drop';
  if (onFull !== 'drop' && onFull !== 'throw') throw auditTypeError(`audit: onFull must be 'drop' or 'throw'`);
  if (o.keyId !== undefined && o.keyId !== null && typeof o.keyId !== 'string') throw auditTypeError('audit: keyId must be a string or null');
  if (o.now !== undefined && typeof o.now !== 'function') throw auditTypeError('audit: now must be a function');
  return {
    file: durability === 'memory' || !hasFile ? null : path.resolve(o.file as string),
    dir: durability === 'memory' || !hasDir ? null : path.resolve(o.dir as string),
    segmentBytes: posInt(o.segmentBytes, 'segmentBytes', 64 * 2 ** 20, 1),
    segmentMs: posInt(o.segmentMs, 'segmentMs', 3_600_000, 0),
    durability,
    signingKey: signingKeyOf(o.signingKey, 'signingKey', SIGNING_KEY_MIN_BYTES),
    keyId: o.keyId ?? null,
    callerHashKey: callerHashKey(o.hashCallerIds),
    flushIntervalMs: posInt(o.flushIntervalMs, 'flushIntervalMs', durability === 'batched' || durability === 'none' ? 50 : 0, 0),
    maxQueue: posInt(o.maxQueue, 'maxQueue', 100_000),
    maxQueueBytes: posInt(o.maxQueueBytes, 'maxQueueBytes', 64 * 2 ** 20),
    maxBatchBytes: posInt(o.maxBatchBytes, 'maxBatchBytes', 4 * 2 ** 20),
    onFull,
    checkpointEvery: posInt(o.checkpointEvery, 'checkpointEvery', 1000),
    checkpointIntervalMs: posInt(o.checkpointIntervalMs, 'checkpointIntervalMs', 10_000, 0),
    maxResumeScanBytes: posInt(o.maxResumeScanBytes, 'maxResumeScanBytes', 64 * 2 ** 20),
    lock: o.lock ?? true,
    fileMode: posInt(o.fileMode, 'fileMode', 0o640, 0),
    now: o.now ?? Date.now,
  };
}
