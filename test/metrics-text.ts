/** Reads Prometheus' text exposition format back (what a scrape returns), for exact assertions. */
export interface Exposition {
  /** The value of one series; undefined when absent. */
  value(name: string, labels?: Record<string, string>): number | undefined;
  /** Every series of a metric name, with their labels. */
  series(name: string): { labels: Record<string, string>; value: number }[];
  types: Map<string, string>;
}

function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) out[m[1]!] = m[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
  return out;
}

const key = (labels: Record<string, string>) =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(',');

export function parseExposition(text: string): Exposition {
  const byName = new Map<string, { labels: Record<string, string>; value: number }[]>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`not an exposition line: ${line}`);
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    const list = byName.get(m[1]!) ?? [];
    list.push({ labels: m[2] ? parseLabels(m[2]) : {}, value });
    byName.set(m[1]!, list);
  }
  return {
    types,
    series: (name) => byName.get(name) ?? [],
    value(name, labels = {}) {
      const k = key(labels);
      return byName.get(name)?.find((s) => key(s.labels) === k)?.value;
    },
  };
}
