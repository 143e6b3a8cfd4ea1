/**
 * Who signs checkpoints: HMAC-SHA256 with a shared secret (at least 32 bytes), or Ed25519 with a
 * key pair, where the writer holds the private key and auditors verify with the public key only
 * (they cannot forge a checkpoint). Both sign the same payload (chain.ts, checkpointPayload);
 * each checkpoint names its algorithm, and a verifier refuses one signed another way.
 */
import { createHmac, createPrivateKey, createPublicKey, KeyObject, sign, timingSafeEqual, verify } from 'node:crypto';

import { auditTypeError } from './errors';
import { keyBytes } from './record';

export type CheckpointAlg = 'HMAC-SHA256' | 'Ed25519';

export interface CheckpointKey {
  readonly alg: CheckpointAlg;
  /** Hex signature of a payload; throws when this key can only verify (a public key). */
  sign(payload: string): string;
  verify(payload: string, sig: unknown): boolean;
  /** Secret bytes other keys of the log are derived from (the redaction key); null for a public key. */
  readonly secret: Buffer | null;
}

const HEX64 = /^[0-9a-f]{64}$/;
const HEX128 = /^[0-9a-f]{128}$/;

function hmacKey(secret: Buffer): CheckpointKey {
  const macHex = (payload: string): string => createHmac('sha256', secret).update(payload).digest('hex');
  return {
    alg: 'HMAC-SHA256',
    secret,
    sign: macHex,
    verify: (payload, sig) => typeof sig === 'string' && HEX64.test(sig) && timingSafeEqual(Buffer.from(macHex(payload), 'hex'), Buffer.from(sig, 'hex')),
  };
}

function ed25519Key(privateKey: KeyObject | null, publicKey: KeyObject): CheckpointKey {
  return {
    alg: 'Ed25519',
    secret: privateKey === null ? null : privateKey.export({ format: 'der', type: 'pkcs8' }),
    sign: (payload) => {
      if (privateKey === null) throw auditTypeError('audit: a public key can verify checkpoints, not sign them');
      return sign(null, Buffer.from(payload, 'utf8'), privateKey).toString('hex');
    },
    verify: (payload, sig) => typeof sig === 'string' && HEX128.test(sig) && verify(null, Buffer.from(payload, 'utf8'), publicKey, Buffer.from(sig, 'hex')),
  };
}

function isPem(v: unknown): v is string {
  return typeof v === 'string' && v.trimStart().startsWith('-----BEGIN');
}

function asymmetric(key: KeyObject, what: string): CheckpointKey {
  if (key.asymmetricKeyType !== 'ed25519') throw auditTypeError(`audit: ${what} must be an Ed25519 key, got ${String(key.asymmetricKeyType ?? key.type)}`);
  return key.type === 'private' ? ed25519Key(key, createPublicKey(key)) : ed25519Key(null, key);
}

/**
 * The writer's key: a string or bytes (HMAC secret, >= 32 bytes), or an Ed25519 private key
 * (a KeyObject or PEM).
 */
export function signingKeyOf(input: unknown, what = 'signingKey', minSecretBytes = 32): CheckpointKey {
  if (input instanceof KeyObject) {
    if (input.type !== 'private' && input.type !== 'secret') throw auditTypeError(`audit: ${what} must be a private or secret key (a public key cannot sign)`);
    return input.type === 'secret' ? hmacKey(keyBytes(input.export(), what, minSecretBytes)) : asymmetric(input, what);
  }
  if (isPem(input)) {
    let key: KeyObject;
    try {
      key = createPrivateKey(input);
    } catch (err) {
      throw auditTypeError(`audit: ${what} is PEM but not a private key (${(err as Error).message})`);
    }
    return asymmetric(key, what);
  }
  return hmacKey(keyBytes(input, what, minSecretBytes));
}

/** A verifier's key: the HMAC secret, or the Ed25519 public key (a private key works too). */
export function verifyKeyOf(input: unknown, what = 'key'): CheckpointKey {
  if (input instanceof KeyObject) {
    if (input.type === 'secret') return hmacKey(keyBytes(input.export(), what, 1));
    return asymmetric(input, what);
  }
  if (isPem(input)) {
    let key: KeyObject;
    try {
      key = input.includes('PRIVATE KEY') ? createPrivateKey(input) : createPublicKey(input);
    } catch (err) {
      throw auditTypeError(`audit: ${what} is PEM but not a key (${(err as Error).message})`);
    }
    return asymmetric(key, what);
  }
  return hmacKey(keyBytes(input, what, 1));
}

/** A key already made (signingKeyOf, verifyKeyOf) as it is; anything else read as a verifier's key. */
export function asCheckpointKey(key: unknown, what = 'key'): CheckpointKey {
  return typeof key === 'object' && key !== null && 'alg' in key && 'verify' in key ? (key as CheckpointKey) : verifyKeyOf(key, what);
}
