#!/usr/bin/env node
// Builds the libFuzzer harnesses of native/fuzz/ (clang, -fsanitize=fuzzer,address,undefined,
// the kernel sources compiled directly: no Node, no ONNX Runtime) into build-fuzz/, then runs each
// for --seconds N (default 20) on a copy of its seed corpus (native/fuzz/corpus/<harness>/ is never
// modified). Exits non-zero on any crash, sanitizer report, timeout, leak or AVX2/scalar/invariant
// mismatch, printing the reproducer's path and the command that replays it.
//
//   npm run fuzz                          every harness, 20 s each
//   npm run fuzz -- --seconds 60 scan     one harness, 60 s
//   npm run fuzz -- --build-only          build, run nothing
//   npm run fuzz -- --write-corpus        regenerate the committed seed corpus (deterministic)
//
// Options: --seconds N, --max-len N (default 4096), --jobs N (compiles, and fuzzers, run at once;
// default: the cores), --build-only, --write-corpus, --keep (keep the work directories), and
// harness names (scan, transform, convert, impute, quantiles, forecast_check, recent).
'use strict';
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const FUZZ_DIR = path.join(ROOT, 'native', 'fuzz');
const KERNEL_DIR = path.join(ROOT, 'native', 'kernels');
const BUILD_DIR = path.join(ROOT, 'build-fuzz');
const CORPUS_DIR = path.join(FUZZ_DIR, 'corpus');

const HARNESSES = ['scan', 'transform', 'convert', 'impute', 'quantiles', 'forecast_check', 'recent'];
const KERNEL_SOURCES = ['cpu', 'forecast_check', 'impute', 'quantiles', 'recent', 'scan_scalar', 'transform_scalar'];
const AVX2_SOURCES = ['scan_avx2', 'transform_avx2'];
const IS_X64 = process.arch === 'x64';

// As CMakeLists.txt: no contraction of a*b+c behind our back (the scalar and AVX2 kernels must
// round alike), -mavx2 -mfma for the *_avx2.cc files only.
const SANITIZE = ['-fsanitize=address,undefined', '-fno-sanitize-recover=all'];
const CXXFLAGS = ['-std=c++17', '-O1', '-g', '-fno-omit-frame-pointer', '-ffp-contract=off', '-Wall', '-Wextra',
  '-Wno-unused-parameter', ...SANITIZE];

function parseArgs(argv) {
  const opts = { seconds: 20, maxLen: 4096, jobs: Math.max(1, os.cpus().length), buildOnly: false, writeCorpus: false, keep: false, only: [] };
  const value = (i, name) => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) usage(`${name} needs a value`);
    return v;
  };
  const int = (v, name, min) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) usage(`${name} must be an integer >= ${min}, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--seconds') opts.seconds = int(value(i++, a), a, 1);
    else if (a === '--max-len') opts.maxLen = int(value(i++, a), a, 16);
    else if (a === '--jobs') opts.jobs = int(value(i++, a), a, 1);
    else if (a === '--build-only') opts.buildOnly = true;
    else if (a === '--write-corpus') opts.writeCorpus = true;
    else if (a === '--keep') opts.keep = true;
    else if (a === '--help' || a === '-h') usage(null);
    else if (HARNESSES.includes(a.replace(/_fuzz$/, ''))) opts.only.push(a.replace(/_fuzz$/, ''));
    else usage(`unknown argument ${a}`);
  }
  return opts;
}

function usage(error) {
  const text = `usage: node scripts/fuzz.js [--seconds N] [--max-len N] [--jobs N] [--build-only] [--write-corpus] [--keep] [harness ...]\n` +
    `harnesses: ${HARNESSES.join(', ')}`;
  if (error) {
    console.error(`fuzz: ${error}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

// ---- the compiler ------------------------------------------------------------------------------

function findClang() {
  const candidates = [process.env.FUZZ_CXX, 'clang++', 'clang++-19', 'clang++-18', 'clang++-17', 'clang++-16', 'clang++-15', 'clang++-14'].filter(Boolean);
  for (const c of candidates) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return { cxx: c, version: r.stdout.split('\n')[0] };
  }
  console.error('fuzz: clang++ not found: libFuzzer needs clang (g++ has no libFuzzer). Install it:\n' +
    '  apt-get install clang\n' +
    '  and, where the distribution packages its runtimes apart, libclang-rt-<major>-dev (Debian 12: apt-get install clang libclang-rt-14-dev);\n' +
    '  or set FUZZ_CXX to a clang++ binary.');
  process.exit(1);
}

