/** A real service for the HTTP tests: a temp directory with a key file, an audit signing key and
 * the shipped model, started on a free port. No mocks: the real guardian, model and Fastify. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { loadServiceConfig } from '../lib/service/config';
import { createKey, type CreateKeyOptions } from '../lib/service/keys';
import { createServer, type Service } from '../lib/service/server';

export const SIGNING_KEY = 'service-test-signing-key-0123456789abcdef';

export interface TestService {
  service: Service;
  url: string;
  dir: string;
  keys: Record<string, string>;
  keysFile: string;
  close(): Promise<void>;
}

export function tempDir(prefix = 'tg-svc-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Starts a service with the given keys (id -> options) and configuration overrides. */
export async function startService(
  keySpecs: Record<string, Omit<CreateKeyOptions, 'id'>>,
  overrides: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = {},
  beforeListen?: (s: Service) => void,
): Promise<TestService> {
  const dir = tempDir();
  const keysFile = path.join(dir, 'keys.json');
  const keys: Record<string, string> = {};
  for (const [id, o] of Object.entries(keySpecs)) keys[id] = createKey(keysFile, { id, ...o }).key;
  const signingKeyFile = path.join(dir, 'signing.key');
  fs.writeFileSync(signingKeyFile, SIGNING_KEY, { mode: 0o600 });
  const config = loadServiceConfig({
    env: { TG_PORT: '0', TG_LOG_LEVEL: 'silent', TG_KEYS_FILE: keysFile, ...env },
    overrides: { profile: 'staging', rateLimits: { forecast: { algorithm: 'token-bucket', limit: 1000, windowMs: 1000 } }, audit: { dir: path.join(dir, 'audit'), durability: 'none', signingKeyFile }, evidenceDir: path.join(dir, 'evidence'), ...overrides },
  });
  const service = await createServer({ config });
  beforeListen?.(service);
  const url = await service.listen();
  return { service, url, dir, keys, keysFile, close: () => service.drain('test over') };
}

export function series(n: number, level = 100): number[] {
  return Array.from({ length: n }, (_, i) => level + 5 * Math.sin(i / 9) + (i % 7) * 0.1);
}

export function auditLines(t: TestService, model = 'default'): Record<string, any>[] {
  return auditLinesIn(path.join(t.dir, 'audit', model));
}

/** The records of a segment directory, in order. */
export function auditLinesIn(dir: string): Record<string, any>[] {
  const out: Record<string, any>[] = [];
  for (const f of fs.readdirSync(dir).sort()) {
    if (!/^segment-\d{16}\.jsonl$/.test(f)) continue;
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) if (line) out.push(JSON.parse(line));
  }
  return out.filter((e) => e.type === 'record');
}

export async function flushAudit(t: TestService): Promise<void> {
  for (const m of t.service.context.models) await m.guardian.flushAudit();
}
