/**
 * The model card: what the evaluation command measured, written as markdown beside the model,
 * and the aggregate written into the manifest's `evaluation` field (the sha256 covers the .onnx
 * only, so the manifest can carry its own evaluation).
 */
import * as fs from 'node:fs';

import type { LoadedManifest } from '../model/manifest';
import type { EvaluationResult } from './evaluate';

export interface LatencyFigure {
  p50Ns: number;
  p99Ns: number;
  machine: string;
  command: string;
  date: string;
  /** p50 over the previous version's in the same run, where models/v1/ held it (else null). */
  previousVersionRatio: number | null;
}

export function manifestEvaluation(r: EvaluationResult, command: string): Record<string, unknown> {
  const a = r.aggregate;
  return {
    command,
    date: new Date().toISOString(),
    horizon: r.horizon,
    series: a.series,
    windows: a.windows,
    wqlRatioToLastValueVolBands: round(a.wqlRatio),
    maseRatioToLastValue: round(a.maseRatio),
    coverage10to90: round(a.coverage),
    baselineCoverage10to90: round(a.baselineCoverage),
    wqlRatioToSeasonalNaive: a.wqlRatioSeasonal === null ? null : round(a.wqlRatioSeasonal),
  };
}

function round(v: number): number {
  return Math.round(v * 10000) / 10000;
}

export function writeManifestEvaluation(manifest: LoadedManifest, evaluation: Record<string, unknown>): void {
  const raw = JSON.parse(fs.readFileSync(manifest.manifestPath, 'utf8'));
  raw.evaluation = evaluation;
  fs.writeFileSync(manifest.manifestPath, JSON.stringify(raw, null, 2) + '\n');
}

/** Daily market prices (frequency 'daily' in data/series.json): where "no change" is hard to beat. */
const isDailyPrice = (id: string): boolean => id.startsWith('fx-daily/') || id === 'brent/daily';

type SeriesResult = EvaluationResult['series'][number];
/** The 10-90% band covers what a calibrated one should (issue 17's range per series). */
const inBand = (s: SeriesResult): boolean => s.model.coverage >= 0.76 && s.model.coverage <= 0.84;
const dailyOf = (r: EvaluationResult): SeriesResult[] => r.series.filter((s) => isDailyPrice(s.id));

/** Version against version, series by series (the same windows: `evaluate --compare`). */
function comparisonLines(r: EvaluationResult, before: EvaluationResult): string[] {
  const f = (v: number, d = 3) => v.toFixed(d);
  const old = new Map(before.series.map((s) => [s.id, s]));
  const b = before.aggregate;
  const a = r.aggregate;
  return [
    `## ${r.model.version} against ${before.model.version}`,
    '',
    `The same windows for both (\`evaluate --compare\`); ${before.model.version} is \`${before.model.sha256.slice(0, 12)}\`.`,
    '',
    `| aggregate | ${before.model.version} | ${r.model.version} |`,
    '| --- | --- | --- |',
    `| WQL / lv (geometric mean) | ${f(b.wqlRatio)} | ${f(a.wqlRatio)} |`,
    `| MASE / lv (geometric mean) | ${f(b.maseRatio)} | ${f(a.maseRatio)} |`,
    `| 10-90% coverage, mean over series | ${f(b.coverage)} | ${f(a.coverage)} |`,
    `| series with coverage in 0.76 to 0.84 | ${before.series.filter(inBand).length} of ${before.series.length} | ${r.series.filter(inBand).length} of ${r.series.length} |`,
    `| daily price series with MASE / lv <= 1 | ${dailyOf(before).filter((s) => s.maseRatio <= 1).length} of ${dailyOf(before).length} | ${dailyOf(r).filter((s) => s.maseRatio <= 1).length} of ${dailyOf(r).length} |`,
    '',
    `| series | WQL / lv ${before.model.version} | ${r.model.version} | MASE / lv ${before.model.version} | ${r.model.version} | coverage ${before.model.version} | ${r.model.version} |`,
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...r.series.map((s) => {
      const o = old.get(s.id);
      const x = (v: number | undefined, d = 3) => (v === undefined ? '-' : f(v, d));
      return `| ${s.id} | ${x(o?.wqlRatio)} | ${f(s.wqlRatio)} | ${x(o?.maseRatio)} | ${f(s.maseRatio)} | ${x(o?.model.coverage, 2)} | ${f(s.model.coverage, 2)} |`;
    }),
    '',
  ];
}

