/**
 * Scoring a journal: its forecasts joined to the outcomes recorded after them, the model's
 * quantiles and the naive forecast of the same origins scored side by side (score-book.ts), per
 * instrument, model and UTC day, and rolled up per instrument and model.
 *
 * Two passes over the journal, memory bounded by the outcomes (one per bar and instrument) and
 * the groups, never by the forecasts: the first pass reads the outcomes (the last one recorded for
 * a time wins: a correction), the second streams the forecasts. A forecast is scored when every
 * step has its outcome (step h: the h-th outcome of the instrument after the origin); one still
 * waiting for outcomes is counted as pending. The join and the metrics are scorer.ts's.
 */
import { geometricMean } from '../eval/metrics';
import type { ForecastSource } from './entries';
import type { ForecastFields } from './fast-entry';
import { forEachEntry, type ReadCounts } from './read';
import { GroupScore, type GroupReport } from './score-book';
import { forecastFilter, ForecastScorer, type Group, type OutcomeSeries } from './scorer';

export interface ScoreQuery {
  /** Origins at or after this time (ms since the epoch or ISO 8601). */
  from?: number | string;
  /** Origins before this time. */
  to?: number | string;
  instruments?: readonly string[];
  /** The model's sha256, or a prefix of it (8 hex characters or more). */
  model?: string;
  /** Default: every source. */
  sources?: readonly ForecastSource[];
  /** Also report per day (default false: per instrument and model only). */
  byDay?: boolean;
  /** Called with every forecast that matches the query, scored or not (the gate's integrity checks). */
  onForecast?: (entry: Readonly<ForecastFields>) => void;
}

export interface InstrumentScore extends GroupReport {
  instrument: string;
  modelHash: string | null;
  source: ForecastSource;
  /** Per UTC day (byDay), oldest first. */
  daily?: (GroupReport & { day: string })[];
}

export interface ModelScore {
  modelHash: string | null;
  source: ForecastSource;
  instruments: number;
  forecasts: number;
  origins: number;
  /** Distinct UTC days over all its instruments. */
  days: number;
  /** Geometric mean over instruments of model / naive (as the evaluation command aggregates). */
  wqlRatio: number;
  maseRatio: number;
  /** Mean over instruments of the outermost band's coverage (10-90% for TiRex's levels). */
  coverage: number;
  naiveCoverage: number;
}

export interface JournalScoreReport {
  from: string | null;
  to: string | null;
  instruments: InstrumentScore[];
  models: ModelScore[];
  counts: {
    forecasts: number;
    scored: number;
    /** Some step has no outcome yet. */
    pending: number;
    /** No finite naive inputs, a malformed entry, or an instrument whose outcomes never change. */
    unscorable: number;
    outcomes: number;
    lines: number;
    unreadable: number;
  };
}

/** Pass 1: every instrument's outcomes, sorted by time, a correction replacing what it corrects. */
export function readOutcomes(dir: string, wanted: ReadonlySet<string> | null, counts: ReadCounts = { lines: 0, unreadable: 0 }): { series: Map<string, OutcomeSeries>; total: number } {
  const raw = new Map<string, { at: number; value: number; seq: number }[]>();
  let total = 0;
  forEachEntry(dir, 'outcome', (e) => {
    if (wanted !== null && !wanted.has(e.instrument)) return;
    if (!Number.isFinite(e.at) || !Number.isFinite(e.value)) return;
    let list = raw.get(e.instrument);
    if (!list) raw.set(e.instrument, (list = []));
    list.push({ at: e.at, value: e.value, seq: e.seq });
    total++;
  }, counts);
  const series = new Map<string, OutcomeSeries>();
  for (const [instrument, list] of raw) {
    list.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const kept = list.filter((o, i) => i === list.length - 1 || list[i + 1]!.at !== o.at);
    const values = Float64Array.from(kept, (o) => o.value);
    let sum = 0;
    for (let i = 1; i < values.length; i++) sum += Math.abs(values[i]! - values[i - 1]!);
    const scale = values.length > 1 && sum > 0 ? sum / (values.length - 1) : NaN;
    series.set(instrument, { times: Float64Array.from(kept, (o) => o.at), values, scale });
  }
  return { series, total };
}

