/**
 * The service's configuration: defaults, then the profile's, then a JSON file (`--config` or
 * $TG_CONFIG), then TG_* environment variables (ENV_VARIABLES: the README's table is this list).
 * The merged result is checked whole by one JSON schema (ajv, every problem reported, not only
 * the first): an unknown key anywhere, a value of the wrong type or out of range, or an unknown
 * TG_* variable refuses to start with a message naming it (TG_CONFIG_INVALID, `err.problems`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import Ajv, { type ErrorObject } from 'ajv';

import { codedError, ErrorCode } from '../errors';
import { PROFILE_NAMES, type ProfileName } from '../guardian/thresholds';
import { packageRoot } from '../native/addon';
import { SERVICE_SCHEMA } from './config-schema';
import type { LimitSpec } from './limits/spec';
import { parseAddressBlock } from './address-list';
import { DEFAULT_REGISTRY } from '../security/registry-audit';
import { tracingFromEnv, type TracingConfig } from './tracing-config';

export interface ModelEntry {
  name: string;
  manifest: string;
  sha256?: string;
  threatDetectionLevel?: 'low' | 'medium' | 'high';
  dataPipelineProtection?: 'permissive' | 'moderate' | 'strict';
  fallbackStrategy?: 'strict' | 'graceful';
  marketBounds?: Record<string, { lo: number; hi: number }>;
  breaker?: Record<string, unknown>;
  session?: Record<string, unknown>;
  suspendAfterCorruptOutputs?: number;
  /** A candidate run beside this model, journaled (needs journal.dir), never served. */
  shadow?: { manifest: string; sha256?: string; queueLimit?: number };
}

export interface ServiceConfig {
  profile: ProfileName;
  host: string;
  port: number;
  behindProxy: boolean;
  /** With behindProxy: how many proxies in front append to X-Forwarded-For (trusted hops). */
  proxyHops: number;
  tls: { certFile: string; keyFile: string } | null;
  keysFile: string;
  models: ModelEntry[];
  audit: { enabled: boolean; dir: string | null; durability: 'fsync' | 'none' | 'memory'; signingKeyFile: string | null; callerIdKeyFile: string | null };
  rateLimits: {
    enabled: boolean;
    redis: { url: string; prefix: string; commandTimeoutMs: number; insuranceDivisor: number } | null;
    api: LimitSpec;
    forecast: LimitSpec;
    global: LimitSpec;
    authFailures: { limit: number; windowMs: number; blockMs: number };
  };
  limits: {
    jsonBodyBytes: number;
    binaryBodyBytes: number;
    /** Values (series x steps x levels) one forecast may answer; JSON answers fewer. */
    maxResultValues: number;
    jsonResultValues: number;
    forecastTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
    maxInFlight: number;
    maxConnections: number;
  };
  drainTimeoutMs: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
  /** GET /metrics (Prometheus): on the service's port for a `metrics` or `admin` key or an
   * allowed address, and, with `port`, on a listener of its own that serves nothing else. */
  metrics: {
    enabled: boolean;
    /** A second listener for /metrics only (null: none). */
    port: number | null;
    /** Its host (null: the service's). */
    host: string | null;
    /** Addresses or CIDR blocks that scrape without a key (both listeners). On the metrics port
     * an empty list admits everyone (a port reachable only inside the cluster). */
    allow: string[];
    /** Instruments counted on their own (tirex_guardian_instrument_forecasts_total). */
    instruments: string[];
  };
  /** The status page at / (read-only unless the viewer's key holds `admin`). */
  dashboard: {
    enabled: boolean;
    /** Instruments whose latest forecast the page draws as a fan chart. */
    instruments: string[];
  };
  /** The market regime engine (lib/regime): fed by POST /v1/regime/ticks, read by
   * GET /v1/regime/:symbol, and used by every guardian for a request's instrument. */
  regime: {
    enabled: boolean;
    barPeriodMs: number;
    maxBars: number;
    slopePeriod: number;
    atrPeriod: number;
    ttlMs: number;
    maxSymbols: number;
    /** Ticks one POST may carry. */
    maxTicksPerRequest: number;
  };
  /** Evidence (README "Going to production"): preflight and startup-gate artifacts, and the
   * run audit with every start and stop. null: none (development's default; production needs one). */
  evidenceDir: string | null;
  /** The forecast journal (README "Proving a model before it goes live"): one segment directory
   * per model under `dir` (null: none); POST /v1/outcomes journals realized values. */
  journal: { dir: string | null; durability: 'fsync' | 'none' };
  /** Every model needs a passing forecast-quality gate artifact in evidenceDir to be served. */
  forecastGate: { required: boolean; maxArtifactAgeHours: number };
  /** The security preflight before the models load (lib/security/preflight.ts). */
  security: {
    /** Run it at start (production: on, and off there is a failing gate). */
    preflight: boolean;
    /** The npm registry asked besides the offline database (null: offline). */
    registry: string | null;
    allowlistFile: string | null;
    osvDir: string | null;
    /** A Security WG database checkout instead of the shipped snapshot. */
    advisoryDb: string | null;
    severityThreshold: 'low' | 'moderate' | 'high' | 'critical';
    /** A passing preflight artifact this young is accepted instead of a new run (0: always run). */
    maxArtifactAgeHours: number;
    /** The project whose packages are checked (null: the working directory). */
    projectDir: string | null;
    /** Dev dependencies may be absent (null: when NODE_ENV is production). */
    omitDev: boolean | null;
  };
  /** OpenTelemetry tracing, from the standard OTEL_* variables (null: off). Not in the file:
   * OTEL_* is how every OpenTelemetry deployment configures it. */
  tracing: TracingConfig | null;
}

