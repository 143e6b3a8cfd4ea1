/**
 * The API key file on disk: its schema, reading and validating it (every problem named by its JSON
 * path), writing it atomically, and the lock that serializes read-modify-write across processes.
 * The file holds only salted hashes of keys, never a key (lib/service/keys.ts makes and checks them).
 */
import * as fs from 'node:fs';

import { writeFileAtomic } from '../atomic-file';
import { codedError, ErrorCode, type CodedError } from '../errors';
import { STALE_LOCK_MS, withFileLock } from '../lock-file';

export const SCOPES = ['forecast', 'admin', 'metrics', 'ticks'] as const;
export type Scope = (typeof SCOPES)[number];

/** Per-key overrides of the service's rate limits. */
export interface KeyLimits {
  forecastPerSecond?: number;
  forecastBurst?: number;
  apiPerMinute?: number;
}

/** One entry of the key file, exactly as stored. */
export interface StoredKey {
  id: string;
  /** 16 random bytes, hex. */
  salt: string;
  /** HMAC-SHA256 keyed by the salt's bytes over the key's secret, hex. */
  hash: string;
  scopes: Scope[];
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  limits?: KeyLimits;
}

export interface KeyFileContents {
  version: 1;
  keys: StoredKey[];
}

export const KEY_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const SALT_PATTERN = /^[0-9a-f]{32}$/;
const HASH_PATTERN = /^[0-9a-f]{64}$/;
const TIMESTAMP_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;
const ENTRY_FIELDS = ['id', 'salt', 'hash', 'scopes', 'createdAt', 'expiresAt', 'revokedAt', 'limits'];
const REQUIRED_FIELDS = ENTRY_FIELDS.filter((f) => f !== 'limits');
const LIMIT_FIELDS = ['forecastPerSecond', 'forecastBurst', 'apiPerMinute'];
/** A key file is a few hundred bytes a key; anything this large is not one (and would stall a
 * server re-reading it on its event loop). */
const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** Milliseconds since the epoch of an ISO-8601 UTC timestamp (`2027-01-31T00:00:00Z`, fraction
 * optional), or null. Date.parse alone would accept other forms and roll 02-31 over into March. */
export function parseTimestamp(s: string): number | null {
  const m = TIMESTAMP_PATTERN.exec(s);
  if (m === null) return null;
  const [y, mo, d, h, mi, sec] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  const t = Date.UTC(y, mo - 1, d, h, mi, sec, ms);
  const back = new Date(t);
  const exact =
    back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d && back.getUTCHours() === h && back.getUTCMinutes() === mi && back.getUTCSeconds() === sec;
  return exact ? t : null;
}

/** A value for an error message: strings in single quotes (escaped, cut short), others as JSON. */
function shown(v: unknown): string {
  if (typeof v === 'string') {
    const s = JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}...` : v).slice(1, -1);
    return `'${s}'`;
  }
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'an object';
  return String(v);
}

/** A bad value at a JSON path: TG_KEY_FILE_INVALID naming the file when it is in the file,
 * TG_INVALID_ARGUMENT when it was passed to createKey (the checks are shared). */
export class FieldError extends Error {}

function fail(at: string, problem: string): never {
  throw new FieldError(`${at}: ${problem}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Unknown fields are refused: a misspelt `revokedAt` silently ignored would keep a key alive. */
function onlyFields(o: Record<string, unknown>, allowed: readonly string[], at: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) fail(at === '' ? k : `${at}.${k}`, `unknown field (known: ${allowed.join(', ')})`);
  }
}

function timestampOrNull(v: unknown, at: string): string | null {
  if (v === null) return null;
  if (typeof v !== 'string' || parseTimestamp(v) === null) fail(at, `${shown(v)} is not null or an ISO-8601 UTC time like 2027-01-31T00:00:00Z`);
  return v;
}

/** Checks per-key limits; `at` is the path of the limits object. Returns a clean copy. */
export function checkLimits(v: unknown, at: string): KeyLimits {
  if (!isObject(v)) fail(at, `${shown(v)} is not an object`);
  onlyFields(v, LIMIT_FIELDS, at);
  const out: KeyLimits = {};
  if (v.forecastPerSecond !== undefined) {
    const x = v.forecastPerSecond;
    if (typeof x !== 'number' || !Number.isFinite(x) || !(x > 0)) fail(`${at}.forecastPerSecond`, `${shown(x)} is not a number above 0`);
    out.forecastPerSecond = x;
  }
  for (const name of ['forecastBurst', 'apiPerMinute'] as const) {
    const x = v[name];
    if (x === undefined) continue;
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 1) fail(`${at}.${name}`, `${shown(x)} is not an integer of at least 1`);
    out[name] = x;
  }
  return out;
}

