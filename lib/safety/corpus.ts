/**
 * The adversarial corpus: cases over the six vulnerability categories of the seed (SPEC section
 * 4), generated programmatically where a sweep says more than a handful of examples. A case
 * names its input (built fresh for every path, so no path sees another's leftovers), its
 * horizon, its model and, where it matters, the guardian configuration or the session options.
 */
import type { SessionOptions } from '../model/session';
import { arr, f32, f64, gaussian, noisy, pickIndices, stack32, stack64, walk, withAt } from './series';

export type Category = 'nanHandling' | 'quantileProcessing' | 'contextLength' | 'tensorOperations' | 'devicePrecision' | 'modelLoading';

export const CATEGORIES: readonly Category[] = ['nanHandling', 'quantileProcessing', 'contextLength', 'tensorOperations', 'devicePrecision', 'modelLoading'];

export const CATEGORY_LABELS: Record<Category, string> = {
  nanHandling: 'NaN handling',
  quantileProcessing: 'quantile processing',
  contextLength: 'context length',
  tensorOperations: 'tensor operations',
  devicePrecision: 'device/precision',
  modelLoading: 'model loading',
};

/** How the guardian of a case is configured beyond `profile: 'staging'`. */
export interface GuardianVariant {
  /** Pin `modelSha256`: 'original' is the sha256 of the untampered quantile-ok model; 'self'
   * the sha256 the case's own manifest states. */
  pin?: 'original' | 'self';
  /** 'production' (high / strict pipeline / graceful, fail-closed gates). */
  profile?: 'staging' | 'production';
  /** Give the production profile an audit file (else its gates refuse to start). */
  auditFile?: boolean;
  /** Enter maintenance mode before the call. */
  maintenance?: 'fallback' | 'refuse';
  /** Close the guardian's model session before the call. */
  closed?: boolean;
  /** A separate guardian instance (its own breaker), with the same configuration. */
  isolate?: string;
}

export interface SafetyCase {
  id: string;
  category: Category;
  description: string;
  /** 'default' (the shipped model), 'fixture:<name>' or 'gen:<name>' (see models.ts). */
  model: string;
  session?: SessionOptions;
  guardian?: GuardianVariant;
  /** Builds the context: called once per path, so every path gets its own fresh input. */
  context: () => unknown;
  /** Rows of a [B, T] typed array (passed through as given, even when it is wrong). */
  batch?: unknown;
  predictionLength: unknown;
  /** 'sync' (default): rolloutSync and safeForecast; 'async': rollout and safeForecastAsync with
   * a timeout only (slow models); 'both': all four. */
  mode?: 'sync' | 'async' | 'both';
  /** Timeout of the async paths (default 100 ms). */
  timeoutMs?: number;
  /** Also run a guardian with fallbackStrategy 'strict' (errors instead of fallbacks). */
  strict?: boolean;
  /** Run the paths twice and require bit-identical forecasts (deterministic sessions). */
  repeat?: boolean;
  /** Async paths: this many calls at once (each with its own input). */
  concurrency?: number;
  /** Async paths: done to the caller's context right after the call started (the run is in
   * flight): overwrite it, detach its buffer. The forecast must be of the data as given. */
  afterCall?: (context: unknown) => void;
}

const W = (n: number, seed: number) => walk(n, seed);

type ResizableBuffer = ArrayBuffer & { resize(byteLength: number): void };
/** An ArrayBuffer that can grow and shrink (ES2024; typed here for the ES2022 lib). */
function resizable(byteLength: number, maxByteLength: number): ResizableBuffer {
  const Ctor = ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ResizableBuffer;
  return new Ctor(byteLength, { maxByteLength });
}

