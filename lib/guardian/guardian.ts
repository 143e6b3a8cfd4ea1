/**
 * TiRexGuardian: a forecasting model behind five shields (SPEC sections 3 and 4).
 *
 *   request -> pipeline shield (shape, length, dtype) -> input shield (scan, threat score)
 *           -> circuit shield (breaker permit) -> model -> output shield (repair, plausibility)
 *           -> result; the audit shield records every call, whatever its status.
 *
 * `fallbackStrategy: 'graceful'` serves a fallback forecast and says so in `status`; `'strict'`
 * throws a typed error with a stable code instead. Nothing is silent.
 */
import * as path from 'node:path';

import { randomBytes, type KeyObject } from 'node:crypto';

import { AuditLog, type AuditDecision, type AuditDurability, type AuditRecordInput } from '../audit';
import { AuditHandoff, type HandoffFullPolicy } from '../audit/handoff';
import { checkCallerId } from '../audit/record';
import { BreakerRegistry, type BreakerOptions, type CircuitBreaker, type Clock, type Permit } from '../breaker';
import { codedError, ErrorCode, rangeError, typeError, type CodedError, type ErrorCodeValue } from '../errors';
import { fallbackChain, type FallbackStep } from '../fallback';
import { ANCHOR_STRIDE, ForecastCheckIO } from '../kernels/forecast-check';
import { loadManifest } from '../model/manifest';
import { rollout, rolloutSync } from '../model/rollout';
import { checkTimeout, ModelSession, type SessionOptions } from '../model/session';
import { packageRoot } from '../native/addon';
import { checkProductionGates } from './gates';
import { InputShield, type ThreatAssessment } from './input-shield';
import { OutputShield, type OutputVerdict } from './output-shield';
import { isRefusal, PipelineShield, scalingState, type ContextInput, type PipelineRefusal, type PreparedContext } from './pipeline-shield';
import { OWN_BUFFERS, ResultSlab, type ResultBuffers } from './result-slab';
import { ProtectionStats, type StatsSnapshot } from './stats';
import {
  INPUT_THRESHOLDS,
  OUTPUT_THRESHOLDS,
  PIPELINE_THRESHOLDS,
  PROFILES,
  type FallbackStrategy,
  type PipelineProtection,
  type ThreatLevel,
} from './thresholds';

export type ForecastStatus = 'ok' | 'corrected' | 'fallback' | 'blocked';

export interface GuardianConfig {
  /** A preset (production, staging, development); the fields below override it. */
  profile?: keyof typeof PROFILES;
  threatDetectionLevel?: ThreatLevel;
  dataPipelineProtection?: PipelineProtection;
  fallbackStrategy?: FallbackStrategy;
  enableAuditLogging?: boolean;
  /** The model's manifest; default: the model shipped in models/. */
  model?: string;
  /** The sha256 the model must have (required in production). */
  modelSha256?: string;
  session?: SessionOptions;
  audit?: {
    file?: string;
    durability?: AuditDurability;
    /** A directory of rotated segments instead of one file (see AuditLogOptions.dir). */
    dir?: string;
    segmentBytes?: number;
    segmentMs?: number;
    /** Signs the checkpoints: an HMAC secret (>= 32 bytes) or an Ed25519 private KeyObject;
     * required when audit is on (default: $TG_AUDIT_SIGNING_KEY). */
    signingKey?: string | KeyObject;
    /** Pseudonymize caller ids with this HMAC key so no personal data lands in the log. */
    callerIdKey?: string;
    /** Finished calls waiting for the log before the policy applies (default 4096; they wait
     * one tick, so only a loop that never yields fills it). */
    handoffLimit?: number;
    /** 'block' (default): that call appends the waiting records itself; 'drop': the record is
     * refused, counted and written as a gap entry. */
    onHandoffFull?: HandoffFullPolicy;
  };
  /** Market bounds per instrument: values outside are out of bounds for the input shield. */
  marketBounds?: Record<string, { lo: number; hi: number }>;
  breaker?: Omit<BreakerOptions, 'name' | 'clock'>;
  clock?: Clock;
  /** Consecutive corrupt model outputs before inference is suspended (manual resume). */
  suspendAfterCorruptOutputs?: number;
  /**
   * 'pooled' (default): result arrays are views on shared 16 KiB slabs, which saves about a
   * microsecond per array; their `.buffer` holds other results and is never detached by a
   * transfer (use `.slice()` for a copy of one's own). 'own': every result array has a buffer of
   * its own.
   */
  resultBuffers?: 'pooled' | 'own';
}

export interface ForecastRequest {
  context: ContextInput;
  predictionLength: number;
  userId: string;
  /** Rows of a [batch, time] context given as one typed array. */
  batch?: number;
  /** Selects market bounds from the configuration. */
  instrument?: string;
}

export interface ShieldActivation {
  shield: 'pipeline' | 'input' | 'circuit' | 'output' | 'audit' | 'emergency';
  action: string;
  detail?: string;
}

