/**
 * The command line: forecast, evaluate, scan, info, serve, audit verify, audit query, keys create,
 * keys revoke, keys list, model sign, model verify, preflight, evidence verify, gate (USAGE below).
 * Every subcommand declares its flags and their types; anything else (an unknown or misspelt
 * flag, a flag without its value, a malformed number, an unknown profile, a stray argument) is a
 * usage error: the problem and the subcommand's usage line on stderr, exit 2, nothing run. A
 * silently ignored flag would run something other than what was asked.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { readCsvColumn } from './data/csv';
import { formatAuditReport, verifyAuditLog } from './audit';
import { queryAuditLog, type AuditQuery } from './audit/query';
import { AUDIT_STATUSES, type AuditStatus } from './audit/record';
import { TiRexGuardian } from './guardian/guardian';
import { PROFILE_NAMES } from './guardian/thresholds';
import { manifestEvaluation, modelCard, writeManifestEvaluation, type LatencyFigure } from './eval/card';
import { evaluateModel, formatEvaluation } from './eval/evaluate';
import { loadSeries } from './eval/series';
import { ModelSession } from './model/session';
import { packageRoot } from './native/addon';
import { cpuFeatures } from './kernels/cpu';
import { scan } from './kernels/scan';
import { runtimeInfo } from './native/runtime';
import { progressReporter } from './cli-progress';
import { evaluationSvg } from './plot/evaluation-chart';
import { fanChartSvg } from './plot/fan-chart';
import { svgPathProblem, writeSvgFile } from './plot/write';
import { keysCreateCommand, keysListCommand, keysRevokeCommand } from './service/keys-command';
import { modelSignCommand, modelVerifyCommand } from './model/model-command';
import { evidenceVerifyCommand } from './evidence/evidence-command';
import { GATE_FLAGS, GATE_USAGE } from './gate/gate-flags';
import { verifyKeyFromFlags } from './verify-key-flags';

type CommandName =
  | 'forecast'
  | 'audit verify'
  | 'audit query'
  | 'info'
  | 'scan'
  | 'evaluate'
  | 'keys create'
  | 'keys revoke'
  | 'keys list'
  | 'serve'
  | 'model sign'
  | 'model verify'
  | 'preflight'
  | 'evidence verify'
  | 'gate';

const PAD = ' '.repeat(29);
const USAGE: Readonly<Record<CommandName, string>> = {
  forecast:
    'usage: tirex-guardian forecast <file.csv> [--column NAME|INDEX] [--horizon 32] [--profile staging|production|development]\n' +
    `${PAD}[--model M.json] [--model-sha256 HEX] [--audit-file F --signing-key-file K] [--user ID] [--json] [--plot FILE.svg]`,
  'audit verify':
    'usage: tirex-guardian audit verify <audit.log | segment dir> [--public-key-file PEM | --signing-key-file K] [--json]\n' +
    `${PAD}(HMAC key: the file, else $TG_AUDIT_SIGNING_KEY; Ed25519: the public key)`,
  'audit query':
    'usage: tirex-guardian audit query <audit.log | segment dir> [--from TIME] [--to TIME] [--user ID [--caller-key-file K]]\n' +
    `${PAD}[--status ok,corrected,fallback,blocked] [--model SHA256-PREFIX] [--limit N] [--json]`,
  info: 'usage: tirex-guardian info',
  scan: 'usage: tirex-guardian scan <file.csv> [--column NAME|INDEX] [--lo X] [--hi Y] [--json]',
  evaluate:
    'usage: tirex-guardian evaluate <model.json> [--data DIR] [--horizon 32] [--origins 64] [--json FILE] [--series PREFIX]\n' +
    `${PAD}[--card FILE.md] [--update-manifest] [--latency bench/results/model-default-t2048.json] [--plot FILE.svg] [--compare OTHER.json]`,
  'keys create':
    'usage: tirex-guardian keys create --id ID --scopes forecast[,admin,metrics,ticks] [--expires 2027-01-31T00:00:00Z | --expires-in 30d|12h|2w]\n' +
    `${PAD}[--forecast-per-second N] [--forecast-burst N] [--api-per-minute N] [--keys-file F] [--json]\n` +
    `${PAD}(key file: --keys-file, else $TG_KEYS_FILE, else ./tirex-guardian-keys.json)`,
  'keys revoke': 'usage: tirex-guardian keys revoke --id ID [--keys-file F]',
  serve: 'usage: tirex-guardian serve [--config FILE.json]   (and TG_* environment variables: README, "The service")',
  'keys list': 'usage: tirex-guardian keys list [--keys-file F] [--json]',
  'model sign': 'usage: tirex-guardian model sign <model.json> --key ED25519-PRIVATE.pem [--json]   (writes <model.json>.sig)',
  'model verify': 'usage: tirex-guardian model verify <model.json> [--trusted-keys FILE] [--json]   (default: the shipped models/trusted-keys.json)',
  preflight:
    'usage: tirex-guardian preflight [--json] [--evidence-dir DIR] [--project DIR] [--allowlist FILE] [--osv-dir DIR] [--advisory-db DIR]\n' +
    `${PAD}[--threshold low|moderate|high|critical] [--offline | --registry URL] [--omit-dev] [--model M.json] [--trusted-keys FILE]\n` +
    `${PAD}(exit 0 pass, 1 findings, 2 cannot check, 3 bad configuration; $TG_EVIDENCE_DIR, $TG_SECURITY_ALLOWLIST, $TG_SECURITY_OSV_DIR)`,
  'evidence verify': 'usage: tirex-guardian evidence verify <evidence dir> [--json]   (the run audit chain and the artifacts it names)',
  gate: GATE_USAGE,
};
const ALL_USAGE = Object.values(USAGE).join('\n');

type FlagType = 'string' | 'boolean';

/** A subcommand's contract: its one positional argument (or none) and every flag it knows. */
interface CommandSpec {
  positional: string | null;
  /** The positional may be given any number of times, none included (ParsedArgs.targets). */
  many?: boolean;
  flags: Readonly<Record<string, FlagType>>;
}

