// The service's API keys (lib/service/keys.ts, key-file.ts, keys-command.ts): the key file holds
// only salted hashes, a presented key is checked in constant time and anything not of the key's
// shape is 'malformed', a running store follows the file (revocations within about a second, a
// broken file never replacing good keys), concurrent writers lose nothing, and the `keys` CLI.
// Real files in a temp dir, real child processes; the CLI and child tests need `node scripts/build-ts.js`.
import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import fc from 'fast-check';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

import { createKey, KeyStore, listKeys, revokeKey, type ApiKey, type AuthOutcome, type StoredKey } from '../lib/service/keys';
import { runCli } from './cli-run';

const ROOT = path.resolve(__dirname, '..');
const DIST_KEYS = path.join(ROOT, 'dist', 'cjs', 'service', 'keys.js');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-service-keys-'));
let fileCount = 0;
const freshFile = (): string => path.join(TMP, `keys-${++fileCount}.json`);

const stores: KeyStore[] = [];
function open(file: string, options?: Parameters<typeof KeyStore.open>[1]): KeyStore {
  const s = KeyStore.open(file, options);
  stores.push(s);
  return s;
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

/** The error fn throws (failing the test when it throws nothing). */
function thrown(fn: () => unknown): Error & { code?: unknown } {
  try {
    fn();
  } catch (err) {
    return err as Error & { code?: unknown };
  }
  throw new Error('expected a throw, got none');
}

function accepted(r: AuthOutcome): ApiKey {
  if (!r.ok) throw new Error(`expected the key to be accepted, got ${r.reason}`);
  return r.key;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits (up to 2 s) for cond; the caller then asserts what it waited for. */
async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await sleep(10);
}

/** Replaces a file the way the key tools do (one rename), so a watcher sees one change. */
function replaceFile(file: string, text: string): void {
  const tmp = `${file}.test-tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

const secretOf = (key: string): string => key.slice(key.lastIndexOf('.') + 1);

/** A different secret of the same shape: one character changed. */
function otherSecret(key: string): string {
  const s = secretOf(key);
  return `${key.slice(0, key.length - s.length)}${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
}

describe('createKey and KeyStore.authenticate', () => {
  it('makes a key of the documented shape that authenticates with its scopes and limits', () => {
    const file = freshFile();
    const limits = { forecastPerSecond: 2.5, forecastBurst: 5, apiPerMinute: 60 };
    const before = Date.now();
    const { key, entry } = createKey(file, { id: 'desk-7', scopes: ['forecast', 'metrics'], limits });
    expect(key).toMatch(/^tgk\.desk-7\.[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(secretOf(key), 'base64url').length).toBe(32);
    expect(entry.id).toBe('desk-7');
    expect(entry.salt).toMatch(/^[0-9a-f]{32}$/);
    // The stored hash is HMAC-SHA256 keyed by the salt's bytes over the secret.
    expect(entry.hash).toBe(createHmac('sha256', Buffer.from(entry.salt, 'hex')).update(secretOf(key)).digest('hex'));
    expect(entry.scopes).toEqual(['forecast', 'metrics']);
    expect(entry.expiresAt).toBe(null);
    expect(entry.revokedAt).toBe(null);
    expect(entry.limits).toEqual(limits);
    expect(Date.parse(entry.createdAt)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(entry.createdAt)).toBeLessThanOrEqual(Date.now());

    const store = open(file);
    const r = store.authenticate(key);
    const k = accepted(r);
    expect(k.id).toBe('desk-7');
    expect([...k.scopes].sort()).toEqual(['forecast', 'metrics']);
    expect(k.scopes.has('admin')).toBe(false);
    expect(k.limits).toEqual(limits);
    expect(k.expiresAt).toBe(null);
    // The same frozen outcome each time: authenticate allocates no result of its own.
    expect(store.authenticate(key)).toBe(r);
    expect(() => (k.scopes as Set<string>).add('admin')).toThrow(TypeError);
    expect(() => (k.scopes as Set<string>).delete('forecast')).toThrow(TypeError);
    expect(() => (k.scopes as Set<string>).clear()).toThrow(TypeError);
    expect(k.scopes.size).toBe(2);
    expect(Object.isFrozen(k)).toBe(true);
    expect(Object.isFrozen(k.limits)).toBe(true);
  });

  it('keeps no key material in the file, only the documented fields', () => {
    const file = freshFile();
    const { key, entry } = createKey(file, { id: 'desk-1', scopes: ['admin'] });
    const text = fs.readFileSync(file, 'utf8');
    const secret = secretOf(key);
    const bytes = Buffer.from(secret, 'base64url');
    expect(text.includes(secret)).toBe(false);
    expect(text.includes(bytes.toString('hex'))).toBe(false);
    expect(text.includes(bytes.toString('base64'))).toBe(false);
    expect(JSON.parse(text)).toEqual({
      version: 1,
      keys: [{ id: 'desk-1', salt: entry.salt, hash: entry.hash, scopes: ['admin'], createdAt: entry.createdAt, expiresAt: null, revokedAt: null }],
    });
  });

  it('creates the file with mode 0600 and keeps it 0600 when rewritten, leaving no lock or temp file', () => {
    const file = freshFile();
    createKey(file, { id: 'a', scopes: ['forecast'] });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.chmodSync(file, 0o644); // loosened by hand: the next write tightens it again
    createKey(file, { id: 'b', scopes: ['forecast'] });
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    revokeKey(file, 'a');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(path.dirname(file)).filter((f) => f.startsWith(path.basename(file)) || f.startsWith(`.${path.basename(file)}`))).toEqual([path.basename(file)]);
  });

  it('answers unknown for a wrong secret and for an unknown id, missing for no key', () => {
    const file = freshFile();
    const { key } = createKey(file, { id: 'desk-2', scopes: ['forecast'] });
    const store = open(file);
    expect(store.authenticate(otherSecret(key))).toEqual({ ok: false, reason: 'unknown' });
    expect(store.authenticate(`tgk.desk-3.${secretOf(key)}`)).toEqual({ ok: false, reason: 'unknown' });
    expect(store.authenticate(`tgk.constructor.${secretOf(key)}`)).toEqual({ ok: false, reason: 'unknown' });
    expect(store.authenticate(undefined)).toEqual({ ok: false, reason: 'missing' });
    expect(store.authenticate('')).toEqual({ ok: false, reason: 'missing' });
    expect(accepted(store.authenticate(key)).id).toBe('desk-2');
  });

  it('answers malformed for anything not of the shape tgk.<id>.<secret>', () => {
    const file = freshFile();
    const { key } = createKey(file, { id: 'desk-4', scopes: ['forecast'] });
    const store = open(file);
    const s = secretOf(key);
    const cases = [
      `tgk.desk-4.${s.slice(1)}`, // 42 characters
      `tgk.desk-4.${s}A`, // 44
      `tgk.desk-4.${s}=`, // padding
      `tgk.desk-4.+${s.slice(1)}`, // standard base64, not base64url
      `Bearer ${key}`,
      ` ${key}`,
      `${key}\n`,
      `${key}\u0000`,
      `TGK.desk-4.${s}`,
      `tgk..${s}`,
      `tgk.-desk.${s}`,
      `tgk._desk.${s}`,
      `tgk.${'a'.repeat(65)}.${s}`,
      `tgk.desk.4.${s}`,
      'tgk.desk-4',
      'tgk.desk-4.',
      'tgk.',
      `tgk.d\u00e9sk.${s}`,
      `tgk.desk-4.${s.slice(0, 42)}\ud800`,
      'a'.repeat(201),
      `${key}${' '.repeat(200)}`,
      'x',
    ];
    for (const c of cases) expect(store.authenticate(c), JSON.stringify(c)).toEqual({ ok: false, reason: 'malformed' });
    // Not a string at all (a JavaScript caller): malformed, not a throw.
    expect(store.authenticate(42 as unknown as string)).toEqual({ ok: false, reason: 'malformed' });
    // The longest id is still of the shape.
    expect(store.authenticate(`tgk.${'a'.repeat(64)}.${s}`)).toEqual({ ok: false, reason: 'unknown' });
  });

  it('never throws and accepts only the exact key, whatever string is presented', () => {
    const file = freshFile();
    const { key } = createKey(file, { id: 'desk-5', scopes: ['forecast'] });
    const store = open(file);
    const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)); // lone surrogates too
    const keyChars = fc.constantFrom(...'tgk.desk-5_AZaz09\u0000\u001f\u007f\ud800\udfff =+/'.split(''));
    const keyAlphabet = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''));
    const presented = fc.oneof(
      fc.string({ unit: anyUnit, maxLength: 300 }),
      fc.string({ unit: 'binary', maxLength: 300 }),
      fc.string({ unit: 'binary-ascii', maxLength: 300 }),
      fc.string({ unit: keyChars, maxLength: 130 }),
      fc.integer({ min: 150, max: 100_000 }).map((n) => `tgk.${'a'.repeat(n)}`),
      // Well-shaped keys with random ids and secrets.
      fc.tuple(fc.string({ unit: keyAlphabet, minLength: 1, maxLength: 64 }), fc.string({ unit: keyAlphabet, minLength: 43, maxLength: 43 })).map(([id, sec]) => `tgk.${id}.${sec}`),
      // The real key with one character replaced, inserted or removed.
      fc.tuple(fc.nat(key.length - 1), anyUnit, fc.constantFrom('replace', 'insert', 'delete')).map(([i, c, op]) =>
        op === 'replace' ? key.slice(0, i) + c + key.slice(i + 1) : op === 'insert' ? key.slice(0, i) + c + key.slice(i) : key.slice(0, i) + key.slice(i + 1),
      ),
      fc.constant(key),
    );
    let acceptedCount = 0;
    fc.assert(
      fc.property(presented, (p) => {
        const r = store.authenticate(p);
        expect(r.ok, JSON.stringify(p)).toBe(p === key);
        if (r.ok) acceptedCount++;
        else expect(['malformed', 'unknown', 'missing']).toContain(r.reason);
      }),
      { numRuns: 3000 },
    );
    expect(acceptedCount).toBeGreaterThan(0);
  });

  it('answers expired from the expiry time on, against the injected clock', () => {
    const file = freshFile();
    const expiresAt = new Date(Date.now() + 3_600_000);
    const { key, entry } = createKey(file, { id: 'temp-1', scopes: ['forecast'], expiresAt });
    expect(entry.expiresAt).toBe(expiresAt.toISOString());
    let clock = Date.now();
    const store = open(file, { now: () => clock });
    expect(accepted(store.authenticate(key)).expiresAt).toBe(expiresAt.getTime());
    expect(store.status().active).toBe(1);
    clock = expiresAt.getTime() - 1;
    expect(accepted(store.authenticate(key)).id).toBe('temp-1');
    clock = expiresAt.getTime();
    expect(store.authenticate(key)).toEqual({ ok: false, reason: 'expired' });
    expect(store.status().active).toBe(0);
    expect(store.status().keys).toBe(1);
    // Only the right secret learns the key has expired.
    expect(store.authenticate(otherSecret(key))).toEqual({ ok: false, reason: 'unknown' });
  });

  it('answers revoked to the right secret only', () => {
    const file = freshFile();
    const { key } = createKey(file, { id: 'gone-1', scopes: ['forecast'] });
    revokeKey(file, 'gone-1');
    const store = open(file);
    expect(store.authenticate(key)).toEqual({ ok: false, reason: 'revoked' });
    expect(store.authenticate(otherSecret(key))).toEqual({ ok: false, reason: 'unknown' });
    expect(store.status().active).toBe(0);
  });
});

