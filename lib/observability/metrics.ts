/**
 * The guardian's Prometheus metrics, in a `prom-client` registry the caller owns
 * (`guardian.registerMetrics(registry)`): a trading engine with its own /metrics gets them beside
 * its own, and the service exposes them at its /metrics.
 *
 * Collected at scrape time from the guardian's own statistics (stats(), the breaker registry, the
 * audit log's stats): a forecast pays for two latency observations and nothing else (the
 * counters it already keeps are the metrics). Several guardians share one registry: each metric
 * carries a `model` label, the name given at registration (the manifest's name by default).
 *
 * Labels are bounded: models, statuses, shields and actions, signals, fallback methods, breakers
 * and error codes are fixed by the code and the configuration; an instrument appears only when
 * the operator listed it; never a user id.
 *
 * Breaker state encoding (tirex_guardian_breaker_state): 0 closed, 1 open, 2 half-open,
 * 3 forced-open (maintenance or suspension).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

import type { AuditLogStats } from '../audit';
import type { BreakerRegistry, BreakerState } from '../breaker';
import { codedError, ErrorCode } from '../errors';
import type { StatsSnapshot } from '../guardian/stats';
import { LATENCY_BOUNDS_S, type LatencyHistogram } from '../guardian/latency';
import { SnapshotHistogram } from './snapshot-histogram';

export const METRIC_PREFIX = 'tirex_guardian_';

export const BREAKER_STATE_VALUE: Readonly<Record<BreakerState, number>> = Object.freeze({ closed: 0, open: 1, 'half-open': 2, 'forced-open': 3 });

/** What the metrics read of a guardian (TiRexGuardian satisfies it). */
export interface MetricsSource {
  stats(): StatsSnapshot;
  readonly breakers: BreakerRegistry;
  readonly auditLog: { stats(): AuditLogStats } | null;
  readonly session: { readonly manifest: { name: string; version: string }; readonly sha256: string; readonly provider: string };
  readonly suspended: string | null;
  readonly maintenance: { reason: string; mode: string } | null;
}

interface Sample {
  labels: Record<string, string>;
  value: number;
}

interface Read {
  model: string;
  source: MetricsSource;
  stats: StatsSnapshot;
  audit: AuditLogStats | null;
}

type Collect = (r: Read, out: Sample[]) => void;

const each = (map: Record<string, number>, label: string, model: string, out: Sample[]) => {
  for (const [k, v] of Object.entries(map)) out.push({ labels: { model, [label]: k }, value: v });
};

/** One value per model. */
const perModel = (value: (r: Read) => number | null): Collect => (r, out) => {
  const v = value(r);
  if (v !== null) out.push({ labels: { model: r.model }, value: v });
};

const STATUSES = ['ok', 'corrected', 'fallback', 'blocked'] as const;

interface MetricSpec {
  name: string;
  help: string;
  labels: string[];
  collect: Collect;
}

