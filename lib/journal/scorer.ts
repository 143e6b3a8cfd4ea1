/**
 * The scoring core: forecasts (their fields, however they were read) joined to an instrument's
 * outcomes and scored, the model's quantiles and the naive forecast of the same origin side by
 * side, into groups of (instrument, model, source, UTC day). No I/O here: score.ts reads the
 * journal and feeds it; the benchmark feeds it from memory too (BENCHMARKS.md, journal).
 */
import { normalQuantile } from '../eval/forecasters';
import { codedError, ErrorCode } from '../errors';
import { decodeBase64Into, naiveQuantilesInto, type ForecastSource } from './entries';
import type { ForecastFields } from './fast-entry';
import { GroupScore } from './score-book';

/** An instrument's outcomes, sorted by time (one per time: the last recorded). */
export interface OutcomeSeries {
  times: Float64Array;
  values: Float64Array;
  /** Mean absolute change between consecutive outcomes (MASE's scale); NaN when it is 0. */
  scale: number;
}

export interface Group {
  instrument: string;
  modelHash: string | null;
  source: ForecastSource;
  day: string;
  dayNo: number;
  levels: readonly number[];
  score: GroupScore;
}

export interface ForecastFilter {
  from: number | null;
  to: number | null;
  /** A sha256 prefix, lowercase. */
  model: string | null;
  instruments: ReadonlySet<string> | null;
  sources: ReadonlySet<string> | null;
  onForecast: ((entry: Readonly<ForecastFields>) => void) | null;
}

function msOf(t: number | string | undefined, what: string): number | null {
  if (t === undefined) return null;
  const ms = typeof t === 'number' ? t : Date.parse(t);
  if (!Number.isFinite(ms)) throw codedError(ErrorCode.InvalidArgument, `journal score: ${what} is not a time: ${String(t)}`);
  return ms;
}

/** The filter of a query, checked: TG_INVALID_ARGUMENT for a bad time or model prefix. */
export function forecastFilter(q: {
  from?: number | string;
  to?: number | string;
  model?: string;
  instruments?: readonly string[];
  sources?: readonly string[];
  onForecast?: (entry: Readonly<ForecastFields>) => void;
}): ForecastFilter {
  const model = q.model?.toLowerCase() ?? null;
  if (model !== null && !/^[0-9a-f]{8,64}$/.test(model)) throw codedError(ErrorCode.InvalidArgument, 'journal score: model must be 8 to 64 hex characters of a sha256');
  return {
    from: msOf(q.from, 'from'),
    to: msOf(q.to, 'to'),
    model,
    instruments: q.instruments ? new Set(q.instruments) : null,
    sources: q.sources ? new Set(q.sources) : null,
    onForecast: q.onForecast ?? null,
  };
}

/** Index of the first time > t (times ascending). */
function firstAfter(times: Float64Array, t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class ForecastScorer {
  readonly tally = { forecasts: 0, scored: 0, pending: 0, unscorable: 0 };
  readonly groups = new Map<string, Group>();
  readonly #series: ReadonlyMap<string, OutcomeSeries>;
  readonly #filter: ForecastFilter;
  // Levels arrays come from a cache (fast-entry.ts): the same array object for the same levels.
  readonly #levels = new Map<readonly number[], { z: number[]; key: string }>();
  readonly #dayNames = new Map<number, string>();
  /** The group each instrument's last forecast went to: the next one usually goes there too. */
  readonly #lastGroup = new Map<string, Group>();
  // Reused for every forecast: its quantiles decoded, and the naive forecast's.
  #bytes = new Uint8Array(4096);
  #q = new Float32Array(this.#bytes.buffer);
  #naive = new Float64Array(512);

  constructor(series: ReadonlyMap<string, OutcomeSeries>, filter: ForecastFilter) {
    this.#series = series;
    this.#filter = filter;
  }

  /** One forecast: filtered, then scored, pending (an outcome missing) or unscorable. */
  add(e: ForecastFields): void {
    const f = this.#filter;
    const { instrument, origin, modelHash, horizon, levels } = e;
    if (f.instruments !== null && !f.instruments.has(instrument)) return;
    if ((f.from !== null && !(origin >= f.from)) || (f.to !== null && !(origin < f.to))) return;
    if (f.model !== null && !(modelHash !== null && modelHash.startsWith(f.model))) return;
    const source = e.source as ForecastSource;
    if (f.sources !== null && !f.sources.has(source)) return;
    this.tally.forecasts++;
    f.onForecast?.(e);
    const out = this.#series.get(instrument);
    const start = out ? firstAfter(out.times, origin) : 0;
    if (!out || start + horizon > out.times.length) {
      this.tally.pending++;
      return;
    }
    const K = levels.length;
    const n = Number.isSafeInteger(horizon) && horizon > 0 ? horizon * K : 0;
    if (n * 4 > this.#bytes.length) {
      this.#bytes = new Uint8Array(n * 4);
      this.#q = new Float32Array(this.#bytes.buffer);
    }
    if (n > this.#naive.length) this.#naive = new Float64Array(n);
    // Decoded into the reused bytes: no allocation.
    if (n === 0 || decodeBase64Into(e.q, this.#bytes) !== n * 4 || !Number.isFinite(e.naiveLast) || !Number.isFinite(e.naiveSigma) || !Number.isFinite(out.scale)) {
      this.tally.unscorable++;
      return;
    }
    let lv = this.#levels.get(levels);
    if (!lv) this.#levels.set(levels, (lv = { z: levels.map(normalQuantile), key: levels.join(',') }));
    const naive = naiveQuantilesInto(this.#naive, e.naiveLast, e.naiveSigma, horizon, lv.z);
    const g = this.#groupOf(instrument, modelHash, source, Math.floor(origin / 86_400_000), levels, lv.key);
    const q = this.#q;
    for (let h = 0; h < horizon; h++) {
      const y = out.values[start + h]!;
      g.score.model.add(q, h * K, y, out.scale);
      g.score.naive.add(naive, h * K, y, out.scale);
    }
    g.score.forecasts++;
    g.score.origins.add(origin);
    this.tally.scored++;
  }

  #groupOf(instrument: string, modelHash: string | null, source: ForecastSource, dayNo: number, levels: readonly number[], levelKey: string): Group {
    const last = this.#lastGroup.get(instrument);
    if (last !== undefined && last.modelHash === modelHash && last.source === source && last.dayNo === dayNo && last.levels === levels) return last;
    const key = `${instrument}\u0000${modelHash}\u0000${source}\u0000${dayNo}\u0000${levelKey}`;
    let g = this.groups.get(key);
    if (!g) {
      let day = this.#dayNames.get(dayNo);
      if (day === undefined) this.#dayNames.set(dayNo, (day = new Date(dayNo * 86_400_000).toISOString().slice(0, 10)));
      this.groups.set(key, (g = { instrument, modelHash, source, day, dayNo, levels, score: new GroupScore(levels) }));
      g.score.days.add(day);
    }
    this.#lastGroup.set(instrument, g);
    return g;
  }
}
