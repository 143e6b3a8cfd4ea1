/**
 * The hooks every request passes: the access gate before the body is read (onRequest), the audit
 * record of an authenticated request to an audited route that ended before the guardian or an
 * admin handler recorded it (onResponse), and Connection: close on every answer while draining.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';

import type { ServiceContext } from './context';

export function registerHooks(app: FastifyInstance, ctx: ServiceContext): void {
  app.decorateRequest('tg', null as never);
  app.addHook('onRequest', async (request, reply) => {
    ctx.stats.requests++;
    request.tg = { key: null, model: null, audited: false, startedNs: process.hrtime.bigint() };
    const access = request.routeOptions.config.access;
    if (access === undefined) return;
    const key = await ctx.gate.admit(request, reply, access);
    if (key === null) return reply; // answered
  });
  app.addHook('onResponse', async (request, reply) => {
    ctx.stats.answered(reply.statusCode);
    const tg = request.tg;
    if (tg === null || tg.key === null || tg.audited || request.routeOptions.config.audited !== true) return;
    recordRefusal(ctx, request, reply.statusCode);
  });
  app.addHook('onSend', async (_request, reply) => {
    if (ctx.state.draining) reply.header('connection', 'close');
  });
}

/** A refusal in the audit log: `blocked`, with a `service` decision carrying the HTTP status. */
function recordRefusal(ctx: ServiceContext, request: FastifyRequest, httpStatus: number): void {
  const tg = request.tg;
  const log = ctx.auditLogFor(tg.model);
  try {
    log?.append({
      callerId: tg.key!.id,
      status: 'blocked',
      latencyUs: Number(process.hrtime.bigint() - tg.startedNs) / 1000,
      modelHash: tg.model?.guardian.session.sha256 ?? null,
      inputStats: { service: { httpStatus, method: request.method, requestId: String(request.id), route: request.routeOptions.url ?? '' } },
      decisions: [{ shield: 'service', action: 'refuse', httpStatus }],
    });
  } catch (err) {
    request.log.error({ err }, 'audit record of a refused request failed');
  }
}
