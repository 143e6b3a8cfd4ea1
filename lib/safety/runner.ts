/**
 * The safety report: every case of the corpus against the raw model path (what a user without
 * the guardian writes: ModelSession.load + rolloutSync on a naive float32 tensor) and against the
 * guardian (staging profile, graceful; a strict-strategy guardian on a subset; the async path
 * with a timeout on another), with safety per category for both.
 *
 * Safe: a correct forecast (right shape, finite, ordered levels, plausible against the data,
 * from the data as given), an honest fallback (the same, plus a reason), a block with a reason
 * and no numbers, or a thrown error with a stable TG_ code. Unsafe: a crash (an error without a
 * code), a non-finite, crossing or absurd forecast, a forecast silently derived from changed or
 * missing data, a mutated input, a status without its reason, a guarded call without an audit
 * record.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { TiRexGuardian, type ForecastResult, type GuardianConfig } from '../guardian/guardian';
import { loadManifest } from '../model/manifest';
import { rollout, rolloutSync } from '../model/rollout';
import { ModelSession } from '../model/session';
import {
  bitIdentical,
  closeArrays,
  forecastProblems,
  inputHazards,
  naiveTensor,
  referenceOf,
  sameContext,
  seriesProblems,
  silentChanges,
  typedCode,
  type InputHazards,
  type Reference,
} from './checks';
import { buildCorpus, CATEGORIES, CATEGORY_LABELS, type Category, type SafetyCase } from './corpus';
import { defaultFixturesDir, defaultManifestPath, prepareModels, type PreparedModels } from './models';

export type PathName = 'raw' | 'raw-async' | 'guarded' | 'guarded-async' | 'strict' | 'strict-async';

export interface PathOutcome {
  path: PathName;
  /** 'forecast' (a result or an output), 'error' (thrown), 'load-error' (model or guardian
   * could not be created). */
  kind: 'forecast' | 'error' | 'load-error';
  /** Guarded paths: the result's status. */
  status?: ForecastResult['status'];
  reason?: string | null;
  /** The TG_ code of a thrown error (null when it had none). */
  code?: string | null;
  message?: string;
  safe: boolean;
  problems: string[];
  ms: number;
}

export interface CaseResult {
  id: string;
  category: Category;
  description: string;
  model: string;
  raw: PathOutcome[];
  guarded: PathOutcome[];
  rawSafe: boolean;
  guardedSafe: boolean;
  ms: number;
}

export interface SideSummary {
  safe: number;
  total: number;
  /** 0..100 */
  pct: number;
}

export interface CategorySummary {
  category: Category;
  label: string;
  cases: number;
  raw: SideSummary;
  guarded: SideSummary;
  /** Guarded runs by outcome: ok, corrected, fallback, blocked, error (thrown or refused to load). */
  outcomes: Record<'ok' | 'corrected' | 'fallback' | 'blocked' | 'error', number>;
}

export interface AuditCheck {
  guardian: string;
  calls: number;
  records: number;
  ok: boolean;
}

export interface SafetyReport {
  cases: number;
  categories: CategorySummary[];
  overall: { raw: SideSummary; guarded: SideSummary };
  results: CaseResult[];
  unsafeGuarded: CaseResult[];
  audit: { calls: number; records: number; ok: boolean; guardians: AuditCheck[] };
  /** True when the guarded path is 100% safe in every category and the audit trail is complete. */
  passed: boolean;
  skipped: string[];
  runtimeMs: number;
  modelsDir: string;
}

export interface SafetyReportOptions {
  /** Only the cases this accepts (default: all). */
  filter?: (c: SafetyCase) => boolean;
  /** Only these categories (default: all six). */
  categories?: readonly Category[];
  /** Where broken models are written (default: a fresh directory in os.tmpdir(), removed after). */
  tmpDir?: string;
  keepTmp?: boolean;
  fixturesDir?: string;
  defaultManifest?: string;
  /** Called after each case (progress). */
  onCase?: (r: CaseResult, index: number, total: number) => void;
  /** Called after each case with the cases done, their total and "category: case id". */
  onProgress?: (done: number, total: number, label: string) => void;
}

