/**
 * The guardian's configuration, checked once at construction (issue 10, finding 6). Nothing in a
 * configuration may fail open:
 *
 * - every object is read field by field, each field exactly once and as an own property (a
 *   snapshot: a getter runs once, an inherited property from a polluted Object.prototype is never
 *   seen, later changes to the caller's object change nothing);
 * - an unknown key, at any level, is refused with the names allowed there (a misspelt option
 *   would otherwise leave its default in force, silently);
 * - names are checked against own entries of fixed lists (a level 'constructor' or '__proto__'
 *   would otherwise find Object.prototype's members in the threshold tables);
 * - numbers are finite and in range, integers where they count something.
 *
 * Errors are TypeError / RangeError with code TG_INVALID_ARGUMENT (TG_INVALID_BOUNDS under
 * marketBounds), `err.option` naming the offending path; a missing signing key is TG_GATE_FAILED.
 */
import { KeyObject } from 'node:crypto';
import * as path from 'node:path';

import type { AuditDurability, AuditLogOptions } from '../audit';
import type { HandoffFullPolicy } from '../audit/handoff';
import { BREAKER_DEFAULTS, resolveBreakerOptions, systemClock, type Clock, type ResolvedBreakerOptions } from '../breaker';
import { codedError, ErrorCode, typeError } from '../errors';
import { DEFAULT_ASYNC_SPIN_US, type SessionOptions } from '../model/session';
import { packageRoot } from '../native/addon';
import { describeThrown } from './request';
import type { GuardianConfig, SecurityPreflightConfig } from './types';
import {
  FALLBACK_STRATEGIES,
  INPUT_THRESHOLDS,
  lookup,
  OUTPUT_THRESHOLDS,
  PIPELINE_PROTECTIONS,
  PIPELINE_THRESHOLDS,
  PROFILE_NAMES,
  PROFILES,
  THREAT_LEVELS,
  type FallbackStrategy,
  type InputThresholds,
  type OutputThresholds,
  type PipelineProtection,
  type PipelineThresholds,
  type ProfileName,
  type ThreatLevel,
} from './thresholds';
import type { RegimeSource } from './regime-use';
import { defaultTrustedKeysFile } from '../model/signature';
import type { PreflightOptions } from '../security/preflight';
import { SEVERITIES } from '../security/severity';
import { bool, fail, fieldsOf, int, nullProto, oneOf, shown, text, type Fields } from './config-fields';
import { resolveQuality, type ResolvedQualityConfig } from './quality-config';
import type { ResolvedSecurityConfig } from './security-gate';

type AuditConfig = NonNullable<GuardianConfig['audit']>;

const TOP_KEYS = [
  'profile',
  'threatDetectionLevel',
  'dataPipelineProtection',
  'fallbackStrategy',
  'enableAuditLogging',
  'model',
  'modelSha256',
  'requireSignedModels',
  'trustedModelKeys',
  'evidenceDir',
  'securityPreflight',
  'session',
  'audit',
  'marketBounds',
  'breaker',
  'clock',
  'suspendAfterCorruptOutputs',
  'resultBuffers',
  'regime',
  'journal',
  'shadow',
  'forecastGate',
] as const satisfies readonly (keyof GuardianConfig)[];
const AUDIT_KEYS = [
  'file',
  'dir',
  'durability',
  'segmentBytes',
  'segmentMs',
  'signingKey',
  'callerIdKey',
  'handoffLimit',
  'onHandoffFull',
] as const satisfies readonly (keyof AuditConfig)[];
const SECURITY_KEYS = [
  'required',
  'maxArtifactAgeHours',
  'projectDir',
  'allowlistFile',
  'osvDir',
  'advisoryDb',
  'severityThreshold',
  'omitDev',
] as const satisfies readonly (keyof SecurityPreflightConfig)[];
const SESSION_KEYS = [
  'intraOpThreads',
  'interOpThreads',
  'graphOptimizationLevel',
  'deterministic',
  'allowSpinning',
  'provider',
  'deviceId',
  'providerPolicy',
  'asyncSpinUs',
] as const satisfies readonly (keyof SessionOptions)[];
const BREAKER_KEYS = (Object.keys(BREAKER_DEFAULTS) as (keyof ResolvedBreakerOptions)[]).filter(
  (k): k is Exclude<keyof ResolvedBreakerOptions, 'name' | 'clock'> => k !== 'name' && k !== 'clock',
);

