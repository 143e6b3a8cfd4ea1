// The three charts (lib/plot): the forecast fan, the evaluation report, the safety summary. Each
// is checked for well-formed XML, escaped text, no non-finite number, and the marks its data asks
// for, counted exactly.
import { describe, expect, it } from 'vitest';

import type { EvaluationResult, SeriesResult } from '../lib/eval/evaluate';
import { evaluationSvg, WQL_RATIO_CAP } from '../lib/plot/evaluation-chart';
import { fanChartSvg, type FanChartInput } from '../lib/plot/fan-chart';
import { safetySummarySvg } from '../lib/plot/safety-chart';
import type { CategorySummary, SafetyReport } from '../lib/safety/runner';
import { count, elementsWithClass, nonFiniteAttributes, xmlProblems } from './xml-wellformed';

const XSS = '<img src=x onerror=alert(1)>';
const LEVELS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/** [horizon, levels]: a widening fan around 100. */
function fan(horizon: number, levels: readonly number[]): Float32Array {
  const q = new Float32Array(horizon * levels.length);
  for (let h = 0; h < horizon; h++) for (let k = 0; k < levels.length; k++) q[h * levels.length + k] = 100 + (levels[k]! - 0.5) * 10 * Math.sqrt(h + 1);
  return q;
}

const context = Array.from({ length: 300 }, (_, i) => 100 + 5 * Math.sin(i / 10));

function chart(over: Partial<FanChartInput> = {}): string {
  return fanChartSvg({ context, quantiles: fan(16, LEVELS), levels: LEVELS, title: 'brent', status: 'ok', ...over });
}

describe('fanChartSvg', () => {
  it('escapes the title and the fallback name; the output is well-formed XML with no raw tag from the text', () => {
    const svg = chart({ title: XSS, status: 'fallback', fallback: `naive" onload="alert(1)`, notes: [`reason: ${XSS}`] });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toContain('<img');
    expect(count(svg, '&lt;img src=x onerror=alert(1)&gt;')).toBe(3); // <title>, the heading, the note
    expect(svg).toContain('fallback: naive&quot; onload=&quot;alert(1)');
    expect(svg).not.toContain('onload="');
  });

  it('never writes NaN or Infinity: gaps in the context and the quantiles break the lines', () => {
    const ctx = context.slice();
    ctx[250] = NaN;
    ctx[260] = Infinity;
    ctx[270] = -Infinity;
    ctx[299] = NaN;
    const q = fan(16, LEVELS);
    for (let k = 0; k < LEVELS.length; k++) q[5 * LEVELS.length + k] = NaN;
    q[9 * LEVELS.length + 4] = Infinity; // the median at step 10
    const svg = chart({ context: ctx, quantiles: q, tail: 100 });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toMatch(/NaN|Infinity/);
    const [ctxPath] = elementsWithClass(svg, 'context');
    // The last 100 points hold 4 gaps (250, 260, 270, 299): runs 200-249, 251-259, 261-269, 271-298.
    expect(count(ctxPath!.d!, 'M')).toBe(4);
    expect(count(ctxPath!.d!, 'L')).toBe(49 + 8 + 8 + 27);
    const [median] = elementsWithClass(svg, 'median');
    expect(count(median!.d!, 'M')).toBe(3); // steps 1-5, 7-9, 11-16
    for (const band of elementsWithClass(svg, 'band')) expect(count(band.d!, 'Z')).toBe(2); // steps 1-5, 7-16
  });

  it('an all-NaN context and a blocked call with no quantiles still give a finite, well-formed chart', () => {
    const svg = fanChartSvg({ context: new Float64Array(50).fill(NaN), quantiles: null, levels: LEVELS, title: 't', status: 'blocked' });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(elementsWithClass(svg, 'band').length).toBe(0);
    expect(elementsWithClass(svg, 'context').length).toBe(0);
    expect(count(svg, 'class="badge badge-blocked"')).toBe(1);
    expect(svg).toContain('blocked: no forecast served');
  });

  it.each([
    [LEVELS, ['band-10-90', 'band-20-80', 'band-30-70', 'band-40-60']],
    [[0.1, 0.5, 0.9], ['band-10-90']],
    [[0.2, 0.5, 0.8], ['band-20-80']],
    [[0.1, 0.3, 0.5, 0.7, 0.9], ['band-10-90', 'band-30-70']],
    [[0.05, 0.25, 0.5, 0.75, 0.95], []],
    [[0.5], []],
  ])('draws the bands the levels %j allow: %j', (levels, bands) => {
    const svg = chart({ levels, quantiles: fan(8, levels) });
    expect(xmlProblems(svg)).toEqual([]);
    const drawn = elementsWithClass(svg, 'band');
    expect(drawn.map((b) => b.class)).toEqual(bands.map((b) => `band ${b}`));
    // Nested: the opacity grows inwards.
    const opacity = drawn.map((b) => Number(b['fill-opacity']));
    expect(opacity).toEqual([...opacity].sort((a, b) => a - b));
    expect(new Set(opacity).size).toBe(drawn.length);
    expect(elementsWithClass(svg, 'median').length).toBe(levels.includes(0.5) ? 1 : 0);
  });

  it.each([
    ['ok', 0, 0, 0],
    ['corrected', 0, 1, 0],
    ['fallback', 1, 0, 0],
    ['blocked', 0, 0, 1],
  ])('status %s: fallback badge %i, corrected badge %i, blocked badge %i', (status, fallback, corrected, blocked) => {
    const svg = chart({ status, fallback: 'seasonal-naive' });
    expect(count(svg, 'class="badge badge-fallback"')).toBe(fallback);
    expect(count(svg, 'fallback: seasonal-naive')).toBe(fallback);
    expect(count(svg, 'class="badge badge-corrected"')).toBe(corrected);
    expect(count(svg, 'class="badge badge-blocked"')).toBe(blocked);
    // A fallback's fan is dashed, the model's is not.
    expect(elementsWithClass(svg, 'median')[0]!['stroke-dasharray']).toBe(fallback ? '6 4' : undefined);
    expect(elementsWithClass(svg, 'band').filter((b) => b['stroke-dasharray'] === '6 4').length).toBe(fallback ? 4 : 0);
  });

  it('shows the corrected badge beside a fallback when asked', () => {
    const svg = chart({ status: 'fallback', fallback: 'movingAverage', corrected: true });
    expect(count(svg, 'class="badge badge-fallback"')).toBe(1);
    expect(count(svg, 'class="badge badge-corrected"')).toBe(1);
  });

  it('draws the last `tail` context points (128 by default) and the origin at step 0', () => {
    const d = (svg: string) => elementsWithClass(svg, 'context')[0]!.d!;
    expect(count(d(chart()), 'L')).toBe(127);
    expect(count(d(chart({ tail: 10 })), 'L')).toBe(9);
    expect(count(d(chart({ tail: 1000 })), 'L')).toBe(299);
    const svg = chart({ tail: 10 });
    const origin = elementsWithClass(svg, 'origin')[0]!;
    // The last context point lies on the origin line.
    expect(d(svg).split('L').pop()!.split(' ')[0]).toBe(origin.x1);
    expect(origin.x1).toBe(origin.x2);
    expect(() => chart({ tail: 0 })).toThrow(RangeError);
    expect(() => chart({ quantiles: new Float32Array(10) })).toThrow(/do not fill rows of 9 levels/);
  });
});

