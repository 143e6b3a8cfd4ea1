// The shipped default model (models/tirex-guardian-default.onnx): single-thread CPU latency of
// one forecast patch at batch 1, context 2048, through runSync and through onnxruntime-node.
import fs from 'node:fs';
import path from 'node:path';

import { emit, lib, machine, measure, require } from '../harness.mjs';

const time = Number(process.argv[2] ?? 2048);
const manifestPath = path.resolve('models/tirex-guardian-default.json');
const session = lib.ModelSession.load(manifestPath, { intraOpThreads: 1, interOpThreads: 1 });
const ort = require('onnxruntime-node');
const ortSession = await ort.InferenceSession.create(fs.readFileSync(session.manifest.modelPath), {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
});
const brent = lib.readCsvColumn(path.resolve('data/brent-daily.csv'), 'Price').values;
const input = Float32Array.from(brent.subarray(brent.length - time));
const output = new Float32Array(session.outputLength(1));
const tensor = new ort.Tensor('float32', input, [1, time]);

const sync = await measure('default model runSync (1 thread)', () => session.runSync(input, 1, output), { reps: 20, time: 3000 });
const ortRun = await measure('onnxruntime-node session.run (1 thread)', () => ortSession.run({ context: tensor }), { time: 3000 });
const size = fs.statSync(session.manifest.modelPath).size;
emit({
  scenario: `model-default-t${time}`,
  machine: machine(),
  modelBytes: size,
  tasks: [sync, ortRun],
  ratios: { syncVsOnnxruntimeNode: sync.p50Ns / ortRun.p50Ns, p50VsTarget1500us: sync.p50Ns / 1.5e6 },
});