/** Seed 004's presets: 100 requests/min per key on the API, 10 forecasts/s per key, 1000/s in
 * all, 5 failed authentications per minute per address block it for 5 minutes. */
export function defaultConfig(profile: ProfileName): ServiceConfig {
  const prod = profile === 'production';
  return {
    profile,
    host: '127.0.0.1',
    port: 8080,
    behindProxy: false,
    proxyHops: 1,
    tls: null,
    keysFile: 'tirex-guardian-keys.json',
    models: [{ name: 'default', manifest: path.join(packageRoot(), 'models', 'tirex-guardian-default.json') }],
    audit: { enabled: profile !== 'development', dir: profile === 'development' ? null : 'audit', durability: prod ? 'fsync' : profile === 'staging' ? 'fsync' : 'none', signingKeyFile: null, callerIdKeyFile: null },
    rateLimits: {
      enabled: true,
      redis: null,
      api: { algorithm: 'sliding-window', limit: 100, windowMs: 60_000 },
      forecast: { algorithm: 'token-bucket', limit: 10, windowMs: 1_000, burst: 10 },
      global: { algorithm: 'token-bucket', limit: 1000, windowMs: 1_000, burst: 1000 },
      authFailures: { limit: 5, windowMs: 60_000, blockMs: 300_000 },
    },
    limits: { jsonBodyBytes: 8 << 20, binaryBodyBytes: 32 << 20, maxResultValues: 4 << 20, jsonResultValues: 1 << 18, forecastTimeoutMs: 1_000, requestTimeoutMs: 10_000, keepAliveTimeoutMs: 72_000, maxInFlight: 512, maxConnections: 256 },
    drainTimeoutMs: 10_000,
    logLevel: 'info',
    metrics: { enabled: true, port: null, host: null, allow: [], instruments: [] },
    dashboard: { enabled: true, instruments: [] },
    regime: { enabled: false, barPeriodMs: 60_000, maxBars: 100, slopePeriod: 20, atrPeriod: 14, ttlMs: 1000, maxSymbols: 10_000, maxTicksPerRequest: 10_000 },
    evidenceDir: profile === 'development' ? null : 'evidence',
    journal: { dir: null, durability: 'fsync' },
    forecastGate: { required: false, maxArtifactAgeHours: 168 },
    security: {
      preflight: prod,
      registry: DEFAULT_REGISTRY,
      allowlistFile: null,
      osvDir: null,
      advisoryDb: null,
      severityThreshold: 'moderate',
      maxArtifactAgeHours: 24,
      projectDir: null,
      omitDev: null,
    },
    tracing: null,
  };
}

type EnvKind = 'string' | 'int' | 'bool' | 'profile' | 'list';
interface EnvVariable {
  readonly name: string;
  readonly kind: EnvKind;
  readonly meaning: string;
  /** Where the value goes (null: read elsewhere, listed so it is not refused as unknown). */
  readonly apply: ((c: Record<string, any>, v: any) => void) | null;
}

