// The guardian's configuration is checked whole at construction and nothing in it fails open
// (issue 10, finding 6, and the in-memory audit log of finding 7): the five reported cases
// exactly, reads of the caller's object (own properties, once each), the audit log's storage,
// and properties over unknown keys and wrong-typed values at every level.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';

import { ManualClock } from '../lib/breaker';
import { TiRexGuardian, type GuardianConfig } from '../lib/index';
import { resolveGuardianConfig } from '../lib/guardian/config';
import { INPUT_THRESHOLDS, lookup, OUTPUT_THRESHOLDS, PIPELINE_THRESHOLDS, PROFILES } from '../lib/guardian/thresholds';
import { thrown, type Thrown } from './model-fixtures';

const KEY = 'c'.repeat(32);
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-config-'));
const SHA = JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', 'models', 'tirex-guardian-default.json'), 'utf8')).sha256 as string;

const open: TiRexGuardian[] = [];
function make(config: unknown): TiRexGuardian {
  const g = new TiRexGuardian(config as GuardianConfig);
  open.push(g);
  return g;
}
afterAll(async () => {
  for (const g of open) await g.close();
});

type Coded = Thrown;

/** Construction refused with a stable code (never a plain TypeError); returns the error. */
function refused(config: unknown, code = 'TG_INVALID_ARGUMENT'): Coded {
  const e = thrown(() => make(config));
  expect(e).toBeInstanceOf(Error);
  expect(e.code, e.message).toBe(code);
  return e;
}

describe('the five reported cases', () => {
  it("profile: 'Production' is a coded error listing the profiles (was a plain TypeError)", () => {
    const e = refused({ profile: 'Production' });
    expect(e.message).toContain("'production', 'staging', 'development'");
    expect(e.message).toContain('"Production"');
    expect(e.option).toBe('profile');
  });

  it("dataPipelineProtection: 'constructor' is refused (it turned the precision and finite-share checks off)", () => {
    const e = refused({ dataPipelineProtection: 'constructor', enableAuditLogging: false });
    expect(e.message).toContain("'permissive', 'moderate', 'strict'");
    // The tables themselves hand out own rows only.
    for (const table of [INPUT_THRESHOLDS, OUTPUT_THRESHOLDS, PIPELINE_THRESHOLDS, PROFILES]) {
      expect(Object.getPrototypeOf(table)).toBeNull();
      expect(Object.isFrozen(table)).toBe(true);
      for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
        expect(thrown(() => lookup(table as Record<string, unknown>, name, 'level')).code).toBe('TG_INVALID_ARGUMENT');
      }
    }
  });

  it("a level named '__proto__' is refused at construction (it was accepted, then every call threw)", () => {
    refused({ threatDetectionLevel: '__proto__', enableAuditLogging: false });
    refused({ dataPipelineProtection: '__proto__', enableAuditLogging: false });
    refused({ fallbackStrategy: '__proto__', enableAuditLogging: false });
    refused({ profile: '__proto__' });
    // And as a key: JSON.parse makes '__proto__' an own property.
    const e = refused(JSON.parse('{"enableAuditLogging": false, "__proto__": {"threatDetectionLevel": "low"}}'));
    expect(e.message).toContain('unknown key "__proto__"');
  });

  it('a NaN suspension threshold is refused (it disabled suspension), and so is every non-count', () => {
    for (const bad of [NaN, Infinity, -Infinity, 0, -1, 2.5, 1e300, '5', null]) {
      const e = refused({ suspendAfterCorruptOutputs: bad, enableAuditLogging: false });
      expect(e.message).toContain('suspendAfterCorruptOutputs must be an integer from 1 to');
    }
  });

  it('a profile outside the three cannot skip the production gates', () => {
    const productionLike = {
      threatDetectionLevel: 'high',
      dataPipelineProtection: 'strict',
      fallbackStrategy: 'graceful',
      enableAuditLogging: true,
      audit: { signingKey: KEY, durability: 'memory' },
    };
    for (const profile of ['prod', 'PRODUCTION', 'production ', 'toString', 'constructor', '', 42, null]) {
      refused({ profile, ...productionLike });
    }
    // The real name goes through the gates: no file, no pin.
    const e = refused({ profile: 'production', ...productionLike }, 'TG_GATE_FAILED');
    expect(e.message).toContain('- audit-file:');
    expect(e.message).toContain('- model-pin:');
  });
});

