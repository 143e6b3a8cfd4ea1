/**
 * The command line: `tirex-guardian info` (runtime, providers, CPU path) and
 * `tirex-guardian scan <csv> [--column NAME] [--lo X] [--hi Y]` (the input shield's statistics
 * of one series). `forecast` arrives with the guardian.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { readCsvColumn } from './data/csv';
import { formatAuditReport, verifyAuditLog } from './audit';
import { queryAuditLog, type AuditQuery } from './audit/query';
import type { AuditStatus } from './audit/record';
import { TiRexGuardian } from './guardian/guardian';
import { manifestEvaluation, modelCard, writeManifestEvaluation, type LatencyFigure } from './eval/card';
import { evaluateModel, formatEvaluation } from './eval/evaluate';
import { loadSeries } from './eval/series';
import { ModelSession } from './model/session';
import { packageRoot } from './native/addon';
import { cpuFeatures } from './kernels/cpu';
import { scan } from './kernels/scan';
import { runtimeInfo } from './native/runtime';

const USAGE = `usage:
  tirex-guardian forecast <file.csv> [--column NAME|INDEX] [--horizon 32] [--profile staging|production|development]
                          [--model M.json] [--model-sha256 HEX] [--audit-file F --signing-key-file K] [--user ID] [--json]
  tirex-guardian audit verify <audit.log | segment dir> [--public-key-file PEM | --signing-key-file K] [--json]
                          (HMAC key: the file, else $TG_AUDIT_SIGNING_KEY; Ed25519: the public key)
  tirex-guardian audit query <audit.log | segment dir> [--from TIME] [--to TIME] [--user ID [--caller-key-file K]]
                          [--status ok,corrected,fallback,blocked] [--model SHA256-PREFIX] [--limit N] [--json]
  tirex-guardian info
  tirex-guardian scan <file.csv> [--column NAME|INDEX] [--lo X] [--hi Y] [--json]
  tirex-guardian evaluate <model.json> [--data DIR] [--horizon 32] [--origins 64] [--json FILE] [--series PREFIX]
                          [--card FILE.md] [--update-manifest] [--latency bench/results/model-default-t2048.json]`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

function numberFlag(args: string[], name: string, fallback: number): number {
  const raw = flag(args, name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (Number.isNaN(v)) throw new Error(`--${name} must be a number, got ${raw}`);
  return v;
}

/** The single-thread latency figure of a benchmark result file (bench/scenarios/model.mjs). */
function readLatency(file: string | undefined): LatencyFigure | null {
  if (!file || !fs.existsSync(file)) return null;
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  const t = r.tasks[0];
  const m = r.machine;
  return {
    p50Ns: t.p50Ns,
    p99Ns: t.p99Ns,
    machine: `${m.cpu}, ${m.cores} cores, Node ${m.node}`,
    command: 'npm run bench -- model',
    date: r.date,
  };
}

/** The model shipped in models/ (resolved from the package, wherever it is installed). */
export function defaultModelManifest(): string {
  return path.join(packageRoot(), 'models', 'tirex-guardian-default.json');
}

