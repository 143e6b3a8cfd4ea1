/**
 * The addon's boundary under a hostile caller (issue 10, finding 11): every export, called
 * straight (no TypeScript checks) with wrong types, missing arguments, Proxies, SharedArrayBuffer
 * and detached views, odd receivers, without `new`, and with polluted prototypes. Whatever it
 * throws (or a run rejects with) must be an Error carrying its own string `code` starting with
 * TG_, and the process must not abort (vitest reports a crashed fork as a failure).
 */
import * as fs from 'node:fs';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { addon } from '../lib/native/addon';
import { runtimeInfo } from '../lib/native/runtime';
import { modelPath, sha256 } from './model-fixtures';

type Fn = (...args: unknown[]) => unknown;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

/** Why `err` is not a properly coded error, or null when it is. */
function codeProblem(err: unknown): string | null {
  if (!(err instanceof Error)) return `threw a non-Error: ${String(err)}`;
  if (!Object.prototype.hasOwnProperty.call(err, 'code')) return `${err.name} without an own code: ${err.message}`;
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string' || !code.startsWith('TG_')) return `code ${String(code)}: ${err.message}`;
  return null;
}

/** The coded error `fn` throws (the test fails on an uncoded one), or undefined. */
function thrown(fn: () => unknown): (Error & { code: string; cause?: unknown }) | undefined {
  try {
    fn();
  } catch (err) {
    const problem = codeProblem(err);
    if (problem) expect.fail(problem);
    return err as Error & { code: string };
  }
  return undefined;
}

function sharedF32(n: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(n * 4));
}

function detached<T extends ArrayBufferView>(v: T): T {
  structuredClone(v.buffer, { transfer: [v.buffer as ArrayBuffer] });
  return v;
}

const throwingTraps: ProxyHandler<object> = {
  get() {
    throw new Error('get trap');
  },
  has() {
    throw new Error('has trap');
  },
  getOwnPropertyDescriptor() {
    throw new Error('getOwnPropertyDescriptor trap');
  },
  ownKeys() {
    throw new Error('ownKeys trap');
  },
  getPrototypeOf() {
    throw new Error('getPrototypeOf trap');
  },
};

/** Fresh hostile values (views are mutated, detached or shared by the calls). */
function hostileValues(): unknown[] {
  const revoked = Proxy.revocable({}, {});
  revoked.revoke();
  const resizable = new (ArrayBuffer as Any)(64, { maxByteLength: 256 }) as ArrayBuffer;
  return [
    undefined, null, true, false, 0, -0, -1, 1, 2, 4, 9, 1.5, 2 ** 32, 2 ** 53, NaN, Infinity, -Infinity, 1e308,
    '', '1', 'TG_', 'a'.repeat(70_000), Symbol('s'), 10n,
    {}, [], [1, 2, 3], () => 1, new Date(0), /x/, new Error('x'), Object.create(null),
    new Proxy({}, throwingTraps), new Proxy(new Float32Array(16), {}), new Proxy(new Float32Array(16), throwingTraps), revoked.proxy,
    { valueOf() { throw new Error('valueOf'); }, toString() { throw new Error('toString'); }, [Symbol.toPrimitive]() { throw new Error('toPrimitive'); } },
    { get length() { throw new Error('length getter'); } },
    new Float32Array(0), new Float32Array(16), new Float32Array(17), new Float32Array(18), new Float64Array(16), new Float64Array(256),
    Float32Array.of(NaN, Infinity, -Infinity, 3.4e38), sharedF32(16), new Float64Array(new SharedArrayBuffer(256 * 8)),
    new Uint8Array(new SharedArrayBuffer(16)), new Int32Array(16), new Uint8Array(16), new Uint8ClampedArray(16), new BigInt64Array(4),
    new DataView(new ArrayBuffer(64)), new ArrayBuffer(64), new SharedArrayBuffer(64), Buffer.alloc(64),
    detached(new Float32Array(16)), detached(new Float64Array(16)), new Float32Array(new ArrayBuffer(68), 4, 16),
    new Float32Array(resizable), new Float64Array(resizable),
  ];
}

