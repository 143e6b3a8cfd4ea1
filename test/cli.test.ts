import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { readCsvColumn, scan } from '../lib/index';
import { runCli } from './cli-run';

const ROOT = path.resolve(__dirname, '..');
const BRENT = path.join(ROOT, 'data', 'brent-daily.csv');

const cli = (...args: string[]) => runCli(args);

describe('command line', () => {
  it('info reports the runtime and the kernel path', () => {
    const r = cli('info');
    expect(r.status).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.runtime.providers).toContain('CPUExecutionProvider');
    expect(typeof info.cpu.simd).toBe('boolean');
  });

  it('scan prints the statistics of a real series, the same as the library computes', () => {
    const r = cli('scan', BRENT, '--column', 'Price', '--lo', '0', '--hi', '100', '--json');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stdout);
    const col = readCsvColumn(BRENT, 'Price');
    expect(report.rows).toBe(col.values.length);
    expect(report.rows).toBeGreaterThan(9000);
    expect(report.stats).toEqual(JSON.parse(JSON.stringify(scan(col.values, { lo: 0, hi: 100 }))));
    // Brent traded above 100 USD in 2008 and 2011-2014 and below 0 never: some out of bounds.
    expect(report.stats.outOfBoundsCount).toBeGreaterThan(0);
    expect(report.stats.min).toBeGreaterThan(0);
  });

  it('fails with a clear message and a non-zero status on a bad column or file', () => {
    const bad = cli('scan', BRENT, '--column', 'Volume');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('no column "Volume"');
    expect(bad.stderr).toContain('Date, Price');
    const missing = cli('scan', path.join(ROOT, 'no-such-file.csv'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain('cannot read');
    expect(cli('frobnicate').status).toBe(2);
  });
});

describe('forecast with a file-backed audit trail, then verify', () => {
  it('verifies an untouched log (exit 0) and catches an edited one (exit 1)', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-cli-audit-'));
    const log = path.join(dir, 'audit.log');
    const key = path.join(dir, 'key.txt');
    fs.writeFileSync(key, 'c'.repeat(48));
    const f = cli('forecast', BRENT, '--column', 'Price', '--horizon', '4', '--audit-file', log, '--signing-key-file', key);
    expect(f.status, f.stderr).toBe(0);
    expect(f.stdout).toContain('status: ok');
    const ok = cli('verify', log, '--signing-key-file', key);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('VERIFIED');
    fs.writeFileSync(log, fs.readFileSync(log, 'utf8').replace('"status":"ok"', '"status":"fallback"'));
    const bad = cli('verify', log, '--signing-key-file', key);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toContain('INVALID: edited');
  });
});

describe('audit verify and audit query', () => {
  it('verify takes the key from a file or the environment; query filters by time, user, status and model', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const { AuditLog } = await import('../lib/audit/index');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-cli-query-'));
    const log = path.join(dir, 'audit.log');
    const keyFile = path.join(dir, 'key.txt');
    const callerKeyFile = path.join(dir, 'caller-key.txt');
    const key = 'q'.repeat(40);
    fs.writeFileSync(keyFile, key);
    fs.writeFileSync(callerKeyFile, 'caller-key-0123456789abcdef');
    const w = await AuditLog.open({ file: log, durability: 'fsync', signingKey: key, hashCallerIds: { key: 'caller-key-0123456789abcdef' } });
    const t0 = Date.parse('2026-11-23T10:00:00.000Z');
    const models = ['aa'.repeat(32), 'bb'.repeat(32)];
    for (let i = 0; i < 40; i++) {
      w.append({
        callerId: `desk-${i % 4}`,
        status: (['ok', 'corrected', 'fallback', 'blocked'] as const)[i % 4]!,
        latencyUs: 100 + i,
        modelHash: models[i % 2]!,
        time: t0 + i * 60_000,
      });
    }
    await w.close();
    expect(cli('audit', 'verify', log, '--signing-key-file', keyFile).status).toBe(0);
    const env = runCli(['audit', 'verify', log], { env: { TG_AUDIT_SIGNING_KEY: key } });
    expect(env.status, env.stderr).toBe(0);
    const noKey = runCli(['audit', 'verify', log], { env: { TG_AUDIT_SIGNING_KEY: '' } });
    expect(noKey.status).not.toBe(0);
    expect(noKey.stderr).toContain('TG_AUDIT_SIGNING_KEY');

    const q = (...args: string[]) => {
      const r = cli('audit', 'query', log, '--json', ...args);
      expect(r.status, r.stderr).toBe(0);
      return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    };
    expect(q().length).toBe(40);
    const window = q('--from', '2026-11-23T10:10:00Z', '--to', '2026-11-23T10:20:00Z');
    expect(window.map((r) => r.latencyUs)).toEqual(Array.from({ length: 10 }, (_, k) => 110 + k));
    const user = q('--user', 'desk-1', '--caller-key-file', callerKeyFile);
    expect(user.length).toBe(10);
    expect(new Set(user.map((r) => r.status))).toEqual(new Set(['corrected']));
    expect(q('--user', 'desk-1').length).toBe(0); // the log holds pseudonyms: the key finds them
    expect(q('--status', 'fallback,blocked').length).toBe(20);
    expect(q('--model', 'bbbbbbbb').every((r) => r.modelHash === models[1])).toBe(true);
    expect(q('--model', 'bbbbbbbb', '--status', 'ok', '--limit', '3').length).toBe(0); // ok records use model aa
    expect(q('--status', 'ok', '--limit', '3').length).toBe(3);
    const bad = cli('audit', 'query', log, '--model', 'xyz');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toContain('model');
  });
});

describe('forecast in production without its gates', () => {
  it('refuses to start and lists every remedy (exit 1, TG_GATE_FAILED)', () => {
    const r = cli('forecast', BRENT, '--column', 'Price', '--profile', 'production');
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('TG_GATE_FAILED');
    expect(r.stderr).toContain('audit-file');
    expect(r.stderr).toContain('model-pin');
  });
});
