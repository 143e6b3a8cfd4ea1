// Audit log (dist/cjs/audit): the guardian's hand-off; the cost of append() (validation,
// canonical serialization with redaction, sha256 onto the chain, enqueue; no I/O) in 'none' mode
// (written without fsync) against a bare JSON.stringify + sha256 of the same record; the records/s
// sustained to disk in 'none' and 'fsync' (the default) for the guardian's own records and for
// richer synthetic ones (a producer that yields to the event loop and waits on acknowledgements
// only when 20,000 entries are pending); the fsync acknowledgement latency, one record in flight.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { emit, machine, measure, require } from '../harness.mjs';

const { AuditLog } = require('../dist/cjs/audit/index.js');
const { AuditHandoff } = require('../dist/cjs/audit/handoff.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-bench-audit-'));
const signingKey = 'bench-signing-key-0123456789abcdef!';
const hashCallerIds = { key: 'bench-caller-key-0123456789' };
const modelHash = createHash('sha256').update('model').digest('hex');

// What a guarded call leaves behind: scan statistics, two decisions, the model hash.
const records = Array.from({ length: 8 }, (_, i) => ({
  callerId: `desk-7/algo-${i % 3}`,
  status: i === 5 ? 'corrected' : 'ok',
  latencyUs: 42.5 + i,
  modelHash,
  inputStats: {
    length: 2048, nan: i, posInf: 0, negInf: 0, outOfBounds: 0, min: 98.125 - i, max: 104.75 + i, mean: 101.2,
    std: 1.31, longestNanRun: i > 0 ? 1 : 0, flatRun: 4, spike: 0.8, levelShift: 0.1, threat: 0.05 * i,
  },
  decisions: [
    { shield: 'input', action: 'pass', threat: 0.05 * i },
    { shield: 'output', action: i === 5 ? 'sort-quantiles' : 'pass', count: i === 5 ? 2 : 0 },
  ],
  fallback: null,
}));

// What the guardian writes for a forecast (lib/guardian/guardian.ts #recordInput), keys in the
// sorted order the guardian builds them in: the records the sustained target is about.
const guardianRecords = Array.from({ length: 8 }, (_, i) => ({
  callerId: `desk-${i % 3}`,
  status: i === 5 ? 'corrected' : 'ok',
  latencyUs: 171.234 + i, // the guardian rounds to the nanosecond
  modelHash,
  inputStats: {
    batch: 1,
    callId: `c${String(12345 + i).padStart(16, '0')}-abcdefabcdef`,
    horizon: 32,
    series: [{ inf: 0, max: 127.9800033569336 + i, min: 61.279998779296875, n: 2048, nan: 0, oob: 0, score: 0.0123 }],
    threat: 0.0123,
  },
  decisions: i === 5 ? [{ action: 'correct', clampedSteps: 0, crossedSteps: 2, implausibleSteps: 0, shield: 'output' }] : [],
  fallback: null,
}));

const yieldLoop = () => new Promise((r) => setImmediate(r));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
function summary(name, values, extra = {}) {
  const s = Float64Array.from(values).sort();
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { name, reps: 1, samples: s.length, meanNs: mean, p50Ns: pct(s, 0.5), p99Ns: pct(s, 0.99), ...extra };
}

