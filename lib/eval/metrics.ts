/**
 * Scores accumulated over a series' windows: weighted quantile loss (a CRPS approximation over
 * the levels), MASE of the median, coverage of the outer interval.
 */
export class ScoreAccumulator {
  readonly levels: number[];
  readonly medianIndex: number;
  /** Mean absolute one-step change in the training part: MASE's scale. */
  readonly maseScale: number;
  #pinball: number[];
  #absActual = 0;
  #absError = 0;
  #covered = 0;
  #points = 0;

  constructor(levels: number[], medianIndex: number, maseScale: number) {
    this.levels = levels;
    this.medianIndex = medianIndex;
    this.maseScale = maseScale;
    this.#pinball = levels.map(() => 0);
  }

  /** quantiles: [horizon, levels]; actual: [horizon]; NaN actuals are skipped. */
  add(quantiles: ArrayLike<number>, actual: ArrayLike<number>): void {
    const K = this.levels.length;
    for (let h = 0; h < actual.length; h++) {
      const y = actual[h]!;
      if (!Number.isFinite(y)) continue;
      for (let k = 0; k < K; k++) {
        const q = quantiles[h * K + k]!;
        const tau = this.levels[k]!;
        this.#pinball[k]! += y >= q ? tau * (y - q) : (1 - tau) * (q - y);
      }
      this.#absActual += Math.abs(y);
      this.#absError += Math.abs(y - quantiles[h * K + this.medianIndex]!);
      if (y >= quantiles[h * K]! && y <= quantiles[h * K + K - 1]!) this.#covered++;
      this.#points++;
    }
  }

  get points(): number {
    return this.#points;
  }

  /** mean over levels of 2 * sum(pinball) / sum(|y|). */
  get wql(): number {
    return this.#pinball.reduce((s, p) => s + (2 * p) / this.#absActual, 0) / this.levels.length;
  }

  get mase(): number {
    return this.#absError / this.#points / this.maseScale;
  }

  /** Share of actuals inside [first level, last level] (the 10-90% interval for TiRex's levels). */
  get coverage(): number {
    return this.#covered / this.#points;
  }
}

/** Mean |x[t] - x[t-1]| over finite pairs of x[0 .. end). */
export function naiveScale(x: ArrayLike<number>, end: number): number {
  let sum = 0;
  let n = 0;
  for (let t = 1; t < end; t++) {
    const d = Math.abs(x[t]! - x[t - 1]!);
    if (Number.isFinite(d)) {
      sum += d;
      n++;
    }
  }
  return n > 0 && sum > 0 ? sum / n : 1;
}

export function geometricMean(values: number[]): number {
  const finite = values.filter((v) => v > 0 && Number.isFinite(v));
  if (finite.length === 0) return NaN;
  return Math.exp(finite.reduce((s, v) => s + Math.log(v), 0) / finite.length);
}