describe('reading the configuration', () => {
  it('reads own properties only: a polluted Object.prototype injects nothing', () => {
    const proto = Object.prototype as Record<string, unknown>;
    const injected: Record<string, unknown> = {
      profile: 'production',
      threatDetectionLevel: '__proto__',
      dataPipelineProtection: 'constructor',
      suspendAfterCorruptOutputs: NaN,
      provider: 'cuda',
      providerPolicy: 'require',
      durability: 'fsync',
      consecutiveFailures: NaN,
      limit: -1,
      flushIntervalMs: -5,
    };
    // Not enumerable: Ajv's for-in over the manifest would see enumerable ones (and refuse it).
    for (const [k, v] of Object.entries(injected)) Object.defineProperty(proto, k, { value: v, configurable: true, writable: true, enumerable: false });
    let g: TiRexGuardian;
    try {
      g = make({ enableAuditLogging: true, audit: { signingKey: KEY } });
    } finally {
      for (const k of Object.keys(injected)) delete proto[k];
    }
    expect(g.config).toEqual({ level: 'low', pipeline: 'moderate', strategy: 'strict', audit: true });
    expect(g.session.provider).toBe('cpu');
    expect(g.auditLog!.durability).toBe('memory');
    expect(g.breaker.options.consecutiveFailures).toBe(3);
  });

  it('reads each field exactly once (getters included) and keeps a snapshot', () => {
    const reads: Record<string, number> = {};
    const counted = <T extends object>(name: string, fields: T): T => {
      const o = {} as T;
      for (const [k, v] of Object.entries(fields)) {
        Object.defineProperty(o, k, {
          enumerable: true,
          get() {
            reads[`${name}.${k}`] = (reads[`${name}.${k}`] ?? 0) + 1;
            return v;
          },
        });
      }
      return o;
    };
    const config = counted('config', {
      profile: 'staging',
      fallbackStrategy: 'strict',
      suspendAfterCorruptOutputs: 7,
      marketBounds: counted('bounds', { BRENT: counted('brent', { lo: 1, hi: 500 }) }),
      audit: counted('audit', { signingKey: KEY, durability: 'memory', handoffLimit: 64 }),
      session: counted('session', { intraOpThreads: 1, deterministic: true }),
      breaker: counted('breaker', { consecutiveFailures: 4 }),
    });
    const g = make(config);
    expect(Object.values(reads).every((n) => n === 1), JSON.stringify(reads)).toBe(true);
    expect(Object.keys(reads)).toHaveLength(16);
    expect(g.config).toEqual({ level: 'medium', pipeline: 'strict', strategy: 'strict', audit: true });
    expect(g.breaker.options.consecutiveFailures).toBe(4);
  });

  it('a getter or a Proxy trap that throws becomes TG_INVALID_ARGUMENT with the cause kept', () => {
    const boom = new Error('boom');
    const getter = Object.defineProperty({}, 'profile', {
      enumerable: true,
      get() {
        throw boom;
      },
    });
    const e = refused(getter);
    expect(e.cause).toBe(boom);
    const trap = new Proxy({}, { ownKeys: () => { throw boom; } });
    expect(refused(trap).cause).toBe(boom);
    expect(refused({ audit: new Proxy({}, { getPrototypeOf: () => { throw boom; } }) }).cause).toBe(boom);
  });

  it('refuses objects that are not plain: null, arrays, class instances, symbol keys', () => {
    refused(null);
    refused('production');
    refused([]);
    refused({ session: [] });
    refused({ audit: new (class Options { file = 'x'; })() });
    refused(Object.create({ profile: 'production' })); // inherited options would be ignored
    refused({ [Symbol('profile')]: 'production' });
    expect(resolveGuardianConfig(undefined).profile).toBe('development');
    expect(resolveGuardianConfig(Object.create(null)).profile).toBe('development');
  });

  it('a ManualClock (now() on its prototype) drives the breaker', () => {
    const clock = new ManualClock(1000);
    const g = make({ enableAuditLogging: false, clock });
    expect(g.breaker.stats().since).toBe(1000);
    refused({ clock: {} });
    refused({ clock: 5 });
  });
});

