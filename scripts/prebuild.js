#!/usr/bin/env node
'use strict';
// The prebuilt addon that the package ships, made by prebuildify over binding.gyp: Node-API,
// stripped, libc tagged, in prebuildify's layout (prebuilds/<platform>-<arch>/tirex-guardian.<libc>.node),
// which node-gyp-build loads.
//
//   node scripts/prebuild.js                 this machine's platform and architecture
//   node scripts/prebuild.js --arch arm64    linux-arm64 from an x64 host, with Debian's
//                                            g++-aarch64-linux-gnu (apt-get install g++-aarch64-linux-gnu)
//
// prebuildify runs `node-gyp rebuild` in the directory it builds, and node-gyp starts by deleting
// build/: the sources are staged in build-prebuild/<arch>/ so that the developers' cmake-js build in
// build/ is left alone. Node's headers come from the running Node (Node-API is the same for every
// architecture), the ONNX Runtime headers from scripts/ort-headers.js: nothing is downloaded.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

/** Cross toolchains this script knows, by target architecture (Debian's package names). */
const CROSS = {
  arm64: { prefix: 'aarch64-linux-gnu-', apt: 'g++-aarch64-linux-gnu' },
};

function fail(message) {
  process.stderr.write(`[prebuild] ${message}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const out = { arch: process.arch };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--arch' && i + 1 < argv.length) out.arch = argv[++i];
    else fail(`unknown argument ${argv[i]} (usage: node scripts/prebuild.js [--arch arm64])`);
  }
  return out;
}

function onPath(cmd) {
  return process.env.PATH.split(path.delimiter).some((dir) => fs.existsSync(path.join(dir, cmd)));
}

/** The compilers, archiver and strip of a cross build, as environment variables for node-gyp's make. */
function crossEnv(arch) {
  const tool = CROSS[arch];
  if (!tool) fail(`no cross toolchain known for ${arch} (known: ${Object.keys(CROSS).join(', ')}); build on a ${arch} machine instead`);
  if (process.platform !== 'linux') fail(`cross builds run on Linux (this is ${process.platform})`);
  const names = { CC: 'gcc', CXX: 'g++', LINK: 'g++', AR: 'ar', STRIP: 'strip' };
  const env = {};
  for (const [key, name] of Object.entries(names)) {
    const cmd = tool.prefix + name;
    if (!onPath(cmd)) fail(`${cmd} not found: apt-get install ${tool.apt}`);
    env[key] = cmd;
  }
  return env;
}

/** A copy of what binding.gyp builds from, with node_modules linked (node-addon-api's headers). */
function stage(arch) {
  const dir = path.join(ROOT, 'build-prebuild', arch);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'scripts'), { recursive: true });
  for (const f of ['binding.gyp', 'package.json']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  fs.copyFileSync(path.join(ROOT, 'scripts', 'ort-headers.js'), path.join(dir, 'scripts', 'ort-headers.js'));
  fs.cpSync(path.join(ROOT, 'native'), path.join(dir, 'native'), { recursive: true, filter: (src) => !src.includes(`${path.sep}fuzz`) });
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

function main() {
  const { arch } = parseArgs(process.argv.slice(2));
  const cross = arch !== process.arch;
  const include = execFileSync(process.execPath, [path.join(__dirname, 'ort-headers.js')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  }).trim();
  const nodedir = path.resolve(path.dirname(process.execPath), '..');
  if (!fs.existsSync(path.join(nodedir, 'include', 'node', 'node_api.h'))) fail(`Node's headers are not in ${nodedir}/include/node`);
  const tools = cross ? crossEnv(arch) : {};
  const dir = stage(arch);
  const prebuildify = path.join(path.dirname(require.resolve('prebuildify/package.json', { paths: [ROOT] })), 'bin.js');
  const args = [prebuildify, '--napi', '--strip', '--tag-libc', '--target', process.versions.node, '--arch', arch, '--out', ROOT];
  if (cross) args.push('--strip-bin', tools.STRIP);
  // Where npm would have put it: node-gyp reads npm_config_* from the environment (and JOBS: make
  // on every core, unless the caller says otherwise).
  const env = { JOBS: 'max', ...process.env, ...tools, npm_config_nodedir: nodedir, ORT_INCLUDE_DIR: include };
  fs.rmSync(path.join(ROOT, 'prebuilds', `${process.platform}-${arch}`), { recursive: true, force: true });
  execFileSync(process.execPath, args, { cwd: dir, env, stdio: 'inherit' });
  const out = path.join(ROOT, 'prebuilds', `${process.platform}-${arch}`);
  for (const f of fs.readdirSync(out)) process.stderr.write(`[prebuild] ${path.relative(ROOT, path.join(out, f))} (${fs.statSync(path.join(out, f)).size} bytes)\n`);
}

main();