const COMMANDS: Readonly<Record<CommandName, CommandSpec>> = {
  forecast: {
    positional: '<file.csv>',
    flags: { column: 'string', horizon: 'string', profile: 'string', model: 'string', 'model-sha256': 'string', 'audit-file': 'string', 'signing-key-file': 'string', user: 'string', json: 'boolean', plot: 'string' },
  },
  'audit verify': { positional: '<audit.log | segment dir>', flags: { 'public-key-file': 'string', 'signing-key-file': 'string', json: 'boolean' } },
  'audit query': {
    positional: '<audit.log | segment dir>',
    flags: { from: 'string', to: 'string', user: 'string', 'caller-key-file': 'string', status: 'string', model: 'string', limit: 'string', json: 'boolean' },
  },
  info: { positional: null, flags: {} },
  scan: { positional: '<file.csv>', flags: { column: 'string', lo: 'string', hi: 'string', json: 'boolean' } },
  evaluate: {
    positional: '<model.json>',
    flags: { data: 'string', horizon: 'string', origins: 'string', json: 'string', series: 'string', card: 'string', 'update-manifest': 'boolean', latency: 'string', plot: 'string', compare: 'string' },
  },
  'keys create': {
    positional: null,
    flags: {
      id: 'string',
      scopes: 'string',
      expires: 'string',
      'expires-in': 'string',
      'forecast-per-second': 'string',
      'forecast-burst': 'string',
      'api-per-minute': 'string',
      'keys-file': 'string',
      json: 'boolean',
    },
  },
  'keys revoke': { positional: null, flags: { id: 'string', 'keys-file': 'string' } },
  'model sign': { positional: '<model.json>', flags: { key: 'string', json: 'boolean' } },
  'model verify': { positional: '<model.json>', flags: { 'trusted-keys': 'string', json: 'boolean' } },
  'keys list': { positional: null, flags: { 'keys-file': 'string', json: 'boolean' } },
  serve: { positional: null, flags: { config: 'string' } },
  preflight: {
    positional: null,
    flags: {
      json: 'boolean',
      'evidence-dir': 'string',
      project: 'string',
      allowlist: 'string',
      'osv-dir': 'string',
      'advisory-db': 'string',
      threshold: 'string',
      offline: 'boolean',
      registry: 'string',
      'omit-dev': 'boolean',
      model: 'string',
      'trusted-keys': 'string',
    },
  },
  'evidence verify': { positional: '<evidence dir>', flags: { json: 'boolean' } },
  gate: { positional: '[file ...]', many: true, flags: GATE_FLAGS },
};

/** A command line the CLI cannot honour: exit 2 with the usage of `command` (all when null). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: CommandName | null,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The parsed command line: the positional argument and the flags given (each at most once). */
export interface ParsedArgs {
  target: string;
  /** Every positional (commands whose positional may repeat). */
  targets: string[];
  flags: ReadonlyMap<string, string | true>;
}

