/**
 * The audit shield: hash-chained, checkpoint-signed JSON-lines audit log, one file or a directory
 * of rotated segments (writer.ts, segments.ts), its record format and redaction (record.ts,
 * privacy.ts), chain and signatures (chain.ts, signing.ts), digest file (digest.ts), the hot
 * path's hand-off buffer (handoff.ts), and the offline verifier and query (verify.ts, query.ts).
 */
export { AuditErrorCode, type AuditErrorCodeValue, type AuditError } from './errors';
export {
  AUDIT_STATUSES,
  CALLER_ID_MAX_CHARS,
  canonicalJson,
  checkCallerId,
  pseudonymizeCallerId,
  makeAuditId,
  type AuditDecision,
  type AuditRecord,
  type AuditRecordInput,
  type AuditStatus,
  type JsonObject,
  type JsonValue,
} from './record';
export {
  AUDIT_FORMAT_VERSION,
  CHECKPOINT_ALG,
  GENESIS_HASH,
  checkpointPayload,
  entryHash,
  signCheckpoint,
  type AuditCheckpoint,
  type AuditEntryType,
  type AuditGapEntry,
  type AuditOpenEntry,
} from './chain';
export { AuditLog, type AuditLogEvents } from './writer';
export {
  SIGNING_KEY_MIN_BYTES,
  type AcceptedAuditTicket,
  type AuditCheckpointInfo,
  type AuditDropInfo,
  type AuditDurability,
  type AuditLogOptions,
  type AuditLogState,
  type AuditLogStats,
  type AuditTicket,
  type DroppedAuditTicket,
} from './writer-options';
export { listSegments, segmentName } from './segments';
export { digestPathFor, readDigest, type DigestEntry } from './digest';
export { signingKeyOf, verifyKeyOf, type CheckpointAlg, type CheckpointKey } from './signing';
export { AuditHandoff, type HandoffFullPolicy, type HandoffOptions } from './handoff';
export { queryAuditLog, recordFilter, type AuditQuery, type AuditQueryResult } from './query';
export {
  AuditVerifier,
  formatAuditReport,
  verifyAuditDir,
  verifyAuditLines,
  verifyAuditLog,
  type AuditVerifyProblem,
  type AuditVerifyReason,
  type AuditVerifyReport,
  type VerifyOptions,
} from './verify';
