// What deploy/ ships, checked against the service itself: the alert rules pass Prometheus' own
// `promtool check rules` and their unit tests (`promtool test rules`), every metric they name is
// one a real scrape holds; the Kubernetes example's variables are ones the service knows, the
// configuration they give loads, and its probes and scrape annotations name what it serves.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ENV_VARIABLES, loadServiceConfig } from '../lib/service/config';
import { series, startService, type TestService } from './service-fixtures';

const ROOT = path.resolve(__dirname, '..');
const RULES = path.join(ROOT, 'deploy', 'prometheus', 'alerts.yml');
const K8S = path.join(ROOT, 'deploy', 'k8s', 'tirex-guardian.yaml');

function promtool(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd: path.dirname(RULES), encoding: 'utf8' });
  expect(r.error, 'promtool is missing: apt-get install prometheus (.ci/run installs it)').toBeUndefined();
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

let t: TestService;
beforeAll(async () => {
  t = await startService({ reader: { scopes: ['metrics'] }, desk: { scopes: ['forecast'] } });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('deploy/prometheus: the alert rules', () => {
  it('pass promtool check rules', () => {
    const r = promtool('check', 'rules', 'alerts.yml');
    expect(r.out).toContain('SUCCESS: 13 rules found');
    expect(r.status).toBe(0);
  });

  it('pass their unit tests (each alert fires on a breaking series and not on its neighbour)', () => {
    const r = promtool('test', 'rules', 'alerts.test.yml');
    expect(r.out).toContain('SUCCESS');
    expect(r.status).toBe(0);
    // Every alert of the rules is exercised by the tests.
    const rules = [...fs.readFileSync(RULES, 'utf8').matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    const tested = new Set([...fs.readFileSync(path.join(path.dirname(RULES), 'alerts.test.yml'), 'utf8').matchAll(/alertname: (\w+)/g)].map((m) => m[1]));
    expect(rules).toHaveLength(13);
    for (const r of rules) expect(tested.has(r), r).toBe(true);
    // Each has a runbook line.
    expect([...fs.readFileSync(RULES, 'utf8').matchAll(/runbook: /g)]).toHaveLength(13);
  });

  it('name only metrics that a real scrape of the service holds', async () => {
    await (await fetch(`${t.url}/v1/forecast`, { method: 'POST', headers: { authorization: `Bearer ${t.keys.desk}`, 'content-type': 'application/json' }, body: JSON.stringify({ context: series(256), predictionLength: 8 }) })).text();
    const text = await (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${t.keys.reader}` } })).text();
    const exposed = new Set([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap((m) => (m[2] === 'histogram' ? [m[1]!, `${m[1]}_bucket`, `${m[1]}_sum`, `${m[1]}_count`] : [m[1]!])));
    const named = new Set([...fs.readFileSync(RULES, 'utf8').matchAll(/\b((?:tirex_guardian|process|nodejs)_[a-z_]+)\b/g)].map((m) => m[1]!));
    expect(named.size).toBeGreaterThan(10);
    for (const name of named) expect(exposed.has(name), `${name} is in alerts.yml but not in /metrics`).toBe(true);
  });
});

describe('deploy/k8s: the example', () => {
  const docs = parseAllDocuments(fs.readFileSync(K8S, 'utf8')).map((d) => d.toJS());
  const deployment = docs.find((d) => d.kind === 'Deployment');
  const container = deployment.spec.template.spec.containers[0];
  const env: Record<string, string> = Object.fromEntries(container.env.filter((e: any) => 'value' in e).map((e: any) => [e.name, e.value]));
  const port = (name: string) => container.ports.find((p: any) => p.name === name).containerPort;

  it('sets only variables the service knows (TG_*) or OpenTelemetry reads (OTEL_*), and they load', () => {
    const known = new Set(ENV_VARIABLES.map((v) => v.name));
    for (const name of Object.keys(env)) if (name.startsWith('TG_')) expect(known.has(name), name).toBe(true);
    for (const name of Object.keys(env)) expect(/^(TG|OTEL)_/.test(name), name).toBe(true);
    const pod = (v: string) => v.replace('$(POD_NAME)', 'tirex-guardian-0');
    const c = loadServiceConfig({ env: { ...env, TG_AUDIT_DIR: pod(env.TG_AUDIT_DIR!), TG_EVIDENCE_DIR: pod(env.TG_EVIDENCE_DIR!) } });
    expect(c.profile).toBe('production');
    // Evidence on the mounted volume, per pod (the root filesystem is read-only), the preflight on.
    expect([c.evidenceDir, c.security.preflight]).toEqual(['/var/lib/tirex-guardian/evidence/tirex-guardian-0', true]);
    const mounts = container.volumeMounts.map((m: any) => m.mountPath);
    expect(mounts).toContain('/var/lib/tirex-guardian/evidence');
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
    expect(c.port).toBe(port('http'));
    expect(c.metrics.port).toBe(port('metrics'));
    expect(c.behindProxy).toBe(true);
    expect(c.rateLimits.redis!.url).toBe('redis://redis:6379');
    expect(c.tracing!.url).toBe('http://otel-collector:4318/v1/traces');
    // The pinned sha256 is the shipped model's (a production gate).
    const manifest = JSON.parse(fs.readFileSync(c.models[0]!.manifest, 'utf8'));
    expect(c.models[0]!.sha256).toBe(manifest.sha256);
  });

  it('has the three probes on routes the service answers, and the scrape on its metrics port', async () => {
    expect(container.startupProbe.httpGet.path).toBe('/health/startup');
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(container.livenessProbe.httpGet.path).toBe('/health/live');
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      expect(container[probe].httpGet.port).toBe('http');
      const r = await fetch(`${t.url}${container[probe].httpGet.path}`);
      await r.text();
      expect(r.status).toBe(200);
    }
    const a = deployment.spec.template.metadata.annotations;
    expect(a['prometheus.io/scrape']).toBe('true');
    expect(Number(a['prometheus.io/port'])).toBe(port('metrics'));
    expect(a['prometheus.io/path']).toBe('/metrics');
    // The grace period outlasts the drain.
    expect(deployment.spec.template.spec.terminationGracePeriodSeconds * 1000).toBeGreaterThan(loadServiceConfig({ env: {} }).drainTimeoutMs);
    const service = docs.find((d) => d.kind === 'Service');
    expect(service.spec.ports[0].targetPort).toBe('http');
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
  });
});
