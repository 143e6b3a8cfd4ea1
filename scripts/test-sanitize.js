#!/usr/bin/env node
'use strict';
// npm run test:sanitize [-- vitest args]: the addon built with AddressSanitizer and
// UndefinedBehaviorSanitizer into build-sanitize/ (build/ is left alone), then the whole vitest
// suite against that build: TG_ADDON_PATH points lib/native/addon.ts at it, and LD_PRELOAD puts the
// ASan runtime first in every process (Node is not built with ASan; the runtime must come before
// any other library). Both variables are inherited, so vitest's forks and our own child processes
// (the CLI, serve) run under the sanitizers too; the tests start Chromium and redis-server without
// the preload (not what this checks). Every process writes its reports to one directory;
// any report fails the run, even when the test that caused it passed.
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'build-sanitize');
const ADDON = path.join(OUT, 'Release', 'tirex_guardian.node');
const CXX = process.env.CXX || 'g++';

function log(msg) {
  process.stderr.write(`[test:sanitize] ${msg}\n`);
}

function bin(pkg, file) {
  return path.join(path.dirname(require.resolve(`${pkg}/package.json`, { paths: [ROOT] })), file);
}

function build() {
  const include = execFileSync(process.execPath, [path.join(__dirname, 'ort-headers.js')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  }).trim();
  execFileSync(
    process.execPath,
    [
      bin('cmake-js', 'bin/cmake-js'),
      'compile',
      '--log-level', 'warn',
      '--out', OUT,
      `--CDORT_INCLUDE_DIR=${include}`,
      // CMakeLists.txt: -fsanitize=address,undefined -fno-sanitize-recover=undefined
      // -fno-omit-frame-pointer -g on the addon's target (undefined behaviour aborts at once).
      '--CDTG_SANITIZE=ON',
    ],
    { cwd: ROOT, stdio: 'inherit' },
  );
  // Instrumented, not merely linked: the code calls the ASan and UBSan report functions.
  const symbols = execFileSync('nm', ['-D', '--undefined-only', ADDON], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (!/__asan_report_load/.test(symbols) || !/__ubsan_handle_/.test(symbols)) {
    throw new Error(`${ADDON} is not instrumented by ASan and UBSan`);
  }
}

function asanRuntime() {
  // g++ prints the bare name back when it has no such file.
  const lib = execFileSync(CXX, ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
  if (!path.isAbsolute(lib) || !fs.existsSync(lib)) throw new Error(`${CXX} has no libasan.so (install libasan8 / gcc's sanitizer runtimes)`);
  return fs.realpathSync(lib);
}

function reports(dir) {
  return fs.readdirSync(dir).map((f) => path.join(dir, f)).filter((f) => fs.statSync(f).size > 0);
}

function main() {
  const t0 = Date.now();
  build();
  log(`built ${path.relative(ROOT, ADDON)} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  execFileSync(process.execPath, [path.join(__dirname, 'build-ts.js')], { cwd: ROOT, stdio: 'inherit' });

  const logs = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-sanitize-'));
  // Options from the caller's environment come after ours (the later wins), bar log_path.
  const asan = [
    'detect_leaks=0', // Node and V8 keep memory until exit by design: leak reports would be noise
    // Freed memory waits in the quarantine (256 MB by default) before reuse, and shows in RSS: the
    // memory tests allow 10 MB of growth over 100k runs, plus 16 MB for the quarantines under this
    // run. 8 MB still holds the most recent frees of every thread, where a use after free of the
    // addon's would land.
    'quarantine_size_mb=8',
    'malloc_context_size=10',
    'detect_odr_violation=0', // the preloaded runtime sees Node's and ONNX Runtime's copies of common symbols
    'allow_user_segv_handler=1', // V8 installs its own SIGSEGV handler (WebAssembly bounds checks)
    process.env.ASAN_OPTIONS,
    `log_path=${path.join(logs, 'asan')}`,
  ].filter(Boolean).join(':');
  const ubsan = ['print_stacktrace=1', 'halt_on_error=1', process.env.UBSAN_OPTIONS, `log_path=${path.join(logs, 'ubsan')}`]
    .filter(Boolean)
    .join(':');
  const env = {
    ...process.env,
    TG_ADDON_PATH: ADDON,
    LD_PRELOAD: [asanRuntime(), process.env.LD_PRELOAD].filter(Boolean).join(':'),
    ASAN_OPTIONS: asan,
    UBSAN_OPTIONS: ubsan,
  };
  log(`vitest with TG_ADDON_PATH=${ADDON}, LD_PRELOAD=${env.LD_PRELOAD}, reports in ${logs}`);
  const t1 = Date.now();
  const r = spawnSync(process.execPath, [bin('vitest', 'vitest.mjs'), 'run', ...process.argv.slice(2)], {
    cwd: ROOT,
    env,
    stdio: 'inherit',
  });
  log(`vitest: exit ${r.status}${r.signal ? ` (${r.signal})` : ''} after ${((Date.now() - t1) / 1000).toFixed(0)} s`);

  const found = reports(logs);
  for (const f of found) {
    process.stderr.write(`\n==== ${f}\n${fs.readFileSync(f, 'utf8')}\n`);
  }
  if (found.length > 0) {
    log(`FAILED: ${found.length} sanitizer report(s), above`);
    process.exit(1);
  }
  if (r.status !== 0) {
    log('FAILED: the test suite failed under the sanitizers');
    process.exit(r.status ?? 1);
  }
  fs.rmSync(logs, { recursive: true, force: true });
  log(`passed with no sanitizer report in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main();
