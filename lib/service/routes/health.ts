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
    if (g.closed) checks[`model:${s.name}`] = { ok: false, detail: 'closed' };
    else if (g.breaker.state === 'forced-open') checks[`model:${s.name}`] = { ok: false, detail: g.suspended !== null ? `suspended: ${g.suspended}` : `maintenance: ${g.maintenance?.reason ?? 'forced open'}` };
    else checks[`model:${s.name}`] = { ok: true, detail: `breaker ${g.breaker.state}` };
    const log = g.auditLog;
    if (log !== null) {
      const st = log.stats();
      checks[`audit:${s.name}`] = st.state === 'open' && st.error === null ? { ok: true } : { ok: false, detail: st.error ?? st.state };
    }
  }
  const keys = ctx.keys.status();
  checks.keys = { ok: true, detail: `${keys.active} active key(s)${keys.lastError !== null ? `; last reload failed: ${keys.lastError}` : ''}` };
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
