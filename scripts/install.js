#!/usr/bin/env node
'use strict';
// npm's install hook: use the prebuild for this platform (or an existing local build) when it
// loads, otherwise build from source. TIREX_GUARDIAN_BUILD_FROM_SOURCE=1 forces a build. Linux
// only: on macOS and Windows it stops at once with a message that says so and what to do instead.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

function log(msg) {
  process.stderr.write(`[tirex-guardian] ${msg}\n`);
}

// Loads the addon in a child process, so a crash on load cannot take this script down.
function loads() {
  try {
    execFileSync(process.execPath, ['-e', `require('node-gyp-build')(${JSON.stringify(ROOT)}).cpuFeatures()`], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return { ok: true };
  } catch (e) {
    // The thrown error's own line (node-gyp-build: "No native build was found for platform=...").
    const lines = String(e.stderr || e.message).split('\n').map((l) => l.trim());
    return { ok: false, why: lines.find((l) => /^\w*Error:/.test(l)) ?? lines.filter(Boolean).slice(-1)[0] ?? 'no output' };
  }
}

/** Platforms whose prebuilt addon the package ships (prebuilds/, made by scripts/prebuild.js). */
const PREBUILT = ['linux-x64 (glibc)', 'linux-arm64 (glibc)'];

function platformName() {
  const libc = process.platform === 'linux' ? (fs.existsSync('/etc/alpine-release') ? ' (musl)' : ' (glibc)') : '';
  return `${process.platform}-${process.arch}${libc}`;
}

/**
 * macOS and Windows: not built, not tested, so not offered. The addon loads ONNX Runtime with
 * dlopen and keeps itself mapped with an ELF linker flag (-z nodelete); a port would need both
 * redone and a machine of each kind in CI. Say so before anything is built, and what works.
 */
function unsupportedPlatform() {
  log(
    `tirex-guardian runs on Linux only; this is ${platformName()}, for which no addon is built or tested ` +
      '(it loads ONNX Runtime with dlopen and relies on an ELF linker flag). Prebuilt: ' +
      `${PREBUILT.join(' and ')}; other Linux systems (musl, other architectures) build from source. ` +
      'To use it on this machine, install Docker (or another Linux virtual machine) and run it in a Linux container, ' +
      'for example: docker run --rm -it -v "$PWD":/app -w /app node:20 npm install',
  );
  process.exit(1);
}

/** What a source build needs on this Linux system, in the words of its package managers. */
function buildTools() {
  if (fs.existsSync('/etc/alpine-release')) return 'cmake >= 3.15, a C++17 compiler and make (apk add cmake g++ make python3)';
  return 'cmake >= 3.15, a C++17 compiler and make (Debian/Ubuntu: apt-get install cmake g++ make python3; Fedora: dnf install cmake gcc-c++ make)';
}

function onPath(cmd) {
  return (process.env.PATH || '').split(path.delimiter).some((dir) => dir && fs.existsSync(path.join(dir, cmd)));
}

/** The error of a platform with no prebuild and nothing to build one with: what it is, what to install. */
function cannotBuild(why) {
  log(
    `no loadable prebuilt addon for ${platformName()} (the package ships them for ${PREBUILT.join(' and ')}), ` +
      `and it cannot be built here: ${why}. Install ${buildTools()}, then run npm install again ` +
      '(ONNX Runtime headers: fetched by scripts/ort-headers.js, or set ORT_INCLUDE_DIR).',
  );
  process.exit(1);
}

function main() {
  if (process.platform !== 'linux') unsupportedPlatform();
  if (process.env.TIREX_GUARDIAN_BUILD_FROM_SOURCE !== '1') {
    const first = loads();
    if (first.ok) {
      log(`native addon ready: ${require('node-gyp-build').path(ROOT)}`);
      return;
    }
    log(`no loadable prebuild or local build (${first.why})`);
  }
  const compilers = ['c++', 'g++', 'clang++'];
  const noCompiler = !compilers.some(onPath);
  const missing = [...(onPath('cmake') ? [] : ['cmake']), ...(noCompiler ? [`a C++ compiler (${compilers.join(', ')})`] : [])];
  if (missing.length) cannotBuild(`${missing.join(' and ')} not found on PATH`);
  log('building from source');
  try {
    execFileSync(process.execPath, [path.join(__dirname, 'build-native.js')], { cwd: ROOT, stdio: 'inherit' });
  } catch (e) {
    cannotBuild(`the build from source failed (${e.status === null ? e.signal : `exit ${e.status}`}; its output is above)`);
  }
  const after = loads();
  if (!after.ok) {
    log(`the addon was built but does not load: ${after.why}`);
    process.exit(1);
  }
  log(`native addon built: ${require('node-gyp-build').path(ROOT)}`);
}

main();