// 1. The hand-off, one call per sample (hrtime around each call), 100 calls per event-loop turn
//    so that the batches are written meanwhile as they would be in a service.
async function handOff() {
  const log = await AuditLog.open({ file: path.join(dir, 'handoff.log'), durability: 'none', signingKey, hashCallerIds });
  for (let i = 0; i < 20_000; i++) {
    log.append(records[i & 7]);
    if ((i & 127) === 0) await yieldLoop();
  }
  const perCall = [];
  const timer = [];
  const blocks = [];
  for (let round = 0; round < 3000; round++) {
    for (let i = 0; i < 100; i++) {
      const t0 = process.hrtime.bigint();
      log.append(records[i & 7]);
      perCall.push(Number(process.hrtime.bigint() - t0));
    }
    if (round % 10 === 0) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < 100; i++) log.append(records[i & 7]);
      blocks.push(Number(process.hrtime.bigint() - t0) / 100);
      const t1 = process.hrtime.bigint();
      timer.push(Number(process.hrtime.bigint() - t1));
    }
    await yieldLoop();
  }
  const stats = await log.close();
  if (stats.dropped !== 0) throw new Error(`hand-off benchmark dropped ${stats.dropped} records: the figures would be meaningless`);
  return {
    perCall: summary("append, 'none' (one call per sample, timer included)", perCall),
    blocks: summary("append, 'none' (mean of 100-call blocks)", blocks),
    timer: summary('hrtime pair alone (timer overhead)', timer),
    bytesPerEntry: stats.bytes / stats.entries,
  };
}

// 1b. The guardian's hand-off (what safeForecast does for the audit trail on its own time): the
//     call id string, the small pending record the guardian leaves (references to the call's
//     assessments and decisions) and AuditHandoff.push; a real 'none' log appends the records
//     on the next tick. One call per sample (hrtime around it), 100 calls per event-loop turn.
async function guardianHandoff() {
  const log = await AuditLog.open({ file: path.join(dir, 'guardian-handoff.log'), durability: 'none', signingKey, hashCallerIds });
  const toRecord = (p) => ({
    callerId: p.callerId, status: p.status, latencyUs: p.latencyUs, modelHash,
    inputStats: { callId: p.callId, horizon: p.horizon, batch: p.batch, threat: p.threat.score, series: p.assessments.map((a) => ({ n: a.n, min: a.min, max: a.max })) },
    decisions: p.decisions, fallback: p.fallback, time: Math.round(p.t0 + 1.7e12),
  });
  const handoff = new AuditHandoff({ drain: (batch) => { for (const p of batch) log.append(toRecord(p)); } });
  const assessments = [{ n: 2048, min: 61.28, max: 127.98 }];
  const threat = { score: 0.012, decision: 'pass', signals: [] };
  let seq = 0;
  const prefix = 'abcdefabcdef';
  const push = () => {
    const t0 = performance.now();
    const callId = `c${String(++seq).padStart(16, '0')}-${prefix}`;
    handoff.push({ callId, t0, latencyUs: 170.5, callerId: 'desk-7', status: 'ok', horizon: 32, batch: 1, assessments, threat, decisions: [], fallback: null });
  };
  for (let i = 0; i < 20_000; i++) {
    push();
    if ((i & 127) === 0) await yieldLoop();
  }
  const perCall = [];
  for (let round = 0; round < 3000; round++) {
    for (let i = 0; i < 100; i++) {
      const t0 = process.hrtime.bigint();
      push();
      perCall.push(Number(process.hrtime.bigint() - t0));
    }
    await yieldLoop();
  }
  handoff.drain();
  const stats = await log.close();
  if (stats.dropped !== 0 || handoff.dropped !== 0) throw new Error('hand-off benchmark dropped records: the figures would be meaningless');
  return summary('guardian hand-off: call id + pending record + push (one call per sample, timer included)', perCall);
}

