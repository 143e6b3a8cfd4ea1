// process.exit() with records queued, a batch in flight, or (in the guardian) records still in
// the hand-off buffer: everything reaches the file, and the chain verifies (an unverified tail:
// no final checkpoint without close()).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { verifyAuditLog } from '../lib/audit/index';

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist', 'cjs');
const CHILD = path.join(ROOT, 'test', 'fixtures', 'audit-exit-child.js');
const KEY = 'exit-test-signing-key-0123456789abcdef';
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-audit-exit-'));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

function runChild(file: string, durability: string, mode: 'log' | 'guardian', count: number): string {
  const r = spawnSync(process.execPath, [CHILD, DIST, file, KEY, durability, mode, String(count)], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout;
}

function entries(file: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

describe('process.exit() flushes the audit trail', () => {
  for (const durability of ['fsync', 'none'] as const) {
    it(`AuditLog, '${durability}': all 20,000 appended records are in the file, the chain verifies`, async () => {
      const file = path.join(TMP, `log-${durability}.log`);
      runChild(file, durability, 'log', 20_000);
      const records = entries(file).filter((e) => e.type === 'record');
      expect(records.length).toBe(20_000);
      expect(records.map((e) => (e.inputStats as { i: number }).i)).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
      const report = await verifyAuditLog(file, { signingKey: KEY });
      expect(report.ok, JSON.stringify(report.problem)).toBe(true);
      expect(report.status).toBe('unverified-tail');
    });
  }

  it('the guardian: records still in the hand-off buffer reach the file', async () => {
    const file = path.join(TMP, 'guardian.log');
    expect(runChild(file, 'fsync', 'guardian', 40)).toContain('served 40');
    const records = entries(file).filter((e) => e.type === 'record');
    expect(records.length).toBe(40);
    const report = await verifyAuditLog(file, { signingKey: KEY });
    expect(report.ok, JSON.stringify(report.problem)).toBe(true);
  });
});