export interface ForecastResult {
  status: ForecastStatus;
  /** Why the status is not `ok` (null when it is). */
  reason: string | null;
  /** [batch, horizon, levels] (null only when blocked with nothing to serve). */
  quantiles: Float32Array | null;
  /** [batch, horizon]: the median (TiRex's mean is its median). */
  mean: Float32Array | null;
  levels: readonly number[];
  batch: number;
  horizon: number;
  /** The largest threat score over the series and the signals that fired. */
  threat: { score: number; decision: 'pass' | 'caution' | 'block'; signals: string[] };
  shields: ShieldActivation[];
  fallback: { method: string; steps: FallbackStep[] } | null;
  /** The call's id in the audit trail (the record's `inputStats.callId`); null when audit is off. */
  auditId: string | null;
  model: { name: string; sha256: string; provider: string };
  timings: { totalUs: number; modelUs: number; shieldsUs: number };
  warnings: string[];
}

interface Resolved {
  level: ThreatLevel;
  pipeline: PipelineProtection;
  strategy: FallbackStrategy;
  audit: boolean;
}

/** The work of one call, built step by step and turned into a result (or an error) at the end. */
interface CallState {
  t0: number;
  modelUs: number;
  request: ForecastRequest;
  horizon: number;
  batch: number;
  prepared: PreparedContext | null;
  assessments: ThreatAssessment[];
  /** The worst assessment's verdict, set once the input shield has run. */
  threat: ForecastResult['threat'];
  shields: ShieldActivation[];
  decisions: AuditDecision[];
  warnings: string[];
  quantiles: Float32Array | null;
  /** The medians, when the output shield wrote them (a fallback's are taken in #finish). */
  mean: Float32Array | null;
  status: ForecastStatus;
  reason: string | null;
  fallback: { method: string; steps: FallbackStep[] } | null;
  /** The caller's id once validated (null until then: the record says 'invalid-caller-id'). */
  callerId: string | null;
  /** The bounds the input shield used (the fallback leaves out values beyond them). */
  bounds: Readonly<{ lo: number; hi: number }>;
}

/** What a finished call leaves for its audit record (no context, no forecast: bounded memory). */
interface PendingRecord {
  callId: string;
  t0: number;
  latencyUs: number;
  callerId: string | null;
  status: ForecastStatus;
  horizon: number;
  batch: number;
  assessments: ThreatAssessment[];
  /** The score, copied: the result's threat object is the caller's to change. */
  threatScore: number;
  decisions: AuditDecision[];
  fallback: string | null;
}

const now = () => performance.now();

/** The checkpoint key: the configuration's, else $TG_AUDIT_SIGNING_KEY (a secret kept out of code). */
function auditSigningKey(config: GuardianConfig): string | KeyObject | undefined {
  return config.audit?.signingKey ?? (process.env.TG_AUDIT_SIGNING_KEY || undefined);
}

const NO_THREAT: ForecastResult['threat'] = Object.freeze({ score: 0, decision: 'pass' as const, signals: Object.freeze([]) as unknown as string[] });

export class TiRexGuardian {
  readonly config: Readonly<Resolved>;
  readonly session: ModelSession;
  readonly breakers: BreakerRegistry;
  readonly breaker: CircuitBreaker;
  readonly #input: InputShield;
  readonly #pipeline: PipelineShield;
  readonly #output: OutputShield;
  readonly #audit: AuditLog | null;
  readonly #stats = new ProtectionStats();
  readonly #bounds: Record<string, { lo: number; hi: number }>;
  readonly #suspendAfter: number;
  /** Read once: the result must be buildable even after the session was closed. */
  readonly #modelInfo: Readonly<{ name: string; sha256: string; provider: string }>;
  /** The levels, frozen: results hand them out, and a caller must not be able to change them. */
  readonly #levels: readonly number[];
  readonly #buffers: ResultBuffers;
  /** The output shield's buffers (grown to the largest batch seen). */
  #checkIO = new ForecastCheckIO(1);
  readonly #defaultBounds: Readonly<{ lo: number; hi: number }>;
  #corruptInARow = 0;
  /** Finished calls waiting for the audit log (their records are built when they are appended). */
  readonly #handoff: AuditHandoff<PendingRecord> | null = null;
  #refusedInDrain = 0;
  #callSeq = 0;
  #lastCallerId: string | null = null;
  readonly #callPrefix = randomBytes(6).toString('hex');
  #suspended: string | null = null;
  #maintenance: { reason: string; mode: 'fallback' | 'refuse' } | null = null;

