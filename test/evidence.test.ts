/**
 * Evidence: the run audit's hash chain across days (reusing the audit log's chain), artifacts
 * tied to it by their sha256, tampering found by `evidence verify`, no half-written artifact or
 * line after kill -9 (four kills at different points, each next writer taking over the dead
 * one's lock), two writers at once; and the guardian's production wiring: the preflight runs or
 * a recent passing artifact is accepted, a failing preflight is a gate with its remedies, and
 * every gate decision is recorded.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { writeArtifact, listArtifacts } from '../lib/evidence/artifacts';
import { appendRunEvent, verifyRunAudit } from '../lib/evidence/run-audit';
import { TiRexGuardian } from '../lib/guardian/guardian';
import { loadServiceConfig } from '../lib/service/config';
import { startSecurity } from '../lib/service/security';
import { runCli } from './cli-run';
import { thrown } from './model-fixtures';
import { cleanProject } from './preflight-fixtures';

const ROOT = path.resolve(__dirname, '..');
const CHILD = path.join(__dirname, 'fixtures', 'evidence-kill-child.js');
const KEY = 'k'.repeat(32);
const SHA = JSON.parse(fs.readFileSync(path.join(ROOT, 'models', 'tirex-guardian-default.json'), 'utf8')).sha256 as string;

const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** Runs `start` under the preflight override (TG_SECURITY_HARD_FAIL=0 for an hour), collecting
 * the process warnings it emits. */
async function underOverride<T>(start: () => Promise<T>): Promise<{ result: T; until: string; warnings: string[] }> {
  const until = new Date(Date.now() + 3_600_000).toISOString();
  const warnings: string[] = [];
  const onWarning = (w: Error & { code?: string }) => warnings.push(`${w.code}: ${w.message}`);
  process.on('warning', onWarning);
  process.env.TG_SECURITY_HARD_FAIL = '0';
  process.env.TG_SECURITY_OVERRIDE_UNTIL = until;
  try {
    return { result: await start(), until, warnings };
  } finally {
    delete process.env.TG_SECURITY_HARD_FAIL;
    delete process.env.TG_SECURITY_OVERRIDE_UNTIL;
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
    process.off('warning', onWarning);
  }
}