const SIGNING_KEY = 'tirex-guardian-safety-suite-signing-key-0123456789';
const USER = 'safety-suite';
const DEFAULT_TIMEOUT_MS = 100;

interface Loaded<T> {
  value?: T;
  error?: unknown;
}

interface GuardianEntry extends Loaded<TiRexGuardian> {
  key: string;
  calls: number;
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.constructor.name}${typedCode(err) ? ` ${typedCode(err)}` : ''}: ${err.message.split('\n')[0]!.slice(0, 240)}`;
  return `non-Error thrown: ${String(err).slice(0, 120)}`;
}

function pct(safe: number, total: number): number {
  return total === 0 ? 100 : Math.round((safe / total) * 1000) / 10;
}

/** The manifest values a case's checks need, read without loading the model. */
function manifestLimits(manifestPath: string): { maxContext: number; maxHorizon: number; levels: number } {
  try {
    const m = loadManifest(manifestPath);
    return { maxContext: m.maxContext, maxHorizon: m.maxHorizon, levels: m.quantileLevels.length };
  } catch {
    // A broken manifest: the shipped model's contract stands in for the checks.
    return { maxContext: 2048, maxHorizon: 256, levels: 9 };
  }
}

class Pools {
  readonly sessions = new Map<string, Loaded<ModelSession>>();
  readonly guardians = new Map<string, GuardianEntry>();
  readonly models: PreparedModels;
  #auditFiles = 0;

  constructor(models: PreparedModels) {
    this.models = models;
  }

  manifest(c: SafetyCase): string {
    const p = this.models.manifests.get(c.model);
    if (!p) throw new Error(`safety suite: unknown model ${c.model}`);
    return p;
  }

  session(c: SafetyCase): Loaded<ModelSession> {
    const key = `${c.model}|${JSON.stringify(c.session ?? {})}|${c.guardian?.closed ? 'closed' : ''}`;
    let s = this.sessions.get(key);
    if (!s) {
      try {
        const session = ModelSession.load(this.manifest(c), c.session ?? {});
        // The raw analogue of a guardian whose session was closed: the user's own closed handle.
        if (c.guardian?.closed) session.close();
        s = { value: session };
      } catch (error) {
        s = { error };
      }
      this.sessions.set(key, s);
    }
    return s;
  }

  guardian(c: SafetyCase, strategy: 'graceful' | 'strict'): GuardianEntry {
    const v = c.guardian ?? {};
    const key = `${c.model}|${JSON.stringify(c.session ?? {})}|${JSON.stringify(v)}|${strategy}`;
    let g = this.guardians.get(key);
    if (!g) {
      g = { key, calls: 0 };
      try {
        const manifest = this.manifest(c);
        const config: GuardianConfig = {
          profile: v.profile ?? 'staging',
          model: manifest,
          audit: { signingKey: SIGNING_KEY, durability: 'memory' },
        };
        if (strategy === 'strict') config.fallbackStrategy = 'strict';
        if (c.session) config.session = c.session;
        if (v.pin === 'original') config.modelSha256 = this.models.originalSha256;
        if (v.pin === 'self') config.modelSha256 = loadManifest(manifest).sha256;
        if (v.auditFile) {
          config.audit = { signingKey: SIGNING_KEY, durability: 'batched', file: path.join(this.models.dir, `audit-${++this.#auditFiles}.jsonl`) };
        }
        const guardian = new TiRexGuardian(config);
        if (v.maintenance) guardian.enterMaintenance('safety suite drill', v.maintenance);
        if (v.closed) guardian.session.close();
        g.value = guardian;
      } catch (error) {
        g.error = error;
      }
      this.guardians.set(key, g);
    }
    return g;
  }

  async close(): Promise<AuditCheck[]> {
    const checks: AuditCheck[] = [];
    for (const g of this.guardians.values()) {
      if (!g.value) continue;
      const log = g.value.auditLog;
      g.value.drainAudit(); // records are handed to the log on the next tick; count them all
      const records = log ? log.stats().appended : 0;
      checks.push({ guardian: g.key, calls: g.calls, records, ok: records === g.calls });
      try {
        await g.value.close();
      } catch {
        // closing a guardian whose session was closed by the case itself
      }
    }
    for (const s of this.sessions.values()) {
      try {
        s.value?.close();
      } catch {
        // already closed
      }
    }
    return checks;
  }
}

