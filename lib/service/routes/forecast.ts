/**
 * POST /v1/forecast, in two forms:
 *  - JSON: `{ context, predictionLength, instrument?, originTime?, batch?, userId?, model? }` where context is
 *    one series (numbers, null for a gap), several (an array of arrays, ragged allowed) or a flat
 *    [batch, time] array with `batch`; the guardian's result back, quantiles nested by series and
 *    step (a blocked series' values are null: JSON has no NaN);
 *  - binary, for low-latency callers: `application/octet-stream` float32 little-endian context in
 *    (metadata in X-TG-* headers), float32 little-endian [batch, horizon, levels] quantiles out
 *    (metadata in X-TG-* response headers, timings in Server-Timing).
 * The caller recorded in the audit log is the API key's id; a client's `userId` goes beside it
 * (`clientUserId`). Every string is checked (strings.ts) before the guardian sees the request.
 */
import { context } from '@opentelemetry/api';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import { ErrorCode } from '../../errors';
import type { ForecastRequest, ForecastResult } from '../../guardian/types';
import { scrubMessage, sendError } from '../http-errors';
import { COUNT_RULE, describeProblem, IDENT_RULE, INSTRUMENT_RULE, stringProblem, TIME_RULE, USER_RULE, type StringRule } from '../strings';
import type { ServiceContext } from '../context';

// Bounds from the guardian's own (REQUEST_LIMITS): the schema refuses before any work is done.
const VALUES = { type: 'array', maxItems: 100_000, items: { type: ['number', 'null'] } };
const FLAT = { type: 'array', minItems: 1, maxItems: 20_480_000, items: { type: ['number', 'null'] } };
export const FORECAST_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['context', 'predictionLength'],
  properties: {
    context: { anyOf: [FLAT, { type: 'array', minItems: 1, maxItems: 10_000, items: VALUES }] },
    predictionLength: { type: 'integer', minimum: 1, maximum: 100_000 },
    batch: { type: 'integer', minimum: 1, maximum: 10_000 },
    instrument: { type: 'string' },
    originTime: { type: 'integer', minimum: 0, maximum: 8.64e15 },
    userId: { type: 'string' },
    model: { type: 'string' },
  },
};

interface JsonBody {
  context: (number | null)[] | (number | null)[][];
  predictionLength: number;
  batch?: number;
  instrument?: string;
  originTime?: number;
  userId?: string;
  model?: string;
}

