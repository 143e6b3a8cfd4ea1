// The forecast-quality gate (lib/gate) on real evidence: the shipped model served through the
// guardian on ETTh1 (hourly loads), journaled with its audit trail; shadow candidates made on
// purpose to fail (training/make_fixtures.py: overconfident, lagging); backtests; integrity
// violations (a tampered journal, forecasts without audit records, no audit log); the artifact
// and its run audit line; the start that requires a passing artifact; the CLI's exit codes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { verifyRunAudit } from '../lib/evidence/run-audit';
import { DEFAULT_GATE_THRESHOLDS } from '../lib/gate/decision';
import { evaluateGate, type GateResult } from '../lib/gate/forecast-gate';
import { TiRexGuardian } from '../lib/guardian/guardian';
import { runCli } from './cli-run';
import { segmentEntries } from './journal-fixtures';
import { thrown } from './model-fixtures';

const ROOT = path.resolve(__dirname, '..');
const FIXTURES = path.join(__dirname, 'fixtures', 'models');
const KEY = 'gate-test-signing-key-0123456789abcdef!';
const DEFAULT_MODEL = path.join(ROOT, 'models', 'tirex-guardian-default.json');
const SHA = JSON.parse(fs.readFileSync(DEFAULT_MODEL, 'utf8')).sha256 as string;
// The version it replaced (kept in the repository for comparison, not in the package).
const V1_MODEL = path.join(ROOT, 'models', 'v1', 'tirex-guardian-default.json');
const V1_SHA = JSON.parse(fs.readFileSync(V1_MODEL, 'utf8')).sha256 as string;
const shaOf = (kind: string): string => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${kind}.json`), 'utf8')).sha256;
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-gate-'));
let dirNo = 0;
const newDir = (): string => fs.mkdtempSync(path.join(TMP, `case-${++dirNo}-`));
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

// ETTh1, hourly: the timestamps are the origins, HUFL (high useful load) the instrument's series.
const ett = fs.readFileSync(path.join(ROOT, 'data', 'ETTh1.csv'), 'utf8').trim().split('\n');
const header = ett[0]!.split(',');
const rows = ett.slice(1).map((l) => l.split(','));
const times = rows.map((r) => Date.parse(`${r[0]!.replace(' ', 'T')}Z`));
const hufl = rows.map((r) => Number(r[header.indexOf('HUFL')]));
const START = 12_000;
const CALLS = 600; // 25 days of hourly bars
const HORIZON = 4;

interface Served {
  dir: string;
  journal: string;
  audit: string;
  results: { auditId: string | null; quantiles: Float32Array }[];
}

/** Serves CALLS forecasts of HUFL through a guardian with audit and journal (and a shadow), recording every bar's outcome. */
async function serve(shadow?: string, extra: Record<string, unknown> = {}): Promise<Served> {
  const dir = newDir();
  const journal = path.join(dir, 'journal');
  const audit = path.join(dir, 'audit');
  const g = new TiRexGuardian({
    enableAuditLogging: true,
    audit: { dir: audit, signingKey: KEY },
    journal: { dir: journal },
    marketBounds: { HUFL: { lo: -100, hi: 100 } },
    ...(shadow ? { shadow: { model: path.join(FIXTURES, `${shadow}.json`), queueLimit: 4 } } : {}),
    ...extra,
  });
  const results: Served['results'] = [];
  for (let i = START; i < START + CALLS; i++) {
    const r = g.safeForecast({ context: Float64Array.from(hufl.slice(i - 511, i + 1)), predictionLength: HORIZON, userId: 'desk-1', instrument: 'HUFL', originTime: times[i] });
    results.push({ auditId: r.auditId, quantiles: r.quantiles!.slice() });
    g.recordOutcome('HUFL', times[i]!, hufl[i]!);
    // Yield: the shadow runs between calls, as between a trading engine's bars.
    if (shadow) while ((g.qualityStats()!.shadow!.pending ?? 0) > 0) await new Promise((r) => setTimeout(r, 0));
    else await tick();
  }
  for (let i = START + CALLS; i < START + CALLS + HORIZON; i++) g.recordOutcome('HUFL', times[i]!, hufl[i]!);
  await g.close();
  return { dir, journal, audit, results };
}

const check = (r: GateResult, name: string) => r.checks.find((c) => c.name === name)!;

let live: Served;
let liveV1: Served;
let shadowed: Served;
beforeAll(async () => {
  live = await serve();
  liveV1 = await serve(undefined, { model: V1_MODEL });
  shadowed = await serve('overconfident');
}, 180_000);

describe('live evidence', () => {
  it('the shipped model (version 2) on 25 days of hourly loads: a real lift, calibrated bands: PASS, every value written', async () => {
    const r = await evaluateGate({ model: SHA, journal: live.journal, audit: live.audit, key: { signingKey: KEY } });
    expect(r.evidence.kind).toBe('live');
    expect(r.instruments.map((i) => [i.instrument, i.forecasts, i.origins, i.points])).toEqual([['HUFL', CALLS, CALLS, CALLS * HORIZON]]);
    expect(r.evidence.days).toBe(25);
    expect(r.integrity.violations).toEqual([]);
    expect(r.measured.wqlRatio).toBeLessThan(0.95);
    expect(r.measured.maseRatio).toBeLessThan(1);
    expect(r.measured.coverage).toBeGreaterThanOrEqual(0.72);
    expect(r.measured.coverage).toBeLessThanOrEqual(0.88);
    expect(r.checks.every((c) => c.pass)).toBe(true);
    expect([r.status, r.reasons]).toEqual(['PASS', []]);
    expect(r.thresholds).toEqual(DEFAULT_GATE_THRESHOLDS);
  });

  it('version 1 on the same loads: a real lift, but bands too wide for 10-90%: FAIL, every value and reason written', async () => {
    const r = await evaluateGate({ model: V1_SHA, journal: liveV1.journal, audit: liveV1.audit, key: { signingKey: KEY } });
    expect(r.evidence.kind).toBe('live');
    expect(r.instruments.map((i) => [i.instrument, i.forecasts, i.origins, i.points])).toEqual([['HUFL', CALLS, CALLS, CALLS * HORIZON]]);
    expect(r.integrity.violations).toEqual([]);
    expect(r.measured.wqlRatio).toBeLessThan(0.95);
    expect(r.measured.maseRatio).toBeLessThan(1);
    expect(r.measured.coverage).toBeGreaterThan(0.88);
    expect(r.checks.map((c) => [c.name, c.pass])).toEqual([
      ['instruments', true],
      ['origins-per-instrument', true],
      ['trading-days', true],
      ['wql-ratio', true],
      ['mase-ratio', true],
      ['coverage', false],
      ['integrity', true],
    ]);
    expect(r.status).toBe('FAIL');
    expect(r.reasons).toEqual([expect.stringMatching(/^the outer band covers 0\.9\d+ of outcomes, outside 0\.72 to 0\.88: too wide \(miscalibrated\)$/)]);
    expect(r.thresholds).toEqual(DEFAULT_GATE_THRESHOLDS);
  });

  it("version 1's evidence with a wider coverage band allowed: PASS", async () => {
    const r = await evaluateGate({ model: V1_SHA, journal: liveV1.journal, audit: liveV1.audit, key: { signingKey: KEY }, thresholds: { maxCoverage: 0.97 } });
    expect([r.status, r.reasons]).toEqual(['PASS', []]);
  });

  it("one model's gate reads only its own forecasts: version 1's journal holds no evidence for version 2", async () => {
    const r = await evaluateGate({ model: SHA, journal: liveV1.journal, audit: liveV1.audit, key: { signingKey: KEY } });
    expect(r.status).toBe('FAIL');
    expect(r.instruments).toEqual([]);
    expect(r.reasons[0]).toBe('no scored forecast of this model in the evidence');
  });

  it('the journal holds what was served: quantiles, audit ids, one forecast per call', () => {
    const forecasts = segmentEntries(live.journal, ['forecast']);
    expect(forecasts.length).toBe(CALLS);
    const first = forecasts[0]!;
    expect(first.auditId).toBe(live.results[0]!.auditId);
    expect(first.origin).toBe(times[START]);
    expect(new Float32Array(new Uint8Array(Buffer.from(first.q, 'base64')).buffer)).toEqual(live.results[0]!.quantiles);
  });

  it('a shadow candidate miscalibrated on purpose (overconfident bands) FAILs on coverage; the live model it ran beside is unaffected', async () => {
    const r = await evaluateGate({ model: shaOf('overconfident'), source: 'shadow', journal: shadowed.journal, audit: shadowed.audit, key: { signingKey: KEY } });
    expect(r.evidence.kind).toBe('shadow');
    expect(r.instruments.map((i) => [i.instrument, i.forecasts])).toEqual([['HUFL', CALLS]]);
    expect(r.status).toBe('FAIL');
    expect(check(r, 'coverage').pass).toBe(false);
    expect(r.reasons.some((x) => /too narrow \(miscalibrated\)$/.test(x))).toBe(true);
    // Its median is the last value: MASE equals the naive forecast's.
    expect(r.measured.maseRatio).toBeCloseTo(1, 12);
    // What was served beside the shadow is what was served without it.
    expect(shadowed.results.map((x) => Array.from(x.quantiles))).toEqual(live.results.map((x) => Array.from(x.quantiles)));
  });

  it('a shadow model nobody ran has no evidence: FAIL', async () => {
    const r = await evaluateGate({ model: shaOf('lagging'), source: 'shadow', journal: shadowed.journal, audit: shadowed.audit, key: { signingKey: KEY } });
    expect(r.status).toBe('FAIL');
    expect(r.reasons[0]).toBe('no scored forecast of this model in the evidence');
  });
});

describe('integrity', () => {
  const copy = (s: Served): Served => {
    const dir = newDir();
    fs.cpSync(s.dir, dir, { recursive: true });
    return { ...s, dir, journal: path.join(dir, 'journal'), audit: path.join(dir, 'audit') };
  };

  it('an edited forecast in the journal: the chain breaks, FAIL on integrity', async () => {
    const c = copy(live);
    const seg = path.join(c.journal, fs.readdirSync(c.journal).filter((f) => /^segment-/.test(f)).sort()[0]!);
    const text = fs.readFileSync(seg, 'utf8');
    fs.writeFileSync(seg, text.replace('"status":"ok"', '"status":"OK"'));
    const r = await evaluateGate({ model: SHA, journal: c.journal, audit: c.audit, key: { signingKey: KEY }, thresholds: { maxCoverage: 0.97 } });
    expect(r.status).toBe('FAIL');
    expect(r.integrity.violations.map((v) => v.kind)).toEqual(['journal-chain']);
    expect(r.reasons).toEqual([expect.stringMatching(/^1 integrity violation\(s\): journal-chain x1/)]);
  });

  it("forecasts whose calls are not in the audit log given (another run's log): FAIL, counted", async () => {
    const r = await evaluateGate({ model: SHA, journal: live.journal, audit: shadowed.audit, key: { signingKey: KEY }, thresholds: { maxCoverage: 0.97 } });
    expect(r.status).toBe('FAIL');
    expect(r.integrity.violations.map((v) => [v.kind, v.count])).toEqual([['forecast-without-audit-record', CALLS]]);
  });

  it('no audit log: the journal cannot be joined to its records: FAIL', async () => {
    const r = await evaluateGate({ model: SHA, journal: live.journal, key: { signingKey: KEY }, thresholds: { maxCoverage: 0.97 } });
    expect(r.status).toBe('FAIL');
    expect(r.integrity.violations.map((v) => v.kind)).toEqual(['no-audit-log']);
  });

  it('the wrong key: neither chain verifies: FAIL', async () => {
    const r = await evaluateGate({ model: SHA, journal: live.journal, audit: live.audit, key: { signingKey: 'another-key-0123456789abcdef0123456789' }, thresholds: { maxCoverage: 0.97 } });
    expect(r.status).toBe('FAIL');
    expect(r.integrity.violations.map((v) => v.kind)).toEqual(['journal-chain', 'audit-chain']);
  });
});

describe('backtest', () => {
  const csv = (rowsFrom: number, n: number): string => {
    const file = path.join(newDir(), 'ett-hufl.csv');
    const lines = ['date,HUFL'];
    for (let i = rowsFrom; i < rowsFrom + n; i++) lines.push(`${rows[i]![0]},${rows[i]![1]}`);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  };

  it('the shipped model on held-out hourly loads: PASS on backtest evidence, said so', async () => {
    const file = csv(10_000, 3000);
    const r = await evaluateGate({ model: DEFAULT_MODEL, backtest: [file], horizon: 8, maxOrigins: 40 });
    expect(r.evidence.kind).toBe('backtest');
    expect(r.evidence.dayBasis).toBe('origins-per-series');
    expect(r.instruments.map((i) => [i.instrument, i.origins])).toEqual([['ett-hufl.csv:HUFL', 40]]);
    expect(r.integrity.checked).toBe(false);
    expect(r.model).toMatchObject({ sha256: SHA, name: 'tirex-guardian-default' });
    expect([r.status, r.reasons]).toEqual(['PASS', []]);
  });

  it('a model worse than naive on purpose (lagging median): FAIL on lift', async () => {
    const r = await evaluateGate({ model: path.join(FIXTURES, 'lagging.json'), backtest: [csv(10_000, 3000)], horizon: 8, maxOrigins: 40 });
    expect(r.status).toBe('FAIL');
    expect(r.checks.filter((c) => !c.pass).map((c) => c.name)).toEqual(expect.arrayContaining(['wql-ratio', 'mase-ratio']));
  });

  it('bad inputs are typed errors', async () => {
    await expect(evaluateGate({ model: SHA, backtest: [csv(0, 200)] })).rejects.toMatchObject({ code: 'TG_INVALID_ARGUMENT' });
    await expect(evaluateGate({ model: DEFAULT_MODEL })).rejects.toMatchObject({ code: 'TG_INVALID_ARGUMENT' });
    await expect(evaluateGate({ model: 'nope.json', backtest: ['x.csv'] })).rejects.toMatchObject({ code: 'TG_INVALID_ARGUMENT' });
    await expect(evaluateGate({ model: DEFAULT_MODEL, backtest: [path.join(TMP, 'missing.csv')] })).rejects.toMatchObject({ code: 'TG_INVALID_ARGUMENT' });
    await expect(evaluateGate({ model: SHA, journal: live.journal })).rejects.toMatchObject({ code: 'TG_INVALID_ARGUMENT' });
    await expect(evaluateGate({ model: SHA, journal: live.journal, key: { signingKey: KEY }, thresholds: { minCoverage: 0.9, maxCoverage: 0.8 } })).rejects.toMatchObject({ code: 'TG_INVALID_ARGUMENT' });
  });
});

describe('the artifact and the start that requires it', () => {
  const config = (evidenceDir: string, model = DEFAULT_MODEL) => ({ model, evidenceDir, forecastGate: { required: true } });

  it('no artifact: the start is refused with the gate and its remedy; a PASS lets it start; a newer FAIL refuses it again', async () => {
    const evidence = newDir();
    const e1 = thrown(() => new TiRexGuardian(config(evidence)));
    expect(e1).toMatchObject({ code: 'TG_GATE_FAILED' });
    expect((e1 as { failures: { gate: string; problem: string }[] }).failures.map((f) => f.gate)).toEqual(['forecast-gate']);
    expect((e1 as Error).message).toMatch(/no forecast-quality gate artifact/);

    const pass = await evaluateGate({ model: SHA, journal: live.journal, audit: live.audit, key: { signingKey: KEY }, evidenceDir: evidence });
    expect(pass.status).toBe('PASS');
    expect(pass.artifact!.file).toMatch(/^audit_gate\/production_gate_\d{4}-\d\d-\d\dT[\d-]+Z_\d+_[0-9a-f]{6}\.json$/);
    const onDisk = JSON.parse(fs.readFileSync(path.join(evidence, pass.artifact!.file), 'utf8'));
    expect([onDisk.status, onDisk.kind, onDisk.model.sha256, onDisk.evidence.kind]).toEqual(['PASS', 'production_gate', SHA, 'live']);
    const audit = verifyRunAudit(evidence);
    expect(audit.ok).toBe(true);
    expect(audit.entries.map((e) => [e.event, e.decision, e.artifact?.sha256])).toEqual([['production-gate', 'pass', pass.artifact!.sha256]]);
    const g = new TiRexGuardian(config(evidence));
    await g.close();

    await new Promise((r) => setTimeout(r, 5)); // a later stamp: the FAIL sorts after the PASS
    // The same evidence against a narrower coverage band: the newer artifact says FAIL.
    const fail = await evaluateGate({ model: SHA, journal: live.journal, audit: live.audit, key: { signingKey: KEY }, thresholds: { maxCoverage: 0.8 }, evidenceDir: evidence });
    expect(fail.status).toBe('FAIL');
    expect(thrown(() => new TiRexGuardian(config(evidence)))).toMatchObject({ code: 'TG_GATE_FAILED', message: expect.stringMatching(/says FAIL: the outer band covers/) });
  });

  it('a PASS for another model does not count; an artifact edited after the gate wrote it is not trusted', async () => {
    const evidence = newDir();
    const other = await evaluateGate({ model: path.join(FIXTURES, 'quantile-ok.json'), backtest: [path.join(newDir(), 'x.csv')].map((f) => (fs.writeFileSync(f, 'v\n' + hufl.slice(0, 400).join('\n') + '\n'), f)), horizon: 1, maxOrigins: 80, thresholds: { maxWqlRatio: 100, maxMaseRatio: 100, minCoverage: 0, maxCoverage: 1 }, evidenceDir: evidence });
    expect(other.status).toBe('PASS');
    expect(thrown(() => new TiRexGuardian(config(evidence)))).toMatchObject({ code: 'TG_GATE_FAILED' });
    const fake = path.join(evidence, other.artifact!.file);
    const body = JSON.parse(fs.readFileSync(fake, 'utf8'));
    body.model.sha256 = SHA;
    fs.writeFileSync(fake, JSON.stringify(body, null, 2) + '\n');
    expect(thrown(() => new TiRexGuardian(config(evidence)))).toMatchObject({ code: 'TG_GATE_FAILED', message: expect.stringMatching(/not named by the run audit|named by the run audit/) });
  });

  it('forecastGate.required without an evidence directory is a failing gate', () => {
    expect(thrown(() => new TiRexGuardian({ forecastGate: { required: true } }))).toMatchObject({ code: 'TG_GATE_FAILED', message: expect.stringMatching(/needs an evidence directory/) });
  });
});

describe('tirex-guardian gate', () => {
  const cli = (args: string[]) => runCli(['gate', ...args], { env: { TG_AUDIT_SIGNING_KEY: KEY }, timeoutMs: 120_000 });

  it('exit 0 on PASS, 1 on FAIL, with the artifact; 2 on a bad command line; 3 when the evidence cannot be read', () => {
    const evidence = newDir();
    const pass = cli(['--model', SHA, '--journal', live.journal, '--audit', live.audit, '--evidence-dir', evidence]);
    expect([pass.status, pass.stderr]).toEqual([0, '']);
    expect(pass.stdout).toMatch(/^forecast-quality gate: PASS\n/);
    expect(pass.stdout).toMatch(/artifact: audit_gate\/production_gate_/);
    const fail = cli(['--model', V1_SHA, '--journal', liveV1.journal, '--audit', liveV1.audit, '--json']);
    expect(fail.status).toBe(1);
    expect(JSON.parse(fail.stdout)).toMatchObject({ status: 'FAIL', evidence: { kind: 'live' } });
    expect(cli(['--journal', live.journal]).status).toBe(2);
    expect(cli(['--model', SHA, '--journal', live.journal, '--backtest', 'x.csv']).status).toBe(2);
    expect(cli(['--model', SHA, '--journal', live.journal, '--max-coverage', 'wide']).status).toBe(2);
    const missing = cli(['--model', SHA, '--journal', path.join(TMP, 'none'), '--audit', live.audit]);
    expect([missing.status, missing.stderr]).toEqual([3, expect.stringMatching(/TG_INVALID_ARGUMENT: gate: the journal .* is not a directory/)]);
  });
});
