/**
 * TiRexGuardian: a forecasting model behind five shields (SPEC sections 3 and 4).
 *
 *   request -> pipeline shield (shape, length, dtype) -> input shield (scan, threat score)
 *           -> circuit shield (breaker permit) -> model -> output shield (repair, plausibility)
 *           -> result; the audit shield records every call, whatever its status.
 *
 * Each shield makes one native pass over a whole batch. An async call with the circuit closed
 * queues the model before the input shield's pass and discards that run unseen when the input
 * shield blocks a series (#canSpeculate): what is served, counted and recorded is the same.
 *
 * `fallbackStrategy: 'graceful'` serves a fallback forecast and says so in `status`; `'strict'`
 * throws a typed error with a stable code instead. Nothing is silent.
 */
import { checkCallerId } from '../audit/record';
import type { AuditLog, AuditTicket } from '../audit';
import { BreakerRegistry, type CircuitBreaker, type Permit } from '../breaker';
import { codedError, ErrorCode, type CodedError, type ErrorCodeValue } from '../errors';
import { ForecastRowsIO } from '../kernels/forecast-check';
import { rollout, rolloutSync } from '../model/rollout';
import { checkTimeout, type ModelSession } from '../model/session';
import type { SignatureCheck } from '../model/signature';
import { StagingPool } from '../native/staging';
import type { GuardianAuditTrail } from './audit-trail';
import { newCallState, type CallState, type ShieldActivation } from './call-state';
import { resolveGuardianConfig } from './config';
import { serveFallbacks } from './fallback-rows';
import { judgeInputs, type CallFailure } from './input-decisions';
import { InputShield } from './input-shield';
import { judgeOutputs } from './output-decisions';
import { OutputShield } from './output-shield';
import { PipelineShield, type PipelineRefusal } from './pipeline-shield';
import { preparePipeline } from './pipeline-decisions';
import { recordCallEnd } from './call-end';
import { loadGuardianModel, openRecorders } from './load';
import type { GuardianQuality, QualityStats } from './quality-use';
import { EmergencyState, type MaintenanceMode } from './emergency';
import { applyRegime, type RegimeSource } from './regime-use';
import { beginTrace } from '../observability/tracing';
import { checkMetricsOptions, registerGuardianMetrics, type GuardianMetricsOptions } from '../observability/metrics';
import type { Registry } from 'prom-client';
import { readRequest, readTimeout, type RequestSnapshot } from './request';
import { OWN_BUFFERS, ResultSlab, type ResultBuffers } from './result-slab';
import { sendToFallback, settleSeries, type ForecastStatus, type SeriesOutcome } from './series';
import { ProtectionStats, type StatsSnapshot } from './stats';
import type { FallbackStrategy, PipelineProtection, ThreatLevel } from './thresholds';
import type { ForecastRequest, ForecastResult, GuardianConfig } from './types';

export type { ForecastRequest, ForecastResult, GuardianConfig } from './types';
export type { ForecastStatus, SeriesOutcome, ShieldActivation };

interface Resolved {
  level: ThreatLevel;
  pipeline: PipelineProtection;
  strategy: FallbackStrategy;
  audit: boolean;
}

const now = () => performance.now();

