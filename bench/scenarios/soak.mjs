// Soak: 1,000,000 sync and 100,000 async guarded calls (TG_SOAK_SYNC / TG_SOAK_ASYNC to change)
// with audit to a file (fsync per batch), mixed clean and hostile inputs (Inf, NaN floods, a
// batch with a corrupt row, caller errors), async calls eight at a time with budgets that
// sometimes expire (timed runs overlapping). RSS, heap, open descriptors and active handles are
// read after a warm-up and at the end: growth means a leak.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { emit, lib, machine } from '../harness.mjs';

const SYNC = Number(process.env.TG_SOAK_SYNC ?? 1_000_000);
const ASYNC = Number(process.env.TG_SOAK_ASYNC ?? 100_000);
const WARMUP = Math.min(20_000, SYNC / 10);
const T = 256;
const brent = lib.readCsvColumn(path.resolve('data/brent-daily.csv'), 'Price').values;
const clean = Float32Array.from(brent.subarray(brent.length - T));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-soak-'));
const guardian = new lib.TiRexGuardian({
  profile: 'staging',
  audit: { signingKey: 's'.repeat(32), dir, segmentBytes: 64 * 2 ** 20 },
  // A breaker that stays closed: the expired budgets below would open it, and then no call would
  // reach the model (the soak must run the model a million times).
  breaker: { minimumCalls: 1_000_000, consecutiveFailures: 1_000_000 },
});

// The mix: mostly clean, the rest each kind of trouble a live feed or a caller can bring.
const withInf = clean.slice();
withInf[100] = Infinity;
const nanFlood = clean.slice().fill(NaN, 0, T - 8);
const inputs = [
  ...Array(14).fill({ context: clean, predictionLength: 32, userId: 'desk-1' }),
  { context: withInf, predictionLength: 32, userId: 'desk-2' },
  { context: nanFlood, predictionLength: 16, userId: 'desk-3' },
  { context: [clean, withInf, clean], predictionLength: 32, userId: 'desk-4' },
  { context: Array.from(clean), predictionLength: 64, userId: 'desk-5' },
  { context: clean, predictionLength: 9999, userId: 'desk-6' }, // caller error: horizon
  { context: clean, predictionLength: 32, userId: '' }, // caller error: empty id
];

const counts = { ok: 0, corrected: 0, fallback: 0, blocked: 0, error: 0 };
function call(i) {
  try {
    counts[guardian.safeForecast(inputs[i % inputs.length]).status]++;
  } catch (err) {
    if (!err.code) throw err;
    counts.error++;
  }
}

function resources() {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return {
    rssMiB: m.rss / 2 ** 20,
    heapUsedMiB: m.heapUsed / 2 ** 20,
    externalMiB: m.external / 2 ** 20,
    fds: fs.readdirSync('/proc/self/fd').length,
    handles: process.getActiveResourcesInfo().length,
  };
}

async function syncPhase(from, to) {
  for (let i = from; i < to; i++) {
    call(i);
    // Yield now and then: the audit hand-off and writer work on the event loop.
    if (i % 2000 === 1999) await new Promise((r) => setImmediate(r));
  }
}

async function asyncPhase(n) {
  let next = 0;
  async function lane() {
    while (next < n) {
      const i = next++;
      // Budgets around the model's own run time: some expire before it runs, some while it runs
      // (the watchdog terminates it), most are met.
      const timeoutMs = i % 10 === 0 ? 0.02 : i % 10 === 1 ? 0.05 + Math.random() * 0.3 : 20;
      try {
        counts[(await guardian.safeForecastAsync(inputs[i % inputs.length], { timeoutMs })).status]++;
      } catch (err) {
        if (!err.code) throw err;
        counts.error++;
      }
    }
  }
  await Promise.all(Array.from({ length: 8 }, lane));
}

const t0 = performance.now();
// Warm-up of both phases (the thread pool and the async paths' first use are not growth).
await syncPhase(0, WARMUP);
await asyncPhase(Math.min(2000, ASYNC));
await guardian.flushAudit();
const start = resources();
const tWarm = performance.now();
await syncPhase(WARMUP, SYNC);
const syncDone = performance.now();
await asyncPhase(ASYNC);
await guardian.flushAudit();
const end = resources();
const elapsedS = (performance.now() - t0) / 1000;
const deadlines = guardian.stats().deadlines;
const calls = guardian.stats().calls;
await guardian.close();
const logBytes = fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
fs.rmSync(dir, { recursive: true, force: true });
const rounded = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v * 10) / 10]));
emit({
  scenario: 'soak-guardian',
  machine: machine(),
  tasks: [],
  ratios: {},
  figures: {
    'calls (sync + async)': calls,
    'statuses ok / corrected / fallback / blocked / error': `${counts.ok} / ${counts.corrected} / ${counts.fallback} / ${counts.blocked} / ${counts.error}`,
    'async deadlines expired / late results discarded': `${deadlines.expired} / ${deadlines.lateDiscarded + (deadlines.lateModelResults ?? 0)}`,
    'sync calls per second': Math.round((SYNC - WARMUP) / ((syncDone - tWarm) / 1000)),
    'elapsed (s)': elapsedS.toFixed(0),
    'audit log written (MiB)': (logBytes / 2 ** 20).toFixed(0),
    'after warm-up: RSS MiB / heap MiB / external MiB / fds / handles': Object.values(rounded(start)).join(' / '),
    'at the end: RSS MiB / heap MiB / external MiB / fds / handles': Object.values(rounded(end)).join(' / '),
    'RSS growth after warm-up (MiB)': (end.rssMiB - start.rssMiB).toFixed(1),
    'descriptor / handle growth': `${end.fds - start.fds} / ${end.handles - start.handles}`,
  },
});
