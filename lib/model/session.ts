/**
 * A model session: the manifest's contract, the bytes verified by sha256 before ONNX Runtime
 * sees them, and zero-copy sync and async runs in the addon (native/ort/session.cc).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

import { codedError, ErrorCode, rangeError } from '../errors';
import { assertAttached, assertFloat32, assertInteger, assertLength, assertNumber } from '../kernels/validate';
import { addon } from '../native/addon';
import { runtimeInfo } from '../native/runtime';
import { loadManifest, type LoadedManifest, type TensorSpec } from './manifest';

export interface SessionOptions {
  /** Threads inside one operator. Default 1: predictable latency beside a trading engine. */
  intraOpThreads?: number;
  /** Threads across operators (parallel execution mode when > 1). Default 1. */
  interOpThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Same input, same threads: bit-identical output (ONNX Runtime's deterministic compute,
   * sequential execution). */
  deterministic?: boolean;
  /** Let idle pool threads spin (lower wake-up latency, busy cores). Default false. */
  allowSpinning?: boolean;
  provider?: 'cpu' | 'cuda';
  deviceId?: number;
  /** When the provider cannot start: `require` throws TG_PROVIDER_UNAVAILABLE, `prefer` (the
   * default) runs on the CPU and says so in `provider` / `providerFallbackReason`. */
  providerPolicy?: 'require' | 'prefer';
  /**
   * How long (microseconds from the call) the event loop keeps polling for an async run's
   * outcome instead of sleeping until it is woken. Polling turns the loop with setImmediate, so
   * other callbacks still run; it saves the wake-up of a sleeping thread (tens of microseconds on
   * a VM, BENCHMARKS.md) at the cost of a busy JS thread while the run lasts. 0: never poll.
   * Default 2000 (a batch of 64 of the shipped model runs in about 1.2 ms).
   */
  asyncSpinUs?: number;
}

export const DEFAULT_ASYNC_SPIN_US = 2000;

/**
 * @internal For a caller that owns the output buffer alone until the run has ended (the
 * guardian's own result buffers, a rollout's private patch): the run writes the model's output
 * straight into it instead of into a copy written back at the end. Nothing else may hold, change
 * or detach that buffer meanwhile, even after a timeout (the run may still be writing). Not
 * exported from the package: no public caller can promise that.
 */
export const RUN_IN_PLACE: unique symbol = Symbol('tirex-guardian.runInPlace');

export interface RunOptions {
  /** Cancels the run through ONNX Runtime's run options after this many ms (queueing included). */
  timeoutMs?: number;
  /** A preallocated output of outputLength(batch) floats; filled in place. */
  output?: Float32Array;
  /** @internal See RUN_IN_PLACE. */
  [RUN_IN_PLACE]?: boolean;
}

/** Metadata of one graph input or output as ONNX Runtime reports it. */
export interface GraphTensor {
  name: string;
  dtype: string;
  shape: (number | string | null)[];
}

interface NativeSession {
  readonly inputs: GraphTensor[];
  readonly outputs: GraphTensor[];
  readonly provider: 'cpu' | 'cuda';
  readonly providerFallbackReason: string | null;
  readonly cacheHit: boolean;
  readonly closed: boolean;
  readonly lateResults: number;
  runSync(input: Float32Array, batch: number, output: Float32Array): void;
  run(input: Float32Array, batch: number, output: Float32Array, timeoutMs?: number, inPlace?: boolean): Promise<void>;
  close(): void;
}

/**
 * Keeps the event loop turning while async runs are in flight (see SessionOptions.asyncSpinUs):
 * one setImmediate chain for all of them, which stops once none is in flight or every one's
 * polling budget is spent. Polling lets libuv's poll phase run without a timeout, so the run's
 * outcome is picked up at once instead of after the thread's wake-up.
 */
