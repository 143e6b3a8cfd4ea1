// Runs every benchmark scenario in a fresh process, writes bench/results/<scenario>.json and the
// table in BENCHMARKS.md between the BENCH markers. Usage: npm run bench [-- scenario-filter]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const filter = process.argv[2] ?? '';

const scenarios = [
  ['scan.mjs', ['512']],
  ['scan.mjs', ['2048']],
  ['scan.mjs', ['1000000']],
  ['scan.mjs', ['10000000']],
].filter(([file, args]) => `${file} ${args.join(' ')}`.includes(filter));

const results = [];
fs.mkdirSync(path.join(here, 'results'), { recursive: true });
for (const [file, args] of scenarios) {
  process.stderr.write(`bench: ${file} ${args.join(' ')}\n`);
  const stdout = execFileSync(process.execPath, ['--expose-gc', path.join(here, 'scenarios', file), ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const result = JSON.parse(stdout.trim().split('\n').pop());
  result.date = new Date().toISOString();
  results.push(result);
  fs.writeFileSync(path.join(here, 'results', `${result.scenario}.json`), JSON.stringify(result, null, 2) + '\n');
}

const fmt = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(2)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(2)} µs` : `${ns.toFixed(0)} ns`);
const lines = [];
for (const r of results) {
  lines.push(`### ${r.scenario}`, '', '| task | p50 | p99 | GB/s (p50) |', '| --- | --- | --- | --- |');
  for (const t of r.tasks) lines.push(`| ${t.name} | ${fmt(t.p50Ns)} | ${fmt(t.p99Ns)} | ${t.gbPerS.toFixed(2)} |`);
  lines.push('', ...Object.entries(r.ratios).map(([k, v]) => `- ${k}: **${v.toFixed(2)}x**`), '');
}
const m = results[0]?.machine;
const header = m
  ? `Machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.platform}, Node ${m.node}, SIMD kernels: ${m.simd}. ` +
    `Run: ${results[0].date}. Command: \`npm run bench${filter ? ` -- ${filter}` : ''}\`.`
  : '';
console.log([header, '', ...lines].join('\n'));
if (!filter && results.length) {
  const file = path.join(root, 'BENCHMARKS.md');
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const block = `<!-- BENCH:scan:start -->\n${header}\n\n${lines.join('\n')}\n<!-- BENCH:scan:end -->`;
  const re = /<!-- BENCH:scan:start -->[\s\S]*<!-- BENCH:scan:end -->/;
  fs.writeFileSync(file, re.test(text) ? text.replace(re, block) : `${text}\n${block}\n`);
}
