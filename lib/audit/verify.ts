/**
 * Offline verification of an audit log: streams the file once, hashes every line's stored bytes
 * (and refuses a line that is not in canonical form: stored-line.ts), follows the chain links and
 * sequence numbers, checks every checkpoint's span, lastHash and signature, and reports the
 * first position where the log stops being trustworthy and why.
 *
 * What each tampering looks like:
 * - an edited field: `edited` (the entry no longer matches its hash); a respelling that parses
 *   to the same value (`12.50`, `1e2`, `-0`, `\u00e9`, whitespace, key order, a repeated key, CRLF):
 *   `edited` too (not canonical); bytes that are not UTF-8: `malformed`; if the forger re-hashed the
 *   entry, `chain-break` at the next one; if they re-hashed everything after it,
 *   `bad-checkpoint` / `bad-signature` at the next checkpoint (or, after the last checkpoint,
 *   the forged entries are only chained, not signed: `unverified-tail`).
 * - a deleted line: `deleted` (a seq is missing); at the head: `deleted` at line 1.
 * - an inserted line: `inserted` (a seq appears twice) or `chain-break`; a forged line with a
 *   recomputed hash and renumbered successors: the next checkpoint fails, or it stays in the
 *   unverified tail.
 * - reordered lines: `reordered` (the missing seq appears later).
 * - a line cut mid-write: `truncated` (the last line has no newline).
 * - whole entries cut off the end: the log no longer ends with the final checkpoint that close()
 *   writes: status `unverified-tail`, with how many entries follow the last good checkpoint (0
 *   when it was cut exactly after a checkpoint). As with CloudTrail digests, a cut exactly at a
 *   checkpoint is only visible as a missing final checkpoint and the age of the last one: ship
 *   checkpoint hashes off-host ('checkpoint' event) to close that gap.
 * - a wrong signing key, or a forged checkpoint: `bad-signature` at the first checkpoint.
 */
import type { KeyObject } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import { checkpointProblem, GENESIS_HASH, parseEntry, type ParsedEntry } from './chain';
import { readDigest } from './digest';
import { auditTypeError } from './errors';
import { listSegments } from './segments';
import { asCheckpointKey, verifyKeyOf, type CheckpointKey } from './signing';
import { decodeLine, firstBadUtf8, storedLineProblem } from './stored-line';

export type AuditVerifyReason =
  | 'empty'
  | 'malformed'
  | 'truncated'
  | 'edited'
  | 'chain-break'
  | 'deleted'
  | 'reordered'
  | 'inserted'
  | 'bad-genesis'
  | 'bad-checkpoint'
  | 'bad-signature'
  | 'bad-segment'
  | 'bad-digest'
  | 'missing-entries';

export interface AuditVerifyProblem {
  reason: AuditVerifyReason;
  /** 1-based line number of the first bad line. */
  line: number;
  /** Byte offset of that line in the file. */
  offset: number;
  /** Its seq when it could be read, else null. */
  seq: number | null;
  message: string;
  /** Lines that may hold the alteration when it is only detected later (at a checkpoint or a link). */
  suspectLines: { from: number; to: number } | null;
  /** Dir mode: the segment holding that line, and the line's number inside it (1-based). */
  segment?: string;
  segmentLine?: number;
}

export interface AuditVerifyReport {
  file: string | null;
  /**
   * 'verified': every entry is chained and covered by a valid signed checkpoint, and the log ends
   * with the final checkpoint written by close(). 'unverified-tail': no sign of tampering, but
   * the entries after the last checkpoint (maybe 0) are only chained, not signed: the writer is
   * running, was killed, or the end of the log was cut. 'invalid': see `problem`.
   */
  status: 'verified' | 'unverified-tail' | 'invalid';
  /** status !== 'invalid'. */
  ok: boolean;
  problem: AuditVerifyProblem | null;
  lines: number;
  bytes: number;
  /** Entries verified (up to the problem, when there is one). */
  entries: number;
  records: number;
  /** Forecast journal entries (lib/journal): forecasts and outcomes. */
  forecasts: number;
  outcomes: number;
  checkpoints: number;
  lastSeq: number;
  lastHash: string | null;
  lastCheckpoint: { seq: number; line: number; time: string; final: boolean } | null;
  unverifiedTail: { fromSeq: number; fromLine: number; entries: number } | null;
  /** True when the log ends with a final checkpoint. */
  closed: boolean;
  /** Records the writer refused on a full queue (sum of gap entries). */
  dropped: number;
  /** Writer sessions (open entries): 1 plus the number of restarts. */
  sessions: number;
  /** Incomplete last lines cut off when a writer resumed after a crash. */
  recoveries: Array<{ line: number; seq: number; discardedBytes: number }>;
  /** Dir mode: the segments read, in order, with the global line each one starts at. */
  segments?: Array<{ name: string; firstLine: number; lines: number }>;
  /** The digest beside the log (null: none found): lines, and the newest checkpoint it signs. */
  digest?: { file: string; entries: number; lastCheckpointSeq: number | null } | null;
}