const firstModel = (c: Record<string, any>) => (c.models[0] ??= { name: 'default', manifest: '' });

/** Every TG_* variable the service reads, with what it sets: the README's table. */
export const ENV_VARIABLES: readonly EnvVariable[] = [
  { name: 'TG_CONFIG', kind: 'string', meaning: 'the configuration file (JSON), as --config', apply: null },
  { name: 'TG_PROFILE', kind: 'profile', meaning: 'production, staging or development', apply: null },
  { name: 'TG_HOST', kind: 'string', meaning: 'host', apply: (c, v) => (c.host = v) },
  { name: 'TG_PORT', kind: 'int', meaning: 'port (0: any free port)', apply: (c, v) => (c.port = v) },
  { name: 'TG_BEHIND_PROXY', kind: 'bool', meaning: 'behindProxy: TLS ends at a proxy that sets X-Forwarded-For', apply: (c, v) => (c.behindProxy = v) },
  { name: 'TG_TLS_CERT_FILE', kind: 'string', meaning: 'tls.certFile (PEM)', apply: (c, v) => ((c.tls ??= {}).certFile = v) },
  { name: 'TG_TLS_KEY_FILE', kind: 'string', meaning: 'tls.keyFile (PEM)', apply: (c, v) => ((c.tls ??= {}).keyFile = v) },
  { name: 'TG_KEYS_FILE', kind: 'string', meaning: 'keysFile: the API key hashes (`tirex-guardian keys`)', apply: (c, v) => (c.keysFile = v) },
  { name: 'TG_MODEL', kind: 'string', meaning: "the first model's manifest (models[0].manifest)", apply: (c, v) => (firstModel(c).manifest = v) },
  { name: 'TG_MODEL_SHA256', kind: 'string', meaning: "the first model's pinned sha256 (models[0].sha256)", apply: (c, v) => (firstModel(c).sha256 = v) },
  { name: 'TG_AUDIT_DIR', kind: 'string', meaning: 'audit.dir: one segment directory per model under it', apply: (c, v) => (c.audit.dir = v) },
  { name: 'TG_AUDIT_DURABILITY', kind: 'string', meaning: 'audit.durability: fsync, none or memory', apply: (c, v) => (c.audit.durability = v) },
  { name: 'TG_AUDIT_SIGNING_KEY', kind: 'string', meaning: 'the audit checkpoint key itself (32+ bytes), when no audit.signingKeyFile', apply: null },
  { name: 'TG_AUDIT_SIGNING_KEY_FILE', kind: 'string', meaning: 'audit.signingKeyFile', apply: (c, v) => (c.audit.signingKeyFile = v) },
  { name: 'TG_REDIS_URL', kind: 'string', meaning: 'rateLimits.redis.url: shared limits in Redis', apply: (c, v) => (c.rateLimits.redis = { ...(c.rateLimits.redis ?? {}), url: v }) },
  { name: 'TG_RATE_LIMITS', kind: 'bool', meaning: 'rateLimits.enabled', apply: (c, v) => (c.rateLimits.enabled = v) },
  { name: 'TG_FORECAST_TIMEOUT_MS', kind: 'int', meaning: 'limits.forecastTimeoutMs: the model deadline per forecast', apply: (c, v) => (c.limits.forecastTimeoutMs = v) },
  { name: 'TG_MAX_IN_FLIGHT', kind: 'int', meaning: 'limits.maxInFlight: forecasts in progress before 503', apply: (c, v) => (c.limits.maxInFlight = v) },
  { name: 'TG_DRAIN_TIMEOUT_MS', kind: 'int', meaning: 'drainTimeoutMs: the most a SIGTERM drain waits', apply: (c, v) => (c.drainTimeoutMs = v) },
  { name: 'TG_LOG_LEVEL', kind: 'string', meaning: 'logLevel: fatal, error, warn, info, debug or silent', apply: (c, v) => (c.logLevel = v) },
  { name: 'TG_METRICS', kind: 'bool', meaning: 'metrics.enabled: GET /metrics', apply: (c, v) => (c.metrics.enabled = v) },
  { name: 'TG_METRICS_PORT', kind: 'int', meaning: 'metrics.port: a listener for /metrics only', apply: (c, v) => (c.metrics.port = v) },
  { name: 'TG_METRICS_HOST', kind: 'string', meaning: "metrics.host: that listener's host", apply: (c, v) => (c.metrics.host = v) },
  { name: 'TG_METRICS_ALLOW', kind: 'list', meaning: 'metrics.allow: addresses or CIDR blocks that scrape without a key (comma-separated)', apply: (c, v) => (c.metrics.allow = v) },
  { name: 'TG_METRICS_INSTRUMENTS', kind: 'list', meaning: 'metrics.instruments: instruments counted on their own (comma-separated)', apply: (c, v) => (c.metrics.instruments = v) },
  { name: 'TG_DASHBOARD', kind: 'bool', meaning: 'dashboard.enabled: the status page at /', apply: (c, v) => (c.dashboard.enabled = v) },
  { name: 'TG_DASHBOARD_INSTRUMENTS', kind: 'list', meaning: "dashboard.instruments: whose latest forecast the page draws (comma-separated)", apply: (c, v) => (c.dashboard.instruments = v) },
  { name: 'TG_REGIME', kind: 'bool', meaning: 'regime.enabled: the market regime engine (POST /v1/regime/ticks, GET /v1/regime/:symbol)', apply: (c, v) => (c.regime.enabled = v) },
  { name: 'TG_REGIME_BAR_PERIOD_MS', kind: 'int', meaning: "regime.barPeriodMs: the engine's bar length", apply: (c, v) => (c.regime.barPeriodMs = v) },
  { name: 'TG_EVIDENCE_DIR', kind: 'string', meaning: 'evidenceDir: preflight and gate artifacts, the run audit', apply: (c, v) => (c.evidenceDir = v) },
  { name: 'TG_JOURNAL_DIR', kind: 'string', meaning: 'journal.dir: the forecast journal, one segment directory per model under it', apply: (c, v) => (c.journal.dir = v) },
  { name: 'TG_FORECAST_GATE', kind: 'bool', meaning: 'forecastGate.required: serve a model only with a passing forecast-quality gate artifact', apply: (c, v) => (c.forecastGate.required = v) },
  { name: 'TG_SECURITY_PREFLIGHT', kind: 'bool', meaning: 'security.preflight: the security preflight at start', apply: (c, v) => (c.security.preflight = v) },
  { name: 'TG_SECURITY_REGISTRY', kind: 'string', meaning: "security.registry: the npm registry's advisories too ('off': the offline database only)", apply: (c, v) => (c.security.registry = v === 'off' ? null : v) },
  { name: 'TG_SECURITY_ALLOWLIST', kind: 'string', meaning: 'security.allowlistFile: accepted advisories, each with a justification, an expiry and a tracking reference', apply: (c, v) => (c.security.allowlistFile = v) },
  { name: 'TG_SECURITY_OSV_DIR', kind: 'string', meaning: 'security.osvDir: a directory of OSV advisories (a newer snapshot)', apply: (c, v) => (c.security.osvDir = v) },
  { name: 'TG_SECURITY_HARD_FAIL', kind: 'string', meaning: '0: a failing preflight lets the start go on (with TG_SECURITY_OVERRIDE_UNTIL, at most 72 h ahead)', apply: null },
  { name: 'TG_SECURITY_OVERRIDE_UNTIL', kind: 'string', meaning: "when the override ends (ISO 8601 with its zone)", apply: null },
  { name: 'TG_SECURITY_OVERRIDE_REASON', kind: 'string', meaning: "why the override is in force (kept in the evidence)", apply: null },
  // Read by the library itself, not by the service's configuration.
  { name: 'TG_ADDON_PATH', kind: 'string', meaning: 'another build of the addon (library)', apply: null },
  { name: 'TG_RUNNER_SPIN_US', kind: 'int', meaning: "the runner threads' spin after a job (library)", apply: null },
];

