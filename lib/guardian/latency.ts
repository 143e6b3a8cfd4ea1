/**
 * A latency histogram with fixed bounds: one compare-and-add per observation on the hot path
 * (no allocation), read whole at scrape time (Prometheus buckets) or as estimated percentiles
 * (the dashboard, GET /v1/stats).
 */

/** Upper bounds in seconds, Prometheus style (`le`): from 25 µs (a shield pass) to 10 s. */
export const LATENCY_BOUNDS_S: readonly number[] = Object.freeze([
  0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]);
const BOUNDS_US = Float64Array.from(LATENCY_BOUNDS_S, (s) => s * 1e6);

export interface LatencySummary {
  count: number;
  sumUs: number;
  /** Estimated from the buckets (linear within a bucket, as Prometheus' histogram_quantile);
   * null before the first observation. */
  p50Us: number | null;
  p90Us: number | null;
  p99Us: number | null;
}

export class LatencyHistogram {
  /** Per bucket, not cumulative; the last one is +Inf. */
  readonly counts = new Float64Array(BOUNDS_US.length + 1);
  count = 0;
  sumUs = 0;

  observe(us: number): void {
    // NaN or negative (a clock oddity) is counted in the first bucket, never lost.
    let i = 0;
    while (i < BOUNDS_US.length && us > BOUNDS_US[i]!) i++;
    this.counts[i]!++;
    this.count++;
    if (us > 0) this.sumUs += us;
  }

  /** Cumulative counts per bound (the last is +Inf, equal to `count`). */
  cumulative(): number[] {
    const out = new Array<number>(this.counts.length);
    let acc = 0;
    for (let i = 0; i < this.counts.length; i++) out[i] = acc += this.counts[i]!;
    return out;
  }

  /** The q-quantile in µs, linear within its bucket; the top finite bound when it falls in +Inf. */
  quantileUs(q: number): number | null {
    if (this.count === 0) return null;
    const rank = q * this.count;
    let acc = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (acc + c >= rank && c > 0) {
        if (i === BOUNDS_US.length) return BOUNDS_US[i - 1]!;
        const lo = i === 0 ? 0 : BOUNDS_US[i - 1]!;
        return lo + (BOUNDS_US[i]! - lo) * ((rank - acc) / c);
      }
      acc += c;
    }
    return BOUNDS_US[BOUNDS_US.length - 1]!;
  }

  summary(): LatencySummary {
    return { count: this.count, sumUs: this.sumUs, p50Us: this.quantileUs(0.5), p90Us: this.quantileUs(0.9), p99Us: this.quantileUs(0.99) };
  }
}
