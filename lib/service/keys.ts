/**
 * The service's API keys: making them (createKey), revoking and listing them, and checking a
 * presented key against the key file (KeyStore). A key is `tgk.<id>.<secret>`, the secret 32
 * random bytes in base64url; the file keeps only HMAC-SHA256(salt, secret) (lib/service/key-file.ts),
 * so reading it does not give anyone a key. The secrets are random 256-bit values, so one salted
 * HMAC suffices: a slow password hash would only slow every request.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { codedError, ErrorCode, rangeError, typeError, type CodedError } from '../errors';
import {
  checkId,
  checkLimits,
  checkScopes,
  FieldError,
  parseTimestamp,
  readKeyFile,
  statSignature,
  withKeyFileLock,
  writeKeyFile,
  type FileSignature,
  type KeyFileContents,
  type KeyLimits,
  type ReadKeyFile,
  type Scope,
  type StoredKey,
} from './key-file';

export { SCOPES, type KeyLimits, type Scope, type StoredKey } from './key-file';

/** An authenticated caller's key, as the server sees it. */
export interface ApiKey {
  readonly id: string;
  readonly scopes: ReadonlySet<Scope>;
  readonly limits: Readonly<KeyLimits>;
  readonly expiresAt: number | null;
}

export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired';
export type AuthOutcome = { ok: true; key: ApiKey } | { ok: false; reason: AuthFailure };

export type KeyState = 'active' | 'expired' | 'revoked';
/** A key as listed: everything but its salt and hash. */
export type KeyInfo = Omit<StoredKey, 'salt' | 'hash'> & { state: KeyState };

export interface KeyStoreOptions {
  /** How often to check whether the file changed, in ms (default 1000). */
  reloadMs?: number;
  /** The clock expiry is checked against (default Date.now). */
  now?: () => number;
}

export interface KeyStoreStatus {
  file: string;
  keys: number;
  active: number;
  loadedAt: number;
  reloads: number;
  failedReloads: number;
  lastError: string | null;
}

export type ReloadResult = { ok: true; keys: number } | { ok: false; error: CodedError };

const KEY_PREFIX = 'tgk.';
const SECRET_CHARS = 43; // 32 bytes in base64url, unpadded
const MAX_ID_CHARS = 64;
/** Anything longer is refused before it is looked at: the longest key is 4 + 64 + 1 + 43 = 112. */
const MAX_PRESENTED_CHARS = 200;

// Failures are shared constants: authenticate allocates nothing for them.
const MISSING: AuthOutcome = Object.freeze({ ok: false, reason: 'missing' });
const MALFORMED: AuthOutcome = Object.freeze({ ok: false, reason: 'malformed' });
const UNKNOWN: AuthOutcome = Object.freeze({ ok: false, reason: 'unknown' });
const REVOKED: AuthOutcome = Object.freeze({ ok: false, reason: 'revoked' });
const EXPIRED: AuthOutcome = Object.freeze({ ok: false, reason: 'expired' });

/** A-Z a-z 0-9 - _: the id's alphabet and base64url's. */
function isKeyChar(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95;
}

/** The index of the dot before the secret when `s` is `tgk.<id>.<secret>`, else -1. A loop over
 * char codes: no regex, no allocation, and the length is bounded before it starts. */
function secretDot(s: string): number {
  const n = s.length;
  if (n > MAX_PRESENTED_CHARS || !s.startsWith(KEY_PREFIX)) return -1;
  let i = KEY_PREFIX.length;
  while (i < n && isKeyChar(s.charCodeAt(i))) i++;
  const idChars = i - KEY_PREFIX.length;
  if (idChars < 1 || idChars > MAX_ID_CHARS || i === n || s.charCodeAt(i) !== 46 /* . */) return -1;
  const first = s.charCodeAt(KEY_PREFIX.length);
  if (first === 45 || first === 95) return -1; // an id starts with a letter or digit
  if (n - i - 1 !== SECRET_CHARS) return -1;
  for (let j = i + 1; j < n; j++) if (!isKeyChar(s.charCodeAt(j))) return -1;
  return i;
}

