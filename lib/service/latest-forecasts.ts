/**
 * The latest forecast of each instrument the operator chose to show on the dashboard
 * (`dashboard.instruments`): its first series' context tail and quantiles, for the fan chart.
 * Bounded: one entry per listed instrument, a fixed tail; nothing for any other instrument.
 */
import type { ForecastRequest, ForecastResult } from '../guardian/types';

const TAIL = 96;

export interface LatestForecast {
  instrument: string;
  model: string;
  at: string;
  status: ForecastResult['status'];
  fallback: string | null;
  levels: readonly number[];
  horizon: number;
  /** The context's last points (null: a gap). */
  context: (number | null)[];
  /** [horizon][levels] of the first series (null: nothing was served). */
  quantiles: number[][] | null;
}

const finite = (v: number) => (Number.isFinite(v) ? v : null);

/** The first series' last `n` values, whatever form the request's context took. */
function firstSeriesTail(context: ForecastRequest['context'], batch: number | undefined, n: number): (number | null)[] {
  const c = context as unknown;
  if (Array.isArray(c) && Array.isArray(c[0])) return (c[0] as (number | null)[]).slice(-n).map((v) => (v === null ? null : finite(v)));
  const flat = c as ArrayLike<number | null>;
  const T = Math.floor(flat.length / Math.max(batch ?? 1, 1));
  const out: (number | null)[] = [];
  for (let i = Math.max(0, T - n); i < T; i++) {
    const v = flat[i];
    out.push(v === null || v === undefined ? null : finite(v));
  }
  return out;
}

export class LatestForecasts {
  readonly #shown: ReadonlySet<string>;
  readonly #latest = new Map<string, LatestForecast>();

  constructor(instruments: readonly string[]) {
    this.#shown = new Set(instruments);
  }

  get instruments(): readonly string[] {
    return [...this.#shown];
  }

  /** Called after each served forecast; keeps it when its instrument is shown. */
  offer(model: string, request: Omit<ForecastRequest, 'userId'>, result: ForecastResult): void {
    const instrument = request.instrument;
    if (instrument === undefined || !this.#shown.has(instrument)) return;
    const L = result.levels.length;
    const q = result.quantiles;
    let quantiles: number[][] | null = null;
    if (q !== null && result.series[0]?.status !== 'blocked') {
      quantiles = [];
      for (let h = 0; h < result.horizon; h++) quantiles.push(Array.from(q.subarray(h * L, (h + 1) * L), finite) as number[]);
    }
    this.#latest.set(instrument, {
      instrument,
      model,
      at: new Date().toISOString(),
      status: result.series[0]?.status ?? result.status,
      fallback: result.series[0]?.fallback ?? null,
      levels: result.levels,
      horizon: result.horizon,
      context: firstSeriesTail(request.context, request.batch, TAIL),
      quantiles,
    });
  }

  /** Every shown instrument, in the configured order (null: no forecast yet). */
  list(): { instrument: string; forecast: LatestForecast | null }[] {
    return [...this.#shown].map((instrument) => ({ instrument, forecast: this.#latest.get(instrument) ?? null }));
  }
}
