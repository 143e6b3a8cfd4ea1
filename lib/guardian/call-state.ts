/**
 * The work of one guardian call, built step by step by the shields and turned into a result
 * (or a typed error) at the end. One object per call, nothing shared between calls.
 */
import type { AuditDecision } from '../audit';
import type { FallbackStep } from '../fallback';
import type { TraceStart } from '../observability/tracing';
import type { RegimeSnapshot } from '../regime/types';
import type { BatchAssessment } from './input-shield';
import type { PreparedContext } from './pipeline-shield';
import { NO_THREAT, type ForecastStatus, type SeriesState, type ThreatView } from './series';

export interface ShieldActivation {
  shield: 'pipeline' | 'input' | 'circuit' | 'output' | 'audit' | 'emergency';
  action: string;
  detail?: string;
}

export interface CallState {
  t0: number;
  modelUs: number;
  horizon: number;
  batch: number;
  prepared: PreparedContext | null;
  /** The input shield's verdict on every series (null until it has run). */
  inputs: BatchAssessment | null;
  /** One per series once the input shield has run. */
  series: SeriesState[];
  /** The series the model forecasts (indices into the batch), in order. */
  modelRows: number[];
  /** The worst assessment's verdict, set once the input shield has run. */
  threat: ThreatView;
  shields: ShieldActivation[];
  decisions: AuditDecision[];
  warnings: string[];
  /** [batch, horizon, levels] once something was forecast (model or fallback). */
  quantiles: Float32Array | null;
  /** [batch, horizon] medians, beside `quantiles`. */
  mean: Float32Array | null;
  /** The call's status and reason: the worst series' (set by the guardian at the end). */
  status: ForecastStatus;
  reason: string | null;
  fallback: { method: string; steps: FallbackStep[] } | null;
  /** The caller's id once validated (null until then: the record says 'invalid-caller-id'). */
  callerId: string | null;
  /** `clientUserId` of the request, once validated. */
  clientUserId: string | null;
  /** The bounds the input shield used (the fallback leaves out values beyond them). */
  bounds: Readonly<{ lo: number; hi: number }>;
  /** Staging buffers an async call borrowed from the guardian's pool (null: none). */
  borrowed: Float32Array[] | null;
  /** True while a model run that may still read them is not known to have ended. */
  borrowedByRun: boolean;
  /** The model run the call's result rests on: when it started (performance.now()) and on how
   * many series (null: the model did not run). */
  modelRun: { startedAt: number; rows: number } | null;
  /** The instrument the request named (null: none). */
  instrument: string | null;
  /** The request's originTime (null: none given; the journal takes the clock's time). */
  originTime: number | null;
  /** The tracer and parent context when an OpenTelemetry SDK is registered (lib/observability). */
  trace: TraceStart | null;
  /** The instrument's market regime when the guardian has an engine (lib/guardian/regime-use.ts). */
  regime: RegimeSnapshot | null;
  /** The output shield's bound multiplier from that regime (1: none). */
  regimeBoundFactor: number;
}

export function newCallState(t0: number, bounds: Readonly<{ lo: number; hi: number }>): CallState {
  return {
    t0,
    modelUs: 0,
    horizon: 0,
    batch: 0,
    prepared: null,
    inputs: null,
    series: [],
    modelRows: [],
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
    clientUserId: null,
    bounds,
    borrowed: null,
    borrowedByRun: false,
    modelRun: null,
    instrument: null,
    originTime: null,
    trace: null,
    regime: null,
    regimeBoundFactor: 1,
  };
}