// clang without its libFuzzer / sanitizer runtimes compiles but does not link: say which package.
function checkFuzzerRuntime(cxx) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-fuzz-probe-'));
  try {
    const src = path.join(dir, 'probe.cc');
    fs.writeFileSync(src, '#include <cstddef>\n#include <cstdint>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n');
    const r = spawnSync(cxx, ['-fsanitize=fuzzer,address,undefined', src, '-o', path.join(dir, 'probe')], { encoding: 'utf8' });
    if (r.status !== 0) {
      const major = (spawnSync(cxx, ['-dumpversion'], { encoding: 'utf8' }).stdout || '').trim().split('.')[0];
      console.error(`fuzz: ${cxx} cannot link -fsanitize=fuzzer,address,undefined:\n${(r.stderr || '').trim()}\n` +
        `  the libFuzzer and sanitizer runtimes are missing: apt-get install libclang-rt-${major || 'NN'}-dev` +
        ` (or clang's compiler-rt for your distribution)`);
      process.exit(1);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the build ---------------------------------------------------------------------------------

function headersDigest() {
  const h = crypto.createHash('sha256');
  for (const dir of [KERNEL_DIR, FUZZ_DIR]) {
    for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.h')).sort()) {
      h.update(f).update(fs.readFileSync(path.join(dir, f)));
    }
  }
  return h.digest('hex');
}

function run(cmd, args) {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code, out }));
  });
}

// Each output is rebuilt when its command, its source or any header of native/kernels or
// native/fuzz changed (a digest in <output>.stamp).
async function build(cxx, harnesses, jobs) {
  const objDir = path.join(BUILD_DIR, 'obj');
  fs.mkdirSync(objDir, { recursive: true });
  const headers = headersDigest();
  const fuzzerFlag = (link) => (link ? '-fsanitize=fuzzer' : '-fsanitize=fuzzer-no-link');
  const compiles = [];
  const addCompile = (src, obj, extra) => {
    const args = [...CXXFLAGS, ...extra, fuzzerFlag(false), '-c', src, '-o', obj];
    compiles.push({ src, out: obj, args });
  };
  for (const k of KERNEL_SOURCES) addCompile(path.join(KERNEL_DIR, `${k}.cc`), path.join(objDir, `${k}.o`), []);
  if (IS_X64) for (const k of AVX2_SOURCES) addCompile(path.join(KERNEL_DIR, `${k}.cc`), path.join(objDir, `${k}.o`), ['-mavx2', '-mfma']);
  for (const h of harnesses) addCompile(path.join(FUZZ_DIR, `${h}_fuzz.cc`), path.join(objDir, `${h}_fuzz.o`), []);

  const stale = (job) => {
    const digest = crypto.createHash('sha256').update(cxx).update(job.args.join('\0')).update(headers);
    for (const s of job.inputs || [job.src]) digest.update(fs.readFileSync(s));
    job.digest = digest.digest('hex');
    const stamp = `${job.out}.stamp`;
    return !(fs.existsSync(job.out) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === job.digest);
  };
  const runJobs = async (list, label) => {
    const todo = list.filter(stale);
    let failed = null;
    let next = 0;
    const worker = async () => {
      while (next < todo.length && !failed) {
        const job = todo[next++];
        console.log(`  ${label} ${path.relative(ROOT, job.src || job.out)}`);
        const r = await run(cxx, job.args);
        if (r.code !== 0) {
          failed = { job, out: r.out };
          return;
        }
        if (r.out.trim()) process.stdout.write(r.out);
        fs.writeFileSync(`${job.out}.stamp`, job.digest);
      }
    };
    await Promise.all(Array.from({ length: Math.min(jobs, todo.length) }, worker));
    if (failed) {
      console.error(`fuzz: build failed: ${cxx} ${failed.job.args.join(' ')}\n${failed.out}`);
      process.exit(1);
    }
  };
  await runJobs(compiles, 'compile');

  const kernelObjs = [...KERNEL_SOURCES, ...(IS_X64 ? AVX2_SOURCES : [])].map((k) => path.join(objDir, `${k}.o`));
  const links = harnesses.map((h) => {
    const out = path.join(BUILD_DIR, `${h}_fuzz`);
    const objs = [path.join(objDir, `${h}_fuzz.o`), ...kernelObjs];
    return { out, inputs: objs, args: [...SANITIZE, fuzzerFlag(true), ...objs, '-o', out] };
  });
  await runJobs(links, 'link');
}

