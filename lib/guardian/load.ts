/**
 * What the guardian opens when it starts, in order, each step closing what the steps before it
 * opened when it fails: the fail-closed gates (before anything is loaded), the model's signature
 * (before ONNX Runtime sees the model), the model and its pin, then the audit trail and the
 * forecast journal with its shadow candidate.
 */
import { codedError, ErrorCode } from '../errors';
import { ModelSession } from '../model/session';
import { loadTrustedKeys, verifyModelSignature, type SignatureCheck } from '../model/signature';
import { GuardianAuditTrail } from './audit-trail';
import { auditLogOptions, type ResolvedGuardianConfig } from './config';
import { checkProductionConfig, checkRequiredGates } from './gates';
import { GuardianQuality } from './quality-use';
import type { ProtectionStats } from './stats';

export function loadGuardianModel(c: ResolvedGuardianConfig): { session: ModelSession; signature: SignatureCheck | null } {
  // Fail closed before anything is loaded: every remedy at once.
  if (c.profile === 'production') checkProductionConfig(c);
  else checkRequiredGates(c);
  // Before the model is loaded: an unsigned or tampered one never reaches ONNX Runtime.
  const signature = c.signedModels.required ? verifyModelSignature(c.model, loadTrustedKeys(c.signedModels.trustedKeysFile)) : null;
  const session = ModelSession.load(c.model, c.session);
  if (c.modelSha256 !== undefined && c.modelSha256 !== session.sha256) {
    session.close();
    throw codedError(ErrorCode.ModelHashMismatch, `the model's sha256 ${session.sha256} is not the pinned ${c.modelSha256}`);
  }
  const m = session.manifest;
  if (m.scaling !== 'internal') {
    session.close();
    throw codedError(ErrorCode.ModelContractMismatch, `${m.name} declares scaling '${m.scaling}'; the guardian serves models that scale inside the graph ('internal') only`);
  }
  return { session, signature };
}

/** The audit trail (audit on) and the journal (journal configured); closes the session on failure. */
export function openRecorders(
  c: ResolvedGuardianConfig,
  stats: ProtectionStats,
  session: ModelSession,
  levels: readonly number[],
): { trail: GuardianAuditTrail | null; quality: GuardianQuality | null } {
  let trail: GuardianAuditTrail | null = null;
  try {
    if (c.audit.enabled) {
      const key = c.audit.signingKey;
      // Refused already by resolveGuardianConfig (production: by its gates); never fail open.
      if (key === undefined) throw codedError(ErrorCode.GateFailed, 'audit logging is on but no signing key: pass audit.signingKey or set $TG_AUDIT_SIGNING_KEY');
      trail = new GuardianAuditTrail({ log: auditLogOptions(c.audit, key), handoffLimit: c.audit.handoffLimit, onHandoffFull: c.audit.onHandoffFull }, stats, session.sha256);
    }
    const quality = c.quality.journal === null ? null : new GuardianQuality(c.quality, c.audit.signingKey, c.breaker.clock, { sha256: session.sha256, levels });
    return { trail, quality };
  } catch (err) {
    void trail?.close();
    session.close();
    throw err;
  }
}
