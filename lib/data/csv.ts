/**
 * Reads one numeric column of a CSV file. Empty, unparseable or "NaN" cells become NaN (the
 * guardian decides what a gap means; the reader never drops or invents rows).
 */
import * as fs from 'node:fs';

import { codedError, ErrorCode } from '../errors';

export interface CsvColumn {
  name: string;
  values: Float64Array;
  /** Rows whose cell was empty or not a number. */
  missing: number;
}

/** Splits one CSV line, honouring double quotes ("a,b" and "" escapes). */
export function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/**
 * `column` is a header name or a 0-based index; by default the last column. `header: false`
 * reads a file without a header row (columns are then named by index).
 */
export function readCsvColumn(file: string, column?: string | number, options: { header?: boolean } = {}): CsvColumn {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw codedError(ErrorCode.InvalidArgument, `cannot read ${file}: ${(err as Error).message}`, err);
  }
  // Only trailing empty lines go: an empty line inside the file is a row whose cells are missing.
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw codedError(ErrorCode.InvalidArgument, `${file} is empty`);
  const hasHeader = options.header ?? !lines[0]!.split(',').every((c) => c.trim() === '' || Number.isFinite(Number(c)));
  const header = hasHeader ? splitCsvLine(lines[0]!).map((h) => h.trim()) : [];
  const width = splitCsvLine(lines[0]!).length;
  let index: number;
  if (column === undefined) index = width - 1;
  else if (typeof column === 'number' || /^\d+$/.test(column)) index = Number(column);
  else index = header.indexOf(column);
  if (index < 0 || index >= width) {
    throw codedError(
      ErrorCode.InvalidArgument,
      `${file} has no column ${JSON.stringify(column)}; columns: ${header.length ? header.join(', ') : `0..${width - 1}`}`,
    );
  }
  const rows = hasHeader ? lines.slice(1) : lines;
  const values = new Float64Array(rows.length);
  let missing = 0;
  rows.forEach((line, r) => {
    const cell = (splitCsvLine(line)[index] ?? '').trim();
    const v = cell === '' ? NaN : Number(cell);
    if (Number.isNaN(v)) missing++;
    values[r] = v;
  });
  return { name: header[index] ?? String(index), values, missing };
}