describe('values', () => {
  it.each([
    [{ model: '' }, 'model'],
    [{ model: 5 }, 'model'],
    [{ modelSha256: 'ABC' }, 'modelSha256'],
    [{ modelSha256: SHA.toUpperCase() }, 'modelSha256'],
    [{ enableAuditLogging: 'yes' }, 'enableAuditLogging'],
    [{ resultBuffers: 'shared' }, 'resultBuffers'],
    [{ session: { intraOpThreads: -1 } }, 'session.intraOpThreads'],
    [{ session: { intraOpThreads: 1.5 } }, 'session.intraOpThreads'],
    [{ session: { provider: 'tpu' } }, 'session.provider'],
    [{ session: { deterministic: 1 } }, 'session.deterministic'],
    [{ session: { threads: 2 } }, 'session'],
    [{ audit: { handoffLimit: 0 } }, 'audit.handoffLimit'],
    [{ audit: { handoffLimit: 2 ** 40 } }, 'audit.handoffLimit'],
    [{ audit: { onHandoffFull: 'wait' } }, 'audit.onHandoffFull'],
    [{ audit: { durability: 'disk' } }, 'audit.durability'],
    [{ audit: { fiel: 'a.log' } }, 'audit'],
    [{ audit: { file: 'a.log', dir: 'd' } }, 'audit'],
    [{ audit: { file: 'a.log', segmentBytes: 4096 } }, 'audit.segmentBytes'],
    [{ audit: { dir: 'd', segmentMs: -1 } }, 'audit.segmentMs'],
    [{ audit: { signingKey: 42 } }, 'audit.signingKey'],
    [{ breaker: { consecutiveFailures: NaN } }, 'breaker'],
    [{ breaker: { name: 'x' } }, 'breaker'],
    [{ breaker: { clock: new ManualClock() } }, 'breaker'],
    [{ breaker: { openMS: 10 } }, 'breaker'],
  ])('refuses %j naming %s', (config, option) => {
    const e = refused({ enableAuditLogging: false, ...config });
    expect(e.option).toBe(option);
  });

  it('refuses market bounds that are not finite { lo <= hi } with TG_INVALID_BOUNDS', () => {
    for (const b of [{ lo: 10, hi: 1 }, { lo: NaN, hi: 1 }, { lo: -Infinity, hi: 1 }, { lo: 0 }, { lo: '0', hi: 1 }, { lo: 0, hi: 1, mid: 0.5 }, null, 5]) {
      refused({ enableAuditLogging: false, marketBounds: { BRENT: b } }, 'TG_INVALID_BOUNDS');
    }
    refused({ enableAuditLogging: false, marketBounds: [] }, 'TG_INVALID_BOUNDS');
  });
});

describe('where the audit records go (finding 7)', () => {
  it('staging refuses an audit log with no file or directory, naming the remedy', () => {
    const e = refused({ profile: 'staging', audit: { signingKey: KEY } });
    expect(e.message).toContain('audit.file or audit.dir');
    expect(e.message).toContain('in memory');
  });

  it("staging accepts 'memory' asked for by name; development keeps its in-memory default", () => {
    expect(make({ profile: 'staging', audit: { signingKey: KEY, durability: 'memory' } }).auditLog!.durability).toBe('memory');
    expect(make({ enableAuditLogging: true, audit: { signingKey: KEY } }).auditLog!.durability).toBe('memory');
    expect(make({ profile: 'staging', enableAuditLogging: false }).auditLog).toBeNull();
  });

  it('staging with a file writes it (fsync by default)', async () => {
    const g = make({ profile: 'staging', audit: { signingKey: KEY, file: path.join(DIR, 'staging.log') } });
    expect(g.auditLog!.durability).toBe('fsync');
  });

  it("production refuses 'memory' through its gates; 'memory' with a file is refused everywhere", () => {
    const e = refused({ profile: 'production', modelSha256: SHA, audit: { signingKey: KEY, durability: 'memory' } }, 'TG_GATE_FAILED');
    expect(e.message).toContain('- audit-file:');
    for (const profile of ['production', 'staging', 'development']) {
      const c = refused({ profile, modelSha256: SHA, audit: { signingKey: KEY, durability: 'memory', file: path.join(DIR, 'never.log') } });
      expect(c.option).toBe('audit.durability');
    }
    expect(refused({ enableAuditLogging: true, audit: { signingKey: KEY, durability: 'fsync' } }).option).toBe('audit.durability');
  });
});

