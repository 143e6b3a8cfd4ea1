/**
 * The gate's backtest evidence, for a model with no live history yet: rolling origins over the
 * held-out tail of every series, as the evaluation command scores them (lib/eval/evaluate.ts),
 * the model against the naive last-value forecast with volatility bands on the same windows.
 *
 * Series come from a registry (`series.json`, as data/series.json: which column of which CSV,
 * the held-out fraction) or from plain CSV files: a header row, every column whose cells are
 * numbers is a series `<file>:<column>`, the last `heldOutFraction` (default 0.2) held out. The
 * series carry no dates, so the trading-day threshold is checked on rolling origins: each is a
 * distinct period, and the fewest of any series stands for the days.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { splitCsvLine } from '../data/csv';
import { codedError, ErrorCode } from '../errors';
import { evaluateModel, type EvaluationResult } from '../eval/evaluate';
import { loadSeries, type LoadedSeries, type SeriesRegistry } from '../eval/series';
import type { ModelSession } from '../model/session';
import type { GateEvidence } from './decision';

export interface BacktestOptions {
  /** Registries (.json) and wide CSV files (.csv). */
  files: readonly string[];
  horizon?: number;
  maxOrigins?: number;
  heldOutFraction?: number;
  onProgress?: (done: number, total: number, label: string) => void;
}

function readRegistry(file: string): LoadedSeries[] {
  let registry: SeriesRegistry;
  try {
    registry = JSON.parse(fs.readFileSync(file, 'utf8')) as SeriesRegistry;
  } catch (err) {
    throw codedError(ErrorCode.InvalidArgument, `gate: cannot read the series registry ${file}: ${(err as Error).message}`, err);
  }
  if (!registry || !Array.isArray(registry.series) || typeof registry.heldOutFraction !== 'number') {
    throw codedError(ErrorCode.InvalidArgument, `gate: ${file} is not a series registry ({ heldOutFraction, series: [...] })`);
  }
  return loadSeries(path.dirname(file), registry);
}

/** Every numeric column of a CSV with a header row, as series `<file name>:<column>`. */
export function readWideCsv(file: string, heldOutFraction: number): LoadedSeries[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw codedError(ErrorCode.InvalidArgument, `gate: cannot read ${file}: ${(err as Error).message}`, err);
  }
  const rows = text.split(/\r?\n/).filter((l) => l.length > 0).map(splitCsvLine);
  if (rows.length < 2) throw codedError(ErrorCode.InvalidArgument, `gate: ${file} has no data rows under its header`);
  const header = rows[0]!.map((h) => h.trim());
  const name = path.basename(file);
  const out: LoadedSeries[] = [];
  header.forEach((column, col) => {
    const cells = rows.slice(1).map((r) => (r[col] ?? '').trim());
    // A column is a series when its non-empty cells are numbers (a date column is not).
    if (!cells.some((c) => c !== '') || cells.some((c) => c !== '' && !Number.isFinite(Number(c)))) return;
    const values = Float64Array.from(cells, (c) => (c === '' ? NaN : Number(c)));
    out.push({ id: `${name}:${column}`, file: name, header: true, column, season: null, frequency: 'unknown', values, trainLength: Math.floor(values.length * (1 - heldOutFraction)) });
  });
  if (out.length === 0) throw codedError(ErrorCode.InvalidArgument, `gate: ${file} has no numeric column`);
  return out;
}

export function loadBacktestSeries(files: readonly string[], heldOutFraction = 0.2): LoadedSeries[] {
  if (files.length === 0) throw codedError(ErrorCode.InvalidArgument, 'gate: --backtest needs at least one .json registry or .csv file');
  if (!(heldOutFraction > 0 && heldOutFraction < 1)) throw codedError(ErrorCode.InvalidArgument, `gate: heldOutFraction must be between 0 and 1, got ${heldOutFraction}`);
  return files.flatMap((f) => (f.endsWith('.json') ? readRegistry(f) : readWideCsv(f, heldOutFraction)));
}

export function backtestEvidence(session: ModelSession, o: BacktestOptions): GateEvidence & { evaluation: EvaluationResult } {
  const series = loadBacktestSeries(o.files, o.heldOutFraction);
  const horizon = o.horizon ?? 32;
  const evaluation = evaluateModel(session, series, { horizon, maxOrigins: o.maxOrigins ?? 64, onProgress: o.onProgress });
  const instruments = evaluation.series.map((s) => ({
    instrument: s.id,
    forecasts: s.windows,
    origins: s.windows,
    points: s.points,
    wql: s.model.wql,
    naiveWql: s.lastValue.wql,
    mase: s.model.mase,
    naiveMase: s.lastValue.mase,
    wqlRatio: s.wqlRatio,
    maseRatio: s.maseRatio,
    coverage: s.model.coverage,
    naiveCoverage: s.lastValue.coverage,
  }));
  return {
    kind: 'backtest',
    description: `rolling origins over the held-out tail of ${series.length} series (${o.files.map((f) => path.basename(f)).join(', ')}), horizons 1 to ${horizon}, the model and the naive last-value forecast with volatility bands on the same windows; not live evidence`,
    instruments,
    days: instruments.reduce((m, i) => Math.min(m, i.origins), instruments.length > 0 ? Infinity : 0),
    dayBasis: 'origins-per-series',
    integrity: { checked: false, violations: [], facts: { note: 'a backtest has no journal or audit trail to check; the model file matched its manifest sha256 when it loaded' } },
    evaluation,
  };
}
