/**
 * How every refusal leaves the service: a JSON body `{ error: { code, message, requestId,
 * field? } }` with a stable code and the HTTP status that code always maps to. Messages come from
 * the service's own words or the guardian's with every quoted fragment removed: a response never
 * echoes what the client sent (a reflected string is how log and header injection start).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

import { ErrorCode, type ErrorCodeValue } from '../errors';

const STATUS: Readonly<Partial<Record<ErrorCodeValue, number>>> = {
  [ErrorCode.Unauthenticated]: 401,
  [ErrorCode.Forbidden]: 403,
  [ErrorCode.NotFound]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.BodyTooLarge]: 413,
  [ErrorCode.UnsupportedMediaType]: 415,
  [ErrorCode.RateLimited]: 429,
  [ErrorCode.Draining]: 503,
  [ErrorCode.Overloaded]: 503,
  [ErrorCode.GuardianClosed]: 503,
  [ErrorCode.AuditWriteFailed]: 503,
  // The guardian's refusals of the request itself.
  [ErrorCode.InvalidArgument]: 400,
  [ErrorCode.InvalidBounds]: 400,
  [ErrorCode.OutOfRange]: 400,
  [ErrorCode.BatchInvalid]: 400,
  [ErrorCode.ShapeMismatch]: 400,
  [ErrorCode.ContextTooShort]: 422,
  [ErrorCode.ContextTooLong]: 422,
  [ErrorCode.HorizonTooLong]: 422,
  [ErrorCode.PrecisionLoss]: 422,
  [ErrorCode.ScalingInvalid]: 422,
  [ErrorCode.InputBlocked]: 422,
  // The strict fallback strategy: the model or its circuit failed the call.
  [ErrorCode.CircuitOpen]: 503,
  [ErrorCode.Maintenance]: 503,
  [ErrorCode.Suspended]: 503,
  [ErrorCode.RunTimeout]: 504,
  [ErrorCode.RunFailed]: 502,
  [ErrorCode.ModelFailed]: 502,
  [ErrorCode.OutputCorrupt]: 502,
  [ErrorCode.OutputImplausible]: 502,
  [ErrorCode.NoFallback]: 502,
};

export function httpStatusOf(code: string): number {
  // Own entries only: 'toString' must not find Object.prototype's.
  return Object.hasOwn(STATUS, code) ? STATUS[code as ErrorCodeValue]! : 500;
}

/** The guardian's message without anything the client wrote: quoted fragments become "…",
 * non-printable characters go, and it is cut at 300 characters. */
export function scrubMessage(message: string): string {
  return message
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/'(?:[^'\\]|\\.)*'/g, "'…'")
    .replace(/[^\x20-\x7e…]/g, '')
    .slice(0, 300);
}

export interface ErrorBody {
  error: { code: string; message: string; requestId: string; field?: string };
}

export function sendError(reply: FastifyReply, request: FastifyRequest, code: ErrorCodeValue | string, message: string, field?: string): FastifyReply {
  const body: ErrorBody = { error: { code, message, requestId: String(request.id) } };
  if (field !== undefined) body.error.field = field;
  reply.header('cache-control', 'no-store');
  return reply.code(httpStatusOf(code)).type('application/json; charset=utf-8').send(body);
}