/** NaN handling: NaN floods and patterns, Inf anywhere, missing values in plain arrays. */
function nanCases(): SafetyCase[] {
  const out: SafetyCase[] = [];
  for (let r = 0; r <= 20; r++) {
    const ratio = r / 20;
    const n = 512;
    out.push({
      id: `nan-ratio-${ratio.toFixed(2)}`,
      category: 'nanHandling',
      description: `random walk of ${n} points with ${Math.round(ratio * 100)}% NaN at random positions`,
      model: 'default',
      context: () => withAt(f32(W(n, 100 + r)), pickIndices(n, Math.round(ratio * n), 200 + r), NaN),
      predictionLength: 32,
      mode: r % 5 === 0 ? 'both' : 'sync',
      strict: r % 2 === 0,
    });
  }
  const base = (seed: number, n = 512) => f32(W(n, seed));
  const pattern = (id: string, description: string, build: () => unknown, extra: Partial<SafetyCase> = {}): void => {
    out.push({ id, category: 'nanHandling', description, model: 'default', context: build, predictionLength: 32, strict: true, ...extra });
  };
  const range = (a: number, b: number, step = 1) => Array.from({ length: Math.max(0, Math.ceil((b - a) / step)) }, (_, i) => a + i * step);
  pattern('nan-alternating-all', 'NaN at every other point of 512', () => withAt(base(1), range(0, 512, 2), NaN));
  pattern('nan-alternating-tail64', 'NaN at every other point of the last 64', () => withAt(base(2), range(448, 512, 2), NaN));
  pattern('nan-every-third', 'NaN at every third point', () => withAt(base(3), range(0, 512, 3), NaN));
  pattern('nan-head-half', 'the first half NaN (a late listing)', () => withAt(base(4), range(0, 256), NaN));
  pattern('nan-tail-10', 'the last 10 points NaN (a feed that stopped)', () => withAt(base(5), range(502, 512), NaN));
  pattern('nan-tail-300', 'the last 300 of 512 points NaN', () => withAt(base(6), range(212, 512), NaN));
  pattern('nan-last-value', 'only the last point is NaN', () => withAt(base(7), [511], NaN), { mode: 'both' });
  pattern('nan-first-value', 'only the first point is NaN', () => withAt(base(8), [0], NaN));
  pattern('nan-block-middle', 'a block of 100 NaN in the middle', () => withAt(base(9), range(200, 300), NaN));
  pattern('nan-all-3', '3 points, all NaN', () => new Float32Array(3).fill(NaN));
  pattern('nan-all-2048', '2048 points, all NaN (TiRex collapses to ~0 here)', () => new Float32Array(2048).fill(NaN), { predictionLength: 256 });
  pattern('nan-all-10000', '10000 points, all NaN (trimmed to the window)', () => new Float32Array(10000).fill(NaN));
  pattern('nan-recent-window-empty', '5000 points whose last 2048 are NaN: the model window holds no data', () => withAt(base(10, 5000), range(2952, 5000), NaN));
  pattern('nan-payloads-f32', 'quiet, negative and signalling NaN bit patterns (10%) in a Float32Array', () => {
    const x = base(11);
    const dv = new DataView(x.buffer);
    const bits = [0x7fc00001, 0xffc00000, 0x7f800001, 0xff800123];
    pickIndices(512, 51, 12).forEach((i, k) => dv.setUint32(i * 4, bits[k % bits.length]!, true));
    return x;
  });
  pattern('nan-payloads-f64', 'negative NaN payloads (10%) in a Float64Array', () => {
    const x = f64(W(512, 13));
    const dv = new DataView(x.buffer);
    for (const i of pickIndices(512, 51, 14)) dv.setBigUint64(i * 8, 0xfff8000000000abcn, true);
    return x;
  });
  pattern('nan-number-array', 'number[] with 10% NaN', () => {
    const x = arr(W(512, 15));
    for (const i of pickIndices(512, 51, 16)) x[i] = NaN;
    return x;
  });
  pattern('nan-null-array', 'number[] with 10% null (a JSON feed with gaps: a naive Float32Array turns null into 0)', () => {
    const x: unknown[] = arr(W(512, 17));
    for (const i of pickIndices(512, 51, 18)) x[i] = null;
    return x;
  });
  pattern('nan-undefined-array', 'number[] with 10% undefined', () => {
    const x: unknown[] = arr(W(512, 19));
    for (const i of pickIndices(512, 51, 20)) x[i] = undefined;
    return x;
  });
  pattern('nan-row-in-batch', '[3, 256] batch whose middle row is all NaN', () => stack32([W(256, 21), new Float64Array(256).fill(NaN), W(256, 22)]), { batch: 3 });
  pattern('nan-ragged-row', 'array of series, one of them all NaN', () => [f32(W(300, 23)), new Float32Array(100).fill(NaN)]);
  pattern('nan-impute-model', '20% NaN into a model whose manifest asks the library to impute', () => withAt(base(24), pickIndices(512, 100, 25), NaN), {
    model: 'gen:impute-manifest',
  });
  // Infinity: always corruption (TiRex propagates it to NaN outputs).
  pattern('inf-pos-single', 'one +Inf in the middle', () => withAt(base(30), [250], Infinity), { mode: 'both' });
  pattern('inf-neg-single', 'one -Inf in the middle', () => withAt(base(31), [250], -Infinity));
  pattern('inf-last', '+Inf as the last point (a bad tick)', () => withAt(base(32), [511], Infinity));
  pattern('inf-first', '-Inf as the first point', () => withAt(base(33), [0], -Infinity));
  pattern('inf-all', 'every point +Inf', () => new Float32Array(256).fill(Infinity));
  pattern('inf-and-nan', '30% NaN and 1% +-Inf', () => withAt(withAt(base(34), pickIndices(512, 150, 35), NaN), [10, 99, 300, 401, 480], -Infinity));
  pattern('inf-f64', 'Float64Array with one +Inf', () => withAt(f64(W(512, 36)), [400], Infinity));
  pattern('inf-number-array', 'number[] with one -Inf', () => {
    const x = arr(W(512, 37));
    x[300] = -Infinity;
    return x;
  });
  pattern('inf-batch-row', '[4, 128] batch, one +Inf in row 2', () => stack32([W(128, 38), W(128, 39), withAt(f64(W(128, 40)), [64], Infinity), W(128, 41)]), {
    batch: 4,
  });
  pattern('inf-trimmed-away', '2049 points with +Inf at index 0, outside the 2048-point window', () => withAt(base(42, 2049), [0], Infinity));
  pattern('inf-just-inside', '2049 points with +Inf at index 1, the oldest point of the window', () => withAt(base(43, 2049), [1], Infinity));
  pattern('inf-ragged-row', 'array of series, the short one ends in -Inf', () => [f32(W(400, 44)), withAt(f32(W(50, 45)), [49], -Infinity)]);
  return out;
}

