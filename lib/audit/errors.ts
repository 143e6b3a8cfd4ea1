/**
 * Stable error codes of the audit shield. They follow lib/errors.ts (an Error, TypeError or
 * RangeError carrying `code`); they live here until lib/errors.ts takes them in, and invalid
 * arguments reuse the library's own `TG_INVALID_ARGUMENT`.
 */
import { ErrorCode } from '../errors';

export const AuditErrorCode = {
  /** An argument (caller id, status, latency, option) is not acceptable. */
  InvalidArgument: ErrorCode.InvalidArgument,
  /** `append` on a full queue with `onFull: 'throw'`. */
  QueueFull: 'TG_AUDIT_QUEUE_FULL',
  /** The record was not accepted (queue full), so it has nothing to acknowledge. */
  Dropped: 'TG_AUDIT_DROPPED',
  /** `append` after `close()`. */
  Closed: 'TG_AUDIT_CLOSED',
  /** A write or fsync failed; the log accepts nothing more and every pending ack is rejected. */
  WriteFailed: 'TG_AUDIT_WRITE_FAILED',
  /** An existing log cannot be resumed: its tail does not verify, or a line is not an entry. */
  Corrupt: 'TG_AUDIT_CORRUPT',
  /** Another live AuditLog (this process or another) holds the file. */
  Locked: 'TG_AUDIT_LOCKED',
} as const;

export type AuditErrorCodeValue = (typeof AuditErrorCode)[keyof typeof AuditErrorCode];

export type AuditError<E extends Error = Error> = E & { code: AuditErrorCodeValue };

function withCode<E extends Error>(err: E, code: AuditErrorCodeValue): AuditError<E> {
  return Object.assign(err, { code });
}

export function auditTypeError(message: string): AuditError<TypeError> {
  return withCode(new TypeError(message), AuditErrorCode.InvalidArgument);
}

export function auditRangeError(code: AuditErrorCodeValue, message: string): AuditError<RangeError> {
  return withCode(new RangeError(message), code);
}

export function auditError(code: AuditErrorCodeValue, message: string, cause?: unknown): AuditError {
  return withCode(new Error(message, cause === undefined ? undefined : { cause }), code);
}
