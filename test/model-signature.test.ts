// Signed models: an Ed25519 signature over the canonical manifest (which pins the .onnx sha256),
// a trusted-keys file, and the guardian refusing what it should, with typed errors, before the
// model is loaded. Real keys (node:crypto), real manifests and sessions, the real CLI.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { TiRexGuardian } from '../lib/index';
import { defaultTrustedKeysFile, keyIdOf, loadTrustedKeys, signaturePathOf, signModel, verifyModelSignature } from '../lib/model/signature';
import { runCli } from './cli-run';
import { manifestPath, modelPath, thrown, tmpDir } from './model-fixtures';
import { cleanProject } from './preflight-fixtures';

const ROOT = path.resolve(__dirname, '..');
const SHIPPED = path.join(ROOT, 'models', 'tirex-guardian-default.json');

function keyPair(): { privatePem: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, publicKey };
}

function trustedFile(dir: string, ...keys: KeyObject[]): string {
  const file = path.join(dir, 'trusted.json');
  fs.writeFileSync(file, JSON.stringify({ v: 1, keys: keys.map((k, i) => ({ keyId: keyIdOf(k), publicKey: k.export({ type: 'spki', format: 'pem' }), comment: `key ${i}` })) }));
  return file;
}

/** A copy of the quantile-ok fixture (manifest and model) in a directory of its own. */
function modelCopy(): string {
  const dir = tmpDir('tg-signed-');
  fs.copyFileSync(modelPath('quantile-ok'), path.join(dir, 'quantile-ok.onnx'));
  fs.copyFileSync(manifestPath('quantile-ok'), path.join(dir, 'model.json'));
  return path.join(dir, 'model.json');
}

