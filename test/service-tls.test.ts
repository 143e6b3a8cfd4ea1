/**
 * The production profile end to end: TLS (a certificate made here with openssl), a pinned model,
 * audit on with a signing key, API keys and rate limits: the service starts, answers over HTTPS
 * only, and its audit log verifies.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { verifyAuditDir } from '../lib/audit';
import { verifyRunAudit } from '../lib/evidence/run-audit';
import { loadServiceConfig } from '../lib/service/config';
import { createKey } from '../lib/service/keys';
import { createServer } from '../lib/service/server';
import { cleanProject } from './preflight-fixtures';
import { series, SIGNING_KEY, tempDir } from './service-fixtures';

const MODEL_SHA256 = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'models', 'tirex-guardian-default.json'), 'utf8')).sha256 as string;

function request(url: string, ca: Buffer, init: { method: string; headers: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method, headers: init.headers, ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('production over TLS', () => {
  it('starts with every gate satisfied, serves HTTPS, refuses plain HTTP, and its log verifies', async () => {
    const dir = tempDir();
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
    fs.writeFileSync(path.join(dir, 'signing.key'), SIGNING_KEY, { mode: 0o600 });
    const key = createKey(path.join(dir, 'keys.json'), { id: 'desk-7', scopes: ['forecast'] }).key;
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({
        profile: 'production',
        port: 0,
        tls: { certFile: 'cert.pem', keyFile: 'key.pem' },
        keysFile: 'keys.json',
        models: [{ name: 'default', manifest: path.join(__dirname, '..', 'models', 'tirex-guardian-default.json'), sha256: MODEL_SHA256 }],
        audit: { dir: 'audit', signingKeyFile: 'signing.key' },
        evidenceDir: 'evidence',
        security: { registry: null, projectDir: cleanProject() },
        logLevel: 'silent',
      }),
    );
    const service = await createServer({ config: loadServiceConfig({ file: path.join(dir, 'config.json'), env: {} }) });
    const url = await service.listen();
    try {
      expect(url.startsWith('https://127.0.0.1:')).toBe(true);
      const ca = fs.readFileSync(path.join(dir, 'cert.pem'));
      const r = await request(`${url}/v1/forecast`, ca, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ context: series(128), predictionLength: 32, userId: 'alice' }),
      });
      expect(r.status).toBe(200);
      const body = JSON.parse(r.body);
      expect([body.status, body.model.sha256]).toEqual(['ok', MODEL_SHA256]);
      expect(typeof body.auditId).toBe('string');
      // Plain HTTP to the TLS port is not a request the service answers.
      let plainFailed = false;
      try {
        await fetch(url.replace('https:', 'http:') + '/health/live');
      } catch {
        plainFailed = true;
      }
      expect(plainFailed).toBe(true);
    } finally {
      await service.drain('test over');
    }
    const report = await verifyAuditDir(path.join(dir, 'audit', 'default'), { signingKey: SIGNING_KEY });
    expect(report.ok).toBe(true);
    // The evidence of this start and stop: the service's preflight (which the guardian accepted
    // instead of running it again), both gate decisions, the start and the stop, chained.
    const evidence = verifyRunAudit(path.join(dir, 'evidence'));
    expect(evidence.problems).toEqual([]);
    expect(evidence.entries.map((e) => [e.event, e.decision, e.detail.entryPoint ?? null])).toEqual([
      ['preflight', 'pass', 'serve'],
      ['startup-gate', 'pass', 'serve'],
      ['startup-gate', 'pass', 'guardian'],
      ['serve-start', 'started', null],
      ['serve-stop', 'stopped', null],
    ]);
    const preflight = JSON.parse(fs.readFileSync(path.join(dir, 'evidence', evidence.entries[0]!.artifact!.file), 'utf8'));
    expect(preflight.versions).toMatchObject({ node: process.version, onnxRuntime: '1.30.0', model: { sha256: MODEL_SHA256, signer: 'f89d2536a7016496', signature: 'valid' } });
    expect(preflight.report).toMatchObject({ decision: 'pass', exitCode: 0, findings: [], tree: { checked: true, problems: [] } });
  }, 60_000);
});