/** Each export with arguments that work, so that a sweep can spoil one of them at a time. */
function validArgs(): Record<string, () => unknown[]> {
  const io = () => {
    const p = new Float64Array(16 + 4);
    p.set([1, 1, 9, 4, 2, 0]);
    p.set([100, 1, 90, 110], 16);
    return p;
  };
  return {
    scan: () => [new Float32Array(16), 1, 0, 1, new Float64Array(64)],
    assessSeries: () => [new Float64Array(16), 2, -1, 1, new Float64Array(64)],
    computeScaling: () => [new Float32Array(16), 1, new Float64Array(2)],
    applyScaling: () => [new Float32Array(16), 1, Float64Array.of(0, 1), new Float32Array(16)],
    invertScaling: () => [new Float64Array(16), 2, Float64Array.of(0, 1, 2, 3), new Float64Array(16)],
    convertF64ToF32: () => [new Float64Array(16), 1, new Float32Array(16), new Float64Array(4)],
    impute: () => [Float32Array.of(1, NaN, 3, 4), 1, 1, new Float32Array(4)],
    repairQuantiles: () => [new Float32Array(18), 2, 9, new Float64Array(3)],
    checkMean: () => [new Float32Array(2), new Float32Array(18), 2, 9, 4, 0.5, true],
    checkForecast: () => [new Float32Array(9), new Float32Array(1), io()],
    chainHash: () => ['0'.repeat(64), '{"a":1}'],
    cpuFeatures: () => [],
    setSimd: () => [false],
    loadRuntime: () => [runtimeInfo().path],
    runtimeInfo: () => [],
  };
}

let a: Any;
let simdBefore: boolean;
let bytes: Uint8Array;
let sha: string;
const problems: string[] = [];
let calls = 0;

/** Calls fn with `self` and args; records any uncoded error (or rejection) with `what`. */
async function probe(what: string, fn: Fn, self: unknown, args: unknown[]): Promise<void> {
  calls++;
  let result: unknown;
  try {
    result = Reflect.apply(fn, self, args);
  } catch (err) {
    const p = codeProblem(err);
    if (p) problems.push(`${what}: ${p}`);
    return;
  }
  if (result instanceof Promise) {
    try {
      await result;
    } catch (err) {
      const p = codeProblem(err);
      if (p) problems.push(`${what} (rejection): ${p}`);
    }
  }
}

