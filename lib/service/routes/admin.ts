/**
 * The operators' endpoints: what is served (GET /v1/models), how it is going (GET /v1/stats,
 * GET /v1/breakers: the breaker registry with each breaker's metrics) and the emergency
 * procedures of SPEC section 4 (POST /v1/breakers/:name/reset, POST /v1/maintenance,
 * POST /v1/resume). Reading needs the `metrics` or `admin` scope, acting needs `admin`; every
 * action is recorded in the audit log with the key that took it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { AuditDecision } from '../../audit';
import { ErrorCode } from '../../errors';
import { sendError } from '../http-errors';
import { describeProblem, IDENT_RULE, stringProblem, type StringRule } from '../strings';
import type { ServiceContext } from '../context';
import type { ServedModel } from '../models';

const READ = { access: { scopes: ['metrics', 'admin'] as const, limit: 'api' as const } };
const ACT = { access: { scopes: ['admin'] as const, limit: 'api' as const }, audited: true };

/** Free text an operator gives (a maintenance reason): printable ASCII, bounded. */
const REASON_RULE: StringRule = { maxLength: 200, allow: /^[\x20-\x7e]+$/, allowed: 'printable ASCII' };

const MAINTENANCE_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: { action: { enum: ['enter', 'exit'] }, mode: { enum: ['fallback', 'refuse'] }, reason: { type: 'string' }, model: { type: 'string' } },
};
const RESUME_BODY = { type: ['object', 'null'], additionalProperties: false, properties: { model: { type: 'string' } } };
const NO_BODY = { type: 'object', additionalProperties: false, properties: {} };

export function describeModel(s: ServedModel): object {
  const g = s.guardian;
  const m = g.session.manifest;
  return {
    name: s.name,
    model: { name: m.name, version: m.version, sha256: g.session.sha256, provider: g.session.provider },
    levels: m.quantileLevels,
    minContext: m.minContext,
    maxContext: m.maxContext,
    patchLength: m.patchLength,
    maxHorizon: m.maxHorizon,
    breaker: { name: g.breaker.name, state: g.breaker.state },
    maintenance: g.maintenance,
    suspended: g.suspended,
    warmed: s.warmed,
  };
}

/** The models an action names: one by name, or all of them. */
function targets(ctx: ServiceContext, request: FastifyRequest, reply: FastifyReply, name: unknown): ServedModel[] | null {
  if (name === undefined) return [...ctx.models];
  const problem = stringProblem(name, IDENT_RULE);
  if (problem !== null) {
    sendError(reply, request, ErrorCode.InvalidArgument, describeProblem('model', problem, IDENT_RULE), 'model');
    return null;
  }
  const s = ctx.modelOf(name as string);
  if (s === null) {
    sendError(reply, request, ErrorCode.NotFound, 'no such model (GET /v1/models lists them)', 'model');
    return null;
  }
  return [s];
}

/** An action is taken only when its record can be written (a failed log refuses, 503). */
function auditWritable(ctx: ServiceContext, request: FastifyRequest, reply: FastifyReply, models: readonly (ServedModel | null)[]): boolean {
  for (const m of models) {
    const log = ctx.auditLogFor(m);
    if (log !== null && log.stats().state !== 'open') {
      sendError(reply, request, ErrorCode.AuditWriteFailed, 'the audit log cannot record this action: nothing was done');
      return false;
    }
  }
  return true;
}

function recordAction(ctx: ServiceContext, request: FastifyRequest, model: ServedModel | null, decision: AuditDecision): void {
  const log = ctx.auditLogFor(model);
  request.tg.audited = true;
  if (log === null) return;
  log.append({
    callerId: request.tg.key!.id,
    status: 'ok',
    latencyUs: Number(process.hrtime.bigint() - request.tg.startedNs) / 1000,
    modelHash: model?.guardian.session.sha256 ?? null,
    inputStats: { service: { method: request.method, requestId: String(request.id), route: request.routeOptions.url ?? '' } },
    decisions: [decision],
  });
}

/** GET /v1/stats (the dashboard shows the same numbers): the service's counters, the limits,
 * the keys, each guardian's statistics and each audit log's health. */
export function statsBody(ctx: ServiceContext): object {
  return {
    service: ctx.stats.snapshot(),
    rateLimits: ctx.limiter === null ? { enabled: false } : { enabled: true, ...ctx.limiter.status(), authFailures: ctx.authFailures?.status() ?? null },
    keys: ctx.keys.status(),
    models: Object.fromEntries(ctx.models.map((s) => [s.name, s.guardian.stats()])),
    audit: Object.fromEntries(ctx.models.map((s) => [s.name, auditHealth(s)])),
  };
}