// Compile-time: a field added to GuardianConfig, its audit options or SessionOptions without a
// place in the lists above fails the build here, instead of being refused at run time.
type Unlisted =
  | Exclude<keyof GuardianConfig, (typeof TOP_KEYS)[number]>
  | Exclude<keyof AuditConfig, (typeof AUDIT_KEYS)[number]>
  | Exclude<keyof SessionOptions, (typeof SESSION_KEYS)[number]>
  | Exclude<keyof SecurityPreflightConfig, (typeof SECURITY_KEYS)[number]>;
const everyKeyListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyKeyListed;

const DURABILITIES = ['memory', 'none', 'batched', 'fsync'] as const satisfies readonly AuditDurability[];
const HANDOFF_POLICIES = ['block', 'drop'] as const satisfies readonly HandoffFullPolicy[];
const RESULT_BUFFERS = ['pooled', 'own'] as const;
const OPTIMIZATION_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
/** Largest handoffLimit: a million pending records is already hundreds of MB waiting. */
export const MAX_HANDOFF_LIMIT = 1 << 20;
export const MAX_SUSPEND_AFTER = 1_000_000;

export interface ResolvedAuditConfig {
  /** enableAuditLogging after the profile. */
  enabled: boolean;
  file: string | undefined;
  dir: string | undefined;
  /** The durability the log opens with (the given one, else 'fsync' with a file or directory,
   * else 'memory', which only development may leave implicit). */
  durability: AuditDurability;
  segmentBytes: number | undefined;
  segmentMs: number | undefined;
  /** audit.signingKey, else $TG_AUDIT_SIGNING_KEY (read once, here). */
  signingKey: string | KeyObject | undefined;
  callerIdKey: string | undefined;
  handoffLimit: number;
  onHandoffFull: HandoffFullPolicy;
}

export interface ResolvedGuardianConfig {
  profile: ProfileName;
  /** What the guardian exposes as `config`. */
  policy: Readonly<{ level: ThreatLevel; pipeline: PipelineProtection; strategy: FallbackStrategy; audit: boolean }>;
  /** The rows of the threshold tables for the policy (own rows only). */
  thresholds: Readonly<{ input: Readonly<InputThresholds>; output: Readonly<OutputThresholds>; pipeline: Readonly<PipelineThresholds> }>;
  /** The manifest's path (default: the model shipped in models/). */
  model: string;
  modelSha256: string | undefined;
  /** Signed models: required or not (the production profile: required), and whose keys count. */
  signedModels: Readonly<{ required: boolean; trustedKeysFile: string }>;
  /** The evidence directory and the security preflight (lib/guardian/security-gate.ts). */
  security: ResolvedSecurityConfig;
  /** Every session option given a value, on an object without a prototype. */
  session: Readonly<Required<SessionOptions>>;
  audit: Readonly<ResolvedAuditConfig>;
  /** Per instrument, on an object without a prototype (an instrument named 'constructor' finds
   * nothing it was not given). */
  marketBounds: Readonly<Record<string, Readonly<{ lo: number; hi: number }>>>;
  /** The breaker's options, every one set (the clock included), without a name. */
  breaker: Readonly<Omit<ResolvedBreakerOptions, 'name'>>;
  suspendAfterCorruptOutputs: number;
  resultBuffers: 'pooled' | 'own';
  /** The market regime engine (null: none). */
  regime: RegimeSource | null;
  /** The forecast journal, shadow candidate and forecast-quality gate (quality-config.ts). */
  quality: ResolvedQualityConfig;
}

function resolveSession(value: unknown): Readonly<Required<SessionOptions>> {
  const f = value === undefined ? new Map<string, unknown>() : fieldsOf(value, 'session', SESSION_KEYS);
  const o = (k: string): string => `session.${k}`;
  // Every option set: the addon reads them by name, and an unset one would be looked up on the
  // prototype chain. The defaults are the addon's own.
  return nullProto<Required<SessionOptions>>({
    intraOpThreads: int(f, 'intraOpThreads', o('intraOpThreads'), 0, 1024) ?? 1,
    interOpThreads: int(f, 'interOpThreads', o('interOpThreads'), 0, 1024) ?? 1,
    graphOptimizationLevel: oneOf(f, 'graphOptimizationLevel', o('graphOptimizationLevel'), OPTIMIZATION_LEVELS) ?? 'all',
    deterministic: bool(f, 'deterministic', o('deterministic')) ?? false,
    allowSpinning: bool(f, 'allowSpinning', o('allowSpinning')) ?? false,
    provider: oneOf(f, 'provider', o('provider'), ['cpu', 'cuda'] as const) ?? 'cpu',
    deviceId: int(f, 'deviceId', o('deviceId'), 0, 1024) ?? 0,
    providerPolicy: oneOf(f, 'providerPolicy', o('providerPolicy'), ['require', 'prefer'] as const) ?? 'prefer',
    asyncSpinUs: int(f, 'asyncSpinUs', o('asyncSpinUs'), 0, 100_000) ?? DEFAULT_ASYNC_SPIN_US,
  });
}