/** Quantile processing: non-finite, crossing and absurd outputs through the broken fixtures. */
function quantileCases(): SafetyCase[] {
  const out: SafetyCase[] = [];
  const horizons = [1, 6, 8, 32, 33, 64, 256];
  const what: Record<string, string> = {
    'emits-nan': 'NaN at forecast step 5',
    'emits-inf': '+Inf at forecast step 7',
    crossing: 'quantile levels in reverse order at every step',
    huge: 'finite values around 1e30',
  };
  for (const m of ['emits-nan', 'emits-inf', 'crossing', 'huge']) {
    horizons.forEach((h, k) => {
      const batched = h === 32;
      out.push({
        id: `q-${m}-h${h}${batched ? '-b3' : ''}`,
        category: 'quantileProcessing',
        description: `${m} fixture (${what[m]}), horizon ${h}${batched ? ', [3, 300] batch' : ''}`,
        model: `fixture:${m}`,
        context: batched ? () => stack32([W(300, 50 + k), W(300, 60 + k), W(300, 70 + k)]) : () => f32(W(300, 50 + k)),
        batch: batched ? 3 : undefined,
        predictionLength: h,
        mode: h === 64 ? 'both' : 'sync',
        strict: true,
      });
    });
  }
  for (const [h, b] of [[1, 1], [32, 1], [256, 1], [40, 4]] as const) {
    out.push({
      id: `q-quantile-ok-h${h}-b${b}`,
      category: 'quantileProcessing',
      description: `well-behaved quantile-ok fixture, horizon ${h}, batch ${b} (control)`,
      model: 'fixture:quantile-ok',
      context: b === 1 ? () => f32(W(300, 80 + h)) : () => stack32(Array.from({ length: b }, (_, i) => W(300, 90 + i))),
      batch: b === 1 ? undefined : b,
      predictionLength: h,
      strict: true,
    });
  }
  const d = (id: string, description: string, context: () => unknown, h = 64, extra: Partial<SafetyCase> = {}): void => {
    out.push({ id, category: 'quantileProcessing', description, model: 'default', context, predictionLength: h, strict: true, ...extra });
  };
  d('q-default-highvol-h256', 'default model, volatile walk (vol 5), horizon 256 rolled out over 8 patches', () => f32(walk(1024, 101, 100, 5)), 256);
  d('q-default-sawtooth', 'default model, +-1 sawtooth around 100', () => Float32Array.from({ length: 512 }, (_, i) => 100 + (i % 2 ? 1 : -1)));
  d('q-default-exp-growth', 'default model, exponential growth 1%/step (x160 over the context)', () => Float32Array.from({ length: 512 }, (_, i) => 100 * 1.01 ** i), 128);
  d('q-default-tiny-level', 'default model, level 1e-4 with 1e-7 moves', () => f32(walk(512, 102, 1e-4, 1e-7)));
  d('q-default-last-spike', 'default model, last point jumps 50 sigma', () => withAt(f32(W(512, 103)), [511], 100 + 25));
  d('q-default-negative', 'default model, walk around -100', () => f32(walk(512, 104, -100, 0.5)), 96);
  d('q-default-regime-switch', 'default model, volatility x20 over the last 64 points', () => {
    const x = W(512, 105);
    const g = gaussian(106);
    for (let i = 448; i < 512; i++) x[i] = x[i - 1]! + 10 * g();
    return f32(x);
  });
  d('q-default-step-level', 'default model, a level shift of 30 sigma 8 points before the end', () => {
    const x = W(512, 107);
    for (let i = 504; i < 512; i++) x[i] = x[i]! + 15;
    return f32(x);
  });
  out.push({
    id: 'q-huge-production',
    category: 'quantileProcessing',
    description: 'huge fixture under the production profile (high level: implausible output is replaced)',
    model: 'fixture:huge',
    guardian: { profile: 'production', pin: 'self', auditFile: true },
    context: () => f32(W(300, 108)),
    predictionLength: 6,
    strict: true,
  });
  out.push({
    id: 'q-crossing-production',
    category: 'quantileProcessing',
    description: 'crossing fixture under the production profile',
    model: 'fixture:crossing',
    guardian: { profile: 'production', pin: 'self', auditFile: true },
    context: () => f32(W(300, 109)),
    predictionLength: 40,
  });
  return out;
}

