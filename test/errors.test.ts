import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import {
  applyScaling,
  checkMean,
  computeScaling,
  convertF64ToF32,
  convertF64ToF32Into,
  ErrorCode,
  hasCode,
  impute,
  invertScaling,
  repairQuantiles,
  repairQuantilesInto,
  scan,
  scanBatch,
  scanInto,
  type ErrorCodeValue,
} from '../lib/index';
import { addon } from '../lib/native/addon';

type ErrorClass = typeof TypeError | typeof RangeError;

/** Detaches the buffer behind a typed array (Node 20 has no ArrayBuffer.prototype.transfer). */
function detached<T extends Float32Array | Float64Array>(make: () => T): T {
  const view = make();
  const buf = view.buffer as ArrayBuffer & { transfer?: () => ArrayBuffer };
  if (typeof buf.transfer === 'function') buf.transfer();
  else structuredClone(buf, { transfer: [buf] });
  expect(buf.byteLength, 'buffer detached').toBe(0);
  return view;
}

const f32 = (n: number): Float32Array<ArrayBuffer> => new Float32Array(n).fill(1);
const f64 = (n: number): Float64Array<ArrayBuffer> => new Float64Array(n).fill(1);

/**
 * What is wrong with fn's failure, or null when it throws an instance of `cls` with `code` and a
 * message naming `arg`.
 */
function codedProblem(fn: () => unknown, cls: ErrorClass, code: ErrorCodeValue, arg?: string | RegExp): string | null {
  let thrown: unknown;
  let threw = false;
  try {
    fn();
  } catch (err) {
    thrown = err;
    threw = true;
  }
  if (!threw) return `nothing was thrown (expected ${cls.name} ${code})`;
  if (!(thrown instanceof Error)) return `threw a non-Error ${String(thrown)}`;
  const e = thrown as Error & { code?: unknown };
  const got = `${e.constructor.name} ${String(e.code)} "${e.message}"`;
  if (!(e instanceof cls) || e.code !== code || !hasCode(e, code)) return `threw ${got}, expected ${cls.name} ${code}`;
  const re = typeof arg === 'string' ? new RegExp(`\\b${arg}\\b`) : arg;
  if (re && !re.test(e.message)) return `message ${JSON.stringify(e.message)} does not name ${String(arg)}`;
  return null;
}

/**
 * Asserts one call, softly: every failing call of a test is reported (named by its source text),
 * so one test shows the whole extent of a problem.
 */
function expectCoded(fn: () => unknown, cls: ErrorClass, code: ErrorCodeValue, arg?: string | RegExp, label = ''): void {
  const problem = codedProblem(fn, cls, code, arg);
  expect.soft(problem, `${fn.toString().replace(/\s+/g, ' ')}${label ? ` [${label}]` : ''}`).toBeNull();
}

const WRONG_ARRAYS: [string, unknown][] = [
  ['number[]', [1, 2, 3]],
  ['Int32Array', new Int32Array(4)],
  ['Uint8Array', new Uint8Array(8)],
  ['BigInt64Array', new BigInt64Array(2)],
  ['DataView', new DataView(new ArrayBuffer(8))],
  ['ArrayBuffer', new ArrayBuffer(8)],
  ['null', null],
  ['undefined', undefined],
  ['string', 'abc'],
  ['number', 5],
  ['array-like object', { length: 2, 0: 1, 1: 2 }],
];