/** The stored hash: HMAC-SHA256 keyed by the salt's bytes over the secret's characters. */
function hashSecret(salt: Buffer, secret: string): Buffer {
  return createHmac('sha256', salt).update(secret, 'latin1').digest(); // secret is ASCII (checked)
}

/** A Set that refuses changes: one ApiKey object serves every request made with that key. */
class FrozenSet<T> extends Set<T> {
  constructor(values: Iterable<T>) {
    super();
    for (const v of values) Set.prototype.add.call(this, v);
  }
  override add(): this {
    throw new TypeError('the scopes of an API key cannot be changed');
  }
  override delete(): boolean {
    throw new TypeError('the scopes of an API key cannot be changed');
  }
  override clear(): void {
    throw new TypeError('the scopes of an API key cannot be changed');
  }
}

/** What authenticate needs of one key, prepared at load so that it does only the HMAC. */
interface LoadedKey {
  readonly salt: Buffer;
  readonly hash: Buffer;
  readonly revoked: boolean;
  readonly expiresAt: number | null;
  readonly accepted: AuthOutcome;
}

function loadKeys(contents: KeyFileContents): Map<string, LoadedKey> {
  const map = new Map<string, LoadedKey>();
  for (const k of contents.keys) {
    const expiresAt = k.expiresAt === null ? null : parseTimestamp(k.expiresAt);
    const key: ApiKey = Object.freeze({ id: k.id, scopes: new FrozenSet(k.scopes), limits: Object.freeze({ ...k.limits }), expiresAt });
    map.set(k.id, {
      salt: Buffer.from(k.salt, 'hex'),
      hash: Buffer.from(k.hash, 'hex'),
      revoked: k.revokedAt !== null,
      expiresAt,
      accepted: Object.freeze({ ok: true, key }),
    });
  }
  return map;
}

function stateOf(revoked: boolean, expiresAt: number | null, now: number): KeyState {
  if (revoked) return 'revoked';
  return expiresAt !== null && now >= expiresAt ? 'expired' : 'active';
}

/** The keys of one key file, checked against presented keys and kept in step with the file. */
export class KeyStore {
  private keys: Map<string, LoadedKey>;
  private signature: FileSignature;
  private loadedAt: number;
  private reloads = 0;
  private failedReloads = 0;
  private lastError: string | null = null;
  private timer: NodeJS.Timeout | null;
  // Checked against when the id is unknown, so an unknown id costs what a known one does.
  private readonly decoySalt = randomBytes(16);
  private readonly decoyHash = randomBytes(32);

  private constructor(
    readonly file: string,
    private readonly now: () => number,
    initial: ReadKeyFile,
    reloadMs: number,
  ) {
    this.keys = loadKeys(initial.contents);
    this.signature = initial.signature;
    this.loadedAt = now();
    // unref: a store alone never keeps the process alive.
    this.timer = setInterval(() => this.reloadIfChanged(), reloadMs);
    this.timer.unref();
  }

  /** Loads the file; throws TG_KEY_FILE_INVALID (naming the file and the bad field) when it is
   * missing or invalid, TG_INVALID_ARGUMENT for bad options. */
  static open(file: string, options: KeyStoreOptions = {}): KeyStore {
    if (typeof file !== 'string' || file === '') throw typeError(ErrorCode.InvalidArgument, 'KeyStore.open: file must be a non-empty path');
    const reloadMs = options.reloadMs ?? 1000;
    if (!Number.isSafeInteger(reloadMs) || reloadMs < 1) throw rangeError(ErrorCode.InvalidArgument, `KeyStore.open: reloadMs must be a whole number of ms >= 1, got ${String(reloadMs)}`);
    const now = options.now ?? Date.now;
    if (typeof now !== 'function') throw typeError(ErrorCode.InvalidArgument, 'KeyStore.open: now must be a function returning ms since the epoch');
    const abs = path.resolve(file);
    return new KeyStore(abs, now, readKeyFile(abs), reloadMs);
  }

