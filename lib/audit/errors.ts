/**
 * The audit shield's stable error codes: the library's own (lib/errors.ts), named for the audit
 * code that throws them, and built by the library's helpers.
 */
import { codedError, ErrorCode, rangeError, typeError, type CodedError } from '../errors';

export const AuditErrorCode = {
  /** An argument (caller id, status, latency, option) is not acceptable. */
  InvalidArgument: ErrorCode.InvalidArgument,
  /** `append` on a full queue with `onFull: 'throw'`. */
  QueueFull: ErrorCode.AuditQueueFull,
  /** The record was not accepted (queue full), so it has nothing to acknowledge. */
  Dropped: ErrorCode.AuditDropped,
  /** `append` after `close()`. */
  Closed: ErrorCode.AuditClosed,
  /** A write or fsync failed; the log accepts nothing more and every pending ack is rejected. */
  WriteFailed: ErrorCode.AuditWriteFailed,
  /** An existing log cannot be resumed: its tail does not verify, or a line is not an entry. */
  Corrupt: ErrorCode.AuditCorrupt,
  /** Another live AuditLog (this process or another) holds the file. */
  Locked: ErrorCode.AuditLocked,
} as const;

export type AuditErrorCodeValue = (typeof AuditErrorCode)[keyof typeof AuditErrorCode];

export type AuditError<E extends Error = Error> = CodedError<E> & { code: AuditErrorCodeValue };

export function auditTypeError(message: string): AuditError<TypeError> {
  return typeError(AuditErrorCode.InvalidArgument, message) as AuditError<TypeError>;
}

export function auditRangeError(code: AuditErrorCodeValue, message: string): AuditError<RangeError> {
  return rangeError(code, message) as AuditError<RangeError>;
}

export function auditError(code: AuditErrorCodeValue, message: string, cause?: unknown): AuditError {
  return codedError(code, message, cause) as AuditError;
}
