// The guarded forecast against the unguarded model at a batch size given on the command line:
// TiRexGuardian.safeForecast and safeForecastAsync (staging profile: every shield on, the audit
// hand-off included, an in-memory audit log) versus onnxruntime-node's `await session.run` of the
// same flat [B, 2048] tensor, the shipped model, horizon 32, one thread each. The batch is passed
// three ways: one flat Float32Array with `batch`, an array of B rows, and ragged rows (lengths
// 2048 down to 1664, left-padded by the guardian). All tasks alternate in rounds in one process.
// Beside each guarded task: the shields per series (each call's total minus its model time,
// divided by the batch), and one native scan of one series in the regime the shields run in
// (right after a model run of the same batch).
import fs from 'node:fs';
import path from 'node:path';

import { emit, lib, machine, measureRounds, require, roundRatios, summarizeSamples } from '../harness.mjs';

const B = Number(process.argv[2] ?? 1);
const T = 2048;
const H = 32;
const rounds = Number(process.env.TG_BENCH_ROUNDS ?? 8);
const perRoundMs = Number(process.env.TG_BENCH_ROUND_MS ?? (B >= 64 ? 1500 : 500));

// B real series: windows of Brent and of the eight daily exchange rates, at different offsets.
const sources = [lib.readCsvColumn(path.resolve('data/brent-daily.csv'), 'Price').values];
for (let c = 0; c < 8; c++) sources.push(lib.readCsvColumn(path.resolve('data/fx-daily-8.csv'), c, { header: false }).values);
const flat = new Float32Array(B * T);
const rows = [];
const ragged = [];
for (let b = 0; b < B; b++) {
  const src = sources[b % sources.length];
  const offset = src.length - T - ((Math.floor(b / sources.length) * 97) % (src.length - T));
  const row = Float32Array.from(src.subarray(offset, offset + T));
  flat.set(row, b * T);
  rows.push(row);
  ragged.push(row.slice((b % 4) * 128));
}

const guardian = new lib.TiRexGuardian({
  profile: 'staging',
  session: { intraOpThreads: 1, interOpThreads: 1 },
  audit: { signingKey: 'b'.repeat(32), durability: 'memory' },
});
const ort = require('onnxruntime-node');
const ortSession = await ort.InferenceSession.create(fs.readFileSync(guardian.session.manifest.modelPath), {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
});
const patch = new Float32Array(guardian.session.outputLength(B));
const tensor = new ort.Tensor('float32', flat, [B, T]);
const req = (context, batch) => ({ context, predictionLength: H, userId: 'bench', ...(batch ? { batch } : {}) });
const flatReq = req(flat, B > 1 ? B : undefined);
const rowsReq = req(rows);
const raggedReq = req(ragged);

// Every series must be served by the model, or the comparison measures fallbacks.
for (const [what, r] of [['flat', flatReq], ['rows', rowsReq], ['ragged', raggedReq]]) {
  const res = guardian.safeForecast(r);
  const notOk = res.series.filter((s) => s.status !== 'ok').length;
  if (notOk > 0) throw new Error(`${what}: ${notOk} of ${B} series not ok: ${res.reason}`);
}

// Shields per series: each guarded call's own split, per series.
const shieldUs = new Map();
const perSeries = (name) => {
  shieldUs.set(name, []);
  return (r) => shieldUs.get(name).push((r.timings.shieldsUs * 1000) / B);
};
// The audit hand-off is drained on the next tick in a service; a sync loop never yields, so the
// sync tasks drain after each call, outside their timing, as a service's event loop would between
// calls (its cost is the audit scenario's; what it evicts from the caches is paid here). The async
// tasks' drains run while the next call's model runs.
const sync = (name, request) => ({
  name,
  fn: () => guardian.safeForecast(request),
  onResult: (r) => {
    collect.get(name)(r);
    guardian.drainAudit();
  },
});
const asyncTask = (name, request) => ({ name, async: true, fn: () => guardian.safeForecastAsync(request), onResult: (r) => collect.get(name)(r) });
const collect = new Map();
const modelTasks = 3;
const tasks = [
  { name: 'onnxruntime-node await session.run (unguarded, flat [B, T])', async: true, fn: () => ortSession.run({ context: tensor }) },
  // The model alone through this package, on this thread and on the pool: their difference is
  // the thread-pool hop (shown, not subtracted from anything).
  { name: 'model alone: session.runSync', fn: () => guardian.session.runSync(flat, B, patch) },
  { name: 'model alone: await session.run', async: true, fn: () => guardian.session.run(flat, B, { output: patch }) },
  sync('safeForecast, flat', flatReq),
  asyncTask('safeForecastAsync, flat', flatReq),
];
if (B > 1) {
  tasks.push(sync('safeForecast, array of rows', rowsReq), asyncTask('safeForecastAsync, array of rows', rowsReq));
  tasks.push(sync('safeForecast, ragged rows', raggedReq), asyncTask('safeForecastAsync, ragged rows', raggedReq));
}
for (const t of tasks.slice(modelTasks)) collect.set(t.name, perSeries(t.name));
const results = await measureRounds(tasks, { rounds, perRoundMs });

// One native scan of one series right after a model run of the whole batch (the shields' regime).
const scanOut = lib.scanBuffer(1);
const scanSamples = [];
const scanRuns = Math.max(200, Math.min(4000, Math.round(4e5 / B)));
for (let i = 0; i < scanRuns; i++) {
  guardian.session.runSync(flat, B, patch);
  const row = rows[i % B];
  const t = performance.now();
  lib.scanInto(row, scanOut, 1, -1e6, 1e6);
  scanSamples.push((performance.now() - t) * 1e6);
}
const scan = summarizeSamples('native scan of one series (right after a model run of the batch)', scanSamples.slice(Math.floor(scanRuns / 10)));

const ortP50 = results[0].p50Ns;
const ratios = {};
const figures = {};
const shieldTasks = [];
for (const r of results.slice(modelTasks)) {
  const key = r.name.replace(/[^a-zA-Z]+(.)/g, (_, c) => c.toUpperCase()).replace(/^./, (c) => c.toLowerCase());
  ratios[`${key}VsOnnxruntimeNode`] = r.p50Ns / ortP50;
  // The same ratio round by round (each round's p50s): how much of it is the machine's noise.
  const rr = roundRatios(r, results[0]);
  figures[`${key}VsOnnxruntimeNode, round by round: median [lowest, highest]`] = `${rr.median.toFixed(2)}x [${rr.min.toFixed(2)}, ${rr.max.toFixed(2)}]`;
  const s = summarizeSamples(`shields per series: ${r.name}`, shieldUs.get(r.name));
  shieldTasks.push(s);
  ratios[`${key}ShieldsPerSeriesVsOneScan`] = s.p50Ns / scan.p50Ns;
}
emit({
  scenario: `guarded-b${B}-t${T}-h${H}`,
  machine: machine(),
  tasks: [...results.map(({ roundP50s, ...t }) => t), ...shieldTasks, scan],
  ratios: {
    ...ratios,
    threadPoolHopOfTheModelAlone: results[2].p50Ns / results[1].p50Ns,
  },
  figures,
});
await guardian.close();