// ---- the runs ----------------------------------------------------------------------------------

function copyDir(from, to) {
  fs.mkdirSync(to, { recursive: true });
  if (!fs.existsSync(from)) return 0;
  let n = 0;
  for (const f of fs.readdirSync(from)) {
    fs.copyFileSync(path.join(from, f), path.join(to, f));
    n++;
  }
  return n;
}

function fuzzOne(harness, opts) {
  return new Promise((resolve) => {
    const work = fs.mkdtempSync(path.join(os.tmpdir(), `tg-fuzz-${harness}-`));
    const corpus = path.join(work, 'corpus');
    const artifacts = path.join(work, 'artifacts');
    fs.mkdirSync(artifacts);
    const seeds = copyDir(path.join(CORPUS_DIR, harness), corpus);
    const logPath = path.join(work, 'fuzz.log');
    const bin = path.join(BUILD_DIR, `${harness}_fuzz`);
    const args = [
      `-max_total_time=${opts.seconds}`,
      `-max_len=${opts.maxLen}`,
      '-timeout=30',
      '-rss_limit_mb=2560',
      '-use_value_profile=1',
      '-print_final_stats=1',
      `-artifact_prefix=${artifacts}/`,
      corpus,
    ];
    const env = {
      ...process.env,
      ASAN_OPTIONS: ['abort_on_error=1', 'detect_leaks=1', 'allocator_may_return_null=0', 'check_initialization_order=1',
        'strict_string_checks=1', 'detect_stack_use_after_return=1', process.env.ASAN_OPTIONS].filter(Boolean).join(':'),
      UBSAN_OPTIONS: ['print_stacktrace=1', 'halt_on_error=1', process.env.UBSAN_OPTIONS].filter(Boolean).join(':'),
    };
    const log = fs.openSync(logPath, 'w');
    const started = Date.now();
    const p = spawn(bin, args, { cwd: work, env, stdio: ['ignore', log, log] });
    p.on('close', (code, signal) => {
      fs.closeSync(log);
      const text = fs.readFileSync(logPath, 'utf8');
      const stat = (name) => {
        const m = text.match(new RegExp(`stat::${name}:\\s+(\\d+)`));
        return m ? Number(m[1]) : null;
      };
      const crashes = fs.readdirSync(artifacts).map((f) => path.join(artifacts, f));
      const report = /==TG-FUZZ==|ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|ERROR: libFuzzer|SUMMARY: /.test(text);
      const ok = code === 0 && !signal && crashes.length === 0 && !report;
      resolve({
        harness,
        ok,
        code,
        signal,
        seconds: (Date.now() - started) / 1000,
        runs: stat('number_of_executed_units'),
        execPerSec: stat('average_exec_per_sec'),
        corpus: fs.readdirSync(corpus).length,
        seeds,
        crashes,
        text,
        work,
        logPath,
      });
    });
  });
}

function tail(text, lines) {
  const all = text.trimEnd().split('\n');
  return all.slice(Math.max(0, all.length - lines)).join('\n');
}