describe('KeyStore following the file', () => {
  it('sees a revocation made while it runs within its reload interval', async () => {
    const file = freshFile();
    const { key } = createKey(file, { id: 'live-1', scopes: ['forecast'] });
    const store = open(file, { reloadMs: 20 });
    expect(accepted(store.authenticate(key)).id).toBe('live-1');
    revokeKey(file, 'live-1');
    await until(() => !store.authenticate(key).ok);
    expect(store.authenticate(key)).toEqual({ ok: false, reason: 'revoked' });
    expect(store.status()).toMatchObject({ keys: 1, active: 0, reloads: 1, failedReloads: 0, lastError: null });
  });

  it('sees a key created while it runs', async () => {
    const file = freshFile();
    createKey(file, { id: 'first', scopes: ['forecast'] });
    const store = open(file, { reloadMs: 20 });
    const { key } = createKey(file, { id: 'second', scopes: ['metrics'] });
    await until(() => store.authenticate(key).ok);
    expect([...accepted(store.authenticate(key)).scopes]).toEqual(['metrics']);
    expect(store.status()).toMatchObject({ keys: 2, active: 2, reloads: 1, failedReloads: 0 });
  });

  it('keeps the previous keys when the file turns corrupt, reports it, and recovers', async () => {
    const file = freshFile();
    const { key } = createKey(file, { id: 'keep-1', scopes: ['forecast'] });
    const good = fs.readFileSync(file, 'utf8');
    let clock = 1_000;
    const store = open(file, { reloadMs: 20, now: () => clock });
    expect(store.status()).toEqual({ file, keys: 1, active: 1, loadedAt: 1_000, reloads: 0, failedReloads: 0, lastError: null });
    clock = 2_000;

    replaceFile(file, '{"version": 1, "keys": [');
    await until(() => store.status().failedReloads > 0);
    const s1 = store.status();
    expect(s1.failedReloads).toBe(1);
    expect(s1.lastError!.startsWith(`key file ${file}: is not valid JSON (`)).toBe(true);
    expect(accepted(store.authenticate(key)).id).toBe('keep-1');

    const bad = JSON.parse(good);
    bad.keys[0].scopes = ['root'];
    replaceFile(file, JSON.stringify(bad));
    await until(() => store.status().failedReloads > 1);
    expect(store.status()).toEqual({
      file,
      keys: 1,
      active: 1,
      loadedAt: 1_000,
      reloads: 0,
      failedReloads: 2,
      lastError: `key file ${file}: keys[0].scopes[0]: 'root' is not one of forecast, admin, metrics, ticks`,
    });
    expect(accepted(store.authenticate(key)).id).toBe('keep-1');

    // An explicit reload says why, and is counted too.
    const r = store.reload();
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.error.code).toBe('TG_KEY_FILE_INVALID');
    expect(r.ok === false && r.error.message).toBe(`key file ${file}: keys[0].scopes[0]: 'root' is not one of forecast, admin, metrics, ticks`);
    expect(store.status().failedReloads).toBe(3);

    fs.rmSync(file);
    await until(() => store.status().failedReloads > 3);
    expect(store.status().failedReloads).toBe(4);
    expect(store.status().lastError).toBe(`key file ${file}: does not exist (create a key with \`tirex-guardian keys create\`)`);
    expect(accepted(store.authenticate(key)).id).toBe('keep-1');

    clock = 3_000;
    replaceFile(file, good);
    await until(() => store.status().reloads > 0);
    expect(store.status()).toEqual({ file, keys: 1, active: 1, loadedAt: 3_000, reloads: 1, failedReloads: 4, lastError: null });
    expect(store.reload()).toEqual({ ok: true, keys: 1 });
    expect(store.status().reloads).toBe(2);
  });

  it('stops following the file once closed', async () => {
    const file = freshFile();
    const { key } = createKey(file, { id: 'closed-1', scopes: ['forecast'] });
    const store = open(file, { reloadMs: 20 });
    store.close();
    store.close(); // twice is fine
    revokeKey(file, 'closed-1');
    await sleep(200);
    expect(accepted(store.authenticate(key)).id).toBe('closed-1');
    expect(store.status().reloads).toBe(0);
  });

  it('refuses bad options', () => {
    const file = freshFile();
    createKey(file, { id: 'opt', scopes: ['forecast'] });
    for (const reloadMs of [0, -1, 1.5, Infinity, NaN]) {
      const err = thrown(() => open(file, { reloadMs }));
      expect(err.code, String(reloadMs)).toBe('TG_INVALID_ARGUMENT');
    }
    expect(thrown(() => open(file, { now: 5 as unknown as () => number })).code).toBe('TG_INVALID_ARGUMENT');
  });
});