function seriesResult(id: string, wqlRatio: number, coverage: number): SeriesResult {
  const s = { wql: 0.01, mase: 1, coverage };
  return { id, windows: 4, points: 16, model: { ...s, wql: 0.01 * wqlRatio }, lastValue: { ...s, coverage: 0.7 }, seasonalNaive: null, wqlRatio, maseRatio: 1 };
}

function evaluation(series: SeriesResult[]): EvaluationResult {
  return {
    model: { name: 'm<1>', version: '1.0.0', sha256: 'ab'.repeat(32) },
    horizon: 8,
    series,
    aggregate: { series: series.length, windows: 4 * series.length, wqlRatio: 0.9, maseRatio: 1, wqlRatioSeasonal: null, coverage: 0.8, baselineCoverage: 0.7 },
  };
}

describe('evaluationSvg', () => {
  it('one WQL bar and one coverage bar per series; widths proportional to the values', () => {
    const series = [seriesResult('fx/AUD', 1, 0.8), seriesResult('fx/GBP', 0.5, 0.4), seriesResult(XSS, 1.5, 1), seriesResult('etth1/OT', 0.25, 0)];
    const svg = evaluationSvg(evaluation(series));
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toContain('<img');
    expect(svg).not.toMatch(/NaN|Infinity/);
    const wql = elementsWithClass(svg, 'wql-bar');
    const cov = elementsWithClass(svg, 'coverage-bar');
    expect(wql.length).toBe(series.length);
    expect(cov.length).toBe(series.length);
    const w = wql.map((b) => Number(b.width));
    expect([w[1]! / w[0]!, w[2]! / w[0]!, w[3]! / w[0]!]).toEqual([0.5, 1.5, 0.25]);
    const c = cov.map((b) => Number(b.width));
    expect([c[1]! / c[0]!, c[2]! / c[0]!, c[3]]).toEqual([0.5, 1.25, 0]);
    // The 1.0 line passes through the end of the ratio-1 bar; the nominal line through the 80% bar.
    const one = elementsWithClass(svg, 'ratio-one')[0]!;
    expect(Number(one.x1)).toBe(Number(wql[0]!.x) + w[0]!);
    const nominal = elementsWithClass(svg, 'nominal')[0]!;
    expect(Number(nominal.x1)).toBe(Number(cov[0]!.x) + c[0]!);
    expect(svg).toContain('coverage of the 80% interval');
  });

  it('clips a bar beyond the axis cap and labels it with its value; a non-finite ratio gets no bar', () => {
    const series = [seriesResult('a', 1, 0.8), seriesResult('b', 7.25, 0.8), seriesResult('c', NaN, NaN), seriesResult('d', Infinity, 0.5)];
    const svg = evaluationSvg(evaluation(series), { nominalCoverage: 0.9 });
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(elementsWithClass(svg, 'wql-bar').length).toBe(2);
    const clipped = elementsWithClass(svg, 'clipped');
    expect(clipped.length).toBe(1);
    // Clipped at the cap: twice the width of the ratio-1 bar.
    expect(Number(clipped[0]!.width)).toBe(WQL_RATIO_CAP * Number(elementsWithClass(svg, 'wql-bar')[0]!.width));
    expect(count(svg, 'class="value clipped-value"')).toBe(1);
    expect(svg).toContain('>7.25 \u2192</text>');
    expect(count(svg, '>n/a</text>')).toBe(3); // c's ratio and coverage, d's ratio
    expect(elementsWithClass(svg, 'coverage-bar').length).toBe(3);
    expect(svg).toContain('coverage of the 90% interval');
    expect(() => evaluationSvg(evaluation(series), { nominalCoverage: 1.5 })).toThrow(RangeError);
  });

  it('an empty report is a chart that says so', () => {
    const svg = evaluationSvg(evaluation([]));
    expect(xmlProblems(svg)).toEqual([]);
    expect(elementsWithClass(svg, 'wql-bar').length).toBe(0);
    expect(svg).toContain('no series was evaluated');
  });
});

