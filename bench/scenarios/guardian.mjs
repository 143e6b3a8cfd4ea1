// The guarded forecast against the unguarded model: TiRexGuardian.safeForecast (staging profile:
// every shield on, audit hand-off included, in-memory audit log) versus onnxruntime-node's
// session.run of the same default model, batch 1, context 2048, horizon 32, one thread each.
// Also the shields alone (the guarded call's time minus its model time) against one native scan
// of the same context.
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
const scan = await measure('native scan of the same context', () => lib.scanInto(context, out, 1, -1e6, 1e6), { reps: 1000, time: 1500 });
shieldSamples.sort((a, b) => a - b);
const pct = (p) => shieldSamples[Math.min(shieldSamples.length - 1, Math.floor((p / 100) * shieldSamples.length))];
const shields = { name: 'shields alone (total - model time, per call)', reps: 1, samples: shieldSamples.length, meanNs: shieldSamples.reduce((a, b) => a + b, 0) / shieldSamples.length, p50Ns: pct(50), p99Ns: pct(99) };
emit({
  scenario: `guardian-t${T}-h${H}`,
  machine: machine(),
  tasks: [guarded, ortRun, shields, scan],
  ratios: {
    guardedVsUnguardedOrtNode: guarded.p50Ns / ortRun.p50Ns,
    shieldsVsOneScan: shields.p50Ns / scan.p50Ns,
  },
});
await guardian.close();
