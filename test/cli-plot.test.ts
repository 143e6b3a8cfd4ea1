// Pictures from the command line (issue 14, item 5): `forecast --plot`, `evaluate --plot` and
// `npm run safety-report -- --svg` write well-formed SVG atomically, refuse a name not ending in
// .svg as a usage error, and print progress only on a terminal (never into a pipe).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import { progressReporter } from '../lib/cli-progress';
import { evaluateModel } from '../lib/eval/evaluate';
import { loadSeries } from '../lib/eval/series';
import { ModelSession } from '../lib/model/session';
import { runSafetyReport } from '../lib/safety';
import { runCli } from './cli-run';
import { count, elementsWithClass, nonFiniteAttributes, xmlProblems } from './xml-wellformed';

const ROOT = path.resolve(__dirname, '..');
const SAFETY = path.join(ROOT, 'scripts', 'safety-report.js');
const BRENT = path.join(ROOT, 'data', 'brent-daily.csv');
const MODEL = path.join(ROOT, 'models', 'tirex-guardian-default.json');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-cli-plot-'));

function run(file: string, ...args: string[]) {
  return spawnSync(process.execPath, [file, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
}
const cli = (...args: string[]) => runCli(args);

function fresh(name: string): string {
  const dir = fs.mkdtempSync(path.join(TMP, `${name}-`));
  return dir;
}

describe('forecast --plot', () => {
  it('writes the fan chart of the forecast, well-formed, with the four bands and the median', () => {
    const dir = fresh('fan');
    const out = path.join(dir, 'fan.svg');
    const r = cli('forecast', BRENT, '--column', 'Price', '--horizon', '8', '--plot', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('status: ok');
    expect(r.stderr).toBe('');
    expect(fs.readdirSync(dir)).toEqual(['fan.svg']); // no FILE.tmp left behind
    const svg = fs.readFileSync(out, 'utf8');
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(elementsWithClass(svg, 'band').map((b) => b.class)).toEqual(['band band-10-90', 'band band-20-80', 'band band-30-70', 'band band-40-60']);
    expect(elementsWithClass(svg, 'median').length).toBe(1);
    expect(count(elementsWithClass(svg, 'median')[0]!.d!, 'L')).toBe(7); // 8 steps
    expect(count(elementsWithClass(svg, 'context')[0]!.d!, 'L')).toBe(127); // the last 128 prices
    expect(count(svg, 'class="badge')).toBe(0);
    expect(svg).toContain('<title>brent-daily.csv [Price]: 8-step forecast, tirex-guardian-default');
  });

  it('marks a fallback forecast with its method, the fan dashed; missing data shows as gaps', () => {
    const dir = fresh('fallback');
    const csv = path.join(dir, 'gaps.csv');
    const rows = Array.from({ length: 300 }, (_, i) => (i > 200 && i < 290 ? '' : String(100 + (i % 7))));
    fs.writeFileSync(csv, `v\n${rows.join('\n')}\n`);
    const out = path.join(dir, 'gaps.svg');
    const r = cli('forecast', csv, '--horizon', '8', '--json', '--plot', out);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.status).toBe('fallback');
    const svg = fs.readFileSync(out, 'utf8');
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(count(svg, 'class="badge badge-fallback"')).toBe(1);
    expect(svg).toContain(`>fallback: ${report.fallback.method}</text>`);
    expect(elementsWithClass(svg, 'median')[0]!['stroke-dasharray']).toBe('6 4');
    // The last 128 rows are 172-299; 201-289 are empty: two runs of the line.
    expect(count(elementsWithClass(svg, 'context')[0]!.d!, 'M')).toBe(2);
  });

  it('refuses a --plot name that does not end in .svg, before reading anything', () => {
    const dir = fresh('bad');
    for (const name of ['fan.png', 'fan.svg.txt', 'fan']) {
      const r = cli('forecast', path.join(dir, 'no-such.csv'), '--plot', path.join(dir, name));
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain('--plot: the chart is SVG: the file name must end in .svg');
      expect(r.stderr).toContain('usage: tirex-guardian forecast');
      expect(r.stdout).toBe('');
    }
    const missing = cli('forecast', BRENT, '--column', 'Price', '--plot');
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('--plot needs a value');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('the usage lines name the flag', () => {
    const r = cli('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--json\] \[--plot FILE\.svg\]\n/);
    expect(count(r.stdout, '[--plot FILE.svg]')).toBe(2);
  });
});

describe('evaluate --plot', () => {
  it('writes one WQL bar per evaluated series, and no progress into a pipe', () => {
    const dir = fresh('eval');
    const out = path.join(dir, 'eval.svg');
    const json = path.join(dir, 'eval.json');
    const r = cli('evaluate', MODEL, '--series', 'fx-daily/', '--origins', '2', '--horizon', '4', '--json', json, '--plot', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(fs.readdirSync(dir).sort()).toEqual(['eval.json', 'eval.svg']);
    const report = JSON.parse(fs.readFileSync(json, 'utf8'));
    expect(report.series.length).toBe(8);
    const svg = fs.readFileSync(out, 'utf8');
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).not.toMatch(/NaN|Infinity/);
    expect(elementsWithClass(svg, 'wql-bar').length).toBe(report.series.length);
    expect(elementsWithClass(svg, 'coverage-bar').length).toBe(report.series.length);
    expect(elementsWithClass(svg, 'series-label').length).toBe(report.series.length);
    for (const s of report.series) expect(svg).toContain(`>${s.id}</text>`);
    expect(svg).toContain('coverage of the 80% interval');
  });

  it('--card with --compare: the other model on the same windows, series by series, and limits read from the figures', () => {
    const dir = fresh('card');
    const card = path.join(dir, 'card.md');
    const json = path.join(dir, 'eval.json');
    const other = path.join(ROOT, 'test', 'fixtures', 'models', 'quantile-ok.json');
    const r = cli('evaluate', MODEL, '--series', 'fx-daily/', '--origins', '2', '--horizon', '4', '--json', json, '--card', card, '--compare', other);
    expect(r.status, r.stderr).toBe(0);
    const report = JSON.parse(fs.readFileSync(json, 'utf8'));
    const text = fs.readFileSync(card, 'utf8');
    expect(text).toContain(`## ${report.model.version} against 1.0.0`);
    expect(text).toContain('1.0.0 is `6022bc454ff4`');
    for (const s of report.series) expect(text).toMatch(new RegExp(`\\| ${s.id.replace('/', '\\/')} \\| [0-9.]+ \\| ${s.wqlRatio.toFixed(3)} \\|`));
    const worse = report.series.filter((s: { maseRatio: number }) => s.maseRatio > 1).length;
    expect(text).toContain(worse === 0 ? 'on all 8 daily price series the median is no worse' : `on ${worse} of 8 daily price series the median is worse than the last value`);
  });

  it("--latency: the benchmark's p50 and p99 and, where it measured the previous version in the same run, the ratio to it", () => {
    const dir = fresh('latency');
    const bench = (ratios: Record<string, number>) => {
      const file = path.join(dir, `bench-${Object.keys(ratios).length}.json`);
      const machine = { cpu: 'Test CPU', cores: 2, node: 'v20.0.0' };
      fs.writeFileSync(file, JSON.stringify({ machine, date: '2026-11-30T00:00:00.000Z', tasks: [{ p50Ns: 171_234, p99Ns: 180_000 }], ratios }));
      return file;
    };
    const card = (latency: string) => {
      const file = path.join(dir, 'card.md');
      const r = cli('evaluate', MODEL, '--series', 'fx-daily/CHF', '--origins', '2', '--horizon', '4', '--card', file, '--latency', latency);
      expect(r.status, r.stderr).toBe(0);
      return fs.readFileSync(file, 'utf8');
    };
    expect(card(bench({ p50VsTarget1500us: 0.11, currentVsPreviousVersion: 1.1351 }))).toContain(
      "p50 171.2 µs, p99 180.0 µs (target p50 <= 1.5 ms), 1.14x the previous version's p50 in the same run (target <= 1.2x), measured by `npm run bench -- model` on Test CPU, 2 cores, Node v20.0.0, 2026-11-30T00:00:00.000Z.",
    );
    expect(card(bench({}))).toContain('p50 171.2 µs, p99 180.0 µs (target p50 <= 1.5 ms), measured by');
  });

  it('refuses a --plot name that does not end in .svg, before loading the model', () => {
    const r = cli('evaluate', path.join(TMP, 'no-such-model.json'), '--plot', path.join(TMP, 'eval.pdf'));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--plot: the chart is SVG');
    expect(r.stderr).toContain('usage: tirex-guardian evaluate');
  });
});

describe('safety-report --svg', () => {
  it('writes paired bars for the category and overall; refuses another extension', () => {
    const dir = fresh('safety');
    const out = path.join(dir, 'safety.svg');
    const r = run(SAFETY, '--category', 'quantileProcessing', '--svg', out);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(fs.readdirSync(dir)).toEqual(['safety.svg']);
    const svg = fs.readFileSync(out, 'utf8');
    expect(xmlProblems(svg)).toEqual([]);
    expect(nonFiniteAttributes(svg)).toEqual([]);
    expect(elementsWithClass(svg, 'raw').length).toBe(2);
    expect(elementsWithClass(svg, 'guarded').length).toBe(2);
    expect(elementsWithClass(svg, 'category-label').map((e) => e['text-anchor'])).toEqual(['end', 'end']);
    expect(svg).toContain('>quantile processing</text>');
    const bad = run(SAFETY, '--svg', path.join(dir, 'safety.json'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('must end in .svg');
    const none = run(SAFETY, '--svg');
    expect(none.status).toBe(2);
    expect(none.stderr).toContain('--svg needs a file name');
    expect(fs.readdirSync(dir)).toEqual(['safety.svg']);
  });
});

/** A stream that records what is written, a terminal or not. */
function sink(isTTY: boolean, columns?: number): { stream: Writable & { isTTY?: boolean; columns?: number }; chunks: string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  if (isTTY) stream.isTTY = true;
  if (columns !== undefined) stream.columns = columns;
  return { stream, chunks };
}

describe('progress', () => {
  it('writes nothing at all to a stream that is not a terminal', () => {
    const { stream, chunks } = sink(false);
    const p = progressReporter('evaluate', 'windows', { stream, intervalMs: 0 });
    for (let i = 1; i <= 50; i++) p.update(i, 50, 'fx-daily/AUD');
    p.end();
    expect(chunks).toEqual([]);
  });

  it('rewrites one line with \\r on a terminal, at most once per interval, and clears it at the end', () => {
    const { stream, chunks } = sink(true);
    let t = 1000;
    const p = progressReporter('evaluate', 'windows', { stream, now: () => t });
    p.update(1, 40, 'fx-daily/AUD');
    t += 50;
    p.update(2, 40, 'fx-daily/AUD'); // within 100 ms: not shown
    t += 50;
    p.update(3, 40, 'brent/daily');
    t += 99;
    p.update(4, 40, 'x'); // 99 ms after the last shown
    t += 1;
    p.update(12, 40, '');
    p.end();
    expect(chunks).toEqual([
      '\revaluate: 1/40 windows (fx-daily/AUD)',
      '\revaluate: 3/40 windows (brent/daily) ', // one blank over the longer line before it
      '\revaluate: 12/40 windows' + ' '.repeat(13),
      '\r' + ' '.repeat(23) + '\r',
    ]);
    p.end(); // a second end writes nothing more
    expect(chunks.length).toBe(4);
  });

  it('keeps control characters out of the terminal and the line within its width', () => {
    const { stream, chunks } = sink(true, 30);
    const p = progressReporter('safety-report', 'cases', { stream, intervalMs: 0 });
    p.update(7, 264, 'NaN handling: \u001b[31mred\u0007');
    p.end();
    expect(chunks[0]).toBe('\rsafety-report: 7/264 cases (N');
    expect(chunks[0]!.length).toBe(30);
    const { stream: s2, chunks: c2 } = sink(true);
    progressReporter('x', 'y', { stream: s2, intervalMs: 0 }).update(1, 2, 'a\u001b[2Jb\rc\n');
    expect(c2).toEqual(['\rx: 1/2 y (a [2Jb c )']);
    const { stream: s3, chunks: c3 } = sink(true, 0); // a terminal that reports no width: 80
    progressReporter('evaluate', 'windows', { stream: s3, intervalMs: 0 }).update(1, 2, 'x'.repeat(100));
    expect(c3[0]!.length).toBe(80);
  });
});

describe('the progress callbacks of evaluate and the safety report', () => {
  it('evaluateModel reports every window, done counting up to the total', () => {
    const session = ModelSession.load(MODEL, { intraOpThreads: 1 });
    try {
      const series = loadSeries(path.join(ROOT, 'data')).filter((s) => s.id.startsWith('fx-daily/A') || s.id.startsWith('fx-daily/G'));
      const calls: [number, number, string][] = [];
      const result = evaluateModel(session, series, { horizon: 4, maxOrigins: 3, onProgress: (d, t, l) => calls.push([d, t, l]) });
      expect(result.series.map((s) => s.id)).toEqual(['fx-daily/AUD', 'fx-daily/GBP']);
      expect(result.aggregate.windows).toBe(6);
      expect(calls).toEqual([
        [1, 6, 'fx-daily/AUD'],
        [2, 6, 'fx-daily/AUD'],
        [3, 6, 'fx-daily/AUD'],
        [4, 6, 'fx-daily/GBP'],
        [5, 6, 'fx-daily/GBP'],
        [6, 6, 'fx-daily/GBP'],
      ]);
    } finally {
      session.close();
    }
  });

  it('runSafetyReport reports every case with its category', async () => {
    const calls: [number, number, string][] = [];
    const report = await runSafetyReport({ categories: ['quantileProcessing'], onProgress: (d, t, l) => calls.push([d, t, l]) });
    expect(report.cases).toBeGreaterThan(0);
    expect(calls.map((c) => c[0])).toEqual(Array.from({ length: report.cases }, (_, i) => i + 1));
    expect(new Set(calls.map((c) => c[1]))).toEqual(new Set([report.cases]));
    expect(calls.map((c) => c[2])).toEqual(report.results.map((r) => `quantile processing: ${r.id}`));
  });
});