function side(safe: number, total: number) {
  return { safe, total, pct: total === 0 ? 100 : Math.round((safe / total) * 1000) / 10 };
}

function safetyReport(rows: [string, number, number, number][]): SafetyReport {
  const categories = rows.map(([label, cases, raw, guarded]) => ({ category: 'nanHandling', label, cases, raw: side(raw, cases), guarded: side(guarded, cases), outcomes: { ok: 0, corrected: 0, fallback: 0, blocked: 0, error: 0 } }) as CategorySummary);
  const cases = rows.reduce((s, r) => s + r[1], 0);
  const raw = rows.reduce((s, r) => s + r[2], 0);
  const guarded = rows.reduce((s, r) => s + r[3], 0);
  return {
    cases,
    categories,
    overall: { raw: side(raw, cases), guarded: side(guarded, cases) },
    results: [],
    unsafeGuarded: [],
    audit: { calls: 10, records: 10, ok: true, guardians: [] },
    passed: guarded === cases,
    skipped: [],
    runtimeMs: 1,
    modelsDir: '/tmp/x',
  };
}

describe('safetySummarySvg', () => {
  it('paired raw and guarded bars per category and overall, on a 0..100% axis', () => {
    const report = safetyReport([
      ['NaN handling', 40, 10, 40],
      ['quantile processing', 20, 0, 20],
      [XSS, 10, 5, 9],
    ]);
    const svg = safetySummarySvg(report);
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toContain('<img');
    // The text holds "NaN handling"; no coordinate may hold NaN.
    expect(nonFiniteAttributes(svg)).toEqual([]);
    const raw = elementsWithClass(svg, 'raw');
    const guarded = elementsWithClass(svg, 'guarded');
    expect(raw.length).toBe(4);
    expect(guarded.length).toBe(4);
    // 420 px for 100%: 25%, 0%, 50%, overall 15/70 = 21.4%; guarded 100%, 100%, 90%, 69/70 = 98.6%.
    expect(raw.map((b) => b.width)).toEqual(['105', '0', '210', '89.88']);
    expect(guarded.map((b) => b.width)).toEqual(['420', '420', '378', '414.12']);
    expect(svg).toContain('>25.0% (10/40)</text>');
    expect(svg).toContain('>90.0% (9/10)</text>');
    expect(svg).toContain('FAILED');
  });
});
