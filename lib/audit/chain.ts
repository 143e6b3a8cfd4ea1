/**
 * The hash chain and its signed checkpoints.
 *
 * Every entry of the log (a record, a checkpoint, an `open` marker written when a writer starts or
 * resumes, a `gap` entry counting records dropped on a full queue) is one JSON line carrying
 * `seq` (0, 1, 2, ... without holes), `prevHash` (the previous entry's hash; GENESIS_HASH for
 * seq 0) and
 *
 *     hash = sha256_hex(prevHash + canonicalJson(entry without `hash`))
 *
 * and the line is that canonical body with `"hash"` as its last field (sealLine). Readers hash
 * the stored body itself and refuse a line that is not in canonical form (stored-line.ts), so
 * every byte of a line is covered, not only what it parses to.
 *
 * so editing, deleting, inserting or reordering any entry breaks the chain from there on unless
 * every later hash is recomputed. What a forger cannot recompute is a checkpoint: every N entries
 * or T ms (and on close, with `final: true`) the writer appends
 *
 *     { type: 'checkpoint', fromSeq, toSeq, count, lastHash, time, final, keyId,
 *       alg: 'HMAC-SHA256' | 'Ed25519', sig }
 *
 * where [fromSeq, toSeq] are the entries since the previous checkpoint, lastHash is the hash of
 * entry toSeq (which commits to the whole chain before it), and sig signs
 * canonicalJson({ count, final, fromSeq, keyId, lastHash, time, toSeq }) with HMAC-SHA256 (a
 * shared secret) or Ed25519 (a private key; auditors hold the public key): signing.ts.
 * A checkpoint is itself a chain entry, so it cannot be removed from the middle either. This is
 * the scheme of AWS CloudTrail digest files, kept inside the log: entries after the last
 * checkpoint are chained but not yet signed (the "unverified tail"), and a log that was closed
 * ends with a final checkpoint.
 */
import { createHash } from 'node:crypto';

import { canonicalJson } from './record';
import { asCheckpointKey, type CheckpointAlg, type CheckpointKey } from './signing';

export const AUDIT_FORMAT_VERSION = 1;
export const GENESIS_HASH = '0'.repeat(64);
export const CHECKPOINT_ALG = 'HMAC-SHA256';

/** The forecast journal's entries (lib/journal) ride on the same chain, in a log of their own. */
export type JournalEntryType = 'forecast' | 'outcome';
export type AuditEntryType = 'record' | 'checkpoint' | 'open' | 'gap' | JournalEntryType;
export const ENTRY_TYPES: readonly AuditEntryType[] = ['record', 'checkpoint', 'open', 'gap', 'forecast', 'outcome'];

interface EntryBase {
  readonly v: 1;
  readonly seq: number;
  readonly prevHash: string;
  readonly hash: string;
  /** ISO 8601 UTC. */
  readonly time: string;
}

export interface AuditCheckpoint extends EntryBase {
  readonly type: 'checkpoint';
  readonly fromSeq: number;
  readonly toSeq: number;
  readonly count: number;
  readonly lastHash: string;
  readonly final: boolean;
  readonly keyId: string | null;
  readonly alg: CheckpointAlg;
  /** HMAC-SHA256 (64 hex) or Ed25519 (128 hex) signature over checkpointPayload(). */
  readonly sig: string;
}

/** Written first by every AuditLog session: a new log, or the resumption of an existing one. */
export interface AuditOpenEntry extends EntryBase {
  readonly type: 'open';
  readonly instanceId: string;
  readonly pid: number;
  readonly durability: string;
  /** True when the log existed and this session continues its chain. */
  readonly resumed: boolean;
  /** Set when an incomplete last line (a write cut by a crash) was cut off before resuming. */
  readonly recovered: { readonly discardedBytes: number; readonly discardedSha256: string } | null;
}

/** Records that were refused (never silent: counted here): by `append` on a full queue, or by a
 * full hand-off buffer in front of the log (AuditHandoff with onFull 'drop'). */
