// The adversarial safety suite (SPEC section 7, lib/safety): the corpus against the raw model path
// and against the guardian. The guarded path must be 100% safe in every category with an audit
// record for every call; the raw path must not be (or the corpus is too easy). Run after
// `node scripts/build-ts.js`: the last test runs the compiled command-line report.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { buildCorpus, CATEGORIES, formatSafetyReport, runSafetyReport, type SafetyReport } from '../lib/safety';

const ROOT = path.resolve(__dirname, '..');
const SCRIPT = path.join(ROOT, 'scripts', 'safety-report.js');

let report: SafetyReport;
let text: string;

beforeAll(async () => {
  report = await runSafetyReport();
  text = formatSafetyReport(report, { rawDetails: 10 });
}, 120_000);

describe('safety corpus', () => {
  it('has at least 200 cases, at least 20 in each of the six categories, with unique ids', () => {
    const corpus = buildCorpus();
    expect(corpus.length).toBeGreaterThanOrEqual(200);
    expect(new Set(corpus.map((c) => c.id)).size).toBe(corpus.length);
    for (const category of CATEGORIES) {
      expect(corpus.filter((c) => c.category === category).length, category).toBeGreaterThanOrEqual(20);
    }
  });

  it('ran every case (nothing skipped) and reports all six categories', () => {
    expect(report.skipped).toEqual([]);
    expect(report.cases).toBe(buildCorpus().length);
    expect(report.categories.map((c) => c.category)).toEqual([...CATEGORIES]);
    for (const c of report.categories) expect(c.cases, c.category).toBeGreaterThanOrEqual(20);
  });

  it('exercises every guarded outcome: ok, corrected, fallback, blocked and typed errors', () => {
    const total = { ok: 0, corrected: 0, fallback: 0, blocked: 0, error: 0 };
    for (const c of report.categories) for (const k of Object.keys(total) as (keyof typeof total)[]) total[k] += c.outcomes[k];
    for (const [k, n] of Object.entries(total)) expect(n, k).toBeGreaterThan(0);
    // The strict strategy and the async path with a timeout ran on a subset.
    const paths = new Set(report.results.flatMap((r) => r.guarded.map((o) => o.path)));
    for (const p of ['guarded', 'guarded-async', 'strict', 'strict-async']) expect(paths.has(p as never), p).toBe(true);
  });
});

describe('raw model path', () => {
  it('is below 100% safe overall: the corpus finds what the guardian is for', () => {
    expect(report.overall.raw.pct).toBeLessThan(100);
    // Non-finite, crossing and silently changed outputs, and crashes, are all among the findings.
    const problems = report.results.flatMap((r) => r.raw.flatMap((o) => o.problems));
    expect(problems.some((p) => p.includes('non-finite'))).toBe(true);
    expect(problems.some((p) => p.includes('crossing'))).toBe(true);
    expect(problems.some((p) => p.startsWith('silent change'))).toBe(true);
    expect(problems.some((p) => p.startsWith('crashed'))).toBe(true);
  });
});

describe('guarded path', () => {
  it('is 100% safe in every category', () => {
    const below = report.categories.filter((c) => c.guarded.pct < 100).map((c) => `${c.label}: ${c.guarded.pct}%`);
    expect(below, `\n${text}`).toEqual([]);
    expect(report.unsafeGuarded.map((r) => r.id), `\n${text}`).toEqual([]);
  });

  it('leaves an audit record for every call', () => {
    expect(report.audit.calls).toBeGreaterThan(report.cases);
    const missing = report.audit.guardians.filter((g) => !g.ok).map((g) => `${g.guardian}: ${g.calls} calls, ${g.records} records`);
    expect(missing, `\n${text}`).toEqual([]);
  });
});

describe('report', () => {
  it('prints the table per category for both paths', () => {
    expect(text).toContain('safety report');
    expect(text).toMatch(/raw safe\s+guarded safe/);
    for (const c of report.categories) expect(text).toContain(c.label);
    expect(text).toMatch(/overall\s+\d+\s+\d+\.\d%\s+\d+\.\d%/);
    expect(text).toContain('audit:');
  });

  it('runs from the command line, exit code 0 only when the guarded path is 100% safe', () => {
    const dist = path.join(ROOT, 'dist', 'cjs', 'safety', 'index.js');
    expect(fs.existsSync(dist), 'build first: node scripts/build-ts.js').toBe(true);
    const category = 'contextLength';
    const r = spawnSync(process.execPath, [SCRIPT, '--category', category, '--raw', '3'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).not.toContain('safety-report failed');
    expect(r.stdout).toContain('context length');
    expect(r.stdout).not.toContain('NaN handling');
    const summary = report.categories.find((c) => c.category === category)!;
    expect(r.status).toBe(summary.guarded.pct === 100 ? 0 : 1);
    const bad = spawnSync(process.execPath, [SCRIPT, '--category', 'noSuchCategory'], { cwd: ROOT, encoding: 'utf8' });
    expect(bad.status).toBe(2);
  }, 60_000);
});
