/**
 * POST /v1/outcomes (`forecast` or `admin` scope: the caller that forecasts records what
 * happened): `{ "outcomes": [{ "instrument", "time", "value" }, ...] }`, realized values journaled
 * for every model served (each model's forecasts are scored against the same facts; README
 * "Proving a model before it goes live"). Every outcome is checked before any is journaled: one
 * bad outcome refuses the request (400, its index named) and nothing of it is kept. 404 when the
 * service has no journal (journal.dir); 503 when a journal's queue is full (send them again: the
 * same value for the same time is the same fact).
 */
import type { FastifyInstance } from 'fastify';

import { ErrorCode } from '../../errors';
import { checkOutcome } from '../../journal/entries';
import type { ServiceContext } from '../context';
import { sendError } from '../http-errors';
import { describeProblem, INSTRUMENT_RULE, stringProblem } from '../strings';

const MAX_OUTCOMES = 10_000;

const BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['outcomes'],
  properties: {
    outcomes: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_OUTCOMES,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['instrument', 'time', 'value'],
        properties: { instrument: { type: 'string' }, time: { type: 'integer', minimum: 0, maximum: 8.64e15 }, value: { type: 'number' } },
      },
    },
  },
};

interface Outcome {
  instrument: string;
  time: number;
  value: number;
}

export function registerOutcomes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post<{ Body: { outcomes: Outcome[] } }>(
    '/v1/outcomes',
    { schema: { body: BODY }, config: { access: { scopes: ['forecast', 'admin'] as const, limit: 'api' as const } } },
    async (request, reply) => {
      const journaled = ctx.models.filter((m) => m.guardian.qualityStats() !== null);
      if (journaled.length === 0) return sendError(reply, request, ErrorCode.NotFound, 'this service keeps no forecast journal (journal.dir)');
      const outcomes = request.body.outcomes;
      for (const [i, o] of outcomes.entries()) {
        const problem = stringProblem(o.instrument, INSTRUMENT_RULE);
        if (problem !== null) return sendError(reply, request, ErrorCode.InvalidArgument, describeProblem(`outcomes[${i}].instrument`, problem, INSTRUMENT_RULE), `outcomes[${i}].instrument`);
        try {
          checkOutcome(o.instrument, o.time, o.value);
        } catch (err) {
          return sendError(reply, request, ErrorCode.InvalidArgument, `outcomes[${i}]: ${(err as Error).message}`, `outcomes[${i}]`);
        }
      }
      let refused = 0;
      for (const m of journaled) {
        for (const o of outcomes) if (!m.guardian.recordOutcome(o.instrument, o.time, o.value).accepted) refused++;
      }
      if (refused > 0) {
        // The journal's queue was full (counted there and written as a gap): a retry is safe, a
        // value recorded twice for the same time is the same fact.
        reply.header('retry-after', '1');
        return sendError(reply, request, ErrorCode.Overloaded, `the journal refused ${refused} outcome(s) (queue full); send them again`);
      }
      return { recorded: outcomes.length, models: journaled.map((m) => m.name) };
    },
  );
}