function forecastCommand(args: string[]): number {
  const col = readCsvColumn(args[0]!, flag(args, 'column'));
  const horizon = numberFlag(args, 'horizon', 32);
  const profile = (flag(args, 'profile') ?? 'staging') as 'production' | 'staging' | 'development';
  const auditFile = flag(args, 'audit-file');
  const keyFile = flag(args, 'signing-key-file');
  // Without a key file the audit trail lives in memory for this run, signed with a fresh key.
  const signingKey = keyFile ? fs.readFileSync(keyFile, 'utf8').trim() : randomBytes(32).toString('hex');
  const guardian = new TiRexGuardian({
    profile,
    model: flag(args, 'model') ?? defaultModelManifest(),
    modelSha256: flag(args, 'model-sha256'),
    audit: { signingKey, file: auditFile, durability: auditFile ? 'fsync' : 'memory' },
  });
  const result = guardian.safeForecast({ context: col.values, predictionLength: horizon, userId: flag(args, 'user') ?? 'cli' });
  const m = guardian.session.manifest;
  const K = result.levels.length;
  const steps = result.quantiles ? Array.from({ length: horizon }, (_, h) => Array.from(result.quantiles!.subarray(h * K, (h + 1) * K))) : null;
  const report = {
    file: args[0],
    column: col.name,
    rows: col.values.length,
    missingCells: col.missing,
    profile,
    status: result.status,
    reason: result.reason,
    threat: result.threat,
    shields: result.shields,
    fallback: result.fallback,
    warnings: result.warnings,
    auditId: result.auditId,
    audit: auditFile ?? 'in memory for this run',
    model: result.model,
    timings: result.timings,
    horizon,
    levels: result.levels,
    quantiles: steps,
  };
  if (args.includes('--json')) {
    process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  } else {
    const last = col.values[col.values.length - 1];
    const lines = [
      `${report.file} [${report.column}]: ${report.rows} rows (${report.missingCells} missing), last value ${last}`,
      `model ${m.name} ${m.version} (sha256 ${result.model.sha256.slice(0, 12)}..., ${result.model.provider}), profile ${profile}`,
      `status: ${result.status}${result.reason ? ` (${result.reason})` : ''}`,
      `threat score ${result.threat.score.toFixed(3)} (${result.threat.decision})${result.threat.signals.length ? `: ${result.threat.signals.join(', ')}` : ''}`,
      ...(result.shields.length ? result.shields.map((s) => `shield ${s.shield}: ${s.action}${s.detail ? ` (${s.detail})` : ''}`) : ['shields: nothing to correct']),
      ...result.warnings.map((w) => `warning: ${w}`),
      `audit record ${result.auditId} (${report.audit}); ${(result.timings.totalUs / 1000).toFixed(2)} ms total, model ${(result.timings.modelUs / 1000).toFixed(2)} ms`,
      '',
      `${'step'.padStart(4)} ${result.levels.map((l) => `q${Math.round(l * 100)}`.padStart(11)).join(' ')}`,
      ...(steps ?? []).map((q, h) => `${String(h + 1).padStart(4)} ${q.map((v) => v.toPrecision(6).padStart(11)).join(' ')}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }
  void guardian.close();
  return result.status === 'blocked' ? 3 : 0;
}

/** The verifying key: an Ed25519 public key file, the HMAC secret's file, else the environment
 * (never a command-line value). */
function verifyKey(args: string[]): { publicKey: string } | { signingKey: string } {
  const publicKeyFile = flag(args, 'public-key-file');
  if (publicKeyFile) return { publicKey: fs.readFileSync(publicKeyFile, 'utf8') };
  const keyFile = flag(args, 'signing-key-file');
  if (keyFile) return { signingKey: fs.readFileSync(keyFile, 'utf8').trim() };
  const env = process.env.TG_AUDIT_SIGNING_KEY;
  if (env) return { signingKey: env };
  throw new Error('audit verify needs a key: --public-key-file FILE (Ed25519), --signing-key-file FILE or $TG_AUDIT_SIGNING_KEY (HMAC)');
}

/** Verifies an audit log (a file or a directory of segments) offline: exit 0 verified, 1 tampered
 * or unreadable, 4 unverified tail. */
export async function verifyCommand(args: string[]): Promise<number> {
  const report = await verifyAuditLog(args[0]!, verifyKey(args));
  process.stdout.write((args.includes('--json') ? JSON.stringify(report, null, 2) : formatAuditReport(report)) + '\n');
  return report.status === 'verified' ? 0 : report.status === 'unverified-tail' ? 4 : 1;
}

/** Prints the records that match: JSON lines with --json, else one line each. Exit 0. */
export async function queryCommand(args: string[]): Promise<number> {
  const q: AuditQuery = {};
  const from = flag(args, 'from');
  const to = flag(args, 'to');
  if (from !== undefined) q.from = /^\d+$/.test(from) ? Number(from) : from;
  if (to !== undefined) q.to = /^\d+$/.test(to) ? Number(to) : to;
  const user = flag(args, 'user');
  if (user !== undefined) q.user = user;
  const callerKeyFile = flag(args, 'caller-key-file');
  if (callerKeyFile) q.callerIdKey = fs.readFileSync(callerKeyFile, 'utf8').trim();
  const status = flag(args, 'status');
  if (status !== undefined) q.status = status.split(',') as AuditStatus[];
  const model = flag(args, 'model');
  if (model !== undefined) q.model = model;
  const limit = flag(args, 'limit');
  if (limit !== undefined) q.limit = numberFlag(args, 'limit', Infinity);
  const json = args.includes('--json');
  const out: string[] = [];
  const flushOut = (): void => {
    if (out.length) process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  };
  const r = await queryAuditLog(args[0]!, q, (rec) => {
    out.push(json ? JSON.stringify(rec) : `${rec.time} ${rec.id} ${rec.status.padEnd(9)} caller ${rec.callerId} model ${String(rec.modelHash).slice(0, 12)} ${rec.latencyUs} us${rec.fallback ? ` fallback ${rec.fallback}` : ''}`);
    if (out.length >= 1000) flushOut();
  });
  flushOut();
  process.stderr.write(`${r.matched} of ${r.scanned} entries matched${r.unreadable ? `; ${r.unreadable} lines are not entries (run audit verify)` : ''}\n`);
  return 0;
}

export function main(argv: string[]): number | Promise<number> {
  const [command, ...args] = argv;
  if (command === 'audit' && args[0] === 'verify' && args[1] && !args[1].startsWith('--')) return verifyCommand(args.slice(1));
  if (command === 'audit' && args[0] === 'query' && args[1] && !args[1].startsWith('--')) return queryCommand(args.slice(1));
  if (command === 'verify' && args[0] && !args[0].startsWith('--')) return verifyCommand(args); // the older spelling
  if (command === 'forecast' && args[0] && !args[0].startsWith('--')) return forecastCommand(args);
  if (command === 'info') {
    const info = { runtime: runtimeInfo(), cpu: cpuFeatures(), node: process.version, napi: process.versions.napi };
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    return 0;
  }
  if (command === 'scan' && args[0] && !args[0].startsWith('--')) {
    const col = readCsvColumn(args[0], flag(args, 'column'));
    const stats = scan(col.values, { lo: numberFlag(args, 'lo', -Infinity), hi: numberFlag(args, 'hi', Infinity) });
    const report = { file: args[0], column: col.name, rows: col.values.length, missingCells: col.missing, stats };
    if (args.includes('--json')) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else {
      process.stdout.write(`${report.file} [${report.column}]: ${report.rows} rows, ${report.missingCells} missing cells\n`);
      for (const [k, v] of Object.entries(stats)) process.stdout.write(`  ${k.padEnd(18)} ${v}\n`);
    }
    return 0;
  }
  if (command === 'evaluate' && args[0] && !args[0].startsWith('--')) {
    const session = ModelSession.load(args[0], { intraOpThreads: 1 });
    const dataDir = path.resolve(flag(args, 'data') ?? path.join(process.cwd(), 'data'));
    const prefix = flag(args, 'series') ?? '';
    const series = loadSeries(dataDir).filter((s) => s.id.startsWith(prefix));
    const result = evaluateModel(session, series, {
      horizon: numberFlag(args, 'horizon', 32),
      maxOrigins: numberFlag(args, 'origins', 64),
    });
    process.stdout.write(formatEvaluation(result) + '\n');
    const out = flag(args, 'json');
    if (out) fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
    const command = `npx tirex-guardian ${argv.join(' ')}`;
    if (args.includes('--update-manifest')) writeManifestEvaluation(session.manifest, manifestEvaluation(result, command));
    const card = flag(args, 'card');
    if (card) fs.writeFileSync(card, modelCard(session.manifest, result, command, readLatency(flag(args, 'latency'))));
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return command === undefined || command === '--help' || command === 'help' ? 0 : 2;
}
