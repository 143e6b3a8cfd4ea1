/**
 * The audit shield: hash-chained, checkpoint-signed JSON-lines audit log (writer.ts), its record
 * format (record.ts), chain (chain.ts) and offline verifier (verify.ts).
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
export {
  AuditLog,
  SIGNING_KEY_MIN_BYTES,
  type AcceptedAuditTicket,
  type AuditCheckpointInfo,
  type AuditDropInfo,
  type AuditDurability,
  type AuditLogEvents,
  type AuditLogOptions,
  type AuditLogState,
  type AuditLogStats,
  type AuditTicket,
  type DroppedAuditTicket,
} from './writer';
export { listSegments, segmentName } from './segments';
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
