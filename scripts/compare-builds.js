#!/usr/bin/env node
'use strict';
// Builds of the same sources for the same architecture (cmake-js, node-gyp over binding.gyp,
// prebuildify's prebuild) must be the same addon in what it computes: test/builds/same-numbers.cjs
// runs against each (TG_ADDON_PATH) and every kernel result and every quantile of the guarded
// forecast must match the first build's bit for bit. (Across architectures the forecast may round
// differently: scripts/test-arm64.js.)
//
//   node scripts/compare-builds.js build/Release/tirex_guardian.node prebuilds/linux-x64/tirex-guardian.glibc.node
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const CHECK = path.join(ROOT, 'test', 'builds', 'same-numbers.cjs');

function fail(message) {
  process.stderr.write(`[compare-builds] ${message}\n`);
  process.exit(1);
}

function numbersOf(addon, out) {
  execFileSync(process.execPath, [CHECK, out], { cwd: ROOT, env: { ...process.env, TG_ADDON_PATH: addon }, stdio: ['ignore', 'ignore', 'inherit'] });
  const result = JSON.parse(fs.readFileSync(out, 'utf8'));
  // Quantiles as float32 bits: the comparison is exact.
  result.forecast.quantiles = Buffer.from(Float32Array.from(result.forecast.quantiles).buffer).toString('hex');
  return result;
}

function main() {
  const addons = process.argv.slice(2).map((f) => path.resolve(f));
  if (addons.length < 2) fail('usage: compare-builds.js <addon.node> <addon.node> [...]');
  for (const a of addons) if (!fs.existsSync(a)) fail(`${a} does not exist`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-compare-builds-'));
  try {
    const [first, ...rest] = addons.map((a, i) => ({ addon: a, numbers: numbersOf(a, path.join(tmp, `${i}.json`)) }));
    for (const other of rest) {
      for (const part of ['simd', 'kernels', 'forecast']) {
        if (JSON.stringify(first.numbers[part]) !== JSON.stringify(other.numbers[part])) {
          fail(`${path.relative(ROOT, other.addon)} and ${path.relative(ROOT, first.addon)} disagree on ${part}`);
        }
      }
      process.stderr.write(
        `[compare-builds] ${path.relative(ROOT, other.addon)} = ${path.relative(ROOT, first.addon)}: ${first.numbers.kernels.length} kernel cases and ` +
          `${first.numbers.forecast.quantiles.length / 8} forecast quantiles bit for bit (SIMD ${first.numbers.simd})\n`,
      );
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main();
