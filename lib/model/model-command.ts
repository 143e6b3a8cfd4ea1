/**
 * `tirex-guardian model sign | verify`: signing a reviewed manifest with an Ed25519 key
 * (`openssl genpkey -algorithm ed25519 -out key.pem`) and checking a signature against a
 * trusted-keys file (lib/model/signature.ts). lib/cli.ts declares and parses the flags.
 */
import * as fs from 'node:fs';

import type { CommandFlags } from '../service/keys-command';
import { defaultTrustedKeysFile, loadTrustedKeys, signaturePathOf, signModel, verifyModelSignature } from './signature';

export function modelSignCommand(f: CommandFlags, manifest: string): number {
  const keyFile = f.string('key');
  if (keyFile === undefined) throw f.error('--key FILE (an Ed25519 private key in PEM) is required');
  let pem: Buffer;
  try {
    pem = fs.readFileSync(keyFile);
  } catch (err) {
    throw f.error(`--key: cannot read ${keyFile} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const sig = signModel(manifest, pem);
  if (f.has('json')) process.stdout.write(`${JSON.stringify(sig)}\n`);
  else process.stdout.write(`signed ${manifest} with key ${sig.keyId} (manifest sha256 ${sig.manifestSha256}, model sha256 ${sig.modelSha256}): ${signaturePathOf(manifest)}\n`);
  return 0;
}

/** Exit 0 when the signature verifies with a trusted key; a typed refusal is exit 1 (cli.ts). */
export function modelVerifyCommand(f: CommandFlags, manifest: string): number {
  const trustedFile = f.string('trusted-keys') ?? defaultTrustedKeysFile();
  const check = verifyModelSignature(manifest, loadTrustedKeys(trustedFile));
  if (f.has('json')) process.stdout.write(`${JSON.stringify({ ok: true, ...check, trustedKeys: trustedFile })}\n`);
  else process.stdout.write(`ok: ${manifest} is signed by ${check.keyId} (${check.comment}) at ${check.signedAt}\n`);
  return 0;
}