// ---- the seed corpus ---------------------------------------------------------------------------
// Encodings follow native/fuzz/fuzz_input.h: FuzzInput::Range reads a selector byte (< 128: one
// byte follows, < 224: two), Value<T> a kind byte (< 48: special value #kind % 32, 48..79: int8,
// 80..111: price level + int16/256, 112..143: int16 mantissa and exponent, else raw bits), and
// FillSeries a mode byte (% 5: 0 element by element, 1 palette, 2 random walk, 3 constant with
// overrides, 4 sine with NaN holes).

const S = { zero: 0, negZero: 1, one: 2, minusOne: 3, nan: 4, nanPayload: 5, negNaN: 6, inf: 7, negInf: 8, denormMin: 9,
  negDenormMin: 10, min: 11, max: 12, negMax: 13, big: 14, negBig: 15, tiny130: 16, tiny300: 17, fltMax: 18, negFltMax: 19,
  toFltMax: 20, toFltInf: 21, fltMin: 22, fltDenorm: 23, halfFltDenorm: 24, twoP24p1: 25, twoP53p1: 26, tenth: 27,
  hundred: 28, e5: 29, price: 30, e_5: 31 };

function rangeBytes(v) {
  if (v < 256) return [0, v];
  if (v < 65536) return [128, v & 255, v >> 8];
  throw new Error(`range value ${v} too large for a seed`);
}
const special = (name) => [S[name]];
const int8 = (v) => [48, v & 255];
const price = (level, frac) => [80, level, frac & 255, (frac >> 8) & 255];
function rawF64(x) {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return [200, ...b];
}
function rawF32(x) {
  const b = Buffer.alloc(4);
  b.writeFloatLE(x);
  return [200, ...b];
}
const u16 = (v) => [v & 255, (v >> 8) & 255];

// Series bodies (after the header), for element type 'f32' or 'f64'.
function seriesSeeds(raw) {
  const all = ['nan', 'nanPayload', 'negNaN', 'inf', 'negInf', 'zero', 'negZero', 'denormMin', 'negDenormMin', 'max', 'negMax',
    'fltMax', 'toFltMax', 'toFltInf', 'fltDenorm', 'tiny130', 'twoP24p1', 'twoP53p1', 'one'];
  return {
    specials: [0, ...all.flatMap(special)],
    prices: [0, ...[0, 1, 2, 3, 4, 5, 6, 7, 8, 9].flatMap((i) => price(1, i * 977)), ...special('nan'), ...price(1, 300)],
    raw: [0, ...[1e308, -1e308, 3.4e38, 1e-310, -0, 5e-324, 123456.789, NaN, Infinity].flatMap(raw)],
    palette: [1, 4, ...special('nan'), ...price(1, 5), ...price(1, 6), ...special('inf'), 1, 0, 1, 2, 3, 0, 0, 0, 1, 1, 1, 1, 2],
    walk: [2, 3, ...price(0, 0), ...int8(1), ...int8(2), ...int8(-1), ...u16(0x1234), 0, 0, 0, 0, 0, 0, ...u16(40), ...special('nan'),
      ...u16(1000), ...special('inf')],
    flatNaNRuns: [3, ...special('hundred'), ...u16(10), 64, ...special('nan'), ...u16(200), 3, ...special('negZero'), ...u16(1030), 69,
      ...special('nan')],
    holes: [4, ...price(1, 0), ...special('one'), 1, 0, 1],
    huge: [1, 3, ...special('max'), ...special('negMax'), ...special('big'), 0, 1, 2, 1, 0, 2],
    tiny: [1, 3, ...special('denormMin'), ...special('tiny300'), ...special('negDenormMin'), 0, 1, 2, 2, 1, 0],
  };
}