function signingKeyOf(f: Fields): string | KeyObject | undefined {
  const v = f.get('signingKey');
  if (v === undefined) return process.env.TG_AUDIT_SIGNING_KEY || undefined;
  if ((typeof v === 'string' && v !== '') || v instanceof KeyObject) return v;
  throw fail('audit.signingKey', `must be a string (an HMAC secret of 32+ bytes, or an Ed25519 private key PEM) or a private KeyObject, got ${shown(v)}`);
}

/**
 * Where the records go. Decision (issue 10, finding 7): an audit log with neither a file nor a
 * directory keeps every record in memory for the process' life (1.3-1.6 KB a call). That is
 * refused outside development unless asked for by name (`durability: 'memory'`, for tests and
 * benchmarks, and never in production, whose gates refuse it); it cannot be bounded without
 * dropping records from a log whose point is to keep them all.
 */
function resolveDurability(f: Fields, profile: ProfileName, enabled: boolean, file?: string, dir?: string): AuditDurability {
  const given = oneOf(f, 'durability', 'audit.durability', DURABILITIES);
  if (file !== undefined && dir !== undefined) throw fail('audit', 'takes audit.file or audit.dir, not both');
  const stored = file !== undefined || dir !== undefined;
  if (given === 'memory' && stored) throw fail('audit.durability', `'memory' never writes the ${file !== undefined ? 'file' : 'directory'} given: leave durability out ('fsync') or say 'none'`);
  if (given !== undefined && given !== 'memory' && !stored) throw fail('audit.durability', `'${given}' needs audit.file or audit.dir to write to`);
  if (given !== undefined) return given;
  if (stored) return 'fsync';
  if (enabled && profile === 'staging') {
    throw fail(
      'audit',
      "has no file or directory: the staging profile would keep every record in memory, for ever. Give audit.file or audit.dir (durable storage), or durability: 'memory' to ask for an in-memory log by name (tests), or enableAuditLogging: false",
    );
  }
  return 'memory'; // development; production's gates refuse it with their remedies
}

function resolveAudit(value: unknown, profile: ProfileName, enabled: boolean): Readonly<ResolvedAuditConfig> {
  const f = value === undefined ? new Map<string, unknown>() : fieldsOf(value, 'audit', AUDIT_KEYS);
  const file = text(f, 'file', 'audit.file');
  const dir = text(f, 'dir', 'audit.dir');
  for (const k of ['segmentBytes', 'segmentMs']) {
    if (f.has(k) && dir === undefined) throw fail(`audit.${k}`, 'applies to a directory of segments: give audit.dir');
  }
  const callerIdKey = text(f, 'callerIdKey', 'audit.callerIdKey');
  const resolved: ResolvedAuditConfig = {
    enabled,
    file,
    dir,
    durability: resolveDurability(f, profile, enabled, file, dir),
    segmentBytes: int(f, 'segmentBytes', 'audit.segmentBytes', 1, Number.MAX_SAFE_INTEGER),
    segmentMs: int(f, 'segmentMs', 'audit.segmentMs', 0, Number.MAX_SAFE_INTEGER),
    signingKey: signingKeyOf(f),
    callerIdKey,
    handoffLimit: int(f, 'handoffLimit', 'audit.handoffLimit', 1, MAX_HANDOFF_LIMIT) ?? 4096,
    onHandoffFull: oneOf(f, 'onHandoffFull', 'audit.onHandoffFull', HANDOFF_POLICIES) ?? 'block',
  };
  if (enabled && resolved.signingKey === undefined && profile !== 'production') {
    // Production lists this with its other gates.
    throw codedError(ErrorCode.GateFailed, 'audit logging is on but no signing key: pass audit.signingKey or set $TG_AUDIT_SIGNING_KEY (32 bytes or more)');
  }
  return Object.freeze(resolved);
}