// ---------------------------------------------------------------------------------- properties

type Kind = 'object' | 'enum' | 'string' | 'int' | 'bool' | 'key' | 'clock' | 'number';
const LEVELS: Record<string, Record<string, Kind>> = {
  config: {
    profile: 'enum',
    threatDetectionLevel: 'enum',
    dataPipelineProtection: 'enum',
    fallbackStrategy: 'enum',
    enableAuditLogging: 'bool',
    model: 'string',
    modelSha256: 'string',
    session: 'object',
    audit: 'object',
    marketBounds: 'object',
    breaker: 'object',
    clock: 'clock',
    suspendAfterCorruptOutputs: 'int',
    resultBuffers: 'enum',
  },
  session: { intraOpThreads: 'int', interOpThreads: 'int', graphOptimizationLevel: 'enum', deterministic: 'bool', allowSpinning: 'bool', provider: 'enum', deviceId: 'int', providerPolicy: 'enum' },
  audit: { file: 'string', dir: 'string', durability: 'enum', segmentBytes: 'int', segmentMs: 'int', signingKey: 'key', callerIdKey: 'string', handoffLimit: 'int', onHandoffFull: 'enum' },
  breaker: { windowMs: 'number', windowBuckets: 'int', minimumCalls: 'int', failureRateThreshold: 'number', consecutiveFailures: 'number', openMs: 'number', halfOpenMaxCalls: 'int' },
  bounds: { lo: 'number', hi: 'number' },
};

/** A valid development configuration with the field at `level` set to `value` (or `key` added). */
function withField(level: string, key: string, value: unknown): Record<string, unknown> {
  const config: Record<string, unknown> = { enableAuditLogging: false };
  const put = (o: Record<string, unknown>): Record<string, unknown> => Object.defineProperty(o, key, { value, enumerable: true, configurable: true, writable: true });
  if (level === 'config') return put(config);
  if (level === 'bounds') config.marketBounds = { BRENT: put({ lo: 1, hi: 2 }) };
  else config[level] = put({});
  return config;
}

const notAString = fc.oneof(fc.double(), fc.boolean(), fc.constant(null), fc.object(), fc.array(fc.anything(), { maxLength: 3 }), fc.bigInt());
const notANumber = fc.oneof(fc.string(), fc.boolean(), fc.constant(null), fc.object(), fc.constant(NaN), fc.bigInt());
const WRONG: Record<Kind, fc.Arbitrary<unknown>> = {
  object: fc.oneof(fc.string(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.anything(), { maxLength: 3 })),
  enum: fc.oneof(notAString, fc.string().filter((s) => !['production', 'staging', 'development'].includes(s)).map((s) => `${s}!`)),
  string: fc.oneof(notAString, fc.constant('')),
  int: fc.oneof(notANumber, fc.constant(Infinity), fc.constant(-1), fc.double({ min: 0.01, max: 0.99, noNaN: true })),
  number: notANumber,
  bool: fc.oneof(fc.string(), fc.double(), fc.constant(null), fc.object()),
  key: fc.oneof(fc.double(), fc.boolean(), fc.constant(null), fc.object(), fc.constant('')),
  clock: fc.oneof(fc.string(), fc.double(), fc.constant(null), fc.constant({})),
};

function expectCoded(config: unknown): void {
  const e = thrown(() => make(config));
  expect(e).toBeInstanceOf(Error);
  expect(typeof e.code === 'string' && e.code.startsWith('TG_'), `${e.name}: ${e.message}`).toBe(true);
}

