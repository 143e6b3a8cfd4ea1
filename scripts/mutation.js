#!/usr/bin/env node
'use strict';
// npm run test:mutation -- <module|file>... | --ci | --all
// StrykerJS (vitest runner, per-test coverage) on the safety logic, one module at a time against
// the test files that exercise it (test/mutation.json). Prints each module's score beside its
// recorded floor; with --ci (the fast modules .ci/run checks) or --check, a score under its floor
// fails the run. Score = (killed + timed out) / (killed + timed out + survived + no coverage):
// mutants marked `// Stryker disable ...: <reason>` in the source (those that change no behaviour,
// listed in TESTING.md) are left out, as are mutants that do not compile or crash the runner.
// The addon is loaded from this checkout's build (TG_ADDON_PATH), so Stryker's sandbox needs no
// native build of its own; run `npm run build:native` first.
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const CONFIG = path.join(ROOT, 'test', 'mutation.json');
const REPORTS = path.join(ROOT, 'reports', 'mutation');
const ADDON = path.join(ROOT, 'build', 'Release', 'tirex_guardian.node');
const USAGE = 'usage: npm run test:mutation -- <module|lib/file.ts>... | --ci | --all  [--check] [--concurrency N]';

function fail(msg, code = 2) {
  process.stderr.write(`[test:mutation] ${msg}\n`);
  process.exit(code);
}

function parseArgs(argv, modules) {
  const picked = new Set();
  let check = false;
  let concurrency = 2;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--ci') {
      check = true;
      for (const [name, m] of Object.entries(modules)) if (m.ci) picked.add(name);
    } else if (a === '--all') {
      for (const name of Object.keys(modules)) picked.add(name);
    } else if (a === '--check') {
      check = true;
    } else if (a === '--concurrency') {
      concurrency = Number(argv[++i]);
      if (!Number.isInteger(concurrency) || concurrency < 1) fail(`--concurrency wants a positive integer\n${USAGE}`);
    } else if (a.startsWith('-')) {
      fail(`unknown flag ${a}\n${USAGE}`);
    } else {
      picked.add(moduleNamed(a, modules));
    }
  }
  if (picked.size === 0) fail(`name a module (${Object.keys(modules).join(', ')}), a file, --ci or --all\n${USAGE}`);
  return { names: [...picked], check, concurrency };
}

/** A module by its name, or the module whose mutate list holds the file named. */
function moduleNamed(arg, modules) {
  if (modules[arg]) return arg;
  const rel = path.relative(ROOT, path.resolve(arg)).split(path.sep).join('/');
  for (const [name, m] of Object.entries(modules)) {
    if (m.mutate.some((pattern) => globMatch(pattern, rel))) return name;
  }
  fail(`no module named or covering ${arg} (modules: ${Object.keys(modules).join(', ')})\n${USAGE}`);
}

function globMatch(pattern, file) {
  const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
  return re.test(file);
}

/** The score of one run, from Stryker's mutant results. */
function score(results) {
  const count = (status) => results.filter((r) => r.status === status).length;
  const killed = count('Killed');
  const timeout = count('Timeout');
  const survived = count('Survived');
  const noCoverage = count('NoCoverage');
  const ignored = count('Ignored');
  const errors = count('CompileError') + count('RuntimeError');
  const valid = killed + timeout + survived + noCoverage;
  const pct = valid === 0 ? 100 : (100 * (killed + timeout)) / valid;
  return { killed, timeout, survived, noCoverage, ignored, errors, valid, score: Math.floor(pct * 100) / 100 };
}

async function runModule(name, m, concurrency) {
  for (const t of m.tests) if (!fs.existsSync(path.join(ROOT, t))) fail(`${name}: test file ${t} is missing (test/mutation.json)`);
  // The vitest configuration Stryker runs reads this to include only the module's tests.
  process.env.TG_MUTATION_TESTS = m.tests.join(',');
  const { Stryker } = await import('@stryker-mutator/core');
  const stryker = new Stryker({
    testRunner: 'vitest',
    plugins: ['@stryker-mutator/vitest-runner'],
    vitest: { configFile: 'vitest.mutation.config.mts', related: false },
    coverageAnalysis: 'perTest',
    mutate: m.mutate,
    concurrency,
    timeoutMS: 20_000,
    reporters: ['clear-text', 'progress', 'json', 'html'],
    clearTextReporter: { allowColor: false, logTests: false, reportMutants: true, reportScoreTable: true },
    jsonReporter: { fileName: path.join('reports', 'mutation', `${name}.json`) },
    htmlReporter: { fileName: path.join('reports', 'mutation', `${name}.html`) },
    // Build outputs and what no test under mutation reads stay out of the sandbox copy (dist/
    // stays: tests that run the compiled code in a child process read it).
    ignorePatterns: ['build', 'build-*', 'deps', 'prebuilds', 'reports', 'bench', 'training', '*.tgz'],
    // One sandbox directory per module: runs of different modules may overlap.
    tempDirName: path.join('.stryker-tmp', name),
    cleanTempDir: 'always',
    logLevel: 'warn',
    fileLogLevel: 'off',
  });
  return score(await stryker.runMutationTest());
}

async function main() {
  const { modules } = JSON.parse(fs.readFileSync(CONFIG, 'utf8'));
  const { names, check, concurrency } = parseArgs(process.argv.slice(2), modules);
  if (!fs.existsSync(ADDON)) fail(`no addon at ${path.relative(ROOT, ADDON)}: run npm run build:native first`);
  process.env.TG_ADDON_PATH = ADDON;
  fs.mkdirSync(REPORTS, { recursive: true });
  const rows = [];
  for (const name of names) {
    const started = Date.now();
    const s = await runModule(name, modules[name], concurrency);
    rows.push({ module: name, ...s, floor: modules[name].floor, seconds: Math.round((Date.now() - started) / 1000) });
  }
  fs.writeFileSync(path.join(REPORTS, 'summary.json'), `${JSON.stringify(rows, null, 2)}\n`);
  process.stdout.write('\nmodule          killed timeout survived no-cov ignored  score  floor  seconds\n');
  for (const r of rows) {
    process.stdout.write(
      `${r.module.padEnd(15)} ${String(r.killed).padStart(6)} ${String(r.timeout).padStart(7)} ${String(r.survived).padStart(8)} ${String(r.noCoverage).padStart(6)} ${String(r.ignored).padStart(7)} ${r.score.toFixed(2).padStart(6)} ${String(r.floor ?? '-').padStart(6)} ${String(r.seconds).padStart(8)}\n`,
    );
  }
  const below = rows.filter((r) => r.floor !== null && r.score < r.floor);
  if (below.length > 0) {
    const msg = below.map((r) => `${r.module} ${r.score.toFixed(2)} < floor ${r.floor}`).join('; ');
    if (check) fail(`mutation score below its floor: ${msg}`, 1);
    process.stderr.write(`[test:mutation] below the floor (not checked without --check/--ci): ${msg}\n`);
  }
}

main().catch((err) => fail(err && err.stack ? err.stack : String(err), 1));
