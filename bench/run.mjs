// Runs every benchmark scenario in a fresh process, writes bench/results/<scenario>.json and the
// table in BENCHMARKS.md between the BENCH markers. Usage: npm run bench [-- scenario-filter]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const filter = process.argv[2] ?? '';

const ALL = [
  ['scan.mjs', ['512']],
  ['scan.mjs', ['2048']],
  ['scan.mjs', ['1000000']],
  ['scan.mjs', ['10000000']],
  ['session.mjs', ['1', '512']],
  ['session.mjs', ['1', '2048']],
  ['session.mjs', ['64', '512']],
  ['model.mjs', ['2048']],
  ['guardian.mjs', []],
  ['guarded.mjs', ['1']],
  ['guarded.mjs', ['16']],
  ['guarded.mjs', ['64']],
  ['guarded.mjs', ['256']],
  ['audit.mjs', []],
  ['fallback.mjs', ['2048', '32']],
  ['breaker.mjs', []],
  ['deadline.mjs', ['0']],
  ['deadline.mjs', ['2']],
  ['soak.mjs', []],
  ['service.mjs', ['latency']],
  ['service.mjs', ['limits']],
  ['observability.mjs', ['overhead']],
  ['observability.mjs', ['tracing']],
  ['observability.mjs', ['scrape']],
  ['regime.mjs', []],
  ['signature.mjs', []],
  ['preflight.mjs', []],
  ['journal.mjs', []],
  ['prebuild.mjs', []],
];
const scenarios = ALL.filter(([file, args]) => `${file} ${args.join(' ')}`.includes(filter));

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
const family = (r) => r.scenario.split('-')[0];

function table(r) {
  const gb = r.tasks.some((t) => t.gbPerS !== undefined);
  const lines = [`### ${r.scenario}`, '', `| task | p50 | p99 | mean |${gb ? ' GB/s (p50) |' : ''}`, `| --- | --- | --- | --- |${gb ? ' --- |' : ''}`];
  for (const t of r.tasks) {
    lines.push(`| ${t.name} | ${fmt(t.p50Ns)} | ${fmt(t.p99Ns)} | ${fmt(t.meanNs)} |${gb ? ` ${t.gbPerS.toFixed(2)} |` : ''}`);
  }
  lines.push('', ...Object.entries(r.ratios).map(([k, v]) => `- ${k}: **${v.toFixed(2)}x**`));
  // Figures that are not ratios (records per second, say): printed as they are.
  lines.push(...Object.entries(r.figures ?? {}).map(([k, v]) => `- ${k}: **${typeof v === 'number' ? Math.round(v).toLocaleString('en-US') : v}**`), '');
  return lines;
}

const file = path.join(root, 'BENCHMARKS.md');
let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
for (const fam of [...new Set(results.map(family))]) {
  const rs = results.filter((r) => family(r) === fam);
  const m = rs[0].machine;
  const header =
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memGiB} GiB, ${m.platform}, Node ${m.node}, SIMD kernels: ${m.simd}. ` +
    `Run: ${rs[0].date}. Command: \`npm run bench${filter ? ` -- ${filter}` : ''}\`.`;
  const body = [header, '', ...rs.flatMap(table)].join('\n');
  console.log(body);
  // BENCHMARKS.md keeps one block per family, replaced only by a run that covered the family.
  if (ALL.filter(([f]) => f === `${fam}.mjs`).length !== rs.length) continue;
  const start = `<!-- BENCH:${fam}:start -->`;
  const end = `<!-- BENCH:${fam}:end -->`;
  const block = `${start}\n${body}\n${end}`;
  const re = new RegExp(`${start}[\\s\\S]*${end}`);
  text = re.test(text) ? text.replace(re, block) : `${text}\n${block}\n`;
}
fs.writeFileSync(file, text);
