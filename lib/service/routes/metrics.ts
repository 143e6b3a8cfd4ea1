/**
 * GET /metrics, Prometheus' text format:
 *  - on the service's port, for a key with the `metrics` or `admin` scope (the access gate: key,
 *    rate limit, scope, as any /v1 read) or, without a key, for an address in `metrics.allow`;
 *  - with `metrics.port`, also on a listener of its own that serves /metrics and nothing else (no
 *    keys there: an empty `metrics.allow` admits everyone, a list admits only its addresses).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { FastifyInstance } from 'fastify';

import { AddressList } from '../address-list';
import type { ServiceContext } from '../context';

const ACCESS = { scopes: ['metrics', 'admin'] as const, limit: 'api' as const };

export function registerMetricsRoute(app: FastifyInstance, ctx: ServiceContext): void {
  const allow = new AddressList(ctx.config.metrics.allow);
  app.get('/metrics', async (request, reply) => {
    if (!allow.has(request.socket.remoteAddress ?? '')) {
      const key = await ctx.gate.admit(request, reply, ACCESS);
      if (key === null) return reply;
    }
    const text = await ctx.metrics.registry.metrics();
    return reply.type(ctx.metrics.registry.contentType).header('cache-control', 'no-store').send(text);
  });
}

export interface MetricsListener {
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsListener(ctx: ServiceContext): Promise<MetricsListener> {
  const c = ctx.config.metrics;
  const allow = new AddressList(c.allow);
  const server = http.createServer({ requestTimeout: 10_000, headersTimeout: 10_000, keepAliveTimeout: 5_000 }, (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: this port serves GET /metrics only\n');
      return;
    }
    if (allow.size > 0 && !allow.has(req.socket.remoteAddress ?? '')) {
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('this address may not scrape (metrics.allow)\n');
      return;
    }
    ctx.metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': ctx.metrics.registry.contentType, 'cache-control': 'no-store' }).end(text),
      () => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n'),
    );
  });
  server.maxConnections = 64;
  const host = c.host ?? ctx.config.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(c.port!, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  const shown = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return {
    url: `http://${shown}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