function resolveMarketBounds(value: unknown): ResolvedGuardianConfig['marketBounds'] {
  const out = Object.create(null) as Record<string, Readonly<{ lo: number; hi: number }>>;
  if (value === undefined) return Object.freeze(out);
  const bad = ErrorCode.InvalidBounds;
  const instruments = fieldsOf(value, 'marketBounds', null, bad); // any instrument name
  for (const [instrument, b] of instruments) {
    const option = `marketBounds[${JSON.stringify(instrument)}]`;
    const f = fieldsOf(b, option, ['lo', 'hi'], bad);
    const lo = f.get('lo');
    const hi = f.get('hi');
    if (typeof lo !== 'number' || typeof hi !== 'number' || !Number.isFinite(lo) || !Number.isFinite(hi) || !(lo <= hi)) {
      throw fail(option, `must be { lo, hi } with finite numbers and lo <= hi, got lo ${shown(lo)}, hi ${shown(hi)}`, 'range', bad);
    }
    Object.defineProperty(out, instrument, { value: Object.freeze({ lo, hi }), enumerable: true });
  }
  return Object.freeze(out);
}

/** The clock's now(), read once and bound (a ManualClock's is on its prototype: allowed). */
function resolveClock(value: unknown): Clock {
  if (value === undefined) return systemClock;
  if (value === null || (typeof value !== 'object' && typeof value !== 'function')) throw fail('clock', `must be an object with a now() method, got ${shown(value)}`);
  const now: unknown = (value as { now?: unknown }).now;
  if (typeof now !== 'function') throw fail('clock', 'must have a now() method returning milliseconds');
  return Object.freeze({ now: (): number => Reflect.apply(now, value, []) as number });
}

function resolveBreaker(value: unknown, clock: Clock): ResolvedGuardianConfig['breaker'] {
  const f = value === undefined ? new Map<string, unknown>() : fieldsOf(value, 'breaker', BREAKER_KEYS);
  const given: Record<string, unknown> = { ...BREAKER_DEFAULTS, name: 'guardian', clock };
  for (const [k, v] of f) given[k] = v;
  let resolved: ResolvedBreakerOptions;
  try {
    resolved = resolveBreakerOptions(given as ResolvedBreakerOptions);
  } catch (err) {
    throw Object.assign(err as Error, { message: `TiRexGuardian: breaker: ${(err as Error).message}`, option: 'breaker' });
  }
  const { name: _name, ...rest } = resolved;
  return nullProto(rest); // the registry asks `'name' in` it: nothing inherited may answer

}

/** The evidence directory and the preflight's options; the environment fills what is not given. */
function resolveSecurity(f: Fields, profile: ProfileName): ResolvedSecurityConfig {
  const env = process.env;
  const given = f.get('securityPreflight');
  const s: Fields = given === undefined ? new Map() : fieldsOf(given, 'securityPreflight', SECURITY_KEYS);
  const opt = (k: string): string | undefined => text(s, k, `securityPreflight.${k}`);
  const evidenceDir = text(f, 'evidenceDir', 'evidenceDir') ?? (env.TG_EVIDENCE_DIR || undefined);
  const options: PreflightOptions = { registry: false };
  const projectDir = opt('projectDir');
  const allowlistFile = opt('allowlistFile') ?? (env.TG_SECURITY_ALLOWLIST || undefined);
  const osvDir = opt('osvDir') ?? (env.TG_SECURITY_OSV_DIR || undefined);
  const advisoryDb = opt('advisoryDb');
  const threshold = oneOf(s, 'severityThreshold', 'securityPreflight.severityThreshold', SEVERITIES);
  const omitDev = bool(s, 'omitDev', 'securityPreflight.omitDev');
  if (projectDir !== undefined) options.projectDir = path.resolve(projectDir);
  if (allowlistFile !== undefined) options.allowlistFile = path.resolve(allowlistFile);
  if (osvDir !== undefined) options.osvDir = path.resolve(osvDir);
  if (advisoryDb !== undefined) options.advisoryDb = path.resolve(advisoryDb);
  if (threshold !== undefined) options.severityThreshold = threshold;
  if (omitDev !== undefined) options.omitDev = omitDev;
  return Object.freeze({
    evidenceDir: evidenceDir === undefined ? null : path.resolve(evidenceDir),
    required: bool(s, 'required', 'securityPreflight.required') ?? profile === 'production',
    maxArtifactAgeMs: (int(s, 'maxArtifactAgeHours', 'securityPreflight.maxArtifactAgeHours', 0, 24 * 365) ?? 24) * 3_600_000,
    options: Object.freeze(options),
  });
}

function resolveRegime(value: unknown): RegimeSource | null {
  if (value === undefined) return null;
  if (value === null || typeof value !== 'object' || typeof (value as RegimeSource).snapshot !== 'function') {
    throw fail('regime', `must be a regime engine (an object with snapshot(symbol)), got ${shown(value)}`);
  }
  return value as RegimeSource;
}

