/**
 * A Prometheus histogram read at scrape time from histograms the guardian keeps itself
 * (lib/guardian/latency.ts), in the shape prom-client's registry formats (`get()`): prom-client's
 * own Histogram can only be fed observation by observation, and its observe() with labels costs
 * the hot path more than the guardian's one compare-and-add per bucket.
 */
import type { LatencyHistogram } from '../guardian/latency';

interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

export class SnapshotHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
    private readonly read: () => { labels: Record<string, string>; histogram: LatencyHistogram }[],
  ) {}

  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    const values: Value[] = [];
    for (const { labels, histogram } of this.read()) {
      const cumulative = histogram.cumulative();
      for (let i = 0; i < cumulative.length; i++) {
        values.push({ labels: { ...labels, le: i < this.bounds.length ? this.bounds[i]! : '+Inf' }, value: cumulative[i]!, metricName: `${this.name}_bucket` });
      }
      values.push({ labels, value: histogram.sumUs / 1e6, metricName: `${this.name}_sum` });
      values.push({ labels, value: histogram.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The counts are the guardian's statistics: a registry reset does not clear them. */
  reset(): void {}
}
