/**
 * One guardian per configured model, built from the service's configuration: the profile's
 * gates (the guardian's own: audit, signing key, model pin, writable directory) plus the
 * service's (API keys, TLS or a proxy, rate limits) are collected for every model first and
 * reported together, so an operator fixes a production start in one go.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { codedError, ErrorCode } from '../errors';
import { forecastGateFailuresFor, productionGateFailures, throwGateFailures, type GateFailure } from '../guardian/gates';
import { recordGateDecision } from '../guardian/security-gate';
import { TiRexGuardian } from '../guardian/guardian';
import type { RegimeSource } from '../guardian/regime-use';
import type { GuardianConfig } from '../guardian/types';
import { loadManifest } from '../model/manifest';
import { defaultTrustedKeysFile } from '../model/signature';
import type { ModelEntry, ServiceConfig } from './config';
import type { KeyStore } from './keys';
import { guardianPreflightOf, type ServiceSecurity } from './security';

export interface ServedModel {
  readonly name: string;
  readonly guardian: TiRexGuardian;
  /** True once one forecast ran through the whole guardian (the startup probe waits for it). */
  warmed: boolean;
}

function readSecret(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw codedError(ErrorCode.ConfigInvalid, `${what}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

export function guardianConfigOf(c: ServiceConfig, m: ModelEntry, regime: RegimeSource | null = null): GuardianConfig {
  const signingKey = c.audit.signingKeyFile !== null ? readSecret(c.audit.signingKeyFile, 'audit.signingKeyFile') : undefined;
  const callerIdKey = c.audit.callerIdKeyFile !== null ? readSecret(c.audit.callerIdKeyFile, 'audit.callerIdKeyFile') : undefined;
  const g: GuardianConfig = { profile: c.profile, model: m.manifest, enableAuditLogging: c.audit.enabled };
  if (m.sha256 !== undefined) g.modelSha256 = m.sha256;
  if (m.threatDetectionLevel !== undefined) g.threatDetectionLevel = m.threatDetectionLevel;
  if (m.dataPipelineProtection !== undefined) g.dataPipelineProtection = m.dataPipelineProtection;
  if (m.fallbackStrategy !== undefined) g.fallbackStrategy = m.fallbackStrategy;
  if (m.marketBounds !== undefined) g.marketBounds = m.marketBounds;
  if (m.breaker !== undefined) g.breaker = m.breaker as GuardianConfig['breaker'];
  if (m.session !== undefined) g.session = m.session as GuardianConfig['session'];
  if (m.suspendAfterCorruptOutputs !== undefined) g.suspendAfterCorruptOutputs = m.suspendAfterCorruptOutputs;
  if (regime !== null) g.regime = regime;
  if (c.evidenceDir !== null) g.evidenceDir = path.resolve(c.evidenceDir);
  if (c.journal.dir !== null) {
    // One journal per model, as one audit directory per model.
    g.journal = { dir: path.join(path.resolve(c.journal.dir), m.name), durability: c.journal.durability };
    if (signingKey !== undefined) g.journal.signingKey = signingKey;
    if (m.shadow !== undefined) g.shadow = { model: m.shadow.manifest, ...(m.shadow.sha256 ? { modelSha256: m.shadow.sha256 } : {}), ...(m.shadow.queueLimit ? { queueLimit: m.shadow.queueLimit } : {}) };
  }
  g.forecastGate = { required: c.forecastGate.required, maxArtifactAgeHours: c.forecastGate.maxArtifactAgeHours };
  g.securityPreflight = guardianPreflightOf(c);
  if (c.audit.enabled) {
    const audit: NonNullable<GuardianConfig['audit']> = { durability: c.audit.durability };
    // One directory of segments per model: two writers never share a chain.
    if (c.audit.dir !== null) audit.dir = path.join(c.audit.dir, m.name);
    if (signingKey !== undefined) audit.signingKey = signingKey;
    if (callerIdKey !== undefined) audit.callerIdKey = callerIdKey;
    g.audit = audit;
  }
  return g;
}

/** The service's own production gates. */
export function serviceGateFailures(c: ServiceConfig, keys: KeyStore | null): GateFailure[] {
  const out: GateFailure[] = [];
  const active = keys?.status().active ?? 0;
  if (active === 0) out.push({ gate: 'api-keys', problem: `no active API key in ${c.keysFile}`, remedy: 'create one: tirex-guardian keys create --id <caller> --scopes forecast' });
  if (c.tls === null && !c.behindProxy) {
    out.push({ gate: 'tls', problem: 'neither TLS nor a TLS-terminating proxy is configured', remedy: 'set tls.certFile and tls.keyFile, or behindProxy: true when a proxy ends TLS' });
  }
  if (!c.rateLimits.enabled) out.push({ gate: 'rate-limits', problem: 'rate limits are off', remedy: 'set rateLimits.enabled: true (TG_RATE_LIMITS=on)' });
  return out;
}

function guardianGateFailures(c: ServiceConfig, m: ModelEntry, g: GuardianConfig): GateFailure[] {
  const forecastGate = c.forecastGate.required
    ? forecastGateFailuresFor(c.evidenceDir === null ? null : path.resolve(c.evidenceDir), m.manifest, { maxArtifactAgeMs: c.forecastGate.maxArtifactAgeHours * 3_600_000, evidence: ['live', 'shadow', 'backtest'] })
    : [];
  return [...forecastGate, ...productionGateFailures({
    auditEnabled: c.audit.enabled,
    signingKey: g.audit?.signingKey ?? process.env.TG_AUDIT_SIGNING_KEY,
    auditFile: undefined,
    auditDir: g.audit?.dir,
    pinnedSha256: m.sha256,
    manifest: loadManifest(m.manifest),
    signedModels: { required: g.requireSignedModels ?? true, trustedKeysFile: g.trustedModelKeys ?? defaultTrustedKeysFile() },
  })].map((f) => ({ ...f, gate: `models[${m.name}].${f.gate}` }));
}

/** Builds every guardian, or throws TG_GATE_FAILED listing every failing gate of the service and
 * of each model (production; the decision is recorded as evidence), or the first model's own
 * error; nothing stays open on failure. `security`: the start's preflight (security.ts). */
export function openModels(c: ServiceConfig, keys: KeyStore | null, regime: RegimeSource | null = null, security: ServiceSecurity | null = null): ServedModel[] {
  const configs = c.models.map((m) => ({ m, g: guardianConfigOf(c, m, regime) }));
  if (c.profile === 'production') {
    const failures = [...serviceGateFailures(c, keys), ...configs.flatMap(({ m, g }) => guardianGateFailures(c, m, g)), ...(security?.failures ?? [])];
    const dir = security?.evidenceDir ?? null;
    if (dir !== null && !failures.some((f) => f.gate === 'evidence-dir')) {
      const first = c.models[0];
      try {
        recordGateDecision(dir, 'serve', failures, first === undefined ? null : { manifest: first.manifest, trustedKeysFile: defaultTrustedKeysFile() }, { profile: c.profile, models: c.models.map((m) => m.name) });
      } catch (err) {
        failures.push({ gate: 'evidence-dir', problem: `the gate decision could not be recorded: ${(err as Error).message}`, remedy: 'fix the evidence directory (see the message), then start again' });
      }
    }
    throwGateFailures(failures, 'refusing to serve in production');
  } else if (security !== null) {
    throwGateFailures(security.failures, 'refusing to serve');
  }
  const out: ServedModel[] = [];
  try {
    for (const { m, g } of configs) out.push({ name: m.name, guardian: new TiRexGuardian(g), warmed: false });
  } catch (err) {
    for (const s of out) void s.guardian.close();
    throw err;
  }
  return out;
}

/** One forecast per model through the whole guardian (a flat series the model can take), so
 * that the first client does not pay for ONNX Runtime's first-run allocations. */
export async function warmUp(models: readonly ServedModel[]): Promise<void> {
  for (const s of models) {
    const m = s.guardian.session.manifest;
    const context = new Float32Array(Math.min(m.maxContext, 512)).map((_, i) => 100 + Math.sin(i / 7));
    await s.guardian.safeForecastAsync({ context, predictionLength: m.patchLength, userId: 'service-warmup' });
    s.warmed = true;
  }
}
