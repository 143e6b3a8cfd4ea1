// Shared benchmark plumbing: tinybench with an inner repetition count (so sub-microsecond calls
// are not drowned by the timer), results as plain JSON on stdout for bench/run.mjs.
import { createRequire } from 'node:module';
import os from 'node:os';
import { Bench } from 'tinybench';

export const require = createRequire(import.meta.url);
export const lib = require('../dist/cjs/index.js');

// Runs `fn` `reps` times per sample; returns per-call latency statistics in nanoseconds.
export async function measure(name, fn, { reps = 1, time = 1500, warmupTime = 300 } = {}) {
  // Async tasks (fn returns a promise) run one awaited call per sample.
  const first = fn();
  const isAsync = first instanceof Promise;
  if (isAsync) await first;
  const bench = new Bench({ time, warmupTime });
  bench.add(
    name,
    isAsync
      ? async () => {
          await fn();
        }
      : () => {
          for (let r = 0; r < reps; r++) fn();
        },
  );
  if (isAsync) reps = 1;
  await bench.run();
  const lat = bench.tasks[0].result.latency;
  const perCall = (ms) => (ms * 1e6) / reps;
  return { name, reps, samples: lat.samples?.length ?? lat.samplesCount, meanNs: perCall(lat.mean), p50Ns: perCall(lat.p50), p99Ns: perCall(lat.p99) };
}

export function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    simd: lib.cpuFeatures().simd,
  };
}

export function emit(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
}