export interface AuditGapEntry extends EntryBase {
  readonly type: 'gap';
  readonly reason: 'queue-full' | 'handoff-full';
  readonly dropped: number;
  readonly firstTime: string;
  readonly lastTime: string;
}

export function sha256Hex(s: string | Uint8Array): string {
  return createHash('sha256').update(s).digest('hex');
}

type NativeChainHash = (prevHash: string, body: string) => string | null;
let nativeChainHash: NativeChainHash | null | undefined;

/**
 * The addon's chainHash (SHA-256 by the OpenSSL already in the process, one call, no hash
 * object): about 1 us less per entry than createHash().update().update().digest() here, which
 * is a quarter of what an append costs (BENCHMARKS.md, audit). Loaded lazily, so the audit code
 * works without the addon (node:crypto then, the same digest).
 */
function nativeHash(): NativeChainHash | null {
  if (nativeChainHash === undefined) {
    nativeChainHash = null;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { addon } = require('../native/addon') as typeof import('../native/addon');
      const a = addon();
      const fn: NativeChainHash = (p, b) => a.chainHash(p, b);
      if (fn(GENESIS_HASH, '') === createHash('sha256').update(GENESIS_HASH).digest('hex')) nativeChainHash = fn;
    } catch {
      nativeChainHash = null;
    }
  }
  return nativeChainHash;
}

/** sha256_hex(prevHash + body) with node:crypto (what the native path must equal). */
export function entryHashCrypto(prevHash: string, canonicalBody: string): string {
  return createHash('sha256').update(prevHash).update(canonicalBody).digest('hex');
}

/** hash = sha256(prevHash + canonical body). */
export function entryHash(prevHash: string, canonicalBody: string): string {
  const n = nativeHash();
  return (n !== null ? n(prevHash, canonicalBody) : null) ?? entryHashCrypto(prevHash, canonicalBody);
}

/** The line written for a canonical body: the body with `"hash"` appended, and a newline. */
export function sealLine(canonicalBody: string, hash: string): string {
  return `${canonicalBody.slice(0, -1)},"hash":"${hash}"}\n`;
}

/** Where the chain stands: the next entry's seq and prevHash, the last checkpoint's seq (-1: none). */
export interface ChainCursor {
  nextSeq: number;
  prevHash: string;
  lastCheckpointSeq: number;
}

export interface CheckpointPayload {
  fromSeq: number;
  toSeq: number;
  count: number;
  lastHash: string;
  time: string;
  final: boolean;
  keyId: string | null;
}

export function checkpointPayload(p: CheckpointPayload): string {
  return canonicalJson({
    count: p.count,
    final: p.final,
    fromSeq: p.fromSeq,
    keyId: p.keyId,
    lastHash: p.lastHash,
    time: p.time,
    toSeq: p.toSeq,
  });
}

/** The signature of a checkpoint payload with the log's key (HMAC-SHA256 hex, or Ed25519 hex). */
export function signCheckpoint(key: Uint8Array | string | CheckpointKey, p: CheckpointPayload): string {
  return asKey(key).sign(checkpointPayload(p));
}

/** Checks a checkpoint's signature (HMAC compared in constant time). */
export function checkpointSignatureValid(key: Uint8Array | string | CheckpointKey, cp: CheckpointPayload & { sig: unknown }): boolean {
  return asKey(key).verify(checkpointPayload(cp), cp.sig);
}

const asKey = (key: Uint8Array | string | CheckpointKey): CheckpointKey => asCheckpointKey(key);

