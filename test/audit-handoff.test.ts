// The hot path's hand-off buffer in front of the audit log, alone and inside the guardian.
import * as path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { verifyAuditLines } from '../lib/audit';
import { AuditHandoff } from '../lib/audit/handoff';
import { readCsvColumn, TiRexGuardian } from '../lib/index';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('AuditHandoff', () => {
  it('hands items over in order on the next tick, once per tick', async () => {
    const batches: number[][] = [];
    const h = new AuditHandoff<number>({ drain: (b) => batches.push(b) });
    for (let i = 0; i < 10; i++) expect(h.push(i)).toBe(true);
    expect(batches).toEqual([]);
    expect(h.pending).toBe(10);
    await tick();
    expect(batches).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]]);
    h.push(10);
    h.drain();
    expect(batches.at(-1)).toEqual([10]);
    await tick();
    expect(batches.length).toBe(2); // nothing left for the scheduled tick
  });

  it("'block': a full buffer is drained by the caller; nothing is lost, order is kept", () => {
    const seen: number[] = [];
    const h = new AuditHandoff<number>({ drain: (b) => seen.push(...b), limit: 3 });
    for (let i = 0; i < 10; i++) expect(h.push(i)).toBe(true);
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(h.pending).toBe(1);
    h.drain();
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(h.dropped).toBe(0);
  });

  it("'drop': a full buffer refuses and counts, and the consumer hears the count", async () => {
    const seen: number[] = [];
    const drops: number[] = [];
    const h = new AuditHandoff<number>({ drain: (b) => seen.push(...b), limit: 3, onFull: 'drop', onDrop: (n) => drops.push(n) });
    const accepted = Array.from({ length: 10 }, (_, i) => h.push(i));
    expect(accepted).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(h.dropped).toBe(7);
    await tick();
    expect(seen).toEqual([0, 1, 2]);
    expect(drops).toEqual([7]);
  });

  it('refuses bad options', () => {
    expect(() => new AuditHandoff({ drain: () => {}, limit: 0 })).toThrow(RangeError);
    expect(() => new AuditHandoff({ drain: () => {}, onFull: 'wait' as 'block' })).toThrow(TypeError);
  });
});

describe('the guardian hand-off with a real log', () => {
  const ROOT = path.resolve(__dirname, '..');
  const brent = readCsvColumn(path.join(ROOT, 'data', 'brent-daily.csv'), 'Price').values;
  const prices = Float32Array.from(brent.subarray(brent.length - 512));
  const open: TiRexGuardian[] = [];
  afterAll(async () => {
    for (const g of open) await g.close();
  });

  for (const onHandoffFull of ['block', 'drop'] as const) {
    it(`${onHandoffFull}: a loop that never yields; every call is a record or counted in a gap entry, the chain verifies`, async () => {
      const key = 'h'.repeat(32);
      const g = new TiRexGuardian({ profile: 'staging', audit: { signingKey: key, durability: 'memory', handoffLimit: 50, onHandoffFull } });
      open.push(g);
      const ids: string[] = [];
      for (let i = 0; i < 180; i++) ids.push(g.safeForecast({ context: prices, predictionLength: 8, userId: 'loop' }).auditId!);
      await g.flushAudit();
      const lines = g.auditLog!.memoryLines();
      const records = lines.map((l) => JSON.parse(l)).filter((e) => e.type === 'record');
      const gaps = lines.map((l) => JSON.parse(l)).filter((e) => e.type === 'gap');
      const report = verifyAuditLines(lines, { signingKey: key });
      expect(report.ok).toBe(true);
      if (onHandoffFull === 'block') {
        expect(records.map((r) => r.inputStats.callId)).toEqual(ids);
        expect(gaps).toEqual([]);
      } else {
        expect(records.length).toBe(50);
        expect(records.map((r) => r.inputStats.callId)).toEqual(ids.slice(0, 50));
        expect(gaps.map((e) => [e.reason, e.dropped])).toEqual([['handoff-full', 130]]);
        expect(report.dropped).toBe(130);
        expect(g.stats().errors.TG_AUDIT_DROPPED).toBe(130);
      }
    });
  }

  it('bad hand-off options are typed errors at construction', () => {
    expect(() => new TiRexGuardian({ profile: 'staging', audit: { signingKey: 'h'.repeat(32), durability: 'memory', handoffLimit: -1 } })).toThrow(expect.objectContaining({ code: 'TG_INVALID_ARGUMENT' }));
  });
});
