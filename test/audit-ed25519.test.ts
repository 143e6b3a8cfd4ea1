// Checkpoints signed with Ed25519: the writer holds the private key, auditors verify with the
// public key alone and cannot forge; a log signed one way is refused by a key of the other kind.
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { AuditLog, verifyAuditLines, verifyAuditLog } from '../lib/audit/index';
import { signingKeyOf, verifyKeyOf } from '../lib/audit/signing';
import { readCsvColumn, TiRexGuardian } from '../lib/index';
import { runCli } from './cli-run';

const ROOT = path.resolve(__dirname, '..');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-audit-ed-'));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));
const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

async function writeLog(key: Parameters<typeof AuditLog.open>[0]['signingKey'], n = 50): Promise<string[]> {
  const log = await AuditLog.open({ durability: 'memory', signingKey: key, checkpointEvery: 10 });
  for (let i = 0; i < n; i++) log.append({ callerId: `desk-${i % 3}`, status: 'ok', latencyUs: i });
  await log.close();
  return [...log.memoryLines()];
}

describe('the signing key from the environment', () => {
  it('the guardian takes $TG_AUDIT_SIGNING_KEY when its configuration names none', async () => {
    const before = process.env.TG_AUDIT_SIGNING_KEY;
    process.env.TG_AUDIT_SIGNING_KEY = 'e'.repeat(40);
    try {
      const file = path.join(TMP, 'env-key.log');
      const g = new TiRexGuardian({ profile: 'staging', audit: { file } });
      const brent = readCsvColumn(path.join(ROOT, 'data', 'brent-daily.csv'), 'Price').values;
      g.safeForecast({ context: Float32Array.from(brent.subarray(brent.length - 256)), predictionLength: 4, userId: 'env' });
      await g.close();
      expect((await verifyAuditLog(file, { signingKey: 'e'.repeat(40) })).status).toBe('verified');
      delete process.env.TG_AUDIT_SIGNING_KEY;
      expect(() => new TiRexGuardian({ profile: 'staging', audit: { file: path.join(TMP, 'no-key.log') } })).toThrow(/TG_AUDIT_SIGNING_KEY/);
    } finally {
      if (before === undefined) delete process.env.TG_AUDIT_SIGNING_KEY;
      else process.env.TG_AUDIT_SIGNING_KEY = before;
    }
  });
});

describe('Ed25519 checkpoints', () => {
  it('verify with the public key (KeyObject or PEM); the private key works too; resumes with it', async () => {
    const lines = await writeLog(privateKey);
    const cps = lines.map((l) => JSON.parse(l)).filter((e) => e.type === 'checkpoint');
    expect(cps.length).toBeGreaterThan(3);
    for (const cp of cps) {
      expect(cp.alg).toBe('Ed25519');
      expect(cp.sig).toMatch(/^[0-9a-f]{128}$/);
    }
    expect(verifyAuditLines(lines, { publicKey }).status).toBe('verified');
    expect(verifyAuditLines(lines, { publicKey: publicPem }).status).toBe('verified');
    expect(verifyAuditLines(lines, { signingKey: privatePem }).status).toBe('verified');
    const file = path.join(TMP, 'ed.log');
    for (let session = 0; session < 2; session++) {
      const log = await AuditLog.open({ file, durability: 'fsync', signingKey: privatePem, checkpointEvery: 10 });
      for (let i = 0; i < 25; i++) log.append({ callerId: 'desk', status: 'ok', latencyUs: i });
      await log.close();
    }
    const r = await verifyAuditLog(file, { publicKey: publicPem });
    expect(r).toMatchObject({ status: 'verified', sessions: 2, records: 50 });
  });

  it('another key pair, an HMAC secret, or an edited entry: refused', async () => {
    const lines = await writeLog(privateKey);
    expect(verifyAuditLines(lines, { publicKey: other.publicKey }).problem?.reason).toBe('bad-signature');
    expect(verifyAuditLines(lines, { signingKey: 'h'.repeat(40) }).problem?.reason).toBe('bad-signature');
    const hmacLines = await writeLog('h'.repeat(40));
    expect(verifyAuditLines(hmacLines, { publicKey }).problem?.reason).toBe('bad-signature');
    // A forger with only the public key re-signs nothing: rewriting a checkpoint's sig fails.
    const forged = lines.map((l) => l.replace(/"sig":"[0-9a-f]{128}"/, `"sig":"${'0'.repeat(128)}"`));
    expect(verifyAuditLines(forged, { publicKey }).status).toBe('invalid');
  });

  it('a public key cannot sign; non-Ed25519 asymmetric keys and short secrets are refused', () => {
    expect(() => signingKeyOf(publicKey)).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
    expect(() => signingKeyOf(publicPem)).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
    expect(() => signingKeyOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)).toThrow(/Ed25519/);
    expect(() => signingKeyOf('short')).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
    expect(() => verifyKeyOf(publicKey).sign('x')).toThrow(/not sign/);
  });

  it('the guardian signs with a key pair (production gates accept it); audit verify --public-key-file on a segment dir', async () => {
    const brent = readCsvColumn(path.join(ROOT, 'data', 'brent-daily.csv'), 'Price').values;
    const prices = Float32Array.from(brent.subarray(brent.length - 512));
    const dir = path.join(TMP, 'guardian-dir');
    const g = new TiRexGuardian({ profile: 'staging', audit: { dir, signingKey: privateKey, segmentBytes: 4096 } });
    for (let i = 0; i < 30; i++) expect(g.safeForecast({ context: prices, predictionLength: 8, userId: 'desk-9' }).status).toBe('ok');
    await g.close();
    const pubFile = path.join(TMP, 'audit.pub');
    fs.writeFileSync(pubFile, publicPem);
    const r = runCli(['audit', 'verify', dir, '--public-key-file', pubFile]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('VERIFIED');
    expect(r.stdout).toMatch(/segments: [2-9]/);
  });
});