/** The body (without `hash`) of the checkpoint that would come next at `cursor`. */
export function checkpointBody(
  cursor: ChainCursor,
  time: string,
  key: Uint8Array | string | CheckpointKey,
  keyId: string | null,
  final: boolean,
): Omit<AuditCheckpoint, 'hash'> {
  const k = asKey(key);
  const fromSeq = cursor.lastCheckpointSeq + 1;
  const toSeq = cursor.nextSeq - 1;
  const payload: CheckpointPayload = { fromSeq, toSeq, count: toSeq - fromSeq + 1, lastHash: cursor.prevHash, time, final, keyId };
  return {
    v: 1,
    type: 'checkpoint',
    seq: cursor.nextSeq,
    prevHash: cursor.prevHash,
    ...payload,
    alg: k.alg,
    sig: k.sign(checkpointPayload(payload)),
  };
}

// ---------------------------------------------------------------------------------------------
// Reading entries back

const HEX64 = /^[0-9a-f]{64}$/;

export type ParsedEntry = Record<string, unknown> & {
  v: number;
  type: AuditEntryType;
  seq: number;
  prevHash: string;
  hash: string;
  time: string;
};

/** Parses one line (without its newline); returns the entry, or why it is not one. */
export function parseEntry(text: string): { entry: ParsedEntry } | { problem: string } {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    return { problem: `not JSON (${(err as Error).message})` };
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return { problem: 'not a JSON object' };
  const e = obj as Record<string, unknown>;
  if (e.v !== AUDIT_FORMAT_VERSION) return { problem: `unknown format version ${JSON.stringify(e.v)}` };
  if (!ENTRY_TYPES.includes(e.type as AuditEntryType)) return { problem: `unknown entry type ${JSON.stringify(e.type)}` };
  if (!Number.isSafeInteger(e.seq) || (e.seq as number) < 0) return { problem: 'seq is not a non-negative integer' };
  if (typeof e.prevHash !== 'string' || !HEX64.test(e.prevHash)) return { problem: 'prevHash is not 64 hex characters' };
  if (typeof e.hash !== 'string' || !HEX64.test(e.hash)) return { problem: 'hash is not 64 hex characters' };
  if (typeof e.time !== 'string') return { problem: 'time is not a string' };
  if (e.type === 'checkpoint') {
    for (const k of ['fromSeq', 'toSeq', 'count'] as const) {
      if (!Number.isSafeInteger(e[k])) return { problem: `checkpoint ${k} is not an integer` };
    }
    if (typeof e.lastHash !== 'string' || typeof e.final !== 'boolean' || (e.keyId !== null && typeof e.keyId !== 'string')) {
      return { problem: 'checkpoint fields lastHash/final/keyId malformed' };
    }
  }
  return { entry: e as ParsedEntry };
}

/**
 * Checks a checkpoint entry against the chain before it: the span it claims (from the previous
 * checkpoint to the entry before it), its lastHash and its signature. Returns null when sound.
 */
export function checkpointProblem(
  entry: ParsedEntry,
  lastCheckpointSeq: number,
  key: Uint8Array | string | CheckpointKey,
): { reason: 'bad-checkpoint' | 'bad-signature'; message: string } | null {
  const cp = entry as unknown as AuditCheckpoint;
  const k = asKey(key);
  const fromSeq = lastCheckpointSeq + 1;
  const toSeq = cp.seq - 1;
  if (cp.alg !== k.alg) return { reason: 'bad-signature', message: `checkpoint signed with ${JSON.stringify(cp.alg)}, this key verifies ${k.alg}` };
  if (cp.fromSeq !== fromSeq || cp.toSeq !== toSeq || cp.count !== toSeq - fromSeq + 1) {
    return {
      reason: 'bad-checkpoint',
      message: `checkpoint claims seq ${cp.fromSeq}..${cp.toSeq} (count ${cp.count}) but follows seq ${fromSeq}..${toSeq}`,
    };
  }
  if (cp.lastHash !== cp.prevHash) {
    return { reason: 'bad-checkpoint', message: 'checkpoint lastHash does not match the chain (entries before it were altered and re-hashed)' };
  }
  if (!checkpointSignatureValid(key, cp)) {
    return { reason: 'bad-signature', message: 'checkpoint signature does not verify with this signing key (forged or altered checkpoint, or wrong key)' };
  }
  return null;
}