function writeCorpus() {
  const seeds = {};
  const put = (harness, name, bytes) => ((seeds[harness] ||= {})[name] = Buffer.from(bytes));
  const s64 = seriesSeeds(rawF64);
  const s32 = seriesSeeds(rawF32);
  // scan: flags (bit 0 f64, rows = 1 + (flags >> 1) % 4), cols, offset, bounds mode [, lo, hi], series.
  for (const [name, body] of Object.entries(s64)) put('scan', `f64-${name}`, [1, ...rangeBytes(name === 'specials' || name === 'raw' ? 19 : 1500), 1, 0, ...body]);
  for (const [name, body] of Object.entries(s32)) put('scan', `f32-${name}`, [0, ...rangeBytes(name === 'specials' || name === 'raw' ? 19 : 2100), 3, 0, ...body]);
  put('scan', 'f64-bounds-rows', [1 | (2 << 1), ...rangeBytes(700), 2, 2, ...price(1, 0), ...price(1, 600), ...s64.walk]);
  put('scan', 'f32-bounds-outside-float', [0, ...rangeBytes(200), 5, 3, ...rawF64(3.5e38), ...rawF64(1e39), ...s32.huge]);
  put('scan', 'f32-block-boundary', [0, ...rangeBytes(4097), 7, 0, ...s32.holes]);
  // transform: flags (bit 0 f64, rows = 1 + (flags >> 1) % 3, paramMode = flags >> 3), cols, 6 parameter values, offset, series.
  const params = [...special('zero'), ...special('one'), ...price(1, 0), ...special('tenth'), ...special('big'), ...special('denormMin')];
  for (const [name, body] of Object.entries(s64)) put('transform', `f64-${name}`, [1, ...rangeBytes(name === 'specials' ? 19 : 333), ...params, 1, ...body]);
  for (const [name, body] of Object.entries(s32)) put('transform', `f32-${name}`, [0, ...rangeBytes(name === 'specials' ? 19 : 333), ...params, 5, ...body]);
  put('transform', 'f32-given-params', [0 | (1 << 3), ...rangeBytes(100), ...params, 2, ...s32.prices]);
  put('transform', 'f64-given-params-any', [1 | (2 << 1) | (1 << 3), ...rangeBytes(90), ...params, 3, ...s64.huge]);
  // convert: flags (rows = 1 + flags % 3), cols, offset, series (float64).
  for (const [name, body] of Object.entries(s64)) put('convert', name, [0, ...rangeBytes(name === 'specials' || name === 'raw' ? 19 : 777), 1, ...body]);
  put('convert', 'rows-edge', [2, ...rangeBytes(41), 3, 0, ...[3.4028235677973366e38, 3.4028235677973367e38, -3.4028235677973367e38,
    7.006492321624085e-46, 7.006492321624087e-46, 1.1754942106924411e-38, 16777217, 0.1].flatMap(rawF64)]);
  // impute: flags (bit 0 f64, bit 1 linear, rows = 1 + (flags >> 2) % 3), cols, offset, series.
  for (const [name, body] of Object.entries(s64)) put('impute', `f64-linear-${name}`, [3, ...rangeBytes(name === 'specials' || name === 'raw' ? 19 : 300), 1, ...body]);
  for (const [name, body] of Object.entries(s32)) put('impute', `f32-ffill-${name}`, [0, ...rangeBytes(name === 'specials' || name === 'raw' ? 19 : 300), 3, ...body]);
  put('impute', 'f64-linear-wide', [3, ...rangeBytes(6), 0, 0, ...[NaN, -1e308, NaN, NaN, 1e308, NaN].flatMap(rawF64)]);
  put('impute', 'f32-all-nan', [2 | (1 << 2), ...rangeBytes(20), 0, 3, ...special('nan')]);
  // quantiles: flags (bit 0 replace, bit 1 repair first), levels, steps, median, offset, maxDev mode [, value],
  // mean bytes length, mean series, quantile series.
  const q9 = (vals) => [0, ...vals.flatMap(rawF32)];
  put('quantiles', 'sorted-9', [3, 8, ...rangeBytes(2), 4, 0, 2, ...special('one'), 11, 0, ...[5, 6].flatMap(rawF32),
    ...q9([1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9])]);
  put('quantiles', 'crossed-9', [3, 8, ...rangeBytes(3), 4, 1, 1, 16, 0, ...[5, NaN, 100].flatMap(rawF32),
    ...q9([9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 2, NaN, 4, 5, 6, 7, 8, 9, 0, -0, 0, -0, 1, 1, -1, 3, 2])]);
  put('quantiles', 'zeros-inf', [1, 3, ...rangeBytes(4), 2, 2, 0, 2, 3, ...special('negZero'),
    ...q9([0, -0, 0, -0, 1e38, -1e38, Infinity, 0, -Infinity, 3, 2, 1, 5e-45, -5e-45, 0, 1])]);
  put('quantiles', 'many-steps', [2, 8, ...rangeBytes(300), 4, 5, 2, ...price(1, 7), 10, 1, 2, ...special('hundred'), ...price(1, 0),
    ...[1, 2, 2, 3, 1, 0, 4, 4, 5, 7, 6].map((b) => b)]);
  put('quantiles', 'one-level', [1, 0, ...rangeBytes(50), 0, 0, 1, 2, 4, ...special('nan'), 1, 0, ...s32.palette]);
  // forecast_check: flags (bit 0 clamp, bit 1 mean, batch = 1 + (flags >> 2) % 4), levels, horizon - 1, median,
  // offset, k, 4 anchors per row, quantile series.
  const anchors = (last, sigma, min, max) => [last, sigma, min, max].flatMap(rawF64);
  put('forecast_check', 'plausible', [3, 8, ...rangeBytes(1), 4, 0, ...rawF64(4), ...anchors(100, 1, 90, 110),
    ...q9([95, 96, 97, 98, 100, 102, 103, 104, 105, 96, 97, 98, 99, 101, 102, 103, 104, 106])]);
  put('forecast_check', 'crossed-and-absurd', [3, 8, ...rangeBytes(1), 4, 1, ...rawF64(3), ...anchors(100, 1, 90, 110),
    ...q9([1e6, 2e6, 3e6, 4e6, 5e6, 6e6, 7e6, 8e6, 9e6, 9, 8, 7, 6, 5, 4, 3, 2, 1])]);
  // A median far below a span near +3e38: the shift up overflows float32 (issue 10, finding 10).
  put('forecast_check', 'clamp-overflow', [1, 8, ...rangeBytes(0), 4, 2, ...rawF64(4), ...anchors(3e38, 1, 3e38, 3e38),
    ...q9([-3.4e38, -3.3e38, -3.2e38, -3.1e38, -3e38, 1e38, 2e38, 3e38, 3.4e38])]);
  put('forecast_check', 'unanchored-and-nan', [3 | (1 << 2), 4, ...rangeBytes(2), 2, 3, ...rawF64(2), ...anchors(NaN, 1, 0, 1),
    ...anchors(5, NaN, Infinity, -Infinity), ...q9([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])]);
  put('forecast_check', 'nonfinite', [3, 8, ...rangeBytes(1), 4, 0, ...rawF64(4), ...anchors(100, 1, 90, 110),
    ...q9([1, 2, 3, NaN, 5, 6, 7, 8, 9, 9, 8, 7, 6, 5, 4, 3, 2, Infinity])]);
  put('forecast_check', 'walk-batch', [1 | (3 << 2), 8, ...rangeBytes(31), 4, 5, ...special('one'),
    ...[0, 1, 2, 3].flatMap((i) => anchors(100 + i, 0.5, 95, 105)), ...s32.walk]);
  // recent: flags (bit 0 f64), n, offset, series.
  for (const [name, body] of Object.entries(s64)) put('recent', `f64-${name}`, [1, ...rangeBytes(name === 'specials' || name === 'raw' ? 19 : 600), 2, ...body]);
  for (const [name, body] of Object.entries(s32)) put('recent', `f32-${name}`, [0, ...rangeBytes(name === 'specials' || name === 'raw' ? 19 : 300), 5, ...body]);
  put('recent', 'f32-flat-then-spike', [0, ...rangeBytes(512), 0, 3, ...special('hundred'), ...u16(511), 0, ...price(1, 2000)]);
  put('recent', 'f64-long-nan-tail', [1, ...rangeBytes(700), 1, 3, ...special('nan'), ...u16(10), 5, ...price(1, 0)]);

  for (const [harness, files] of Object.entries(seeds)) {
    const dir = path.join(CORPUS_DIR, harness);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes);
    console.log(`  ${path.relative(ROOT, dir)}: ${Object.keys(files).length} seeds`);
  }
}

