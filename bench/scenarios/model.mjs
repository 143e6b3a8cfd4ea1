// The shipped default model (models/tirex-guardian-default.onnx): single-thread CPU latency of
// one forecast patch at batch 1, context 2048, through runSync and through onnxruntime-node, and,
// when models/v1/ holds the version it replaces, against that one in the same run (issue 17: a
// version 2 at most 1.2x version 1).
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

const v1Path = path.resolve('models/v1/tirex-guardian-default.json');
const v1 = fs.existsSync(v1Path) ? lib.ModelSession.load(v1Path, { intraOpThreads: 1, interOpThreads: 1 }) : null;

const sync = await measure(`default model ${session.manifest.version} runSync (1 thread)`, () => session.runSync(input, 1, output), { reps: 20, time: 3000 });
const ortRun = await measure('onnxruntime-node session.run (1 thread)', () => ortSession.run({ context: tensor }), { time: 3000 });
const previous = v1 === null ? null : await measure(`previous version ${v1.manifest.version} runSync (1 thread)`, () => v1.runSync(input, 1, output), { reps: 20, time: 3000 });
// The current version again: the two runs of it bracket the previous one (drift shows).
const again = v1 === null ? null : await measure(`default model ${session.manifest.version} runSync again`, () => session.runSync(input, 1, output), { reps: 20, time: 3000 });
const size = fs.statSync(session.manifest.modelPath).size;
emit({
  scenario: `model-default-t${time}`,
  machine: machine(),
  modelBytes: size,
  tasks: [sync, ortRun, ...(previous ? [previous, again] : [])],
  ratios: {
    syncVsOnnxruntimeNode: sync.p50Ns / ortRun.p50Ns,
    p50VsTarget1500us: sync.p50Ns / 1.5e6,
    ...(previous ? { currentVsPreviousVersion: Math.max(sync.p50Ns, again.p50Ns) / previous.p50Ns } : {}),
  },
});
