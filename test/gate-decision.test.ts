// The forecast-quality gate's decision (lib/gate/decision.ts) on evidence built by hand: every
// threshold inclusive and failing on its own just past it, the aggregates, excludeThin, NaN.
// Pure: the mutation module gate-decision runs these (test/mutation.json).
import { describe, expect, it } from 'vitest';

import { decideGate, DEFAULT_GATE_THRESHOLDS, type GateEvidence } from '../lib/gate/decision';

describe('decision', () => {
  const evidence = (instruments: [string, number, number, number, number][], days = 30): GateEvidence => ({
    kind: 'live',
    description: 'test',
    days,
    dayBasis: 'utc-days-of-origins',
    integrity: { checked: true, violations: [], facts: {} },
    instruments: instruments.map(([instrument, origins, wqlRatio, maseRatio, coverage]) => ({
      instrument,
      forecasts: origins,
      origins,
      points: origins,
      wql: wqlRatio,
      naiveWql: 1,
      mase: maseRatio,
      naiveMase: 1,
      wqlRatio,
      maseRatio,
      coverage,
      naiveCoverage: 0.8,
    })),
  });
  const t = DEFAULT_GATE_THRESHOLDS;

  it('thresholds are inclusive, aggregates are geometric means (ratios) and means (coverage)', () => {
    expect(decideGate(evidence([['A', 30, 0.95, 1, 0.72]], 21), t).status).toBe('PASS');
    expect(decideGate(evidence([['A', 30, 0.95, 1, 0.88]], 21), t).status).toBe('PASS');
    const d = decideGate(evidence([['A', 30, 0.9, 1.1, 0.7], ['B', 40, 0.9, 0.8, 0.9]]), t);
    expect(d.aggregate.maseRatio).toBeCloseTo(Math.sqrt(1.1 * 0.8), 12);
    expect(d.aggregate.coverage).toBeCloseTo(0.8, 12);
    expect(d.status).toBe('PASS');
  });

  it('each threshold fails on its own, just past it', () => {
    const fails = (e: GateEvidence) => decideGate(e, t).checks.filter((c) => !c.pass).map((c) => c.name);
    expect(fails(evidence([['A', 29, 0.9, 0.9, 0.8]]))).toEqual(['origins-per-instrument']);
    expect(fails(evidence([['A', 30, 0.9, 0.9, 0.8]], 20))).toEqual(['trading-days']);
    expect(fails(evidence([['A', 30, 0.9501, 0.9, 0.8]]))).toEqual(['wql-ratio']);
    expect(fails(evidence([['A', 30, 0.9, 1.0001, 0.8]]))).toEqual(['mase-ratio']);
    expect(fails(evidence([['A', 30, 0.9, 0.9, 0.7199]]))).toEqual(['coverage']);
    expect(fails(evidence([['A', 30, 0.9, 0.9, 0.8801]]))).toEqual(['coverage']);
    const e = evidence([['A', 30, 0.9, 0.9, 0.8]]);
    e.integrity.violations.push({ kind: 'journal-gap', count: 1, detail: 'x' });
    expect(fails(e)).toEqual(['integrity']);
    expect(fails(evidence([], 0))).toEqual(['instruments', 'origins-per-instrument', 'trading-days', 'wql-ratio', 'mase-ratio', 'coverage']);
  });

  it('excludeThin: a thin instrument is named and left out instead of failing; a NaN ratio fails', () => {
    const e = evidence([['A', 30, 0.9, 0.9, 0.8], ['THIN', 5, 3, 3, 0.1]]);
    expect(decideGate(e, t).status).toBe('FAIL');
    const d = decideGate(e, t, true);
    expect([d.status, d.excluded, d.aggregate.instruments]).toEqual(['PASS', ['THIN'], 1]);
    expect(decideGate(evidence([['A', 30, NaN, 0.9, 0.8]]), t).checks.find((c) => c.name === 'wql-ratio')!.pass).toBe(false);
  });

  it('a backtest counts days as the fewest origins of the instruments judged; its integrity is not applicable, a live one unchecked fails', () => {
    const e = evidence([['A', 40, 0.9, 0.9, 0.8], ['B', 25, 0.9, 0.9, 0.8], ['THIN', 10, 0.9, 0.9, 0.8]], 999);
    e.kind = 'backtest';
    e.dayBasis = 'origins-per-series';
    e.integrity = { checked: false, violations: [], facts: {} };
    const all = decideGate(e, t);
    expect(all.checks.find((c) => c.name === 'trading-days')).toEqual({ name: 'trading-days', pass: false, measured: 10, threshold: '>= 21' });
    expect(all.checks.find((c) => c.name === 'integrity')).toEqual({ name: 'integrity', pass: true, measured: 'not applicable', threshold: '<= 0 violations' });
    const thin = decideGate(e, t, true);
    expect(thin.excluded).toEqual(['B', 'THIN']);
    expect(thin.checks.find((c) => c.name === 'trading-days')!.measured).toBe(40);
    expect(thin.checks.find((c) => c.name === 'origins-per-instrument')!.measured).toBe(40);
    expect(thin.status).toBe('PASS');
    const live = evidence([['A', 40, 0.9, 0.9, 0.8]]);
    live.integrity = { checked: false, violations: [], facts: {} };
    expect(decideGate(live, t).reasons).toEqual(['live evidence was not checked for integrity']);
  });

  it('every reason says what was measured against what', () => {
    const e = evidence([['A', 12, 1.2, 1.3, 0.95], ['B', 40, 1.0, 1.1, 0.5]], 5);
    e.integrity.violations.push({ kind: 'journal-gap', count: 3, detail: 'lost' }, { kind: 'audit-chain', count: 1, detail: 'edited' });
    const d = decideGate(e, t);
    expect(d.status).toBe('FAIL');
    expect(d.reasons).toEqual([
      '1 instrument(s) have fewer than 30 scored origins: A (12)',
      '5 distinct trading days of scored origins (utc-days-of-origins), fewer than 21',
      `weighted quantile loss is ${Math.sqrt(1.2).toFixed(4)} of the naive forecast's, above 0.95: no lift`,
      `the median's MASE is ${Math.sqrt(1.3 * 1.1).toFixed(4)} of the naive forecast's, above 1: worse than no change`,
      // Coverage: the mean of 0.95 and 0.5 is 0.725, inside the band: no reason.
      '4 integrity violation(s): journal-gap x3 (lost); audit-chain x1 (edited)',
    ]);
    const narrow = decideGate(evidence([['A', 30, 0.9, 0.9, 0.5]]), t);
    expect(narrow.reasons).toEqual(['the outer band covers 0.5000 of outcomes, outside 0.72 to 0.88: too narrow (miscalibrated)']);
    const wide = decideGate(evidence([['A', 30, 0.9, 0.9, 0.95]]), t);
    expect(wide.reasons).toEqual(['the outer band covers 0.9500 of outcomes, outside 0.72 to 0.88: too wide (miscalibrated)']);
    expect(decideGate(evidence([]), t).reasons[0]).toBe('no scored forecast of this model in the evidence');
    expect(decideGate(evidence([['A', 3, 0.9, 0.9, 0.8]]), t, true).reasons[0]).toBe('no instrument has 30 scored origins');
    expect(decideGate(evidence([['A', 30, 0.9, 0.9, 0.8]]), { ...t, maxIntegrityViolations: 2 }).status).toBe('PASS');
  });

  it('the whole list of checks, thresholds and measured values; nothing excluded without excludeThin', () => {
    const d = decideGate(evidence([['A', 30, 0.81, 0.64, 0.8], ['B', 50, 0.9, 1.0, 0.7]], 22), t);
    expect(d.checks).toEqual([
      { name: 'instruments', pass: true, measured: 2, threshold: '>= 1' },
      { name: 'origins-per-instrument', pass: true, measured: 30, threshold: '>= 30 per instrument' },
      { name: 'trading-days', pass: true, measured: 22, threshold: '>= 21' },
      { name: 'wql-ratio', pass: true, measured: expect.closeTo(Math.sqrt(0.81 * 0.9), 12), threshold: '<= 0.95' },
      { name: 'mase-ratio', pass: true, measured: expect.closeTo(0.8, 12), threshold: '<= 1' },
      { name: 'coverage', pass: true, measured: expect.closeTo(0.75, 12), threshold: '0.72 to 0.88' },
      { name: 'integrity', pass: true, measured: 0, threshold: '<= 0 violations' },
    ]);
    expect(d.aggregate).toEqual({ instruments: 2, wqlRatio: expect.closeTo(Math.sqrt(0.81 * 0.9), 12), maseRatio: expect.closeTo(0.8, 12), coverage: expect.closeTo(0.75, 12), naiveCoverage: expect.closeTo(0.8, 12) });
    expect([d.status, d.excluded]).toEqual(['PASS', []]);
    const thin = decideGate(evidence([['A', 30, 0.9, 0.9, 0.8], ['T', 3, 0.9, 0.9, 0.8]]), t);
    expect(thin.excluded).toEqual([]);
  });

  it('no ratio is made up: an infinite ratio (a naive loss of 0) and no instrument at all fail', () => {
    expect(decideGate(evidence([['A', 30, Infinity, 0.9, 0.8], ['B', 30, 0.5, 0.9, 0.8]]), t).checks.find((c) => c.name === 'wql-ratio')).toEqual({ name: 'wql-ratio', pass: false, measured: Infinity, threshold: '<= 0.95' });
    const none = decideGate(evidence([], 30), t);
    expect(none.checks.map((c) => [c.name, c.pass, c.measured])).toEqual([
      ['instruments', false, 0],
      ['origins-per-instrument', false, 0],
      ['trading-days', true, 30],
      ['wql-ratio', false, NaN],
      ['mase-ratio', false, NaN],
      ['coverage', false, NaN],
      ['integrity', true, 0],
    ]);
    const allThin = decideGate(evidence([['A', 3, 0.9, 0.9, 0.8]]), t, true);
    expect(allThin.checks.slice(0, 2).map((c) => [c.name, c.pass, c.measured])).toEqual([
      ['instruments', false, 0],
      ['origins-per-instrument', false, 0],
    ]);
    const backtest = evidence([], 999);
    backtest.dayBasis = 'origins-per-series';
    expect(decideGate(backtest, t).checks.find((c) => c.name === 'trading-days')!.measured).toBe(0);
  });

  it('a long list of thin instruments names the first 8', () => {
    const e = evidence(Array.from({ length: 9 }, (_, i) => [`I${i}`, i, 0.9, 0.9, 0.8] as [string, number, number, number, number]));
    expect(decideGate(e, t).reasons[0]).toBe('9 instrument(s) have fewer than 30 scored origins: I0 (0), I1 (1), I2 (2), I3 (3), I4 (4), I5 (5), I6 (6), I7 (7), ...');
    const eight = evidence(Array.from({ length: 8 }, (_, i) => [`I${i}`, i, 0.9, 0.9, 0.8] as [string, number, number, number, number]));
    expect(decideGate(eight, t).reasons[0]).toBe('8 instrument(s) have fewer than 30 scored origins: I0 (0), I1 (1), I2 (2), I3 (3), I4 (4), I5 (5), I6 (6), I7 (7)');
  });
});
