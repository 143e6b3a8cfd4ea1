/**
 * `tirex-guardian preflight`: the security preflight from the command line, its report on
 * stdout (text, or the whole report with --json) and its evidence in the evidence directory
 * (--evidence-dir, else $TG_EVIDENCE_DIR; none: nothing written, and the report says so). Exit
 * 0 pass (or an override in force), 1 findings, 2 cannot check (or the evidence could not be
 * written), 3 bad configuration (a usage error too: lib/cli.ts).
 */
import * as path from 'node:path';

import { recordPreflight } from '../evidence/preflight-evidence';
import { defaultTrustedKeysFile } from '../model/signature';
import { packageRoot } from '../native/addon';
import type { CommandFlags } from '../service/keys-command';
import type { Finding, Threshold } from './findings';
import { runPreflight, type PreflightOptions, type PreflightReport } from './preflight';
import { SEVERITIES } from './severity';

function optionsOf(f: CommandFlags): PreflightOptions {
  const env = process.env;
  const o: PreflightOptions = {};
  const project = f.string('project');
  const allowlist = f.string('allowlist') ?? (env.TG_SECURITY_ALLOWLIST || undefined);
  const osv = f.string('osv-dir') ?? (env.TG_SECURITY_OSV_DIR || undefined);
  const db = f.string('advisory-db');
  const threshold = f.string('threshold');
  if (project !== undefined) o.projectDir = project;
  if (allowlist !== undefined) o.allowlistFile = allowlist;
  if (osv !== undefined) o.osvDir = osv;
  if (db !== undefined) o.advisoryDb = db;
  if (threshold !== undefined) {
    if (!(SEVERITIES as readonly string[]).includes(threshold)) throw f.error(`--threshold must be one of ${SEVERITIES.join(', ')}, got ${JSON.stringify(threshold)}`);
    o.severityThreshold = threshold as Threshold;
  }
  if (f.has('offline') && f.string('registry') !== undefined) throw f.error('--offline and --registry contradict each other');
  if (f.has('offline')) o.registry = false;
  else if (f.string('registry') !== undefined) o.registry = f.string('registry')!;
  if (f.has('omit-dev')) o.omitDev = true;
  return o;
}

const line = (f: Finding): string =>
  `${f.severity.padEnd(8)} ${f.package}@${f.version}  ${f.advisories.map((a) => a.id).join(', ')}  ${f.advisories[0]?.title ?? ''}${f.paths[0] !== 'process' ? `  (${f.paths.join(', ')})` : '  (the running Node.js)'}`;

function text(r: PreflightReport, evidence: string | null): string {
  const out: string[] = [];
  const verdict = r.decision === 'pass' ? 'PASS' : r.decision === 'override' ? `FAIL (${r.status}), let through by the override` : `FAIL (${r.status})`;
  out.push(`security preflight: ${verdict}, exit ${r.exitCode}`);
  if (r.error !== null) out.push(`  configuration: ${r.error.code}: ${r.error.message}`);
  out.push(`  project ${r.projectDir}: ${r.packages} packages installed, lockfile ${r.lockfile === null ? 'none' : `${path.basename(r.lockfile.path)} sha256 ${r.lockfile.sha256.slice(0, 16)}...`}; Node.js ${r.node}`);
  for (const s of r.sources) out.push(`  source ${s.name}: ${s.ok ? 'consulted' : 'unavailable'}: ${s.detail}`);
  if (r.status !== 'bad-config') out.push(`  tree: ${r.tree.detail}${r.tree.checked && r.tree.problems.length === 0 ? ', consistent' : ''}`);
  for (const p of r.tree.problems) out.push(`    ${p.kind}: ${p.detail}`);
  const counted = r.findings.filter((x) => x.counts);
  const allowed = r.findings.filter((x) => x.allowlisted !== null);
  const below = r.findings.filter((x) => !x.counts && x.allowlisted === null);
  if (counted.length > 0) out.push(`  findings at or above ${r.threshold} (${counted.length}):`, ...counted.flatMap((x) => [`    ${line(x)}`, `      remedy: ${x.remedy}`]));
  if (allowed.length > 0) out.push(`  allowlisted (${allowed.length}):`, ...allowed.map((x) => `    ${line(x)}  [${x.allowlisted!.id} until ${x.allowlisted!.expires}, ${x.allowlisted!.tracking}]`));
  if (below.length > 0) out.push(`  below the threshold (${below.length}):`, ...below.map((x) => `    ${line(x)}`));
  for (const w of r.warnings) out.push(`  warning: ${w}`);
  const shown = new Set(counted.map((x) => x.remedy));
  if (r.decision !== 'pass') for (const m of r.remedies) if (!shown.has(m)) out.push(`  remedy: ${m}`);
  out.push(`  evidence: ${evidence ?? 'not written (no --evidence-dir or $TG_EVIDENCE_DIR)'}`);
  return `${out.join('\n')}\n`;
}

export async function preflightCommand(f: CommandFlags): Promise<number> {
  const options = optionsOf(f);
  const report = await runPreflight(options);
  const dir = f.string('evidence-dir') ?? (process.env.TG_EVIDENCE_DIR || undefined);
  let evidence: string | null = null;
  let exit: number = report.exitCode;
  if (dir !== undefined) {
    try {
      const model = { manifest: f.string('model') ?? path.join(packageRoot(), 'models', 'tirex-guardian-default.json'), trustedKeysFile: f.string('trusted-keys') ?? defaultTrustedKeysFile() };
      evidence = recordPreflight(path.resolve(dir), report, 'cli', model).path;
    } catch (err) {
      process.stderr.write(`tirex-guardian preflight: the evidence could not be written: ${(err as Error).message}\n`);
      if (exit === 0) exit = 2;
    }
  }
  if (report.decision === 'override') {
    process.stderr.write(
      `WARNING: the security preflight FAILED (${report.status}) and is let through by TG_SECURITY_HARD_FAIL=0, set by ${report.override!.user}, until ${report.override!.until}.` +
        ' Restore strict mode as soon as the window ends.\n',
    );
  }
  process.stdout.write(f.has('json') ? `${JSON.stringify({ ...report, evidence }, null, 2)}\n` : text(report, evidence));
  return exit;
}