const COUNTERS: readonly MetricSpec[] = [
  {
    name: 'forecasts_total',
    help: 'Guarded forecast calls by status (the worst of their series: ok, corrected, fallback, blocked).',
    labels: ['model', 'status'],
    collect: (r, out) => {
      for (const s of STATUSES) out.push({ labels: { model: r.model, status: s }, value: r.stats.byStatus[s] });
    },
  },
  { name: 'forecast_errors_total', help: 'Typed errors by code (strict refusals, invalid arguments, audit failures).', labels: ['model', 'code'], collect: (r, out) => each(r.stats.errors, 'code', r.model, out) },
  {
    name: 'shield_actions_total',
    help: 'Shield activations (a result\'s shields) by shield and action.',
    labels: ['model', 'shield', 'action'],
    collect: (r, out) => {
      for (const [shield, actions] of Object.entries(r.stats.shieldActions)) for (const [action, v] of Object.entries(actions)) out.push({ labels: { model: r.model, shield, action }, value: v });
    },
  },
  { name: 'threat_signals_total', help: 'Input shield threat signals fired, by signal.', labels: ['model', 'signal'], collect: (r, out) => each(r.stats.threatsBySignal, 'signal', r.model, out) },
  { name: 'corrections_total', help: 'Output corrections by kind.', labels: ['model', 'correction'], collect: (r, out) => each(r.stats.corrections, 'correction', r.model, out) },
  { name: 'fallbacks_total', help: 'Series served by a fallback, by the method that served them.', labels: ['model', 'method'], collect: (r, out) => each(r.stats.fallbacks, 'method', r.model, out) },
  {
    name: 'breaker_transitions_total',
    help: 'Circuit breaker state transitions.',
    labels: ['model', 'from', 'to'],
    collect: (r, out) => {
      for (const [k, v] of Object.entries(r.stats.breakerTransitions)) {
        const [from = '', to = ''] = k.split('->');
        out.push({ labels: { model: r.model, from, to }, value: v });
      }
    },
  },
  { name: 'deadline_expired_total', help: 'Async calls settled by their deadline.', labels: ['model'], collect: perModel((r) => r.stats.deadlines.expired) },
  {
    name: 'category_checks_total',
    help: 'Checks run per vulnerability category.',
    labels: ['model', 'category'],
    collect: (r, out) => {
      for (const [c, v] of Object.entries(r.stats.categories)) out.push({ labels: { model: r.model, category: c }, value: v.checks });
    },
  },
  {
    name: 'category_actions_total',
    help: 'Actions taken per vulnerability category.',
    labels: ['model', 'category'],
    collect: (r, out) => {
      for (const [c, v] of Object.entries(r.stats.categories)) out.push({ labels: { model: r.model, category: c }, value: v.actions });
    },
  },
  {
    name: 'instrument_forecasts_total',
    help: 'Forecast calls by status for the instruments the operator listed.',
    labels: ['model', 'instrument', 'status'],
    collect: (r, out) => {
      for (const [instrument, counts] of Object.entries(r.stats.instruments ?? {})) for (const s of STATUSES) out.push({ labels: { model: r.model, instrument, status: s }, value: counts[s] });
    },
  },
  { name: 'audit_records_written_total', help: 'Audit log entries handed to the OS (records, checkpoints, gaps).', labels: ['model'], collect: perModel((r) => r.audit?.written ?? null) },
  { name: 'audit_dropped_total', help: 'Audit records refused (a full queue or hand-off buffer): gaps in the log.', labels: ['model'], collect: perModel((r) => r.audit?.dropped ?? null) },
  {
    name: 'audit_write_errors_total',
    help: 'Audit records that could not be written (the log failed).',
    labels: ['model'],
    collect: perModel((r) => (r.audit === null ? null : (r.stats.errors[ErrorCode.AuditWriteFailed] ?? 0))),
  },
];

const GAUGES: readonly MetricSpec[] = [
  {
    name: 'breaker_state',
    help: 'Circuit breaker state: 0 closed, 1 open, 2 half-open, 3 forced-open.',
    labels: ['model', 'breaker'],
    collect: (r, out) => {
      for (const [breaker, st] of Object.entries(r.source.breakers.stats())) out.push({ labels: { model: r.model, breaker }, value: BREAKER_STATE_VALUE[st.state] });
    },
  },
  { name: 'inference_suspended', help: '1 while inference is suspended after corrupt outputs (POST /v1/resume ends it).', labels: ['model'], collect: perModel((r) => (r.source.suspended === null ? 0 : 1)) },
  { name: 'maintenance', help: '1 while the model is in maintenance.', labels: ['model'], collect: perModel((r) => (r.source.maintenance === null ? 0 : 1)) },
  { name: 'audit_queue_depth', help: 'Audit entries created and not yet written.', labels: ['model'], collect: perModel((r) => r.audit?.pending ?? null) },
  { name: 'audit_queue_capacity', help: 'The audit queue bound: records are refused at this depth.', labels: ['model'], collect: perModel((r) => r.audit?.maxQueue ?? null) },
  { name: 'audit_log_up', help: '1 while the audit log is open and writing, 0 once it failed or closed.', labels: ['model'], collect: perModel((r) => (r.audit === null ? null : r.audit.state === 'open' && r.audit.error === null ? 1 : 0)) },
  {
    name: 'audit_last_checkpoint_age_seconds',
    help: 'Seconds since the audit log last signed a checkpoint (since it opened, before the first).',
    labels: ['model'],
    collect: perModel((r) => (r.audit === null ? null : (Date.now() - (r.audit.lastCheckpointAtMs ?? r.audit.openedAtMs)) / 1000)),
  },
  { name: 'audit_uncheckpointed_entries', help: 'Audit entries not yet covered by a signed checkpoint.', labels: ['model'], collect: perModel((r) => r.audit?.sinceCheckpoint ?? null) },
];

/** The metrics of every guardian registered in one registry. */
class GuardianMetricSet {
  readonly #sources = new Map<string, { source: MetricsSource; latency: LatencyOf }>();
  readonly #infoGauge: Gauge;
  /** One read of every guardian per scrape: the registry calls every metric's collect in one turn. */
  #reads: Read[] | null = null;

