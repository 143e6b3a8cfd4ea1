// Scan of N float32 values: native scan (call included, preallocated output) against the plain
// loop and against a Float32Array.prototype.set copy of the same array (memory bandwidth).
import { emit, lib, machine, measure, priceSeries } from '../harness.mjs';
import { momentsPlain, scanPlain } from '../baselines.mjs';

const n = Number(process.argv[2]);
const x = priceSeries(n);
const out = lib.scanBuffer(1);
const copy = new Float32Array(n);
// Enough calls per sample that the timer is negligible; one call per sample for big arrays.
const reps = n >= 1e5 ? 1 : Math.max(1, Math.round(2e6 / Math.max(n, 1)));
const time = n >= 1e6 ? 3000 : 1500;

let sink = 0;
const nativeScan = await measure('native scan', () => lib.scanInto(x, out, 1, 0, 1000), { reps, time });
const plain = await measure('plain TS loop', () => { sink += scanPlain(x, 0, 1000).finite; }, { reps, time });
const moments = await measure('plain TS loop, moments only', () => { sink += momentsPlain(x); }, { reps, time });
const copyRes = await measure('Float32Array.set copy', () => copy.set(x), { reps, time });

// The same answers, or the comparison is meaningless.
const ref = scanPlain(x, 0, 1000);
if (ref.finite !== out[lib.ScanField.finiteCount] || ref.nan !== out[lib.ScanField.nanCount]) {
  throw new Error('native scan and plain loop disagree');
}
const bytes = n * 4;
const gbps = (r) => bytes / r.p50Ns;
emit({
  scenario: `scan-f32-${n}`,
  n,
  machine: machine(),
  tasks: [nativeScan, plain, moments, copyRes].map((t) => ({ ...t, gbPerS: gbps(t) })),
  ratios: {
    scanVsCopyBandwidth: copyRes.p50Ns / nativeScan.p50Ns,
    scanVsPlainLoop: plain.p50Ns / nativeScan.p50Ns,
    scanVsPlainMomentsOnly: moments.p50Ns / nativeScan.p50Ns,
  },
  sink,
});
