// The same small model (test/fixtures/models/quantile-ok.onnx, ~18k multiply-adds per row)
// through this package's session (sync and async) and through onnxruntime-node's
// InferenceSession.run, same thread settings, batch given on the command line.
import fs from 'node:fs';
import path from 'node:path';

import { emit, lib, machine, measure, require } from '../harness.mjs';

const batch = Number(process.argv[2] ?? 1);
const time = Number(process.argv[3] ?? 512);
const manifestPath = path.resolve('test/fixtures/models/quantile-ok.json');
const session = lib.ModelSession.load(manifestPath, { intraOpThreads: 1, interOpThreads: 1, graphOptimizationLevel: 'all' });
const ort = require('onnxruntime-node');
const bytes = fs.readFileSync(session.manifest.modelPath);
const ortSession = await ort.InferenceSession.create(bytes, {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionMode: 'sequential',
  executionProviders: ['cpu'],
});

const input = new Float32Array(batch * time).map((_, i) => 100 + Math.sin(i / 7) + (i % 13) * 0.01);
const output = new Float32Array(session.outputLength(batch));
const tensor = new ort.Tensor('float32', input, [batch, time]);

// Same answers, or the comparison is meaningless.
session.runSync(input, batch, output);
const theirs = (await ortSession.run({ context: tensor })).quantiles.data;
if (theirs.length !== output.length || theirs.some((v, i) => v !== output[i])) throw new Error('outputs differ');

const reps = batch === 1 ? 200 : 20;
const opts = { reps: 1, time: 3000 };
const sync = await measure('tirex-guardian runSync', () => session.runSync(input, batch, output), { reps, time: 3000 });
const asyncRun = await measure('tirex-guardian run (async)', () => session.run(input, batch, { output }), opts);
const ortRun = await measure('onnxruntime-node session.run', () => ortSession.run({ context: tensor }), opts);

emit({
  scenario: `session-b${batch}-t${time}`,
  machine: machine(),
  tasks: [sync, asyncRun, ortRun],
  ratios: {
    syncVsOnnxruntimeNode: sync.p50Ns / ortRun.p50Ns,
    asyncVsOnnxruntimeNode: asyncRun.p50Ns / ortRun.p50Ns,
  },
});
