#!/usr/bin/env node
'use strict';
// Builds the addon into build/Release with cmake-js (default) or node-gyp (--gyp, for those who
// prefer it; CI builds binding.gyp through prebuildify, scripts/prebuild.js). Fetches the ONNX Runtime headers first (scripts/ort-headers.js).
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');

function run(cmd, args, opts = {}) {
  execFileSync(cmd, args, { cwd: ROOT, stdio: 'inherit', ...opts });
}

function ortInclude() {
  return execFileSync(process.execPath, [path.join(__dirname, 'ort-headers.js')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  }).trim();
}

function bin(pkg, file) {
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`, { paths: [ROOT] })), file);
}

// node-gyp downloads Node's headers unless told where they are; npm passes its `nodedir` setting
// when it runs the script, otherwise use the headers installed beside this node binary.
function nodedirArgs() {
  if (process.env.npm_config_nodedir) return [];
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const fs = require('node:fs');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? [`--nodedir=${prefix}`] : [];
}

function main() {
  const include = ortInclude();
  const gyp = process.argv.includes('--gyp');
  const debug = process.argv.includes('--debug');
  if (gyp) {
    run(process.execPath, [bin('node-gyp', 'bin/node-gyp.js'), 'rebuild', ...nodedirArgs(), ...(debug ? ['--debug'] : [])], {
      env: { JOBS: 'max', ...process.env, ORT_INCLUDE_DIR: include }, // make on every core
    });
  } else {
    run(process.execPath, [
      bin('cmake-js', 'bin/cmake-js'),
      'compile',
      '--log-level', 'warn',
      ...(debug ? ['--debug'] : []),
      `--CDORT_INCLUDE_DIR=${include}`,
    ]);
  }
}

main();