describe('the run audit', () => {
  it('chains every line, across days, and ties each artifact to it by sha256', () => {
    const dir = tmp('tg-evidence-');
    const a = writeArtifact(dir, 'security_preflight', { n: 1 }, { event: 'preflight', decision: 'pass' }, new Date('2026-11-29T23:59:59.500Z'));
    appendRunEvent(dir, { event: 'serve-start', decision: 'started', detail: { address: 'http://127.0.0.1:1' } }, new Date('2026-11-30T00:00:00.100Z'));
    const b = writeArtifact(dir, 'startup_gate', { n: 2 }, { event: 'startup-gate', decision: 'fail' }, new Date('2026-11-30T00:00:01.000Z'));
    expect(fs.readdirSync(path.join(dir, 'run_audit')).sort()).toEqual(['2026-11-29.jsonl', '2026-11-30.jsonl']);
    expect(a.file).toMatch(/^security\/security_preflight_2026-11-29T23-59-59-500Z_\d+_[0-9a-f]{6}\.json$/);
    expect(b.file).toMatch(/^audit_gate\/startup_gate_2026-11-30T00-00-01-000Z_\d+_[0-9a-f]{6}\.json$/);
    const r = verifyRunAudit(dir);
    expect([r.ok, r.lines, r.problems]).toEqual([true, 3, []]);
    expect(r.entries.map((e) => [e.seq, e.event, e.decision, e.user, e.pid])).toEqual([
      [0, 'preflight', 'pass', os.userInfo().username, process.pid],
      [1, 'serve-start', 'started', os.userInfo().username, process.pid],
      [2, 'startup-gate', 'fail', os.userInfo().username, process.pid],
    ]);
    expect(r.entries[1]!.prevHash).toBe(r.entries[0]!.hash); // across the day boundary
    expect(r.entries[0]!.artifact).toEqual({ file: a.file, sha256: a.sha256 });
    expect(listArtifacts(dir, 'security_preflight')).toEqual([a.file]);
  });

  it('evidence verify finds an edited artifact, an edited line and a removed line; a writer refuses to chain onto a broken end', () => {
    const dir = tmp('tg-evidence-');
    const arts = [1, 2, 3].map((n) => writeArtifact(dir, 'security_preflight', { n }, { event: 'preflight', decision: 'pass' }));
    const ok = runCli(['evidence', 'verify', dir]);
    expect([ok.status, ok.stdout]).toEqual([0, 'ok: 3 run audit lines chained, 3 artifacts match their recorded sha256\n']);
    fs.writeFileSync(arts[0]!.path, fs.readFileSync(arts[0]!.path, 'utf8').replace('"n": 1', '"n": 9'));
    const day = path.join(dir, 'run_audit', fs.readdirSync(path.join(dir, 'run_audit'))[0]!);
    const lines = fs.readFileSync(day, 'utf8').split('\n');
    lines[1] = lines[1]!.replace('"decision":"pass"', '"decision":"fail"');
    fs.writeFileSync(day, lines.join('\n'));
    const bad = runCli(['evidence', 'verify', dir, '--json']);
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout).problems.map((p: { line: number; problem: string }) => `${p.line}: ${p.problem}`)).toEqual([
      `1: its artifact ${arts[0]!.file} was changed after it was written`,
      '2: the line does not match its hash: its content was altered',
    ]);
    fs.writeFileSync(day, [lines[0], lines[2], ''].join('\n'));
    expect(verifyRunAudit(dir).problems.map((p) => p.problem)).toEqual([
      `its artifact ${arts[0]!.file} was changed after it was written`,
      'seq 2 where 1 was next: a line was removed, added or moved',
      "prevHash is not the previous line's hash: the chain is broken here",
    ]);
    fs.appendFileSync(day, '{"half":');
    expect(thrown(() => appendRunEvent(dir, { event: 'preflight', decision: 'pass' })).code).toBe('TG_EVIDENCE_CORRUPT');
  });

  describe('kill -9 and concurrency (compiled code, as installed)', () => {
    let compiled: string;
    beforeAll(() => {
      // A snapshot of dist/cjs: another build may be rewriting dist/ meanwhile.
      const dist = path.join(ROOT, 'dist', 'cjs');
      expect(fs.existsSync(path.join(dist, 'evidence', 'artifacts.js')), 'dist/cjs missing: run node scripts/build-ts.js').toBe(true);
      const snapshot = tmp('tg-evidence-dist-');
      fs.cpSync(dist, snapshot, { recursive: true });
      compiled = path.join(snapshot, 'evidence', 'artifacts.js');
    });

    function killAfter(dir: string, writes: number): Promise<NodeJS.Signals | null> {
      const child = spawn(process.execPath, [CHILD, compiled, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      let seen = 0;
      child.stdout.on('data', (d: Buffer) => {
        seen += d.toString().split('\n').filter((l) => l.startsWith('wrote ')).length;
        if (seen >= writes) child.kill('SIGKILL');
      });
      return new Promise((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    }

    it('after four kills at different points, every artifact and line is whole and the chain verifies', async () => {
      const dir = tmp('tg-evidence-kill-');
      for (const writes of [1, 4, 9, 2]) expect(await killAfter(dir, writes)).toBe('SIGKILL');
      const r = verifyRunAudit(dir);
      expect(r.problems).toEqual([]);
      expect(r.lines).toBeGreaterThanOrEqual(16);
      const artifacts = fs.readdirSync(path.join(dir, 'security')).filter((f) => !f.startsWith('.'));
      for (const f of artifacts) expect(JSON.parse(fs.readFileSync(path.join(dir, 'security', f), 'utf8')).kind).toBe('security_preflight');
      // An artifact whose line the kill prevented is whole but unchained: at most one per kill.
      expect(artifacts.length - r.lines).toBeGreaterThanOrEqual(0);
      expect(artifacts.length - r.lines).toBeLessThanOrEqual(4);
      const named = new Set(r.entries.map((e) => e.artifact!.file));
      expect([...named].every((f) => artifacts.includes(path.basename(f)))).toBe(true);
    }, 60_000);

    it('two writers at once: one chain, every line, no fork', async () => {
      const dir = tmp('tg-evidence-two-');
      const run = () => new Promise<number | null>((resolve) => spawn(process.execPath, [CHILD, compiled, dir, '15'], { stdio: 'ignore' }).on('close', (code) => resolve(code)));
      expect(await Promise.all([run(), run()])).toEqual([0, 0]);
      const r = verifyRunAudit(dir);
      expect([r.problems, r.lines, new Set(r.entries.map((e) => e.pid)).size]).toEqual([[], 30, 2]);
    }, 60_000);
  });
});

describe('the guardian in production', () => {
  const prod = (evidenceDir: string, projectDir: string, extra: Record<string, unknown> = {}) => ({
    profile: 'production' as const,
    modelSha256: SHA,
    evidenceDir,
    audit: { signingKey: KEY, file: path.join(evidenceDir, '..', `audit-${Math.random()}.log`) },
    ...extra,
    securityPreflight: { projectDir, ...((extra.securityPreflight as object) ?? {}) },
  });
  const events = (dir: string) => verifyRunAudit(dir).entries.map((e) => `${e.event}:${e.decision}`);

  it('runs the preflight once, then accepts its passing artifact; age 0 or an edited artifact runs it again', async () => {
    const evidence = path.join(tmp('tg-prod-evidence-'), 'evidence');
    const project = cleanProject();
    await new TiRexGuardian(prod(evidence, project)).close();
    await new TiRexGuardian(prod(evidence, project)).close();
    expect(events(evidence)).toEqual(['preflight:pass', 'startup-gate:pass', 'startup-gate:pass']);
    await new TiRexGuardian(prod(evidence, project, { securityPreflight: { maxArtifactAgeHours: 0 } })).close();
    expect(events(evidence).slice(3)).toEqual(['preflight:pass', 'startup-gate:pass']);
    // An artifact edited after the fact no longer matches the sha256 its run audit line recorded.
    for (const f of listArtifacts(evidence, 'security_preflight')) fs.appendFileSync(path.join(evidence, f), ' ');
    await new TiRexGuardian(prod(evidence, project)).close();
    expect(events(evidence).slice(5)).toEqual(['preflight:pass', 'startup-gate:pass']);
    // A changed lockfile is another tree: not the one the artifact passed.
    fs.writeFileSync(path.join(project, 'package-lock.json'), fs.readFileSync(path.join(project, 'package-lock.json'), 'utf8') + '\n');
    await new TiRexGuardian(prod(evidence, project)).close();
    expect(events(evidence).slice(7)).toEqual(['preflight:pass', 'startup-gate:pass']);
    // Asked to consult an OSV directory too: an artifact made without it does not stand for that.
    await new TiRexGuardian(prod(evidence, project, { securityPreflight: { osvDir: path.join(__dirname, 'fixtures', 'osv') } })).close();
    expect(events(evidence).slice(9)).toEqual(['preflight:pass', 'startup-gate:pass']);
    const gate = JSON.parse(fs.readFileSync(path.join(evidence, listArtifacts(evidence, 'startup_gate')[0]!), 'utf8'));
    expect(gate).toMatchObject({ kind: 'startup_gate', entryPoint: 'guardian', decision: 'pass', failures: [], profile: 'production', versions: { model: { sha256: SHA, signer: 'f89d2536a7016496' } } });
  }, 60_000);

  it('a failing preflight is a gate with its remedies, recorded with the decision; off is a failing gate too', () => {
    const evidence = path.join(tmp('tg-prod-evidence-'), 'evidence');
    const project = cleanProject();
    fs.rmSync(path.join(project, 'package-lock.json'));
    const err = thrown(() => new TiRexGuardian(prod(evidence, project))) as Error & { code?: string; failures?: { gate: string; problem: string; remedy: string }[] };
    expect(err.code).toBe('TG_GATE_FAILED');
    expect(err.failures!.map((f) => f.gate)).toEqual(['security-preflight']);
    expect(err.failures![0]!.problem).toContain('the security preflight found 1 installed-tree problem(s): no package-lock.json');
    expect(err.failures![0]!.remedy).toContain('npm ci');
    expect(events(evidence)).toEqual(['preflight:fail', 'startup-gate:fail']);
    const gate = JSON.parse(fs.readFileSync(path.join(evidence, listArtifacts(evidence, 'startup_gate')[0]!), 'utf8'));
    expect(gate.failures.map((f: { gate: string }) => f.gate)).toEqual(['security-preflight']);
    const off = thrown(() => new TiRexGuardian(prod(evidence, cleanProject(), { securityPreflight: { required: false } }))) as Error & { failures?: { gate: string; problem: string }[] };
    expect(off.failures!.map((f) => [f.gate, f.problem])).toEqual([['security-preflight', 'the security preflight is off (securityPreflight.required: false)']]);
    // No evidence directory, or one that cannot be written: a gate of its own.
    const none = thrown(() => new TiRexGuardian({ ...prod(evidence, cleanProject()), evidenceDir: undefined })) as Error & { failures?: { gate: string }[] };
    expect(none.failures!.map((f) => f.gate)).toEqual(['evidence-dir']);
    const unwritable = thrown(() => new TiRexGuardian({ ...prod('/proc/nope/evidence', cleanProject()), audit: { signingKey: KEY, file: path.join(evidence, 'audit.log') } })) as Error & { failures?: { gate: string; problem: string }[] };
    expect(unwritable.failures!.map((f) => [f.gate, f.problem])).toEqual([['evidence-dir', 'the evidence directory /proc/nope/evidence cannot be created or written']]);
  }, 60_000);

  it('outside production the preflight runs when asked for, and refuses a failing tree', async () => {
    const project = cleanProject();
    fs.rmSync(path.join(project, 'package-lock.json'));
    const err = thrown(() => new TiRexGuardian({ profile: 'staging', enableAuditLogging: false, securityPreflight: { required: true, projectDir: project } }));
    expect([err.code, err.message.split('\n')[0]]).toEqual(['TG_GATE_FAILED', 'refusing to start: 1 gate(s) failed:']);
    await new TiRexGuardian({ profile: 'staging', enableAuditLogging: false }).close(); // not asked: not run
  }, 60_000);

  it('the override lets a failing preflight through, with a warning, and the evidence says who and until when', async () => {
    const evidence = path.join(tmp('tg-prod-evidence-'), 'evidence');
    const project = cleanProject();
    fs.rmSync(path.join(project, 'package-lock.json'));
    const { until, warnings } = await underOverride(() => new TiRexGuardian(prod(evidence, project)).close());
    expect(warnings).toEqual([`TG_SECURITY_OVERRIDE: security preflight failed (findings) and runs on under TG_SECURITY_HARD_FAIL=0 set by ${os.userInfo().username} until ${until}`]);
    const r = verifyRunAudit(evidence);
    expect(r.entries.map((e) => `${e.event}:${e.decision}`)).toEqual(['preflight:override', 'startup-gate:pass']);
    expect(r.entries[0]!.detail).toMatchObject({ overrideBy: os.userInfo().username, overrideUntil: until });
  }, 60_000);

  it("the service's start under the override: the same warning, once, and no failure", async () => {
    const project = cleanProject();
    fs.rmSync(path.join(project, 'package-lock.json'));
    const loaded = loadServiceConfig({ env: { TG_SECURITY_PREFLIGHT: 'on', TG_SECURITY_REGISTRY: 'off' } });
    const config = { ...loaded, security: { ...loaded.security, projectDir: project } };
    const { until, warnings, result: started } = await underOverride(() => startSecurity(config));
    expect([started.report?.decision, started.failures]).toEqual(['override', []]);
    expect(warnings).toEqual([`TG_SECURITY_OVERRIDE: security preflight failed (findings) and runs on under TG_SECURITY_HARD_FAIL=0 set by ${os.userInfo().username} until ${until}`]);
  }, 60_000);
});
