// The input shield's batch form (lib/guardian/input-shield.ts, issue 12), value by value: the
// statistics of each series where the kernel put them, the worst series, a block by a rule from
// outside the score, the bounds' defaults, and a batch scored exactly as its series one by one.
// Written against the mutants StrykerJS left alive (npm run test:mutation -- input-shield).
import { describe, expect, it } from 'vitest';

import { ASSESS_STRIDE, AssessField } from '../lib/kernels/assess';
import { BatchAssessment, InputShield, seriesStatsOf } from '../lib/guardian/input-shield';
import { INPUT_THRESHOLDS } from '../lib/guardian/thresholds';

const FIELDS = {
  length: AssessField.count,
  nan: AssessField.nanCount,
  posInf: AssessField.posInfCount,
  negInf: AssessField.negInfCount,
  outOfBounds: AssessField.outOfBoundsCount,
  finite: AssessField.finiteCount,
  min: AssessField.min,
  max: AssessField.max,
  mean: AssessField.mean,
  std: AssessField.std,
  longestNaNRun: AssessField.longestNaNRun,
  alternatingRun: AssessField.alternatingRun,
  longestFlatRun: AssessField.longestFlatRun,
  spike: AssessField.spike,
  levelShift: AssessField.levelShift,
  last: AssessField.last,
  sigma: AssessField.sigma,
} as const;

/** A random walk with a little noise: a series every level passes. */
function walk(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let v = 100 + seed;
  for (let i = 0; i < n; i++) {
    v += Math.sin(i * 0.7 + seed) * 0.5;
    x[i] = v;
  }
  return x;
}

describe('seriesStatsOf: each field of series b read where the kernel wrote it', () => {
  it.each([0, 1, 2])('series %i of three', (b) => {
    // Every slot of the buffer holds a value no other slot holds.
    const s = Float64Array.from({ length: 3 * ASSESS_STRIDE }, (_, i) => 1000 + i);
    const stats = seriesStatsOf(s, b);
    for (const [name, offset] of Object.entries(FIELDS)) expect(stats[name as keyof typeof FIELDS], name).toBe(1000 + b * ASSESS_STRIDE + offset);
  });
});

describe('BatchAssessment', () => {
  it('holds one entry per series in every array, and nothing fired before scoring', () => {
    const a = new BatchAssessment(3);
    expect([a.batch, a.stats.length, a.scores.length, a.decisions.length, a.triggered.length]).toEqual([3, 3 * ASSESS_STRIDE, 3, 3, 3]);
    expect(a.signals(1)).toEqual([]);
    expect(a.decision(2)).toBe('pass');
  });

  it('worst(): the highest score, the first of equals, -1 for no series', () => {
    expect(new BatchAssessment(0).worst()).toBe(-1);
    const a = new BatchAssessment(4);
    a.scores.set([0.5, 0.2, 0.5, 0.1]);
    expect(a.worst()).toBe(0);
    a.scores.set([0.1, 0.7, 0.7, 0.3]);
    expect(a.worst()).toBe(1);
    a.scores.set([0, 0, 0, 0]);
    expect(a.worst()).toBe(0);
  });

  it('block(): decision block, score 1, the rule added after the signals that fired', () => {
    const a = new BatchAssessment(2);
    a.block(1, { name: 'first', value: 1, threshold: 0, weight: 1 });
    expect([a.decision(0), a.scores[0], a.signals(0)]).toEqual(['pass', 0, []]);
    expect([a.decision(1), a.scores[1]]).toEqual(['block', 1]);
    a.block(1, { name: 'second', value: 2, threshold: 0, weight: 1 });
    expect(a.signals(1).map((s) => s.name)).toEqual(['first', 'second']);
    expect(a.assessment(1)).toMatchObject({ score: 1, decision: 'block', triggered: [{ name: 'first' }, { name: 'second' }] });
  });
});

describe('InputShield.assessBatch', () => {
  const shield = new InputShield(INPUT_THRESHOLDS.medium);

  it('scores every series exactly as assess() scores it alone: flat rows, spans, rows one by one', () => {
    const rows = [walk(64, 1), walk(64, 2), walk(64, 3)];
    rows[1]![10] = Infinity; // blocked
    rows[2]![60] = rows[2]![59]! * 30; // a spike
    const flat = new Float32Array(3 * 64);
    rows.forEach((r, b) => flat.set(r, b * 64));
    const alone = rows.map((r) => shield.assess(r));
    const spans = Float64Array.from([0, 64, 64, 64, 128, 64]);
    for (const a of [shield.assessBatch(flat, null, 3), shield.assessBatch(flat, spans, 3), shield.assessBatch(rows, null, 3)]) {
      expect(a.triggered).toHaveLength(3);
      for (let b = 0; b < 3; b++) expect(a.assessment(b), `series ${b}`).toEqual(alone[b]);
    }
    expect(alone.map((x) => x.decision)).toEqual(['pass', 'block', alone[2]!.decision]);
    expect(alone[2]!.triggered.map((s) => s.name)).toContain('spike');
  });

  it("bounds: the level's +-maxAbsValue by default, each side from the caller's bounds otherwise", () => {
    const max = INPUT_THRESHOLDS.medium.maxAbsValue;
    const x = Float64Array.from([-2 * max, -10, 0, 5, 7, 2 * max, 1, 2]);
    const oob = (a: BatchAssessment) => a.stat(0, AssessField.outOfBoundsCount);
    expect(oob(shield.assessBatch(x, null, 1))).toBe(2); // -2max and 2max
    // Below -6: -2max and -10; above 6: 7 and 2max.
    expect(oob(shield.assessBatch(x, null, 1, { lo: -6, hi: 6 }))).toBe(4);
  });
});
