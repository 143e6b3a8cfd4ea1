/**
 * Resuming an existing log: read its tail backwards until the last checkpoint (or the start of the
 * file), check that stretch of the chain (hashes, links, the checkpoint's signature with this
 * key) and return where the chain continues. An incomplete last line (a write cut short by a
 * crash or power loss; never an acknowledged entry in 'fsync' mode) is cut off, and the `open`
 * entry of the new session records how many bytes were discarded and their sha256.
 *
 * The reading is a generator that yields read requests, so that the same logic runs with
 * synchronous (`AuditLog.openSync`) and asynchronous (`AuditLog.open`) I/O.
 */
import { createHash } from 'node:crypto';

import { checkpointProblem, GENESIS_HASH, parseEntry, type ChainCursor, type ParsedEntry } from './chain';
import { auditError, AuditErrorCode } from './errors';
import type { CheckpointKey } from './signing';
import { decodeLine, storedLineProblem } from './stored-line';

export interface TailState extends ChainCursor {
  /** Entries after the last checkpoint. */
  sinceCheckpoint: number;
  /** Bytes to keep: the file is truncated to this length when it is shorter than the file. */
  keepBytes: number;
  /** What was cut off: an incomplete last line. */
  discarded: { discardedBytes: number; discardedSha256: string } | null;
  /** False for an empty (or missing) file. */
  resumed: boolean;
}

export interface ReadRequest {
  position: number;
  length: number;
}

const FIRST_CHUNK = 256 * 1024;
const NL = 0x0a;

function corrupt(file: string, message: string): Error {
  return auditError(
    AuditErrorCode.Corrupt,
    `audit: cannot resume ${file}: ${message}. Run verifyAuditLog on it; move it (and its digest) aside to start a new log.`,
  );
}

/** null: the buffer does not reach back to a checkpoint or the start of the file yet. */
function analyze(file: string, buf: Buffer, start: number, size: number, key: CheckpointKey): TailState | null {
  const lastNl = buf.lastIndexOf(NL);
  if (lastNl === -1 && start > 0) return null;
  const keepBytes = lastNl === -1 ? 0 : start + lastNl + 1;
  const partial = buf.subarray(lastNl + 1);
  const discarded =
    partial.length > 0 ? { discardedBytes: partial.length, discardedSha256: createHash('sha256').update(partial).digest('hex') } : null;
  if (keepBytes === 0) {
    return { nextSeq: 0, prevHash: GENESIS_HASH, lastCheckpointSeq: -1, sinceCheckpoint: 0, keepBytes, discarded, resumed: false };
  }

  // Complete lines, last first; when the buffer does not start the file, its first line may be cut.
  const firstLineStart = start === 0 ? 0 : buf.indexOf(NL) + 1;
  const lines: ParsedEntry[] = [];
  const texts: string[] = [];
  let foundCheckpoint = false;
  // Lines are [s, e) with buf[e] the newline; walk them from the last one back.
  for (let e = lastNl; e >= firstLineStart; ) {
    const s = e === 0 ? 0 : buf.lastIndexOf(NL, e - 1) + 1;
    const text = decodeLine(buf.subarray(s, e));
    if (text === null) throw corrupt(file, `line at byte ${start + s} is not valid UTF-8`);
    const parsed = parseEntry(text);
    if ('problem' in parsed) throw corrupt(file, `line at byte ${start + s}: ${parsed.problem}`);
    lines.push(parsed.entry);
    texts.push(text);
    if (parsed.entry.type === 'checkpoint') {
      foundCheckpoint = true;
      break;
    }
    e = s - 1;
  }
  if (!foundCheckpoint && start > 0) return null;
  lines.reverse();
  texts.reverse();
  // The chain head is taken from the stored bytes, checked as the verifier checks them: a line
  // that is not byte for byte what the writer wrote is never continued (stored-line.ts).
  const storedProblem = (i: number): string | null => storedLineProblem(texts[i] as string, lines[i] as ParsedEntry, (lines[i] as ParsedEntry).prevHash);

  const first = lines[0];
  if (first === undefined) throw corrupt(file, 'no complete entry');
  let lastCheckpointSeq = -1;
  if (foundCheckpoint) {
    const p = storedProblem(0);
    if (p !== null) throw corrupt(file, `the last checkpoint (seq ${first.seq}) ${p}`);
    // Its span and lastHash were checked when it was written; here the signature is what matters.
    const cp = first as unknown as { fromSeq: number };
    const problem = checkpointProblem(first, cp.fromSeq - 1, key);
    if (problem) throw corrupt(file, `last checkpoint (seq ${first.seq}): ${problem.message}`);
    lastCheckpointSeq = first.seq;
  } else if (first.seq !== 0 || first.prevHash !== GENESIS_HASH) {
    throw corrupt(file, `the first entry has seq ${first.seq} and does not start the chain`);
  }
  let prev: ParsedEntry | null = null;
  for (let i = 0; i < lines.length; i++) {
    const e = lines[i] as ParsedEntry;
    if (prev !== null) {
      if (e.seq !== prev.seq + 1) throw corrupt(file, `seq ${e.seq} follows seq ${prev.seq}`);
      if (e.prevHash !== prev.hash) throw corrupt(file, `entry seq ${e.seq} does not link to the entry before it`);
    }
    const p = storedProblem(i);
    if (p !== null) throw corrupt(file, `entry seq ${e.seq} ${p}`);
    prev = e;
  }
  const last = prev as ParsedEntry;
  return {
    nextSeq: last.seq + 1,
    prevHash: last.hash,
    lastCheckpointSeq,
    sinceCheckpoint: last.seq - lastCheckpointSeq,
    keepBytes,
    discarded,
    resumed: true,
  };
}

/**
 * Yields read requests (answered with the bytes read), returns the tail state. Gives up (throws
 * TG_AUDIT_CORRUPT) when no checkpoint lies within `maxScanBytes` of the end.
 */
export function* resumePlan(file: string, size: number, key: CheckpointKey, maxScanBytes: number): Generator<ReadRequest, TailState, Buffer> {
  if (size === 0) {
    return { nextSeq: 0, prevHash: GENESIS_HASH, lastCheckpointSeq: -1, sinceCheckpoint: 0, keepBytes: 0, discarded: null, resumed: false };
  }
  let start = Math.max(0, size - FIRST_CHUNK);
  let buf = yield { position: start, length: size - start };
  for (;;) {
    const state = analyze(file, buf, start, size, key);
    if (state !== null) return state;
    if (size - start >= maxScanBytes) {
      throw corrupt(file, `no checkpoint in the last ${size - start} bytes (maxResumeScanBytes)`);
    }
    const newStart = Math.max(0, start - Math.max(buf.length, FIRST_CHUNK));
    const more = yield { position: newStart, length: start - newStart };
    buf = Buffer.concat([more, buf]);
    start = newStart;
  }
}