/** Context length: lengths 0 to 200k, horizons in and out of bounds, windows without data. */
function lengthCases(): SafetyCase[] {
  const out: SafetyCase[] = [];
  const lengths = [0, 1, 2, 3, 4, 10, 31, 32, 33, 64, 100, 512, 2047, 2048, 2049, 4096, 10000, 100000, 100001, 200000];
  lengths.forEach((n, k) => {
    out.push({
      id: `len-${n}`,
      category: 'contextLength',
      description: `Float32Array random walk of ${n} points, horizon 32`,
      model: 'default',
      context: () => f32(W(n, 300 + k)),
      predictionLength: 32,
      mode: n === 3 || n === 2049 || n === 10000 ? 'both' : 'sync',
      strict: k % 2 === 0,
    });
  });
  out.push({
    id: 'len-200000-number-array',
    category: 'contextLength',
    description: 'number[] of 200000 points',
    model: 'default',
    context: () => arr(W(200000, 330)),
    predictionLength: 32,
  });
  out.push({
    id: 'len-200000-f64',
    category: 'contextLength',
    description: 'Float64Array of 200000 points',
    model: 'default',
    context: () => f64(W(200000, 331)),
    predictionLength: 32,
  });
  out.push({
    id: 'len-ragged-200000',
    category: 'contextLength',
    description: 'array of series of 5 and 200000 points',
    model: 'default',
    context: () => [f32(W(5, 332)), f32(W(200000, 333))],
    predictionLength: 32,
  });
  const horizons: unknown[] = [0, -1, 1.5, NaN, Infinity, '32', null, 1, 31, 32, 33, 255, 256, 257, 1000, 100000];
  horizons.forEach((h, k) => {
    out.push({
      id: `horizon-${typeof h === 'string' ? `str-${h}` : String(h)}`,
      category: 'contextLength',
      description: `predictionLength ${typeof h === 'string' ? `'${h}' (a string)` : String(h)} on 512 points`,
      model: 'default',
      context: () => f32(W(512, 340 + k)),
      predictionLength: h,
      strict: k % 2 === 1,
      mode: h === 257 || h === 256 ? 'both' : 'sync',
    });
  });
  out.push({
    id: 'len-short-all-but-one-nan',
    category: 'contextLength',
    description: '4 points, 3 of them NaN (one real observation)',
    model: 'default',
    context: () => Float32Array.of(NaN, NaN, NaN, 101.5),
    predictionLength: 32,
    strict: true,
  });
  out.push({
    id: 'len-2048-h256-quantile-ok',
    category: 'contextLength',
    description: 'the full window and the longest horizon on the quantile-ok fixture (8 patches)',
    model: 'fixture:quantile-ok',
    context: () => f32(W(2048, 360)),
    predictionLength: 256,
  });
  return out;
}