describe('model signatures', () => {
  it('the shipped model is signed by the project key in the shipped trusted keys', () => {
    const check = verifyModelSignature(SHIPPED, loadTrustedKeys(defaultTrustedKeysFile()));
    expect(check.keyId).toBe('f89d2536a7016496');
    expect(check.comment).toContain('tirex-guardian project model-signing key');
    const pub = fs.readFileSync(path.join(ROOT, 'models', 'tirex-guardian-models-2026.pub.pem'), 'utf8');
    expect(loadTrustedKeys(defaultTrustedKeysFile()).map((k) => k.publicKey.export({ type: 'spki', format: 'pem' }))).toEqual([pub]);
  });

  it('verifies what it signed; refuses an untrusted key, a changed manifest, a missing or broken signature', () => {
    const m = modelCopy();
    const mine = keyPair();
    const other = keyPair();
    const sig = signModel(m, mine.privatePem, new Date('2026-11-30T00:00:00Z'));
    expect(sig).toMatchObject({ v: 1, alg: 'Ed25519', keyId: keyIdOf(mine.publicKey), signedAt: '2026-11-30T00:00:00.000Z' });
    expect(sig.modelSha256).toBe(JSON.parse(fs.readFileSync(m, 'utf8')).sha256);
    const trusted = loadTrustedKeys(trustedFile(path.dirname(m), other.publicKey, mine.publicKey));
    expect(verifyModelSignature(m, trusted)).toMatchObject({ keyId: sig.keyId, comment: 'key 1', manifestSha256: sig.manifestSha256 });
    // Formatting is not content: the same manifest re-indented, keys reordered, still verifies.
    const parsed = JSON.parse(fs.readFileSync(m, 'utf8'));
    fs.writeFileSync(m, JSON.stringify(Object.fromEntries(Object.entries(parsed).reverse())));
    expect(verifyModelSignature(m, trusted).keyId).toBe(sig.keyId);
    expect(thrown(() => verifyModelSignature(m, loadTrustedKeys(defaultTrustedKeysFile()))).code).toBe('TG_MODEL_KEY_UNTRUSTED');
    // Content is: one number changed after signing.
    fs.writeFileSync(m, JSON.stringify({ ...parsed, maxHorizon: parsed.maxHorizon + 1 }));
    const changed = thrown(() => verifyModelSignature(m, trusted));
    expect(changed.code).toBe('TG_MODEL_SIGNATURE_INVALID');
    expect(changed.message).toContain('the manifest changed after it was signed');
    fs.writeFileSync(m, JSON.stringify(parsed));
    // A signature whose bytes were flipped, one that is not JSON, one of another shape, none.
    const sigFile = signaturePathOf(m);
    const good = JSON.parse(fs.readFileSync(sigFile, 'utf8'));
    const flipped = Buffer.from(good.signature, 'base64');
    flipped[0] ^= 1;
    fs.writeFileSync(sigFile, JSON.stringify({ ...good, signature: flipped.toString('base64') }));
    expect(thrown(() => verifyModelSignature(m, trusted)).message).toContain('does not verify with key');
    fs.writeFileSync(sigFile, '{not json');
    expect(thrown(() => verifyModelSignature(m, trusted)).code).toBe('TG_MODEL_SIGNATURE_INVALID');
    fs.writeFileSync(sigFile, JSON.stringify({ ...good, alg: 'RS256' }));
    expect(thrown(() => verifyModelSignature(m, trusted)).code).toBe('TG_MODEL_SIGNATURE_INVALID');
    fs.rmSync(sigFile);
    expect(thrown(() => verifyModelSignature(m, trusted)).code).toBe('TG_MODEL_UNSIGNED');
  });

  it('refuses a malformed trusted-keys file and a signing key that is not Ed25519', () => {
    const dir = tmpDir('tg-trusted-');
    const k = keyPair();
    const write = (v: unknown) => {
      const f = path.join(dir, `t${Math.random()}.json`);
      fs.writeFileSync(f, JSON.stringify(v));
      return f;
    };
    const pem = k.publicKey.export({ type: 'spki', format: 'pem' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    for (const bad of [
      { v: 2, keys: [] },
      { v: 1, keys: [{ keyId: keyIdOf(k.publicKey), publicKey: pem }] },
      { v: 1, keys: [{ keyId: '0000000000000000', publicKey: pem, comment: 'wrong id' }] },
      { v: 1, keys: [{ keyId: '0000000000000000', publicKey: rsa.publicKey.export({ type: 'spki', format: 'pem' }), comment: 'rsa' }] },
      { v: 1, keys: [{ keyId: '0000000000000000', publicKey: 'not a key', comment: 'x' }] },
    ]) {
      expect(thrown(() => loadTrustedKeys(write(bad))).code).toBe('TG_TRUSTED_KEYS_INVALID');
    }
    expect(thrown(() => signModel(modelCopy(), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string)).code).toBe('TG_INVALID_ARGUMENT');
  });

  it('the guardian refuses an unsigned, untrusted or changed model when signatures are required, before loading it', () => {
    const m = modelCopy();
    const k = keyPair();
    const trusted = trustedFile(path.dirname(m), k.publicKey);
    const base = { model: m, enableAuditLogging: false, requireSignedModels: true, trustedModelKeys: trusted };
    expect(thrown(() => new TiRexGuardian(base)).code).toBe('TG_MODEL_UNSIGNED');
    signModel(m, k.privatePem);
    const g = new TiRexGuardian(base);
    expect(g.modelSignature?.keyId).toBe(keyIdOf(k.publicKey));
    void g.close();
    expect(thrown(() => new TiRexGuardian({ ...base, trustedModelKeys: defaultTrustedKeysFile() })).code).toBe('TG_MODEL_KEY_UNTRUSTED');
    // Not required (outside production by default): no check, no signer.
    const plain = new TiRexGuardian({ model: m, enableAuditLogging: false });
    expect(plain.modelSignature).toBeNull();
    void plain.close();
    // The signature covers the weights through the manifest's pin: other bytes are refused.
    fs.appendFileSync(path.join(path.dirname(m), 'quantile-ok.onnx'), Buffer.from([0]));
    expect(thrown(() => new TiRexGuardian(base)).code).toBe('TG_MODEL_HASH_MISMATCH');
  });

  it('production: the signature is a gate (listed with its remedy), and turning the requirement off fails it', () => {
    const dir = tmpDir('tg-prod-');
    const m = modelCopy();
    const sha = JSON.parse(fs.readFileSync(m, 'utf8')).sha256;
    const evidenceDir = path.join(dir, 'evidence');
    const securityPreflight = { projectDir: cleanProject() };
    const prod = { profile: 'production' as const, model: m, modelSha256: sha, evidenceDir, securityPreflight, audit: { signingKey: 'k'.repeat(32), file: path.join(dir, 'audit.log') } };
    const unsigned = thrown(() => new TiRexGuardian(prod)) as Error & { failures?: { gate: string; problem: string; remedy: string }[] };
    expect(unsigned.code).toBe('TG_GATE_FAILED');
    expect(unsigned.failures!.map((f) => f.gate)).toEqual(['model-signature']);
    expect(unsigned.failures![0]!.problem).toMatch(/^TG_MODEL_UNSIGNED: /);
    expect(unsigned.failures![0]!.remedy).toContain('tirex-guardian model sign');
    const off = thrown(() => new TiRexGuardian({ ...prod, requireSignedModels: false })) as Error & { failures?: { gate: string; problem: string }[] };
    expect(off.failures!.map((f) => [f.gate, f.problem])).toEqual([['model-signature', 'signed models are not required (requireSignedModels: false)']]);
    // The shipped model, signed by the project key, passes the gate.
    const shipped = new TiRexGuardian({ profile: 'production', evidenceDir, securityPreflight, modelSha256: JSON.parse(fs.readFileSync(SHIPPED, 'utf8')).sha256, audit: { signingKey: 'k'.repeat(32), file: path.join(dir, 'audit2.log') } });
    expect(shipped.modelSignature?.keyId).toBe('f89d2536a7016496');
    void shipped.close();
  });

  it('the CLI signs and verifies (exit 0), and refuses an untrusted signature (exit 1)', () => {
    const m = modelCopy();
    const dir = path.dirname(m);
    const k = keyPair();
    fs.writeFileSync(path.join(dir, 'key.pem'), k.privatePem, { mode: 0o600 });
    const signed = runCli(['model', 'sign', m, '--key', path.join(dir, 'key.pem'), '--json']);
    expect(signed.status, signed.stderr).toBe(0);
    expect(JSON.parse(signed.stdout)).toMatchObject({ v: 1, alg: 'Ed25519', keyId: keyIdOf(k.publicKey) });
    const ok = runCli(['model', 'verify', m, '--trusted-keys', trustedFile(dir, k.publicKey)]);
    expect([ok.status, ok.stdout]).toEqual([0, `ok: ${m} is signed by ${keyIdOf(k.publicKey)} (key 0) at ${JSON.parse(signed.stdout).signedAt}\n`]);
    const untrusted = runCli(['model', 'verify', m]);
    expect(untrusted.status).toBe(1);
    expect(untrusted.stderr).toContain('TG_MODEL_KEY_UNTRUSTED');
    const shipped = runCli(['model', 'verify', SHIPPED]);
    expect(shipped.status).toBe(0);
    const noKey = runCli(['model', 'sign', m]);
    expect(noKey.status).toBe(2);
  });
});