  /** Checks a presented key. Constant-time in the secret: one HMAC and one timingSafeEqual whether
   * or not the id exists. Revoked and expired are told only to a caller holding the right secret;
   * a wrong secret is 'unknown' whatever the state of the id. */
  authenticate(presented: string | undefined): AuthOutcome {
    if (presented === undefined || presented === '') return MISSING;
    if (typeof presented !== 'string') return MALFORMED; // a JavaScript caller passing anything
    const dot = secretDot(presented);
    if (dot < 0) return MALFORMED;
    const entry = this.keys.get(presented.slice(KEY_PREFIX.length, dot));
    const digest = hashSecret(entry === undefined ? this.decoySalt : entry.salt, presented.slice(dot + 1));
    const match = timingSafeEqual(digest, entry === undefined ? this.decoyHash : entry.hash);
    if (!match || entry === undefined) return UNKNOWN;
    if (entry.revoked) return REVOKED;
    if (entry.expiresAt !== null && this.now() >= entry.expiresAt) return EXPIRED;
    return entry.accepted;
  }

  /** Re-reads the file now. On failure the keys loaded before stay in force. */
  reload(): ReloadResult {
    const before = statSignature(this.file);
    try {
      const read = readKeyFile(this.file);
      this.keys = loadKeys(read.contents);
      this.signature = read.signature;
      this.loadedAt = this.now();
      this.reloads++;
      this.lastError = null;
      return { ok: true, keys: this.keys.size };
    } catch (err) {
      // Remember the failed version, so the timer retries when the file changes, not every tick.
      this.signature = before;
      this.failedReloads++;
      const error =
        (err as { code?: unknown } | null)?.code === ErrorCode.KeyFileInvalid
          ? (err as CodedError)
          : codedError(ErrorCode.KeyFileInvalid, `key file ${this.file}: ${err instanceof Error ? err.message : String(err)}`, err);
      this.lastError = error.message;
      return { ok: false, error };
    }
  }

  /** The timer's check: re-read when the file's inode, size or times changed. Never throws. */
  private reloadIfChanged(): void {
    try {
      if (statSignature(this.file) !== this.signature) this.reload();
    } catch {
      /* reload reports its own failures; nothing may escape into the event loop */
    }
  }

  status(): KeyStoreStatus {
    const now = this.now();
    let active = 0;
    for (const k of this.keys.values()) if (stateOf(k.revoked, k.expiresAt, now) === 'active') active++;
    return {
      file: this.file,
      keys: this.keys.size,
      active,
      loadedAt: this.loadedAt,
      reloads: this.reloads,
      failedReloads: this.failedReloads,
      lastError: this.lastError,
    };
  }

  /** Stops watching the file; the keys loaded stay usable. */
  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

// ---------------------------------------------------------------------------------------------
// Changing the file (the `keys` CLI)

export interface CreateKeyOptions {
  id: string;
  scopes: readonly Scope[];
  expiresAt?: Date | null;
  limits?: KeyLimits;
}

/** An argument check shared with the file's: its FieldError becomes TG_INVALID_ARGUMENT. */
function argument<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof FieldError) throw rangeError(ErrorCode.InvalidArgument, `createKey: ${err.message}`);
    throw err;
  }
}

function validDate(d: unknown, what: string): Date {
  if (!(d instanceof Date) || !Number.isFinite(d.getTime())) throw typeError(ErrorCode.InvalidArgument, `${what} must be a valid Date`);
  return d;
}

/** Adds a key to the file (creating the file, mode 0600, when missing) and returns the key: the
 * only time it exists anywhere. An id already in the file, revoked or not, is TG_KEY_EXISTS: ids
 * are never reused, so the audit trail never confuses two holders. */