describe('KeyStore.open on an invalid file', () => {
  const entry = (id: string): StoredKey => ({
    id,
    salt: '0123456789abcdef0123456789abcdef',
    hash: 'ab'.repeat(32),
    scopes: ['forecast'],
    createdAt: '2026-01-01T00:00:00Z',
    expiresAt: null,
    revokedAt: null,
  });
  const fileWith = (mutate: (doc: { version: unknown; keys: Record<string, unknown>[] }) => unknown): unknown => {
    const doc = { version: 1, keys: [entry('a'), entry('b'), entry('c')] as unknown as Record<string, unknown>[] };
    return mutate(doc) ?? doc;
  };

  it.each<[string, unknown, string]>([
    ['an unknown scope', fileWith((d) => void (d.keys[2]!.scopes = ['root'])), "keys[2].scopes[0]: 'root' is not one of forecast, admin, metrics, ticks"],
    ['a duplicate id', fileWith((d) => void (d.keys[2]!.id = 'a')), "keys[2].id: 'a' duplicates keys[0].id"],
    ['an empty scope list', fileWith((d) => void (d.keys[0]!.scopes = [])), 'keys[0].scopes: is empty (a key needs at least one of forecast, admin, metrics)'],
    ['a scope listed twice', fileWith((d) => void (d.keys[1]!.scopes = ['admin', 'admin'])), "keys[1].scopes[1]: 'admin' is listed twice"],
    ['a bad id', fileWith((d) => void (d.keys[0]!.id = '-a')), "keys[0].id: '-a' is not a key id (1 to 64 of A-Z a-z 0-9 _ -, starting with a letter or digit)"],
    ['a short salt', fileWith((d) => void (d.keys[1]!.salt = 'abc')), "keys[1].salt: 'abc' is not 32 lowercase hex digits"],
    ['an uppercase hash', fileWith((d) => void (d.keys[0]!.hash = 'AB'.repeat(32))), `keys[0].hash: '${'AB'.repeat(32)}' is not 64 lowercase hex digits`],
    ['a missing revokedAt', fileWith((d) => void delete d.keys[0]!.revokedAt), 'keys[0].revokedAt: is missing'],
    ['a misspelt field', fileWith((d) => void (d.keys[0]!.revoked_at = null)), 'keys[0].revoked_at: unknown field (known: id, salt, hash, scopes, createdAt, expiresAt, revokedAt, limits)'],
    ['a day that does not exist', fileWith((d) => void (d.keys[0]!.expiresAt = '2027-02-31T00:00:00Z')), "keys[0].expiresAt: '2027-02-31T00:00:00Z' is not null or an ISO-8601 UTC time like 2027-01-31T00:00:00Z"],
    ['a time with an offset', fileWith((d) => void (d.keys[0]!.revokedAt = '2027-01-31T00:00:00+01:00')), "keys[0].revokedAt: '2027-01-31T00:00:00+01:00' is not null or an ISO-8601 UTC time like 2027-01-31T00:00:00Z"],
    ['a numeric createdAt', fileWith((d) => void (d.keys[0]!.createdAt = 1700000000000)), 'keys[0].createdAt: 1700000000000 is not an ISO-8601 UTC time like 2027-01-31T00:00:00Z'],
    ['an unknown limit', fileWith((d) => void (d.keys[0]!.limits = { burst: 3 })), 'keys[0].limits.burst: unknown field (known: forecastPerSecond, forecastBurst, apiPerMinute)'],
    ['a fractional burst', fileWith((d) => void (d.keys[0]!.limits = { forecastBurst: 1.5 })), 'keys[0].limits.forecastBurst: 1.5 is not an integer of at least 1'],
    ['a zero rate', fileWith((d) => void (d.keys[0]!.limits = { forecastPerSecond: 0 })), 'keys[0].limits.forecastPerSecond: 0 is not a number above 0'],
    ['a string rate', fileWith((d) => void (d.keys[0]!.limits = { apiPerMinute: '60' })), "keys[0].limits.apiPerMinute: '60' is not an integer of at least 1"],
    ['a null entry', fileWith((d) => void (d.keys[1] = null as unknown as Record<string, unknown>)), 'keys[1]: null is not an object'],
    ['version 2', fileWith((d) => void (d.version = 2)), 'version: 2 is not 1'],
    ['keys not a list', { version: 1, keys: {} }, 'keys: an object is not an array'],
    ['an unknown top-level field', { version: 1, keys: [], extra: true }, 'extra: unknown field (known: version, keys)'],
    ['a list at the top', [], '(top level): an array is not an object'],
  ])('names the bad field: %s', (_, doc, problem) => {
    const file = freshFile();
    fs.writeFileSync(file, JSON.stringify(doc));
    const err = thrown(() => open(file));
    expect(err.code).toBe('TG_KEY_FILE_INVALID');
    expect(err.message).toBe(`key file ${file}: ${problem}`);
  });

  it('refuses a file that is not JSON, and a missing file', () => {
    const file = freshFile();
    fs.writeFileSync(file, 'version: 1\n');
    const err = thrown(() => open(file));
    expect(err.code).toBe('TG_KEY_FILE_INVALID');
    expect(err.message.startsWith(`key file ${file}: is not valid JSON (`)).toBe(true);
    const missing = freshFile();
    const err2 = thrown(() => open(missing));
    expect(err2.code).toBe('TG_KEY_FILE_INVALID');
    expect(err2.message).toBe(`key file ${missing}: does not exist (create a key with \`tirex-guardian keys create\`)`);
    const dir = fs.mkdtempSync(path.join(TMP, 'dir-'));
    const err3 = thrown(() => open(dir));
    expect(err3.code).toBe('TG_KEY_FILE_INVALID');
    expect(err3.message).toBe(`key file ${dir}: is not a regular file`);
  });

  it('loads a valid file with every optional field', () => {
    const file = freshFile();
    const doc = fileWith((d) => {
      d.keys[0]!.limits = { forecastPerSecond: 0.5, forecastBurst: 1, apiPerMinute: 1 };
      d.keys[1]!.expiresAt = '2030-01-01T00:00:00.123456Z';
      d.keys[2]!.revokedAt = '2026-02-01T00:00:00.000Z';
    });
    fs.writeFileSync(file, JSON.stringify(doc));
    const store = open(file, { now: () => Date.parse('2029-01-01T00:00:00Z') });
    expect(store.status()).toMatchObject({ keys: 3, active: 2 });
  });
});