// A negative number is a value (`--lo -5`); any other value starting with '-' is taken for a
// forgotten value followed by a flag (`--horizon --column Price`).
const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity$)/;

/** Parses `args` against the command's declared flags; throws UsageError on anything else. */
export function parseCommand(command: CommandName, args: string[]): ParsedArgs {
  const spec = COMMANDS[command];
  const options: Record<string, { type: FlagType }> = {};
  for (const [name, type] of Object.entries(spec.flags)) options[name] = { type };
  // strict: false so that every problem is found in the tokens and reported in our own words.
  const { tokens } = parseArgs({ args, options, strict: false, allowPositionals: true, tokens: true });
  const flags = new Map<string, string | true>();
  const positionals: string[] = [];
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option') continue;
    const type = Object.hasOwn(spec.flags, t.name) ? spec.flags[t.name] : undefined;
    if (type === undefined || t.rawName !== `--${t.name}`) {
      const known = Object.keys(spec.flags).map((f) => `--${f}`).join(', ') || 'none';
      throw new UsageError(`unknown flag ${t.rawName} for ${command} (known: ${known})`, command);
    }
    if (flags.has(t.name)) throw new UsageError(`--${t.name} given more than once`, command);
    if (type === 'boolean') {
      if (t.value !== undefined) throw new UsageError(`--${t.name} is a switch and takes no value (got ${JSON.stringify(t.value)})`, command);
      flags.set(t.name, true);
      continue;
    }
    if (t.value === undefined) throw new UsageError(`--${t.name} needs a value`, command);
    if (!t.inlineValue && t.value.startsWith('-') && !NEGATIVE_NUMBER.test(t.value)) {
      throw new UsageError(`--${t.name} needs a value, got the flag ${t.value} (a value starting with '-' is written --${t.name}=VALUE)`, command);
    }
    flags.set(t.name, t.value);
  }
  if (spec.many === true) return { target: positionals[0] ?? '', targets: positionals, flags };
  if (spec.positional === null) {
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, command);
    return { target: '', targets: [], flags };
  }
  if (positionals.length === 0) throw new UsageError(`${command} needs ${spec.positional}`, command);
  if (positionals.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[1])} (${command} takes one ${spec.positional})`, command);
  return { target: positionals[0]!, targets: positionals, flags };
}

/** Reads the parsed flags of one command, checking values; errors are usage errors. */
class Flags {
  constructor(
    private readonly command: CommandName,
    private readonly parsed: ParsedArgs,
  ) {}

  has(name: string): boolean {
    return this.parsed.flags.has(name);
  }

  string(name: string): string | undefined {
    const v = this.parsed.flags.get(name);
    return typeof v === 'string' ? v : undefined;
  }

  /** A whole number in [min, max] written in decimal digits (no sign, exponent or fraction). */
  integer(name: string, fallback: number, min: number, max: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const v = /^\d{1,16}$/.test(raw) ? Number(raw) : NaN;
    if (!(v >= min && v <= max)) throw this.error(`--${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
    return v;
  }

  /** A finite decimal number. */
  number(name: string, fallback: number): number {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    const v = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw) ? Number(raw) : NaN;
    if (!Number.isFinite(v)) throw this.error(`--${name} must be a finite number, got ${JSON.stringify(raw)}`);
    return v;
  }

  /** A chart's file: a path ending in .svg (checked before anything runs). */
  svgFile(name: string): string | undefined {
    const file = this.string(name);
    if (file === undefined) return undefined;
    const problem = svgPathProblem(file);
    if (problem !== null) throw this.error(`--${name}: ${problem}`);
    return file;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.string(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) throw this.error(`--${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(raw)}`);
    return raw as T;
  }

  error(message: string): UsageError {
    return new UsageError(message, this.command);
  }
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
    previousVersionRatio: typeof r.ratios?.currentVsPreviousVersion === 'number' ? r.ratios.currentVsPreviousVersion : null,
  };
}

/** The model shipped in models/ (resolved from the package, wherever it is installed). */
export function defaultModelManifest(): string {
  return path.join(packageRoot(), 'models', 'tirex-guardian-default.json');
}

/** The forecast's signing key: the key file, else (with an audit file) $TG_AUDIT_SIGNING_KEY;
 * without an audit file the trail lives in memory for this run, signed with a fresh key. */