  constructor(config: GuardianConfig = {}) {
    const preset = PROFILES[config.profile ?? 'development'];
    const resolved: Resolved = {
      level: config.threatDetectionLevel ?? preset.threatDetectionLevel,
      pipeline: config.dataPipelineProtection ?? preset.dataPipelineProtection,
      strategy: config.fallbackStrategy ?? preset.fallbackStrategy,
      audit: config.enableAuditLogging ?? preset.enableAuditLogging,
    };
    if (!INPUT_THRESHOLDS[resolved.level]) throw typeError(ErrorCode.InvalidArgument, `threatDetectionLevel must be low, medium or high`);
    if (!PIPELINE_THRESHOLDS[resolved.pipeline]) {
      throw typeError(ErrorCode.InvalidArgument, `dataPipelineProtection must be permissive, moderate or strict`);
    }
    if (resolved.strategy !== 'strict' && resolved.strategy !== 'graceful') {
      throw typeError(ErrorCode.InvalidArgument, `fallbackStrategy must be strict or graceful`);
    }
    if (config.resultBuffers !== undefined && config.resultBuffers !== 'pooled' && config.resultBuffers !== 'own') {
      throw typeError(ErrorCode.InvalidArgument, `resultBuffers must be pooled or own`);
    }
    this.#buffers = config.resultBuffers === 'own' ? OWN_BUFFERS : new ResultSlab();
    this.config = Object.freeze(resolved);
    const manifestPath = config.model ?? path.join(packageRoot(), 'models', 'tirex-guardian-default.json');
    if (config.profile === 'production') {
      // Fail closed before anything is loaded: every remedy at once.
      checkProductionGates({
        auditEnabled: resolved.audit,
        signingKey: auditSigningKey(config),
        auditFile: config.audit?.file,
        auditDir: config.audit?.dir,
        pinnedSha256: config.modelSha256,
        manifest: loadManifest(manifestPath),
      });
    }
    this.session = ModelSession.load(manifestPath, config.session ?? {});
    if (config.modelSha256 !== undefined && config.modelSha256 !== this.session.sha256) {
      this.session.close();
      throw codedError(ErrorCode.ModelHashMismatch, `the model's sha256 ${this.session.sha256} is not the pinned ${config.modelSha256}`);
    }
    const m = this.session.manifest;
    this.#modelInfo = Object.freeze({ name: m.name, sha256: this.session.sha256, provider: this.session.provider });
    this.#levels = Object.freeze([...m.quantileLevels]);
    if (m.scaling !== 'internal') {
      this.session.close();
      throw codedError(
        ErrorCode.ModelContractMismatch,
        `${m.name} declares scaling '${m.scaling}'; the guardian serves models that scale inside the graph ('internal') only`,
      );
    }
    for (const [instrument, b] of Object.entries(config.marketBounds ?? {})) {
      if (typeof b !== 'object' || b === null || !(b.lo <= b.hi)) {
        this.session.close();
        throw rangeError(ErrorCode.InvalidBounds, `marketBounds.${instrument} must be { lo, hi } with lo <= hi`);
      }
    }
    this.#input = new InputShield(INPUT_THRESHOLDS[resolved.level]);
    const maxAbs = this.#input.thresholds.maxAbsValue;
    this.#defaultBounds = Object.freeze({ lo: -maxAbs, hi: maxAbs });
    this.#pipeline = new PipelineShield(PIPELINE_THRESHOLDS[resolved.pipeline], m);
    this.#output = new OutputShield(OUTPUT_THRESHOLDS[resolved.level], m.quantileLevels.length, m.medianIndex);
    this.#bounds = config.marketBounds ?? {};
    this.#suspendAfter = config.suspendAfterCorruptOutputs ?? 5;
    this.breakers = new BreakerRegistry({ ...(config.breaker ?? {}), ...(config.clock ? { clock: config.clock } : {}) });
    this.breaker = this.breakers.get(`model:${m.name}@${this.session.sha256.slice(0, 12)}`);
    this.breakers.on('stateChange', (t) => this.#stats.bump(this.#stats.breakerTransitions, `${t.from}->${t.to}`));
    this.#audit = null;
    if (resolved.audit) {
      const key = auditSigningKey(config);
      if (!key) {
        this.session.close();
        throw codedError(ErrorCode.GateFailed, 'audit logging is on but no signing key: pass audit.signingKey or set $TG_AUDIT_SIGNING_KEY (32 bytes or more)');
      }
      let handoff: AuditHandoff<PendingRecord>;
      try {
        handoff = new AuditHandoff<PendingRecord>({
          limit: config.audit?.handoffLimit,
          onFull: config.audit?.onHandoffFull,
          drain: (batch) => this.#appendRecords(batch),
          onDrop: (n) => this.#handoffDropped(n),
        });
      } catch (err) {
        this.session.close();
        throw typeError(ErrorCode.InvalidArgument, `audit: ${(err as Error).message}`);
      }
      try {
        this.#audit = AuditLog.openSync({
          file: config.audit?.file,
          dir: config.audit?.dir,
          segmentBytes: config.audit?.segmentBytes,
          segmentMs: config.audit?.segmentMs,
          durability: config.audit?.durability ?? (config.audit?.file || config.audit?.dir ? 'fsync' : 'memory'),
          signingKey: key,
          hashCallerIds: config.audit?.callerIdKey ? { key: config.audit.callerIdKey } : null,
        });
      } catch (err) {
        this.session.close();
        throw err;
      }
      this.#handoff = handoff;
      // process.exit(): the records still waiting here reach the log before it writes its queue.
      this.#audit.beforeExitFlush(() => handoff.drain());
    }
  }

  /** Protection statistics so far. */
  stats(): StatsSnapshot {
    return this.#stats.snapshot();
  }

  get auditLog(): AuditLog | null {
    return this.#audit;
  }

  // ------------------------------------------------------------------ emergency procedures

  /** Maintenance: the breaker is forced open; calls get a fallback ('fallback') or are refused. */
  enterMaintenance(reason: string, mode: 'fallback' | 'refuse' = 'fallback'): void {
    this.#maintenance = { reason, mode };
    this.breaker.forceOpen(`maintenance: ${reason}`);
  }

  /** Ends maintenance; recovery goes through half-open trials. */
  exitMaintenance(): void {
    this.#maintenance = null;
    this.breaker.release('maintenance over', 'half-open');
  }

  /** Inference stays suspended after repeated corrupt outputs until this is called. */
  resumeInference(): void {
    this.#suspended = null;
    this.#corruptInARow = 0;
    this.breaker.release('inference resumed', 'half-open');
  }

  /** Manual breaker reset to closed, statistics cleared. */
  resetBreaker(): void {
    this.breaker.reset('manual reset');
  }

  get suspended(): string | null {
    return this.#suspended;
  }

  get maintenance(): { reason: string; mode: 'fallback' | 'refuse' } | null {
    return this.#maintenance;
  }

  async close(): Promise<void> {
    this.session.close();
    this.drainAudit();
    if (this.#audit) await this.#audit.close();
  }

  // ------------------------------------------------------------------ forecasts

  /** A guarded forecast on this thread: the lowest latency. */
  safeForecast(request: ForecastRequest): ForecastResult {
    const st = this.#begin(request);
    const permit = this.#modelPermit(st);
    if (!permit) return this.#finish(st);
    const t = now();
    let q: Float32Array;
    try {
      q = rolloutSync(this.session, st.prepared!.tensor, st.batch, st.horizon, this.#forecastBuffer(st));
    } catch (err) {
      return this.#modelDone(st, permit, t, null, err);
    }
    return this.#modelDone(st, permit, t, q, null);
  }

  /** A guarded forecast with the model on the thread pool; `timeoutMs` cancels a slow model. */
  async safeForecastAsync(request: ForecastRequest, options: { timeoutMs?: number } = {}): Promise<ForecastResult> {
    // The caller may change or detach its buffers while the model runs: the shields and the
    // fallbacks work on a copy of the rows (the model gets its own copy in the addon).
    const st = this.#begin(request, true);
    let timeoutMs = 0;
    try {
      timeoutMs = checkTimeout(options.timeoutMs);
    } catch (err) {
      this.#fail(st, ErrorCode.OutOfRange, (err as Error).message, true);
    }
    const permit = this.#modelPermit(st);
    if (!permit) return this.#finish(st);
    const t = now();
    let q: Float32Array;
    try {
      q = await rollout(this.session, st.prepared!.tensor, st.batch, st.horizon, { timeoutMs, out: this.#forecastBuffer(st) });
    } catch (err) {
      return this.#modelDone(st, permit, t, null, err);
    }
    return this.#modelDone(st, permit, t, q, null);
  }

  /** The breaker's permit when the call goes on to the model; null when #finish answers it
   * (blocked, served by a fallback, nothing prepared, or the circuit refused). */
  #modelPermit(st: CallState): Permit | null {
    if (st.status === 'blocked' || st.fallback || !st.prepared) return null;
    return this.#permit(st);
  }

  /** Where the model writes the forecast: [batch, horizon, levels] from the result buffers. */
  #forecastBuffer(st: CallState): Float32Array {
    return this.#buffers.take(st.batch * st.horizon * this.#levels.length);
  }

  /** Records the model's time, then the output shield (a forecast) or the failure path (an error). */
  #modelDone(st: CallState, permit: Permit, started: number, q: Float32Array | null, err: unknown): ForecastResult {
    st.modelUs = (now() - started) * 1000;
    return q ? this.#afterModel(st, permit, q) : this.#modelFailed(st, permit, err);
  }

  // ------------------------------------------------------------------ steps

  #begin(request: ForecastRequest, copyRows = false): CallState {
    const st: CallState = {
      t0: now(),
      modelUs: 0,
      request,
      horizon: 0,
      batch: 0,
      prepared: null,
      assessments: [],
      threat: NO_THREAT,
      shields: [],
      decisions: [],
      warnings: [],
      quantiles: null,
      mean: null,
      status: 'ok',
      reason: null,
      fallback: null,
      callerId: null,
      bounds: this.#defaultBounds,
    };
    this.#stats.calls++;
    if (typeof request !== 'object' || request === null) {
      this.#fail(st, ErrorCode.InvalidArgument, 'the request must be an object { context, predictionLength, userId }', true);
    }
    // Trading callers repeat: an id equal to the last valid one is valid (strings are immutable).
    if (typeof request.userId !== 'string' || request.userId !== this.#lastCallerId) {
      const caller = checkCallerId(request.userId);
      if (caller !== null) this.#fail(st, ErrorCode.InvalidArgument, `userId: ${caller}`, true);
      this.#lastCallerId = request.userId;
    }
    st.callerId = request.userId;
    // Pipeline shield: horizon, shapes, lengths, dtype.
    const horizonRefusal = this.#pipeline.checkHorizon(request.predictionLength);
    this.#stats.check('contextLength', horizonRefusal !== null);
    if (horizonRefusal) this.#refuse(st, horizonRefusal);
    st.horizon = request.predictionLength;
    let prepared: PreparedContext | PipelineRefusal;
    try {
      prepared = this.#pipeline.prepare(request.context, request.batch);
    } catch (err) {
      // A coded error from a kernel (a detached buffer, say) is the caller's: typed and audited.
      const code = ((err as { code?: string }).code ?? ErrorCode.Internal) as ErrorCodeValue;
      this.#fail(st, code, `context: ${(err as Error).message}`, true);
    }
    if (isRefusal(prepared)) {
      this.#stats.check(prepared.code === 'TG_PRECISION_LOSS' ? 'devicePrecision' : prepared.code === 'TG_CONTEXT_TOO_SHORT' || prepared.code === 'TG_CONTEXT_TOO_LONG' ? 'contextLength' : 'tensorOperations', true);
      this.#refuse(st, prepared);
    }
    const p = prepared as PreparedContext;
    if (copyRows) p.rows = p.rows.map((r) => r.slice()); // the addon copies the tensor itself
    st.prepared = p;
    st.batch = p.batch;
    for (const w of p.warnings) st.warnings.push(w);
    this.#stats.check('contextLength', p.trimmed);
    const ragged = p.batch > 1 && p.lengths.some((l) => l !== p.lengths[0]);
    this.#stats.check('tensorOperations', ragged);
    this.#stats.check('devicePrecision', p.precisionLoss > 0);
    if (p.trimmed) {
      st.shields.push({ shield: 'pipeline', action: 'trim', detail: `kept the last ${p.window} points` });
      st.decisions.push({ shield: 'pipeline', action: 'trim', kept: p.window });
    }
    if (p.imputed > 0) {
      st.shields.push({ shield: 'pipeline', action: 'impute', detail: `${p.imputed} values` });
      st.decisions.push({ shield: 'pipeline', action: 'impute', values: p.imputed });
    }
    if (ragged) st.decisions.push({ shield: 'pipeline', action: 'pad-ragged', window: p.window });
    if (p.precisionLoss > 0) st.decisions.push({ shield: 'pipeline', action: 'float32', maxRelativeError: p.precisionLoss });
    if (p.precisionLoss > 1e-3) {
      st.warnings.push(`float32 conversion lost ${p.precisionLoss.toExponential(2)} of a series' own scale (accepted up to ${this.#pipeline.thresholds.maxPrecisionLoss})`);
    }
    // Input shield: one scan per series, the threat score decides.
    const bounds = request.instrument !== undefined ? this.#bounds[request.instrument] : undefined;
    if (bounds) st.bounds = bounds;
    const minFinite = this.#pipeline.thresholds.minFiniteRatio;
    let blocked: ThreatAssessment | null = null;
    for (let b = 0; b < p.batch; b++) {
      const row = p.rows[b]!;
      const a = this.#input.assess(row, bounds);
      st.assessments.push(a);
      for (const sig of a.triggered) this.#stats.bump(this.#stats.threatsBySignal, sig.name);
      this.#stats.check('nanHandling', a.stats.nan > 0 || a.stats.posInf + a.stats.negInf > 0);
      // The pipeline's own floor on finite data (0.60 / 0.80 / 0.95 by protection level).
      if (a.stats.finite < minFinite * a.stats.length && a.decision !== 'block') {
        a.decision = 'block';
        a.score = 1;
        a.triggered.push({ name: 'pipelineFiniteRatio', value: a.stats.finite / Math.max(a.stats.length, 1), threshold: minFinite, weight: 1 });
      }
      if (a.decision === 'block' && !blocked) blocked = a;
      const scaling = scalingState(a.stats, this.#pipeline.thresholds.warnScale, b, st.warnings);
      if (isRefusal(scaling)) this.#refuse(st, scaling);
    }
    const threat = (st.threat = this.#threat(st.assessments));
    if (threat.decision !== 'pass') {
      st.shields.push({ shield: 'input', action: threat.decision, detail: `threat ${threat.score.toFixed(3)}: ${threat.signals.join(', ')}` });
      if (threat.decision === 'caution') st.decisions.push({ shield: 'input', action: 'caution', score: threat.score, signals: threat.signals });
    }
    if (blocked) {
      const reason = `input blocked (threat ${blocked.score.toFixed(3)}): ${blocked.triggered.map((s) => s.name).join(', ')}`;
      st.decisions.push({ shield: 'input', action: 'block', score: blocked.score, signals: blocked.triggered.map((s) => s.name) });
      if (this.config.strategy === 'strict') this.#fail(st, ErrorCode.InputBlocked, reason);
      this.#serveFallback(st, reason);
      return st;
    }
    // Emergency procedures before the model.
    if (this.#maintenance) {
      const reason = `maintenance: ${this.#maintenance.reason}`;
      st.shields.push({ shield: 'emergency', action: 'maintenance', detail: this.#maintenance.reason });
      if (this.#maintenance.mode === 'refuse' || this.config.strategy === 'strict') this.#fail(st, ErrorCode.Maintenance, reason);
      this.#serveFallback(st, reason);
      return st;
    }
    if (this.#suspended) {
      const reason = `inference suspended: ${this.#suspended}`;
      st.shields.push({ shield: 'emergency', action: 'suspended', detail: this.#suspended });
      if (this.config.strategy === 'strict') this.#fail(st, ErrorCode.Suspended, reason);
      this.#serveFallback(st, reason);
    }
    return st;
  }

  #permit(st: CallState): Permit | null {
    const permit = this.breaker.tryAcquire();
    this.#stats.check('modelLoading', permit === null);
    if (permit) return permit;
    const wait = this.breaker.retryAfterMs;
    const reason = `circuit ${this.breaker.state}: the model is not called (${Number.isFinite(wait) ? `trial in ${Math.ceil(wait)} ms` : 'until released'})`;
    st.shields.push({ shield: 'circuit', action: 'reject', detail: this.breaker.state });
    if (this.config.strategy === 'strict') this.#fail(st, ErrorCode.CircuitOpen, reason);
    this.#serveFallback(st, reason);
    return null;
  }

  #modelFailed(st: CallState, permit: Permit, err: unknown): ForecastResult {
    const code = (err as { code?: string }).code ?? 'TG_INTERNAL';
    const message = err instanceof Error ? err.message : String(err);
    permit.failure(`model: ${code}`);
    st.shields.push({ shield: 'circuit', action: 'failure', detail: code });
    st.decisions.push({ shield: 'circuit', action: 'model-failure', code });
    const timeout = code === ErrorCode.RunTimeout;
    if (this.config.strategy === 'strict') {
      this.#fail(st, timeout ? ErrorCode.RunTimeout : ErrorCode.ModelFailed, `the model failed (${code}): ${message}`);
    }
    this.#serveFallback(st, timeout ? 'the model timed out' : `the model failed (${code})`);
    return this.#finish(st);
  }

  #afterModel(st: CallState, permit: Permit, q: Float32Array): ForecastResult {
    const anchors = this.#anchorsOf(st);
    const mean = this.#buffers.take(st.batch * st.horizon);
    const verdict: OutputVerdict = this.#output.inspect(q, st.batch, st.horizon, anchors, st.threat.decision === 'caution', mean);
    this.#stats.check('quantileProcessing', verdict.nonFinite + verdict.crossedSteps + verdict.implausibleSteps > 0);
    if (verdict.nonFinite > 0) {
      permit.failure('non-finite output');
      this.#corruptInARow++;
      const reason = `the model returned ${verdict.nonFinite} non-finite values`;
      st.decisions.push({ shield: 'output', action: 'reject', nonFinite: verdict.nonFinite });
      st.shields.push({ shield: 'output', action: 'reject', detail: reason });
      if (this.#corruptInARow >= this.#suspendAfter && !this.#suspended) {
        this.#suspended = `${this.#corruptInARow} corrupt outputs in a row`;
        this.breaker.forceOpen(`suspended: ${this.#suspended}`);
        st.shields.push({ shield: 'emergency', action: 'suspend', detail: this.#suspended });
      }
      if (this.config.strategy === 'strict') this.#fail(st, ErrorCode.OutputCorrupt, reason);
      this.#serveFallback(st, reason);
      return this.#finish(st);
    }
    this.#corruptInARow = 0;
    if (verdict.needsFallback) {
      permit.failure('implausible output');
      const reason = verdict.corrections.join('; ');
      st.decisions.push({ shield: 'output', action: 'replace', implausibleSteps: verdict.implausibleSteps });
      st.shields.push({ shield: 'output', action: 'replace', detail: reason });
      if (this.config.strategy === 'strict') this.#fail(st, ErrorCode.OutputImplausible, reason);
      this.#serveFallback(st, reason);
      return this.#finish(st);
    }
    permit.success();
    st.quantiles = q;
    st.mean = mean;
    if (verdict.crossedSteps > 0) this.#stats.bump(this.#stats.corrections, 'sortedQuantileSteps', verdict.crossedSteps);
    if (verdict.clampedSteps > 0) this.#stats.bump(this.#stats.corrections, 'clampedSteps', verdict.clampedSteps);
    if (verdict.corrections.length > 0) {
      st.decisions.push({ shield: 'output', action: 'correct', crossedSteps: verdict.crossedSteps, implausibleSteps: verdict.implausibleSteps, clampedSteps: verdict.clampedSteps });
      for (const c of verdict.corrections) st.shields.push({ shield: 'output', action: 'correct', detail: c });
      // A flag changes no number: the result says so in its shields, the status stays ok.
      if (verdict.crossedSteps > 0 || verdict.clampedSteps > 0) {
        st.status = 'corrected';
        st.reason = verdict.corrections.join('; ');
      }
    }
    return this.#finish(st);
  }

  /** What the output shield judges each series' forecast against: last, sigma, min, max. */
  #anchorsOf(st: CallState): ForecastCheckIO {
    if (this.#checkIO.maxBatch < st.batch) this.#checkIO = new ForecastCheckIO(st.batch);
    const out = this.#checkIO.anchors;
    for (let b = 0; b < st.batch; b++) {
      const s = st.assessments[b]!.stats;
      out[b * ANCHOR_STRIDE] = s.last;
      out[b * ANCHOR_STRIDE + 1] = s.sigma;
      out[b * ANCHOR_STRIDE + 2] = s.min;
      out[b * ANCHOR_STRIDE + 3] = s.max;
    }
    return this.#checkIO;
  }

  /** Fallback for every series; blocked when a series has nothing to forecast from. */
  #serveFallback(st: CallState, reason: string): void {
    const p = st.prepared;
    const m = this.session.manifest;
    const Q = m.quantileLevels.length;
    st.reason = reason;
    if (!p) {
      st.status = 'blocked';
      return;
    }
    const q = this.#buffers.take(p.batch * st.horizon * Q);
    let method = '';
    let steps: FallbackStep[] = [];
    for (let b = 0; b < p.batch; b++) {
      let r: ReturnType<typeof fallbackChain>;
      try {
        r = fallbackChain(this.#cleanRow(st, b), st.horizon, { levels: this.#levels, out: q.subarray(b * st.horizon * Q, (b + 1) * st.horizon * Q) });
      } catch (err) {
        r = { ok: false, reason: `the context could not be read: ${(err as Error).message}`, steps: [] };
      }
      if (!r.ok) {
        st.status = 'blocked';
        st.reason = `${reason}; no fallback for series ${b}: ${r.reason}`;
        st.decisions.push({ shield: 'circuit', action: 'no-fallback', row: b, reason: r.reason });
        return;
      }
      method = b === 0 ? r.method : method === r.method ? method : 'mixed';
      if (b === 0) steps = r.steps;
    }
    this.#stats.bump(this.#stats.fallbacks, method);
    st.status = 'fallback';
    st.quantiles = q;
    st.mean = null;
    st.fallback = { method, steps };
    st.shields.push({ shield: 'circuit', action: 'fallback', detail: `${method}: ${reason}` });
    st.decisions.push({ shield: 'circuit', action: 'fallback', method, reason });
  }

  /** Row b for the fallback: values beyond the bounds (corruption, by the input shield's rule)
   * are left out, so a blocked input cannot steer the fallback that replaces the model. */
  #cleanRow(st: CallState, b: number): Float32Array | Float64Array {
    const row = st.prepared!.rows[b]!;
    const a = st.assessments[b];
    if (!a || a.stats.outOfBounds === 0) return row;
    const { lo, hi } = st.bounds;
    const clean = row.slice();
    for (let i = 0; i < clean.length; i++) if (clean[i]! < lo || clean[i]! > hi) clean[i] = NaN;
    return clean;
  }

  #threat(assessments: readonly ThreatAssessment[]): ForecastResult['threat'] {
    let worst: ThreatAssessment | null = null;
    for (const a of assessments) if (!worst || a.score > worst.score) worst = a;
    if (!worst) return NO_THREAT;
    return { score: worst.score, decision: worst.decision, signals: worst.triggered.map((s) => s.name) };
  }

  #refuse(st: CallState, refusal: PipelineRefusal): never {
    st.shields.push({ shield: 'pipeline', action: 'refuse', detail: refusal.reason });
    this.#fail(st, refusal.code as ErrorCodeValue, refusal.reason, refusal.code === 'TG_INVALID_ARGUMENT');
  }

  /**
   * Ends a call with a typed error: recorded (audit, statistics) first. `alwaysThrow` is for
   * caller mistakes (a bad argument throws in every strategy; there is nothing to serve).
   */
  #fail(st: CallState, code: ErrorCodeValue, message: string, alwaysThrow = false): never {
    const err: CodedError = codedError(code, message);
    st.status = 'blocked';
    st.reason = message;
    // Whatever was prepared is not served: the record must not name a fallback.
    st.fallback = null;
    st.quantiles = null;
    st.mean = null;
    st.decisions.push({ shield: 'guardian', action: 'error', code });
    this.#stats.bump(this.#stats.errors, code);
    this.#stats.byStatus.blocked++;
    const auditId = this.#record(st);
    Object.assign(err, { auditId, status: 'blocked' as const, strategy: alwaysThrow ? 'any' : this.config.strategy });
    throw err;
  }

  /**
   * Hands the finished call to the audit log without doing the log's work on the caller's time:
   * the call gets its id and latency here and leaves what its record needs (references, no
   * copies, nothing large) in the hand-off buffer (lib/audit/handoff.ts); the record is built,
   * canonicalized, hashed and queued on the next tick. The id is written into the record
   * (`inputStats.callId`), so a result and its record are found from each other.
   */
  #record(st: CallState): string | null {
    if (!this.#handoff) return null;
    const callId = `c${String(++this.#callSeq).padStart(16, '0')}-${this.#callPrefix}`;
    this.#handoff.push({
      callId,
      t0: st.t0,
      // To the nanosecond: the clock's own resolution, and a short number to write.
      latencyUs: Math.max(0, Math.round((now() - st.t0) * 1e6) / 1000),
      callerId: st.callerId,
      status: st.status,
      horizon: st.horizon,
      batch: st.batch,
      assessments: st.assessments,
      // A call refused halfway through the input shield has assessments but no verdict yet.
      threatScore: st.threat === NO_THREAT && st.assessments.length > 0 ? this.#threat(st.assessments).score : st.threat.score,
      decisions: st.decisions,
      fallback: st.fallback?.method ?? null,
    });
    return callId;
  }

  /**
   * The audit record of a handed-off call. `wallOffsetMs` turns the monotonic clock into wall
   * time (read once per drain: Date.now() costs about half a microsecond on the hot path after a
   * model run, measured); the record's time is when the call ended, to the millisecond.
   */
  #recordInput(st: PendingRecord, wallOffsetMs: number): AuditRecordInput {
    // Keys in canonical (sorted) order: the log's serializer then has nothing to sort.
    const series = st.assessments.map((a) => ({
      inf: a.stats.posInf + a.stats.negInf,
      max: Number.isFinite(a.stats.max) ? a.stats.max : null,
      min: Number.isFinite(a.stats.min) ? a.stats.min : null,
      n: a.stats.length,
      nan: a.stats.nan,
      oob: a.stats.outOfBounds,
      score: Math.round(a.score * 1e4) / 1e4,
    }));
    return {
      callerId: st.callerId ?? 'invalid-caller-id', // validated once, in #begin
      status: st.status,
      latencyUs: st.latencyUs,
      modelHash: this.#modelInfo.sha256,
      inputStats: { batch: st.batch, callId: st.callId, horizon: st.horizon, series, threat: Math.round(st.threatScore * 1e4) / 1e4 },
      decisions: st.decisions,
      fallback: st.fallback,
      time: Math.round(st.t0 + st.latencyUs / 1000 + wallOffsetMs),
    };
  }

  /**
   * Appends the records handed off so far to the audit log (normally done on the next tick).
   * Returns how many the log refused in this drain (a full log queue: counted, and gap entries).
   */
  drainAudit(): number {
    this.#refusedInDrain = 0;
    this.#handoff?.drain();
    return this.#refusedInDrain;
  }

  #appendRecords(batch: PendingRecord[]): void {
    const audit = this.#audit!;
    let refused = 0;
    const wallOffsetMs = Date.now() - now();
    for (const st of batch) {
      try {
        if (!audit.append(this.#recordInput(st, wallOffsetMs)).accepted) refused++;
      } catch (err) {
        refused++;
        this.#stats.bump(this.#stats.errors, (err as { code?: string }).code ?? 'TG_AUDIT_WRITE_FAILED');
      }
    }
    if (refused > 0) this.#stats.bump(this.#stats.errors, 'TG_AUDIT_DROPPED', refused);
    this.#refusedInDrain += refused;
  }

  /** A full hand-off buffer refused records ('drop' policy): counted, and a gap in the log. */
  #handoffDropped(count: number): void {
    this.#stats.bump(this.#stats.errors, 'TG_AUDIT_DROPPED', count);
    try {
      this.#audit!.recordDropped(count);
    } catch (err) {
      this.#stats.bump(this.#stats.errors, (err as { code?: string }).code ?? 'TG_AUDIT_WRITE_FAILED');
    }
  }

  /** Appends what was handed off and waits until the log has it at its durability level. */
  async flushAudit(): Promise<void> {
    this.drainAudit();
    if (this.#audit) await this.#audit.flush();
  }

  #finish(st: CallState): ForecastResult {
    const m = this.session.manifest;
    const Q = m.quantileLevels.length;
    let mean = st.mean;
    if (st.quantiles && !mean) {
      mean = this.#buffers.take(st.batch * st.horizon);
      for (let i = 0; i < mean.length; i++) mean[i] = st.quantiles[i * Q + m.medianIndex]!;
    }
    this.#stats.byStatus[st.status]++;
    const auditId = this.#record(st);
    const totalUs = (now() - st.t0) * 1000;
    return {
      status: st.status,
      reason: st.reason,
      quantiles: st.quantiles,
      mean,
      levels: this.#levels,
      batch: st.batch,
      horizon: st.horizon,
      threat: st.threat,
      shields: st.shields,
      fallback: st.fallback,
      auditId,
      model: this.#modelInfo,
      timings: { totalUs, modelUs: st.modelUs, shieldsUs: totalUs - st.modelUs },
      warnings: st.warnings,
    };
  }
}
