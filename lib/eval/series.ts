/**
 * The evaluation's series registry (data/series.json): which column of which CSV, an optional
 * row filter for long-format files, the season when one exists. training/train.py reads the
 * same file, so both agree on what is held out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { splitCsvLine } from '../data/csv';
import { codedError, ErrorCode } from '../errors';

export interface SeriesEntry {
  id: string;
  file: string;
  header: boolean;
  column: string | number;
  where?: Record<string, string>;
  season: number | null;
  frequency: string;
}

export interface SeriesRegistry {
  heldOutFraction: number;
  series: SeriesEntry[];
}

export interface LoadedSeries extends SeriesEntry {
  values: Float64Array;
  /** Points 0 .. trainLength-1 may be trained on; the rest is held out. */
  trainLength: number;
}

export function loadRegistry(dataDir: string): SeriesRegistry {
  const file = path.join(dataDir, 'series.json');
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as SeriesRegistry;
  } catch (err) {
    throw codedError(ErrorCode.InvalidArgument, `cannot read the series registry ${file}: ${(err as Error).message}`, err);
  }
}

/** Reads every series of the registry (each CSV parsed once). */
export function loadSeries(dataDir: string, registry = loadRegistry(dataDir)): LoadedSeries[] {
  const files = new Map<string, string[][]>();
  const rowsOf = (file: string) => {
    let rows = files.get(file);
    if (!rows) {
      const text = fs.readFileSync(path.join(dataDir, file), 'utf8');
      rows = text.split(/\r?\n/).filter((l) => l.length > 0).map(splitCsvLine);
      files.set(file, rows);
    }
    return rows;
  };
  return registry.series.map((entry) => {
    let rows = rowsOf(entry.file);
    let col: number;
    if (entry.header) {
      const header = rows[0]!.map((h) => h.trim());
      rows = rows.slice(1);
      col = typeof entry.column === 'number' ? entry.column : header.indexOf(entry.column);
      for (const [key, value] of Object.entries(entry.where ?? {})) {
        const k = header.indexOf(key);
        rows = rows.filter((r) => r[k] === value);
      }
    } else {
      col = Number(entry.column);
    }
    if (col < 0) throw codedError(ErrorCode.InvalidArgument, `${entry.id}: no column ${String(entry.column)} in ${entry.file}`);
    const values = Float64Array.from(rows, (r) => {
      const cell = (r[col] ?? '').trim();
      return cell === '' ? NaN : Number(cell);
    });
    return { ...entry, values, trainLength: Math.floor(values.length * (1 - registry.heldOutFraction)) };
  });
}