describe('wrappers: wrong argument types -> TypeError TG_INVALID_ARGUMENT naming the argument', () => {
  it.each(WRONG_ARRAYS)('data / src = %s', (_, bad) => {
    const b = bad as Float32Array;
    const T = TypeError;
    const I = ErrorCode.InvalidArgument;
    expectCoded(() => scan(b), T, I, 'data');
    expectCoded(() => scanBatch(b, 1), T, I, 'data');
    expectCoded(() => scanInto(b, f64(16)), T, I, 'data');
    expectCoded(() => computeScaling(b), T, I, 'data');
    expectCoded(() => applyScaling(b, f64(2)), T, I, 'src');
    expectCoded(() => invertScaling(b, f64(2)), T, I, 'src');
    expectCoded(() => impute(b), T, I, 'src');
    expectCoded(() => impute(b, 'linear'), T, I, 'src');
    if (b != null) expectCoded(() => convertF64ToF32(b as unknown as Float64Array), T, I, 'src'); // see below
    expectCoded(() => repairQuantiles(b, 0, 9), T, I, 'quantiles');
    expectCoded(() => checkMean(b, f32(9), 1, 9, { medianIndex: 4, maxDeviation: 1, replace: false }), T, I, 'mean');
    expectCoded(() => checkMean(f32(1), b, 1, 9, { medianIndex: 4, maxDeviation: 1, replace: false }), T, I, 'quantiles');
  });

  it('convertF64ToF32 checks src before sizing its default dst from it (null / undefined src)', () => {
    expectCoded(() => convertF64ToF32(null as unknown as Float64Array), TypeError, ErrorCode.InvalidArgument, 'src');
    expectCoded(() => convertF64ToF32(undefined as unknown as Float64Array), TypeError, ErrorCode.InvalidArgument, 'src');
  });

  it.each(WRONG_ARRAYS)('output / parameter buffer = %s', (_, bad) => {
    const b = bad as Float64Array<ArrayBuffer>;
    const T = TypeError;
    const I = ErrorCode.InvalidArgument;
    expectCoded(() => scanInto(f32(4), b), T, I, 'out');
    if (b !== undefined) expectCoded(() => computeScaling(f32(4), 1, b), T, I, 'locScale'); // undefined: the default
    expectCoded(() => applyScaling(f32(4), b), T, I, 'locScale');
    expectCoded(() => invertScaling(f64(4), b), T, I, 'locScale');
    expectCoded(() => convertF64ToF32Into(f64(4), b as unknown as Float32Array, f64(4)), T, I, 'dst');
    expectCoded(() => convertF64ToF32Into(f64(4), f32(4), b), T, I, 'report');
    expectCoded(() => repairQuantilesInto(f32(9), 1, 9, b), T, I, 'report');
  });

  it('element types are enforced where the API fixes them', () => {
    const T = TypeError;
    const I = ErrorCode.InvalidArgument;
    expectCoded(() => scanInto(f32(4), new Float32Array(16) as unknown as Float64Array), T, I, 'out');
    expectCoded(() => computeScaling(f64(4), 1, new Float32Array(2) as unknown as Float64Array<ArrayBuffer>), T, I, 'locScale');
    expectCoded(() => applyScaling(f64(4), new Float32Array(2) as unknown as Float64Array), T, I, 'locScale');
    expectCoded(() => convertF64ToF32(f32(4) as unknown as Float64Array), T, I, 'src');
    expectCoded(() => convertF64ToF32(f64(4), 1, f64(4) as unknown as Float32Array<ArrayBuffer>), T, I, 'dst');
    expectCoded(() => repairQuantiles(f64(9) as unknown as Float32Array, 1, 9), T, I, 'quantiles');
    expectCoded(() => checkMean(f64(1) as unknown as Float32Array, f32(9), 1, 9, { medianIndex: 4, maxDeviation: 1, replace: true }), T, I, 'mean');
  });

  it('non-number bounds and deviations', () => {
    expectCoded(() => scan(f32(4), { lo: '0' as unknown as number }), TypeError, ErrorCode.InvalidArgument, 'lo');
    expectCoded(() => scan(f32(4), { hi: 'x' as unknown as number }), TypeError, ErrorCode.InvalidArgument, 'hi');
    expectCoded(() => scanInto(f32(4), f64(16), 1, 0, {} as unknown as number), TypeError, ErrorCode.InvalidArgument, 'hi');
    expectCoded(
      () => checkMean(f32(1), f32(9), 1, 9, { medianIndex: 4, maxDeviation: '1' as unknown as number, replace: true }),
      TypeError,
      ErrorCode.InvalidArgument,
      'maxDeviation',
    );
  });
});

