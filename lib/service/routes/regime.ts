/**
 * The market regime engine over HTTP (when `regime.enabled`):
 *  - POST /v1/regime/ticks (`ticks` or `admin` scope): `{ "ticks": [{ "symbol", "price",
 *    "timestampMs" }, ...] }`, at most `regime.maxTicksPerRequest`; each tick is accepted or
 *    rejected by the engine's own rules (never an error for a bad tick: it is counted), and the
 *    answer says how many of each;
 *  - GET /v1/regime/:symbol (any scope that reads: `forecast`, `metrics`, `admin`, `ticks`): the
 *    symbol's snapshot and its position-size factor.
 * Feeding ticks moves what the guardians' output shields accept, so it has a scope of its own.
 */
import type { FastifyInstance } from 'fastify';

import { ErrorCode } from '../../errors';
import type { RegimeEngine } from '../../regime';
import type { ServiceContext } from '../context';
import { sendError } from '../http-errors';
import { describeProblem, INSTRUMENT_RULE, stringProblem } from '../strings';

const FEED = { access: { scopes: ['ticks', 'admin'] as const, limit: 'api' as const } };
const READ = { access: { scopes: ['forecast', 'metrics', 'admin', 'ticks'] as const, limit: 'api' as const } };

function ticksBody(max: number): object {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['ticks'],
    properties: {
      ticks: {
        type: 'array',
        maxItems: max,
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['symbol', 'price', 'timestampMs'],
          properties: { symbol: { type: 'string', maxLength: 64 }, price: { type: 'number' }, timestampMs: { type: 'number' } },
        },
      },
    },
  };
}

export function registerRegime(app: FastifyInstance, ctx: ServiceContext, engine: RegimeEngine): void {
  app.post<{ Body: { ticks: { symbol: string; price: number; timestampMs: number }[] } }>(
    '/v1/regime/ticks',
    { config: FEED, schema: { body: ticksBody(ctx.config.regime.maxTicksPerRequest) } },
    async (request) => {
      let accepted = 0;
      let rejected = 0;
      for (const t of request.body.ticks) {
        // The engine's own symbol rule plus the service's: what a client may name as an instrument.
        const ok = stringProblem(t.symbol, INSTRUMENT_RULE) === null && engine.onTick(t.symbol, t.price, t.timestampMs);
        if (ok) accepted++;
        else rejected++;
      }
      return { accepted, rejected };
    },
  );
  app.get<{ Params: { symbol: string } }>('/v1/regime/:symbol', { config: READ }, async (request, reply) => {
    const symbol = request.params.symbol;
    const problem = stringProblem(symbol, INSTRUMENT_RULE);
    if (problem !== null) return sendError(reply, request, ErrorCode.InvalidArgument, describeProblem('symbol', problem, INSTRUMENT_RULE), 'symbol');
    const snapshot = engine.snapshot(symbol);
    return { snapshot, sizeFactor: engine.sizeFactor(snapshot) };
  });
}