// 2. Sustained to disk: records/s from the first append to the last acknowledgement (flush),
//    and per 250 ms window (ns per record written).
async function sustained(durability, seconds, recs = records, label = 'rich records', segments = false) {
  const target = path.join(dir, `sustained-${durability}-${recs.length}-${label.length}-${segments}`);
  const where = segments ? { dir: target, segmentBytes: 16 * 2 ** 20 } : { file: `${target}.log` };
  const log = await AuditLog.open({ ...where, durability, signingKey, hashCallerIds });
  await log.flush();
  const done = durability === 'fsync' ? (s) => s.synced : (s) => s.written;
  const start = performance.now();
  const base = done(log.stats());
  let winStart = start;
  let winBase = base;
  const windows = [];
  let n = 0;
  let last = null;
  while (performance.now() - start < seconds * 1000) {
    for (let i = 0; i < 256; i++) last = log.append(recs[n++ & 7]);
    const s = log.stats();
    if (s.pending > 20_000) await last.durable();
    else await yieldLoop();
    const now = performance.now();
    if (now - winStart >= 250) {
      const w = done(log.stats()) - winBase;
      if (w > 0) windows.push(((now - winStart) * 1e6) / w);
      winStart = now;
      winBase = done(log.stats());
    }
  }
  await log.flush();
  const elapsed = (performance.now() - start) / 1000;
  const stats = await log.close();
  if (stats.dropped !== 0) throw new Error(`sustained ${durability} dropped ${stats.dropped} records`);
  const recordsPerS = n / elapsed;
  fs.rmSync(segments ? target : `${target}.log`, { force: true, recursive: true });
  return {
    task: summary(`sustained to disk, '${durability}', ${label} (ns per record, 250 ms windows)`, windows, { recordsPerS }),
    recordsPerS,
    batches: stats.batches,
    recordsPerBatch: stats.entries / stats.batches,
    mbPerS: stats.bytes / elapsed / 1e6,
  };
}

const bare = await measure('JSON.stringify + sha256 of the same record (baseline)', () => {
  createHash('sha256').update(JSON.stringify(records[3])).digest('hex');
}, { reps: 100 });
const h = await handOff();
const guardianPush = await guardianHandoff();
const batched = await sustained('none', 4);
const fsyncRun = await sustained('fsync', 4);
const guardianNone = await sustained('none', 4, guardianRecords, "the guardian's records");
const guardianFsync = await sustained('fsync', 4, guardianRecords, "the guardian's records");
const guardianSegments = await sustained('fsync', 4, guardianRecords, "the guardian's records, 16 MiB segments", true);

const ackLog = await AuditLog.open({ file: path.join(dir, 'ack.log'), durability: 'fsync', signingKey, hashCallerIds });
let k = 0;
const ack = await measure("'fsync' acknowledgement latency, one record in flight", () => ackLog.append(records[k++ & 7]).durable(), { time: 2000 });
await ackLog.close();
fs.rmSync(dir, { recursive: true, force: true });

emit({
  scenario: 'audit',
  machine: machine(),
  tasks: [guardianPush, h.perCall, h.blocks, h.timer, bare, guardianFsync.task, guardianSegments.task, guardianNone.task, fsyncRun.task, batched.task, ack],
  ratios: {
    appendBlockMeanVsBareStringifySha256: bare.meanNs / h.blocks.meanNs,
    sustainedNoneVsFsync: batched.recordsPerS / fsyncRun.recordsPerS,
  },
  figures: {
    "records per second sustained, 'fsync', the guardian's records, one file": guardianFsync.recordsPerS,
    "records per second sustained, 'fsync', the guardian's records, 16 MiB segments": guardianSegments.recordsPerS,
    "records per second sustained, 'none', the guardian's records": guardianNone.recordsPerS,
    "records per second sustained, 'fsync', rich records": fsyncRun.recordsPerS,
  },
  sustained: {
    guardianFsyncRecordsPerS: guardianFsync.recordsPerS,
    guardianNoneRecordsPerS: guardianNone.recordsPerS,
    guardianFsyncRecordsPerBatch: guardianFsync.recordsPerBatch,
    noneRecordsPerS: batched.recordsPerS,
    noneMBPerS: batched.mbPerS,
    noneRecordsPerBatch: batched.recordsPerBatch,
    fsyncRecordsPerS: fsyncRun.recordsPerS,
    fsyncMBPerS: fsyncRun.mbPerS,
    fsyncRecordsPerBatch: fsyncRun.recordsPerBatch,
    bytesPerEntry: h.bytesPerEntry,
  },
});
