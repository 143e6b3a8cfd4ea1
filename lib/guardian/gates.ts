/**
 * Fail-closed production gates (SPEC section 5, seed 001): in the production profile the
 * guardian refuses to start when audit is off, the audit signing key is missing or short, the
 * model hash is not pinned or does not match, or the audit directory is not writable (an
 * in-memory audit log has neither file nor directory: the audit-file gate), or the model is not
 * signed by a trusted key (lib/model/signature.ts; the gate fails too when a production
 * configuration turns the requirement off), there is no writable evidence directory, or the
 * security preflight fails (security-gate.ts), or (forecastGate.required) no passing
 * forecast-quality gate artifact names the model (lib/gate). The error lists every failing gate
 * with its remedy, not just the first, and the decision is recorded as evidence.
 */
import { createHash, KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { makeDirs } from '../atomic-file';
import { codedError, ErrorCode } from '../errors';
import { loadManifest, type LoadedManifest } from '../model/manifest';
import { loadTrustedKeys, verifyModelSignature } from '../model/signature';
import type { ResolvedGuardianConfig } from './config';
import { acceptableGate } from '../gate/gate-artifact';
import { evidenceDirFailures, recordGateDecision, securityPreflightFailures } from './security-gate';

export interface GateInputs {
  auditEnabled: boolean;
  signingKey: string | KeyObject | undefined;
  auditFile: string | undefined;
  /** A directory of segments instead of one file. */
  auditDir?: string | undefined;
  pinnedSha256: string | undefined;
  manifest: LoadedManifest;
  /** Signed models: whether required, and the trusted keys (absent: not checked here). */
  signedModels?: { required: boolean; trustedKeysFile: string };
}

export interface GateFailure {
  gate: string;
  problem: string;
  remedy: string;
}

export function productionGateFailures(g: GateInputs): GateFailure[] {
  const out: GateFailure[] = [];
  if (!g.auditEnabled) {
    out.push({ gate: 'audit', problem: 'audit logging is off', remedy: 'set enableAuditLogging: true (the production profile does)' });
  }
  const k = g.signingKey;
  const keyOk = k instanceof KeyObject ? k.type === 'private' && k.asymmetricKeyType === 'ed25519' : typeof k === 'string' && Buffer.byteLength(k) >= 32;
  if (!keyOk) {
    out.push({
      gate: 'signing-key',
      problem: 'the audit signing key is missing, shorter than 32 bytes, or not an Ed25519 private key',
      remedy: 'pass audit.signingKey: 32+ bytes from your secret store, or an Ed25519 private KeyObject',
    });
  }
  if (!g.auditFile && !g.auditDir) {
    out.push({ gate: 'audit-file', problem: 'no audit file or directory is configured', remedy: 'pass audit.file or audit.dir, on durable storage' });
  } else {
    const dir = g.auditDir ? path.resolve(g.auditDir) : path.dirname(path.resolve(g.auditFile as string));
    if (g.auditDir) {
      try {
        makeDirs(dir);
      } catch {
        /* reported just below as not writable */
      }
    }
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch {
      out.push({ gate: 'audit-dir', problem: `the audit directory ${dir} is not writable`, remedy: `create ${dir} and make it writable by this process` });
    }
  }
  if (!g.pinnedSha256) {
    out.push({ gate: 'model-pin', problem: 'the model hash is not pinned', remedy: `pass modelSha256: '${g.manifest.sha256}' (after checking it is the model you approved)` });
  } else {
    let actual = '';
    try {
      actual = createHash('sha256').update(fs.readFileSync(g.manifest.modelPath)).digest('hex');
    } catch (err) {
      out.push({ gate: 'model-file', problem: `cannot read ${g.manifest.modelPath}: ${(err as Error).message}`, remedy: 'deploy the model file beside its manifest' });
    }
    if (actual && actual !== g.pinnedSha256) {
      out.push({ gate: 'model-hash', problem: `the model file's sha256 is ${actual}, the pin is ${g.pinnedSha256}`, remedy: 'deploy the approved model or update the pin through your change process' });
    }
  }
  if (g.signedModels !== undefined) out.push(...signatureGateFailures(g.signedModels, g.manifest.manifestPath));
  return out;
}

const SIGNATURE_REMEDY: Readonly<Record<string, string>> = {
  [ErrorCode.ModelUnsigned]: 'sign the approved manifest: tirex-guardian model sign <model.json> --key <ed25519.pem>',
  [ErrorCode.ModelSignatureInvalid]: 'the manifest or its signature changed after signing: review the change, then sign it again',
  [ErrorCode.ModelKeyUntrusted]: 'add the signer\'s public key to the trusted-keys file (trustedModelKeys) through your change process, or have a trusted key sign it',
  [ErrorCode.TrustedKeysInvalid]: 'fix the trusted-keys file: { "v": 1, "keys": [{ "keyId", "publicKey", "comment" }] }',
};

/** The model-signature gate: required in production, and the signature valid by a trusted key. */
function signatureGateFailures(s: { required: boolean; trustedKeysFile: string }, manifestPath: string): GateFailure[] {
  if (!s.required) {
    return [{ gate: 'model-signature', problem: 'signed models are not required (requireSignedModels: false)', remedy: 'leave requireSignedModels on in production and sign the approved model' }];
  }
  try {
    verifyModelSignature(manifestPath, loadTrustedKeys(s.trustedKeysFile));
    return [];
  } catch (err) {
    const code = (err as { code?: string }).code ?? ErrorCode.ModelSignatureInvalid;
    return [{ gate: 'model-signature', problem: `${code}: ${(err as Error).message}`, remedy: SIGNATURE_REMEDY[code] ?? SIGNATURE_REMEDY[ErrorCode.ModelSignatureInvalid]! }];
  }
}

/** Throws TG_GATE_FAILED listing every failure with its remedy (nothing when there is none). */
export function throwGateFailures(failures: readonly GateFailure[], what = 'refusing to start in production'): void {
  if (failures.length === 0) return;
  const err = codedError(
    ErrorCode.GateFailed,
    `${what}: ${failures.length} gate(s) failed:\n` + failures.map((f) => `  - ${f.gate}: ${f.problem}. Remedy: ${f.remedy}.`).join('\n'),
  );
  throw Object.assign(err, { failures });
}

export function checkProductionGates(g: GateInputs): void {
  throwGateFailures(productionGateFailures(g));
}

/** The evidence and preflight gates, with the decision recorded when the directory can take it. */
function withSecurityGates(c: ResolvedGuardianConfig, failures: GateFailure[], production: boolean): void {
  const model = { manifest: c.model, trustedKeysFile: c.signedModels.trustedKeysFile };
  const evidence = evidenceDirFailures(c.security.evidenceDir);
  // Outside production an evidence directory is optional: without one the preflight still runs.
  if (production || c.security.evidenceDir !== null) failures.push(...evidence);
  failures.push(...securityPreflightFailures(c.security, evidence.length === 0, 'guardian', model));
  if (evidence.length === 0 && c.security.evidenceDir !== null) {
    try {
      recordGateDecision(c.security.evidenceDir, 'guardian', failures, model, { profile: c.profile });
    } catch (err) {
      failures.push({ gate: 'evidence-dir', problem: `the gate decision could not be recorded: ${(err as Error).message}`, remedy: 'fix the evidence directory (see the message), then start again' });
    }
  }
}

/** The gates over a resolved configuration, before the model is loaded (the manifest only): the
 * production gates, the evidence directory and the security preflight; the decision, pass or
 * fail, lands in the evidence directory. */
export function checkProductionConfig(c: ResolvedGuardianConfig): void {
  const failures = productionGateFailures({
    auditEnabled: c.audit.enabled,
    signingKey: c.audit.signingKey,
    auditFile: c.audit.file,
    auditDir: c.audit.dir,
    pinnedSha256: c.modelSha256,
    manifest: loadManifest(c.model),
    signedModels: c.signedModels,
  });
  failures.push(...forecastGateFailures(c));
  withSecurityGates(c, failures, true);
  throwGateFailures(failures);
}

/** Outside production, securityPreflight.required and forecastGate.required run the same gates. */
export function checkRequiredGates(c: ResolvedGuardianConfig): void {
  const failures: GateFailure[] = [];
  if (c.quality.gate.required) failures.push(...forecastGateFailures(c));
  if (c.security.required) withSecurityGates(c, failures, false);
  throwGateFailures(failures, 'refusing to start');
}

/**
 * The forecast-quality gate (forecastGate.required): a passing `production_gate` artifact for the
 * model's sha256 in the evidence directory (lib/gate/gate-artifact.ts).
 */
export function forecastGateFailures(c: ResolvedGuardianConfig): GateFailure[] {
  const g = c.quality.gate;
  return g.required ? forecastGateFailuresFor(c.security.evidenceDir, c.model, g) : [];
}

/** The forecast-quality gate for the model of `manifest`, its artifact looked for in `evidenceDir`. */
export function forecastGateFailuresFor(evidenceDir: string | null, manifest: string, g: { maxArtifactAgeMs: number; evidence: readonly string[] }): GateFailure[] {
  if (evidenceDir === null) return [{ gate: 'forecast-gate', problem: 'forecastGate.required needs an evidence directory to find the gate artifact in', remedy: 'set evidenceDir (TG_EVIDENCE_DIR)' }];
  let sha256: string;
  try {
    sha256 = loadManifest(manifest).sha256;
  } catch (err) {
    return [{ gate: 'forecast-gate', problem: `cannot read the model's manifest: ${(err as Error).message}`, remedy: 'deploy the model with its manifest' }];
  }
  const found = acceptableGate(evidenceDir, { sha256, maxAgeMs: g.maxArtifactAgeMs, evidence: g.evidence, now: Date.now() });
  if (found.file !== null) return [];
  return [
    {
      gate: 'forecast-gate',
      problem: `the model ${sha256.slice(0, 12)} has no passing forecast-quality gate: ${found.why}`,
      remedy: `run tirex-guardian gate --model ${sha256} --journal <dir> --audit <log> --evidence-dir ${evidenceDir} on its live or shadow evidence (or --model <manifest> --backtest <files> for a model with no live history), and start once it says PASS`,
    },
  ];
}
