#!/usr/bin/env node
'use strict';
// `npm run safety-report`: the adversarial safety suite (lib/safety) against the raw model path
// and against the guardian, safety per category for both. Exit code 1 when the guarded path is
// below 100% in any category or a guarded call left no audit record; 2 when the suite itself
// could not run. Needs the compiled library (the npm script builds it first).
//
// Options: --category nanHandling,contextLength (only these categories), --raw N (also list the
// first N unsafe raw-path cases), --json FILE (the whole report as JSON), --svg FILE.svg (the safety
// per category of both paths as a chart), --verbose (one line per case on stderr). On a terminal,
// without --verbose, one progress line on stderr, cleared at the end.
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist', 'cjs');
const { runSafetyReport, formatSafetyReport, CATEGORIES } = require(path.join(dist, 'safety', 'index.js'));
const { safetySummarySvg, svgPathProblem, writeSvgFile } = require(path.join(dist, 'plot', 'index.js'));
const { progressReporter } = require(path.join(dist, 'cli-progress.js'));

const args = process.argv.slice(2);
const value = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const verbose = args.includes('--verbose');
const rawDetails = args.includes('--raw') ? Number(value('--raw') ?? 20) || 20 : 0;
const jsonFile = value('--json');
const svgFile = value('--svg');
if (args.includes('--svg')) {
  const problem = svgFile === undefined || svgFile.startsWith('--') ? '--svg needs a file name ending in .svg' : svgPathProblem(svgFile);
  if (problem !== null) {
    process.stderr.write(`safety-report: ${problem}\n`);
    process.exit(2);
  }
}
const only = value('--category');
const categories = only ? only.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
for (const c of categories ?? []) {
  if (!CATEGORIES.includes(c)) {
    process.stderr.write(`unknown category ${c}; one of ${CATEGORIES.join(', ')}\n`);
    process.exit(2);
  }
}

const progress = verbose ? null : progressReporter('safety-report', 'cases');
runSafetyReport({
  categories,
  onProgress: progress ? progress.update : undefined,
  onCase: verbose
    ? (r, i, n) => process.stderr.write(`[${i + 1}/${n}] ${r.id}: raw ${r.rawSafe ? 'safe' : 'UNSAFE'}, guarded ${r.guardedSafe ? 'safe' : 'UNSAFE'} (${r.ms.toFixed(0)} ms)\n`)
    : undefined,
})
  .finally(() => progress && progress.end())
  .then((report) => {
    process.stdout.write(formatSafetyReport(report, { rawDetails }) + '\n');
    if (jsonFile) fs.writeFileSync(jsonFile, JSON.stringify(report, null, 2));
    if (svgFile) writeSvgFile(svgFile, safetySummarySvg(report));
    process.exitCode = report.passed ? 0 : 1;
  })
  .catch((err) => {
    process.stderr.write(`safety-report failed: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 2;
  });
