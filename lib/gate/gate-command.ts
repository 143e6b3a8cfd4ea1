/**
 * `tirex-guardian gate`: the forecast-quality gate from the command line. Live evidence:
 * `--model SHA --journal DIR --audit LOG`; backtest evidence: `--model MANIFEST --backtest FILE...`.
 * The decision on stdout (text, or the whole result with --json), the artifact in the evidence
 * directory (--evidence-dir, else $TG_EVIDENCE_DIR; none: nothing written, and it says so).
 * Exit 0 PASS, 1 FAIL, 2 usage, 3 the evidence could not be read.
 */
import type { CommandFlags } from '../service/keys-command';
import { verifyKeyFromFlags } from '../verify-key-flags';
import { DEFAULT_GATE_THRESHOLDS, type GateThresholds } from './decision';
import { THRESHOLD_FLAGS } from './gate-flags';
import { evaluateGate, type GateOptions, type GateResult } from './forecast-gate';

function optionsOf(f: CommandFlags, files: readonly string[]): GateOptions {
  const model = f.string('model');
  if (model === undefined) throw f.error('--model is required (a sha256, or the manifest for a backtest)');
  const journal = f.string('journal');
  const backtest = f.has('backtest');
  if ((journal !== undefined) === backtest) throw f.error('give --journal DIR (live evidence) or --backtest FILE... (a backtest), one of the two');
  if (!backtest && files.length > 0) throw f.error(`unexpected argument ${JSON.stringify(files[0])} (files are read with --backtest)`);
  if (backtest && files.length === 0) throw f.error('--backtest needs at least one .json registry or .csv file');
  const thresholds: Partial<GateThresholds> = {};
  for (const [flag, key] of Object.entries(THRESHOLD_FLAGS)) {
    if (f.string(flag) !== undefined) thresholds[key] = f.number(flag, DEFAULT_GATE_THRESHOLDS[key]);
  }
  const o: GateOptions = { model, thresholds, excludeThin: f.has('exclude-thin') };
  const evidenceDir = f.string('evidence-dir') ?? (process.env.TG_EVIDENCE_DIR || undefined);
  if (evidenceDir !== undefined) o.evidenceDir = evidenceDir;
  const from = f.string('from');
  const to = f.string('to');
  if (from !== undefined) o.from = /^\d+$/.test(from) ? Number(from) : from;
  if (to !== undefined) o.to = /^\d+$/.test(to) ? Number(to) : to;
  const instruments = f.string('instrument');
  if (instruments !== undefined) o.instruments = instruments.split(',').filter((s) => s.length > 0);
  if (backtest) {
    o.backtest = files;
    o.horizon = f.integer('horizon', 32, 1, 256);
    o.maxOrigins = f.integer('origins', 64, 1, 1_000_000);
    o.heldOutFraction = f.number('held-out', 0.2);
  } else {
    o.journal = journal;
    const audit = f.string('audit');
    if (audit !== undefined) o.audit = audit;
    const source = f.string('source') ?? 'model';
    if (source !== 'model' && source !== 'shadow') throw f.error(`--source must be model or shadow, got ${JSON.stringify(source)}`);
    o.source = source;
    const key = verifyKeyFromFlags(f);
    if (key === null) throw f.error('live evidence needs the verifying key: --public-key-file FILE (Ed25519), --signing-key-file FILE or $TG_AUDIT_SIGNING_KEY (HMAC)');
    o.key = key;
  }
  return o;
}

const f4 = (v: number | string | null): string => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : String(v));

export function formatGate(r: GateResult): string {
  const lines = [
    `forecast-quality gate: ${r.status}`,
    `model ${r.model.sha256}${r.model.name ? ` (${r.model.name} ${r.model.version})` : ''}`,
    `evidence: ${r.evidence.kind}: ${r.evidence.description}`,
    '',
    ...r.checks.map((c) => `  ${c.pass ? 'pass' : 'FAIL'}  ${c.name.padEnd(24)} ${f4(c.measured).padStart(10)}   (${c.threshold})`),
  ];
  if (r.excluded.length > 0) lines.push('', `left out (too few origins): ${r.excluded.join(', ')}`);
  if (r.reasons.length > 0) lines.push('', 'reasons:', ...r.reasons.map((x) => `  - ${x}`));
  lines.push('', r.artifact ? `artifact: ${r.artifact.file} (sha256 ${r.artifact.sha256})` : 'no evidence directory (--evidence-dir or $TG_EVIDENCE_DIR): no artifact written');
  return lines.join('\n');
}

export async function gateCommand(f: CommandFlags, files: readonly string[]): Promise<number> {
  const options = optionsOf(f, files);
  let result: GateResult;
  try {
    result = await evaluateGate(options);
  } catch (err) {
    process.stderr.write(`tirex-guardian gate: ${(err as { code?: string }).code ?? 'error'}: ${(err as Error).message}\n`);
    return 3;
  }
  process.stdout.write((f.has('json') ? JSON.stringify(result, null, 2) : formatGate(result)) + '\n');
  return result.status === 'PASS' ? 0 : 1;
}