export class TiRexGuardian {
  readonly config: Readonly<Resolved>;
  readonly session: ModelSession;
  readonly breakers: BreakerRegistry;
  readonly breaker: CircuitBreaker;
  /** Who signed the model, when signatures are checked (requireSignedModels); null otherwise. */
  readonly modelSignature: SignatureCheck | null;
  readonly #input: InputShield;
  readonly #pipeline: PipelineShield;
  readonly #output: OutputShield;
  /** The audit shield's hand-off and log (null when audit is off). */
  readonly #trail: GuardianAuditTrail | null;
  readonly #stats = new ProtectionStats();
  readonly #bounds: Record<string, { lo: number; hi: number }>;
  /** The market regime engine (null: none; lib/guardian/regime-use.ts). */
  readonly #regime: RegimeSource | null;
  /** Read once: the result must be buildable even after the session was closed. */
  readonly #modelInfo: Readonly<{ name: string; sha256: string; provider: string }>;
  /** The levels, frozen: results hand them out, and a caller must not be able to change them. */
  readonly #levels: readonly number[];
  readonly #buffers: ResultBuffers;
  /** What the fallbacks need of the model's layout (built once: the hot path allocates less). */
  readonly #fallbackLayout: Readonly<{ levels: readonly number[]; medianIndex: number }>;
  /** Staging memory for the calls' tensors (returned after each call whose run has ended). */
  readonly #staging = new StagingPool();
  /** The output shield's buffer, grown on demand (each call uses it within one synchronous step). */
  #checkIO = new ForecastRowsIO(16);
  /** How the decision steps outside this file end a call with a typed error (they throw). */
  readonly #failOf: CallFailure = {
    fail: (st, code, message) => this.#fail(st, code, message),
    refuse: (st, refusal) => this.#refuse(st, refusal),
    reject: (st, code, message) => this.#fail(st, code, message, true),
  };
  /** Async calls accepted and not yet settled: close() waits for them. */
  readonly #inFlight = new Set<Promise<ForecastResult>>();
  /** The session's count of discarded late outcomes when this guardian loaded it. */
  readonly #lateBase: number;
  /** Set by close(): every later call is refused. */
  #closing: Promise<void> | null = null;
  readonly #defaultBounds: Readonly<{ lo: number; hi: number }>;
  #lastCallerId: string | null = null;
  /** Maintenance and suspension (lib/guardian/emergency.ts). */
  readonly #emergencyState: EmergencyState;
  /** The forecast journal and the shadow candidate (null: no journal configured). */
  readonly #quality: GuardianQuality | null;

  constructor(config: GuardianConfig = {}) {
    // One snapshot, checked whole before anything is loaded (lib/guardian/config.ts): nothing
    // below reads `config` again.
    const c = resolveGuardianConfig(config);
    this.#buffers = c.resultBuffers === 'own' ? OWN_BUFFERS : new ResultSlab();
    this.config = c.policy;
    const model = loadGuardianModel(c);
    this.session = model.session;
    this.modelSignature = model.signature;
    const m = this.session.manifest;
    this.#lateBase = this.session.lateResults;
    this.#modelInfo = Object.freeze({ name: m.name, sha256: this.session.sha256, provider: this.session.provider });
    this.#levels = Object.freeze([...m.quantileLevels]);
    this.#input = new InputShield(c.thresholds.input);
    const maxAbs = this.#input.thresholds.maxAbsValue;
    this.#defaultBounds = Object.freeze({ lo: -maxAbs, hi: maxAbs });
    this.#pipeline = new PipelineShield(c.thresholds.pipeline, m);
    this.#output = new OutputShield(c.thresholds.output, m.quantileLevels.length, m.medianIndex);
    this.#fallbackLayout = Object.freeze({ levels: this.#levels, medianIndex: m.medianIndex });
    this.#bounds = c.marketBounds; // no prototype: an instrument named 'constructor' finds nothing
    this.#regime = c.regime;
    this.breakers = new BreakerRegistry(c.breaker);
    this.breaker = this.breakers.get(`model:${m.name}@${this.session.sha256.slice(0, 12)}`);
    this.#emergencyState = new EmergencyState(this.breaker, c.suspendAfterCorruptOutputs);
    this.breakers.on('stateChange', (t) => this.#stats.bump(this.#stats.breakerTransitions, `${t.from}->${t.to}`));
    const recorders = openRecorders(c, this.#stats, this.session, this.#levels);
    this.#trail = recorders.trail;
    this.#quality = recorders.quality;
  }

  /** Protection statistics so far. */
  stats(): StatsSnapshot {
    return this.#stats.snapshot({ lateModelResults: this.session.closed ? null : this.session.lateResults - this.#lateBase });
  }

  /**
   * Registers this guardian's Prometheus metrics in `registry` (prom-client), labelled
   * model=`options.name` (default: the manifest's name); several guardians share a registry.
   * From here on each call records its latency (two histogram observations). `instruments`: the
   * only instruments counted on their own (lib/observability/metrics.ts).
   */
  registerMetrics(registry: Registry, options: GuardianMetricsOptions = {}): void {
    const o = checkMetricsOptions(options, this.session.manifest.name);
    registerGuardianMetrics(registry, o.name, this, () => this.#stats.latency);
    this.#stats.enableLatency();
    this.#stats.trackInstruments(o.instruments);
  }

  get auditLog(): AuditLog | null {
    return this.#trail?.log ?? null;
  }

  /** True once close() was called: every later call is refused with TG_GUARDIAN_CLOSED. */
  get closed(): boolean {
    return this.#closing !== null;
  }

  // ------------------------------------------------------------------ emergency procedures

  /** Maintenance: the breaker is forced open; calls get a fallback ('fallback') or are refused. */
  enterMaintenance(reason: string, mode: MaintenanceMode = 'fallback'): void {
    this.#emergencyState.enterMaintenance(reason, mode);
  }

  /** Ends maintenance; recovery goes through half-open trials. */
  exitMaintenance(): void {
    this.#emergencyState.exitMaintenance();
  }

  /** Inference stays suspended after repeated corrupt outputs until this is called. */
  resumeInference(): void {
    this.#emergencyState.resume();
  }

  /** Manual breaker reset to closed, statistics cleared. */
  resetBreaker(): void {
    this.breaker.reset('manual reset');
  }

  get suspended(): string | null {
    return this.#emergencyState.suspended;
  }

  get maintenance(): { reason: string; mode: MaintenanceMode } | null {
    return this.#emergencyState.maintenance;
  }

  /**
   * Refuses new calls at once (TG_GUARDIAN_CLOSED), waits for the async calls already accepted
   * (each settles by its deadline, or when its model run ends), writes their records and every
   * other waiting one, closes the log, then releases the model. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // A call that closes from inside itself (a request getter, say) is in flight too: let it
      // register before looking.
      await null;
      while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
      try {
        // The journal's entries name audit records: the journal (and its shadow runs) first.
        await this.#quality?.close();
      } finally {
        try {
          await this.#trail?.close();
        } finally {
          this.session.close();
        }
      }
    })();
    return this.#closing;
  }

  // ------------------------------------------------------------------ forecasts

  /**
   * A guarded forecast on this thread: the lowest latency. The input shield runs first here: its
   * pass on another thread while this one runs the model was measured slower (the woken thread
   * shares this one's core; BENCHMARKS.md, the guarded forecast at batch sizes).
   */
  safeForecast(request: ForecastRequest): ForecastResult {
    const st = this.#begin(request);
    this.#shieldInputs(st);
    return this.#modelSync(st);
  }

  /** The model on the series the input shield let through, then the output shield. */
  #modelSync(st: CallState): ForecastResult {
    const permit = this.#modelPermit(st);
    if (!permit) return this.#finish(st);
    const t = now();
    let q: Float32Array;
    try {
      q = rolloutSync(this.session, this.#modelTensor(st), st.modelRows.length, st.horizon, this.#forecastBuffer(st));
    } catch (err) {
      return this.#modelDone(st, permit, t, null, err);
    }
    return this.#modelDone(st, permit, t, q, null);
  }

  /**
   * True when the model may run before the input shield has decided (speculation): the circuit
   * is closed (a permit is certain, no trial is spent) and no emergency procedure would send the
   * call to a fallback. Async calls only (the sync path's reason: safeForecast). The input
   * shield's verdict still decides what is served: when it lets
   * every series through, the model's run is the call's; when it blocks any, the run is
   * discarded unseen (its permit cancelled, nothing counted, nothing judged) and the model runs
   * again on the series that passed, exactly as without speculation. What speculation changes:
   * the model has seen the blocked series (never served), and a call with a blocked series
   * costs a second run.
   */
  #canSpeculate(st: CallState): boolean {
    // A series the pipeline already refused would only make the run a discarded one.
    if (st.prepared!.rowProblems?.some((r) => r !== null)) return false;
    return this.#emergencyState.clear && this.breaker.state === 'closed';
  }

  /** The permit of a speculative run (the circuit is closed: always granted). */
  #speculativePermit(): Permit {
    const permit = this.breaker.tryAcquire()!;
    this.#stats.check('modelLoading', false);
    return permit;
  }

  /**
   * A guarded forecast with the model on a runner thread. `timeoutMs` is the caller's budget for
   * the whole call, counted from this call: the promise settles by then (plus the slack in
   * BENCHMARKS.md) with the fallback, or TG_RUN_TIMEOUT in strict; a model result that arrives
   * later is discarded and counted (stats().deadlines), never served as on time. When the
   * circuit is closed the run starts before the input shield, which does its pass on this thread
   * meanwhile (speculation, see #canSpeculate).
   */
  safeForecastAsync(request: ForecastRequest, options: { timeoutMs?: number } = {}): Promise<ForecastResult> {
    const call = this.#forecastAsync(request, options);
    this.#inFlight.add(call);
    const done = () => this.#inFlight.delete(call);
    call.then(done, done);
    return call;
  }

  async #forecastAsync(request: ForecastRequest, options: { timeoutMs?: number }): Promise<ForecastResult> {
    // The caller may change or detach its buffers while the model runs: the model, the shields
    // and the fallbacks work on the call's own copy (PipelineShield.ownCopy).
    const st = this.#begin(request, true);
    let timeoutMs = 0;
    try {
      timeoutMs = checkTimeout(readTimeout(options) as number | undefined);
    } catch (err) {
      this.#fail(st, ((err as { code?: string }).code ?? ErrorCode.OutOfRange) as ErrorCodeValue, (err as Error).message, true, (err as Error).cause);
    }
    const deadline = timeoutMs > 0 ? st.t0 + timeoutMs : Infinity;
    if (this.#canSpeculate(st) && now() < deadline) return this.#speculateAsync(st, deadline);
    this.#shieldInputs(st);
    return this.#modelAsync(st, deadline);
  }

  /** Async speculation: the run queued first, the input shield on this thread while it runs. */
  async #speculateAsync(st: CallState, deadline: number): Promise<ForecastResult> {
    const p = st.prepared!;
    const permit = this.#speculativePermit();
    const t = now();
    const remaining = deadline === Infinity ? 0 : Math.max(deadline - now(), 1e-3);
    // The result's own buffer, handed out only after the run has ended: written in place.
    const run = rollout(this.session, p.tensor, p.batch, st.horizon, { timeoutMs: remaining, out: this.#buffers.take(p.batch * st.horizon * this.#levels.length), outOwned: true });
    // Until it ends, the run may read the call's borrowed tensor (a discarded run keeps it).
    st.borrowedByRun = true;
    // A discarded run's outcome is nobody's: never an unhandled rejection.
    run.catch(() => undefined);
    try {
      this.#shieldInputs(st);
    } catch (e) {
      permit.cancel();
      throw e;
    }
    if (st.modelRows.length !== p.batch) {
      permit.cancel();
      // The discarded run may still read the borrowed tensors: they are never given back.
      st.borrowed = [];
      return this.#modelAsync(st, deadline);
    }
    return this.#awaitModel(st, permit, t, run, deadline);
  }

  /** The model on the series the input shield let through, on a runner, within the deadline. */
  async #modelAsync(st: CallState, deadline: number): Promise<ForecastResult> {
    if (st.modelRows.length > 0 && now() >= deadline) {
      // The budget went on the shields: the model is not called (and not blamed).
      this.#stats.deadlines.expired++;
      this.#toFallback(st, 'the deadline passed before the model could run', ErrorCode.RunTimeout);
      return this.#finish(st);
    }
    const permit = this.#modelPermit(st);
    if (!permit) return this.#finish(st);
    const t = now();
    let run: Promise<Float32Array>;
    try {
      const tensor = this.#modelTensor(st);
      // Measured after the tensor is built: the addon's deadline is the call's.
      const remaining = deadline === Infinity ? 0 : Math.max(deadline - now(), 1e-3);
      run = rollout(this.session, tensor, st.modelRows.length, st.horizon, { timeoutMs: remaining, out: this.#forecastBuffer(st), outOwned: true });
      st.borrowedByRun = true;
    } catch (err) {
      return this.#modelDone(st, permit, t, null, err);
    }
    return this.#awaitModel(st, permit, t, run, deadline);
  }

  /** The run's outcome, then the output shield; a result later than the deadline is discarded. */
  async #awaitModel(st: CallState, permit: Permit, started: number, run: Promise<Float32Array>, deadline: number): Promise<ForecastResult> {
    let q: Float32Array;
    try {
      q = await run;
    } catch (err) {
      // A timeout settles while the run may go on reading the tensor: its buffers stay lent.
      if ((err as { code?: string }).code === ErrorCode.RunTimeout) this.#stats.deadlines.expired++;
      else st.borrowedByRun = false;
      return this.#modelDone(st, permit, started, null, err);
    }
    st.borrowedByRun = false;
    if (now() > deadline) {
      // Resolved in the addon just before the deadline, but reached this thread after it.
      this.#stats.deadlines.expired++;
      this.#stats.deadlines.lateDiscarded++;
      const late = codedError(ErrorCode.RunTimeout, `the model's result arrived ${(now() - deadline).toFixed(3)} ms after the deadline: discarded`);
      return this.#modelDone(st, permit, started, null, late);
    }
    return this.#modelDone(st, permit, started, q, null);
  }

  /** The breaker's permit when some series go on to the model; null when #finish answers the
   * call (nothing for the model, or the circuit refused). */
  #modelPermit(st: CallState): Permit | null {
    if (st.modelRows.length === 0) return null;
    return this.#permit(st);
  }

  /** The model's input: the prepared tensor, or its rows that go to the model when some don't. */
  #modelTensor(st: CallState): Float32Array {
    const p = st.prepared!;
    if (st.modelRows.length === p.batch) return p.tensor;
    const T = p.window;
    const out = this.#borrow(st, st.modelRows.length * T);
    st.modelRows.forEach((b, i) => out.set(p.tensor.subarray(b * T, (b + 1) * T), i * T));
    return out;
  }

  /** A tensor from the pool (given back by #finish once no run may read it). */
  #borrow(st: CallState, n: number): Float32Array {
    const view = this.#staging.take(n);
    (st.borrowed ??= []).push(view);
    return view;
  }

  /** Where the model writes the forecast: [model rows, horizon, levels] from the result buffers. */
  #forecastBuffer(st: CallState): Float32Array {
    return this.#buffers.take(st.modelRows.length * st.horizon * this.#levels.length);
  }

  /** Records the model's time, then the output shield (a forecast) or the failure path (an error). */
  #modelDone(st: CallState, permit: Permit, started: number, q: Float32Array | null, err: unknown): ForecastResult {
    st.modelUs = (now() - started) * 1000;
    st.modelRun = { startedAt: started, rows: st.modelRows.length };
    if (q) this.#afterModel(st, permit, q);
    else this.#modelFailed(st, permit, err);
    return this.#finish(st);
  }

  // ------------------------------------------------------------------ steps

  #begin(request: ForecastRequest, copyRows = false): CallState {
    const st = newCallState(now(), this.#defaultBounds);
    this.#stats.calls++;
    st.trace = beginTrace();
    if (this.#closing) {
      // The log is closed too: there is nowhere to record the call, so it is refused outright.
      this.#stats.bump(this.#stats.errors, ErrorCode.GuardianClosed);
      throw codedError(ErrorCode.GuardianClosed, 'the guardian is closed: no call is served after close()');
    }
    let req: RequestSnapshot;
    try {
      req = readRequest(request);
    } catch (err) {
      this.#fail(st, ErrorCode.InvalidArgument, (err as Error).message, true, (err as Error).cause);
    }
    // Trading callers repeat: an id equal to the last valid one is valid (strings are immutable).
    if (typeof req.userId !== 'string' || req.userId !== this.#lastCallerId) {
      const caller = checkCallerId(req.userId);
      if (caller !== null) this.#fail(st, ErrorCode.InvalidArgument, `userId: ${caller}`, true);
      this.#lastCallerId = req.userId as string;
    }
    st.callerId = req.userId as string;
    if (req.clientUserId !== undefined) {
      const client = checkCallerId(req.clientUserId);
      if (client !== null) this.#fail(st, ErrorCode.InvalidArgument, `clientUserId: ${client}`, true);
      st.clientUserId = req.clientUserId as string;
    }
    preparePipeline(st, req, copyRows, this.#pipeline, this.#stats, this.#failOf, (c, n) => this.#borrow(c, n));
    if (req.instrument !== undefined) {
      // Own entries only: an instrument named '__proto__' or 'constructor' has no bounds.
      if (!Object.prototype.hasOwnProperty.call(this.#bounds, req.instrument)) {
        this.#fail(st, ErrorCode.InvalidArgument, `instrument ${JSON.stringify(req.instrument)} has no market bounds in the configuration`, true);
      }
      st.bounds = this.#bounds[req.instrument]!;
      st.instrument = req.instrument;
      st.originTime = req.originTime ?? null;
      if (this.#regime !== null) applyRegime(st, this.#regime, req.instrument);
    }
    return st;
  }

  /** The input shield (one native pass over every series, then its decisions), then the
   * emergency procedures for what would go to the model. */
  #shieldInputs(st: CallState): void {
    const p = st.prepared!;
    st.inputs = this.#input.assessBatch(p.assessData, p.assessSpans, p.batch, st.bounds);
    judgeInputs(st, this.#pipeline.thresholds, this.#stats, this.config.strategy === 'strict', this.#failOf);
    if (st.modelRows.length > 0) this.#emergency(st);
  }

  /** Emergency procedures before the model: maintenance and suspension. */
  #emergency(st: CallState): void {
    const { maintenance, suspended } = this.#emergencyState;
    if (maintenance) {
      const reason = `maintenance: ${maintenance.reason}`;
      st.shields.push({ shield: 'emergency', action: 'maintenance', detail: maintenance.reason });
      if (maintenance.mode === 'refuse' || this.config.strategy === 'strict') this.#fail(st, ErrorCode.Maintenance, reason);
      this.#toFallback(st, reason);
    } else if (suspended) {
      const reason = `inference suspended: ${suspended}`;
      st.shields.push({ shield: 'emergency', action: 'suspended', detail: suspended });
      this.#toFallback(st, reason, ErrorCode.Suspended);
    }
  }

  /** Every series still bound for the model goes to its fallback instead (strict: `code`). */
  #toFallback(st: CallState, reason: string, strictCode?: ErrorCodeValue): void {
    if (strictCode && this.config.strategy === 'strict') this.#fail(st, strictCode, reason);
    for (const b of st.modelRows) sendToFallback(st.series[b]!, reason);
    st.modelRows = [];
  }

  #permit(st: CallState): Permit | null {
    const permit = this.breaker.tryAcquire();
    this.#stats.check('modelLoading', permit === null);
    if (permit) return permit;
    const wait = this.breaker.retryAfterMs;
    const reason = `circuit ${this.breaker.state}: the model is not called (${Number.isFinite(wait) ? `trial in ${Math.ceil(wait)} ms` : 'until released'})`;
    st.shields.push({ shield: 'circuit', action: 'reject', detail: this.breaker.state });
    this.#toFallback(st, reason, ErrorCode.CircuitOpen);
    return null;
  }

  #modelFailed(st: CallState, permit: Permit, err: unknown): void {
    const code = (err as { code?: string }).code ?? 'TG_INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    permit.failure(`model: ${code}`);
    st.shields.push({ shield: 'circuit', action: 'failure', detail: code });
    st.decisions.push({ shield: 'circuit', action: 'model-failure', code });
    const timeout = code === ErrorCode.RunTimeout;
    if (this.config.strategy === 'strict') {
      this.#fail(st, timeout ? ErrorCode.RunTimeout : ErrorCode.ModelFailed, `the model failed (${code}): ${message}`);
    }
    this.#toFallback(st, timeout ? 'the model timed out' : `the model failed (${code})`);
  }

  /**
   * Output shield, series by series in one native pass (lib/guardian/output-decisions.ts); the
   * breaker and the suspension count the call as failed when any series failed. Strict: every
   * series was inspected first (a corrupt one anywhere counts towards the suspension), and a
   * corrupt output outranks an implausible one.
   */
  #afterModel(st: CallState, permit: Permit, q: Float32Array): void {
    if (this.#checkIO.maxBatch < st.modelRows.length) this.#checkIO = new ForecastRowsIO(Math.max(st.modelRows.length, 2 * this.#checkIO.maxBatch));
    const o = judgeOutputs(st, q, this.#checkIO, this.#output, this.#buffers, this.#stats, this.#levels.length);
    this.#emergencyState.settle(st, permit, o.corrupt, o.replaced);
    if (this.config.strategy === 'strict') {
      if (o.firstCorrupt !== null) this.#fail(st, ErrorCode.OutputCorrupt, o.firstCorrupt);
      if (o.firstImplausible !== null) this.#fail(st, ErrorCode.OutputImplausible, o.firstImplausible);
    }
  }

  #refuse(st: CallState, refusal: PipelineRefusal): never {
    st.shields.push({ shield: 'pipeline', action: 'refuse', detail: refusal.reason });
    this.#fail(st, refusal.code as ErrorCodeValue, refusal.reason, refusal.code === 'TG_INVALID_ARGUMENT');
  }

  /**
   * Ends a call with a typed error: recorded (audit, statistics) first. `alwaysThrow` is for
   * caller mistakes (a bad argument throws in every strategy; there is nothing to serve).
   */
  #fail(st: CallState, code: ErrorCodeValue, message: string, alwaysThrow = false, cause?: unknown): never {
    const err: CodedError = codedError(code, message, cause);
    st.status = 'blocked';
    st.reason = message;
    // Whatever was prepared is not served: the record must not name a fallback.
    st.fallback = null;
    st.quantiles = null;
    st.mean = null;
    st.decisions.push({ shield: 'guardian', action: 'error', code });
    st.series = []; // nothing was served: the call's status is every series'
    this.#stats.bump(this.#stats.errors, code);
    this.#stats.byStatus.blocked++;
    const auditId = this.#trail?.record(st) ?? null;
    recordCallEnd(this.#stats, st, this.#modelInfo, auditId, now(), code);
    Object.assign(err, { auditId, status: 'blocked' as const, strategy: alwaysThrow ? 'any' : this.config.strategy });
    throw err;
  }

  /**
   * Journals the realized value of `instrument` at `timeMs` (ms since the epoch): the h-th one
   * after a journaled forecast's origin is its step h (README "Proving a model before it goes
   * live"). TypeError TG_INVALID_ARGUMENT for a bad value or when no journal is configured.
   */
  recordOutcome(instrument: string, timeMs: number, value: number): AuditTicket {
    if (this.#quality === null) throw codedError(ErrorCode.InvalidArgument, 'recordOutcome: no forecast journal is configured (journal.dir)');
    return this.#quality.recordOutcome(instrument, timeMs, value);
  }

  /** The journal's and the shadow's counts (null: no journal configured). */
  qualityStats(): QualityStats | null {
    return this.#quality?.stats() ?? null;
  }

  /** Appends the records handed off so far to the audit log (normally done on the next tick).
   * Returns how many the log refused in this drain (a full log queue: counted, and gap entries). */
  drainAudit(): number {
    return this.#trail?.drain() ?? 0;
  }

  /** Appends what was handed off and waits until the log has it at its durability level. */
  async flushAudit(): Promise<void> {
    await this.#trail?.flush();
  }

  /** The fallbacks, then the call's status: the worst of its series'. */
  #finish(st: CallState): ForecastResult {
    serveFallbacks(st, this.#fallbackLayout, this.#buffers, this.#stats);
    const B = st.batch;
    const series = settleSeries(st, this.#levels.length);
    this.#stats.byStatus[st.status]++;
    const auditId = this.#trail?.record(st) ?? null;
    // The journal copies what it needs of the context before the staging memory goes back.
    this.#quality?.afterCall(st, auditId);
    // Nothing of the call reads its borrowed tensors any more (the result holds no context).
    if (st.borrowed && !st.borrowedByRun) for (const view of st.borrowed) this.#staging.give(view);
    const end = now();
    recordCallEnd(this.#stats, st, this.#modelInfo, auditId, end, null);
    const totalUs = (end - st.t0) * 1000;
    return {
      status: st.status,
      reason: st.reason,
      quantiles: st.quantiles,
      mean: st.mean,
      levels: this.#levels,
      batch: B,
      horizon: st.horizon,
      threat: st.threat,
      series,
      shields: st.shields,
      fallback: st.fallback,
      auditId,
      model: this.#modelInfo,
      timings: { totalUs, modelUs: st.modelUs, shieldsUs: totalUs - st.modelUs },
      regime: st.regime,
      warnings: st.warnings,
    };
  }
}
