/**
 * The service's configuration: precedence (defaults < profile < file < TG_* < overrides), paths
 * relative to the file, every problem named at once, and the README's table of variables is the
 * code's list (a stale table is a bug).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { ENV_VARIABLES, loadServiceConfig } from '../lib/service/config';
import { tempDir } from './service-fixtures';

const thrown = (fn: () => unknown): Error & { code?: string; problems?: string[] } => {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: string; problems?: string[] };
  }
  throw new Error('did not throw');
};

describe('loadServiceConfig', () => {
  it('defaults are seed 004 presets, in the development profile', () => {
    const c = loadServiceConfig({ env: {} });
    expect(c.profile).toBe('development');
    expect([c.host, c.port, c.keysFile]).toEqual(['127.0.0.1', 8080, 'tirex-guardian-keys.json']);
    expect(c.rateLimits.api).toEqual({ algorithm: 'sliding-window', limit: 100, windowMs: 60_000 });
    expect(c.rateLimits.forecast).toEqual({ algorithm: 'token-bucket', limit: 10, windowMs: 1000, burst: 10 });
    expect(c.rateLimits.global).toEqual({ algorithm: 'token-bucket', limit: 1000, windowMs: 1000, burst: 1000 });
    expect(c.rateLimits.authFailures).toEqual({ limit: 5, windowMs: 60_000, blockMs: 300_000 });
    expect(c.audit.enabled).toBe(false);
    expect(loadServiceConfig({ env: { TG_PROFILE: 'production' } }).audit).toEqual({ enabled: true, dir: 'audit', durability: 'fsync', signingKeyFile: null, callerIdKeyFile: null });
  });

  it('file over profile, TG_* over file, overrides over all; file paths relative to the file', () => {
    const dir = tempDir();
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, JSON.stringify({ profile: 'staging', port: 9000, host: '0.0.0.0', keysFile: 'k.json', audit: { dir: 'a', signingKeyFile: '/abs/key' }, models: [{ name: 'm', manifest: 'models/m.json' }] }));
    const c = loadServiceConfig({ file, env: { TG_PORT: '9100', TG_REDIS_URL: 'redis://r:6379', TG_BEHIND_PROXY: 'yes' }, overrides: { logLevel: 'warn' } });
    expect([c.profile, c.host, c.port, c.behindProxy, c.logLevel]).toEqual(['staging', '0.0.0.0', 9100, true, 'warn']);
    expect(c.keysFile).toBe(path.join(dir, 'k.json'));
    expect(c.audit.dir).toBe(path.join(dir, 'a'));
    expect(c.audit.signingKeyFile).toBe('/abs/key');
    expect(c.models).toEqual([{ name: 'm', manifest: path.join(dir, 'models/m.json') }]);
    expect(c.rateLimits.redis).toEqual({ url: 'redis://r:6379', prefix: 'tg:', commandTimeoutMs: 50, insuranceDivisor: 1 });
    // Relative paths from a variable stay relative to the working directory.
    expect(loadServiceConfig({ file, env: { TG_KEYS_FILE: 'other.json' } }).keysFile).toBe('other.json');
  });

  it('evidence and the security preflight: profile defaults, file paths relative to the file, TG_* variables', () => {
    expect([loadServiceConfig({ env: {} }).evidenceDir, loadServiceConfig({ env: {} }).security.preflight]).toEqual([null, false]);
    const prod = loadServiceConfig({ env: { TG_PROFILE: 'production' } });
    expect([prod.evidenceDir, prod.security]).toEqual([
      'evidence',
      { preflight: true, registry: 'https://registry.npmjs.org', allowlistFile: null, osvDir: null, advisoryDb: null, severityThreshold: 'moderate', maxArtifactAgeHours: 24, projectDir: null, omitDev: null },
    ]);
    const dir = tempDir();
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, JSON.stringify({ evidenceDir: 'ev', security: { allowlistFile: 'allow.json', osvDir: 'osv', projectDir: '/srv/app', severityThreshold: 'high', maxArtifactAgeHours: 0 } }));
    const c = loadServiceConfig({ file, env: {} });
    expect([c.evidenceDir, c.security.allowlistFile, c.security.osvDir, c.security.projectDir, c.security.severityThreshold, c.security.maxArtifactAgeHours]).toEqual([
      path.join(dir, 'ev'),
      path.join(dir, 'allow.json'),
      path.join(dir, 'osv'),
      '/srv/app',
      'high',
      0,
    ]);
    const e = loadServiceConfig({ file, env: { TG_EVIDENCE_DIR: '/var/ev', TG_SECURITY_PREFLIGHT: 'on', TG_SECURITY_REGISTRY: 'off', TG_SECURITY_OSV_DIR: '/osv', TG_SECURITY_HARD_FAIL: '0' } });
    expect([e.evidenceDir, e.security.preflight, e.security.registry, e.security.osvDir]).toEqual(['/var/ev', true, null, '/osv']);
    expect(thrown(() => loadServiceConfig({ env: { TG_SECURITY_REGISTRY: 'ftp://mirror' } })).problems).toContain('security.registry: must match pattern "^https?://"');
    expect(thrown(() => loadServiceConfig({ env: {}, overrides: { security: { severityThreshold: 'severe' } } })).problems![0]).toMatch(/^security.severityThreshold: must be one of/);
  });

  it('reports every problem at once, each naming its key or variable', () => {
    const dir = tempDir();
    const file = path.join(dir, 'c.json');
    fs.writeFileSync(file, JSON.stringify({ port: 70000, rateLimits: { api: { algorithm: 'sliding-window', limit: 200000, windowMs: 1000 }, forecast: { algorithm: 'token-bucket', limit: 1, windowMs: 1, burts: 3 } }, models: [{ name: 'a', manifest: 'x' }, { name: 'a', manifest: 'y' }] }));
    const e = thrown(() => loadServiceConfig({ file, env: { TG_LOG_LEVEL: 'loud', TG_PORTT: '1', TG_RATE_LIMITS: 'maybe' } }));
    expect(e.code).toBe('TG_CONFIG_INVALID');
    expect(e.problems!.map((p) => p.split(' (known:')[0])).toEqual([
      'TG_PORTT: unknown environment variable',
      'TG_RATE_LIMITS: must be true or false (1/0, on/off, yes/no)',
      'port: must be <= 65535',
      'rateLimits.forecast.burts: unknown key',
      'logLevel: must be one of fatal, error, warn, info, debug, silent',
    ]);
    // Consistency problems come once the shape is right.
    fs.writeFileSync(file, JSON.stringify({ rateLimits: { api: { algorithm: 'sliding-window', limit: 200000, windowMs: 1000 } }, models: [{ name: 'a', manifest: 'x' }, { name: 'a', manifest: 'y' }] }));
    expect(thrown(() => loadServiceConfig({ file, env: {} })).problems).toEqual([
      "models[1].name: 'a' is used twice",
      'rateLimits.api.limit: a sliding window keeps at most 100000 admissions; use token-bucket for more',
    ]);
  });

  it('a file that is missing, not JSON or not an object is named', () => {
    const dir = tempDir();
    expect(thrown(() => loadServiceConfig({ file: path.join(dir, 'none.json'), env: {} })).message).toContain('none.json: cannot be read (ENOENT)');
    fs.writeFileSync(path.join(dir, 'bad.json'), '{');
    expect(thrown(() => loadServiceConfig({ file: path.join(dir, 'bad.json'), env: {} })).message).toContain('bad.json: not valid JSON');
    fs.writeFileSync(path.join(dir, 'arr.json'), '[]');
    expect(thrown(() => loadServiceConfig({ file: path.join(dir, 'arr.json'), env: {} })).message).toContain('arr.json: must hold a JSON object');
  });

  it("the README's table of variables is exactly ENV_VARIABLES", () => {
    const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
    const block = readme.slice(readme.indexOf('<!-- ENV:start -->'), readme.indexOf('<!-- ENV:end -->'));
    const rows = [...block.matchAll(/^\| `(TG_[A-Z0-9_]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual(ENV_VARIABLES.map((v) => [v.name, v.meaning]));
  });
});