describe('wrappers: shapes, lengths, ranges', () => {
  it('rows not dividing the length -> RangeError TG_SHAPE_MISMATCH', () => {
    const S = ErrorCode.ShapeMismatch;
    expectCoded(() => scanBatch(f32(5), 2), RangeError, S, 'data');
    expectCoded(() => scanInto(f64(7), f64(64), 3), RangeError, S, 'data');
    expectCoded(() => computeScaling(f64(5), 2), RangeError, S, 'data');
    expectCoded(() => applyScaling(f32(5), f64(4), f32(5), 2), RangeError, S, 'src');
    expectCoded(() => invertScaling(f64(9), f64(8), f64(9), 4), RangeError, S, 'src');
    expectCoded(() => impute(f32(7), 'ffill', f32(7), 2), RangeError, S, 'src');
    expectCoded(() => convertF64ToF32(f64(7), 2), RangeError, S, 'src');
    expectCoded(() => repairQuantiles(f32(10), 1, 9), RangeError, S, 'quantiles');
    expectCoded(() => repairQuantiles(f32(17), 2, 9), RangeError, S, 'quantiles');
    expectCoded(() => checkMean(f32(2), f32(9), 1, 9, { medianIndex: 4, maxDeviation: 1, replace: true }), RangeError, S, 'mean');
    expectCoded(() => checkMean(f32(1), f32(8), 1, 9, { medianIndex: 4, maxDeviation: 1, replace: true }), RangeError, S, 'quantiles');
  });

  it('bad rows / steps / levels / medianIndex -> RangeError TG_OUT_OF_RANGE', () => {
    const O = ErrorCode.OutOfRange;
    for (const rows of [0, 1.5, NaN, 2.5]) {
      expectCoded(() => scanBatch(f32(4), rows), RangeError, O, 'rows', `rows=${rows}`);
      expectCoded(() => computeScaling(f32(4), rows), RangeError, O, 'rows', `rows=${rows}`);
      expectCoded(() => applyScaling(f32(4), f64(2), f32(4), rows), RangeError, O, 'rows', `rows=${rows}`);
      expectCoded(() => impute(f32(4), 'ffill', f32(4), rows), RangeError, O, 'rows', `rows=${rows}`);
      expectCoded(() => convertF64ToF32(f64(4), rows), RangeError, O, 'rows', `rows=${rows}`);
    }
    expectCoded(() => impute(f32(4), 'ffill', f32(4), -1), RangeError, O, 'rows', 'rows=-1');
    expectCoded(() => repairQuantiles(f32(0), -1, 9), RangeError, O, 'steps');
    expectCoded(() => repairQuantiles(f32(9), 1.5, 6), RangeError, O, 'steps');
    expectCoded(() => repairQuantiles(f32(0), 0, 0), RangeError, O, 'levels');
    expectCoded(() => repairQuantiles(f32(1025), 1, 1025), RangeError, O, 'levels');
    const q = f32(9);
    expectCoded(() => checkMean(f32(1), q, 1, 9, { medianIndex: 9, maxDeviation: 1, replace: true }), RangeError, O, 'medianIndex');
    expectCoded(() => checkMean(f32(1), q, 1, 9, { medianIndex: -1, maxDeviation: 1, replace: true }), RangeError, O, 'medianIndex');
    expectCoded(() => checkMean(f32(1), q, 1, 9, { medianIndex: 4.5, maxDeviation: 1, replace: true }), RangeError, O, 'medianIndex');
    expectCoded(() => checkMean(f32(1), q, 1, 9, { medianIndex: 4, maxDeviation: NaN, replace: true }), RangeError, O, 'maxDeviation');
    expectCoded(() => checkMean(f32(1), q, 1, 9, { medianIndex: 4, maxDeviation: -0.5, replace: true }), RangeError, O, 'maxDeviation');
  });

  it('negative, infinite or huge rows -> RangeError TG_OUT_OF_RANGE, before any default buffer is allocated', () => {
    // scanBatch / computeScaling / convertF64ToF32 size a default output from rows before checking it
    const O = ErrorCode.OutOfRange;
    for (const rows of [-1, Infinity, -Infinity, 2 ** 40]) {
      expectCoded(() => scanBatch(f32(4), rows), RangeError, O, 'rows', `rows=${rows}`);
      expectCoded(() => computeScaling(f32(4), rows), RangeError, O, 'rows', `rows=${rows}`);
      expectCoded(() => convertF64ToF32(f64(4), rows), RangeError, O, 'rows', `rows=${rows}`);
    }
  });

  it('impute: an unknown method -> RangeError TG_OUT_OF_RANGE naming the method', () => {
    for (const m of ['cubic', '', 'FFILL', 'Linear', 0, 1, null]) {
      expectCoded(() => impute(f32(4), m as 'ffill'), RangeError, ErrorCode.OutOfRange, 'method', `method=${String(m)}`);
    }
  });

  it('impute: method names inherited from Object.prototype are unknown methods too', () => {
    for (const m of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expectCoded(() => impute(f32(4), m as 'ffill'), RangeError, ErrorCode.OutOfRange, 'method', `method=${String(m)}`);
    }
  });

  it('short outputs -> RangeError TG_BUFFER_TOO_SHORT naming the buffer', () => {
    const B = ErrorCode.BufferTooShort;
    expectCoded(() => scanInto(f32(4), f64(15)), RangeError, B, 'out');
    expectCoded(() => scanInto(f32(4), f64(31), 2), RangeError, B, 'out');
    expectCoded(() => computeScaling(f32(6), 3, f64(5)), RangeError, B, 'locScale');
    expectCoded(() => applyScaling(f32(6), f64(2), f32(6), 2), RangeError, B, 'locScale');
    expectCoded(() => applyScaling(f32(6), f64(2), f32(5)), RangeError, B, 'dst');
    expectCoded(() => invertScaling(f64(6), f64(2), f64(0)), RangeError, B, 'dst');
    expectCoded(() => impute(f64(6), 'linear', f64(5)), RangeError, B, 'dst');
    expectCoded(() => convertF64ToF32(f64(6), 1, f32(5)), RangeError, B, 'dst');
    expectCoded(() => convertF64ToF32Into(f64(6), f32(6), f64(7), 2), RangeError, B, 'report');
    expectCoded(() => repairQuantilesInto(f32(9), 1, 9, f64(2)), RangeError, B, 'report');
  });

  it('lo > hi -> RangeError TG_INVALID_BOUNDS; a NaN bound -> RangeError TG_OUT_OF_RANGE', () => {
    expectCoded(() => scan(f32(4), { lo: 1, hi: 0 }), RangeError, ErrorCode.InvalidBounds, /lo/);
    expectCoded(() => scan(f64(4), { lo: Infinity, hi: -Infinity }), RangeError, ErrorCode.InvalidBounds, /lo/);
    expectCoded(() => scanBatch(f64(4), 2, { lo: 0.2, hi: 0.1 }), RangeError, ErrorCode.InvalidBounds, /hi/);
    expectCoded(() => scan(f32(4), { lo: NaN }), RangeError, ErrorCode.OutOfRange, 'lo');
    expectCoded(() => scan(f32(4), { hi: NaN }), RangeError, ErrorCode.OutOfRange, 'hi');
    expectCoded(() => scanInto(f32(4), f64(16), 1, 0, NaN), RangeError, ErrorCode.OutOfRange, 'hi');
  });

  it('src / dst of different element types -> TypeError TG_DTYPE_MISMATCH', () => {
    const D = ErrorCode.DtypeMismatch;
    expectCoded(() => applyScaling(f32(4), f64(2), f64(4) as unknown as Float32Array), TypeError, D, 'dst');
    expectCoded(() => invertScaling(f64(4), f64(2), f32(4) as unknown as Float64Array), TypeError, D, 'dst');
    expectCoded(() => impute(f64(4), 'ffill', f32(4) as unknown as Float64Array), TypeError, D, 'dst');
  });

  it('a non-finite loc or a zero / non-finite scale -> RangeError TG_OUT_OF_RANGE naming locScale and the row', () => {
    for (const ls of [[NaN, 1], [0, 0], [0, -0], [Infinity, 1], [0, Infinity], [0, NaN]]) {
      for (const fn of [applyScaling, invertScaling]) {
        expectCoded(() => fn(f32(4), new Float64Array(ls)), RangeError, ErrorCode.OutOfRange, /locScale row 0/);
        expectCoded(() => fn(f64(4), new Float64Array([0, 1, ...ls]), f64(4), 2), RangeError, ErrorCode.OutOfRange, /locScale row 1/);
      }
    }
    // nothing was written before the check failed
    const data = new Float64Array([1, 2, 3, 4]);
    expect(() => applyScaling(data, new Float64Array([0, 2, 0, 0]), data, 2)).toThrow(RangeError);
    expect(Array.from(data)).toEqual([1, 2, 3, 4]);
  });
});