/** Tensor operations: ragged batches, batch arithmetic, every accepted (and unaccepted) form. */
function tensorCases(): SafetyCase[] {
  const out: SafetyCase[] = [];
  const t = (id: string, description: string, context: () => unknown, extra: Partial<SafetyCase> = {}): void => {
    out.push({ id, category: 'tensorOperations', description, model: 'default', context, predictionLength: 32, strict: true, ...extra });
  };
  // Ragged batches (TiRex left-pads shorter series with NaN; a naive [B, T] zero-fills the end).
  t('ragged-100-2048', 'series of 100 and 2048 points', () => [f32(W(100, 400)), f32(W(2048, 401))], { mode: 'both' });
  t('ragged-3-50-2048', 'series of 3, 50 and 2048 points', () => [f32(W(3, 402)), f32(W(50, 403)), f32(W(2048, 404))]);
  t('ragged-2049-10', 'series of 2049 and 10 points (one longer than the window)', () => [f32(W(2049, 405)), f32(W(10, 406))]);
  t('ragged-5-5-6', 'series of 5, 5 and 6 points', () => [f32(W(5, 407)), f32(W(5, 408)), f32(W(6, 409))]);
  t('ragged-too-short-row', 'series of 2 and 100 points (one too short)', () => [f32(W(2, 410)), f32(W(100, 411))]);
  t('ragged-f64-rows', 'Float64Array series of 64 and 256 points', () => [f64(W(64, 412)), f64(W(256, 413))]);
  t('ragged-number-rows', 'number[] series of 30 and 90 points', () => [arr(W(30, 414)), arr(W(90, 415))]);
  t('ragged-mixed-types', 'a Float32Array, a Float64Array and a number[] of different lengths', () => [f32(W(40, 416)), f64(W(80, 417)), arr(W(120, 418))]);
  t('ragged-equal-arrays', 'array of 3 number[] series of 128 points (not ragged)', () => [arr(W(128, 419)), arr(W(128, 420)), arr(W(128, 421))]);
  // [B, T] in one typed array.
  for (const [B, T] of [[2, 256], [16, 128], [256, 64], [1000, 32]] as const) {
    t(`batch-${B}x${T}`, `[${B}, ${T}] Float32Array batch`, () => stack32(Array.from({ length: B }, (_, i) => walk(T, 430 + i, 50 + i))), { batch: B, strict: B <= 256 });
  }
  t('batch-10000-limit', '[10000, 8] Float32Array batch: the largest batch accepted (quantile-ok model)', () => {
    const x = new Float32Array(10000 * 8);
    const g = gaussian(440);
    for (let i = 0; i < x.length; i++) x[i] = 100 + (i % 8) * 0.1 + 0.05 * g();
    return x;
  }, { model: 'fixture:quantile-ok', batch: 10000, strict: false });
  t('batch-10001-over-limit', '[10001, 4] Float32Array batch: one series over the limit (quantile-ok model)', () => {
    const x = new Float32Array(10001 * 4);
    for (let i = 0; i < x.length; i++) x[i] = 100 + (i % 4) * 0.1;
    return x;
  }, { model: 'fixture:quantile-ok', batch: 10001, strict: false });
  t('batch-f64', '[4, 128] Float64Array batch', () => stack64(Array.from({ length: 4 }, (_, i) => W(128, 450 + i))), { batch: 4 });
  t('batch-not-dividing', 'batch 3 for a context of 100 values', () => f32(W(100, 460)), { batch: 3 });
  for (const b of [0, -1, 1.5, NaN, '2'] as const) {
    t(`batch-invalid-${String(b)}`, `batch ${typeof b === 'string' ? `'${b}' (a string)` : String(b)} for 128 values`, () => f32(W(128, 461)), { batch: b });
  }
  t('batch-array-ignored', 'batch 2 given with an array of 3 series (batch is for typed arrays only)', () => [arr(W(64, 462)), arr(W(64, 463)), arr(W(64, 464))], { batch: 2 });
  // Shapes and types.
  t('single-series-in-array', 'array of one Float32Array series', () => [f32(W(256, 470))]);
  t('empty-array', 'an empty array', () => []);
  t('array-of-empty-row', 'array holding one empty series', () => [new Float32Array(0)]);
  t('nested-too-deep', '[[[...]]]: a series nested one level too deep', () => [[arr(W(64, 471))]]);
  t('row-not-numeric', "array of series where one row is a string", () => [arr(W(64, 472)), 'abc']);
  t('context-null', 'context null', () => null);
  t('context-undefined', 'context undefined', () => undefined);
  t('context-object', 'context {} (a plain object)', () => ({}));
  t('context-string', "context '100,101,102,...' (a CSV line as a string)", () => arr(W(64, 473)).map((v) => v.toFixed(2)).join(','));
  t('context-int32', 'Int32Array of prices in cents', () => Int32Array.from(W(256, 474), (v) => Math.round(v * 100)));
  t('context-uint8', 'Uint8Array', () => Uint8Array.from({ length: 256 }, (_, i) => 100 + (i % 7)));
  t('context-bigint64', 'BigInt64Array of prices in cents', () => BigInt64Array.from(W(256, 475), (v) => BigInt(Math.round(v * 100))));
  t('context-strings', "number[] of numeric strings ('100.25')", () => arr(W(64, 476)).map((v) => v.toFixed(2)));
  t('context-booleans', 'number[] with booleans mixed in', () => {
    const x: unknown[] = arr(W(64, 477));
    x[10] = true;
    x[20] = false;
    return x;
  });
  t('context-sparse', 'number[] with holes (sparse array)', () => {
    const x = arr(W(128, 478));
    delete x[5];
    delete x[70];
    return x;
  });
  t('context-frozen', 'a frozen number[]', () => Object.freeze(arr(W(128, 479))));
  t('view-with-offset', 'Float32Array view at byte offset 400 of a larger buffer', () => {
    const big = f32(W(1000, 480));
    return big.subarray(100, 612);
  }, { mode: 'both' });
  t('shared-array-buffer', 'Float32Array over a SharedArrayBuffer', () => {
    const x = new Float32Array(new SharedArrayBuffer(512 * 4));
    x.set(f32(W(512, 481)));
    return x;
  });
  t('detached-buffer', 'Float32Array whose ArrayBuffer was transferred away (detached)', () => {
    const x = f32(W(256, 482));
    structuredClone(x.buffer, { transfer: [x.buffer as ArrayBuffer] });
    return x;
  });
  t('batch-trimmed', '[2, 3000] Float32Array batch (each row longer than the window)', () => stack32([W(3000, 490), W(3000, 491)]), { batch: 2 });
  t('mutated-mid-run', 'the caller overwrites its context with +Inf while the async run is in flight', () => f32(W(300, 492)), {
    mode: 'async',
    timeoutMs: 1000,
    afterCall: (x) => (x as Float32Array).fill(Infinity),
  });
  t('detached-mid-run', "the caller transfers its context's buffer away while the async run is in flight", () => f32(W(300, 493)), {
    mode: 'async',
    timeoutMs: 1000,
    afterCall: (x) => void structuredClone((x as Float32Array).buffer, { transfer: [(x as Float32Array).buffer as ArrayBuffer] }),
  });
  t('detached-mid-run-slow', 'the buffer is detached while a slow model runs into its timeout (the fallback needs the data)', () => f32(W(300, 494)), {
    model: 'fixture:slow',
    guardian: { isolate: 'detached-mid-run-slow' },
    mode: 'async',
    afterCall: (x) => void structuredClone((x as Float32Array).buffer, { transfer: [(x as Float32Array).buffer as ArrayBuffer] }),
  });
  t('resizable-buffer', 'length-tracking Float32Array over a resizable ArrayBuffer', () => {
    const x = new Float32Array(resizable(512 * 4, 8192));
    x.set(f32(W(512, 495)));
    return x;
  });
  t('resizable-out-of-bounds', 'Float32Array view of 512 values whose resizable buffer shrank to 16 bytes (out of bounds)', () => {
    const buf = resizable(512 * 4, 8192);
    const x = new Float32Array(buf, 0, 512);
    x.set(f32(W(512, 496)));
    buf.resize(16);
    return x;
  });
  t('resized-mid-run-slow', "the caller shrinks its context's resizable buffer to 0 while a slow model runs into its timeout", () => {
    const x = new Float32Array(resizable(300 * 4, 8192));
    x.set(f32(W(300, 497)));
    return x;
  }, {
    model: 'fixture:slow',
    guardian: { isolate: 'resized-mid-run-slow' },
    mode: 'async',
    afterCall: (x) => (x as Float32Array & { buffer: ResizableBuffer }).buffer.resize(0),
  });
  t('batch-view-with-offset', '[4, 64] batch as a view at an odd element offset', () => {
    const big = stack32(Array.from({ length: 5 }, (_, i) => W(64, 483 + i)));
    return big.subarray(17, 17 + 256);
  }, { batch: 4 });
  return out;
}