/** Checks a scope list (non-empty, known, each once); `at` is its path. Returns a copy. */
export function checkScopes(v: unknown, at: string): Scope[] {
  if (!Array.isArray(v)) fail(at, `${shown(v)} is not an array`);
  if (v.length === 0) fail(at, 'is empty (a key needs at least one of forecast, admin, metrics)');
  const seen = new Set<string>();
  v.forEach((s, i) => {
    if (typeof s !== 'string' || !(SCOPES as readonly string[]).includes(s)) fail(`${at}[${i}]`, `${shown(s)} is not one of ${SCOPES.join(', ')}`);
    if (seen.has(s)) fail(`${at}[${i}]`, `${shown(s)} is listed twice`);
    seen.add(s);
  });
  return v as Scope[];
}

export function checkId(v: unknown, at: string): string {
  if (typeof v !== 'string' || !KEY_ID_PATTERN.test(v)) fail(at, `${shown(v)} is not a key id (1 to 64 of A-Z a-z 0-9 _ -, starting with a letter or digit)`);
  return v;
}

function checkEntry(v: unknown, at: string): StoredKey {
  if (!isObject(v)) fail(at, `${shown(v)} is not an object`);
  onlyFields(v, ENTRY_FIELDS, at);
  for (const f of REQUIRED_FIELDS) if (!Object.hasOwn(v, f)) fail(`${at}.${f}`, 'is missing');
  const id = checkId(v.id, `${at}.id`);
  if (typeof v.salt !== 'string' || !SALT_PATTERN.test(v.salt)) fail(`${at}.salt`, `${shown(v.salt)} is not 32 lowercase hex digits`);
  if (typeof v.hash !== 'string' || !HASH_PATTERN.test(v.hash)) fail(`${at}.hash`, `${shown(v.hash)} is not 64 lowercase hex digits`);
  const scopes = checkScopes(v.scopes, `${at}.scopes`);
  if (typeof v.createdAt !== 'string' || parseTimestamp(v.createdAt) === null) fail(`${at}.createdAt`, `${shown(v.createdAt)} is not an ISO-8601 UTC time like 2027-01-31T00:00:00Z`);
  const entry: StoredKey = {
    id,
    salt: v.salt,
    hash: v.hash,
    scopes: [...scopes],
    createdAt: v.createdAt,
    expiresAt: timestampOrNull(v.expiresAt, `${at}.expiresAt`),
    revokedAt: timestampOrNull(v.revokedAt, `${at}.revokedAt`),
  };
  if (v.limits !== undefined) entry.limits = checkLimits(v.limits, `${at}.limits`);
  return entry;
}

/** Validates a parsed key file; throws FieldError naming the first bad field's JSON path. */
function checkContents(doc: unknown): KeyFileContents {
  if (!isObject(doc)) fail('(top level)', `${shown(doc)} is not an object`);
  onlyFields(doc, ['version', 'keys'], '');
  if (doc.version !== 1) fail('version', `${shown(doc.version)} is not 1`);
  if (!Array.isArray(doc.keys)) fail('keys', `${shown(doc.keys)} is not an array`);
  const firstAt = new Map<string, number>();
  const keys = doc.keys.map((e, i) => {
    const entry = checkEntry(e, `keys[${i}]`);
    const prev = firstAt.get(entry.id);
    // Two entries with one id: which one authenticates would depend on file order.
    if (prev !== undefined) fail(`keys[${i}].id`, `${shown(entry.id)} duplicates keys[${prev}].id`);
    firstAt.set(entry.id, i);
    return entry;
  });
  return { version: 1, keys };
}

export function keyFileError(file: string, problem: string, cause?: unknown): CodedError {
  return codedError(ErrorCode.KeyFileInvalid, `key file ${file}: ${problem}`, cause);
}

/** Identifies one version of the file (device, inode, size, times), from the descriptor read. */
export type FileSignature = string;
export const MISSING_SIGNATURE: FileSignature = 'missing';

