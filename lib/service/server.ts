/**
 * `createServer(options)`: the guardian as an HTTP service (Fastify). One process, one guardian
 * per configured model, the configuration checked whole before anything opens (config.ts), the
 * production gates of the guardian and of the service together (models.ts). `listen()` binds
 * and warms every model once (the startup probe waits for it); `drain()` is the graceful stop:
 * readiness goes false, new requests get 503, requests in flight finish, the audit logs are
 * flushed and closed, then everything is released.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { isUtf8 } from 'node:buffer';
import { endianness } from 'node:os';

import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import Redis from 'ioredis';

import { codedError, ErrorCode } from '../errors';
import { AccessGate } from './access';
import { loadServiceConfig, type LoadOptions, type ServiceConfig } from './config';
import type { ServiceContext } from './context';
import { sendError } from './http-errors';
import { KeyStore } from './keys';
import { AuthFailureLimiter } from './limits/auth-failures';
import { SharedLimiter } from './limits/shared';
import { openModels, warmUp, type ServedModel } from './models';
import { registerAdmin } from './routes/admin';
import { registerForecast } from './routes/forecast';
import { registerOutcomes } from './routes/outcomes';
import { readiness, registerHealth } from './routes/health';
import { registerHooks } from './hooks';
import { ServiceStats } from './service-stats';
import { LatestForecasts } from './latest-forecasts';
import { ServiceMetrics } from './metrics';
import { registerDashboard } from './routes/dashboard';
import { registerMetricsRoute, startMetricsListener, type MetricsListener } from './routes/metrics';
import { installTracing, type ServiceTracing } from './telemetry';
import { RegimeEngine, registerRegimeMetrics } from '../regime';
import { registerRegime } from './routes/regime';
import { runEvent, startSecurity, type ServiceSecurity } from './security';

export interface CreateServerOptions extends LoadOptions {
  /** A configuration already loaded (skips the file and the environment). */
  config?: ServiceConfig;
}

export interface Service {
  readonly app: FastifyInstance;
  readonly config: ServiceConfig;
  readonly context: ServiceContext;
  /** Binds, then warms every model; resolves to the address ('http://host:port'). */
  listen(): Promise<string>;
  /** The metrics listener's address once listening (null: metrics.port is not set). */
  readonly metricsUrl: string | null;
  /** The graceful stop; idempotent. Resolves once everything is closed. */
  drain(reason?: string): Promise<void>;
  readiness(): ReturnType<typeof readiness>;
}

function redisClient(c: NonNullable<ServiceConfig['rateLimits']['redis']>): Redis {
  // Fail fast instead of queueing while disconnected: the insurance limiter answers meanwhile,
  // and ioredis keeps reconnecting in the background.
  const redis = new Redis(c.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: c.commandTimeoutMs,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(50 * times, 1_000),
    lazyConnect: false,
  });
  redis.on('error', () => {
    /* counted by the limiter at the next decision; an unhandled 'error' event would crash */
  });
  return redis;
}

/** Errors Fastify raises before a handler runs, and anything a handler throws. */
function handleError(err: Error & { code?: string; statusCode?: number; validation?: unknown; validationContext?: string }, request: FastifyRequest, reply: FastifyReply, ctx: ServiceContext): FastifyReply {
  if (err.validation !== undefined) {
    // ajv's messages name the path and the rule ("/context/3 must be number,null"), never the value.
    return sendError(reply, request, ErrorCode.InvalidArgument, `${err.validationContext ?? 'body'}${err.message.replace(/^(body|params|querystring|headers)/, '')}`.slice(0, 300));
  }
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendError(reply, request, ErrorCode.BodyTooLarge, 'the body is larger than this endpoint accepts');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return sendError(reply, request, ErrorCode.UnsupportedMediaType, 'send application/json or application/octet-stream');
    case ErrorCode.InvalidArgument:
      return sendError(reply, request, ErrorCode.InvalidArgument, err.message);
  }
  if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    // Malformed JSON, a poisoned __proto__ key, an empty body, a bad content length...
    return sendError(reply, request, ErrorCode.InvalidArgument, 'the request body or its framing is malformed');
  }
  ctx.stats.internalErrors++;
  request.log.error({ err, requestId: request.id }, 'request failed');
  return sendError(reply, request, ErrorCode.Internal, 'internal error; quote the request id');
}

/**
 * The Node server, with every timeout that bounds what a slow or idle client can hold: the whole
 * request, its headers, an idle keep-alive connection, a TLS handshake; checked every second (Node
 * checks every 30 s by default, so a request timeout could pass 30 s late), and the number of
 * open connections bounded (bodies are read whole before a handler runs).
 */