function forecastSigningKey(f: Flags, auditFile: string | undefined): string {
  const keyFile = f.string('signing-key-file');
  if (keyFile !== undefined) return fs.readFileSync(keyFile, 'utf8').trim();
  if (auditFile === undefined) return randomBytes(32).toString('hex');
  const env = process.env.TG_AUDIT_SIGNING_KEY;
  // A log signed with a throw-away key could never be verified: refuse rather than write it.
  if (!env) throw f.error('--audit-file needs --signing-key-file K (or $TG_AUDIT_SIGNING_KEY): a log signed with a throw-away key cannot be verified');
  return env;
}

function forecastCommand(f: Flags, file: string): number {
  const horizon = f.integer('horizon', 32, 1, 100_000);
  const profile = f.oneOf('profile', PROFILE_NAMES, 'staging');
  const plot = f.svgFile('plot');
  const auditFile = f.string('audit-file');
  const signingKey = forecastSigningKey(f, auditFile);
  const col = readCsvColumn(file, f.string('column'));
  const guardian = new TiRexGuardian({
    profile,
    model: f.string('model') ?? defaultModelManifest(),
    ...(f.has('model-sha256') ? { modelSha256: f.string('model-sha256') } : {}),
    // 'memory' said explicitly: the trail of this one run, gone when it ends.
    audit: { signingKey, ...(auditFile !== undefined ? { file: auditFile, durability: 'fsync' as const } : { durability: 'memory' as const }) },
  });
  const result = guardian.safeForecast({ context: col.values, predictionLength: horizon, userId: f.string('user') ?? 'cli' });
  const m = guardian.session.manifest;
  const K = result.levels.length;
  const steps = result.quantiles ? Array.from({ length: horizon }, (_, h) => Array.from(result.quantiles!.subarray(h * K, (h + 1) * K))) : null;
  const report = {
    file,
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
  if (plot !== undefined) {
    const shields = result.shields.map((s) => `${s.shield} ${s.action}${s.detail ? ` (${s.detail})` : ''}`);
    writeSvgFile(
      plot,
      fanChartSvg({
        context: col.values,
        quantiles: result.quantiles,
        levels: result.levels,
        title: `${path.basename(file)} [${col.name}]: ${horizon}-step forecast, ${m.name} ${m.version}`,
        status: result.status,
        fallback: result.fallback?.method ?? null,
        corrected: result.status === 'corrected',
        notes: [...(result.reason ? [`reason: ${result.reason}`] : []), ...(shields.length ? [`shields: ${shields.join('; ')}`] : [])].map((l) => (l.length > 130 ? `${l.slice(0, 129)}\u2026` : l)),
      }),
    );
  }
  if (f.has('json')) {
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

/** The verifying key (lib/verify-key-flags.ts); none at all is an error. */
function verifyKey(f: Flags): { publicKey: string } | { signingKey: string } {
  const key = verifyKeyFromFlags(f);
  if (key === null) throw new Error('audit verify needs a key: --public-key-file FILE (Ed25519), --signing-key-file FILE or $TG_AUDIT_SIGNING_KEY (HMAC)');
  return key;
}

/** Verifies an audit log (a file or a directory of segments) offline: exit 0 verified, 1 tampered
 * or unreadable, 4 unverified tail. */
async function verifyCommand(f: Flags, log: string): Promise<number> {
  const report = await verifyAuditLog(log, verifyKey(f));
  process.stdout.write((f.has('json') ? JSON.stringify(report, null, 2) : formatAuditReport(report)) + '\n');
  return report.status === 'verified' ? 0 : report.status === 'unverified-tail' ? 4 : 1;
}

/** The query the flags describe (checked before the log is opened). */
function auditQueryOf(f: Flags): AuditQuery {
  const q: AuditQuery = {};
  const from = f.string('from');
  const to = f.string('to');
  if (from !== undefined) q.from = /^\d+$/.test(from) ? Number(from) : from;
  if (to !== undefined) q.to = /^\d+$/.test(to) ? Number(to) : to;
  const user = f.string('user');
  if (user !== undefined) q.user = user;
  const callerKeyFile = f.string('caller-key-file');
  if (callerKeyFile !== undefined) {
    // The key only turns --user into its pseudonym: alone it would filter nothing.
    if (user === undefined) throw f.error('--caller-key-file pseudonymizes --user: give --user too');
    q.callerIdKey = fs.readFileSync(callerKeyFile, 'utf8').trim();
  }
  const status = f.string('status');
  if (status !== undefined) {
    const list = status.split(',');
    const bad = list.find((s) => !(AUDIT_STATUSES as readonly string[]).includes(s));
    if (bad !== undefined) throw f.error(`--status takes a comma-separated list of ${AUDIT_STATUSES.join(', ')}, got ${JSON.stringify(bad)}`);
    q.status = list as AuditStatus[];
  }
  const model = f.string('model');
  if (model !== undefined) q.model = model;
  if (f.has('limit')) q.limit = f.integer('limit', Infinity, 1, Number.MAX_SAFE_INTEGER);
  return q;
}

/** Prints the records that match: JSON lines with --json, else one line each. Exit 0. */
async function queryCommand(f: Flags, log: string): Promise<number> {
  const q = auditQueryOf(f);
  const json = f.has('json');
  const out: string[] = [];
  const flushOut = (): void => {
    if (out.length) process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  };
  const r = await queryAuditLog(log, q, (rec) => {
    out.push(json ? JSON.stringify(rec) : `${rec.time} ${rec.id} ${rec.status.padEnd(9)} caller ${rec.callerId} model ${String(rec.modelHash).slice(0, 12)} ${rec.latencyUs} us${rec.fallback ? ` fallback ${rec.fallback}` : ''}`);
    if (out.length >= 1000) flushOut();
  });
  flushOut();
  process.stderr.write(`${r.matched} of ${r.scanned} entries matched${r.unreadable ? `; ${r.unreadable} lines are not entries (run audit verify)` : ''}\n`);
  return 0;
}

function scanCommand(f: Flags, file: string): number {
  const lo = f.number('lo', -Infinity);
  const hi = f.number('hi', Infinity);
  if (!(lo <= hi)) throw f.error(`--lo (${lo}) must not be above --hi (${hi})`);
  const col = readCsvColumn(file, f.string('column'));
  const stats = scan(col.values, { lo, hi });
  const report = { file, column: col.name, rows: col.values.length, missingCells: col.missing, stats };
  if (f.has('json')) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else {
    process.stdout.write(`${report.file} [${report.column}]: ${report.rows} rows, ${report.missingCells} missing cells\n`);
    for (const [k, v] of Object.entries(stats)) process.stdout.write(`  ${k.padEnd(18)} ${v}\n`);
  }
  return 0;
}

function evaluateCommand(f: Flags, manifest: string, argv: string[]): number {
  const horizon = f.integer('horizon', 32, 1, 100_000);
  const maxOrigins = f.integer('origins', 64, 1, 1_000_000);
  const plot = f.svgFile('plot');
  const session = ModelSession.load(manifest, { intraOpThreads: 1 });
  const dataDir = path.resolve(f.string('data') ?? path.join(process.cwd(), 'data'));
  const prefix = f.string('series') ?? '';
  const series = loadSeries(dataDir).filter((s) => s.id.startsWith(prefix));
  const progress = progressReporter('evaluate', 'windows');
  let result;
  let before = null;
  try {
    result = evaluateModel(session, series, { horizon, maxOrigins, onProgress: progress.update });
    const compare = f.string('compare');
    if (compare !== undefined) {
      // Another model (a previous version) on the same windows: the card compares them.
      const other = ModelSession.load(compare, { intraOpThreads: 1 });
      try {
        before = evaluateModel(other, series, { horizon, maxOrigins });
      } finally {
        other.close();
      }
    }
  } finally {
    progress.end();
  }
  process.stdout.write(formatEvaluation(result) + '\n');
  const out = f.string('json');
  if (out) fs.writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  const command = `npx tirex-guardian ${argv.join(' ')}`;
  if (f.has('update-manifest')) writeManifestEvaluation(session.manifest, manifestEvaluation(result, command));
  const card = f.string('card');
  if (card) fs.writeFileSync(card, modelCard(session.manifest, result, command, readLatency(f.string('latency')), before));
  if (plot !== undefined) {
    // The report's coverage counts the interval from the first level to the last.
    const levels = session.manifest.quantileLevels;
    const nominal = levels[levels.length - 1]! - levels[0]!;
    writeSvgFile(plot, evaluationSvg(result, nominal > 0 && nominal < 1 ? { nominalCoverage: nominal } : {}));
  }
  return 0;
}

function infoCommand(): number {
  const info = { runtime: runtimeInfo(), cpu: cpuFeatures(), node: process.version, napi: process.versions.napi };
  process.stdout.write(JSON.stringify(info, null, 2) + '\n');
  return 0;
}

/** The subcommand named by argv and the arguments after its name. */
function commandOf(argv: string[]): { command: CommandName; args: string[] } {
  const [first, ...rest] = argv;
  if (first === 'audit') {
    const sub = rest[0];
    if (sub === 'verify' || sub === 'query') return { command: `audit ${sub}`, args: rest.slice(1) };
    const why = sub === undefined ? 'audit needs a subcommand' : `unknown audit subcommand ${JSON.stringify(sub)}`;
    throw new UsageError(`${why} (known: verify, query)`, null);
  }
  if (first === 'keys') {
    const sub = rest[0];
    if (sub === 'create' || sub === 'revoke' || sub === 'list') return { command: `keys ${sub}`, args: rest.slice(1) };
    const why = sub === undefined ? 'keys needs a subcommand' : `unknown keys subcommand ${JSON.stringify(sub)}`;
    throw new UsageError(`${why} (known: create, revoke, list)`, null);
  }
  if (first === 'model') {
    const sub = rest[0];
    if (sub === 'sign' || sub === 'verify') return { command: `model ${sub}`, args: rest.slice(1) };
    const why = sub === undefined ? 'model needs a subcommand' : `unknown model subcommand ${JSON.stringify(sub)}`;
    throw new UsageError(`${why} (known: sign, verify)`, null);
  }
  if (first === 'evidence') {
    const sub = rest[0];
    if (sub === 'verify') return { command: 'evidence verify', args: rest.slice(1) };
    const why = sub === undefined ? 'evidence needs a subcommand' : `unknown evidence subcommand ${JSON.stringify(sub)}`;
    throw new UsageError(`${why} (known: verify)`, null);
  }
  if (first === 'verify') return { command: 'audit verify', args: rest }; // the older spelling
  // Two-word names ('audit verify') are reached only through their first word, above.
  if (first !== undefined && !first.includes(' ') && Object.hasOwn(COMMANDS, first)) {
    return { command: first as CommandName, args: rest };
  }
  throw new UsageError(`unknown command ${JSON.stringify(first)} (known: forecast, evaluate, scan, info, serve, audit verify, audit query, keys create, keys revoke, keys list, model sign, model verify, preflight, evidence verify, gate)`, null);
}

function run(command: CommandName, args: string[], argv: string[]): number | Promise<number> {
  const parsed = parseCommand(command, args);
  const f = new Flags(command, parsed);
  switch (command) {
    case 'forecast':
      return forecastCommand(f, parsed.target);
    case 'audit verify':
      return verifyCommand(f, parsed.target);
    case 'audit query':
      return queryCommand(f, parsed.target);
    case 'scan':
      return scanCommand(f, parsed.target);
    case 'evaluate':
      return evaluateCommand(f, parsed.target, argv);
    case 'info':
      return infoCommand();
    case 'keys create':
      return keysCreateCommand(f);
    case 'keys revoke':
      return keysRevokeCommand(f);
    case 'keys list':
      return keysListCommand(f);
    case 'model sign':
      return modelSignCommand(f, parsed.target);
    case 'model verify':
      return modelVerifyCommand(f, parsed.target);
    case 'preflight':
      return import('./security/preflight-command').then((m) => m.preflightCommand(f));
    case 'evidence verify':
      return evidenceVerifyCommand(f, parsed.target);
    case 'gate':
      return import('./gate/gate-command').then((m) => m.gateCommand(f, parsed.targets));
    case 'serve':
      // Loaded only here: the other commands do not pay for Fastify and ioredis at start.
      return import('./service/serve-command').then((m) => m.serveCommand(f.string('config')));
  }
}

function usageFailure(err: UsageError): number {
  process.stderr.write(`tirex-guardian: ${err.message}\n${err.command === null ? ALL_USAGE : USAGE[err.command]}\n`);
  // The preflight's exit codes give 2 to "cannot check": its bad command lines are configuration (3).
  return err.command === 'preflight' ? 3 : 2;
}

/** Runs the command line; the exit status (2: usage error), or a promise of it. Usage errors are
 * found before anything is read, loaded or written. */
export function main(argv: string[]): number | Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    process.stdout.write(`${ALL_USAGE}\n`);
    return 0;
  }
  const handle = (err: unknown): number => {
    if (err instanceof UsageError) return usageFailure(err);
    throw err;
  };
  try {
    const { command, args } = commandOf(argv);
    const status = run(command, args, argv);
    return typeof status === 'number' ? status : status.catch(handle);
  } catch (err) {
    return handle(err);
  }
}
