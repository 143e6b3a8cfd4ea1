// The guarded forecast against the unguarded model: TiRexGuardian.safeForecast (staging profile:
// every shield on, audit hand-off included, in-memory audit log) versus onnxruntime-node's
// session.run of the same default model, batch 1, context 2048, horizon 32, one thread each.
// Also the shields alone (the guarded call's time minus its model time) against one native scan
// of the same context, measured twice: in the regime the shields run in (right after a model run)
// and in a hot loop (everything in cache).
import fs from 'node:fs';
import path from 'node:path';

import { emit, lib, machine, measure, require } from '../harness.mjs';

const T = 2048;
const H = 32;
const brent = lib.readCsvColumn(path.resolve('data/brent-daily.csv'), 'Price').values;
const context = Float32Array.from(brent.subarray(brent.length - T));
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
const tensor = new ort.Tensor('float32', context, [1, T]);
const request = { context, predictionLength: H, userId: 'bench' };
const first = guardian.safeForecast(request);
if (first.status !== 'ok') throw new Error(`guarded forecast not ok: ${first.status} ${first.reason}`);

// Shields alone: sample the guarded call's own split (total - model) over many calls.
const shieldSamples = [];
const guarded = await measure('safeForecast (sync, all shields, audit hand-off)', () => {
  const r = guardian.safeForecast(request);
  shieldSamples.push(r.timings.shieldsUs * 1000);
}, { reps: 10, time: 4000 });
const ortRun = await measure('onnxruntime-node session.run (unguarded)', () => ortSession.run({ context: tensor }), { time: 4000 });
const out = lib.scanBuffer(1);
const scan = await measure('native scan of the same context (hot loop)', () => lib.scanInto(context, out, 1, -1e6, 1e6), { reps: 1000, time: 1500 });
// The same scan in the regime the shields run in: right after a run of the same model, which
// evicts the caches the shields' code and data live in (3.6 MB of weights stream through a 512
// KiB L2). Timed like the shields (performance.now() around the call), one sample per model run.
const afterModelSamples = [];
const patch = new Float32Array(guardian.session.outputLength(1));
for (let i = 0; i < 20000; i++) {
  guardian.session.runSync(context, 1, patch);
  const t = performance.now();
  lib.scanInto(context, out, 1, -1e6, 1e6);
  afterModelSamples.push((performance.now() - t) * 1e6);
}
const afterModel = summarize('native scan of the same context (right after a model run)', afterModelSamples.slice(2000));
function summarize(name, samples) {
  const xs = samples.slice().sort((a, b) => a - b);
  const pct = (p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
  return { name, reps: 1, samples: xs.length, meanNs: xs.reduce((a, b) => a + b, 0) / xs.length, p50Ns: pct(50), p99Ns: pct(99) };
}
const shields = summarize('shields alone (total - model time, per call)', shieldSamples);
emit({
  scenario: `guardian-t${T}-h${H}`,
  machine: machine(),
  tasks: [guarded, ortRun, shields, scan, afterModel],
  ratios: {
    guardedVsUnguardedOrtNode: guarded.p50Ns / ortRun.p50Ns,
    shieldsVsOneScanSameRegime: shields.p50Ns / afterModel.p50Ns,
    shieldsVsOneScanHotLoop: shields.p50Ns / scan.p50Ns,
  },
});
await guardian.close();
