/** The guardian's public types: its configuration, a request and a result. */
import type { KeyObject } from 'node:crypto';

import type { AuditDurability } from '../audit';
import type { HandoffFullPolicy } from '../audit/handoff';
import type { BreakerOptions, Clock } from '../breaker';
import type { FallbackStep } from '../fallback';
import type { SessionOptions } from '../model/session';
import type { RegimeSnapshot } from '../regime/types';
import type { ShieldActivation } from './call-state';
import type { RegimeSource } from './regime-use';
import type { ContextInput } from './pipeline-shield';
import type { ForecastStatus, SeriesOutcome, ThreatView } from './series';
import type { FallbackStrategy, PipelineProtection, PROFILES, ThreatLevel } from './thresholds';

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
  /** Refuse a model without a valid signature by a trusted key (lib/model/signature.ts):
   * TG_MODEL_UNSIGNED, TG_MODEL_SIGNATURE_INVALID, TG_MODEL_KEY_UNTRUSTED. Default: on in the
   * production profile (where turning it off is a failing gate), off otherwise. */
  requireSignedModels?: boolean;
  /** The trusted-keys file (default: models/trusted-keys.json, the project's key). */
  trustedModelKeys?: string;
  /** Where evidence lands (preflight and startup-gate artifacts, the run audit; README "Going
   * to production"). Default: $TG_EVIDENCE_DIR. Required in the production profile. */
  evidenceDir?: string;
  /** The security preflight run before the model loads (lib/security/preflight.ts). */
  securityPreflight?: SecurityPreflightConfig;
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
  /** A market regime engine (lib/regime, RegimeEngine): a request's `instrument` gets its regime,
   * which widens or tightens the output shield's bound and informs the fallback's bands
   * (lib/guardian/regime-use.ts). */
  regime?: RegimeSource;
  /** Consecutive corrupt model outputs before inference is suspended (manual resume). */
  suspendAfterCorruptOutputs?: number;
  /**
   * 'pooled' (default): result arrays are views on shared 16 KiB slabs, which saves about a
   * microsecond per array; their `.buffer` holds other results and is never detached by a
   * transfer (use `.slice()` for a copy of one's own). 'own': every result array has a buffer of
   * its own.
   */
  resultBuffers?: 'pooled' | 'own';
  /** The forecast journal (lib/journal): every forecast served for a request with an
   * `instrument` is journaled, and `recordOutcome` journals realized values (README "Proving a
   * model before it goes live"). */
  journal?: JournalConfig;
  /** A candidate model run beside the live one on the same requests, journaled, never served. */
  shadow?: ShadowConfig;
  /** Require a passing forecast-quality gate artifact (lib/gate) for the model loaded. */
  forecastGate?: ForecastGateConfig;
}

export interface JournalConfig {
  /** The journal's directory of segments (its own log, beside the audit log). */
  dir: string;
  /** Default 'fsync'. */
  durability?: Exclude<AuditDurability, 'memory'>;
  segmentBytes?: number;
  segmentMs?: number;
  /** Signs the journal's checkpoints; default: the audit's signing key ($TG_AUDIT_SIGNING_KEY). */
  signingKey?: string | KeyObject;
  /** Forecasts waiting for the next tick before the policy applies (default 4096). */
  handoffLimit?: number;
  /** 'block' (default) or 'drop' (counted and written as a gap entry). */
  onHandoffFull?: HandoffFullPolicy;
}

export interface ShadowConfig {
  /** The candidate's manifest. */
  model: string;
  /** The sha256 the candidate must have. */
  modelSha256?: string;
  /** Shadow runs waiting or running before more are dropped and counted (default 8). */
  queueLimit?: number;
  session?: SessionOptions;
}

export interface ForecastGateConfig {
  /** Default false. */
  required?: boolean;
  /** A passing artifact older than this does not count (default 168: a week). */
  maxArtifactAgeHours?: number;
  /** The kinds of evidence accepted (default all: 'live', 'shadow', 'backtest'). */
  evidence?: readonly ('live' | 'shadow' | 'backtest')[];
}

export interface ForecastRequest {
  context: ContextInput;
  predictionLength: number;
  userId: string;
  /** Rows of a [batch, time] context given as one typed array. */
  batch?: number;
  /** Selects market bounds from the configuration; names the series in the forecast journal. */
  instrument?: string;
  /** The time of the context's last point, ms since the epoch (the forecast journal's origin:
   * its step h is the h-th outcome recorded after it). Default: the guardian's clock. */
  originTime?: number;
  /**
   * Who the caller says it acts for, when the caller is not the end user: the service passes the
   * API key's id as `userId` (a client cannot claim to be someone else) and the client's own
   * `userId` here. Checked like `userId`; recorded beside the caller in the audit record
   * (`inputStats.clientUserId`, pseudonymized with `audit.callerIdKey` like the caller).
   */
  clientUserId?: string;
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
  threat: ThreatView;
  /** Each series' own status, reason and threat: a batch is judged series by series, and the
   * call's `status` is the worst of these (blocked > fallback > corrected > ok). The rows of a
   * blocked series hold NaN. */
  series: SeriesOutcome[];
  shields: ShieldActivation[];
  fallback: { method: string; steps: FallbackStep[] } | null;
  /** The call's id in the audit trail (the record's `inputStats.callId`); null when audit is off. */
  auditId: string | null;
  model: { name: string; sha256: string; provider: string };
  timings: { totalUs: number; modelUs: number; shieldsUs: number };
  /** The instrument's market regime the call used (null: no engine, or no instrument). */
  regime: RegimeSnapshot | null;
  warnings: string[];
}


/** The guardian's security preflight (README "Going to production"). */
export interface SecurityPreflightConfig {
  /** Run it before the model loads; default: on in the production profile (where off is a failing
   * gate), off otherwise. */
  required?: boolean;
  /** Accept a passing preflight artifact from the evidence directory this young instead of running
   * it again (same project, lockfile, allowlist, threshold and Node.js). Default 24; 0: always run. */
  maxArtifactAgeHours?: number;
  /** The project whose installed packages are checked (default: the working directory). */
  projectDir?: string;
  /** Default: $TG_SECURITY_ALLOWLIST. */
  allowlistFile?: string;
  /** A directory of OSV advisories. Default: $TG_SECURITY_OSV_DIR. */
  osvDir?: string;
  /** A Security WG database checkout instead of the shipped snapshot. */
  advisoryDb?: string;
  /** Default 'moderate'. */
  severityThreshold?: 'low' | 'moderate' | 'high' | 'critical';
  /** Dev dependencies may be absent (an install with --omit=dev). Default: NODE_ENV is production. */
  omitDev?: boolean;
}
