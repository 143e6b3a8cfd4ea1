/**
 * Reading a journal back: the lines of its segments, oldest first, in chunks (constant memory
 * whatever the journal's size). Read-only: the chain is checked by `audit verify` and the gate
 * (lib/audit/verify.ts), not here; a line that is not a JSON object is counted, never thrown.
 */
import * as fs from 'node:fs';

import { listSegments } from '../audit/segments';
import { fastForecast, fastOutcome, forecastFrom, kindAt, outcomeFrom, type ForecastFields, type OutcomeFields } from './fast-entry';

const CHUNK = 4 * 2 ** 20;

export interface ReadCounts {
  lines: number;
  unreadable: number;
}

/**
 * Calls `onLine(buf, start, end)` with every non-empty line of `file` as a byte range (without
 * its newline; a last line without one too). The range is valid during the call only. No line is
 * decoded here: a reader decodes only the lines it wants (BENCHMARKS.md, journal: decoding every
 * line was a third of scoring's time).
 */
export function forEachLineBytes(file: string, onLine: (buf: Buffer, start: number, end: number) => void): void {
  const fd = fs.openSync(file, 'r');
  try {
    let buf = Buffer.allocUnsafe(CHUNK);
    let have = 0; // bytes in buf, from 0: the start of an unfinished line, then what was read
    for (;;) {
      if (have === buf.length) {
        // One line longer than the buffer: a larger one.
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, have);
        buf = bigger;
      }
      const n = fs.readSync(fd, buf, have, buf.length - have, null);
      const end = have + n;
      let start = 0;
      for (let i = buf.indexOf(0x0a, 0); i !== -1 && i < end; i = buf.indexOf(0x0a, start)) {
        if (i > start) onLine(buf, start, i);
        start = i + 1;
      }
      if (n === 0) {
        if (start < end) onLine(buf, start, end);
        return;
      }
      // The unfinished line moves to the front.
      buf.copy(buf, 0, start, end);
      have = end - start;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** Calls `onLine` with every non-empty line of `file`, decoded (UTF-8). */
export function forEachLine(file: string, onLine: (line: string) => void): void {
  forEachLineBytes(file, (buf, start, end) => onLine(buf.toString('utf8', start, end)));
}

/**
 * Every forecast (or outcome) of the journal in `dir`, segments oldest first, as its fields: a
 * canonical line through the fast reader (fast-entry.ts), anything else through JSON.parse. A
 * line that is not an entry at all is counted as unreadable.
 */
export function forEachEntry<K extends 'forecast' | 'outcome'>(
  dir: string,
  kind: K,
  onEntry: (e: K extends 'forecast' ? ForecastFields : OutcomeFields) => void,
  counts: ReadCounts = { lines: 0, unreadable: 0 },
): ReadCounts {
  const marker = `"type":"${kind}"`;
  const fast = (kind === 'forecast' ? fastForecast : fastOutcome) as (l: string) => ForecastFields | OutcomeFields | null;
  const slow = (kind === 'forecast' ? forecastFrom : outcomeFrom) as (e: Record<string, unknown>) => ForecastFields | OutcomeFields | null;
  const emit = onEntry as (e: ForecastFields | OutcomeFields) => void;
  for (const seg of listSegments(dir)) {
    forEachLineBytes(seg.path, (buf, start, end) => {
      counts.lines++;
      const k = kindAt(buf, start, end);
      if (k !== null && k !== kind) return;
      const line = buf.toString('utf8', start, end);
      if (k === kind) {
        const f = fast(line);
        if (f !== null) return emit(f);
      } else if (!line.includes(marker)) {
        // Every entry names its type: a line that does not is no entry at all.
        if (!line.includes('"type":"')) counts.unreadable++;
        return;
      }
      let e: unknown;
      try {
        e = JSON.parse(line);
      } catch {
        counts.unreadable++;
        return;
      }
      if (e === null || typeof e !== 'object' || Array.isArray(e) || (e as { type?: unknown }).type !== kind) return;
      const f = slow(e as Record<string, unknown>);
      if (f !== null) emit(f);
    });
  }
  return counts;
}
