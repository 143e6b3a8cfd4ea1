#!/usr/bin/env node
'use strict';
// Produces prebuilds/<platform>-<arch>/tirex-guardian.<libc>.napi.node (prebuildify's layout,
// which node-gyp-build loads): a stripped Release build from its own build directory, so the
// working build in build/ is left alone.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'build-prebuild');

const include = execFileSync(process.execPath, [path.join(__dirname, 'ort-headers.js')], {
  cwd: ROOT,
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
}).trim();
const cmakeJs = path.join(path.dirname(require.resolve('cmake-js/package.json', { paths: [ROOT] })), 'bin', 'cmake-js');
execFileSync(process.execPath, [cmakeJs, 'compile', '--log-level', 'warn', '--out', OUT, `--CDORT_INCLUDE_DIR=${include}`], {
  cwd: ROOT,
  stdio: 'inherit',
});

const built = path.join(OUT, 'Release', 'tirex_guardian.node');
const tags = process.platform === 'linux' ? (fs.existsSync('/etc/alpine-release') ? 'musl.' : 'glibc.') : '';
const dir = path.join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
fs.mkdirSync(dir, { recursive: true });
const target = path.join(dir, `tirex-guardian.${tags}napi.node`);
fs.copyFileSync(built, target);
if (process.platform === 'linux') execFileSync('strip', ['--strip-unneeded', target]);
process.stderr.write(`[prebuild] ${path.relative(ROOT, target)} (${fs.statSync(target).size} bytes)\n`);
