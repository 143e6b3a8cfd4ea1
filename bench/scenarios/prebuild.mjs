// The addon users install (the prebuildify build of binding.gyp in prebuilds/<platform>-<arch>/)
// against the developers' cmake-js build (build/Release) and a byte copy of it, all three loaded
// into this process: the same scan (2048 values, call-bound; 1M values, bandwidth-bound) and the
// same session run (the small test model, batch 1, 512 steps) through each addon's raw functions.
// Rounds rotate the three so drift hits all alike; the ratio is prebuild time / cmake-js time,
// round by round (median, with the lowest and highest round), beside the same ratio for the byte
// copy (what the harness reads for identical addons). All must give the same bytes, or the
// comparison is meaningless. The table's p50 is the median of the rounds' p50s, so its quotient
// can differ from the ratio (the median of the rounds' quotients).
//   npm run build:native && npm run build:prebuild && npm run bench -- prebuild
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { emit, lib, machine, measure, priceSeries, require } from '../harness.mjs';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const files = {
  cmakeJs: path.join(root, 'build', 'Release', 'tirex_guardian.node'),
  prebuild: path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'tirex-guardian.glibc.node'),
};
for (const [name, file] of Object.entries(files)) {
  if (!fs.existsSync(file)) throw new Error(`${name} addon missing: ${file} (npm run build:native; npm run build:prebuild)`);
}
// The noise floor: a byte copy of the cmake-js build, loaded as a third module and measured the
// same way. Its ratio to the cmake-js build is what this harness reads for two identical addons.
const copyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-bench-copy-'));
files.cmakeJsCopy = path.join(copyDir, 'tirex_guardian.node');
fs.copyFileSync(files.cmakeJs, files.cmakeJsCopy);
const addons = Object.fromEntries(Object.entries(files).map(([k, f]) => [k, require(f)]));
if (new Set(Object.values(addons)).size !== 3) throw new Error('two paths loaded the same module');
// Each addon loads ONNX Runtime itself (the same libonnxruntime.so.1, mapped once by the loader).
const ortLibrary = lib.resolveRuntimeLibrary();
for (const addon of Object.values(addons)) addon.runtimeInfo() ?? addon.loadRuntime(ortLibrary);

const manifest = lib.loadManifest(path.join(root, 'test', 'fixtures', 'models', 'quantile-ok.json'));
const modelBytes = fs.readFileSync(manifest.modelPath);
const sessionOptions = { intraOpThreads: 1, interOpThreads: 1, graphOptimizationLevel: 'all' };
const batch = 1;
const time = 512;
const input = new Float32Array(batch * time).map((_, i) => 100 + Math.sin(i / 7) + (i % 13) * 0.01);
const rowOutput = manifest.patchLength * manifest.quantileLevels.length;

// One set of inputs for both builds: the same addresses (and alignment) under both.
const small = priceSeries(2048);
const big = priceSeries(1_000_000);

/** Per addon: the three calls measured, each writing into its own preallocated output. */
function calls(addon) {
  const scanOut = new Float64Array(16);
  const session = new addon.NativeSession(modelBytes, manifest.sha256, sessionOptions);
  const output = new Float32Array(batch * rowOutput);
  return {
    scan2048: { fn: () => addon.scan(small, 1, 0, 1000, scanOut), out: scanOut, reps: 1000 },
    scan1M: { fn: () => addon.scan(big, 1, 0, 1000, scanOut), out: scanOut, reps: 1 },
    sessionB1T512: { fn: () => session.runSync(input, batch, output), out: output, reps: 50 },
    close: () => session.close(),
  };
}
const byBuild = Object.fromEntries(Object.entries(addons).map(([k, a]) => [k, calls(a)]));
const BUILDS = Object.keys(byBuild);
const LABEL = { cmakeJs: 'cmake-js build', prebuild: 'prebuild (prebuildify)', cmakeJsCopy: 'cmake-js build, a byte copy (noise floor)' };

const bytesOf = (a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const ROUNDS = 7;
const tasks = [];
const ratios = {};
const figures = {};
for (const what of ['scan2048', 'scan1M', 'sessionB1T512']) {
  const base = byBuild.cmakeJs[what];
  base.fn();
  for (const build of BUILDS.slice(1)) {
    byBuild[build][what].fn();
    if (!bytesOf(base.out).equals(bytesOf(byBuild[build][what].out))) throw new Error(`${what}: ${LABEL[build]} and the cmake-js build give different bytes`);
  }
  const perRound = { prebuild: [], cmakeJsCopy: [] };
  const all = Object.fromEntries(BUILDS.map((b) => [b, []]));
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate which build goes first, so none always runs on a warmer cache.
    const order = BUILDS.map((_, i) => BUILDS[(i + r) % BUILDS.length]);
    const got = {};
    for (const build of order) {
      const c = byBuild[build][what];
      got[build] = await measure(`${what} ${build}`, c.fn, { reps: c.reps, time: 400, warmupTime: 100 });
      all[build].push(got[build]);
    }
    for (const b of ['prebuild', 'cmakeJsCopy']) perRound[b].push(got[b].p50Ns / got.cmakeJs.p50Ns);
  }
  for (const build of BUILDS) {
    const ms = all[build];
    const mid = (xs) => xs.sort((x, y) => x - y)[Math.floor(ROUNDS / 2)];
    tasks.push({
      name: `${what}: ${LABEL[build]}`,
      reps: ms[0].reps,
      samples: ms.reduce((s, m) => s + m.samples, 0),
      p50Ns: mid(ms.map((m) => m.p50Ns)),
      p99Ns: mid(ms.map((m) => m.p99Ns)),
      meanNs: ms.reduce((s, m) => s + m.meanNs, 0) / ROUNDS,
    });
  }
  for (const [b, name] of [['prebuild', 'Prebuild'], ['cmakeJsCopy', 'CmakeJsCopy']]) {
    const rs = perRound[b].sort((x, y) => x - y);
    ratios[`${what}${name}TimeOverCmakeJsTime`] = rs[Math.floor(ROUNDS / 2)];
    figures[`${what} ${b === 'prebuild' ? 'prebuild' : 'byte copy'} / cmake-js, lowest and highest of ${ROUNDS} rounds`] = `${rs[0].toFixed(3)} .. ${rs[ROUNDS - 1].toFixed(3)}`;
  }
}
for (const b of BUILDS) byBuild[b].close();
fs.rmSync(copyDir, { recursive: true, force: true });

emit({
  scenario: 'prebuild-vs-cmake-js',
  machine: machine(),
  addons: { cmakeJs: path.relative(root, files.cmakeJs), prebuild: path.relative(root, files.prebuild) },
  tasks,
  ratios,
  figures,
});
