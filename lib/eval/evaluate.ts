/**
 * The evaluation command's engine: rolling origins over the held-out part of every series, the
 * model against the last-value volatility-band baseline (and seasonal naive where a season
 * exists), per-series scores and their aggregate (geometric mean of ratios to the baseline).
 */
import type { ModelSession } from '../model/session';
import { lastValueForecast, modelForecast, seasonalNaiveForecast } from './forecasters';
import { geometricMean, naiveScale, ScoreAccumulator } from './metrics';
import type { LoadedSeries } from './series';

export interface EvaluationOptions {
  horizon: number;
  /** Most origins per series, evenly spaced over the held-out part. */
  maxOrigins: number;
  /** Called after each window (origin) with the windows done, their total and the series id. */
  onProgress?: (done: number, total: number, label: string) => void;
}

export interface Scores {
  wql: number;
  mase: number;
  coverage: number;
}

export interface SeriesResult {
  id: string;
  windows: number;
  points: number;
  model: Scores;
  lastValue: Scores;
  seasonalNaive: Scores | null;
  /** model / last-value baseline. */
  wqlRatio: number;
  maseRatio: number;
}

export interface EvaluationResult {
  model: { name: string; version: string; sha256: string };
  horizon: number;
  series: SeriesResult[];
  aggregate: {
    series: number;
    windows: number;
    /** Geometric means over series of model / baseline. */
    wqlRatio: number;
    maseRatio: number;
    /** Seasonal series only: model / seasonal naive. */
    wqlRatioSeasonal: number | null;
    /** Mean over series of the 10-90% coverage. */
    coverage: number;
    baselineCoverage: number;
  };
}

function scores(acc: ScoreAccumulator): Scores {
  return { wql: acc.wql, mase: acc.mase, coverage: acc.coverage };
}

export function evaluateModel(session: ModelSession, all: LoadedSeries[], options: EvaluationOptions): EvaluationResult {
  const m = session.manifest;
  const { horizon } = options;
  const results: SeriesResult[] = [];
  // The origins of every series first: the progress total is known before the first window.
  const plans = all.map((s) => {
    const first = Math.max(s.trainLength, m.minContext);
    const last = s.values.length - horizon;
    const stride = Math.max(1, Math.ceil((last - first + 1) / options.maxOrigins));
    return { s, first, last, stride, windows: last < first ? 0 : Math.floor((last - first) / stride) + 1 };
  });
  const total = plans.reduce((t, p) => t + p.windows, 0);
  let done = 0;
  for (const { s, first, last, stride } of plans) {
    if (last < first) continue;
    const scale = naiveScale(s.values, s.trainLength);
    const acc = {
      model: new ScoreAccumulator(m.quantileLevels, m.medianIndex, scale),
      lastValue: new ScoreAccumulator(m.quantileLevels, m.medianIndex, scale),
      seasonal: s.season ? new ScoreAccumulator(m.quantileLevels, m.medianIndex, scale) : null,
    };
    let windows = 0;
    for (let origin = first; origin <= last; origin += stride) {
      const actual = s.values.subarray(origin, origin + horizon);
      acc.model.add(modelForecast(session, s.values, origin, horizon), actual);
      acc.lastValue.add(lastValueForecast(s.values, origin, horizon, m.quantileLevels), actual);
      if (acc.seasonal && s.season) acc.seasonal.add(seasonalNaiveForecast(s.values, origin, horizon, m.quantileLevels, s.season), actual);
      windows++;
      options.onProgress?.(++done, total, s.id);
    }
    if (acc.model.points === 0) continue;
    results.push({
      id: s.id,
      windows,
      points: acc.model.points,
      model: scores(acc.model),
      lastValue: scores(acc.lastValue),
      seasonalNaive: acc.seasonal ? scores(acc.seasonal) : null,
      wqlRatio: acc.model.wql / acc.lastValue.wql,
      maseRatio: acc.model.mase / acc.lastValue.mase,
    });
  }
  const seasonal = results.filter((r) => r.seasonalNaive);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  return {
    model: { name: m.name, version: m.version, sha256: session.sha256 },
    horizon,
    series: results,
    aggregate: {
      series: results.length,
      windows: results.reduce((a, r) => a + r.windows, 0),
      wqlRatio: geometricMean(results.map((r) => r.wqlRatio)),
      maseRatio: geometricMean(results.map((r) => r.maseRatio)),
      wqlRatioSeasonal: seasonal.length ? geometricMean(seasonal.map((r) => r.model.wql / r.seasonalNaive!.wql)) : null,
      coverage: mean(results.map((r) => r.model.coverage)),
      baselineCoverage: mean(results.map((r) => r.lastValue.coverage)),
    },
  };
}

/** Plain-text tables: one line per series, then the aggregate. */
export function formatEvaluation(r: EvaluationResult): string {
  const f = (v: number, d = 3) => (Number.isFinite(v) ? v.toFixed(d) : String(v));
  const lines = [
    `model ${r.model.name} ${r.model.version} (sha256 ${r.model.sha256.slice(0, 12)}...), horizon 1..${r.horizon}`,
    '',
    `${'series'.padEnd(28)} ${'win'.padStart(4)} ${'WQL'.padStart(8)} ${'WQL lv'.padStart(8)} ${'ratio'.padStart(6)} ` +
      `${'MASE'.padStart(7)} ${'MASE lv'.padStart(7)} ${'ratio'.padStart(6)} ${'cov'.padStart(5)} ${'cov lv'.padStart(6)} ${'WQL sn'.padStart(8)}`,
  ];
  for (const s of r.series) {
    lines.push(
      `${s.id.padEnd(28)} ${String(s.windows).padStart(4)} ${f(s.model.wql, 5).padStart(8)} ${f(s.lastValue.wql, 5).padStart(8)} ` +
        `${f(s.wqlRatio).padStart(6)} ${f(s.model.mase).padStart(7)} ${f(s.lastValue.mase).padStart(7)} ${f(s.maseRatio).padStart(6)} ` +
        `${f(s.model.coverage, 2).padStart(5)} ${f(s.lastValue.coverage, 2).padStart(6)} ${(s.seasonalNaive ? f(s.seasonalNaive.wql, 5) : '-').padStart(8)}`,
    );
  }
  const a = r.aggregate;
  lines.push(
    '',
    `aggregate over ${a.series} series, ${a.windows} windows (geometric mean of model / last-value baseline):`,
    `  weighted quantile loss ratio  ${f(a.wqlRatio)}`,
    `  MASE ratio                    ${f(a.maseRatio)}`,
    `  10-90% coverage               ${f(a.coverage)} (baseline ${f(a.baselineCoverage)})`,
    a.wqlRatioSeasonal === null ? '' : `  WQL ratio vs seasonal naive (seasonal series) ${f(a.wqlRatioSeasonal)}`,
  );
  return lines.join('\n');
}