  constructor(registry: Registry) {
    // Every metric's samples from the same per-scrape read; counters are set by reset + inc.
    const samples = (m: MetricSpec): Sample[] => {
      const out: Sample[] = [];
      for (const r of this.#readAll()) m.collect(r, out);
      return out;
    };
    const spec = (m: MetricSpec) => ({ name: METRIC_PREFIX + m.name, help: m.help, labelNames: m.labels, registers: [registry] });
    for (const m of COUNTERS) {
      new Counter({
        ...spec(m),
        collect() {
          this.reset();
          for (const s of samples(m)) this.inc(s.labels, s.value);
        },
      });
    }
    for (const m of GAUGES) {
      new Gauge({
        ...spec(m),
        collect() {
          this.reset();
          for (const s of samples(m)) this.set(s.labels, s.value);
        },
      });
    }
    this.#infoGauge = new Gauge({
      name: `${METRIC_PREFIX}model_info`,
      help: 'The model each guardian serves: name, version, sha256 prefix (12 hex digits), execution provider. Always 1.',
      labelNames: ['model', 'name', 'version', 'sha256', 'provider'],
      registers: [registry],
    });
    for (const [name, pick] of [
      ['forecast_duration_seconds', 'forecast'],
      ['model_duration_seconds', 'model'],
    ] as const) {
      registry.registerMetric(
        new SnapshotHistogram(METRIC_PREFIX + name, pick === 'forecast' ? 'Guarded forecast call latency, from the call to its result (or typed error).' : 'Model run latency (the ONNX Runtime session).', LATENCY_BOUNDS_S, () =>
          [...this.#sources].flatMap(([model, s]) => {
            const h = s.latency();
            return h === null ? [] : [{ labels: { model }, histogram: h[pick] }];
          }),
        ) as never,
      );
    }
  }

  add(model: string, source: MetricsSource, latency: LatencyOf): void {
    if (this.#sources.has(model)) throw codedError(ErrorCode.Conflict, `metrics: a guardian labelled model="${model}" is already registered in this registry (pass another name)`);
    this.#sources.set(model, { source, latency });
    const s = source.session;
    this.#infoGauge.set({ model, name: s.manifest.name, version: s.manifest.version, sha256: s.sha256.slice(0, 12), provider: s.provider }, 1);
  }

  #readAll(): Read[] {
    if (this.#reads !== null) return this.#reads;
    const reads: Read[] = [];
    for (const [model, { source }] of this.#sources) reads.push({ model, source, stats: source.stats(), audit: source.auditLog?.stats() ?? null });
    this.#reads = reads;
    // Every collect of this scrape runs before the microtask queue does.
    queueMicrotask(() => (this.#reads = null));
    return reads;
  }
}

const SETS = new WeakMap<Registry, GuardianMetricSet>();

export interface GuardianMetricsOptions {
  /** The `model` label (default: the manifest's name). */
  name?: string;
  /** Instruments counted on their own (tirex_guardian_instrument_forecasts_total); no other
   * instrument ever becomes a label. */
  instruments?: readonly string[];
}

const LABEL_RULE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const MAX_INSTRUMENTS = 1000;

/** The options checked whole (TG_INVALID_ARGUMENT naming the field); returns the model label. */
export function checkMetricsOptions(options: GuardianMetricsOptions, defaultName: string): { name: string; instruments: readonly string[] } {
  const bad = (m: string) => codedError(ErrorCode.InvalidArgument, `registerMetrics: ${m}`);
  if (options === null || typeof options !== 'object') throw bad('options must be an object');
  const name = options.name ?? defaultName;
  if (typeof name !== 'string' || !LABEL_RULE.test(name)) throw bad('name must be 1 to 64 letters, digits, ".", "_", ":" or "-", starting with a letter or digit');
  const instruments = options.instruments ?? [];
  if (!Array.isArray(instruments) || instruments.length > MAX_INSTRUMENTS) throw bad(`instruments must be an array of at most ${MAX_INSTRUMENTS} names`);
  for (const i of instruments) if (typeof i !== 'string' || i.length === 0 || i.length > 64) throw bad('every instrument must be a string of 1 to 64 characters');
  return { name, instruments };
}

type LatencyOf = () => { forecast: LatencyHistogram; model: LatencyHistogram } | null;

/** Registers `source` under the label model=`model` (the registry's metrics are created once);
 * `latency` reads its latency histograms. */
export function registerGuardianMetrics(registry: Registry, model: string, source: MetricsSource, latency: LatencyOf): void {
  let set = SETS.get(registry);
  if (set === undefined) {
    try {
      set = new GuardianMetricSet(registry);
    } catch (err) {
      throw codedError(ErrorCode.Conflict, `metrics: the registry already holds a metric of this name: ${(err as Error).message}`, err);
    }
    SETS.set(registry, set);
  }
  set.add(model, source, latency);
}