describe('createKey, revokeKey and listKeys on the file', () => {
  it('refuses an id already in the file, revoked or not, and leaves the file as it was', () => {
    const file = freshFile();
    createKey(file, { id: 'dup', scopes: ['forecast'] });
    createKey(file, { id: 'old', scopes: ['forecast'] });
    revokeKey(file, 'old');
    const before = fs.readFileSync(file, 'utf8');
    const e1 = thrown(() => createKey(file, { id: 'dup', scopes: ['admin'] }));
    expect(e1.code).toBe('TG_KEY_EXISTS');
    expect(e1.message).toBe(`key dup already exists in ${file}; ids are never reused, choose another`);
    const e2 = thrown(() => createKey(file, { id: 'old', scopes: ['forecast'] }));
    expect(e2.code).toBe('TG_KEY_EXISTS');
    expect(e2.message.startsWith(`key old already exists in ${file} (revoked 20`)).toBe(true);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
  });

  it.each<[string, Parameters<typeof createKey>[1], string]>([
    ['a bad id', { id: 'desk 7', scopes: ['forecast'] }, "createKey: id: 'desk 7' is not a key id (1 to 64 of A-Z a-z 0-9 _ -, starting with a letter or digit)"],
    ['no scopes', { id: 'x', scopes: [] }, 'createKey: scopes: is empty (a key needs at least one of forecast, admin, metrics)'],
    ['an unknown scope', { id: 'x', scopes: ['root' as 'admin'] }, "createKey: scopes[0]: 'root' is not one of forecast, admin, metrics, ticks"],
    ['a zero burst', { id: 'x', scopes: ['forecast'], limits: { forecastBurst: 0 } }, 'createKey: limits.forecastBurst: 0 is not an integer of at least 1'],
    ['an unknown limit', { id: 'x', scopes: ['forecast'], limits: { perDay: 5 } as never }, 'createKey: limits.perDay: unknown field (known: forecastPerSecond, forecastBurst, apiPerMinute)'],
    ['a past expiry', { id: 'x', scopes: ['forecast'], expiresAt: new Date('2020-01-01T00:00:00Z') }, 'createKey: expiresAt 2020-01-01T00:00:00.000Z is not in the future'],
    ['an invalid date', { id: 'x', scopes: ['forecast'], expiresAt: new Date(NaN) }, 'createKey: expiresAt must be a valid Date'],
    ['an expiry past 9999', { id: 'x', scopes: ['forecast'], expiresAt: new Date(Date.UTC(10000, 0, 1)) }, 'createKey: expiresAt +010000-01-01T00:00:00.000Z is past the year 9999'],
  ])('refuses %s with TG_INVALID_ARGUMENT, writing nothing', (_, options, message) => {
    const file = freshFile();
    const err = thrown(() => createKey(file, options));
    expect(err.code).toBe('TG_INVALID_ARGUMENT');
    expect(err.message).toBe(message);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('refuses to rewrite an invalid file', () => {
    const file = freshFile();
    fs.writeFileSync(file, '{"version":1,"keys":[{"id":"x"}]}');
    const err = thrown(() => createKey(file, { id: 'y', scopes: ['forecast'] }));
    expect(err.code).toBe('TG_KEY_FILE_INVALID');
    expect(err.message).toBe(`key file ${file}: keys[0].salt: is missing`);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"version":1,"keys":[{"id":"x"}]}');
  });

  it('revokes once: an unknown id is TG_KEY_NOT_FOUND, a second revocation keeps the first time', () => {
    const file = freshFile();
    createKey(file, { id: 'r1', scopes: ['forecast'] });
    const err = thrown(() => revokeKey(file, 'r2'));
    expect(err.code).toBe('TG_KEY_NOT_FOUND');
    expect(err.message).toBe(`key "r2" is not in ${file}`);
    const first = new Date('2026-03-01T12:00:00Z');
    expect(revokeKey(file, 'r1', first)).toEqual({ id: 'r1', revokedAt: '2026-03-01T12:00:00.000Z', alreadyRevoked: false });
    const after = fs.readFileSync(file, 'utf8');
    expect(revokeKey(file, 'r1', new Date('2026-04-01T00:00:00Z'))).toEqual({ id: 'r1', revokedAt: '2026-03-01T12:00:00.000Z', alreadyRevoked: true });
    expect(fs.readFileSync(file, 'utf8')).toBe(after);
    expect(thrown(() => revokeKey(freshFile(), 'r1')).code).toBe('TG_KEY_FILE_INVALID');
  });

  it('lists every key with its state and without salt or hash', () => {
    const file = freshFile();
    const now = Date.now();
    const a = createKey(file, { id: 'act', scopes: ['forecast', 'admin'], limits: { apiPerMinute: 10 } }).entry;
    const e = createKey(file, { id: 'exp', scopes: ['metrics'], expiresAt: new Date(now + 60_000) }).entry;
    const r = createKey(file, { id: 'rev', scopes: ['forecast'] }).entry;
    revokeKey(file, 'rev', new Date('2026-05-05T05:05:05Z'));
    const list = listKeys(file, new Date(now + 120_000));
    expect(list).toEqual([
      { id: 'act', scopes: ['forecast', 'admin'], createdAt: a.createdAt, expiresAt: null, revokedAt: null, limits: { apiPerMinute: 10 }, state: 'active' },
      { id: 'exp', scopes: ['metrics'], createdAt: e.createdAt, expiresAt: e.expiresAt, revokedAt: null, state: 'expired' },
      { id: 'rev', scopes: ['forecast'], createdAt: r.createdAt, expiresAt: null, revokedAt: '2026-05-05T05:05:05.000Z', state: 'revoked' },
    ]);
    expect(list.map((k) => Object.hasOwn(k, 'salt') || Object.hasOwn(k, 'hash'))).toEqual([false, false, false]);
    expect(listKeys(file, new Date(now)).map((k) => k.state)).toEqual(['active', 'active', 'revoked']);
  });

  it('takes over a lock left behind more than 30 s ago', () => {
    const file = freshFile();
    const lock = `${file}.lock`;
    fs.writeFileSync(lock, '{"pid":1}');
    const old = new Date(Date.now() - 31_000);
    fs.utimesSync(lock, old, old);
    const t0 = Date.now();
    createKey(file, { id: 'after-stale', scopes: ['forecast'] });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(fs.existsSync(lock)).toBe(false);
    expect(listKeys(file).map((k) => k.id)).toEqual(['after-stale']);
  });

  it('a key file whose directory does not exist: a typed error that names the lock, no stack of fs internals', () => {
    const file = path.join(TMP, 'no-such-dir', 'keys.json');
    let caught: { code?: string; message?: string } | null = null;
    try {
      createKey(file, { id: 'x', scopes: ['forecast'] });
    } catch (err) {
      caught = err as { code?: string; message?: string };
    }
    expect([caught?.code, caught?.message]).toEqual(['TG_KEY_FILE_INVALID', `key file ${file}: cannot take ${file}.lock: ENOENT`]);
  });

  it('loses no key when several processes create keys at once', async () => {
    expect(fs.existsSync(DIST_KEYS), `${DIST_KEYS} missing: run node scripts/build-ts.js`).toBe(true);
    const file = freshFile();
    const CHILDREN = 8;
    const EACH = 5;
    const script = (c: number): string =>
      `const k = require(${JSON.stringify(DIST_KEYS)}); const out = [];` +
      `for (let i = 0; i < ${EACH}; i++) out.push(k.createKey(${JSON.stringify(file)}, { id: 'c${c}-' + i, scopes: ['forecast'] }).key);` +
      'process.stdout.write(JSON.stringify(out));';
    const runs = Array.from({ length: CHILDREN }, (_, c) =>
      new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['-e', script(c)], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d));
        child.stderr.on('data', (d: Buffer) => (stderr += d));
        child.on('close', (status) => resolve({ status, stdout, stderr }));
      }),
    );
    const results = await Promise.all(runs);
    expect(results.map((r) => r.status)).toEqual(Array(CHILDREN).fill(0));
    const keys = results.flatMap((r) => JSON.parse(r.stdout) as string[]);
    const expected = Array.from({ length: CHILDREN }, (_, c) => Array.from({ length: EACH }, (_, i) => `c${c}-${i}`)).flat().sort();
    expect(listKeys(file).map((k) => k.id).sort()).toEqual(expected);
    const store = open(file);
    expect(keys.map((k) => store.authenticate(k).ok)).toEqual(Array(CHILDREN * EACH).fill(true));
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });
});

