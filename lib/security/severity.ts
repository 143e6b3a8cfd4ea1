/**
 * Severity of an advisory, one scale for every source: npm's words (low, moderate, high,
 * critical), the Security WG core entries' words (medium is npm's moderate), GitHub's OSV
 * `database_specific.severity`, and CVSS v3 base scores (computed from the vector when a source
 * gives only the vector). An advisory whose severity cannot be told is 'unknown', and unknown
 * counts as critical against the threshold: the preflight fails closed.
 */
export const SEVERITIES = ['low', 'moderate', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number] | 'unknown';

const RANK: Readonly<Record<Severity, number>> = { low: 0, moderate: 1, high: 2, critical: 3, unknown: 3 };

/** True when `s` is at or above `threshold` (unknown: always). */
export function meetsThreshold(s: Severity, threshold: (typeof SEVERITIES)[number]): boolean {
  return RANK[s] >= RANK[threshold];
}

/** npm's bands of a CVSS v3 base score (0 is "none": reported as low, it still is a finding). */
export function severityOfScore(score: number): Severity {
  if (!Number.isFinite(score) || score < 0 || score > 10) return 'unknown';
  if (score >= 9) return 'critical';
  if (score >= 7) return 'high';
  if (score >= 4) return 'moderate';
  return 'low';
}

/** A severity word from any source, or 'unknown'. */
export function severityOfWord(word: unknown): Severity {
  if (typeof word !== 'string') return 'unknown';
  switch (word.trim().toLowerCase()) {
    case 'low':
      return 'low';
    case 'moderate':
    case 'medium':
      return 'moderate';
    case 'high':
      return 'high';
    case 'critical':
      return 'critical';
    default:
      return 'unknown';
  }
}

const WEIGHTS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  AV: { N: 0.85, A: 0.62, L: 0.55, P: 0.2 },
  AC: { L: 0.77, H: 0.44 },
  UI: { N: 0.85, R: 0.62 },
  C: { H: 0.56, L: 0.22, N: 0 },
  I: { H: 0.56, L: 0.22, N: 0 },
  A: { H: 0.56, L: 0.22, N: 0 },
};
const PR_UNCHANGED: Readonly<Record<string, number>> = { N: 0.85, L: 0.62, H: 0.27 };
const PR_CHANGED: Readonly<Record<string, number>> = { N: 0.85, L: 0.68, H: 0.5 };

/** CVSS v3.1's Roundup: the smallest one-decimal number >= x, computed on integers so that
 * floating point does not push 4.0 to 4.1. */
function roundUp(x: number): number {
  const i = Math.round(x * 100_000);
  return i % 10_000 === 0 ? i / 100_000 : (Math.floor(i / 10_000) + 1) / 10;
}

/**
 * The CVSS v3.0/v3.1 base score of a vector ('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H'),
 * by the specification's formula (first.org, CVSS v3.1, section 7.1); null when the vector is
 * not a complete v3 base vector. Temporal and environmental metrics in the vector are ignored.
 */
export function cvss3BaseScore(vector: string): number | null {
  const parts = vector.trim().split('/');
  if (!/^CVSS:3\.[01]$/.test(parts[0] ?? '')) return null;
  const m = new Map<string, string>();
  for (const p of parts.slice(1)) {
    const [k, v, extra] = p.split(':');
    if (k === undefined || v === undefined || extra !== undefined || m.has(k)) return null;
    m.set(k, v);
  }
  const w = (k: string): number | undefined => WEIGHTS[k]?.[m.get(k) ?? ''];
  const scope = m.get('S');
  const pr = (scope === 'C' ? PR_CHANGED : PR_UNCHANGED)[m.get('PR') ?? ''];
  const [av, ac, ui, c, i, a] = [w('AV'), w('AC'), w('UI'), w('C'), w('I'), w('A')];
  if ((scope !== 'U' && scope !== 'C') || pr === undefined || av === undefined || ac === undefined || ui === undefined) return null;
  if (c === undefined || i === undefined || a === undefined) return null;
  const iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const impact = scope === 'U' ? 6.42 * iss : 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15;
  const exploitability = 8.22 * av * ac * pr * ui;
  if (impact <= 0) return 0;
  return roundUp(Math.min((scope === 'U' ? 1 : 1.08) * (impact + exploitability), 10));
}