export interface VerifyOptions {
  /** HMAC logs: the writer's secret. Ed25519 logs: the public key (PEM or KeyObject) is enough. */
  signingKey?: string | Uint8Array | KeyObject;
  /** Ed25519 logs: the public key (PEM or KeyObject); same as passing it as signingKey. */
  publicKey?: string | KeyObject;
}

function keyOf(o: VerifyOptions): CheckpointKey {
  const k = o.publicKey ?? o.signingKey;
  if (k === undefined) throw auditTypeError('audit verify: a signingKey (HMAC) or publicKey (Ed25519) is required');
  return verifyKeyOf(k, o.publicKey !== undefined ? 'publicKey' : 'signingKey');
}

const NL = 0x0a;

/** Incremental verifier: feed it lines in order, then `finish()`. */
export class AuditVerifier {
  private readonly key: CheckpointKey;
  private expectedSeq = 0;
  private prevHash = GENESIS_HASH;
  private lastCheckpointSeq = -1;
  private lastCheckpointLine = 0;
  private problem: AuditVerifyProblem | null = null;
  private lookingFor: number | null = null;
  private found = false;
  private lines = 0;
  private bytes = 0;
  private entries = 0;
  private records = 0;
  private forecasts = 0;
  private outcomes = 0;
  private checkpoints = 0;
  private dropped = 0;
  private sessions = 0;
  private lastEntry: ParsedEntry | null = null;
  private lastCheckpoint: AuditVerifyReport['lastCheckpoint'] = null;
  private readonly recoveries: AuditVerifyReport['recoveries'] = [];
  /** Every sound checkpoint: its hash and line (the digest is checked against them). */
  readonly checkpointsSeen = new Map<number, { hash: string; line: number }>();

  /** `key`: the HMAC secret or the Ed25519 public key (see VerifyOptions). */
  constructor(
    key: string | Uint8Array | KeyObject | CheckpointKey,
    private readonly file: string | null = null,
  ) {
    this.key = asCheckpointKey(key);
  }

  private fail(reason: AuditVerifyReason, line: number, offset: number, seq: number | null, message: string, suspect: AuditVerifyProblem['suspectLines'] = null): void {
    this.problem = { reason, line, offset, seq, message, suspectLines: suspect };
  }