describe('tirex-guardian keys', () => {
  const cli = (args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => runCli(args, opts);

  it('creates a key that authenticates, showing it once', () => {
    const file = freshFile();
    const r = cli(['keys', 'create', '--id', 'desk-7', '--scopes', 'forecast,admin', '--expires', '2099-01-31T00:00:00Z', '--forecast-per-second', '2.5', '--forecast-burst', '4', '--api-per-minute', '90', '--keys-file', file]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^tgk\.desk-7\.[A-Za-z0-9_-]{43}\n$/);
    expect(r.stderr).toContain('will not be shown again');
    expect(r.stderr).toContain(file);
    const key = accepted(open(file).authenticate(r.stdout.trim()));
    expect([...key.scopes]).toEqual(['forecast', 'admin']);
    expect(key.limits).toEqual({ forecastPerSecond: 2.5, forecastBurst: 4, apiPerMinute: 90 });
    expect(key.expiresAt).toBe(Date.parse('2099-01-31T00:00:00Z'));
    expect(fs.readFileSync(file, 'utf8').includes(secretOf(r.stdout.trim()))).toBe(false);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
  });

  it('prints {id, key, scopes, expiresAt} with --json, and finds the file through $TG_KEYS_FILE', () => {
    const file = freshFile();
    const before = Date.now();
    const r = cli(['keys', 'create', '--id', 'j1', '--scopes', 'metrics', '--expires-in', '30d', '--json'], { env: { TG_KEYS_FILE: file } });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(['id', 'key', 'scopes', 'expiresAt']);
    expect(out.id).toBe('j1');
    expect(out.scopes).toEqual(['metrics']);
    const expires = Date.parse(out.expiresAt);
    expect(expires).toBeGreaterThanOrEqual(before + 30 * 86_400_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 30 * 86_400_000);
    expect(accepted(open(file).authenticate(out.key)).expiresAt).toBe(expires);
  });

  it('uses ./tirex-guardian-keys.json without --keys-file or $TG_KEYS_FILE', () => {
    const dir = fs.mkdtempSync(path.join(TMP, 'cwd-'));
    const r = cli(['keys', 'create', '--id', 'here', '--scopes', 'forecast'], { cwd: dir });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(['tirex-guardian-keys.json']);
    expect(open(path.join(dir, 'tirex-guardian-keys.json')).authenticate(r.stdout.trim()).ok).toBe(true);
  });

  it('lists keys without salts or hashes, and revokes', () => {
    const file = freshFile();
    const { key, entry } = createKey(file, { id: 'l1', scopes: ['forecast'] });
    const text = cli(['keys', 'list', '--keys-file', file]);
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(/^id\s+state\s+scopes\s+created\s+expires\s+revoked\s+limits$/);
    expect(text.stdout).toMatch(/^l1\s+active\s+forecast\s/m);
    const json = cli(['keys', 'list', '--keys-file', file, '--json']);
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([{ id: 'l1', scopes: ['forecast'], createdAt: entry.createdAt, expiresAt: null, revokedAt: null, state: 'active' }]);
    for (const out of [text.stdout + text.stderr, json.stdout + json.stderr]) {
      expect(out.includes(entry.salt)).toBe(false);
      expect(out.includes(entry.hash)).toBe(false);
      expect(out.includes('salt')).toBe(false);
      expect(out.includes('hash')).toBe(false);
    }
    const rev = cli(['keys', 'revoke', '--id', 'l1', '--keys-file', file]);
    expect(rev.status, rev.stderr).toBe(0);
    expect(rev.stdout).toMatch(/^revoked key l1 at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z in /);
    expect(open(file).authenticate(key)).toEqual({ ok: false, reason: 'revoked' });
    const again = cli(['keys', 'revoke', '--id', 'l1', '--keys-file', file]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^key l1 was already revoked at /);
  });

  it('exits 1 with the typed error for an existing id or an unknown one', () => {
    const file = freshFile();
    createKey(file, { id: 'taken', scopes: ['forecast'] });
    const dup = cli(['keys', 'create', '--id', 'taken', '--scopes', 'forecast', '--keys-file', file]);
    expect(dup.status).toBe(1);
    expect(dup.stdout).toBe('');
    expect(dup.stderr).toContain('[TG_KEY_EXISTS]');
    const unknown = cli(['keys', 'revoke', '--id', 'nobody', '--keys-file', file]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('[TG_KEY_NOT_FOUND]');
  });

  it.each<[string, string[], string, RegExp]>([
    ['a misspelt flag', ['keys', 'create', '--id', 'a', '--scope', 'forecast'], 'keys create', /unknown flag --scope/],
    ['no id', ['keys', 'create', '--scopes', 'forecast'], 'keys create', /--id is required/],
    ['a bad id', ['keys', 'create', '--id', 'a b', '--scopes', 'forecast'], 'keys create', /--id must be/],
    ['no scopes', ['keys', 'create', '--id', 'a'], 'keys create', /--scopes is required/],
    ['an unknown scope', ['keys', 'create', '--id', 'a', '--scopes', 'forecast,root'], 'keys create', /--scopes .*"root"/],
    ['a scope twice', ['keys', 'create', '--id', 'a', '--scopes', 'admin,admin'], 'keys create', /--scopes lists a scope twice/],
    ['both expiries', ['keys', 'create', '--id', 'a', '--scopes', 'admin', '--expires', '2099-01-01T00:00:00Z', '--expires-in', '1d'], 'keys create', /not both/],
    ['a local time', ['keys', 'create', '--id', 'a', '--scopes', 'admin', '--expires', '2099-01-01T00:00:00'], 'keys create', /--expires must be an ISO-8601 UTC time/],
    ['a past expiry', ['keys', 'create', '--id', 'a', '--scopes', 'admin', '--expires', '2020-01-01T00:00:00Z'], 'keys create', /not in the future/],
    ['months', ['keys', 'create', '--id', 'a', '--scopes', 'admin', '--expires-in', '6m'], 'keys create', /--expires-in must be/],
    ['a zero burst', ['keys', 'create', '--id', 'a', '--scopes', 'admin', '--forecast-burst', '0'], 'keys create', /--forecast-burst must be an integer/],
    ['a negative rate', ['keys', 'create', '--id', 'a', '--scopes', 'admin', '--forecast-per-second', '-1'], 'keys create', /--forecast-per-second must be a number above 0/],
    ['a fractional per-minute limit', ['keys', 'create', '--id', 'a', '--scopes', 'admin', '--api-per-minute', '1.5'], 'keys create', /--api-per-minute must be an integer/],
    ['a value given to --json', ['keys', 'create', '--id', 'a', '--scopes', 'admin', '--json=yes'], 'keys create', /--json/],
    ['a stray argument', ['keys', 'create', 'desk', '--id', 'a', '--scopes', 'admin'], 'keys create', /unexpected argument "desk"/],
    ['revoke without an id', ['keys', 'revoke'], 'keys revoke', /--id is required/],
    ['list with --id', ['keys', 'list', '--id', 'a'], 'keys list', /unknown flag --id/],
    ['an unknown subcommand', ['keys', 'delete', '--id', 'a'], 'keys create', /unknown keys subcommand "delete"/],
  ])('exits 2 with the usage line for %s, touching nothing', (_, args, usage, reason) => {
    const file = freshFile();
    const r = cli([...args, '--keys-file', file]);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toMatch(reason);
    expect(r.stderr).toContain(`usage: tirex-guardian ${usage}`);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(file)).toBe(false);
  });
});
