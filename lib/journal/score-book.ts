/**
 * The forecast scores of a group of journaled forecasts (an instrument, a model, a day...),
 * the model's and the naive forecast's of the same origins side by side:
 *
 * - pinball loss per level: mean over scored points of max(tau (y - q), (tau - 1)(y - q));
 * - weighted quantile loss: mean over levels of 2 * sum(pinball) / sum(|y|) (lib/eval/metrics.ts);
 * - MASE of the median: mean |y - median| / the instrument's scale (the mean absolute change
 *   between its consecutive outcomes), so model / naive is the ratio of mean absolute errors;
 * - coverage of every central band (levels k and K-1-k: 10-90%, 20-80%, ... for TiRex's levels).
 */
export interface Scores {
  /** Per level, in the order of the levels. */
  pinball: number[];
  wql: number;
  mase: number;
  /** Per central band, outermost first: `${lo * 100}-${hi * 100}` -> share of outcomes inside. */
  coverage: Record<string, number>;
}

export class ScoreAccumulator {
  readonly levels: readonly number[];
  readonly medianIndex: number;
  readonly #pinball: Float64Array;
  readonly #covered: Float64Array;
  #absActual = 0;
  #scaledError = 0;
  points = 0;

  constructor(levels: readonly number[]) {
    this.levels = levels;
    this.medianIndex = medianIndexOf(levels);
    this.#pinball = new Float64Array(levels.length);
    this.#covered = new Float64Array(Math.floor(levels.length / 2));
  }

  /** One forecast step: quantiles q[off .. off + K) against the outcome y, MASE scale `scale`. */
  add(q: ArrayLike<number>, off: number, y: number, scale: number): void {
    const K = this.levels.length;
    for (let k = 0; k < K; k++) {
      const d = y - q[off + k]!;
      const tau = this.levels[k]!;
      this.#pinball[k]! += d >= 0 ? tau * d : (tau - 1) * d;
    }
    for (let b = 0; b < this.#covered.length; b++) {
      if (y >= q[off + b]! && y <= q[off + K - 1 - b]!) this.#covered[b]!++;
    }
    this.#absActual += Math.abs(y);
    this.#scaledError += Math.abs(y - q[off + this.medianIndex]!) / scale;
    this.points++;
  }

  merge(other: ScoreAccumulator): void {
    for (let k = 0; k < this.#pinball.length; k++) this.#pinball[k]! += other.#pinball[k]!;
    for (let b = 0; b < this.#covered.length; b++) this.#covered[b]! += other.#covered[b]!;
    this.#absActual += other.#absActual;
    this.#scaledError += other.#scaledError;
    this.points += other.points;
  }

  get wql(): number {
    let s = 0;
    for (let k = 0; k < this.#pinball.length; k++) s += (2 * this.#pinball[k]!) / this.#absActual;
    return s / this.#pinball.length;
  }

  /** Share of outcomes inside the outermost band (10-90% for TiRex's levels). */
  get outerCoverage(): number {
    return this.#covered.length > 0 ? this.#covered[0]! / this.points : NaN;
  }

  scores(): Scores {
    const coverage: Record<string, number> = {};
    for (let b = 0; b < this.#covered.length; b++) coverage[bandName(this.levels[b]!, this.levels[this.levels.length - 1 - b]!)] = this.#covered[b]! / this.points;
    return {
      pinball: Array.from(this.#pinball, (p) => p / this.points),
      wql: this.wql,
      mase: this.#scaledError / this.points,
      coverage,
    };
  }
}

export function bandName(lo: number, hi: number): string {
  return `${Math.round(lo * 1000) / 10}-${Math.round(hi * 1000) / 10}`;
}

/** The median's level index: the level 0.5, else the middle one. */
export function medianIndexOf(levels: readonly number[]): number {
  const i = levels.indexOf(0.5);
  return i >= 0 ? i : Math.floor(levels.length / 2);
}

/** A group's model and naive scores, and what they were computed over. */
export class GroupScore {
  readonly model: ScoreAccumulator;
  readonly naive: ScoreAccumulator;
  /** Forecasts scored (each one's every step had its outcome). */
  forecasts = 0;
  readonly origins = new Set<number>();
  readonly days = new Set<string>();

  constructor(levels: readonly number[]) {
    this.model = new ScoreAccumulator(levels);
    this.naive = new ScoreAccumulator(levels);
  }

  merge(other: GroupScore): void {
    this.model.merge(other.model);
    this.naive.merge(other.naive);
    this.forecasts += other.forecasts;
    for (const o of other.origins) this.origins.add(o);
    for (const d of other.days) this.days.add(d);
  }

  report(): GroupReport {
    const m = this.model.scores();
    const n = this.naive.scores();
    return {
      forecasts: this.forecasts,
      origins: this.origins.size,
      days: this.days.size,
      points: this.model.points,
      model: m,
      naive: n,
      wqlRatio: m.wql / n.wql,
      maseRatio: m.mase / n.mase,
    };
  }
}

export interface GroupReport {
  forecasts: number;
  /** Distinct origin times. */
  origins: number;
  /** Distinct UTC days of the origins. */
  days: number;
  /** Forecast steps scored. */
  points: number;
  model: Scores;
  naive: Scores;
  /** model / naive. */
  wqlRatio: number;
  maseRatio: number;
}