export function createKey(file: string, options: CreateKeyOptions): { key: string; entry: StoredKey } {
  const id = argument(() => checkId(options.id, 'id'));
  const scopes = [...argument(() => checkScopes(options.scopes, 'scopes'))];
  const limits = options.limits === undefined ? undefined : argument(() => checkLimits(options.limits, 'limits'));
  let expiresAt: string | null = null;
  if (options.expiresAt !== undefined && options.expiresAt !== null) {
    const d = validDate(options.expiresAt, 'createKey: expiresAt');
    // A key born expired is a mistake (a wrong year), not something anyone wants.
    if (d.getTime() <= Date.now()) throw rangeError(ErrorCode.InvalidArgument, `createKey: expiresAt ${d.toISOString()} is not in the future`);
    expiresAt = d.toISOString();
    if (parseTimestamp(expiresAt) === null) throw rangeError(ErrorCode.InvalidArgument, `createKey: expiresAt ${expiresAt} is past the year 9999`);
  }
  const abs = path.resolve(file);
  return withKeyFileLock(abs, () => {
    const exists = fs.statSync(abs, { throwIfNoEntry: false }) !== undefined;
    // An existing file must be valid: it is rewritten whole, and a bad one is never replaced blind.
    const contents: KeyFileContents = exists ? readKeyFile(abs).contents : { version: 1, keys: [] };
    const taken = contents.keys.find((k) => k.id === id);
    if (taken !== undefined) {
      const was = taken.revokedAt === null ? '' : ` (revoked ${taken.revokedAt})`;
      throw codedError(ErrorCode.KeyExists, `key ${id} already exists in ${abs}${was}; ids are never reused, choose another`);
    }
    const salt = randomBytes(16);
    const secret = randomBytes(32).toString('base64url');
    const entry: StoredKey = {
      id,
      salt: salt.toString('hex'),
      hash: hashSecret(salt, secret).toString('hex'),
      scopes,
      createdAt: new Date().toISOString(),
      expiresAt,
      revokedAt: null,
      ...(limits !== undefined && Object.keys(limits).length > 0 ? { limits } : {}),
    };
    writeKeyFile(abs, { version: 1, keys: [...contents.keys, entry] });
    return { key: `${KEY_PREFIX}${id}.${secret}`, entry };
  });
}

/** Marks a key revoked (a running KeyStore sees it at its next check). TG_KEY_NOT_FOUND for an id
 * not in the file; revoking again keeps the first time and leaves the file alone. */
export function revokeKey(file: string, id: string, now: Date = new Date()): { id: string; revokedAt: string; alreadyRevoked: boolean } {
  if (typeof id !== 'string') throw typeError(ErrorCode.InvalidArgument, 'revokeKey: id must be a string');
  const at = validDate(now, 'revokeKey: now').toISOString();
  const abs = path.resolve(file);
  return withKeyFileLock(abs, () => {
    const { contents } = readKeyFile(abs);
    const i = contents.keys.findIndex((k) => k.id === id);
    const entry = contents.keys[i];
    if (entry === undefined) throw codedError(ErrorCode.KeyNotFound, `key ${JSON.stringify(id)} is not in ${abs}`);
    if (entry.revokedAt !== null) return { id, revokedAt: entry.revokedAt, alreadyRevoked: true };
    const keys = contents.keys.slice();
    keys[i] = { ...entry, revokedAt: at };
    writeKeyFile(abs, { version: 1, keys });
    return { id, revokedAt: at, alreadyRevoked: false };
  });
}

/** The keys in the file with their state at `now`, without salts or hashes. */
export function listKeys(file: string, now: Date = new Date()): KeyInfo[] {
  const t = validDate(now, 'listKeys: now').getTime();
  // No lock: writes are atomic renames, so a read sees one whole version of the file.
  const { contents } = readKeyFile(path.resolve(file));
  return contents.keys.map((k) => {
    const expires = k.expiresAt === null ? null : parseTimestamp(k.expiresAt);
    // Built field by field, so nothing added to StoredKey later can leak into a listing.
    return {
      id: k.id,
      scopes: [...k.scopes],
      createdAt: k.createdAt,
      expiresAt: k.expiresAt,
      revokedAt: k.revokedAt,
      ...(k.limits !== undefined ? { limits: { ...k.limits } } : {}),
      state: stateOf(k.revokedAt !== null, expires, t),
    };
  });
}
