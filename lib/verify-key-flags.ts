/**
 * The key that verifies an audit log or a forecast journal, from a command's flags: an Ed25519
 * public key file (--public-key-file), the HMAC secret's file (--signing-key-file), else
 * $TG_AUDIT_SIGNING_KEY; never a value on the command line (it would be in the shell's history).
 */
import * as fs from 'node:fs';

export interface KeyFlags {
  string(name: string): string | undefined;
  error(message: string): Error;
}

/** The key, or null when none was given anywhere (the caller says what needs it). */
export function verifyKeyFromFlags(f: KeyFlags): { publicKey: string } | { signingKey: string } | null {
  const publicKeyFile = f.string('public-key-file');
  const keyFile = f.string('signing-key-file');
  if (publicKeyFile !== undefined && keyFile !== undefined) throw f.error('give --public-key-file (Ed25519) or --signing-key-file (HMAC), not both');
  if (publicKeyFile !== undefined) return { publicKey: fs.readFileSync(publicKeyFile, 'utf8') };
  if (keyFile !== undefined) return { signingKey: fs.readFileSync(keyFile, 'utf8').trim() };
  const env = process.env.TG_AUDIT_SIGNING_KEY;
  return env ? { signingKey: env } : null;
}