/** Scores the journal in `dir` (see the module comment). */
export function scoreJournal(dir: string, query: ScoreQuery = {}): JournalScoreReport {
  const filter = forecastFilter(query);
  const counts: ReadCounts = { lines: 0, unreadable: 0 };
  const { series, total } = readOutcomes(dir, filter.instruments, counts);
  const scorer = new ForecastScorer(series, filter);
  // Both passes read the same lines: the first one's counts are the report's.
  forEachEntry(dir, 'forecast', (e) => scorer.add(e));
  return summarize(scorer.groups, { ...scorer.tally, outcomes: total, ...counts }, filter.from, filter.to, query.byDay === true);
}

function summarize(
  groups: ReadonlyMap<string, Group>,
  counts: JournalScoreReport['counts'],
  from: number | null,
  to: number | null,
  byDay: boolean,
): JournalScoreReport {
  const perInstrument = new Map<string, { instrument: string; modelHash: string | null; source: ForecastSource; total: GroupScore; days: { day: string; score: GroupScore }[] }>();
  for (const g of groups.values()) {
    const key = `${g.instrument}\u0000${g.modelHash}\u0000${g.source}`;
    let p = perInstrument.get(key);
    if (!p) perInstrument.set(key, (p = { instrument: g.instrument, modelHash: g.modelHash, source: g.source, total: new GroupScore(g.score.model.levels), days: [] }));
    p.total.merge(g.score);
    p.days.push({ day: g.day, score: g.score });
  }
  const instruments: InstrumentScore[] = [...perInstrument.values()]
    .sort((a, b) => (a.instrument < b.instrument ? -1 : a.instrument > b.instrument ? 1 : 0))
    .map((p) => ({
      instrument: p.instrument,
      modelHash: p.modelHash,
      source: p.source,
      ...p.total.report(),
      ...(byDay ? { daily: p.days.sort((a, b) => (a.day < b.day ? -1 : 1)).map((d) => ({ day: d.day, ...d.score.report() })) } : {}),
    }));
  const perModel = new Map<string, { modelHash: string | null; source: ForecastSource; rows: InstrumentScore[]; days: Set<string> }>();
  for (const p of perInstrument.values()) {
    const key = `${p.modelHash}\u0000${p.source}`;
    let m = perModel.get(key);
    if (!m) perModel.set(key, (m = { modelHash: p.modelHash, source: p.source, rows: [], days: new Set() }));
    for (const d of p.total.days) m.days.add(d);
  }
  for (const row of instruments) perModel.get(`${row.modelHash}\u0000${row.source}`)!.rows.push(row);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const models: ModelScore[] = [...perModel.values()].map((m) => ({
    modelHash: m.modelHash,
    source: m.source,
    instruments: m.rows.length,
    forecasts: m.rows.reduce((a, r) => a + r.forecasts, 0),
    origins: m.rows.reduce((a, r) => a + r.origins, 0),
    days: m.days.size,
    wqlRatio: geometricMean(m.rows.map((r) => r.wqlRatio)),
    maseRatio: geometricMean(m.rows.map((r) => r.maseRatio)),
    coverage: mean(m.rows.map((r) => outerCoverage(r.model.coverage))),
    naiveCoverage: mean(m.rows.map((r) => outerCoverage(r.naive.coverage))),
  }));
  return {
    from: from === null ? null : new Date(from).toISOString(),
    to: to === null ? null : new Date(to).toISOString(),
    instruments,
    models,
    counts,
  };
}

/** The first (outermost) band's coverage. */
export function outerCoverage(coverage: Record<string, number>): number {
  const first = Object.keys(coverage)[0];
  return first === undefined ? NaN : coverage[first]!;
}