interface CaseContext {
  c: SafetyCase;
  ref: Reference;
  hazards: InputHazards;
  H: number | null;
  limits: { maxContext: number; maxHorizon: number; levels: number };
}

/** A forecast any path returns: checks shared by raw outputs and guarded results. */
function forecastChecks(cc: CaseContext, q: Float32Array | null, B: number, Q: number): string[] {
  const problems: string[] = [];
  if (!cc.ref.valid) problems.push(`forecast from an invalid context (${cc.ref.why})`);
  if (cc.H === null) problems.push(`forecast for an invalid horizon ${String(cc.c.predictionLength)}`);
  if (cc.ref.valid && B !== cc.ref.rows.length) problems.push(`${B} forecast rows for ${cc.ref.rows.length} series`);
  if (cc.H !== null) problems.push(...forecastProblems(q, B, cc.H, Q, cc.ref.valid && B === cc.ref.rows.length ? cc.hazards.rows : null));
  return problems;
}

function mutationCheck(cc: CaseContext, given: unknown): string[] {
  if (cc.c.afterCall) return []; // the case changes the context itself
  return sameContext(given, cc.c.context()) ? [] : ["the caller's context was modified"];
}

async function runRaw(cc: CaseContext, pools: Pools, async: boolean): Promise<{ outcome: PathOutcome; output: Float32Array | null }> {
  const t0 = performance.now();
  const pathName: PathName = async ? 'raw-async' : 'raw';
  const done = (o: Omit<PathOutcome, 'path' | 'ms'>, output: Float32Array | null = null) => ({
    outcome: { path: pathName, ms: performance.now() - t0, ...o },
    output,
  });
  const s = pools.session(cc.c);
  if (!s.value) {
    const code = typedCode(s.error);
    return done({ kind: 'load-error', code, message: describeError(s.error), safe: code !== null, problems: code ? [] : ['model load crashed without a code'] });
  }
  const session = s.value;
  const context = cc.c.context();
  let tensor: Float32Array;
  let batch: number;
  let output: Float32Array;
  let changes: string[] = [];
  try {
    ({ tensor, batch } = naiveTensor(context, cc.c.batch));
    // What the conversion changed, judged on the tensor as it is when the model is called.
    changes = silentChanges(cc.ref, tensor, batch, cc.limits.maxContext);
    if (async) {
      const pending = rollout(session, tensor, batch, cc.c.predictionLength as number, { timeoutMs: cc.c.timeoutMs ?? DEFAULT_TIMEOUT_MS });
      cc.c.afterCall?.(tensor);
      output = await pending;
    } else {
      output = rolloutSync(session, tensor, batch, cc.c.predictionLength as number);
    }
  } catch (err) {
    const code = typedCode(err);
    const problems = code ? [] : [`crashed: ${describeError(err)}`];
    problems.push(...mutationCheck(cc, context));
    return done({ kind: 'error', code, message: describeError(err), safe: problems.length === 0, problems });
  }
  const Q = session.manifest.quantileLevels.length;
  const problems = forecastChecks(cc, output, batch, Q);
  for (const ch of changes) problems.push(`silent change: ${ch}`);
  for (const hz of cc.hazards.silent) if (!changes.some((ch) => ch.includes(hz))) problems.push(`forecast despite: ${hz}`);
  problems.push(...mutationCheck(cc, context));
  return done({ kind: 'forecast', safe: problems.length === 0, problems }, changes.length === 0 ? output : null);
}