// ---- main --------------------------------------------------------------------------------------

/** Prints one harness's outcome as it finishes; keeps its reproducers when it failed. */
function report(r, opts) {
  const h = r.harness;
  console.log(`fuzz: ${h}_fuzz ${r.ok ? `ok: ${r.runs ?? '?'} runs (${r.execPerSec ?? '?'}/s), corpus ${r.seeds} -> ${r.corpus}` : 'FAILED'}`);
  if (!r.ok) {
    console.log(tail(r.text, 60));
    const keep = path.join(BUILD_DIR, 'artifacts', h);
    fs.mkdirSync(keep, { recursive: true });
    for (const c of r.crashes) {
      const dest = path.join(keep, path.basename(c));
      fs.copyFileSync(c, dest);
      console.log(`fuzz: reproducer: ${path.relative(ROOT, dest)}\n      replay: ${path.relative(ROOT, path.join(BUILD_DIR, `${h}_fuzz`))} ${path.relative(ROOT, dest)}`);
    }
    if (!r.crashes.length) console.log(`fuzz: no reproducer was written (exit ${r.code}${r.signal ? `, signal ${r.signal}` : ''}); log: ${r.logPath}`);
  }
  if (r.ok && !opts.keep) fs.rmSync(r.work, { recursive: true, force: true });
  else console.log(`fuzz: work directory kept: ${r.work}`);
  return r;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.writeCorpus) {
    console.log('writing the seed corpus');
    writeCorpus();
    if (!opts.buildOnly && opts.only.length === 0) return;
  }
  const harnesses = opts.only.length ? [...new Set(opts.only)] : HARNESSES;
  const { cxx, version } = findClang();
  checkFuzzerRuntime(cxx);
  console.log(`fuzz: building ${harnesses.length} harness(es) with ${cxx} (${version}) into ${path.relative(ROOT, BUILD_DIR)}/`);
  await build(cxx, harnesses, opts.jobs);
  if (opts.buildOnly) return;

  // One fuzzer per core at a time (--jobs): each is single-threaded and gets its full --seconds.
  const results = [];
  const queue = [...harnesses];
  console.log(`fuzz: ${harnesses.length} harness(es), ${opts.seconds} s each, ${Math.min(opts.jobs, harnesses.length)} at a time`);
  const worker = async () => {
    for (let h = queue.shift(); h !== undefined; h = queue.shift()) results.push(report(await fuzzOne(h, opts), opts));
  };
  await Promise.all(Array.from({ length: Math.min(opts.jobs, harnesses.length) }, worker));
  results.sort((a, b) => harnesses.indexOf(a.harness) - harnesses.indexOf(b.harness));
  console.log(`\n${'harness'.padEnd(21)}${'seconds'.padStart(8)}${'runs'.padStart(11)}${'exec/s'.padStart(9)}${'corpus'.padStart(13)}  result`);
  for (const r of results) {
    console.log(`${`${r.harness}_fuzz`.padEnd(21)}${r.seconds.toFixed(1).padStart(8)}${String(r.runs ?? '?').padStart(11)}` +
      `${String(r.execPerSec ?? '?').padStart(9)}${`${r.seeds} -> ${r.corpus}`.padStart(13)}  ${r.ok ? 'ok' : 'FAILED'}`);
  }
  const failed = results.filter((r) => !r.ok);
  if (failed.length) {
    console.error(`\nfuzz: ${failed.length} harness(es) failed: ${failed.map((r) => r.harness).join(', ')}`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