const keepAwake = {
  inFlight: 0,
  until: 0,
  ticking: false,
  tick(): void {
    if (keepAwake.inFlight > 0 && performance.now() < keepAwake.until) setImmediate(keepAwake.tick);
    else keepAwake.ticking = false;
  },
  enter(spinUs: number): void {
    keepAwake.inFlight++;
    if (spinUs <= 0) return;
    keepAwake.until = Math.max(keepAwake.until, performance.now() + spinUs / 1000);
    if (!keepAwake.ticking) {
      keepAwake.ticking = true;
      setImmediate(keepAwake.tick);
    }
  },
  leave(): void {
    keepAwake.inFlight--;
  },
};

/** A timeout in ms: undefined or 0 means none; negative, NaN or infinite is refused. */
export function checkTimeout(timeoutMs: number | undefined): number {
  if (timeoutMs === undefined) return 0;
  const t = assertNumber(timeoutMs, 'timeoutMs');
  if (t < 0 || !Number.isFinite(t)) throw rangeError(ErrorCode.OutOfRange, 'timeoutMs must be a finite number >= 0 (0: no timeout)');
  return t;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Differences between the graph's declared tensors and the manifest's. */
function contractProblems(kind: string, graph: GraphTensor | undefined, spec: TensorSpec): string[] {
  if (!graph) return [`the graph has no ${kind}`];
  const problems: string[] = [];
  if (graph.name !== spec.name) problems.push(`${kind} is named "${graph.name}", the manifest says "${spec.name}"`);
  if (graph.dtype !== spec.dtype) problems.push(`${kind} "${graph.name}" is ${graph.dtype}, the manifest says ${spec.dtype}`);
  if (graph.shape.length !== spec.shape.length) {
    problems.push(`${kind} "${graph.name}" has rank ${graph.shape.length}, the manifest says ${spec.shape.length}`);
    return problems;
  }
  spec.shape.forEach((want, d) => {
    const got = graph.shape[d];
    // A fixed size in the manifest must be the graph's; a named (dynamic) one must be dynamic.
    if (typeof want === 'number' && got !== want) {
      problems.push(`${kind} "${graph.name}" dimension ${d} is ${got ?? 'dynamic'}, the manifest says ${want}`);
    } else if (typeof want === 'string' && typeof got === 'number') {
      problems.push(`${kind} "${graph.name}" dimension ${d} is fixed at ${got}, the manifest says dynamic (${want})`);
    }
  });
  return problems;
}

export class ModelSession {
  readonly manifest: LoadedManifest;
  /** sha256 of the bytes ONNX Runtime loaded (equal to the manifest's). */
  readonly sha256: string;
  readonly options: Readonly<SessionOptions>;
  readonly #native: NativeSession;
  #provider: 'cpu' | 'cuda' | undefined;
  readonly #spinUs: number;
  /** Floats per batch row of the output: patchLength * levels. */
  readonly rowOutputLength: number;

  private constructor(manifest: LoadedManifest, sha: string, options: SessionOptions, native: NativeSession) {
    this.manifest = manifest;
    this.sha256 = sha;
    this.options = Object.freeze({ ...options });
    this.#native = native;
    this.rowOutputLength = manifest.patchLength * manifest.quantileLevels.length;
    this.#spinUs = options.asyncSpinUs ?? DEFAULT_ASYNC_SPIN_US;
  }

  /** Loads `<model>.json` and the model beside it. */
  static load(manifestPath: string, options: SessionOptions = {}): ModelSession {
    return ModelSession.fromManifest(loadManifest(manifestPath), options);
  }

  static fromManifest(manifest: LoadedManifest, options: SessionOptions = {}): ModelSession {
    if (options.asyncSpinUs !== undefined) assertInteger(options.asyncSpinUs, 'asyncSpinUs', 0, 100_000);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(manifest.modelPath);
    } catch (err) {
      throw codedError(ErrorCode.ModelNotFound, `cannot read the model ${manifest.modelPath}: ${(err as Error).message}`, err);
    }
    // Verified here, before ONNX Runtime parses a single byte.
    const actual = sha256(bytes);
    if (actual !== manifest.sha256) {
      throw codedError(
        ErrorCode.ModelHashMismatch,
        `${manifest.modelPath} (${bytes.length} bytes) has sha256 ${actual}, its manifest pins ${manifest.sha256}: ` +
          'the file is corrupt, truncated or not the model the manifest describes',
      );
    }
    runtimeInfo();
    const Native = addon().NativeSession as unknown as new (b: Uint8Array, sha: string, o: SessionOptions) => NativeSession;
    const native = new Native(bytes, actual, options);
    const problems = [
      ...contractProblems('input', native.inputs[0], manifest.inputs[0]),
      ...contractProblems('output', native.outputs[0], manifest.outputs[0]),
    ];
    if (problems.length) {
      native.close();
      throw codedError(
        ErrorCode.ModelContractMismatch,
        `${manifest.modelPath} disagrees with its manifest ${manifest.manifestPath}:\n  - ${problems.join('\n  - ')}`,
      );
    }
    return new ModelSession(manifest, actual, options, native);
  }

  get inputs(): GraphTensor[] {
    return this.#native.inputs;
  }
  get outputs(): GraphTensor[] {
    return this.#native.outputs;
  }
  /** The execution provider actually in use (fixed at load: read once, not per call). */
  get provider(): 'cpu' | 'cuda' {
    return (this.#provider ??= this.#native.provider);
  }
  /** Why the requested provider is not in use (null when it is). */
  get providerFallbackReason(): string | null {
    return this.#native.providerFallbackReason;
  }
  /** True when another handle in this process had already loaded the same model and options. */
  get shared(): boolean {
    return this.#native.cacheHit;
  }
  get closed(): boolean {
    return this.#native.closed;
  }
  /** Outcomes of timed async runs (a result, or ONNX Runtime's report of a run it terminated)
   * that arrived after the deadline had settled their promise: discarded, counted per loaded
   * model, process-wide (handles of the same model share one session). */
  get lateResults(): number {
    return this.#native.lateResults;
  }

  outputLength(batch: number): number {
    return batch * this.rowOutputLength;
  }

  #check(input: Float32Array, batch: number, output: Float32Array | undefined): Float32Array {
    assertFloat32(input, 'input');
    assertAttached(input, 'input');
    assertInteger(batch, 'batch', 1, 2 ** 31);
    if (input.length % batch !== 0) {
      throw rangeError(ErrorCode.ShapeMismatch, `input has ${input.length} elements, not a multiple of batch=${batch}`);
    }
    const time = input.length / batch;
    if (time < 1) throw rangeError(ErrorCode.ContextTooShort, 'input has no time steps');
    if (time > this.manifest.maxContext) {
      throw rangeError(
        ErrorCode.ContextTooLong,
        `input has ${time} time steps; ${this.manifest.name} accepts at most ${this.manifest.maxContext} (the rollout trims longer contexts)`,
      );
    }
    const out = output ?? new Float32Array(this.outputLength(batch));
    assertFloat32(out, 'output');
    assertLength(out, this.outputLength(batch), 'output');
    if (out.length !== this.outputLength(batch)) {
      throw rangeError(ErrorCode.ShapeMismatch, `output holds ${out.length} floats, the model writes ${this.outputLength(batch)}`);
    }
    return out;
  }

  /** One run on this thread: [batch, time] in, [batch, patchLength, levels] out, no copy. */
  runSync(input: Float32Array, batch = 1, output?: Float32Array): Float32Array {
    const out = this.#check(input, batch, output);
    this.#native.runSync(input, batch, out);
    return out;
  }

  /**
   * One run on the addon's runner threads. Input and output in staging memory
   * (`stagingFloat32Array`) are used in place, any other memory is copied (the caller may change
   * or detach it meanwhile); the output is filled when the promise resolves.
   */
  async run(input: Float32Array, batch = 1, options: RunOptions = {}): Promise<Float32Array> {
    const out = this.#check(input, batch, options.output);
    const timeout = checkTimeout(options.timeoutMs);
    const promise = this.#native.run(input, batch, out, timeout, options[RUN_IN_PLACE] === true);
    keepAwake.enter(this.#spinUs);
    try {
      await promise;
    } finally {
      keepAwake.leave();
    }
    return out;
  }

  /** Releases this handle; runs in flight finish, later calls throw TG_SESSION_CLOSED. */
  close(): void {
    this.#native.close();
  }
}