async function runGuarded(
  cc: CaseContext,
  pools: Pools,
  strategy: 'graceful' | 'strict',
  async: boolean,
): Promise<{ outcome: PathOutcome; result: ForecastResult | null }> {
  const t0 = performance.now();
  const pathName: PathName = strategy === 'strict' ? (async ? 'strict-async' : 'strict') : async ? 'guarded-async' : 'guarded';
  const done = (o: Omit<PathOutcome, 'path' | 'ms'>, result: ForecastResult | null = null) => ({
    outcome: { path: pathName, ms: performance.now() - t0, ...o },
    result,
  });
  const g = pools.guardian(cc.c, strategy);
  if (!g.value) {
    const code = typedCode(g.error);
    return done({ kind: 'load-error', code, message: describeError(g.error), safe: code !== null, problems: code ? [] : ['guardian construction crashed without a code'] });
  }
  const guardian = g.value;
  const context = cc.c.context();
  const request = { context, predictionLength: cc.c.predictionLength, userId: USER, batch: cc.c.batch } as Parameters<TiRexGuardian['safeForecast']>[0];
  let result: ForecastResult;
  g.calls++;
  try {
    if (async) {
      const pending = guardian.safeForecastAsync(request, { timeoutMs: cc.c.timeoutMs ?? DEFAULT_TIMEOUT_MS });
      cc.c.afterCall?.(context);
      result = await pending;
    } else {
      result = guardian.safeForecast(request);
    }
  } catch (err) {
    const code = typedCode(err);
    const problems = code ? [] : [`crashed: ${describeError(err)}`];
    const auditId = (err as { auditId?: unknown } | null)?.auditId;
    if (typeof auditId !== 'string' || auditId.length === 0) problems.push('the thrown error carries no auditId (no audit record linked to it)');
    problems.push(...mutationCheck(cc, context));
    return done({ kind: 'error', code, message: describeError(err), safe: problems.length === 0, problems });
  }
  const problems: string[] = [];
  const status = result.status;
  const reason = result.reason;
  const hasReason = typeof reason === 'string' && reason.trim().length > 0;
  if (typeof result.auditId !== 'string' || result.auditId.length === 0) problems.push('no audit record');
  // A batch is judged series by series: a blocked call may still serve its healthy series.
  const partial = status === 'blocked' && result.quantiles !== null;
  if (partial || result.batch > 1) problems.push(...seriesProblems(status, result.series, result.quantiles, result.horizon, result.levels.length, cc.hazards));
  if (status === 'blocked') {
    if (!hasReason) problems.push('blocked without a reason');
    if (result.quantiles !== null && result.batch === 1) problems.push('blocked but returned quantiles');
    if (strategy === 'strict') problems.push("the strict strategy returned 'blocked' instead of throwing");
  } else if (status === 'ok' || status === 'corrected' || status === 'fallback') {
    const Q = result.levels.length;
    problems.push(...forecastChecks(cc, result.quantiles, result.batch, Q));
    if (result.horizon !== cc.H) problems.push(`horizon ${result.horizon}, asked ${String(cc.c.predictionLength)}`);
    if (result.quantiles && result.mean) {
      const med = result.levels.indexOf(0.5);
      for (let i = 0; i < result.mean.length; i++) {
        if (!Object.is(result.mean[i], result.quantiles[i * Q + med])) {
          problems.push('mean is not the median of the quantiles');
          break;
        }
      }
    } else if (result.quantiles && !result.mean) problems.push('quantiles without mean');
    if (status === 'fallback') {
      if (!hasReason) problems.push('fallback without a reason');
      if (!result.fallback) problems.push('fallback without naming its method');
      if (strategy === 'strict') problems.push("the strict strategy served a fallback instead of throwing");
    } else {
      if (status === 'corrected' && !hasReason) problems.push('corrected without a reason');
      // A precision loss the result reports in its warnings is not silent.
      const reported = (hz: string) => hz.includes('float32 loses') && (result.warnings ?? []).some((w: string) => w.includes('float32'));
      for (const hz of cc.hazards.silent) if (!reported(hz)) problems.push(`status ${status} despite: ${hz}`);
    }
  } else {
    problems.push(`unknown status ${String(status)}`);
  }
  problems.push(...mutationCheck(cc, context));
  return done({ kind: 'forecast', status, reason, safe: problems.length === 0, problems }, result);
}

