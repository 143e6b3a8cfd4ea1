/**
 * Turns a one-patch model into any horizon it can honestly reach (SPEC section 2): keep the last
 * maxContext points, append the patch's median, run again. Horizons beyond the manifest's
 * maxHorizon, and contexts shorter than minContext, are refused.
 */
import { ErrorCode, rangeError } from '../errors';
import { assertFloat32, assertInteger } from '../kernels/validate';
import { checkTimeout, RUN_IN_PLACE, type ModelSession } from './session';

export interface RolloutPlan {
  batch: number;
  /** Time steps of the given context. */
  time: number;
  horizon: number;
  /** Model runs needed: ceil(horizon / patchLength). */
  patches: number;
  /** Time steps the model sees on the first run (the most recent maxContext points). */
  window: number;
}

export function planRollout(session: ModelSession, context: Float32Array, batch: number, horizon: number): RolloutPlan {
  const m = session.manifest;
  assertFloat32(context, 'context');
  assertInteger(batch, 'batch', 1, 2 ** 31);
  if (context.length % batch !== 0) {
    throw rangeError(ErrorCode.ShapeMismatch, `context has ${context.length} elements, not a multiple of batch=${batch}`);
  }
  const time = context.length / batch;
  if (time < m.minContext) {
    throw rangeError(ErrorCode.ContextTooShort, `context has ${time} time steps; ${m.name} needs at least ${m.minContext}`);
  }
  assertInteger(horizon, 'horizon', 1);
  if (horizon > m.maxHorizon) {
    throw rangeError(
      ErrorCode.HorizonTooLong,
      `horizon ${horizon} exceeds what ${m.name} can roll out honestly (maxHorizon ${m.maxHorizon}, patches of ${m.patchLength})`,
    );
  }
  return { batch, time, horizon, patches: Math.ceil(horizon / m.patchLength), window: Math.min(time, m.maxContext) };
}

/** The model's input for one step: the last `window` points of every row of `history`. */
function windowOf(history: Float32Array, batch: number, length: number, window: number): Float32Array {
  if (batch === 1) return history.subarray(length - window, length);
  const out = new Float32Array(batch * window);
  const stride = history.length / batch;
  for (let b = 0; b < batch; b++) out.set(history.subarray(b * stride + length - window, b * stride + length), b * window);
  return out;
}

class Rollout {
  readonly plan: RolloutPlan;
  readonly result: Float32Array;
  readonly #session: ModelSession;
  readonly #context: Float32Array;
  readonly #history: Float32Array | undefined;
  readonly #patch: Float32Array;
  readonly #direct: boolean;
  #length: number;

  constructor(session: ModelSession, context: Float32Array, batch: number, horizon: number, out?: Float32Array) {
    this.#session = session;
    this.#context = context;
    this.plan = planRollout(session, context, batch, horizon);
    const levels = session.manifest.quantileLevels.length;
    const size = batch * horizon * levels;
    if (out !== undefined) {
      assertFloat32(out, 'out');
      if (out.length !== size) throw rangeError(ErrorCode.ShapeMismatch, `out holds ${out.length} floats, the forecast has ${size}`);
    }
    this.result = out ?? new Float32Array(size);
    // One full patch is the whole forecast: the model writes the result itself (no second
    // buffer, no copy; a typed array allocation costs about a microsecond).
    this.#direct = horizon === session.manifest.patchLength;
    this.#patch = this.#direct ? this.result : new Float32Array(session.outputLength(batch));
    this.#length = this.plan.time;
    // History (context + appended medians) only when a second patch is needed.
    if (this.plan.patches > 1) {
      const stride = this.plan.time + (this.plan.patches - 1) * session.manifest.patchLength;
      this.#history = new Float32Array(batch * stride);
      for (let b = 0; b < batch; b++) this.#history.set(context.subarray(b * this.plan.time, (b + 1) * this.plan.time), b * stride);
    }
  }

  /** The input of patch `p` (the caller's context itself, zero-copy, when it fits). */
  input(p: number): Float32Array {
    const { batch, time } = this.plan;
    const max = this.#session.manifest.maxContext;
    if (p === 0 && time <= max) return this.#context;
    const source = this.#history ?? this.#context;
    return windowOf(source, batch, this.#length, Math.min(this.#length, max));
  }

  get patch(): Float32Array {
    return this.#patch;
  }

  /** True when the patch is this rollout's own buffer (not the caller's `out`). */
  get patchIsPrivate(): boolean {
    return !this.#direct;
  }

  /** Copies patch `p` into the result and appends its median to the history. */
  accept(p: number): void {
    if (this.#direct) return;
    const m = this.#session.manifest;
    const { batch, horizon } = this.plan;
    const levels = m.quantileLevels.length;
    const P = m.patchLength;
    const steps = Math.min(P, horizon - p * P);
    for (let b = 0; b < batch; b++) {
      const src = this.#patch.subarray(b * P * levels, (b * P + steps) * levels);
      this.result.set(src, (b * horizon + p * P) * levels);
    }
    if (this.#history && p + 1 < this.plan.patches) {
      const stride = this.#history.length / batch;
      for (let b = 0; b < batch; b++) {
        for (let s = 0; s < P; s++) this.#history[b * stride + this.#length + s] = this.#patch[(b * P + s) * levels + m.medianIndex]!;
      }
      this.#length += P;
    }
  }
}

/**
 * Quantile forecast [batch, horizon, levels] of a [batch, time] context, on this thread.
 * With horizon <= patchLength and time <= maxContext it is a single zero-copy run.
 */
export function rolloutSync(session: ModelSession, context: Float32Array, batch: number, horizon: number, out?: Float32Array): Float32Array {
  const r = new Rollout(session, context, batch, horizon, out);
  for (let p = 0; p < r.plan.patches; p++) {
    session.runSync(r.input(p), batch, r.patch);
    r.accept(p);
  }
  return r.result;
}

/**
 * As rolloutSync, on a runner thread; `timeoutMs` bounds the whole rollout (0: no timeout).
 * `outOwned`: the caller owns `out` alone until the rollout has ended, even after a timeout (see
 * RUN_IN_PLACE); the model then writes it directly.
 */
export async function rollout(
  session: ModelSession,
  context: Float32Array,
  batch: number,
  horizon: number,
  options: { timeoutMs?: number; out?: Float32Array; outOwned?: boolean } = {},
): Promise<Float32Array> {
  const timeout = checkTimeout(options.timeoutMs);
  const r = new Rollout(session, context, batch, horizon, options.out);
  const deadline = timeout === 0 ? undefined : performance.now() + timeout;
  for (let p = 0; p < r.plan.patches; p++) {
    // A rollout that has used up its time still gets a run: ONNX Runtime terminates it at once
    // and the caller sees TG_RUN_TIMEOUT, as for any other late run.
    const timeoutMs = deadline === undefined ? undefined : Math.max(1e-3, deadline - performance.now());
    // The patch is the rollout's own buffer, or the caller's `out` when it says it owns it alone
    // (the guardian's result buffers): the run writes it in place (RUN_IN_PLACE).
    await session.run(r.input(p), batch, { output: r.patch, timeoutMs, [RUN_IN_PLACE]: r.patchIsPrivate || options.outOwned === true });
    r.accept(p);
  }
  return r.result;
}