function auditHealth(s: ServedModel): object | null {
  const log = s.guardian.auditLog;
  if (log === null) return null;
  const a = log.stats();
  return {
    state: a.state,
    error: a.error === null ? null : 'the log failed: see the service log',
    pending: a.pending,
    maxQueue: a.maxQueue,
    written: a.written,
    dropped: a.dropped,
    checkpoints: a.checkpoints,
    lastCheckpointAt: a.lastCheckpointAtMs === null ? null : new Date(a.lastCheckpointAtMs).toISOString(),
    sinceCheckpoint: a.sinceCheckpoint,
  };
}

export function breakersBody(ctx: ServiceContext): Record<string, object> {
  const breakers: Record<string, object> = {};
  for (const s of ctx.models) for (const [name, st] of Object.entries(s.guardian.breakers.stats())) breakers[name] = { model: s.name, ...st };
  return breakers;
}

export function registerAdmin(app: FastifyInstance, ctx: ServiceContext): void {
  app.get('/v1/models', { config: READ }, async () => ({ models: ctx.models.map(describeModel) }));

  app.get('/v1/stats', { config: READ }, async () => statsBody(ctx));

  app.get('/v1/breakers', { config: READ }, async () => ({ breakers: breakersBody(ctx) }));

  app.post<{ Params: { name: string } }>('/v1/breakers/:name/reset', { config: ACT, schema: { body: NO_BODY } }, async (request, reply) => {
    const name = request.params.name;
    const owner = ctx.models.find((s) => s.guardian.breakers.has(name)) ?? null;
    if (owner === null) return sendError(reply, request, ErrorCode.NotFound, 'no such breaker (GET /v1/breakers lists them)', 'name');
    // A reset closes the breaker but ends neither maintenance nor a suspension: their own actions do.
    if (owner.guardian.maintenance !== null || owner.guardian.suspended !== null) {
      return sendError(reply, request, ErrorCode.Conflict, 'the model is in maintenance or suspended: exit maintenance (POST /v1/maintenance) or resume (POST /v1/resume) instead');
    }
    if (!auditWritable(ctx, request, reply, [owner])) return reply;
    const breaker = owner.guardian.breakers.get(name);
    breaker.reset(`manual reset through the service by ${request.tg.key!.id}`);
    recordAction(ctx, request, owner, { shield: 'service', action: 'breaker-reset', breaker: name });
    return { breaker: name, state: breaker.state };
  });

  app.post<{ Body: { action: 'enter' | 'exit'; mode?: 'fallback' | 'refuse'; reason?: string; model?: string } }>(
    '/v1/maintenance',
    { config: ACT, schema: { body: MAINTENANCE_BODY } },
    async (request, reply) => {
      const b = request.body;
      if (b.reason !== undefined) {
        const problem = stringProblem(b.reason, REASON_RULE);
        if (problem !== null) return sendError(reply, request, ErrorCode.InvalidArgument, describeProblem('reason', problem, REASON_RULE), 'reason');
      }
      const models = targets(ctx, request, reply, b.model);
      if (models === null || !auditWritable(ctx, request, reply, models)) return reply;
      for (const s of models) {
        if (b.action === 'enter') s.guardian.enterMaintenance(b.reason ?? `by ${request.tg.key!.id}`, b.mode ?? 'fallback');
        else s.guardian.exitMaintenance();
        recordAction(ctx, request, s, { shield: 'service', action: `maintenance-${b.action}`, mode: b.action === 'enter' ? (b.mode ?? 'fallback') : null });
      }
      return { models: models.map(describeModel) };
    },
  );

  app.post<{ Body: { model?: string } | undefined }>('/v1/resume', { config: ACT, schema: { body: RESUME_BODY } }, async (request, reply) => {
    const models = targets(ctx, request, reply, request.body?.model);
    if (models === null || !auditWritable(ctx, request, reply, models)) return reply;
    if (models.some((s) => s.guardian.maintenance !== null)) {
      return sendError(reply, request, ErrorCode.Conflict, 'the model is in maintenance: exit it (POST /v1/maintenance) instead');
    }
    for (const s of models) {
      s.guardian.resumeInference();
      recordAction(ctx, request, s, { shield: 'service', action: 'resume-inference' });
    }
    return { models: models.map(describeModel) };
  });
}