/** The guarded `ok` must be the model's own forecast of the same data: nothing silently altered. */
function fidelity(outcome: PathOutcome, result: ForecastResult | null, rawOutput: Float32Array | null): void {
  if (!result || result.status !== 'ok' || !rawOutput || !result.quantiles) return;
  // Imputation (the manifest asks for it) is a documented change, listed in the shields.
  if (result.shields.some((s) => s.shield === 'pipeline' && s.action === 'impute')) return;
  if (!closeArrays(result.quantiles, rawOutput)) {
    outcome.problems.push("status ok, but the quantiles differ from the model's own forecast of the same data");
    outcome.safe = false;
  }
}

async function runCase(c: SafetyCase, pools: Pools): Promise<CaseResult> {
  const t0 = performance.now();
  const manifestPath = pools.manifest(c);
  const limits = manifestLimits(manifestPath);
  const H = c.predictionLength;
  const validH = typeof H === 'number' && Number.isInteger(H) && H >= 1 && H <= limits.maxHorizon ? H : null;
  const ref = referenceOf(c.context(), c.batch);
  const cc: CaseContext = { c, ref, hazards: inputHazards(ref, limits.maxContext), H: validH, limits };
  const mode = c.mode ?? 'sync';
  const raw: PathOutcome[] = [];
  const guarded: PathOutcome[] = [];
  const repeats = c.repeat ? 2 : 1;
  // Every returned forecast, with a copy taken when it was returned: a later call must not
  // change a forecast the caller already holds (shared output buffers).
  const held: { outcome: PathOutcome; q: Float32Array; copy: Float32Array }[] = [];
  const hold = (outcome: PathOutcome, q: Float32Array | null | undefined) => {
    if (q instanceof Float32Array) held.push({ outcome, q, copy: q.slice() });
  };
  for (const async of mode === 'both' ? [false, true] : [mode === 'async']) {
    const rawRuns: (Float32Array | null)[] = [];
    const guardedRuns: (ForecastResult | null)[] = [];
    const n = async ? Math.max(1, c.concurrency ?? 1) : 1;
    if (n > 1) {
      // Concurrent calls: all raw runs at once, then all guarded runs at once.
      const rs = await Promise.all(Array.from({ length: n }, () => runRaw(cc, pools, true)));
      const gs = await Promise.all(Array.from({ length: n }, () => runGuarded(cc, pools, 'graceful', true)));
      const reference = rs.find((r) => r.output)?.output ?? null;
      for (const g of gs) fidelity(g.outcome, g.result, reference);
      for (const g of gs) hold(g.outcome, g.result?.quantiles);
      raw.push(...rs.map((r) => r.outcome));
      guarded.push(...gs.map((g) => g.outcome));
      if (c.strict) guarded.push(...(await Promise.all(Array.from({ length: n }, () => runGuarded(cc, pools, 'strict', true)))).map((g) => g.outcome));
      continue;
    }
    for (let k = 0; k < repeats; k++) {
      const r = await runRaw(cc, pools, async);
      const gr = await runGuarded(cc, pools, 'graceful', async);
      fidelity(gr.outcome, gr.result, r.output);
      hold(r.outcome, r.output);
      hold(gr.outcome, gr.result?.quantiles);
      rawRuns.push(r.output);
      guardedRuns.push(gr.result);
      if (k > 0) {
        const a = rawRuns[0];
        const b = r.output;
        if (a && b && !bitIdentical(a, b)) {
          r.outcome.safe = false;
          r.outcome.problems.push('the same input gave a different forecast on the second run');
        }
        const ga = guardedRuns[0];
        const gb = gr.result;
        if (ga && gb && ga.status === gb.status && ga.quantiles && gb.quantiles && !bitIdentical(ga.quantiles, gb.quantiles)) {
          gr.outcome.safe = false;
          gr.outcome.problems.push('the same input gave a different guarded forecast on the second run');
        }
      }
      raw.push(r.outcome);
      guarded.push(gr.outcome);
    }
    if (c.strict) {
      const st = await runGuarded(cc, pools, 'strict', async);
      hold(st.outcome, st.result?.quantiles);
      guarded.push(st.outcome);
    }
  }
  for (const h of held) {
    if (!bitIdentical(h.q, h.copy)) {
      h.outcome.safe = false;
      h.outcome.problems.push('a forecast already returned changed during a later call (shared output buffer)');
    }
  }
  return {
    id: c.id,
    category: c.category,
    description: c.description,
    model: c.model,
    raw,
    guarded,
    rawSafe: raw.every((o) => o.safe),
    guardedSafe: guarded.every((o) => o.safe),
    ms: performance.now() - t0,
  };
}