function serverFactory(c: ServiceConfig): (handler: http.RequestListener) => http.Server {
  return (handler) => {
    const timeouts = {
      requestTimeout: c.limits.requestTimeoutMs,
      headersTimeout: Math.min(c.limits.requestTimeoutMs, 10_000),
      keepAliveTimeout: c.limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: 1_000,
    };
    const server =
      c.tls === null
        ? http.createServer(timeouts, handler)
        : https.createServer({ ...timeouts, cert: fs.readFileSync(c.tls.certFile), key: fs.readFileSync(c.tls.keyFile), handshakeTimeout: 10_000 }, handler);
    server.maxConnections = c.limits.maxConnections;
    return server;
  };
}

function buildApp(c: ServiceConfig): FastifyInstance {
  const prefix = randomBytes(4).toString('hex');
  let seq = 0;
  return Fastify({
    logger: c.logLevel === 'silent' ? false : { level: c.logLevel },
    // Per-request log lines cost the hot path; refusals are counted (GET /v1/stats), errors logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: c.limits.jsonBodyBytes,
    // Only the proxies we were told of: with `true`, request.ip would be the left-most
    // X-Forwarded-For entry, which the client writes (a free address per failed key guess, or a
    // victim's address to block). Each proxy appends the address it saw.
    trustProxy: c.behindProxy ? (_address: string, hop: number) => hop < c.proxyHops : false,
    serverFactory: serverFactory(c),
    // The router's own refusals would echo the path: ours say only what was wrong.
    frameworkErrors: (_err, request, reply) => sendError(reply, request, ErrorCode.InvalidArgument, 'the URL is malformed'),
    routerOptions: {
      maxParamLength: 128,
      onMaxParamLength: (_path: string, _req: http.IncomingMessage, res: http.ServerResponse) => {
        res.statusCode = 414;
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(JSON.stringify({ error: { code: ErrorCode.InvalidArgument, message: 'a path segment is longer than 128 characters', requestId: 'none' } }));
      },
    },
    // Requests on connections still open while closing meet our own drain refusal (503
    // TG_DRAINING, the JSON error every client knows) and the probes keep answering.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    // Our ids, never the client's (a client-chosen id is a log injection vector).
    requestIdHeader: false,
    genReqId: () => `${prefix}-${(++seq).toString(36)}`,
    // No coercion ("12" stays a string, and is refused), no defaults, no silent removal.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
  }) as unknown as FastifyInstance;
}

function registerParsers(app: FastifyInstance, c: ServiceConfig): void {
  const json = app.getDefaultJsonParser('error', 'error'); // __proto__ / constructor.prototype keys: refused
  // Only the two forms the API speaks: Fastify's text/plain parser would hand a string to a route
  // whose schema is per content type (and so unchecked for text/plain). Anything else is 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer', bodyLimit: c.limits.jsonBodyBytes }, (request, body, done) => {
    // A lenient decode would turn invalid bytes into U+FFFD silently: refuse them instead.
    if (!isUtf8(body as Buffer)) return done(Object.assign(new Error('the body is not valid UTF-8'), { code: ErrorCode.InvalidArgument, statusCode: 400 }), undefined);
    json(request, (body as Buffer).toString('utf8'), done);
  });
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: c.limits.binaryBodyBytes }, (_request, body, done) => done(null, body));
}

export async function createServer(options: CreateServerOptions = {}): Promise<Service> {
  if (endianness() !== 'LE') throw codedError(ErrorCode.Internal, 'the binary forecast form is little-endian float32: this host is big-endian');
  const config = options.config ?? loadServiceConfig(options);
  const keys = KeyStore.open(config.keysFile);
  const redis = config.rateLimits.enabled && config.rateLimits.redis !== null ? redisClient(config.rateLimits.redis) : null;
  let models: ServedModel[];
  // One engine for every model: the market is the same whichever model forecasts it.
  const r = config.regime;
  const regime = r.enabled
    ? new RegimeEngine({ barPeriodMs: r.barPeriodMs, maxBars: r.maxBars, slopePeriod: r.slopePeriod, atrPeriod: r.atrPeriod, ttlMs: r.ttlMs, maxSymbols: r.maxSymbols })
    : null;
  let security: ServiceSecurity;
  try {
    // Before any model loads: a start refused here has loaded nothing.
    security = await startSecurity(config);
    models = openModels(config, keys, regime, security);
  } catch (err) {
    keys.close();
    redis?.disconnect();
    const e = err as Error & { code?: string };
    runEvent(config.evidenceDir === null ? null : path.resolve(config.evidenceDir), { event: 'serve-start', decision: 'refused', detail: { profile: config.profile, code: e.code ?? null, error: e.message.slice(0, 2000) } });
    throw err;
  }
  // Before anything serves: the guardians' spans need the provider from their first call.
  const tracing = config.tracing === null ? null : installTracing(config.tracing);
  try {
    return assemble(config, keys, redis, models, tracing, regime, security.evidenceDir);
  } catch (err) {
    for (const m of models) void m.guardian.close();
    keys.close();
    redis?.disconnect();
    void tracing?.shutdown();
    throw err;
  }
}

