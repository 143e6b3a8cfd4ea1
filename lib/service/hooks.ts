/**
 * The hooks every request passes: the access gate before the body is read (onRequest), the audit
 * record of an authenticated request to an audited route that ended before the guardian or an
 * admin handler recorded it (onResponse), and Connection: close on every answer while draining.
 */
import { SpanStatusCode } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';

import type { ServiceContext } from './context';
import { startRequestSpan } from './telemetry';

/** The route's pattern (bounded, unlike the URL): the metrics' and spans' label. */
const routeOf = (request: FastifyRequest) => request.routeOptions.url ?? 'unmatched';

function endSpan(request: FastifyRequest, status: number): void {
  const t = request.tg?.trace;
  if (t === null || t === undefined) return;
  request.tg.trace = null;
  t.span.setAttribute('http.response.status_code', status);
  if (status >= 500 || status === 499) t.span.setStatus({ code: SpanStatusCode.ERROR });
  t.span.end();
}

export function registerHooks(app: FastifyInstance, ctx: ServiceContext): void {
  app.decorateRequest('tg', null as never);
  app.addHook('onRequest', async (request, reply) => {
    ctx.stats.requests++;
    request.tg = { key: null, model: null, audited: false, startedNs: process.hrtime.bigint(), trace: startRequestSpan(request.method, routeOf(request), request.headers) };
    const access = request.routeOptions.config.access;
    if (access === undefined) return;
    const key = await ctx.gate.admit(request, reply, access);
    if (key === null) return reply; // answered
  });
  app.addHook('onResponse', async (request, reply) => {
    ctx.stats.answered(reply.statusCode);
    ctx.metrics.observe(routeOf(request), request.method, reply.statusCode, Number(process.hrtime.bigint() - request.tg.startedNs) / 1e9);
    endSpan(request, reply.statusCode);
    if (unrecorded(request)) recordRefusal(ctx, request, reply.statusCode);
  });
  // A request admitted and then abandoned by its client (or cut by the request timeout) never
  // reaches onResponse: recorded here, so that it too is in the log.
  app.addHook('onRequestAbort', async (request) => {
    endSpan(request, 499);
    if (unrecorded(request)) recordRefusal(ctx, request, 499);
  });
  app.addHook('onSend', async (_request, reply) => {
    if (ctx.state.draining) reply.header('connection', 'close');
  });
}

/** An authenticated request to an audited route that neither the guardian nor an admin handler
 * has recorded. */
function unrecorded(request: FastifyRequest): boolean {
  const tg = request.tg;
  return tg !== null && tg.key !== null && !tg.audited && request.routeOptions.config.audited === true;
}

/** Rate-limit refusals recorded per key: at most one record a second, carrying how many were
 * left out since the last (a key hammering past its limit must not fill the log at wire speed). */
const RATE_LIMIT_RECORD_MS = 1000;
const lastRateLimitRecord = new Map<string, { at: number; suppressed: number }>(); // bounded by the key ids

/** A refusal in the audit log: `blocked`, with a `service` decision carrying the HTTP status (499:
 * the client went away, or its request timed out, after it was admitted). */
function recordRefusal(ctx: ServiceContext, request: FastifyRequest, httpStatus: number): void {
  const tg = request.tg;
  tg.audited = true; // once: an abort after the response (or the reverse) is not a second record
  const log = ctx.auditLogFor(tg.model);
  let suppressed: number | undefined;
  if (httpStatus === 429) {
    const now = Date.now();
    const last = lastRateLimitRecord.get(tg.key!.id);
    if (last !== undefined && now - last.at < RATE_LIMIT_RECORD_MS) {
      last.suppressed++;
      return;
    }
    suppressed = last?.suppressed ?? 0;
    lastRateLimitRecord.set(tg.key!.id, { at: now, suppressed: 0 });
  }
  try {
    log?.append({
      callerId: tg.key!.id,
      status: 'blocked',
      latencyUs: Number(process.hrtime.bigint() - tg.startedNs) / 1000,
      modelHash: tg.model?.guardian.session.sha256 ?? null,
      inputStats: {
        service:
          suppressed === undefined
            ? { httpStatus, method: request.method, requestId: String(request.id), route: request.routeOptions.url ?? '' }
            : { httpStatus, method: request.method, requestId: String(request.id), route: request.routeOptions.url ?? '', suppressedBefore: suppressed },
      },
      decisions: [{ shield: 'service', action: 'refuse', httpStatus }],
    });
  } catch (err) {
    request.log.error({ err }, 'audit record of a refused request failed');
  }
}
