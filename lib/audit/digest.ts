/**
 * The digest file, in the spirit of AWS CloudTrail's digest files: beside the log, one line per
 * signed checkpoint, naming the segment (or file) that holds it, the span it signs, its hash and
 * its signature, each line hash-chained to the one before. A verifier holding the log and its
 * digest sees whole segments (or the end of a log) that were removed: the digest signs
 * checkpoints the log no longer holds. Ship digest lines off the host to close the last gap
 * (removing the log's end and the digest's end together).
 *
 * A line is written once its checkpoint is acknowledged in the log (written in 'none', on disk in
 * 'fsync'), asynchronously and in order, never on the hot path; a crash may leave the newest
 * checkpoints undigested, which is not an error.
 */
import fs from 'node:fs';
import path from 'node:path';

import { entryHash, GENESIS_HASH, sealLine } from './chain';
import { auditError, AuditErrorCode } from './errors';
import { canonicalJson } from './record';
import { decodeLine, storedLineProblem } from './stored-line';

export interface DigestCheckpoint {
  seq: number;
  hash: string;
  fromSeq: number;
  toSeq: number;
  lastHash: string;
  time: string;
  final: boolean;
  keyId: string | null;
  alg: string;
  sig: string;
  /** The segment file (dir mode) or log file name holding the checkpoint. */
  segment: string;
}

/** A digest line: the checkpoint's fields (its seq and hash renamed), chained to the line before. */
export type DigestEntry = Omit<DigestCheckpoint, 'seq' | 'hash'> & {
  v: 1;
  type: 'digest';
  seq: number;
  prevDigestHash: string;
  checkpointSeq: number;
  checkpointHash: string;
  hash: string;
};

/** The digest of a log file (`<file>.digest`) or of a segment directory (`<dir>/digest.jsonl`). */
export function digestPathFor(target: { file: string | null; dir: string | null }): string | null {
  if (target.dir !== null) return path.join(target.dir, 'digest.jsonl');
  if (target.file !== null) return `${target.file}.digest`;
  return null;
}

export function digestBody(seq: number, prevDigestHash: string, c: DigestCheckpoint): Omit<DigestEntry, 'hash'> {
  const { seq: checkpointSeq, hash: checkpointHash, ...fields } = c;
  return { v: 1, type: 'digest', seq, prevDigestHash, checkpointSeq, checkpointHash, ...fields };
}

/**
 * Reads a digest file back: its entries, and the first problem with its own chain (or null).
 * Each line's stored bytes are checked as the log's are (stored-line.ts): an edit that parses to
 * the same value is still an edit.
 */
export function readDigest(file: string): { entries: DigestEntry[]; problem: string | null; partialBytes: number } {
  const bytes = fs.readFileSync(file);
  const lastNl = bytes.lastIndexOf(0x0a);
  const partialBytes = bytes.length - (lastNl + 1); // 0 when the file ends with a newline
  const entries: DigestEntry[] = [];
  let prev = GENESIS_HASH;
  for (let s = 0, i = 0; s <= lastNl; i++) {
    const nl = bytes.indexOf(0x0a, s);
    const text = decodeLine(bytes.subarray(s, nl));
    s = nl + 1;
    const fail = (why: string): { entries: DigestEntry[]; problem: string; partialBytes: number } => ({ entries, problem: `digest line ${i + 1} ${why}`, partialBytes });
    if (text === null) return fail('is not valid UTF-8: its bytes were altered');
    let e: DigestEntry;
    try {
      e = JSON.parse(text);
    } catch {
      return fail('is not JSON');
    }
    if (e === null || typeof e !== 'object' || e.type !== 'digest' || e.seq !== i || e.prevDigestHash !== prev) {
      return fail(`(seq ${String(e?.seq)}) is altered, out of order or not linked to the line before`);
    }
    const stored = storedLineProblem(text, e, prev);
    if (stored !== null) return fail(`(seq ${i}) ${stored}`);
    entries.push(e);
    prev = e.hash;
  }
  return { entries, problem: null, partialBytes };
}

