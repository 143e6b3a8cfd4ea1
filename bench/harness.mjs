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

/**
 * Prices as the scan benchmarks read them: a mean-reverting walk around 100 (inside the bounds
 * 0..1000, as market bounds are meant to be) with a NaN gap per thousand values, so the NaN paths
 * run too. Seeded: the same values in every run.
 */
export function priceSeries(n) {
  const x = new Float32Array(n);
  let v = 100;
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) {
    v += 0.01 * (100 - v) + (rand() - 0.5);
    x[i] = rand() < 0.001 ? NaN : v;
  }
  return x;
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

/**
 * Alternating rounds: every task runs for `perRoundMs` in turn, `rounds` times, so a noisy
 * neighbour or a slow drift hits every task alike (the ratios of one run stay comparable). Each
 * sample is one call (the calls measured this way take tens of microseconds or more). Async tasks
 * are awaited one at a time. `onSample(task, result)` sees what each call returned.
 */
export async function measureRounds(tasks, { rounds = 8, perRoundMs = 400, warmup = 20 } = {}) {
  const samples = tasks.map(() => []);
  // Each task's p50 in each round: a ratio taken round by round sees the same conditions.
  const roundP50s = tasks.map(() => []);
  for (const t of tasks) for (let i = 0; i < warmup; i++) await t.fn();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < tasks.length; i++) {
      const t = tasks[i];
      const round = [];
      const end = performance.now() + perRoundMs;
      while (performance.now() < end) {
        const t0 = performance.now();
        const out = t.async ? await t.fn() : t.fn();
        round.push((performance.now() - t0) * 1e6);
        t.onResult?.(out);
      }
      samples[i].push(...round);
      roundP50s[i].push(summarizeSamples(t.name, round).p50Ns);
    }
  }
  return tasks.map((t, i) => ({ ...summarizeSamples(t.name, samples[i]), roundP50s: roundP50s[i] }));
}

/** The ratio a/b round by round: its median, lowest and highest (tasks from measureRounds). */
export function roundRatios(a, b) {
  const r = a.roundP50s.map((x, i) => x / b.roundP50s[i]).sort((x, y) => x - y);
  return { median: r[Math.floor(r.length / 2)], min: r[0], max: r[r.length - 1] };
}

/** p50, p99 and mean of per-call samples in nanoseconds. */
export function summarizeSamples(name, samples) {
  const xs = samples.slice().sort((a, b) => a - b);
  const pct = (p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];
  return { name, reps: 1, samples: xs.length, meanNs: xs.reduce((a, b) => a + b, 0) / xs.length, p50Ns: pct(50), p99Ns: pct(99) };
}
