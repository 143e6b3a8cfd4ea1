// Fallback forecasts of one float32 context of N prices, horizon H, the nine TiRex levels, into a
// preallocated output: each forecaster and the chain against one native scan of the same context
// (the target: every fallback costs at most 3x the scan).
// Needs the compiled module: node scripts/build-ts.js (lib/index.ts may not export it yet).
import { emit, lib, machine, measure, require } from '../harness.mjs';

const fb = require('../dist/cjs/fallback/index.js');

const n = Number(process.argv[2] ?? 2048);
const horizon = Number(process.argv[3] ?? 32);
const x = new Float32Array(n);
// Prices: a mean-reverting walk around 100 with a slow drift, and a few NaN (as in scan.mjs).
let v = 100;
let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
for (let i = 0; i < n; i++) {
  v += 0.01 * (100 + 0.002 * i - v) + (rand() - 0.5);
  x[i] = rand() < 0.002 ? NaN : v;
}
x[n - 3] = NaN; // one NaN near the end, so the finite-part walk skips one
const levels = fb.TIREX_QUANTILE_LEVELS.length;
const out = new Float32Array(horizon * levels);
const scanOut = lib.scanBuffer(1);
const reps = Math.max(1, Math.round(2e6 / n));

let sink = 0;
const check = (r) => {
  if (!r.ok) throw new Error(`fallback failed: ${r.reason}`);
  sink += out[0];
};
const scan = await measure('native scan', () => lib.scanInto(x, scanOut, 1, 0, 1000), { reps });
const ma = await measure('moving average (20)', () => check(fb.fallbackMovingAverage(x, horizon, { out })), { reps });
const trend = await measure('robust trend (Theil-Sen, 48 points, 47 pairs)', () => check(fb.fallbackRobustTrend(x, horizon, { out })), { reps });
const trendAll = await measure('robust trend, all 1128 pairs', () => check(fb.fallbackRobustTrend(x, horizon, { out, maxPairs: 1128 })), { reps });
const last = await measure('last value', () => check(fb.fallbackLastValue(x, horizon, { out })), { reps });
const chain = await measure('chain (default order)', () => check(fb.fallbackChain(x, horizon, { out })), { reps });
const chainDown = await measure('chain, stepping down to last value', () =>
  check(fb.fallbackChain(x, horizon, { out, movingAverage: { minPoints: n + 1 }, robustTrend: { minPoints: n + 1 } })), { reps });

const ratio = (t) => t.p50Ns / scan.p50Ns;
emit({
  scenario: `fallback-f32-${n}-h${horizon}`,
  n,
  horizon,
  machine: machine(),
  tasks: [scan, ma, trend, trendAll, last, chain, chainDown],
  ratios: {
    movingAverageVsScan: ratio(ma),
    robustTrendVsScan: ratio(trend),
    robustTrendAllPairsVsScan: ratio(trendAll),
    lastValueVsScan: ratio(last),
    chainVsScan: ratio(chain),
    chainSteppingDownVsScan: ratio(chainDown),
  },
  sink,
});
