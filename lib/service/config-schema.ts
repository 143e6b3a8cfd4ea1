/**
 * The JSON schema of the service's configuration (after defaults are merged in): every object
 * closed (`additionalProperties: false`, so a misspelt key is refused, not ignored), every
 * number bounded.
 */
const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum });
const str = (maxLength = 4096) => ({ type: 'string', minLength: 1, maxLength });
const closed = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)) => ({
  type: 'object',
  additionalProperties: false,
  required,
  properties,
});

const LIMIT = {
  type: 'object',
  additionalProperties: false,
  required: ['algorithm', 'limit', 'windowMs'],
  properties: {
    algorithm: { enum: ['token-bucket', 'sliding-window'] },
    limit: int(1, 10_000_000),
    windowMs: int(1, 86_400_000),
    burst: int(1, 10_000_000),
  },
};

const NAME = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' };
/** As the service's INSTRUMENT_RULE (strings.ts): printable ASCII, no space at either end. */
const INSTRUMENT = { type: 'string', maxLength: 64, pattern: '^[\\x21-\\x7e](?:[\\x20-\\x7e]*[\\x21-\\x7e])?$' };

const MODEL = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'manifest'],
  properties: {
    name: NAME,
    manifest: str(),
    sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    threatDetectionLevel: { enum: ['low', 'medium', 'high'] },
    dataPipelineProtection: { enum: ['permissive', 'moderate', 'strict'] },
    fallbackStrategy: { enum: ['strict', 'graceful'] },
    // Checked field by field by the guardian's own configuration (its errors name the option).
    marketBounds: { type: 'object' },
    breaker: { type: 'object' },
    session: { type: 'object' },
    suspendAfterCorruptOutputs: int(1, 1_000_000),
    // A candidate run beside this model on the same requests, journaled, never served.
    shadow: closed({ manifest: str(), sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' }, queueLimit: int(1, 4096) }, ['manifest']),
  },
};

export const SERVICE_SCHEMA = closed({
  profile: { enum: ['production', 'staging', 'development'] },
  host: str(255),
  port: int(0, 65535),
  behindProxy: { type: 'boolean' },
  proxyHops: int(1, 16),
  tls: { oneOf: [{ type: 'null' }, closed({ certFile: str(), keyFile: str() })] },
  keysFile: str(),
  models: { type: 'array', minItems: 1, maxItems: 64, items: MODEL },
  audit: closed({
    enabled: { type: 'boolean' },
    dir: { oneOf: [{ type: 'null' }, str()] },
    durability: { enum: ['fsync', 'none', 'memory'] },
    signingKeyFile: { oneOf: [{ type: 'null' }, str()] },
    callerIdKeyFile: { oneOf: [{ type: 'null' }, str()] },
  }),
  rateLimits: closed({
    enabled: { type: 'boolean' },
    redis: {
      oneOf: [
        { type: 'null' },
        closed({ url: { type: 'string', pattern: '^rediss?://', maxLength: 4096 }, prefix: { type: 'string', maxLength: 64 }, commandTimeoutMs: int(1, 60_000), insuranceDivisor: int(1, 1000) }),
      ],
    },
    api: LIMIT,
    forecast: LIMIT,
    global: LIMIT,
    authFailures: closed({ limit: int(1, 1_000_000), windowMs: int(1000, 86_400_000), blockMs: int(1000, 86_400_000) }),
  }),
  limits: closed({
    jsonBodyBytes: int(1024, 1 << 30),
    binaryBodyBytes: int(1024, 1 << 30),
    maxResultValues: int(1, 1 << 28),
    jsonResultValues: int(1, 1 << 28),
    forecastTimeoutMs: int(1, 600_000),
    requestTimeoutMs: int(1, 600_000),
    keepAliveTimeoutMs: int(1, 600_000),
    maxInFlight: int(1, 1_000_000),
    maxConnections: int(1, 1_000_000),
  }),
  drainTimeoutMs: int(100, 600_000),
  metrics: closed({
    enabled: { type: 'boolean' },
    port: { oneOf: [{ type: 'null' }, int(0, 65535)] },
    host: { oneOf: [{ type: 'null' }, str(255)] },
    allow: { type: 'array', maxItems: 256, items: str(64) },
    instruments: { type: 'array', maxItems: 1000, uniqueItems: true, items: INSTRUMENT },
  }),
  regime: closed({
    enabled: { type: 'boolean' },
    barPeriodMs: int(1, 31_622_400_000), // up to a year: weekly and monthly bars too
    maxBars: int(6, 10_000),
    slopePeriod: int(5, 1000),
    atrPeriod: int(5, 1000),
    ttlMs: int(0, 3_600_000),
    maxSymbols: int(1, 1_000_000),
    maxTicksPerRequest: int(1, 100_000),
  }),
  dashboard: closed({
    enabled: { type: 'boolean' },
    instruments: { type: 'array', maxItems: 64, uniqueItems: true, items: INSTRUMENT },
  }),
  logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'silent'] },
  evidenceDir: { oneOf: [{ type: 'null' }, str()] },
  journal: closed({
    dir: { oneOf: [{ type: 'null' }, str()] },
    durability: { enum: ['fsync', 'none'] },
  }),
  forecastGate: closed({
    required: { type: 'boolean' },
    maxArtifactAgeHours: int(1, 8784),
  }),
  security: closed({
    preflight: { type: 'boolean' },
    registry: { oneOf: [{ type: 'null' }, { type: 'string', pattern: '^https?://', maxLength: 4096 }] },
    allowlistFile: { oneOf: [{ type: 'null' }, str()] },
    osvDir: { oneOf: [{ type: 'null' }, str()] },
    advisoryDb: { oneOf: [{ type: 'null' }, str()] },
    severityThreshold: { enum: ['low', 'moderate', 'high', 'critical'] },
    maxArtifactAgeHours: int(0, 8760),
    projectDir: { oneOf: [{ type: 'null' }, str()] },
    omitDev: { oneOf: [{ type: 'null' }, { type: 'boolean' }] },
  }),
});