describe('properties', () => {
  it('an unknown key at any level is a coded error', () => {
    const level = fc.constantFrom(...Object.keys(LEVELS));
    fc.assert(
      fc.property(level, fc.string({ minLength: 1 }), fc.anything(), (lvl, key, value) => {
        fc.pre(!Object.hasOwn(LEVELS[lvl]!, key) && value !== undefined);
        expectCoded(withField(lvl, key, value));
      }),
      { numRuns: 400 },
    );
  });

  it('a wrong-typed value at any level is a coded error', () => {
    const field = fc.constantFrom(...Object.entries(LEVELS).flatMap(([lvl, fields]) => Object.entries(fields).map(([k, kind]) => ({ lvl, k, kind }))));
    fc.assert(
      fc.property(field.chain((f) => fc.tuple(fc.constant(f), WRONG[f.kind])), ([f, value]) => {
        fc.pre(value !== undefined);
        expectCoded(withField(f.lvl, f.k, value));
      }),
      { numRuns: 600 },
    );
  });

  it('any value at all gives a guardian or a coded error, never an untyped one', async () => {
    const field = fc.constantFrom(...Object.entries(LEVELS).flatMap(([lvl, fields]) => Object.keys(fields).map((k) => ({ lvl, k }))));
    await fc.assert(
      fc.asyncProperty(field, fc.anything({ withNullPrototype: true, withObjectString: true }), async (f, value) => {
        let g: TiRexGuardian | null = null;
        try {
          g = new TiRexGuardian(withField(f.lvl, f.k, value) as GuardianConfig);
        } catch (e) {
          expect(typeof (e as Coded).code === 'string' && String((e as Coded).code).startsWith('TG_'), String(e)).toBe(true);
        }
        await g?.close();
      }),
      { numRuns: 300 },
    );
  }, 120_000);

  it('valid configurations construct, with the policy they ask for', async () => {
    const valid = fc.record(
      {
        profile: fc.constantFrom('development', 'staging'),
        threatDetectionLevel: fc.constantFrom('low', 'medium', 'high'),
        dataPipelineProtection: fc.constantFrom('permissive', 'moderate', 'strict'),
        fallbackStrategy: fc.constantFrom('strict', 'graceful'),
        enableAuditLogging: fc.boolean(),
        suspendAfterCorruptOutputs: fc.integer({ min: 1, max: 1000 }),
        resultBuffers: fc.constantFrom('pooled', 'own'),
        session: fc.record({ intraOpThreads: fc.constantFrom(1, 2), graphOptimizationLevel: fc.constantFrom('basic', 'all') }, { requiredKeys: [] }),
        breaker: fc.record({ consecutiveFailures: fc.integer({ min: 1, max: 10 }), openMs: fc.integer({ min: 0, max: 100_000 }) }, { requiredKeys: [] }),
        marketBounds: fc.dictionary(
          fc.string({ minLength: 1, maxLength: 8 }).filter((k) => k !== '__proto__'),
          fc.tuple(fc.double({ min: -1e6, max: 1e6, noNaN: true }), fc.double({ min: 0, max: 1e6, noNaN: true })).map(([lo, w]) => ({ lo, hi: lo + w })),
          { maxKeys: 3 },
        ),
        audit: fc.constant({ signingKey: KEY, durability: 'memory' }),
      },
      { requiredKeys: ['audit'] },
    );
    await fc.assert(
      fc.asyncProperty(valid, async (config) => {
        const g = new TiRexGuardian(config as GuardianConfig);
        try {
          const preset = PROFILES[(config.profile ?? 'development') as 'development'];
          expect(g.config).toEqual({
            level: config.threatDetectionLevel ?? preset.threatDetectionLevel,
            pipeline: config.dataPipelineProtection ?? preset.dataPipelineProtection,
            strategy: config.fallbackStrategy ?? preset.fallbackStrategy,
            audit: config.enableAuditLogging ?? preset.enableAuditLogging,
          });
        } finally {
          await g.close();
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);
});
