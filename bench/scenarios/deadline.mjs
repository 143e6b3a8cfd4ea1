// Deadline slack of safeForecastAsync with both cores busy: how long after its deadline does a
// call settle? Calls run four at a time (four model runs on two cores: both busy with the
// guardian's own work) with budgets drawn around the model's own run time (some expire, some do
// not) on the shipped model, and with short budgets on the slow fixture model (all expire while
// ONNX Runtime is still computing); `node deadline.mjs N` adds N busy-looping processes on top.
// Slack = settle time - (call time + timeoutMs), for the calls that expired. Baseline in the
// same run and load: how late Node's own setTimeout fires.
import { spawn } from 'node:child_process';
import path from 'node:path';

import { emit, lib, machine } from '../harness.mjs';

const T = 512;
const H = 32;
const CALLS = Number(process.env.TG_BENCH_DEADLINE_CALLS ?? 4000);
const brent = lib.readCsvColumn(path.resolve('data/brent-daily.csv'), 'Price').values;
const context = Float32Array.from(brent.subarray(brent.length - T));
const request = { context, predictionLength: H, userId: 'bench' };

const EXPIRED = new Set(['the model timed out', 'the deadline passed before the model could run']);

function guardianOn(model) {
  // A breaker that never opens: every call must reach its deadline, none is answered early.
  const breaker = { minimumCalls: 1_000_000, consecutiveFailures: 1_000_000 };
  return new lib.TiRexGuardian({ profile: 'development', fallbackStrategy: 'graceful', breaker, ...(model ? { model } : {}) });
}

// The load: one busy process per core, for the whole measurement.
const HOGS = Number(process.argv[2] ?? machine().cores);
const hogs = Array.from({ length: HOGS }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const stopHogs = () => hogs.forEach((h) => h.kill('SIGKILL'));
process.on('exit', stopHogs);

/** Runs `n` calls, `concurrency` at a time; budgets from `budget()`; returns per-call outcomes. */
async function run(guardian, n, concurrency, budget) {
  const out = [];
  let next = 0;
  async function lane() {
    while (next < n) {
      next++;
      const timeoutMs = budget();
      const t0 = performance.now();
      const r = await guardian.safeForecastAsync(request, { timeoutMs });
      const settled = performance.now();
      out.push({ slackMs: settled - (t0 + timeoutMs), timedOut: EXPIRED.has(r.reason), status: r.status });
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  return out;
}

async function timerLateness(guardian, n) {
  const lateness = [];
  const busy = run(guardian, n, 4, () => 50); // the same model load, untimed
  for (let i = 0; i < n; i++) {
    const ms = 1 + Math.floor(Math.random() * 5);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, ms));
    lateness.push(performance.now() - t0 - ms);
  }
  await busy;
  return {
    name: 'baseline: setTimeout(1-5 ms) lateness under the same load',
    calls: n,
    p50Ns: pct(lateness, 50) * 1e6,
    p99Ns: pct(lateness, 99) * 1e6,
    meanNs: (lateness.reduce((a, b) => a + b, 0) / n) * 1e6,
    maxNs: Math.max(...lateness) * 1e6,
  };
}

function pct(xs, p) {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

function summarize(name, outcomes) {
  const expired = outcomes.filter((o) => o.timedOut).map((o) => o.slackMs);
  // Served by the model: decided before the deadline (the guardian checks the clock when the
  // result arrives), settled a few microseconds later at most once the output shield has run.
  const servedLate = outcomes.filter((o) => !o.timedOut && o.slackMs > 0).map((o) => o.slackMs);
  return {
    name,
    calls: outcomes.length,
    expired: expired.length,
    servedAfterDeadline: servedLate.length,
    servedAfterDeadlineMaxNs: Math.max(0, ...servedLate) * 1e6,
    p50Ns: pct(expired, 50) * 1e6,
    p99Ns: pct(expired, 99) * 1e6,
    meanNs: (expired.reduce((a, b) => a + b, 0) / Math.max(expired.length, 1)) * 1e6,
    maxNs: Math.max(0, ...expired) * 1e6,
  };
}

// Warm up both guardians before the load starts measuring.
const fast = guardianOn(null);
const slow = guardianOn(path.resolve('test/fixtures/models/slow.json'));
await run(fast, 200, 4, () => 50);
await new Promise((r) => setTimeout(r, 500)); // the hogs are up and running
const model = summarize(`shipped model, T=${T}, budgets 0.05-1 ms, 4 in flight`, await run(fast, CALLS, 4, () => 0.05 + Math.random() * 0.95));
const slowRuns = summarize('slow fixture model, budgets 1-5 ms, 4 in flight', await run(slow, Math.round(CALLS / 4), 4, () => 1 + Math.random() * 4));
// The platform's own floor in the same conditions: how late does Node's event loop run a plain
// setTimeout (libuv timer, millisecond resolution) of 1-5 ms while the same model runs load it?
const timers = await timerLateness(fast, Math.round(CALLS / 4));
stopHogs();
const stats = fast.stats().deadlines;
await fast.close();
await slow.close();
emit({
  scenario: `deadline-async-slack-${HOGS}-hogs`,
  machine: machine(),
  tasks: [model, slowRuns, timers],
  ratios: {
    slackP99VsTimerLatenessP99: model.p99Ns / timers.p99Ns,
  },
  figures: {
    'p99 slack after the deadline, shipped model (ms)': (model.p99Ns / 1e6).toFixed(3),
    'p99 slack after the deadline, slow model (ms)': (slowRuns.p99Ns / 1e6).toFixed(3),
    'max slack, either model (ms)': (Math.max(model.maxNs, slowRuns.maxNs) / 1e6).toFixed(3),
    'model results settled after their deadline (decided before it) / the latest (ms)': `${model.servedAfterDeadline + slowRuns.servedAfterDeadline} / ${(Math.max(model.servedAfterDeadlineMaxNs, slowRuns.servedAfterDeadlineMaxNs) / 1e6).toFixed(3)}`,
    'late model results discarded (shipped model)': stats.lateDiscarded + (stats.lateModelResults ?? 0),
  },
});
process.exit(0);