function signatureOf(st: fs.BigIntStats): FileSignature {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** The signature of the file at `path` now; never throws (a failure to stat is a signature too,
 * so a watcher retries when the failure changes, not on every tick). */
export function statSignature(file: string): FileSignature {
  try {
    const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
    return st === undefined ? MISSING_SIGNATURE : signatureOf(st);
  } catch (err) {
    return `error:${String((err as NodeJS.ErrnoException).code ?? 'unknown')}`;
  }
}

export interface ReadKeyFile {
  contents: KeyFileContents;
  /** The signature of the very file read (fstat of its descriptor, so no race with a rename). */
  signature: FileSignature;
}

/** Reads and validates the file. Throws TG_KEY_FILE_INVALID for a missing, unreadable, oversized,
 * non-JSON or schema-violating file, naming the file and the problem. */
export function readKeyFile(file: string): ReadKeyFile {
  let text: string;
  let signature: FileSignature;
  let fd = -1;
  try {
    // O_NONBLOCK: a FIFO put at the path must not hang the server's timer (no effect on a file).
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    const st = fs.fstatSync(fd, { bigint: true });
    if (!st.isFile()) throw keyFileError(file, 'is not a regular file');
    if (st.size > BigInt(MAX_FILE_BYTES)) throw keyFileError(file, `is ${st.size} bytes, more than the ${MAX_FILE_BYTES} a key file may have`);
    signature = signatureOf(st);
    text = fs.readFileSync(fd, 'utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === ErrorCode.KeyFileInvalid) throw err;
    const code = String((err as NodeJS.ErrnoException).code ?? 'error');
    const hint = code === 'ENOENT' ? 'does not exist (create a key with `tirex-guardian keys create`)' : `cannot be read (${code}: ${(err as Error).message})`;
    throw keyFileError(file, hint, err);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw keyFileError(file, `is not valid JSON (${(err as Error).message})`, err);
  }
  try {
    return { contents: checkContents(doc), signature };
  } catch (err) {
    if (err instanceof FieldError) throw keyFileError(file, err.message);
    throw err;
  }
}

/** Entries in the file's field order (the file is rewritten, so keep it stable to read and diff). */
function serialize(contents: KeyFileContents): string {
  const keys = contents.keys.map((k) => ({
    id: k.id,
    salt: k.salt,
    hash: k.hash,
    scopes: k.scopes,
    createdAt: k.createdAt,
    expiresAt: k.expiresAt,
    revokedAt: k.revokedAt,
    ...(k.limits !== undefined ? { limits: k.limits } : {}),
  }));
  return `${JSON.stringify({ version: 1, keys }, null, 2)}\n`;
}

/** Replaces the file atomically (lib/atomic-file.ts): a reader sees the old file or the new, never half. */
export function writeKeyFile(file: string, contents: KeyFileContents): void {
  const text = serialize(contents);
  try {
    checkContents(JSON.parse(text)); // never write a file that a server would refuse to load
  } catch (err) {
    if (err instanceof FieldError) throw keyFileError(file, `refusing to write an invalid key file (${err.message})`);
    throw err;
  }
  // 0600 whatever the umask: the file lists who may call the service.
  writeFileAtomic(file, text, 0o600);
}

// ---------------------------------------------------------------------------------------------
// The lock around read-modify-write

/** How long to wait for a live lock before giving up (past STALE_LOCK_MS, so a dead holder's lock
 * is always taken over first). */
const LOCK_WAIT_MS = 60_000;

/** Runs fn holding `<file>.lock` (created with O_EXCL, removed after), so concurrent `keys create`
 * runs each read the other's keys before writing. Synchronous: the CLI does nothing else. */
export function withKeyFileLock<T>(file: string, fn: () => T): T {
  const lockPath = `${file}.lock`;
  const options = {
    staleAfterMs: STALE_LOCK_MS,
    waitMs: LOCK_WAIT_MS,
    busy: () => keyFileError(file, `is locked by another process: ${lockPath} was held for the last ${LOCK_WAIT_MS / 1000} s without going stale; try again`),
  };
  let locked = false;
  try {
    return withFileLock(lockPath, options, () => {
      locked = true;
      return fn();
    });
  } catch (err) {
    // fn's own errors pass as they are; the lock's (a directory it cannot write, a lock file it
    // cannot read) become the key file's error.
    if (locked || (err as { code?: string }).code?.startsWith('TG_')) throw err;
    throw keyFileError(file, `cannot take ${lockPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
}