/** Refuses (400, the field named, the value never echoed) and returns false when a string fails. */
function checkField(request: FastifyRequest, reply: FastifyReply, field: string, value: unknown, rule: StringRule): boolean {
  const problem = stringProblem(value, rule);
  if (problem === null) return true;
  sendError(reply, request, ErrorCode.InvalidArgument, describeProblem(field, problem, rule), field);
  return false;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** One number as JSON writes it (NaN and infinities become null, -0 becomes 0). */
function num(v: number): string {
  return Number.isFinite(v) ? String(v) : 'null';
}

/**
 * Rows of a flat array as nested JSON arrays: `groups` of `rows` of `width` numbers. Written by
 * hand: JSON.stringify of the same numbers as nested arrays took three times as long (measured:
 * 288 values, 82 µs against 24 µs here), and this is most of a JSON answer.
 */
function nestedJson(a: Float32Array, groups: number, rows: number, width: number): string {
  let s = '[';
  let at = 0;
  for (let g = 0; g < groups; g++) {
    s += g === 0 ? '[' : ',[';
    for (let r = 0; r < rows; r++) {
      if (width === 1) {
        s += r === 0 ? num(a[at++]!) : `,${num(a[at++]!)}`;
        continue;
      }
      s += r === 0 ? '[' : ',[';
      for (let k = 0; k < width; k++) s += k === 0 ? num(a[at++]!) : `,${num(a[at++]!)}`;
      s += ']';
    }
    s += ']';
  }
  return `${s}]`;
}

/** The JSON answer: the guardian's result, quantiles nested by series and step ([b][h][q]), the
 * mean by series ([b][h]); a blocked series' values are null (JSON has no NaN). */
export function forecastJson(r: ForecastResult): string {
  const meta = JSON.stringify({
    status: r.status,
    reason: r.reason,
    model: r.model,
    batch: r.batch,
    horizon: r.horizon,
    levels: r.levels,
    threat: r.threat,
    series: r.series,
    shields: r.shields,
    fallback: r.fallback,
    auditId: r.auditId,
    timings: r.timings,
    regime: r.regime,
    warnings: r.warnings,
  });
  const q = r.quantiles === null ? 'null' : nestedJson(r.quantiles, r.batch, r.horizon, r.levels.length);
  const m = r.mean === null ? 'null' : nestedJson(r.mean, r.batch, r.horizon, 1);
  return `${meta.slice(0, -1)},"quantiles":${q},"mean":${m}}`;
}

function setBinaryHeaders(reply: FastifyReply, r: ForecastResult): void {
  reply.header('x-tg-status', r.status);
  if (r.reason !== null) reply.header('x-tg-reason', encodeURIComponent(r.reason.slice(0, 300)));
  reply.header('x-tg-batch', String(r.batch));
  reply.header('x-tg-horizon', String(r.horizon));
  reply.header('x-tg-levels', r.levels.join(','));
  reply.header('x-tg-threat-score', String(r.threat.score));
  reply.header('x-tg-threat-decision', r.threat.decision);
  reply.header('x-tg-series-status', r.series.map((s) => s.status).join(','));
  if (r.fallback !== null) reply.header('x-tg-fallback', r.fallback.method);
  if (r.regime !== null) reply.header('x-tg-regime', `${r.regime.trend};${r.regime.volatility};${r.regime.structure}${r.regime.neutral ? ';neutral' : ''}`);
  if (r.auditId !== null) reply.header('x-tg-audit-id', r.auditId);
  reply.header('x-tg-model-sha256', r.model.sha256);
  reply.header('server-timing', `total;dur=${r.timings.totalUs / 1000}, model;dur=${r.timings.modelUs / 1000}, shields;dur=${r.timings.shieldsUs / 1000}`);
}

/** The binary form's request: the body as float32 (copied only when it is not 4-byte aligned). */
function binaryRequest(request: FastifyRequest, reply: FastifyReply, body: Buffer): (Omit<ForecastRequest, 'userId'> & { model?: string }) | null {
  const h = (n: string) => header(request, n);
  const fields: [string, string | undefined, StringRule][] = [
    ['x-tg-prediction-length', h('x-tg-prediction-length'), COUNT_RULE],
    ['x-tg-batch', h('x-tg-batch'), COUNT_RULE],
    ['x-tg-instrument', h('x-tg-instrument'), INSTRUMENT_RULE],
    ['x-tg-user-id', h('x-tg-user-id'), USER_RULE],
    ['x-tg-model', h('x-tg-model'), IDENT_RULE],
    ['x-tg-origin-time', h('x-tg-origin-time'), TIME_RULE],
  ];
  if (fields[0]![1] === undefined) {
    sendError(reply, request, ErrorCode.InvalidArgument, 'x-tg-prediction-length is required', 'x-tg-prediction-length');
    return null;
  }
  for (const [name, value, rule] of fields) if (value !== undefined && !checkField(request, reply, name, value, rule)) return null;
  if (body.byteLength === 0 || body.byteLength % 4 !== 0) {
    sendError(reply, request, ErrorCode.InvalidArgument, 'the body must be float32 values: a non-zero multiple of 4 bytes', 'body');
    return null;
  }
  const context =
    body.byteOffset % 4 === 0 ? new Float32Array(body.buffer, body.byteOffset, body.byteLength / 4) : new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  const out: Omit<ForecastRequest, 'userId'> & { model?: string } = { context, predictionLength: Number(fields[0]![1]) };
  if (fields[1]![1] !== undefined) out.batch = Number(fields[1]![1]);
  if (fields[2]![1] !== undefined) out.instrument = fields[2]![1];
  if (fields[3]![1] !== undefined) out.clientUserId = fields[3]![1];
  if (fields[4]![1] !== undefined) out.model = fields[4]![1];
  if (fields[5]![1] !== undefined) out.originTime = Number(fields[5]![1]);
  return out;
}

function jsonRequest(request: FastifyRequest, reply: FastifyReply, body: JsonBody): (Omit<ForecastRequest, 'userId'> & { model?: string }) | null {
  if (body.instrument !== undefined && !checkField(request, reply, 'instrument', body.instrument, INSTRUMENT_RULE)) return null;
  if (body.userId !== undefined && !checkField(request, reply, 'userId', body.userId, USER_RULE)) return null;
  if (body.model !== undefined && !checkField(request, reply, 'model', body.model, IDENT_RULE)) return null;
  const out: Omit<ForecastRequest, 'userId'> & { model?: string } = { context: body.context as ForecastRequest['context'], predictionLength: body.predictionLength };
  if (body.batch !== undefined) out.batch = body.batch;
  if (body.instrument !== undefined) out.instrument = body.instrument;
  if (body.originTime !== undefined) out.originTime = body.originTime;
  if (body.userId !== undefined) out.clientUserId = body.userId;
  if (body.model !== undefined) out.model = body.model;
  return out;
}

export function registerForecast(app: FastifyInstance, ctx: ServiceContext): void {
  app.post('/v1/forecast', { schema: { body: { content: { 'application/json': { schema: FORECAST_BODY }, 'application/octet-stream': { schema: {} } } } }, config: { access: { scopes: ['forecast'], limit: 'forecast' }, audited: true } }, async (request, reply) => {
    const body = request.body;
    const binary = Buffer.isBuffer(body);
    // No body (no content type at all) is not checked by the per-type schemas: refuse it here.
    if (!binary && (body === null || typeof body !== 'object' || Array.isArray(body))) {
      return sendError(reply, request, ErrorCode.UnsupportedMediaType, 'send application/json or application/octet-stream');
    }
    const req = binary ? binaryRequest(request, reply, body) : jsonRequest(request, reply, body as JsonBody);
    if (req === null) return reply;
    const { model: modelName, ...rest } = req;
    const served = ctx.modelOf(modelName);
    if (served === null) return sendError(reply, request, ErrorCode.NotFound, 'no such model (GET /v1/models lists them)', 'model');
    request.tg.model = served;
    // The answer's size, bounded before any work: a small JSON request for many short series and
    // a long horizon would otherwise make the service build and stringify millions of numbers.
    const series = rest.batch ?? (Array.isArray(rest.context) && Array.isArray(rest.context[0]) ? rest.context.length : 1);
    const values = series * rest.predictionLength * served.guardian.session.manifest.quantileLevels.length;
    const cap = binary ? ctx.config.limits.maxResultValues : ctx.config.limits.jsonResultValues;
    if (values > cap) {
      const hint = binary ? '' : ' (the binary form allows more)';
      return sendError(reply, request, ErrorCode.InvalidArgument, `the answer would hold ${values} values (series x steps x levels), over this service's ${cap}${hint}`);
    }
    if (ctx.stats.inFlight >= ctx.config.limits.maxInFlight) {
      reply.header('retry-after', '1');
      ctx.stats.refused(ErrorCode.Overloaded);
      return sendError(reply, request, ErrorCode.Overloaded, 'too many forecasts in progress; retry shortly');
    }
    ctx.stats.inFlight++;
    if (ctx.stats.inFlight > ctx.stats.peakInFlight) ctx.stats.peakInFlight = ctx.stats.inFlight;
    let result: ForecastResult;
    // From here the guardian records the call itself, whatever happens to it.
    request.tg.audited = true;
    try {
      const call = () => served.guardian.safeForecastAsync({ ...rest, userId: request.tg.key!.id }, { timeoutMs: ctx.config.limits.forecastTimeoutMs });
      // The guardian's span is a child of the request's (it reads the active context when called).
      result = await (request.tg.trace === null ? call() : context.with(request.tg.trace.context, call));
    } catch (err) {
      const e = err as { code?: unknown; message?: string; option?: unknown; auditId?: unknown };
      if (typeof e.code !== 'string' || !e.code.startsWith('TG_')) throw err;
      if (e.code === ErrorCode.GuardianClosed) request.tg.audited = false; // its log is closed: nothing was recorded
      if (typeof e.auditId === 'string') reply.header('x-tg-audit-id', e.auditId);
      return sendError(reply, request, e.code, scrubMessage(e.message ?? ''), typeof e.option === 'string' ? e.option : undefined);
    } finally {
      ctx.stats.inFlight--;
    }
    ctx.latest.offer(served.name, rest, result);
    if (binary) {
      setBinaryHeaders(reply, result);
      const q = result.quantiles;
      // Result arrays are never reused by later calls: the bytes go out without a copy.
      const out = q === null ? Buffer.alloc(0) : Buffer.from(q.buffer, q.byteOffset, q.byteLength);
      return reply.type('application/octet-stream').send(out);
    }
    return reply.type('application/json; charset=utf-8').send(forecastJson(result));
  });
}
