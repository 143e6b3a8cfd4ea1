// The market regime engine (issue 15, lib/regime): what a trading engine pays per call, against
// one native scan of 100 values in the same run (the cheapest thing the guardian does per series).
//  - onTick: a realistic stream, 1000 symbols round-robin, timestamps rising 7 ms a tick (bars of
//    a minute: a bar closes on about one tick in eight), prices a random walk per symbol;
//  - snapshot, a cache hit (ttlMs an hour: every call a hit, checked);
//  - snapshot, a fresh computation over 100 closed bars (ttlMs 0 forces a miss on every call,
//    checked): ATR over 100 bars, percentile rank over 86 ATR values, slope, bands, a frozen object;
//  - memory: 10,000 symbols x 100 bars (and one cached snapshot each), heapUsed + arrayBuffers
//    after gc() against before; then 2,000 more symbols with maxSymbols 10,000: the engine must
//    still hold 10,000 (2,000 evictions), at the same memory.
// Needs the compiled module (node scripts/build-ts.js) and node --expose-gc (bench/run.mjs passes it).
import { emit, lib, machine, measure, require } from '../harness.mjs';

const { RegimeEngine } = require('../dist/cjs/regime/index.js');

if (typeof globalThis.gc !== 'function') throw new Error('run with node --expose-gc');

let seed = 12345;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
const MIN = 60_000;
const reps = 1000;

// --- onTick over a realistic stream.
const SYMBOLS = Array.from({ length: 1000 }, (_, i) => `SYM${String(i).padStart(4, '0')}`);
const levels = Float64Array.from(SYMBOLS, () => 20 + 200 * rand());
const WALK = 1 << 16;
const steps = Float64Array.from({ length: WALK }, () => 1 + (rand() - 0.5) * 0.002);
const ticker = new RegimeEngine({ maxSymbols: 10_000 });
let k = 0;
let ts = 1_700_000_000_000;
const tickOnce = () => {
  const s = k % 1000;
  const p = (levels[s] *= steps[k & (WALK - 1)]);
  k++;
  ts += 7;
  return ticker.onTick(SYMBOLS[s], p, ts);
};
const onTick = await measure('onTick (1000 symbols round-robin, rising timestamps)', tickOnce, { reps });
const tickStats = ticker.stats();
if (tickStats.rejectedTicks !== 0 || tickStats.ticks !== k || tickStats.bars === 0) throw new Error(`onTick stream not all accepted: ${JSON.stringify(tickStats)}`);

// --- Snapshots of a symbol with 100 closed bars.
function withBars(engine, symbol) {
  let c = 100;
  for (let i = 0; i < 100; i++) {
    const o = c;
    c *= 1 + (rand() - 0.5) * 0.02;
    const ok = engine.onBar(symbol, { open: o, high: Math.max(o, c) * (1 + 0.004 * rand()), low: Math.min(o, c) * (1 - 0.004 * rand()), close: c, timestampMs: i * MIN });
    if (!ok) throw new Error('bar rejected');
  }
  return engine;
}
const cached = withBars(new RegimeEngine({ ttlMs: 3_600_000 }), 'BRENT');
const fresh = withBars(new RegimeEngine({ ttlMs: 0 }), 'BRENT');
let sink = 0;
const first = cached.snapshot('BRENT');
if (first.neutral || first.bars !== 100) throw new Error(`expected a judged snapshot of 100 bars: ${JSON.stringify(first)}`);
const hit = await measure('snapshot, cache hit', () => (sink += cached.snapshot('BRENT').bars), { reps });
const miss = await measure('snapshot, fresh over 100 bars (ttlMs 0)', () => (sink += fresh.snapshot('BRENT').bars), { reps: 100 });
const hs = cached.stats();
const ms = fresh.stats();
if (hs.misses !== 1 || hs.hits === 0 || ms.hits !== 0 || ms.misses === 0) throw new Error(`cache behaviour unexpected: ${JSON.stringify({ hs, ms })}`);

// --- The baseline: one native scan of 100 values.
const x = Float64Array.from({ length: 100 }, () => 100 + rand());
const out = lib.scanBuffer(1);
const scan = await measure('native scan of 100 float64 values', () => lib.scanInto(x, out, 1, 0, 1000), { reps });

// --- Memory: 10,000 symbols x 100 bars.
const mem = () => {
  globalThis.gc();
  globalThis.gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};
const NAMES = Array.from({ length: 12_000 }, (_, i) => `INSTR${String(i).padStart(5, '0')}`);
const feed = (engine, from, to) => {
  for (let i = from; i < to; i++) {
    let c = 50 + 100 * rand();
    for (let b = 0; b < 100; b++) {
      const o = c;
      c *= 1 + (rand() - 0.5) * 0.01;
      engine.onBar(NAMES[i], { open: o, high: Math.max(o, c) * 1.001, low: Math.min(o, c) * 0.999, close: c, timestampMs: b * MIN });
    }
    sink += engine.snapshot(NAMES[i]).bars;
  }
};
const before = mem();
const big = new RegimeEngine({ maxSymbols: 10_000 });
feed(big, 0, 10_000);
const after10k = mem();
const s10k = big.stats();
if (s10k.symbols !== 10_000 || s10k.bars !== 1_000_000 || s10k.evictions !== 0) throw new Error(`10k feed: ${JSON.stringify(s10k)}`);
feed(big, 10_000, 12_000);
const after12k = mem();
const s12k = big.stats();
if (s12k.symbols !== 10_000 || s12k.evictions !== 2_000 || big.symbols().length !== 10_000) throw new Error(`maxSymbols not enforced: ${JSON.stringify(s12k)}`);
if (big.snapshot(NAMES[0]).reason !== 'no bars for this symbol' || big.snapshot(NAMES[11_999]).bars !== 100) throw new Error('eviction order unexpected');
const MB = 2 ** 20;

emit({
  scenario: 'regime-engine',
  machine: machine(),
  tasks: [onTick, hit, miss, scan],
  ratios: {
    onTickVsScan100: onTick.p50Ns / scan.p50Ns,
    cacheHitVsScan100: hit.p50Ns / scan.p50Ns,
    freshSnapshotVsScan100: miss.p50Ns / scan.p50Ns,
  },
  figures: {
    onTickP50Ns: onTick.p50Ns,
    cacheHitP50Ns: hit.p50Ns,
    freshSnapshotP50Ns: miss.p50Ns,
    scan100P50Ns: scan.p50Ns,
    engineComputeUsPerMiss: ms.computeUs / ms.misses,
    memoryMiB10kSymbols100Bars: (after10k - before) / MB,
    memoryBytesPerSymbol: (after10k - before) / 10_000,
    memoryMiBAfter12kSymbols: (after12k - before) / MB,
    symbolsAfter12kFed: s12k.symbols,
    evictionsAfter12kFed: s12k.evictions,
  },
  sink,
});
