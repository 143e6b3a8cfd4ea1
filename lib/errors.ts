/**
 * Stable error codes. The native addon throws the same codes (native/common/errors.h), so callers
 * branch on `err.code` whichever side detected the problem.
 */
export const ErrorCode = {
  InvalidArgument: 'TG_INVALID_ARGUMENT',
  DetachedBuffer: 'TG_DETACHED_BUFFER',
  BufferTooShort: 'TG_BUFFER_TOO_SHORT',
  ShapeMismatch: 'TG_SHAPE_MISMATCH',
  DtypeMismatch: 'TG_DTYPE_MISMATCH',
  InvalidBounds: 'TG_INVALID_BOUNDS',
  OutOfRange: 'TG_OUT_OF_RANGE',
  AddonLoadFailed: 'TG_ADDON_LOAD_FAILED',
  OrtNotFound: 'TG_ORT_NOT_FOUND',
  OrtLoadFailed: 'TG_ORT_LOAD_FAILED',
  OrtApiVersion: 'TG_ORT_API_VERSION',
  OrtAlreadyLoaded: 'TG_ORT_ALREADY_LOADED',
  OrtNotLoaded: 'TG_ORT_NOT_LOADED',
  ManifestInvalid: 'TG_MANIFEST_INVALID',
  ModelNotFound: 'TG_MODEL_NOT_FOUND',
  ModelHashMismatch: 'TG_MODEL_HASH_MISMATCH',
  ModelInvalid: 'TG_MODEL_INVALID',
  ModelContractMismatch: 'TG_MODEL_CONTRACT_MISMATCH',
  ModelUnsigned: 'TG_MODEL_UNSIGNED',
  ModelSignatureInvalid: 'TG_MODEL_SIGNATURE_INVALID',
  ModelKeyUntrusted: 'TG_MODEL_KEY_UNTRUSTED',
  TrustedKeysInvalid: 'TG_TRUSTED_KEYS_INVALID',
  AdvisorySourceInvalid: 'TG_ADVISORY_SOURCE_INVALID',
  AllowlistInvalid: 'TG_ALLOWLIST_INVALID',
  SecurityOverrideInvalid: 'TG_SECURITY_OVERRIDE_INVALID',
  EvidenceWriteFailed: 'TG_EVIDENCE_WRITE_FAILED',
  EvidenceCorrupt: 'TG_EVIDENCE_CORRUPT',
  ProviderUnavailable: 'TG_PROVIDER_UNAVAILABLE',
  SessionClosed: 'TG_SESSION_CLOSED',
  RunFailed: 'TG_RUN_FAILED',
  RunTimeout: 'TG_RUN_TIMEOUT',
  ContextTooShort: 'TG_CONTEXT_TOO_SHORT',
  ContextTooLong: 'TG_CONTEXT_TOO_LONG',
  HorizonTooLong: 'TG_HORIZON_TOO_LONG',
  BatchInvalid: 'TG_BATCH_INVALID',
  PrecisionLoss: 'TG_PRECISION_LOSS',
  ScalingInvalid: 'TG_SCALING_INVALID',
  InputBlocked: 'TG_INPUT_BLOCKED',
  OutputCorrupt: 'TG_OUTPUT_CORRUPT',
  OutputImplausible: 'TG_OUTPUT_IMPLAUSIBLE',
  ModelFailed: 'TG_MODEL_FAILED',
  CircuitOpen: 'TG_CIRCUIT_OPEN',
  Maintenance: 'TG_MAINTENANCE',
  Suspended: 'TG_SUSPENDED',
  NoFallback: 'TG_NO_FALLBACK',
  GateFailed: 'TG_GATE_FAILED',
  AuditQueueFull: 'TG_AUDIT_QUEUE_FULL',
  AuditDropped: 'TG_AUDIT_DROPPED',
  AuditClosed: 'TG_AUDIT_CLOSED',
  AuditWriteFailed: 'TG_AUDIT_WRITE_FAILED',
  AuditCorrupt: 'TG_AUDIT_CORRUPT',
  AuditLocked: 'TG_AUDIT_LOCKED',
  GuardianClosed: 'TG_GUARDIAN_CLOSED',
  // The service (lib/service/): its configuration, API keys and HTTP refusals.
  ConfigInvalid: 'TG_CONFIG_INVALID',
  KeyFileInvalid: 'TG_KEY_FILE_INVALID',
  KeyExists: 'TG_KEY_EXISTS',
  KeyNotFound: 'TG_KEY_NOT_FOUND',
  Unauthenticated: 'TG_UNAUTHENTICATED',
  Forbidden: 'TG_FORBIDDEN',
  RateLimited: 'TG_RATE_LIMITED',
  BodyTooLarge: 'TG_BODY_TOO_LARGE',
  UnsupportedMediaType: 'TG_UNSUPPORTED_MEDIA_TYPE',
  NotFound: 'TG_NOT_FOUND',
  Draining: 'TG_DRAINING',
  Overloaded: 'TG_OVERLOADED',
  Conflict: 'TG_CONFLICT',
  Internal: 'TG_INTERNAL',
} as const;

export type ErrorCodeValue = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An Error (TypeError, RangeError or Error) carrying one of the stable codes. */
export type CodedError<E extends Error = Error> = E & { code: ErrorCodeValue };

function withCode<E extends Error>(err: E, code: ErrorCodeValue): CodedError<E> {
  return Object.assign(err, { code });
}

export function typeError(code: ErrorCodeValue, message: string): CodedError<TypeError> {
  return withCode(new TypeError(message), code);
}

export function rangeError(code: ErrorCodeValue, message: string): CodedError<RangeError> {
  return withCode(new RangeError(message), code);
}

export function codedError(code: ErrorCodeValue, message: string, cause?: unknown): CodedError {
  return withCode(new Error(message, cause === undefined ? undefined : { cause }), code);
}

/** True when `err` is an Error with the given stable code. */
export function hasCode(err: unknown, code: ErrorCodeValue): err is CodedError {
  return err instanceof Error && (err as { code?: unknown }).code === code;
}