/** Device/precision: float64 traps, float32 range edges, subnormals, -0, providers, determinism. */
function precisionCases(): SafetyCase[] {
  const out: SafetyCase[] = [];
  const p = (id: string, description: string, context: () => unknown, extra: Partial<SafetyCase> = {}): void => {
    out.push({ id, category: 'devicePrecision', description, model: 'default', context, predictionLength: 32, strict: true, ...extra });
  };
  for (const std of [1e-4, 1e-3, 1e-2]) {
    p(`f64-60000-std-${std}`, `Float64Array around 60000 with std ${std} (float32 spacing there is 0.0039)`, () => noisy(512, 500 + Math.round(-Math.log10(std)), 60000, std));
  }
  p('f64-btc-realistic', 'Float64Array Bitcoin-like prices ~65000 with moves of 150 (the original blocked these)', () => walk(1024, 504, 65000, 150), { mode: 'both' });
  p('f64-btc-ticks', 'Float64Array Bitcoin ticks ~65000 moving 0.5 per tick', () => walk(512, 505, 65000, 0.5));
  p('f64-fx-pips', 'Float64Array EURUSD ~1.1 moving 1e-5 per tick', () => walk(512, 506, 1.1, 1e-5));
  p('f64-1e7-steps-0.1', 'Float64Array 1e7 + 0.1 * i (float32 spacing there is 1)', () => Float64Array.from({ length: 512 }, (_, i) => 1e7 + 0.1 * i));
  p('f64-2pow24-integers', 'Float64Array 2^24 + i (float32 cannot hold odd integers there)', () => Float64Array.from({ length: 512 }, (_, i) => 2 ** 24 + i));
  p('f64-1e308', 'Float64Array walk with one 1e308', () => withAt(f64(W(512, 507)), [300], 1e308));
  p('f64-neg-1e308', 'Float64Array walk with one -1e308 as the last point', () => withAt(f64(W(512, 508)), [511], -1e308));
  p('f64-above-f32-max', 'Float64Array with 3.5e38 (just above the float32 range)', () => withAt(f64(W(512, 509)), [100], 3.5e38));
  p('f64-f32-rounding-edge', 'Float64Array with 3.4028235677973366e38 (rounds to +Inf in float32)', () => withAt(f64(W(512, 510)), [200], 3.4028235677973366e38));
  p('f64-within-f32-max', 'Float64Array series around 3.4e38 (finite in float32, squares overflow)', () => Float64Array.from({ length: 256 }, (_, i) => 3.4e38 - i * 1e35));
  p('f32-near-max', 'Float32Array series around 3e38', () => Float32Array.from({ length: 256 }, (_, i) => 3e38 - i * 1e30));
  p('f64-max-safe-integer', 'Float64Array around Number.MAX_SAFE_INTEGER moving by 1', () => Float64Array.from({ length: 256 }, (_, i) => Number.MAX_SAFE_INTEGER - 256 + i));
  p('f64-subnormal-flat', 'Float64Array of 1e-310 (subnormal, 0 in float32)', () => new Float64Array(256).fill(1e-310));
  p('f64-subnormal-varying', 'Float64Array of 1e-310 +- 1e-311 (all of it lost in float32)', () => noisy(256, 511, 1e-310, 1e-311));
  p('f32-subnormal', 'Float32Array of float32 subnormals (1e-40 .. 7e-40)', () => Float32Array.from({ length: 256 }, (_, i) => 1e-40 * (1 + (i % 7))));
  p('f32-negative-zero', 'Float32Array of -0', () => new Float32Array(256).fill(-0));
  p('f32-signed-zeros', 'Float32Array alternating -0 and +0', () => Float32Array.from({ length: 256 }, (_, i) => (i % 2 ? 0 : -0)));
  p('f64-mixed-magnitudes', 'Float64Array mixing 1e-30 and 1e30', () => Float64Array.from({ length: 256 }, (_, i) => (i % 2 ? 1e30 : 1e-30)));
  p('f32-flat', 'Float32Array flat at 100', () => new Float32Array(512).fill(100), { mode: 'both' });
  p('f32-flat-then-spike', 'Float32Array flat at 100 with one spike to 1e4 at the end', () => withAt(new Float32Array(512).fill(100), [511], 1e4));
  p('f32-spiky', 'Float32Array walk with spikes of 100 sigma every 50 points', () => withAt(f32(W(512, 512)), [50, 100, 150, 200, 250, 300, 350, 400, 450, 500], 150));
  p('number-array-60000-trap', 'number[] around 60000 with std 1e-3 (same trap through number[])', () => arr(noisy(512, 513, 60000, 1e-3)));
  p('f64-batch-one-trap-row', '[3, 256] Float64Array batch, one row a float32 trap', () => stack64([W(256, 514), noisy(256, 515, 60000, 1e-3), W(256, 516)]), { batch: 3 });
  p('deterministic-session', 'deterministic session: the same input twice must give bit-identical output', () => f32(W(1024, 517)), {
    session: { deterministic: true },
    repeat: true,
    predictionLength: 64,
  });
  p('default-session-repeat', 'default session: the same input twice must give the same output', () => f32(W(512, 518)), { repeat: true });
  p('provider-cuda-require', "provider 'cuda' with providerPolicy 'require' (this host may have no CUDA)", () => f32(W(256, 519)), {
    session: { provider: 'cuda', providerPolicy: 'require' },
  });
  p('provider-cuda-prefer', "provider 'cuda' with providerPolicy 'prefer' (falls back to the CPU and says so)", () => f32(W(256, 520)), {
    session: { provider: 'cuda', providerPolicy: 'prefer' },
  });
  p('threads-2', 'two intra-op threads', () => f32(W(1024, 521)), { session: { intraOpThreads: 2 } });
  return out;
}