/** What the figures say the model is bad at, from the figures themselves. */
function limitLines(r: EvaluationResult, manifest: LoadedManifest): string[] {
  const daily = dailyOf(r);
  const worse = daily.filter((s) => s.maseRatio > 1);
  const outside = r.series.filter((s) => !inBand(s));
  return [
    worse.length === 0
      ? `- Daily market prices are close to random walks: on all ${daily.length} daily price series the median is no worse than the last value (MASE ratio <= 1), and the gain over it there is small; the aggregate gain comes from series with structure.`
      : `- Daily market prices are close to random walks: on ${worse.length} of ${daily.length} daily price series the median is worse than the last value (MASE ratio above 1: ${worse.map((s) => `${s.id} ${s.maseRatio.toFixed(4)}`).join(', ')}); the aggregate gain comes from series with structure.`,
    `- The 10-90% band covers 0.76 to 0.84 of the held-out outcomes on ${r.series.length - outside.length} of ${r.series.length} series${outside.length === 0 ? '' : `; not on ${outside.map((s) => `${s.id} (${s.model.coverage.toFixed(2)})`).join(', ')}`}.`,
    `- Horizons beyond one patch are rolled out on the model's own medians; the library refuses horizons beyond ${manifest.maxHorizon}.`,
    '- Trained on the training parts of the bundled series and on synthetic series; it has not seen intraday market data.',
  ];
}

export function modelCard(manifest: LoadedManifest, r: EvaluationResult, command: string, latency: LatencyFigure | null, before: EvaluationResult | null = null): string {
  const a = r.aggregate;
  const f = (v: number, d = 3) => v.toFixed(d);
  const size = fs.statSync(manifest.modelPath).size;
  const lines = [
    `# Model card: ${manifest.name} ${manifest.version}`,
    '',
    `- File: \`${manifest.file}\`, ${size} bytes (${(size / 2 ** 20).toFixed(2)} MiB), sha256 \`${manifest.sha256}\``,
    `- Contract: input \`${manifest.inputs[0].name}\` float32 [batch, time <= ${manifest.maxContext}], NaN ${manifest.nanHandling} inside the model, scaling ${manifest.scaling}; output \`${manifest.outputs[0].name}\` float32 [batch, ${manifest.patchLength}, ${manifest.quantileLevels.length}] for levels ${manifest.quantileLevels.join(', ')}; median at index ${manifest.medianIndex}; rollouts up to ${manifest.maxHorizon} steps.`,
    `- Built by \`${String(manifest.provenance.command ?? manifest.provenance.builder)}\`; provenance and training settings are in the manifest.`,
    '',
    '## Evaluation',
    '',
    `Command: \`${command}\`. Rolling origins over the held-out last 20% of every series in data/series.json (never trained on), horizons 1 to ${r.horizon}, the same windows for the model and the baselines. Baseline "lv": last value with bands from the realized volatility of the last 64 changes growing with the square root of the horizon; "sn": seasonal naive, for series with a season. WQL: weighted quantile loss over the levels (a CRPS approximation); MASE of the median, scaled by the training part's mean absolute change; coverage of the 10-90% interval.`,
    '',
    '| aggregate | value | target |',
    '| --- | --- | --- |',
    `| WQL, geometric mean of model / lv | ${f(a.wqlRatio)} | <= 0.95 |`,
    `| MASE, geometric mean of model / lv | ${f(a.maseRatio)} | <= 1.02 |`,
    `| 10-90% coverage, mean over series | ${f(a.coverage)} (lv ${f(a.baselineCoverage)}) | 0.72 to 0.88 |`,
    a.wqlRatioSeasonal === null ? '' : `| WQL, model / sn, seasonal series | ${f(a.wqlRatioSeasonal)} | (information) |`,
    '',
    `${a.series} series, ${a.windows} windows.`,
    '',
    '| series | windows | WQL | WQL lv | ratio | MASE | MASE lv | ratio | coverage | coverage lv | WQL sn |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...r.series.map(
      (s) =>
        `| ${s.id} | ${s.windows} | ${f(s.model.wql, 4)} | ${f(s.lastValue.wql, 4)} | ${f(s.wqlRatio)} | ${f(s.model.mase)} | ${f(s.lastValue.mase)} | ${f(s.maseRatio)} | ${f(s.model.coverage, 2)} | ${f(s.lastValue.coverage, 2)} | ${s.seasonalNaive ? f(s.seasonalNaive.wql, 4) : '-'} |`,
    ),
    '',
    ...(before === null ? [] : comparisonLines(r, before)),
    '## Latency',
    '',
    latency
      ? `Single-thread CPU, batch 1, context 2048, one patch: p50 ${(latency.p50Ns / 1e3).toFixed(1)} µs, p99 ${(latency.p99Ns / 1e3).toFixed(1)} µs (target p50 <= 1.5 ms)${latency.previousVersionRatio === null ? '' : `, ${latency.previousVersionRatio.toFixed(2)}x the previous version's p50 in the same run (target <= 1.2x)`}, measured by \`${latency.command}\` on ${latency.machine}, ${latency.date}.`
      : 'Not measured yet: run `npm run bench -- model` and re-run the card command.',
    '',
    '## Limits',
    '',
    ...limitLines(r, manifest),
  ];
  return lines.filter((l, i, all) => !(l === '' && all[i - 1] === '')).join('\n') + '\n';
}
