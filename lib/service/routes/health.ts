/**
 * Kubernetes probes, without a key and outside the rate limits (the kubelet has neither):
 *  - /health/live: the process answers (200), whatever else is wrong;
 *  - /health/ready: 200 when every model is loaded and not forced open (maintenance, suspension),
 *    every audit log is writable, the key file is loaded, Redis is reachable or its insurance
 *    limiter decides in its place, and the service is not draining; 503 otherwise;
 *  - /health/startup: 200 once every model is loaded and has served one warm-up forecast.
 * The JSON body lists each check and why it fails.
 */
import type { FastifyInstance } from 'fastify';

import type { ServiceContext } from '../context';

interface Check {
  ok: boolean;
  detail?: string;
}

export function readiness(ctx: ServiceContext): { ready: boolean; checks: Record<string, Check> } {
  const checks: Record<string, Check> = {};
  checks.lifecycle = ctx.state.draining ? { ok: false, detail: 'draining' } : ctx.state.started ? { ok: true } : { ok: false, detail: 'starting' };
  for (const s of ctx.models) {
    const g = s.guardian;
    // The guardian's own flags, not only its breaker: a breaker reset does not end maintenance.
    // (Details stay generic: the probes answer without a key; GET /v1/stats says more.)
    if (g.closed) checks[`model:${s.name}`] = { ok: false, detail: 'closed' };
    else if (g.maintenance !== null) checks[`model:${s.name}`] = { ok: false, detail: `maintenance (${g.maintenance.mode})` };
    else if (g.suspended !== null) checks[`model:${s.name}`] = { ok: false, detail: 'suspended after corrupt outputs' };
    else if (g.breaker.state === 'forced-open') checks[`model:${s.name}`] = { ok: false, detail: 'breaker forced open' };
    else checks[`model:${s.name}`] = { ok: true, detail: `breaker ${g.breaker.state}` };
    const log = g.auditLog;
    if (log !== null) {
      const st = log.stats();
      checks[`audit:${s.name}`] = st.state === 'open' && st.error === null ? { ok: true } : { ok: false, detail: `audit log ${st.state === 'open' ? 'failing' : st.state}` };
    }
  }
  const keys = ctx.keys.status();
  checks.keys = { ok: true, detail: keys.lastError !== null ? 'the last reload of the key file failed (the keys loaded before stay)' : 'loaded' };
  if (ctx.limiter !== null) {
    const mode = ctx.limiter.mode;
    checks.rateLimits = { ok: true, detail: mode === 'insurance' ? 'Redis unreachable: the in-memory insurance limiter decides' : mode === 'shared' ? 'shared in Redis' : 'in memory' };
  }
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}

export function registerHealth(app: FastifyInstance, ctx: ServiceContext): void {
  app.get('/health/live', async () => ({ status: 'live' }));
  app.get('/health/ready', async (_request, reply) => {
    const r = readiness(ctx);
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not-ready', checks: r.checks });
  });
  app.get('/health/startup', async (_request, reply) => {
    const pending = ctx.models.filter((s) => !s.warmed).map((s) => s.name);
    const ok = pending.length === 0;
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'started' : 'starting', models: ctx.models.map((s) => ({ name: s.name, warmed: s.warmed })) });
  });
}