/** Appends digest lines in order, off the hot path; fdatasync after each write with `sync`. */
export class DigestWriter {
  readonly path: string;
  #fd: number | null;
  #seq: number;
  #prev: string;
  #queue: string[] = [];
  #busy = false;
  #idle: (() => void)[] = [];
  readonly #sync: boolean;
  readonly #onError: (err: Error) => void;
  written = 0;
  /** Lines in the file when it was opened, plus those added since. */
  entries = 0;

  /** Opens (or resumes: the last line's seq and hash; a cut last line is removed) the digest. */
  static openSync(file: string, sync: boolean, mode: number, onError: (err: Error) => void): DigestWriter {
    let seq = 0;
    let prev = GENESIS_HASH;
    if (fs.existsSync(file)) {
      const d = readDigest(file);
      if (d.problem !== null) throw auditError(AuditErrorCode.Corrupt, `audit: cannot resume the digest ${file}: ${d.problem}`);
      if (d.partialBytes > 0) fs.truncateSync(file, fs.statSync(file).size - d.partialBytes);
      const last = d.entries[d.entries.length - 1];
      if (last !== undefined) {
        seq = last.seq + 1;
        prev = last.hash;
      }
    }
    return new DigestWriter(file, fs.openSync(file, 'a', mode), seq, prev, sync, onError);
  }

  private constructor(file: string, fd: number, seq: number, prev: string, sync: boolean, onError: (err: Error) => void) {
    this.path = file;
    this.#fd = fd;
    this.#seq = seq;
    this.entries = seq;
    this.#prev = prev;
    this.#sync = sync;
    this.#onError = onError;
  }

  /** Queues the line of a checkpoint; `write: false` only queues it (process exit: flushSync). */
  add(c: DigestCheckpoint, write = true): void {
    const body = digestBody(this.#seq, this.#prev, c);
    const canon = canonicalJson(body);
    const hash = entryHash(this.#prev, canon);
    this.#queue.push(sealLine(canon, hash));
    this.#seq++;
    this.entries++;
    this.#prev = hash;
    if (write) this.#pump();
  }

  #pump(): void {
    const fd = this.#fd;
    if (this.#busy || fd === null) return;
    if (this.#queue.length === 0) {
      for (const w of this.#idle.splice(0)) w();
      return;
    }
    const buf = Buffer.from(this.#queue.join(''), 'utf8');
    const n = this.#queue.length;
    this.#queue = [];
    this.#busy = true;
    const done = (err: Error | null): void => {
      this.#busy = false;
      if (err) {
        this.#fd = null;
        this.#queue = []; // nothing more can be written: waiters must not wait for it
        for (const w of this.#idle.splice(0)) w();
        this.#onError(err);
        return;
      }
      this.written += n;
      this.#pump();
    };
    fs.write(fd, buf, 0, buf.length, null, (err, bytes) => {
      if (err) return done(err);
      if (bytes !== buf.length) return done(new Error(`short write to ${this.path}`));
      if (!this.#sync) return done(null);
      fs.fdatasync(fd, (e) => done(e));
    });
  }

  /** Resolves when every line added so far is written (or the writer failed). */
  whenIdle(): Promise<void> {
    if (this.#fd === null || (!this.#busy && this.#queue.length === 0)) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Process exit: writes what waits, synchronously. Not while a write is in flight (the lines
   * could land out of order): those newest lines are lost, which the verifier tolerates. */
  flushSync(): void {
    const fd = this.#fd;
    if (fd === null || this.#busy || this.#queue.length === 0) return;
    const buf = Buffer.from(this.#queue.join(''), 'utf8');
    this.#queue = [];
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    if (this.#sync) fs.fdatasyncSync(fd);
  }

  close(): void {
    if (this.#fd !== null) fs.closeSync(this.#fd);
    this.#fd = null;
  }
}