  /**
   * One line, without its newline: the bytes read from a file (checked as they are), or text;
   * `terminated` is false for a last line that had none.
   */
  line(data: string | Buffer, offset: number, terminated: boolean, byteLength = typeof data === 'string' ? Buffer.byteLength(data) : data.length): void {
    const lineNo = ++this.lines;
    this.bytes += byteLength + (terminated ? 1 : 0);
    const text = typeof data === 'string' ? data : decodeLine(data);
    if (this.problem !== null) {
      if (this.lookingFor !== null && !this.found && text !== null) {
        const p = parseEntry(text);
        if ('entry' in p && p.entry.seq === this.lookingFor) this.found = true;
      }
      return;
    }
    if (!terminated) {
      this.fail('truncated', lineNo, offset, null, `the last line is incomplete (${byteLength} bytes, no newline): the file was cut mid-entry`);
      return;
    }
    if (text === null) {
      const at = firstBadUtf8(data as Buffer);
      this.fail('malformed', lineNo, offset, null, `not an audit entry: not valid UTF-8 (byte ${at} of the line): its bytes were altered`);
      return;
    }
    const parsed = parseEntry(text);
    if ('problem' in parsed) {
      this.fail('malformed', lineNo, offset, null, `not an audit entry: ${parsed.problem}`);
      return;
    }
    const e = parsed.entry;
    const expected = this.expectedSeq;
    if (e.seq > expected) {
      this.lookingFor = expected;
      this.fail('deleted', lineNo, offset, e.seq, `expected seq ${expected}, found seq ${e.seq}: ${e.seq - expected} entr${e.seq - expected === 1 ? 'y is' : 'ies are'} missing`);
      return;
    }
    if (e.seq < expected) {
      this.fail('inserted', lineNo, offset, e.seq, `seq ${e.seq} appears again after seq ${expected - 1}: an entry was inserted or duplicated`, {
        from: Math.max(1, lineNo - 1),
        to: lineNo,
      });
      return;
    }
    if (e.prevHash !== this.prevHash) {
      if (expected === 0) this.fail('bad-genesis', lineNo, offset, e.seq, 'the first entry does not start the chain (prevHash is not the genesis hash)');
      else {
        this.fail('chain-break', lineNo, offset, e.seq, `seq ${e.seq} does not link to the entry before it: that entry was altered and re-hashed, or this one was inserted or replaced`, {
          from: lineNo - 1,
          to: lineNo,
        });
      }
      return;
    }
    // The stored bytes, not a re-serialization of what they parse to (stored-line.ts).
    const stored = storedLineProblem(text, e, e.prevHash);
    if (stored !== null) {
      this.fail('edited', lineNo, offset, e.seq, `seq ${e.seq} ${stored}`);
      return;
    }
    if (e.type === 'checkpoint') {
      const p = checkpointProblem(e, this.lastCheckpointSeq, this.key);
      if (p !== null) {
        this.fail(p.reason, lineNo, offset, e.seq, `checkpoint seq ${e.seq}: ${p.message}`, { from: this.lastCheckpointLine + 1, to: lineNo });
        return;
      }
      this.lastCheckpointSeq = e.seq;
      this.lastCheckpointLine = lineNo;
      this.checkpointsSeen.set(e.seq, { hash: e.hash, line: lineNo });
      this.lastCheckpoint = { seq: e.seq, line: lineNo, time: e.time, final: e.final === true };
      this.checkpoints++;
    } else if (e.type === 'record') {
      this.records++;
    } else if (e.type === 'forecast') {
      this.forecasts++;
    } else if (e.type === 'outcome') {
      this.outcomes++;
    } else if (e.type === 'gap') {
      if (typeof e.dropped === 'number') this.dropped += e.dropped;
    } else if (e.type === 'open') {
      this.sessions++;
      const rec = e.recovered as { discardedBytes?: unknown } | null;
      if (rec && typeof rec === 'object') this.recoveries.push({ line: lineNo, seq: e.seq, discardedBytes: Number(rec.discardedBytes) });
    }
    this.entries++;
    this.expectedSeq++;
    this.prevHash = e.hash;
    this.lastEntry = e;
  }

  finish(): AuditVerifyReport {
    let problem = this.problem;
    if (problem === null && this.lines === 0) {
      problem = { reason: 'empty', line: 0, offset: 0, seq: null, message: 'the log is empty', suspectLines: null };
    }
    if (problem !== null && problem.reason === 'deleted' && this.found) {
      problem = {
        ...problem,
        reason: 'reordered',
        message: `expected seq ${this.lookingFor}, found seq ${String(problem.seq)}; seq ${this.lookingFor} appears later: entries were reordered`,
        suspectLines: { from: problem.line, to: this.lines },
      };
    }
    const last = this.lastEntry;
    const closed = problem === null && last !== null && last.type === 'checkpoint' && last.final === true;
    const status = problem !== null ? 'invalid' : closed ? 'verified' : 'unverified-tail';
    const lastSeq = last === null ? -1 : last.seq;
    return {
      file: this.file,
      status,
      ok: problem === null,
      problem,
      lines: this.lines,
      bytes: this.bytes,
      entries: this.entries,
      records: this.records,
      forecasts: this.forecasts,
      outcomes: this.outcomes,
      checkpoints: this.checkpoints,
      lastSeq,
      lastHash: last === null ? null : last.hash,
      lastCheckpoint: this.lastCheckpoint,
      unverifiedTail:
        status === 'unverified-tail'
          ? { fromSeq: this.lastCheckpointSeq + 1, fromLine: this.lastCheckpointLine + 1, entries: lastSeq - this.lastCheckpointSeq }
          : null,
      closed,
      dropped: this.dropped,
      sessions: this.sessions,
      recoveries: this.recoveries,
    };
  }
}

/** Streams one file's lines into the verifier (memory does not grow with the file). */
async function feed(v: AuditVerifier, file: string): Promise<number> {
  const fh = await fs.promises.open(file, 'r');
  let lines = 0;
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    let carry: Buffer | null = null;
    let offset = 0; // file offset of data[0]
    for (;;) {
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      const data: Buffer = carry === null ? chunk.subarray(0, bytesRead) : Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      let start = 0;
      for (;;) {
        const nl = data.indexOf(NL, start);
        if (nl === -1) break;
        v.line(data.subarray(start, nl), offset + start, true, nl - start);
        lines++;
        start = nl + 1;
      }
      carry = start < data.length ? Buffer.from(data.subarray(start)) : null;
      offset += start;
    }
    if (carry !== null) {
      v.line(carry, offset, false, carry.length);
      lines++;
    }
  } finally {
    await fh.close();
  }
  return lines;
}

