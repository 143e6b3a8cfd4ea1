/**
 * The status page: GET / (HTML), /dashboard/app.js and /dashboard/app.css (the files in
 * lib/service/dashboard/, read once), and GET /v1/dashboard, everything the page shows in one
 * read (`metrics` or `admin` scope): the viewer's key id and scopes, readiness, the numbers of
 * GET /v1/stats, the models, the breakers and the latest forecast of each instrument the operator
 * listed (`dashboard.instruments`).
 *
 * The page's own responses carry a strict Content-Security-Policy: scripts, styles and requests to
 * this origin only, no inline script or style, no frames, no forms posted elsewhere.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import type { FastifyInstance, FastifyReply } from 'fastify';

import { packageRoot } from '../../native/addon';
import type { ServiceContext } from '../context';
import { readiness } from './health';
import { breakersBody, describeModel, statsBody } from './admin';

export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const FILES = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/dashboard/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/dashboard/app.css': ['app.css', 'text/css; charset=utf-8'],
  '/dashboard/icon.svg': ['icon.svg', 'image/svg+xml'],
} as const;

const READ = { access: { scopes: ['metrics', 'admin'] as const, limit: 'api' as const } };

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', DASHBOARD_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('x-frame-options', 'DENY')
    .header('cache-control', 'no-store');
}

export function registerDashboard(app: FastifyInstance, ctx: ServiceContext): void {
  const dir = path.join(packageRoot(), 'lib', 'service', 'dashboard');
  for (const [route, [file, type]] of Object.entries(FILES)) {
    const body = fs.readFileSync(path.join(dir, file));
    app.get(route, async (_request, reply) => secure(reply).type(type).send(body));
  }
  app.get('/v1/dashboard', { config: READ }, async (request, reply) => {
    const key = request.tg.key!;
    secure(reply);
    return {
      viewer: { id: key.id, scopes: [...key.scopes].sort() },
      profile: ctx.config.profile,
      ready: readiness(ctx),
      stats: statsBody(ctx),
      models: ctx.models.map(describeModel),
      breakers: breakersBody(ctx),
      forecasts: ctx.latest.list(),
    };
  });
}