function resolveTop(f: Fields): ResolvedGuardianConfig {
  const profile = oneOf(f, 'profile', 'profile', PROFILE_NAMES) ?? 'development';
  const preset = lookup(PROFILES, profile, 'profile');
  const level = oneOf(f, 'threatDetectionLevel', 'threatDetectionLevel', THREAT_LEVELS) ?? preset.threatDetectionLevel;
  const pipeline = oneOf(f, 'dataPipelineProtection', 'dataPipelineProtection', PIPELINE_PROTECTIONS) ?? preset.dataPipelineProtection;
  const strategy = oneOf(f, 'fallbackStrategy', 'fallbackStrategy', FALLBACK_STRATEGIES) ?? preset.fallbackStrategy;
  const audit = bool(f, 'enableAuditLogging', 'enableAuditLogging') ?? preset.enableAuditLogging;
  const sha = f.get('modelSha256');
  if (sha !== undefined && (typeof sha !== 'string' || !/^[0-9a-f]{64}$/.test(sha))) {
    throw fail('modelSha256', `must be the model's sha256 as 64 lowercase hex digits, got ${shown(sha)}`);
  }
  const clock = resolveClock(f.get('clock'));
  return {
    profile,
    policy: Object.freeze({ level, pipeline, strategy, audit }),
    thresholds: Object.freeze({
      input: lookup(INPUT_THRESHOLDS, level, 'threatDetectionLevel'),
      output: lookup(OUTPUT_THRESHOLDS, level, 'threatDetectionLevel'),
      pipeline: lookup(PIPELINE_THRESHOLDS, pipeline, 'dataPipelineProtection'),
    }),
    model: text(f, 'model', 'model') ?? path.join(packageRoot(), 'models', 'tirex-guardian-default.json'),
    modelSha256: sha as string | undefined,
    signedModels: Object.freeze({
      required: bool(f, 'requireSignedModels', 'requireSignedModels') ?? profile === 'production',
      trustedKeysFile: path.resolve(text(f, 'trustedModelKeys', 'trustedModelKeys') ?? defaultTrustedKeysFile()),
    }),
    security: resolveSecurity(f, profile),
    session: resolveSession(f.get('session')),
    audit: resolveAudit(f.get('audit'), profile, audit),
    marketBounds: resolveMarketBounds(f.get('marketBounds')),
    breaker: resolveBreaker(f.get('breaker'), clock),
    suspendAfterCorruptOutputs: int(f, 'suspendAfterCorruptOutputs', 'suspendAfterCorruptOutputs', 1, MAX_SUSPEND_AFTER) ?? 5,
    resultBuffers: oneOf(f, 'resultBuffers', 'resultBuffers', RESULT_BUFFERS) ?? 'pooled',
    regime: resolveRegime(f.get('regime')),
    quality: resolveQuality(f),
  };
}

/** The audit log's options: every one the guardian sets, on an object without a prototype so
 * that the writer's other options keep their defaults whatever Object.prototype holds. */
export function auditLogOptions(a: ResolvedAuditConfig, signingKey: string | KeyObject): AuditLogOptions {
  return nullProto<AuditLogOptions>({
    file: a.file,
    dir: a.dir,
    segmentBytes: a.segmentBytes,
    segmentMs: a.segmentMs,
    durability: a.durability,
    signingKey,
    hashCallerIds: a.callerIdKey !== undefined ? nullProto({ key: a.callerIdKey }) : null,
  });
}

function isCoded(err: unknown): boolean {
  try {
    const code: unknown = err instanceof Error ? (err as { code?: unknown }).code : undefined;
    return typeof code === 'string' && code.startsWith('TG_');
  } catch {
    return false;
  }
}

/**
 * Checks `config` and returns a frozen snapshot the guardian uses instead of it. Throws a coded
 * error naming the option and what it allows; an error thrown while reading the caller's object
 * (a getter, a Proxy trap) comes back as TG_INVALID_ARGUMENT with it as the cause.
 */
export function resolveGuardianConfig(config: unknown = {}): Readonly<ResolvedGuardianConfig> {
  try {
    return Object.freeze(resolveTop(fieldsOf(config, 'config', TOP_KEYS)));
  } catch (err) {
    if (isCoded(err)) throw err;
    const why = describeThrown(err);
    throw Object.assign(typeError(ErrorCode.InvalidArgument, `TiRexGuardian: reading the configuration threw: ${why}`), { cause: err, option: 'config' });
  }
}