/** Verifies an audit log: a file, or a directory of segments (see verifyAuditDir). */
export async function verifyAuditLog(file: string, options: VerifyOptions): Promise<AuditVerifyReport> {
  if ((await fs.promises.stat(file)).isDirectory()) return verifyAuditDir(file, options);
  const v = new AuditVerifier(keyOf(options), file);
  await feed(v, file);
  const report = v.finish();
  // One file: the digest names it, but a log may be verified under another name (a copy).
  checkDigest(report, v, `${file}.digest`, () => undefined);
  return report;
}

/**
 * Checks the log against its digest: every digest line must be linked to the one before, and
 * the checkpoint it names must be in the log, with the same hash, in the segment it names. A
 * checkpoint the log does not hold means entries or whole segments were removed after it was
 * digested. Checkpoints newer than the digest's last line are not an error (a crash can leave
 * them undigested).
 */
function checkDigest(report: AuditVerifyReport, v: AuditVerifier, digestFile: string, segmentAt: (line: number) => string | undefined): void {
  if (!fs.existsSync(digestFile)) {
    report.digest = null;
    return;
  }
  const d = readDigest(digestFile);
  const last = d.entries[d.entries.length - 1];
  report.digest = { file: digestFile, entries: d.entries.length, lastCheckpointSeq: last?.checkpointSeq ?? null };
  const fail = (reason: AuditVerifyReason, message: string, seq: number | null): void => {
    if (report.problem !== null) return; // the log's own first problem comes first
    report.problem = { reason, line: report.lines, offset: report.bytes, seq, message, suspectLines: null };
    report.status = 'invalid';
    report.ok = false;
    report.unverifiedTail = null;
    report.closed = false;
  };
  if (d.problem !== null) return fail('bad-digest', `${path.basename(digestFile)}: ${d.problem}`, null);
  for (const e of d.entries) {
    const cp = v.checkpointsSeen.get(e.checkpointSeq);
    if (cp === undefined) {
      if (report.problem !== null) return; // the log is already invalid at or before this point
      return fail(
        'missing-entries',
        `the digest (line ${e.seq + 1}) signs checkpoint seq ${e.checkpointSeq} in ${e.segment}, which the log does not hold: entries or whole segments were removed`,
        e.checkpointSeq,
      );
    }
    if (cp.hash !== e.checkpointHash) return fail('bad-digest', `checkpoint seq ${e.checkpointSeq} has hash ${cp.hash}, the digest recorded ${e.checkpointHash}`, e.checkpointSeq);
    const seg = segmentAt(cp.line);
    if (seg !== undefined && seg !== e.segment) return fail('bad-digest', `checkpoint seq ${e.checkpointSeq} is in ${seg}, the digest recorded ${e.segment}`, e.checkpointSeq);
  }
}

/**
 * Verifies a directory of segments as one chain, oldest segment first, and each segment's place
 * in it: its name must be the seq of its first entry, and every segment after the first must
 * start with a checkpoint. A removed segment shows as missing seqs (`deleted`) or, at the head,
 * as a chain that does not start at seq 0; removed segments at the end leave the log without its
 * final checkpoint (`unverified-tail`). Problems name the segment and the line inside it.
 */
export async function verifyAuditDir(dir: string, options: VerifyOptions): Promise<AuditVerifyReport> {
  const v = new AuditVerifier(keyOf(options), dir);
  const segments: NonNullable<AuditVerifyReport['segments']> = [];
  let segmentProblem: AuditVerifyProblem | null = null;
  let line = 0;
  for (const seg of listSegments(dir)) {
    const firstLine = line + 1;
    if (segmentProblem === null) {
      const first = await firstEntry(seg.path);
      const bad =
        first === null
          ? null
          : first.seq !== seg.firstSeq
            ? `${seg.name} starts with seq ${first.seq}, its name says ${seg.firstSeq} (renamed or rearranged segments)`
            : segments.length > 0 && first.type !== 'checkpoint'
              ? `${seg.name} does not start with the checkpoint that opens every later segment`
              : null;
      if (bad !== null) segmentProblem = { reason: 'bad-segment', line: firstLine, offset: 0, seq: first?.seq ?? null, message: bad, suspectLines: null };
    }
    const n = await feed(v, seg.path);
    segments.push({ name: seg.name, firstLine, lines: n });
    line += n;
  }
  const report = v.finish();
  // A chain problem at or before the segment problem is the first thing wrong; else the segment's.
  if (segmentProblem !== null && (report.problem === null || report.problem.line > segmentProblem.line)) {
    report.problem = segmentProblem;
    report.status = 'invalid';
    report.ok = false;
    report.unverifiedTail = null;
    report.closed = false;
  }
  if (segments.length === 0) {
    report.problem = { reason: 'empty', line: 0, offset: 0, seq: null, message: `no segment-*.jsonl file in ${dir}`, suspectLines: null };
    report.status = 'invalid';
    report.ok = false;
  }
  report.segments = segments;
  const segmentAt = (l: number): string | undefined => [...segments].reverse().find((s) => s.firstLine <= l)?.name;
  checkDigest(report, v, path.join(dir, 'digest.jsonl'), segmentAt);
  if (report.problem !== null && report.problem.line > 0) {
    const seg = [...segments].reverse().find((s) => s.firstLine <= (report.problem as AuditVerifyProblem).line);
    if (seg) {
      report.problem.segment = seg.name;
      report.problem.segmentLine = report.problem.line - seg.firstLine + 1;
    }
  }
  return report;
}