const BOOLS: Readonly<Record<string, boolean>> = { true: true, false: false, '1': true, '0': false, on: true, off: false, yes: true, no: false };

function invalid(problems: string[]): Error {
  return Object.assign(codedError(ErrorCode.ConfigInvalid, `the service configuration is invalid:\n${problems.map((p) => `  - ${p}`).join('\n')}`), { problems });
}

function envValue(v: EnvVariable, raw: string, problems: string[]): unknown {
  switch (v.kind) {
    case 'int':
      if (/^(0|[1-9][0-9]{0,9})$/.test(raw)) return Number(raw);
      problems.push(`${v.name}: must be a non-negative integer`);
      return undefined;
    case 'bool':
      if (Object.hasOwn(BOOLS, raw.toLowerCase())) return BOOLS[raw.toLowerCase()];
      problems.push(`${v.name}: must be true or false (1/0, on/off, yes/no)`);
      return undefined;
    case 'list':
      return raw
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x.length > 0);
    case 'profile':
      if ((PROFILE_NAMES as readonly string[]).includes(raw)) return raw;
      problems.push(`${v.name}: must be one of ${PROFILE_NAMES.join(', ')}`);
      return undefined;
    default:
      return raw;
  }
}

function readFileConfig(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw invalid([`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw invalid([`${file}: not valid JSON (${(err as Error).message})`]);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid([`${file}: must hold a JSON object`]);
  return value as Record<string, unknown>;
}

/**
 * Relative paths in a file are relative to the file (a configuration moved with its keys and
 * models keeps working whatever the working directory); those from TG_* variables and overrides
 * stay relative to the working directory, as a shell user expects.
 */
function anchorPaths(c: Record<string, any>, dir: string): Record<string, any> {
  const at = (v: unknown) => (typeof v === 'string' && v.length > 0 && !path.isAbsolute(v) ? path.join(dir, v) : v);
  const out: Record<string, any> = { ...c };
  if ('keysFile' in out) out.keysFile = at(out.keysFile);
  if (isObject(out.tls)) out.tls = { ...out.tls, certFile: at(out.tls.certFile), keyFile: at(out.tls.keyFile) };
  if (isObject(out.audit)) {
    out.audit = { ...out.audit };
    for (const k of ['dir', 'signingKeyFile', 'callerIdKeyFile']) if (k in out.audit) out.audit[k] = at(out.audit[k]);
  }
  if (Array.isArray(out.models)) out.models = out.models.map((m: unknown) => (isObject(m) && 'manifest' in m ? { ...m, manifest: at(m.manifest) } : m));
  if ('evidenceDir' in out) out.evidenceDir = at(out.evidenceDir);
  if (isObject(out.journal) && 'dir' in out.journal) out.journal = { ...out.journal, dir: at(out.journal.dir) };
  if (Array.isArray(out.models)) {
    out.models = out.models.map((m: unknown) => (isObject(m) && isObject(m.shadow) && 'manifest' in m.shadow ? { ...m, shadow: { ...m.shadow, manifest: at(m.shadow.manifest) } } : m));
  }
  if (isObject(out.security)) {
    out.security = { ...out.security };
    for (const k of ['allowlistFile', 'osvDir', 'advisoryDb', 'projectDir']) if (k in out.security) out.security[k] = at(out.security[k]);
  }
  return out;
}

function isObject(v: unknown): v is Record<string, any> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Deep merge of plain objects; arrays and scalars replace. */
function merge(base: any, over: any): any {
  if (over === null || typeof over !== 'object' || Array.isArray(over) || base === null || typeof base !== 'object' || Array.isArray(base)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const k of Object.keys(over)) out[k] = Object.hasOwn(base, k) ? merge(base[k], over[k]) : over[k];
  return out;
}

const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: false, coerceTypes: false });
const validate = ajv.compile(SERVICE_SCHEMA);

function describe(e: ErrorObject): string {
  const where = e.instancePath === '' ? '(top level)' : e.instancePath.slice(1).replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.');
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty;
    return `${where === '(top level)' ? key : `${where}.${key}`}: unknown key`;
  }
  if (e.keyword === 'enum') return `${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  return `${where}: ${e.message ?? e.keyword}`;
}

export interface LoadOptions {
  /** The file of `--config` (else $TG_CONFIG). */
  file?: string;
  /** The environment to read TG_* variables from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Programmatic overrides, applied last. */
  overrides?: Record<string, unknown>;
}

/** The configuration from defaults, profile, file, environment and overrides, checked whole. */
export function loadServiceConfig(o: LoadOptions = {}): ServiceConfig {
  const env = o.env ?? process.env;
  const problems: string[] = [];
  const known = new Map(ENV_VARIABLES.map((v) => [v.name, v]));
  const values = new Map<EnvVariable, unknown>();
  for (const name of Object.keys(env)) {
    if (!name.startsWith('TG_')) continue;
    const v = known.get(name);
    if (v === undefined) {
      problems.push(`${name}: unknown environment variable (known: ${[...known.keys()].join(', ')})`);
      continue;
    }
    const value = envValue(v, env[name] ?? '', problems);
    if (value !== undefined) values.set(v, value);
  }
  const file = o.file ?? (env.TG_CONFIG || undefined);
  const fromFile = file === undefined ? {} : anchorPaths(readFileConfig(file), path.dirname(path.resolve(file)));
  const overrides = o.overrides ?? {};
  const profile = (overrides.profile ?? values.get(known.get('TG_PROFILE')!) ?? fromFile.profile ?? 'development') as ProfileName;
  if (!(PROFILE_NAMES as readonly string[]).includes(profile)) problems.push(`profile: must be one of ${PROFILE_NAMES.join(', ')}`);
  let merged = merge(defaultConfig((PROFILE_NAMES as readonly string[]).includes(profile) ? profile : 'development'), fromFile);
  if (Array.isArray(merged.models)) merged.models = merged.models.map((m: unknown) => (m !== null && typeof m === 'object' ? { ...m } : m));
  for (const [v, value] of values) {
    try {
      v.apply?.(merged, value);
    } catch {
      problems.push(`${v.name}: cannot be applied to this configuration`);
    }
  }
  // Redis's own defaults, under whatever the file and the environment gave.
  if (merged.rateLimits?.redis && typeof merged.rateLimits.redis === 'object' && !Array.isArray(merged.rateLimits.redis)) {
    merged.rateLimits.redis = { prefix: 'tg:', commandTimeoutMs: 50, insuranceDivisor: 1, ...merged.rateLimits.redis };
  }
  merged = merge(merged, overrides);
  merged.profile = profile;
  // OTEL_* only (the file and overrides cannot set it: `tracing` is not in the schema).
  delete merged.tracing;
  if (!validate(merged)) for (const e of validate.errors ?? []) problems.push(describe(e));
  merged.tracing = tracingFromEnv(env, problems);
  if (problems.length === 0) problems.push(...consistencyProblems(merged as ServiceConfig));
  if (problems.length > 0) throw invalid(problems);
  return merged as ServiceConfig;
}

function consistencyProblems(c: ServiceConfig): string[] {
  const out: string[] = [];
  const names = new Set<string>();
  c.models.forEach((m, i) => {
    if (names.has(m.name)) out.push(`models[${i}].name: '${m.name}' is used twice`);
    names.add(m.name);
  });
  if (c.tls !== null && (!c.tls.certFile || !c.tls.keyFile)) out.push('tls: needs both certFile and keyFile');
  const manifests = new Map<string, number>();
  c.models.forEach((m, i) => {
    // One guardian per model: two of the same would share breaker names and split its statistics.
    const seen = manifests.get(path.resolve(m.manifest));
    if (seen !== undefined) out.push(`models[${i}].manifest: the same model as models[${seen}] (one guardian per model)`);
    else manifests.set(path.resolve(m.manifest), i);
  });
  if (c.limits.jsonResultValues > c.limits.maxResultValues) out.push('limits.jsonResultValues: must not exceed limits.maxResultValues');
  for (const name of ['api', 'forecast', 'global'] as const) {
    const l = c.rateLimits[name];
    // An exact log keeps one time per admission in the window: bounded per subject.
    if (l.algorithm === 'sliding-window' && l.limit > 100_000) out.push(`rateLimits.${name}.limit: a sliding window keeps at most 100000 admissions; use token-bucket for more`);
    if (l.algorithm === 'sliding-window' && l.burst !== undefined) out.push(`rateLimits.${name}.burst: only a token bucket has a burst`);
  }
  for (const [i, a] of c.metrics.allow.entries()) if (parseAddressBlock(a) === null) out.push(`metrics.allow[${i}]: not an IP address or CIDR block (10.0.0.0/8, fd00::/8)`);
  if (c.metrics.port !== null && c.metrics.port !== 0 && c.metrics.port === c.port) out.push('metrics.port: must differ from port');
  const fa = c.rateLimits.authFailures;
  if (fa.windowMs % 1000 !== 0 || fa.blockMs % 1000 !== 0) out.push('rateLimits.authFailures: windowMs and blockMs must be whole seconds');
  return out;
}
