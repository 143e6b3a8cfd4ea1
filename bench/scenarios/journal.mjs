// The forecast journal (issue 17, lib/journal): (1) what journaling a forecast costs the caller's
// thread, the copies the guardian makes (quantiles [32 x 9], the context's last 65 points) and
// the hand-off push, one call per sample, 100 per event-loop turn so the entries are encoded and
// written meanwhile, against the audit trail's own hand-off push in the same run (target: <= 1
// µs); (2) scoring 1M journaled forecasts (horizon 1, 9 levels, 100 instruments) against their
// outcomes from the files, against the floor of any scorer that reads them: the same lines read
// and JSON.parse'd, nothing else (target: <= 2 s).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { emit, machine, require } from '../harness.mjs';

const { ForecastJournal } = require('../dist/cjs/journal/journal.js');
const { scoreJournal, readOutcomes } = require('../dist/cjs/journal/score.js');
const { ForecastScorer, forecastFilter } = require('../dist/cjs/journal/scorer.js');
const { forEachLine, forEachEntry } = require('../dist/cjs/journal/read.js');
const { listSegments } = require('../dist/cjs/audit/segments.js');
const { AuditHandoff } = require('../dist/cjs/audit/handoff.js');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-bench-journal-'));
const signingKey = 'bench-journal-signing-key-0123456789!';
const LEVELS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
const modelHash = 'ab'.repeat(32);
const yieldLoop = () => new Promise((r) => setImmediate(r));
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
function summary(name, values, extra = {}) {
  const s = Float64Array.from(values).sort();
  return { name, reps: 1, samples: s.length, meanNs: s.reduce((a, b) => a + b, 0) / s.length, p50Ns: pct(s, 0.5), p99Ns: pct(s, 0.99), ...extra };
}

// 1. The hand-off. A served result's quantiles and the model's tensor row, as the guardian holds them.
const quantiles = Float32Array.from({ length: 32 * 9 }, (_, i) => 100 + i / 10);
const row = Float32Array.from({ length: 2048 }, (_, i) => 100 + Math.sin(i / 5));
async function handOff() {
  const journal = ForecastJournal.open({ dir: path.join(dir, 'handoff'), signingKey, durability: 'none' });
  const sink = [];
  const audit = new AuditHandoff({ drain: (b) => sink.push(b.length) });
  const journalNs = [];
  const auditNs = [];
  let origin = 0;
  const one = () => {
    const t0 = process.hrtime.bigint();
    journal.recordForecast({
      instrument: 'EURUSD', origin: origin++, horizon: 32, levels: LEVELS, quantiles, context: row,
      status: 'ok', source: 'model', modelHash, fallback: null, auditId: 'c0000000000012345-abcdefabcdef',
    });
    return Number(process.hrtime.bigint() - t0);
  };
  const base = () => {
    const t0 = process.hrtime.bigint();
    audit.push({ callId: 'c0000000000012345-abcdefabcdef', t0: 1, latencyUs: 171.2, callerId: 'desk-1', status: 'ok', horizon: 32, batch: 1, inputs: null, series: null, threatScore: 0, decisions: [], fallback: null });
    return Number(process.hrtime.bigint() - t0);
  };
  for (let i = 0; i < 5000; i++) {
    one();
    base();
    if (i % 100 === 99) await yieldLoop();
  }
  for (let round = 0; round < 2000; round++) {
    for (let i = 0; i < 100; i++) {
      journalNs.push(one());
      auditNs.push(base());
    }
    await yieldLoop();
  }
  await journal.close();
  return [summary('journal a forecast: copies (quantiles 32x9, context tail 65) into the slab + hand-off push', journalNs), summary('baseline: the audit trail hand-off push of one call', auditNs)];
}

// 2. Scoring 1M forecasts from the files.
const N = 1_000_000;
const INSTRUMENTS = 100;
async function scoring() {
  const jdir = path.join(dir, 'score');
  const journal = ForecastJournal.open({ dir: jdir, signingKey, durability: 'none', handoffLimit: 1 << 16 });
  const perInstrument = N / INSTRUMENTS;
  const T0 = Date.UTC(2026, 0, 1);
  const q = new Float32Array(9);
  const tail = Float32Array.from({ length: 65 }, (_, i) => 100 + Math.sin(i));
  for (let t = 0; t < perInstrument; t++) {
    for (let k = 0; k < INSTRUMENTS; k++) {
      const level = 100 + k + Math.sin(t / 50);
      for (let j = 0; j < 9; j++) q[j] = level + (j - 4) * 0.3;
      journal.recordForecast({ instrument: `I${k}`, origin: T0 + t * 60_000, horizon: 1, levels: LEVELS, quantiles: q, context: tail, status: 'ok', source: 'model', modelHash, fallback: null, auditId: `c${t}-${k}` });
    }
    if (t % 50 === 0) {
      journal.drain();
      await journal.flush();
    }
  }
  journal.drain();
  for (let t = 0; t <= perInstrument; t++) {
    for (let k = 0; k < INSTRUMENTS; k++) journal.recordOutcome(`I${k}`, T0 + t * 60_000, 100 + k + Math.sin(t / 50) + 0.1 * Math.cos(t));
    if (t % 50 === 0) await journal.flush();
  }
  if (journal.stats().dropped > 0 || journal.log.stats().dropped > 0) throw new Error('the journal dropped entries');
  await journal.close();
  const bytes = listSegments(jdir).reduce((s, f) => s + fs.statSync(f.path).size, 0);
  const runs = [];
  const floors = [];
  const cores = [];
  const fields = [];
  forEachEntry(jdir, 'forecast', (e) => fields.push(e));
  const { series } = readOutcomes(jdir, null);
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    const scorer = new ForecastScorer(series, forecastFilter({}));
    for (const e of fields) scorer.add(e);
    cores.push((performance.now() - t0) * 1e6);
    if (scorer.tally.scored !== N) throw new Error(`core scored ${scorer.tally.scored}`);
  }
  fields.length = 0;
  for (let r = 0; r < 3; r++) {
    let t0 = performance.now();
    let parsed = 0;
    for (const seg of listSegments(jdir)) forEachLine(seg.path, (line) => (parsed += JSON.parse(line).seq >= 0 ? 1 : 0));
    floors.push((performance.now() - t0) * 1e6);
    t0 = performance.now();
    const report = scoreJournal(jdir);
    runs.push((performance.now() - t0) * 1e6);
    if (report.counts.scored !== N) throw new Error(`scored ${report.counts.scored}, expected ${N}`);
    if (parsed < 2 * N) throw new Error('short read');
  }
  return {
    tasks: [
      summary(`scoring core: ${N} forecasts already read (${INSTRUMENTS} instruments, horizon 1): join, model and naive metrics`, cores),
      summary(`score ${N} journaled forecasts end to end from the files (two passes)`, runs),
      summary('floor: read and JSON.parse every line of the same files', floors),
    ],
    bytes,
  };
}

const [journal, audit] = await handOff();
const { tasks, bytes } = await scoring();
fs.rmSync(dir, { recursive: true, force: true });
emit({
  scenario: 'journal',
  machine: machine(),
  tasks: [journal, audit, ...tasks],
  ratios: { handoffVsAuditHandoff: journal.p50Ns / audit.p50Ns, scoreVsParseFloor: tasks[1].p50Ns / tasks[2].p50Ns },
  figures: { handoffP50Ns: journal.p50Ns, handoffP99Ns: journal.p99Ns, scoreCore1MMs: tasks[0].p50Ns / 1e6, score1MFromFilesMs: tasks[1].p50Ns / 1e6, journalMiB: bytes / 2 ** 20 },
});