/** The first line of a file as an entry (null when it cannot be read as one). */
async function firstEntry(file: string): Promise<ParsedEntry | null> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const nl = buf.subarray(0, bytesRead).indexOf(NL);
    const p = parseEntry(buf.toString('utf8', 0, nl === -1 ? bytesRead : nl));
    return 'entry' in p ? p.entry : null;
  } finally {
    await fh.close();
  }
}

/** Verifies lines already in memory (e.g. `AuditLog.memoryLines()`); every line counts as terminated. */
export function verifyAuditLines(lines: Iterable<string>, options: VerifyOptions): AuditVerifyReport {
  const v = new AuditVerifier(keyOf(options));
  let offset = 0;
  for (const l of lines) {
    const n = Buffer.byteLength(l);
    v.line(l, offset, true, n);
    offset += n + 1;
  }
  return v.finish();
}

/** A human-readable report (for `tirex-guardian verify`). */
export function formatAuditReport(r: AuditVerifyReport): string {
  const head =
    r.status === 'verified'
      ? 'VERIFIED: chain intact, every entry signed by a checkpoint, log closed'
      : r.status === 'unverified-tail'
        ? `OK WITH UNVERIFIED TAIL: chain intact, ${r.unverifiedTail?.entries ?? 0} entr${r.unverifiedTail?.entries === 1 ? 'y' : 'ies'} after the last checkpoint not signed, no final checkpoint (writer running, killed, or the end of the log was cut)`
        : `INVALID: ${r.problem?.reason}`;
  const out = [`audit log${r.file ? ` ${r.file}` : ''}: ${head}`];
  if (r.problem) {
    const p = r.problem;
    const where = p.segment ? `${p.segment} line ${p.segmentLine} (line ${p.line} of the log)` : `line ${p.line}`;
    out.push(`  first bad position: ${where}, byte ${p.offset}${p.seq === null ? '' : `, seq ${p.seq}`}`);
    out.push(`  reason: ${p.message}`);
    if (p.suspectLines) out.push(`  suspect lines: ${p.suspectLines.from}..${p.suspectLines.to}`);
  }
  out.push(
    `  ${r.lines} lines, ${r.bytes} bytes; ${r.entries} entries verified (${r.records} records, ${r.checkpoints} checkpoints${r.forecasts + r.outcomes > 0 ? `, ${r.forecasts} forecasts, ${r.outcomes} outcomes` : ''}); last seq ${r.lastSeq}`,
  );
  if (r.lastCheckpoint) {
    out.push(`  last good checkpoint: seq ${r.lastCheckpoint.seq} (line ${r.lastCheckpoint.line}) at ${r.lastCheckpoint.time}${r.lastCheckpoint.final ? ', final' : ''}`);
  } else {
    out.push('  no valid checkpoint');
  }
  if (r.unverifiedTail && r.unverifiedTail.entries > 0) {
    out.push(`  unverified tail: ${r.unverifiedTail.entries} entries from seq ${r.unverifiedTail.fromSeq} (line ${r.unverifiedTail.fromLine})`);
  }
  if (r.segments) out.push(`  segments: ${r.segments.length} (${r.segments.map((x) => x.name).join(', ')})`);
  if (r.sessions > 1) out.push(`  writer sessions: ${r.sessions}`);
  if (r.dropped > 0) out.push(`  records dropped (a full queue or hand-off buffer, recorded in gap entries): ${r.dropped}`);
  for (const rec of r.recoveries) out.push(`  crash recovery at line ${rec.line} (seq ${rec.seq}): ${rec.discardedBytes} bytes of an incomplete line were cut`);
  return out.join('\n');
}
