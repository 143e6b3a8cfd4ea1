/**
 * Signed models (seed 001, phase G): an Ed25519 signature over the manifest's canonical JSON,
 * written beside it (`<manifest>.sig`). The manifest pins the .onnx file's sha256 (checked when a
 * session loads it), so the signature covers the weights too. A trusted-keys file names the public
 * keys whose signatures are accepted; `requireSignedModels` (on in the production profile) refuses
 * an unsigned model (TG_MODEL_UNSIGNED), a signature that does not verify, which is what a manifest
 * changed after signing gives (TG_MODEL_SIGNATURE_INVALID), and a key that is not trusted
 * (TG_MODEL_KEY_UNTRUSTED).
 *
 * Canonical JSON (lib/audit/record.ts's canonicalJson: sorted keys, no whitespace) makes the
 * signature independent of how the file is formatted, never of what it says.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { writeFileAtomic } from '../atomic-file';
import { canonicalJson } from '../audit/record';
import { codedError, ErrorCode } from '../errors';
import { packageRoot } from '../native/addon';

export const SIGNATURE_VERSION = 1;

export interface ModelSignature {
  v: 1;
  alg: 'Ed25519';
  /** The signing key's id: the first 16 hex digits of the sha256 of its SPKI DER encoding. */
  keyId: string;
  /** sha256 of the canonical manifest the signature covers. */
  manifestSha256: string;
  /** The model file's sha256 as the manifest pins it (for people; the signature covers it). */
  modelSha256: string;
  signedAt: string;
  /** base64 Ed25519 signature of the canonical manifest. */
  signature: string;
}

export interface TrustedKey {
  keyId: string;
  publicKey: KeyObject;
  comment: string;
}

/** What a verified signature says. */
export interface SignatureCheck {
  keyId: string;
  comment: string;
  signedAt: string;
  manifestSha256: string;
}

export function signaturePathOf(manifestPath: string): string {
  return `${path.resolve(manifestPath)}.sig`;
}

/** The trusted keys shipped with the package (the project's model-signing key). */
export function defaultTrustedKeysFile(): string {
  return path.join(packageRoot(), 'models', 'trusted-keys.json');
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('hex').slice(0, 16);
}

/** The manifest's canonical bytes (TG_MANIFEST_INVALID when it cannot be read as JSON). */
export function canonicalManifest(manifestPath: string): { bytes: Buffer; modelSha256: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch (err) {
    throw codedError(ErrorCode.ManifestInvalid, `cannot read the manifest ${manifestPath} as JSON: ${(err as Error).message}`, err);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw codedError(ErrorCode.ManifestInvalid, `${manifestPath}: not a JSON object`);
  const sha = (parsed as { sha256?: unknown }).sha256;
  return { bytes: Buffer.from(canonicalJson(parsed), 'utf8'), modelSha256: typeof sha === 'string' ? sha : '' };
}

function ed25519Private(pem: string | Buffer): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey(pem);
  } catch (err) {
    throw codedError(ErrorCode.InvalidArgument, `the signing key is not a PEM private key: ${(err as Error).message}`, err);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw codedError(ErrorCode.InvalidArgument, `the signing key must be Ed25519, got ${key.asymmetricKeyType ?? 'a symmetric key'}`);
  return key;
}

/** Writes `<manifest>.sig` (atomically: a temporary file, fsync, rename) and returns it. */
export function signModel(manifestPath: string, privateKeyPem: string | Buffer, now: Date = new Date()): ModelSignature {
  const key = ed25519Private(privateKeyPem);
  const { bytes, modelSha256 } = canonicalManifest(manifestPath);
  const sig: ModelSignature = {
    v: SIGNATURE_VERSION,
    alg: 'Ed25519',
    keyId: keyIdOf(createPublicKey(key)),
    manifestSha256: createHash('sha256').update(bytes).digest('hex'),
    modelSha256,
    signedAt: now.toISOString(),
    signature: sign(null, bytes, key).toString('base64'),
  };
  writeFileAtomic(signaturePathOf(manifestPath), `${JSON.stringify(sig, null, 2)}\n`);
  return sig;
}


