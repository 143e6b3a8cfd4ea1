/**
 * The service's tracing settings, from the standard OpenTelemetry variables (the names every
 * OpenTelemetry SDK reads; https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
 * Tracing is on when an OTLP endpoint is given (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
 * OTEL_EXPORTER_OTLP_ENDPOINT) and neither OTEL_SDK_DISABLED=true nor OTEL_TRACES_EXPORTER=none.
 * Spans go out as OTLP/HTTP with JSON bodies (@opentelemetry/exporter-trace-otlp-http): another
 * protocol asked for is refused, never silently replaced.
 */
export interface TracingConfig {
  /** The traces URL (…/v1/traces). */
  url: string;
  headers: Record<string, string>;
  serviceName: string;
  /** OTEL_RESOURCE_ATTRIBUTES, parsed. */
  resourceAttributes: Record<string, string>;
  sampler: 'always_on' | 'always_off' | 'traceidratio' | 'parentbased_always_on' | 'parentbased_always_off' | 'parentbased_traceidratio';
  /** The ratio of the traceidratio samplers (0..1). */
  ratio: number;
  batch: { scheduledDelayMillis: number; maxQueueSize: number; maxExportBatchSize: number; exportTimeoutMillis: number };
}

const SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

/** `k1=v1,k2=v2` (values percent-decoded), as the OTEL_*_HEADERS and OTEL_RESOURCE_ATTRIBUTES formats. */
function keyValues(name: string, raw: string | undefined, problems: string[]): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  if (raw === undefined || raw.trim() === '') return out;
  for (const part of raw.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) {
      problems.push(`${name}: each entry must be key=value`);
      continue;
    }
    try {
      out[decodeURIComponent(part.slice(0, at).trim())] = decodeURIComponent(part.slice(at + 1).trim());
    } catch {
      problems.push(`${name}: an entry is not valid percent-encoding`);
    }
  }
  return out;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^[1-9][0-9]{0,8}$/.test(raw)) return Number(raw);
  problems.push(`${name}: must be a positive integer`);
  return fallback;
}

function endpointOf(env: NodeJS.ProcessEnv, problems: string[]): string | null {
  const specific = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const general = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const raw = specific || (general ? `${general.replace(/\/+$/, '')}/v1/traces` : '');
  if (raw === '') return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`${specific ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT'}: not a URL`);
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') problems.push('OTEL_EXPORTER_OTLP_ENDPOINT: must be an http or https URL');
  return url.toString();
}

/** null: tracing off. Problems are added to the configuration's (TG_CONFIG_INVALID). */
export function tracingFromEnv(env: NodeJS.ProcessEnv, problems: string[]): TracingConfig | null {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return null;
  const exporter = (env.OTEL_TRACES_EXPORTER ?? '').trim().toLowerCase();
  if (exporter === 'none') return null;
  if (exporter !== '' && exporter !== 'otlp') {
    problems.push(`OTEL_TRACES_EXPORTER: the service exports OTLP only ('otlp' or 'none'), got '${exporter}'`);
    return null;
  }
  const url = endpointOf(env, problems);
  if (url === null) {
    if (exporter === 'otlp') problems.push('OTEL_TRACES_EXPORTER=otlp needs OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT');
    return null;
  }
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/json').trim();
  if (protocol !== 'http/json') problems.push(`OTEL_EXPORTER_OTLP_PROTOCOL: the service sends http/json, got '${protocol}'`);
  const sampler = (env.OTEL_TRACES_SAMPLER || 'parentbased_always_on').trim() as TracingConfig['sampler'];
  if (!SAMPLERS.includes(sampler)) problems.push(`OTEL_TRACES_SAMPLER: one of ${SAMPLERS.join(', ')}`);
  const ratioRaw = env.OTEL_TRACES_SAMPLER_ARG;
  const ratio = ratioRaw === undefined || ratioRaw === '' ? 1 : Number(ratioRaw);
  if (!(ratio >= 0 && ratio <= 1)) problems.push('OTEL_TRACES_SAMPLER_ARG: a ratio from 0 to 1');
  const resourceAttributes = keyValues('OTEL_RESOURCE_ATTRIBUTES', env.OTEL_RESOURCE_ATTRIBUTES, problems);
  return {
    url,
    headers: { ...keyValues('OTEL_EXPORTER_OTLP_HEADERS', env.OTEL_EXPORTER_OTLP_HEADERS, problems), ...keyValues('OTEL_EXPORTER_OTLP_TRACES_HEADERS', env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, problems) },
    serviceName: env.OTEL_SERVICE_NAME || resourceAttributes['service.name'] || 'tirex-guardian',
    resourceAttributes,
    sampler,
    ratio,
    batch: {
      scheduledDelayMillis: positiveInt(env, 'OTEL_BSP_SCHEDULE_DELAY', 5000, problems),
      maxQueueSize: positiveInt(env, 'OTEL_BSP_MAX_QUEUE_SIZE', 2048, problems),
      maxExportBatchSize: positiveInt(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE', 512, problems),
      exportTimeoutMillis: positiveInt(env, 'OTEL_BSP_EXPORT_TIMEOUT', 30000, problems),
    },
  };
}
