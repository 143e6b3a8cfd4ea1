#!/usr/bin/env node
'use strict';
// npm's install hook: use the prebuild for this platform (or an existing local build) when it
// loads, otherwise build from source. TIREX_GUARDIAN_BUILD_FROM_SOURCE=1 forces a build.
const { execFileSync } = require('node:child_process');
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
    return { ok: false, why: String(e.stderr || e.message).trim().split('\n').slice(-3).join(' | ') };
  }
}

function main() {
  if (process.env.TIREX_GUARDIAN_BUILD_FROM_SOURCE !== '1') {
    const first = loads();
    if (first.ok) {
      log(`native addon ready: ${require('node-gyp-build').path(ROOT)}`);
      return;
    }
    log(`no loadable prebuild or local build (${first.why}); building from source`);
  }
  execFileSync(process.execPath, [path.join(__dirname, 'build-native.js')], { cwd: ROOT, stdio: 'inherit' });
  const after = loads();
  if (!after.ok) {
    log(`the addon was built but does not load: ${after.why}`);
    process.exit(1);
  }
  log(`native addon built: ${require('node-gyp-build').path(ROOT)}`);
}

main();