function assemble(
  config: ServiceConfig,
  keys: KeyStore,
  redis: Redis | null,
  models: ServedModel[],
  tracing: ServiceTracing | null,
  regime: RegimeEngine | null,
  evidenceDir: string | null,
): Service {
  const rl = config.rateLimits;
  const prefix = rl.redis?.prefix ?? 'tg:';
  const limiter = rl.enabled ? new SharedLimiter({ redis, prefix: `${prefix}rl:`, globalPolicies: ['global'], insuranceDivisor: rl.redis?.insuranceDivisor ?? 1 }) : null;
  const authFailures = rl.enabled ? new AuthFailureLimiter({ redis, prefix: `${prefix}authfail`, ...rl.authFailures }) : null;
  const stats = new ServiceStats();
  const state = { started: false, draining: false };
  const gate = new AccessGate({ keys, limiter, authFailures, rateLimits: rl, stats, state });
  const byName = new Map(models.map((m) => [m.name, m]));
  const ctx: ServiceContext = {
    config,
    stats,
    models,
    keys,
    limiter,
    authFailures,
    gate,
    state,
    modelOf: (name) => (name === undefined ? models[0]! : (byName.get(name) ?? null)),
    auditLogFor: (m) => (m ?? models[0]!).guardian.auditLog,
    metrics: new ServiceMetrics(config, models, stats, limiter),
    latest: new LatestForecasts(config.dashboard.instruments),
  };
  const app = buildApp(config);
  registerParsers(app, config);
  const sweeper = setInterval(() => authFailures?.sweep(), 10_000).unref();

  registerHooks(app, ctx);
  app.setErrorHandler((err, request, reply) => handleError(err as Error, request, reply, ctx));
  app.setNotFoundHandler((request, reply) => sendError(reply, request, ErrorCode.NotFound, 'no such endpoint'));
  registerHealth(app, ctx);
  registerForecast(app, ctx);
  registerOutcomes(app, ctx);
  registerAdmin(app, ctx);
  if (config.metrics.enabled) registerMetricsRoute(app, ctx);
  if (config.dashboard.enabled) registerDashboard(app, ctx);
  if (regime !== null) {
    registerRegime(app, ctx, regime);
    registerRegimeMetrics(ctx.metrics.registry, regime);
  }

  let draining: Promise<void> | null = null;
  let metricsListener: MetricsListener | null = null;
  const service: Service = {
    app,
    config,
    context: ctx,
    readiness: () => readiness(ctx),
    get metricsUrl() {
      return metricsListener?.url ?? null;
    },
    async listen() {
      const detail = { profile: config.profile, models: models.map((m) => m.name).join(',') };
      let address: string;
      try {
        if (config.metrics.enabled && config.metrics.port !== null) metricsListener = await startMetricsListener(ctx);
        const listening = await app.listen({ host: config.host, port: config.port });
        // Fastify names the scheme from its own https option; the TLS server is ours (serverFactory).
        address = config.tls === null ? listening : listening.replace(/^http:/, 'https:');
        await warmUp(models);
      } catch (err) {
        const e = err as Error & { code?: string };
        runEvent(evidenceDir, { event: 'serve-start', decision: 'failed', detail: { ...detail, code: e.code ?? null, error: e.message.slice(0, 2000) } });
        throw err;
      }
      state.started = true;
      const failed = runEvent(evidenceDir, { event: 'serve-start', decision: 'started', detail: { ...detail, address } });
      if (failed !== null) app.log.error({ err: failed }, 'the run audit could not record the start');
      return address;
    },
    drain(reason = 'drain') {
      draining ??= (async () => {
        app.log.info({ reason }, 'draining');
        state.draining = true;
        // Requests already admitted finish (Fastify's close waits for them and refuses new ones).
        // Their responses carry Connection: close (onSend), and connections left idle are closed
        // as they appear: a client's keep-alive socket would otherwise hold the close open.
        const closing = app.close();
        const idle = setInterval(() => app.server.closeIdleConnections(), 25);
        try {
          await closing;
        } finally {
          clearInterval(idle);
        }
        clearInterval(sweeper);
        // Every guardian waits for its calls, writes their records, flushes and closes its log.
        await Promise.allSettled(models.map((m) => m.guardian.close()));
        limiter?.close();
        keys.close();
        if (redis !== null) await redis.quit().catch(() => redis.disconnect());
        // Last: the final spans and scrapes of the drain itself go out.
        await tracing?.shutdown();
        await metricsListener?.close();
        const failed = runEvent(evidenceDir, { event: 'serve-stop', decision: 'stopped', detail: { reason, started: state.started } });
        if (failed !== null) app.log.error({ err: failed }, 'the run audit could not record the stop');
      })();
      return draining;
    },
  };
  return service;
}