function label(v: unknown): string {
  if (typeof v === 'symbol' || typeof v === 'bigint') return typeof v;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.byteLength}B${v.buffer instanceof SharedArrayBuffer ? ', shared' : ''})`;
  if (typeof v === 'string') return v.length > 12 ? `string(${v.length})` : JSON.stringify(v);
  try {
    return typeof v === 'object' && v !== null ? (Object.getPrototypeOf(v)?.constructor?.name ?? 'object') : String(v);
  } catch {
    return 'proxy';
  }
}

function report(): void {
  console.log(`${calls} hostile calls so far`);
  expect(problems.slice(0, 25), `${problems.length} uncoded errors in ${calls} calls`).toEqual([]);
}

beforeAll(() => {
  runtimeInfo(); // ONNX Runtime loaded: loadRuntime and sessions answer as in use
  a = addon();
  simdBefore = a.cpuFeatures().simd;
  bytes = new Uint8Array(fs.readFileSync(modelPath('quantile-ok')));
  sha = sha256(bytes);
});

afterAll(() => {
  a.setSimd(simdBefore);
});

describe('the addon functions', () => {
  it('every argument position, every hostile value, every arity: coded errors only', async () => {
    problems.length = 0;
    for (const [name, make] of Object.entries(validArgs())) {
      const fn = a[name] as Fn;
      const arity = make().length;
      await probe(`${name}(valid)`, fn, a, make());
      for (let k = 0; k < arity; k++) await probe(`${name} with ${k} arguments`, fn, a, make().slice(0, k));
      for (let i = 0; i < Math.max(arity, 1); i++) {
        for (const h of hostileValues()) {
          const args = make();
          args[i] = h;
          await probe(`${name} argument ${i} = ${label(h)}`, fn, a, args);
        }
      }
      // The receiver is irrelevant to these (per-thread state lives in the addon's instance data).
      for (const self of [undefined, null, 1, {}, new Proxy({}, throwingTraps)]) await probe(`${name} on ${label(self)}`, fn, self, make());
      a.setSimd(simdBefore);
    }
    report();
  });

  it('random combinations of hostile values: coded errors only', async () => {
    problems.length = 0;
    const names = Object.keys(validArgs());
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...names),
        fc.array(fc.nat({ max: hostileValues().length - 1 }), { maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        async (name, picks, keep) => {
          const valid = validArgs()[name]!();
          const hostile = hostileValues();
          const args = picks.map((p, i) => (keep[i] && i < valid.length ? valid[i] : hostile[p]));
          await probe(`${name}(${args.map(label).join(', ')})`, a[name] as Fn, a, args);
          a.setSimd(simdBefore);
        },
      ),
      { numRuns: 1500 },
    );
    report();
  });

  it('errors keep their own code when a prototype plants a `code` setter or throws from one', () => {
    const saved = Object.getOwnPropertyDescriptor(Object.prototype, 'code');
    try {
      // Swallowed: a plain assignment of err.code would go to this setter and leave no code.
      Object.defineProperty(Object.prototype, 'code', { configurable: true, get: () => undefined, set: () => {} });
      expect(thrown(() => a.scan())?.code).toBe('TG_INVALID_ARGUMENT');
      expect(thrown(() => a.checkForecast(new Float32Array(8), null, new Float64Array(20).fill(1)))?.code).toBeDefined();
      // Throwing: an assignment would throw this error from inside the addon's error path.
      Object.defineProperty(Object.prototype, 'code', { configurable: true, get: () => undefined, set: () => { throw new Error('planted'); } });
      expect(thrown(() => a.impute(new Float32Array(4), 3, 0, new Float32Array(4)))?.code).toBe('TG_SHAPE_MISMATCH');
      expect(thrown(() => a.NativeSession())?.code).toBe('TG_INVALID_ARGUMENT');
    } finally {
      delete (Object.prototype as Any).code;
      if (saved) Object.defineProperty(Object.prototype, 'code', saved);
    }
  });
});

describe('NativeSession', () => {
  it('called without new, or constructed with hostile arguments and options: coded errors only', async () => {
    problems.length = 0;
    const NS = a.NativeSession as Fn;
    expect(thrown(() => NS(bytes, sha))?.code).toBe('TG_INVALID_ARGUMENT');
    expect(thrown(() => NS.call({}, bytes, sha))?.code).toBe('TG_INVALID_ARGUMENT');
    const construct = (...args: unknown[]) => Reflect.construct(NS, args);
    const make = (): unknown[] => [bytes, sha, {}];
    for (let k = 0; k < 3; k++) await probe(`new NativeSession with ${k} arguments`, construct, undefined, make().slice(0, k));
    for (let i = 0; i < 3; i++) {
      for (const h of hostileValues()) {
        const args = make();
        args[i] = h;
        await probe(`new NativeSession argument ${i} = ${label(h)}`, construct, undefined, args);
      }
    }
    // Each option spoiled, read through a getter, or behind a Proxy.
    for (const key of ['intraOpThreads', 'interOpThreads', 'deterministic', 'allowSpinning', 'deviceId', 'graphOptimizationLevel', 'provider', 'providerPolicy']) {
      for (const h of [-1, 1.5, 2 ** 40, NaN, 'x', Symbol('s'), 10n, {}, new Proxy({}, throwingTraps)]) {
        await probe(`option ${key} = ${label(h)}`, construct, undefined, [bytes, sha, { [key]: h }]);
      }
      const err = thrown(() => construct(bytes, sha, Object.defineProperty({}, key, { get: () => { throw new RangeError('mine'); } })));
      expect(err?.code, key).toBe('TG_INVALID_ARGUMENT');
      expect((err?.cause as Error).message).toBe('mine');
    }
    await probe('options Proxy with throwing traps', construct, undefined, [bytes, sha, new Proxy({}, throwingTraps)]);
    await probe('options revoked Proxy', construct, undefined, [bytes, sha, Proxy.revocable({}, {}).proxy]);
    // Subclassed and with another new.target: still a working session.
    const sub = Reflect.construct(NS, [bytes, sha], class Other {}) as Any;
    expect(sub.constructor.name).toBe('Other');
    report();
  });

  it('refuses model bytes over a SharedArrayBuffer (they could change after their sha256 was checked)', () => {
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
    shared.set(bytes);
    const err = thrown(() => new a.NativeSession(shared, sha));
    expect(err?.code).toBe('TG_INVALID_ARGUMENT');
    expect(err?.message).toMatch(/SharedArrayBuffer/);
    // The same bytes in an ordinary buffer load.
    expect(new a.NativeSession(bytes.slice(), sha).closed).toBe(false);
  });

  it('every method and getter on a hostile receiver, and on live and closed sessions with hostile arguments', async () => {
    problems.length = 0;
    const NS = a.NativeSession as Any;
    const live = new NS(bytes, sha);
    const closed = new NS(bytes, sha);
    closed.close();
    const proto = NS.prototype;
    const members = Object.getOwnPropertyNames(proto).filter((n) => n !== 'constructor');
    expect(members).toEqual(expect.arrayContaining(['run', 'runSync', 'close', 'inputs', 'outputs', 'provider', 'closed']));
    const receivers = [undefined, null, 0, 'x', Symbol('s'), {}, [], proto, Object.create(proto), new Proxy(live, {}), new Proxy(live, throwingTraps), () => 1, new Float32Array(4), a];
    const runArgs = (): unknown[] => [new Float32Array(64).fill(1), 1, new Float32Array(288), 1000];
    for (const name of members) {
      const d = Object.getOwnPropertyDescriptor(proto, name)!;
      const fn = (d.get ?? d.value) as Fn;
      expect(typeof fn, name).toBe('function');
      for (const self of receivers) await probe(`${name} on ${label(self)}`, fn, self, runArgs());
      // A method called as a constructor gets a fresh receiver that is not a session.
      await probe(`new ${name}`, (...args: unknown[]) => Reflect.construct(fn, args), undefined, runArgs());
      await probe(`${name} on a closed session`, fn, closed, runArgs());
      if (d.value && name !== 'close') {
        for (let k = 0; k < 4; k++) await probe(`${name} with ${k} arguments`, fn, live, runArgs().slice(0, k));
        for (let i = 0; i < 4; i++) {
          for (const h of hostileValues()) {
            const args = runArgs();
            args[i] = h;
            await probe(`${name} argument ${i} = ${label(h)}`, fn, live, args);
          }
        }
      }
    }
    expect(thrown(() => Object.getOwnPropertyDescriptor(proto, 'inputs')!.get!.call({}))?.code).toBe('TG_INVALID_ARGUMENT');
    expect(thrown(() => proto.run.call({}, ...runArgs()))?.code).toBe('TG_INVALID_ARGUMENT');
    expect(thrown(() => closed.runSync(...runArgs().slice(0, 3)))?.code).toBe('TG_SESSION_CLOSED');
    // The live session still works after all that.
    const out = new Float32Array(288);
    live.runSync(new Float32Array(64).fill(1), 1, out);
    expect(out.every(Number.isFinite)).toBe(true);
    live.close();
    report();
  });
});