const KEY_ID = /^[0-9a-f]{16}$/;

/**
 * The trusted keys: `{ "v": 1, "keys": [{ "keyId", "publicKey": "<PEM>", "comment" }] }`. Every
 * entry is checked (an Ed25519 public key whose id is the one written): TG_TRUSTED_KEYS_INVALID.
 */
export function loadTrustedKeys(file: string): TrustedKey[] {
  const bad = (m: string) => codedError(ErrorCode.TrustedKeysInvalid, `trusted keys ${file}: ${m}`);
  let parsed: { v?: unknown; keys?: unknown };
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw bad(`cannot be read as JSON (${(err as Error).message})`);
  }
  if (parsed === null || typeof parsed !== 'object' || parsed.v !== 1 || !Array.isArray(parsed.keys)) throw bad('must be { "v": 1, "keys": [...] }');
  return parsed.keys.map((k: unknown, i: number) => {
    const e = k as { keyId?: unknown; publicKey?: unknown; comment?: unknown };
    if (e === null || typeof e !== 'object' || typeof e.keyId !== 'string' || !KEY_ID.test(e.keyId) || typeof e.publicKey !== 'string' || typeof e.comment !== 'string') {
      throw bad(`keys[${i}] needs keyId (16 hex digits), publicKey (PEM) and comment`);
    }
    let publicKey: KeyObject;
    try {
      publicKey = createPublicKey(e.publicKey);
    } catch {
      throw bad(`keys[${i}].publicKey is not a PEM public key`);
    }
    if (publicKey.asymmetricKeyType !== 'ed25519') throw bad(`keys[${i}] is not an Ed25519 key`);
    if (keyIdOf(publicKey) !== e.keyId) throw bad(`keys[${i}].keyId is not the id of its public key (${keyIdOf(publicKey)})`);
    return { keyId: e.keyId, publicKey, comment: e.comment };
  });
}

function readSignature(file: string): ModelSignature {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw codedError(ErrorCode.ModelUnsigned, `the model is not signed: no ${file}`);
  }
  let s: Partial<ModelSignature>;
  try {
    s = JSON.parse(text);
  } catch {
    throw codedError(ErrorCode.ModelSignatureInvalid, `${file} is not JSON`);
  }
  if (s === null || typeof s !== 'object' || s.v !== 1 || s.alg !== 'Ed25519' || typeof s.keyId !== 'string' || typeof s.signature !== 'string' || typeof s.signedAt !== 'string') {
    throw codedError(ErrorCode.ModelSignatureInvalid, `${file} is not a model signature (v 1, alg Ed25519, keyId, signature, signedAt)`);
  }
  return s as ModelSignature;
}

/** Verifies `<manifest>.sig` against the trusted keys; throws the typed refusal. */
export function verifyModelSignature(manifestPath: string, trusted: readonly TrustedKey[]): SignatureCheck {
  const sigFile = signaturePathOf(manifestPath);
  const sig = readSignature(sigFile);
  const key = trusted.find((k) => k.keyId === sig.keyId);
  if (key === undefined) throw codedError(ErrorCode.ModelKeyUntrusted, `the model is signed by key ${sig.keyId}, which is not among the ${trusted.length} trusted key(s)`);
  const { bytes } = canonicalManifest(manifestPath);
  const manifestSha256 = createHash('sha256').update(bytes).digest('hex');
  let ok = false;
  try {
    ok = verify(null, bytes, key.publicKey, Buffer.from(sig.signature, 'base64'));
  } catch {
    ok = false;
  }
  if (!ok) {
    const changed = typeof sig.manifestSha256 === 'string' && sig.manifestSha256 !== manifestSha256;
    throw codedError(
      ErrorCode.ModelSignatureInvalid,
      changed
        ? `the manifest changed after it was signed (signed ${sig.manifestSha256}, now ${manifestSha256}): sign it again after review`
        : `the signature in ${sigFile} does not verify with key ${sig.keyId}`,
    );
  }
  return { keyId: sig.keyId, comment: key.comment, signedAt: sig.signedAt, manifestSha256 };
}