describe('wrappers: detached buffers -> TypeError TG_DETACHED_BUFFER', () => {
  const D = ErrorCode.DetachedBuffer;

  it('detached inputs', () => {
    expectCoded(() => scan(detached(() => f32(8))), TypeError, D, 'data');
    expectCoded(() => scanBatch(detached(() => f64(8)), 2), TypeError, D, 'data');
    expectCoded(() => computeScaling(detached(() => f64(8))), TypeError, D, 'data');
    expectCoded(() => applyScaling(detached(() => f32(8)), f64(2)), TypeError, D, 'src');
    expectCoded(() => invertScaling(detached(() => f64(8)), f64(2)), TypeError, D, 'src');
    expectCoded(() => impute(detached(() => f32(8)), 'linear'), TypeError, D, 'src');
    expectCoded(() => convertF64ToF32(detached(() => f64(8))), TypeError, D, 'src');
    expectCoded(() => repairQuantiles(detached(() => f32(0)), 0, 9), TypeError, D, 'quantiles');
  });

  it('a detached view of a shared buffer (subarray) is caught too', () => {
    const whole = new Float64Array(32);
    const view = whole.subarray(3, 11);
    structuredClone(whole.buffer, { transfer: [whole.buffer] });
    expectCoded(() => scan(view), TypeError, D, 'data');
  });

  // A detached view reports length 0, so a length check made before the detachment check answers
  // TG_BUFFER_TOO_SHORT / TG_SHAPE_MISMATCH instead; the addon itself says TG_DETACHED_BUFFER.
  it('detached outputs and parameter buffers', () => {
    expectCoded(() => scanInto(f32(8), detached(() => f64(16))), TypeError, D, 'out');
    expectCoded(() => computeScaling(f32(8), 1, detached(() => f64(2))), TypeError, D, 'locScale');
    expectCoded(() => applyScaling(f32(8), detached(() => f64(2))), TypeError, D, 'locScale');
    expectCoded(() => applyScaling(f32(8), f64(2), detached(() => f32(8))), TypeError, D, 'dst');
    expectCoded(() => invertScaling(f64(8), f64(2), detached(() => f64(8))), TypeError, D, 'dst');
    expectCoded(() => impute(f64(8), 'ffill', detached(() => f64(8))), TypeError, D, 'dst');
    expectCoded(() => convertF64ToF32(f64(8), 1, detached(() => f32(8))), TypeError, D, 'dst');
    expectCoded(() => convertF64ToF32Into(f64(8), f32(8), detached(() => f64(4))), TypeError, D, 'report');
    expectCoded(() => repairQuantilesInto(f32(9), 1, 9, detached(() => f64(3))), TypeError, D, 'report');
  });

  it('detached quantile and mean buffers with steps > 0', () => {
    expectCoded(() => repairQuantiles(detached(() => f32(9)), 1, 9), TypeError, D, 'quantiles');
    expectCoded(() => checkMean(detached(() => f32(1)), f32(9), 1, 9, { medianIndex: 4, maxDeviation: 1, replace: true }), TypeError, D, 'mean');
    expectCoded(() => checkMean(f32(1), detached(() => f32(9)), 1, 9, { medianIndex: 4, maxDeviation: 1, replace: true }), TypeError, D, 'quantiles');
  });
});