/** Runs the corpus and returns the report (see the module comment for what "safe" means). */
export async function runSafetyReport(options: SafetyReportOptions = {}): Promise<SafetyReport> {
  const t0 = performance.now();
  const own = options.tmpDir === undefined;
  const dir = options.tmpDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tg-safety-'));
  const models = prepareModels(dir, options.fixturesDir ?? defaultFixturesDir(), options.defaultManifest ?? defaultManifestPath());
  const pools = new Pools(models);
  const only = options.categories;
  const corpus = buildCorpus().filter((c) => (!only || only.includes(c.category)) && (options.filter ? options.filter(c) : true));
  const runnable = corpus.filter((c) => models.manifests.has(c.model));
  const skipped = corpus.filter((c) => !models.manifests.has(c.model)).map((c) => `${c.id} (model ${c.model} not found)`);
  const results: CaseResult[] = [];
  let auditChecks: AuditCheck[] = [];
  try {
    for (let i = 0; i < runnable.length; i++) {
      const r = await runCase(runnable[i]!, pools);
      results.push(r);
      options.onCase?.(r, i, runnable.length);
      options.onProgress?.(i + 1, runnable.length, `${CATEGORY_LABELS[r.category]}: ${r.id}`);
    }
  } finally {
    auditChecks = await pools.close();
    if (own && !options.keepTmp) fs.rmSync(dir, { recursive: true, force: true });
  }
  const categories: CategorySummary[] = CATEGORIES.filter((c) => !only || only.includes(c)).map((category) => {
    const rs = results.filter((r) => r.category === category);
    const outcomes = { ok: 0, corrected: 0, fallback: 0, blocked: 0, error: 0 };
    for (const r of rs) {
      for (const o of r.guarded) {
        if (o.kind === 'forecast' && o.status) outcomes[o.status]++;
        else outcomes.error++;
      }
    }
    const rawSafe = rs.filter((r) => r.rawSafe).length;
    const guardedSafe = rs.filter((r) => r.guardedSafe).length;
    return {
      category,
      label: CATEGORY_LABELS[category],
      cases: rs.length,
      raw: { safe: rawSafe, total: rs.length, pct: pct(rawSafe, rs.length) },
      guarded: { safe: guardedSafe, total: rs.length, pct: pct(guardedSafe, rs.length) },
      outcomes,
    };
  });
  const rawSafe = results.filter((r) => r.rawSafe).length;
  const guardedSafe = results.filter((r) => r.guardedSafe).length;
  const calls = auditChecks.reduce((s, a) => s + a.calls, 0);
  const records = auditChecks.reduce((s, a) => s + a.records, 0);
  const auditOk = auditChecks.every((a) => a.ok);
  const unsafeGuarded = results.filter((r) => !r.guardedSafe);
  return {
    cases: results.length,
    categories,
    overall: { raw: { safe: rawSafe, total: results.length, pct: pct(rawSafe, results.length) }, guarded: { safe: guardedSafe, total: results.length, pct: pct(guardedSafe, results.length) } },
    results,
    unsafeGuarded,
    audit: { calls, records, ok: auditOk, guardians: auditChecks },
    passed: unsafeGuarded.length === 0 && auditOk && categories.every((c) => c.guarded.pct === 100),
    skipped,
    runtimeMs: performance.now() - t0,
    modelsDir: dir,
  };
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

/** The report as text: the table per category, the unsafe guarded cases, the raw path's failures. */
export function formatSafetyReport(report: SafetyReport, options: { rawDetails?: number } = {}): string {
  const lines: string[] = [];
  lines.push(`tirex-guardian safety report: ${report.cases} cases over ${report.categories.length} categories in ${(report.runtimeMs / 1000).toFixed(1)} s`);
  lines.push('');
  lines.push(`${pad('category', 22)}${lpad('cases', 6)}${lpad('raw safe', 12)}${lpad('guarded safe', 16)}   guarded runs: ok / corrected / fallback / blocked / error`);
  for (const c of report.categories) {
    const o = c.outcomes;
    lines.push(
      `${pad(c.label, 22)}${lpad(String(c.cases), 6)}${lpad(`${c.raw.pct.toFixed(1)}%`, 12)}${lpad(`${c.guarded.pct.toFixed(1)}%`, 16)}   ` +
        `${o.ok} / ${o.corrected} / ${o.fallback} / ${o.blocked} / ${o.error}`,
    );
  }
  const ov = report.overall;
  lines.push(`${pad('overall', 22)}${lpad(String(report.cases), 6)}${lpad(`${ov.raw.pct.toFixed(1)}%`, 12)}${lpad(`${ov.guarded.pct.toFixed(1)}%`, 16)}`);
  lines.push('');
  lines.push(
    `audit: ${report.audit.calls} guarded calls, ${report.audit.records} audit records` +
      (report.audit.ok ? ' (every call recorded)' : ' (MISSING RECORDS: ' + report.audit.guardians.filter((g) => !g.ok).map((g) => `${g.guardian}: ${g.calls} calls, ${g.records} records`).join('; ') + ')'),
  );
  if (report.skipped.length) lines.push(`skipped: ${report.skipped.length} (${report.skipped.slice(0, 5).join(', ')}${report.skipped.length > 5 ? ', ...' : ''})`);
  lines.push('');
  if (report.unsafeGuarded.length === 0) {
    lines.push('guarded path: no unsafe case.');
  } else {
    lines.push(`UNSAFE guarded cases (${report.unsafeGuarded.length}):`);
    for (const r of report.unsafeGuarded) {
      lines.push(`  ${r.id} [${CATEGORY_LABELS[r.category]}] ${r.description} (model ${r.model})`);
      for (const o of r.guarded.filter((x) => !x.safe)) {
        const what = o.kind === 'forecast' ? `status ${o.status}${o.reason ? ` (${o.reason.slice(0, 160)})` : ''}` : o.message ?? o.kind;
        lines.push(`    ${o.path}: ${what}`);
        for (const p of o.problems) lines.push(`      - ${p}`);
      }
    }
  }
  const rawUnsafe = report.results.filter((r) => !r.rawSafe);
  const n = options.rawDetails ?? 0;
  if (n > 0 && rawUnsafe.length) {
    lines.push('');
    lines.push(`raw path: ${rawUnsafe.length} unsafe cases${rawUnsafe.length > n ? ` (first ${n})` : ''}:`);
    for (const r of rawUnsafe.slice(0, n)) {
      const o = r.raw.find((x) => !x.safe)!;
      lines.push(`  ${pad(r.id, 34)} ${o.problems[0] ?? ''}`.slice(0, 200));
    }
  }
  return lines.join('\n');
}