/** Model loading: corrupt, truncated, mismatched and swapped files, timeouts, emergencies. */
function modelCases(): SafetyCase[] {
  const out: SafetyCase[] = [];
  const m = (id: string, model: string, description: string, extra: Partial<SafetyCase> = {}): void => {
    const seed = 600 + out.length;
    out.push({ id, category: 'modelLoading', description, model, context: () => f32(W(300, seed)), predictionLength: 40, strict: true, ...extra });
  };
  const gen: [string, string][] = [
    ['truncated-pinned', 'truncated model file, original pin'],
    ['truncated-rehashed', 'truncated model file, manifest regenerated'],
    ['ten-bytes-rehashed', '10-byte model file, manifest regenerated'],
    ['empty-rehashed', 'empty model file, manifest regenerated'],
    ['random-rehashed', 'random bytes as the model, manifest regenerated'],
    ['bitflip-header-rehashed', 'bit flip in the protobuf header, manifest regenerated'],
    ['bitflip-pinned', 'bit flip in the middle, original pin'],
    ['weights-signflip-rehashed', 'weights corrupted (quantile offsets negated), manifest regenerated'],
    ['weights-eps-huge-rehashed', 'weights corrupted (scale epsilon 1e30: bands of +-1e30), manifest regenerated'],
    ['input-renamed', 'graph input renamed, manifest disagrees'],
    ['output-renamed', 'graph output renamed, manifest disagrees'],
    ['dangling-input', 'graph input renamed without its reader (invalid graph)'],
    ['manifest-patch16', 'manifest claims 16-step patches'],
    ['manifest-levels5', 'manifest claims 5 quantile levels'],
    ['manifest-input-rank3', 'manifest claims a rank-3 input'],
    ['manifest-not-json', 'manifest is not JSON'],
    ['manifest-truncated-json', 'manifest cut in half'],
    ['manifest-missing-sha', 'manifest without sha256'],
    ['manifest-extra-property', 'manifest with an unknown property'],
    ['manifest-levels-unsorted', 'manifest with unsorted quantile levels'],
    ['manifest-schema-v2', 'manifest schemaVersion 2'],
    ['manifest-uppercase-sha', 'manifest pins the right sha256 in upper case'],
    ['model-file-missing', 'the model file is missing'],
    ['manifest-missing', 'the manifest is missing'],
    ['manifest-is-directory', 'the manifest path is a directory'],
    ['swapped-crossing-rehashed', 'model swapped for the crossing model, manifest regenerated'],
    ['swapped-emits-nan-rehashed', 'model swapped for the emits-nan model, manifest regenerated'],
  ];
  for (const [name, description] of gen) m(`model-${name}`, `gen:${name}`, description, name === 'swapped-emits-nan-rehashed' ? { predictionLength: 64 } : {});
  m('model-swapped-crossing-pinned', 'gen:swapped-crossing-rehashed', 'model swapped for the crossing model, manifest regenerated, the guardian pins the original sha256', {
    guardian: { pin: 'original' },
  });
  m('model-swapped-emits-nan-pinned', 'gen:swapped-emits-nan-rehashed', 'model swapped for the emits-nan model, the guardian pins the original sha256', {
    guardian: { pin: 'original' },
    predictionLength: 64,
  });
  m('model-shape-mismatch-fixture', 'fixture:shape-mismatch', 'shape-mismatch fixture: the graph returns 16 steps, its manifest promises 32');
  m('model-production-unpinned', 'fixture:quantile-ok', 'production profile without a pinned hash or an audit file (fail-closed gates)', {
    guardian: { profile: 'production' },
  });
  m('model-closed-session', 'fixture:quantile-ok', 'the session was closed before the call', { guardian: { closed: true } });
  m('model-maintenance-fallback', 'fixture:quantile-ok', "maintenance mode 'fallback'", { guardian: { maintenance: 'fallback' } });
  m('model-maintenance-refuse', 'fixture:quantile-ok', "maintenance mode 'refuse'", { guardian: { maintenance: 'refuse' } });
  // Timeouts: the slow fixture needs about a second of CPU per run; the budget is 100 ms.
  for (const [h, b, t] of [[1, 1, 100], [32, 1, 100], [64, 1, 100], [256, 1, 100], [32, 4, 100], [32, 1, 30], [48, 2, 60]] as const) {
    m(`model-slow-h${h}-b${b}-t${t}`, 'fixture:slow', `slow fixture, horizon ${h}, batch ${b}, timeout ${t} ms`, {
      context: b === 1 ? () => f32(W(300, 700 + h)) : () => stack32(Array.from({ length: b }, (_, i) => W(300, 710 + i))),
      batch: b === 1 ? undefined : b,
      predictionLength: h,
      mode: 'async',
      timeoutMs: t,
      strict: h === 32 && b === 1 && t === 100,
    });
  }
  m('model-timeout-default-fast', 'default', 'default model with a 100 ms timeout it should meet', { mode: 'both' });
  m('model-concurrent-16-default', 'default', '16 concurrent async forecasts on the shared default session', {
    mode: 'async',
    timeoutMs: 5000,
    concurrency: 16,
    context: () => f32(W(1024, 720)),
    predictionLength: 64,
  });
  m('model-concurrent-4-slow', 'fixture:slow', '4 concurrent async forecasts on the slow model, 100 ms timeout each', {
    guardian: { isolate: 'concurrent-slow' },
    mode: 'async',
    concurrency: 4,
    strict: true,
  });
  for (const t of [-1, NaN]) {
    m(`model-invalid-timeout-${String(t)}`, 'fixture:quantile-ok', `async forecast with timeoutMs ${String(t)} (a caller error)`, {
      guardian: { isolate: 'invalid-timeout' },
      mode: 'async',
      timeoutMs: t,
    });
  }
  return out;
}

/** The whole corpus, in a stable order. */
export function buildCorpus(): SafetyCase[] {
  const all = [...nanCases(), ...quantileCases(), ...lengthCases(), ...tensorCases(), ...precisionCases(), ...modelCases()];
  const seen = new Set<string>();
  for (const c of all) {
    if (seen.has(c.id)) throw new Error(`safety corpus: duplicate case id ${c.id}`);
    seen.add(c.id);
  }
  return all;
}