describe('the raw addon rejects bad arguments with the same typed errors', () => {
  const A = addon();
  const I = ErrorCode.InvalidArgument;
  const O = ErrorCode.OutOfRange;

  it('missing arguments', () => {
    const calls: [string, () => unknown][] = [
      ['scan', () => (A.scan as unknown as () => void)()],
      ['scan', () => (A.scan as unknown as (...a: unknown[]) => void)(f32(4), 1, 0, 1)],
      ['computeScaling', () => (A.computeScaling as unknown as (...a: unknown[]) => void)(f32(4), 1)],
      ['applyScaling', () => (A.applyScaling as unknown as (...a: unknown[]) => void)(f32(4), 1, f64(2))],
      ['invertScaling', () => (A.invertScaling as unknown as () => void)()],
      ['convertF64ToF32', () => (A.convertF64ToF32 as unknown as (...a: unknown[]) => void)(f64(4))],
      ['impute', () => (A.impute as unknown as (...a: unknown[]) => void)(f64(4), 1, 0)],
      ['repairQuantiles', () => (A.repairQuantiles as unknown as (...a: unknown[]) => void)(f32(9), 1, 9)],
      ['checkMean', () => (A.checkMean as unknown as (...a: unknown[]) => void)(f32(1), f32(9), 1, 9, 4, 1)],
    ];
    for (const [name, call] of calls) expectCoded(call, TypeError, I, new RegExp(`${name} expects \\d+ arguments`));
  });

  it('wrong types, named', () => {
    for (const [, bad] of WRONG_ARRAYS) {
      const b = bad as Float32Array;
      expectCoded(() => A.scan(b, 1, -Infinity, Infinity, f64(16)), TypeError, I, 'data');
      expectCoded(() => A.scan(f32(4), 1, -Infinity, Infinity, bad as Float64Array), TypeError, I, 'out');
      expectCoded(() => A.computeScaling(b, 1, f64(2)), TypeError, I, 'data');
      expectCoded(() => A.applyScaling(b, 1, f64(2), f32(4)), TypeError, I, 'src');
      expectCoded(() => A.invertScaling(f32(4), 1, bad as Float64Array, f32(4)), TypeError, I, 'locScale');
      expectCoded(() => A.applyScaling(f32(4), 1, f64(2), b), TypeError, I, 'dst');
      expectCoded(() => A.convertF64ToF32(bad as Float64Array, 1, f32(4), f64(4)), TypeError, I, 'src');
      expectCoded(() => A.impute(b, 1, 0, f32(4)), TypeError, I, 'src');
      expectCoded(() => A.repairQuantiles(b, 1, 9, f64(3)), TypeError, I, 'quantiles');
      expectCoded(() => A.checkMean(b, f32(9), 1, 9, 4, 1, true), TypeError, I, 'mean');
    }
    expectCoded(() => A.scan(f32(4), 1, -Infinity, Infinity, f32(16) as unknown as Float64Array), TypeError, I, 'out');
    expectCoded(() => A.convertF64ToF32(f32(4) as unknown as Float64Array, 1, f32(4), f64(4)), TypeError, I, 'src');
    expectCoded(() => A.convertF64ToF32(f64(4), 1, f64(4) as unknown as Float32Array, f64(4)), TypeError, I, 'dst');
    expectCoded(() => A.repairQuantiles(f64(9) as unknown as Float32Array, 1, 9, f64(3)), TypeError, I, 'quantiles');
    for (const rows of ['1', null, undefined, {}, [1], 1n, Symbol('x')]) {
      expectCoded(() => A.scan(f32(4), rows as number, -Infinity, Infinity, f64(16)), TypeError, I, 'rows');
      expectCoded(() => A.impute(f32(4), rows as number, 0, f32(4)), TypeError, I, 'rows');
    }
    expectCoded(() => A.scan(f32(4), 1, '0' as unknown as number, 1, f64(16)), TypeError, I, 'lo');
    expectCoded(() => A.scan(f32(4), 1, 0, undefined as unknown as number, f64(16)), TypeError, I, 'hi');
    expectCoded(() => A.impute(f32(4), 1, 'ffill' as unknown as number, f32(4)), TypeError, I, 'method');
    expectCoded(() => A.checkMean(f32(1), f32(9), 1, 9, 4, '1' as unknown as number, true), TypeError, I, 'maxDeviation');
  });

  it('non-integer, zero, negative or huge counts', () => {
    for (const rows of [0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 32 + 1, 2 ** 64]) {
      expectCoded(() => A.scan(f32(4), rows, -Infinity, Infinity, f64(64)), RangeError, O, 'rows', `rows=${rows}`);
      expectCoded(() => A.computeScaling(f32(4), rows, f64(8)), RangeError, O, 'rows', `rows=${rows}`);
      expectCoded(() => A.applyScaling(f32(4), rows, f64(8), f32(4)), RangeError, O, 'rows', `rows=${rows}`);
      expectCoded(() => A.invertScaling(f64(4), rows, f64(8), f64(4)), RangeError, O, 'rows', `rows=${rows}`);
      expectCoded(() => A.convertF64ToF32(f64(4), rows, f32(4), f64(16)), RangeError, O, 'rows', `rows=${rows}`);
      expectCoded(() => A.impute(f32(4), rows, 0, f32(4)), RangeError, O, 'rows', `rows=${rows}`);
    }
    for (const method of [-1, 2, 0.5, NaN]) expectCoded(() => A.impute(f32(4), 1, method, f32(4)), RangeError, O, 'method');
    expectCoded(() => A.repairQuantiles(f32(0), -1, 9, f64(3)), RangeError, O, 'steps');
    expectCoded(() => A.repairQuantiles(f32(0), 0, 0, f64(3)), RangeError, O, 'levels');
    expectCoded(() => A.repairQuantiles(f32(1025), 1, 1025, f64(3)), RangeError, O, 'levels');
    expectCoded(() => A.checkMean(f32(1), f32(9), 1, 9, 9, 1, true), RangeError, O, 'medianIndex');
    expectCoded(() => A.checkMean(f32(1), f32(9), 1, 9, 4, NaN, true), RangeError, O, 'maxDeviation');
    expectCoded(() => A.checkMean(f32(1), f32(9), 1, 9, 4, -1, true), RangeError, O, 'maxDeviation');
    expectCoded(() => A.scan(f32(4), 1, NaN, 1, f64(16)), RangeError, O, 'lo');
    expectCoded(() => A.scan(f32(4), 1, 0, NaN, f64(16)), RangeError, O, 'hi');
    expectCoded(() => A.scan(f32(4), 1, 2, 1, f64(16)), RangeError, ErrorCode.InvalidBounds, /lo/);
    expectCoded(() => A.applyScaling(f32(4), 1, new Float64Array([0, 0]), f32(4)), RangeError, O, /locScale/);
  });

  it('shapes and short buffers', () => {
    const S = ErrorCode.ShapeMismatch;
    const B = ErrorCode.BufferTooShort;
    expectCoded(() => A.scan(f32(5), 2, -Infinity, Infinity, f64(32)), RangeError, S, 'data');
    expectCoded(() => A.applyScaling(f64(5), 2, f64(4), f64(5)), RangeError, S, 'src');
    expectCoded(() => A.repairQuantiles(f32(10), 1, 9, f64(3)), RangeError, S, 'quantiles');
    expectCoded(() => A.checkMean(f32(2), f32(9), 1, 9, 4, 1, true), RangeError, S, 'mean');
    expectCoded(() => A.scan(f32(4), 1, -Infinity, Infinity, f64(15)), RangeError, B, 'out');
    expectCoded(() => A.scan(new Float32Array(0), 2 ** 32, -Infinity, Infinity, f64(16)), RangeError, B, 'out');
    expectCoded(() => A.computeScaling(f32(4), 2, f64(3)), RangeError, B, 'locScale');
    expectCoded(() => A.applyScaling(f32(4), 1, f64(1), f32(4)), RangeError, B, 'locScale');
    expectCoded(() => A.invertScaling(f32(4), 1, f64(2), f32(3)), RangeError, B, 'dst');
    expectCoded(() => A.convertF64ToF32(f64(4), 1, f32(3), f64(4)), RangeError, B, 'dst');
    expectCoded(() => A.convertF64ToF32(f64(4), 2, f32(4), f64(7)), RangeError, B, 'report');
    expectCoded(() => A.impute(f64(4), 1, 1, f64(3)), RangeError, B, 'dst');
    expectCoded(() => A.repairQuantiles(f32(9), 1, 9, f64(2)), RangeError, B, 'report');
    expectCoded(() => A.impute(f64(4), 1, 1, f32(4) as unknown as Float64Array), TypeError, ErrorCode.DtypeMismatch, 'dst');
    expectCoded(() => A.applyScaling(f32(4), 1, f64(2), f64(4) as unknown as Float32Array), TypeError, ErrorCode.DtypeMismatch, 'dst');
  });

  it('detached buffers, in every position', () => {
    const D = ErrorCode.DetachedBuffer;
    const d32 = (n: number): Float32Array => detached(() => f32(n));
    const d64 = (n: number): Float64Array => detached(() => f64(n));
    expectCoded(() => A.scan(d32(4), 1, -Infinity, Infinity, f64(16)), TypeError, D, 'data');
    expectCoded(() => A.scan(f32(4), 1, -Infinity, Infinity, d64(16)), TypeError, D, 'out');
    expectCoded(() => A.computeScaling(d64(4), 1, f64(2)), TypeError, D, 'data');
    expectCoded(() => A.computeScaling(f64(4), 1, d64(2)), TypeError, D, 'locScale');
    expectCoded(() => A.applyScaling(d32(4), 1, f64(2), f32(4)), TypeError, D, 'src');
    expectCoded(() => A.applyScaling(f32(4), 1, d64(2), f32(4)), TypeError, D, 'locScale');
    expectCoded(() => A.invertScaling(f32(4), 1, f64(2), d32(4)), TypeError, D, 'dst');
    expectCoded(() => A.convertF64ToF32(d64(4), 1, f32(4), f64(4)), TypeError, D, 'src');
    expectCoded(() => A.convertF64ToF32(f64(4), 1, d32(4), f64(4)), TypeError, D, 'dst');
    expectCoded(() => A.convertF64ToF32(f64(4), 1, f32(4), d64(4)), TypeError, D, 'report');
    expectCoded(() => A.impute(d64(4), 1, 0, f64(4)), TypeError, D, 'src');
    expectCoded(() => A.impute(f64(4), 1, 0, d64(4)), TypeError, D, 'dst');
    expectCoded(() => A.repairQuantiles(d32(9), 1, 9, f64(3)), TypeError, D, 'quantiles');
    expectCoded(() => A.repairQuantiles(f32(9), 1, 9, d64(3)), TypeError, D, 'report');
    expectCoded(() => A.checkMean(d32(1), f32(9), 1, 9, 4, 1, true), TypeError, D, 'mean');
    expectCoded(() => A.checkMean(f32(1), d32(9), 1, 9, 4, 1, true), TypeError, D, 'quantiles');
  });

  it('survives random garbage in every argument position (throws coded errors or works)', () => {
    const codes = new Set<string>(Object.values(ErrorCode));
    const argArb = fc.oneof(
      fc.constantFrom<() => unknown>(
        () => f32(4),
        () => f64(4),
        () => f64(16),
        () => f64(64),
        () => new Float32Array(0),
        () => f32(9),
        () => f64(2),
        () => detached(() => f32(4)),
        () => detached(() => f64(16)),
        () => new Int16Array(4),
        () => new Float64Array(new SharedArrayBuffer(128)),
        () => f64(40).subarray(3, 19),
        () => 0,
        () => 1,
        () => 2,
        () => 4,
        () => 9,
        () => 1.5,
        () => -1,
        () => NaN,
        () => Infinity,
        () => 2 ** 32,
        () => 2 ** 53,
        () => 'x',
        () => null,
        () => undefined,
        () => ({}),
        () => [1, 2],
        () => true,
        () => 10n,
        () => Symbol('s'),
        () => () => 1,
      ),
      fc.anything().map((v) => () => v),
    );
    const fns = ['scan', 'computeScaling', 'applyScaling', 'invertScaling', 'convertF64ToF32', 'impute', 'repairQuantiles', 'checkMean'] as const;
    fc.assert(
      fc.property(fc.constantFrom(...fns), fc.array(argArb, { maxLength: 8 }), (name, makers) => {
        const args = makers.map((m) => m());
        try {
          (A[name] as unknown as (...a: unknown[]) => unknown)(...args);
        } catch (err) {
          const e = err as Error & { code?: string };
          expect(e instanceof TypeError || e instanceof RangeError, `${name}: ${String(e)}`).toBe(true);
          expect(codes.has(e.code!), `${name}: code ${e.code} of "${e.message}"`).toBe(true);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('still works after all that', () => {
    const out = new Float64Array(16);
    A.scan(new Float64Array([1, 2, 3, NaN]), 1, -Infinity, Infinity, out);
    expect(out[0]).toBe(4);
    expect(out[8]).toBe(2);
    expect(scan(new Float32Array([1, NaN, 3])).mean).toBe(2);
  });
});

describe('the wrapper and the addon classify the same bad argument alike', () => {
  // errors.ts: "callers branch on err.code whichever side detected the problem"
  function classify(fn: () => unknown): string {
    try {
      fn();
      return 'ok';
    } catch (err) {
      const e = err as Error & { code?: string };
      return `${e.constructor.name} ${String(e.code)}`;
    }
  }
  const A = addon();
  const cases: [string, () => unknown, () => unknown][] = [
    ['rows as a string', () => scanBatch(f32(4), '2' as unknown as number), () => A.scan(f32(4), '2' as unknown as number, -Infinity, Infinity, f64(32))],
    ['rows = null', () => computeScaling(f32(4), null as unknown as number), () => A.computeScaling(f32(4), null as unknown as number, f64(2))],
    ['rows = 0', () => scanBatch(f32(4), 0), () => A.scan(f32(4), 0, -Infinity, Infinity, f64(16))],
    ['rows = 2.5', () => convertF64ToF32(f64(4), 2.5), () => A.convertF64ToF32(f64(4), 2.5, f32(4), f64(16))],
    ['a detached data', () => scan(detached(() => f32(4))), () => A.scan(detached(() => f32(4)), 1, -Infinity, Infinity, f64(16))],
    ['steps as a string', () => repairQuantiles(f32(9), '1' as unknown as number, 9), () => A.repairQuantiles(f32(9), '1' as unknown as number, 9, f64(3))],
    ['lo as a string', () => scan(f32(4), { lo: 'a' as unknown as number }), () => A.scan(f32(4), 1, 'a' as unknown as number, Infinity, f64(16))],
  ];
  it.each(cases)('%s', (_, viaWrapper, viaAddon) => {
    expect(classify(viaWrapper)).toBe(classify(viaAddon));
  });
});
