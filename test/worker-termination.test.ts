/**
 * Worker threads terminated with async runs in flight (issue 10, finding 2), in a fresh process.
 *
 * Node dlcloses the addons of a worker's environment when the worker ends. When the last worker
 * that loaded the addon goes, its code would be unmapped while one of its threads still lives:
 * the run-deadline watchdog is a detached thread that sleeps in addon code until the earliest
 * deadline, and wakes up to a return address in no mapped library (SIGSEGV). The addon is linked
 * with `-z nodelete` (CMakeLists.txt, binding.gyp), so its code stays for the life of the process.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

import { describe, expect, it } from 'vitest';

import { addonFile } from '../lib/native/addon';
import { lastJson, runNodeScript } from './model-fixtures';

// The deadlines must outlive the in-flight runs (the slow fixture takes about a second, more on
// a loaded machine) so that the watchdog is still asleep on one when the workers are gone; spread
// out so one of them falls after the last worker's teardown even when runs are slow.
const TIMEOUTS_MS = [3000, 4500, 6000, 7500];

const CHILD = `
const path = require('node:path');
const fs = require('node:fs');
const { Worker } = require('node:worker_threads');
const TIMEOUTS = ${JSON.stringify(TIMEOUTS_MS)};
const t0 = performance.now();
const mapped = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\\n').some((l) => l.endsWith('.node'));
const code = \`
  const { parentPort, workerData } = require('node:worker_threads');
  const lib = require(workerData.entry);
  const s = lib.ModelSession.load(workerData.manifest);
  for (const timeoutMs of workerData.timeouts) {
    s.run(new Float32Array(300).map((_, i) => 50 + Math.sin(i)), 1, { timeoutMs }).catch(() => {});
  }
  parentPort.postMessage('started');
\`;
// The main thread does not touch the addon until the workers are gone: they hold its only loads.
const exits = [];
for (let w = 0; w < 3; w++) {
  const worker = new Worker(code, { eval: true, workerData: { entry, manifest: path.join(MODELS, 'slow.json'), timeouts: TIMEOUTS } });
  worker.once('message', () => setTimeout(() => worker.terminate(), 100));
  exits.push(new Promise((resolve) => worker.once('exit', resolve)));
}
Promise.all(exits).then(() => {
  const gone = performance.now() - t0;
  const stillMapped = mapped();
  // Keep the process busy past the last deadline (any watchdog wake-up), then use the library.
  const wait = Math.max(500, TIMEOUTS[TIMEOUTS.length - 1] + 1000 - gone);
  setTimeout(() => {
    const lib = require(entry);
    const s = lib.ModelSession.load(path.join(MODELS, 'quantile-ok.json'));
    const q = s.runSync(new Float32Array(100).map((_, i) => 10 + (i % 7)));
    s.close();
    console.log(JSON.stringify({ survived: true, finite: q.every(Number.isFinite), workersGoneMs: Math.round(gone), stillMapped }));
  }, wait);
});
`;

/** DT_FLAGS_1 of an ELF64 little-endian shared object, or null when it has none. */
function elfFlags1(file: string): bigint | null {
  const b = fs.readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) throw new Error(`${file} is not an ELF64 LE object`);
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (b.readUInt32LE(ph) !== 2) continue; // PT_DYNAMIC
    const off = Number(b.readBigUInt64LE(ph + 8));
    const size = Number(b.readBigUInt64LE(ph + 32));
    for (let d = off; d + 16 <= off + size; d += 16) {
      const tag = b.readBigInt64LE(d);
      if (tag === 0n) break;
      if (tag === 0x6ffffffbn) return b.readBigUInt64LE(d + 8); // DT_FLAGS_1
    }
  }
  return null;
}

describe('a worker terminated with timed runs in flight (fresh process)', () => {
  it('the addon is linked NODELETE: Node cannot unmap it under a running thread', () => {
    const file = addonFile();
    const DF_1_NODELETE = 0x8n;
    expect(((elfFlags1(file) ?? 0n) & DF_1_NODELETE) !== 0n, `${file} lacks DF_1_NODELETE`).toBe(true);
    try {
      // The same check with binutils, where it is installed.
      expect(execFileSync('readelf', ['-d', file], { encoding: 'utf8' })).toMatch(/FLAGS_1.*NODELETE/);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  });

  it('three workers, four timed runs each on the slow model, terminated after 100 ms: the process lives on and exits 0', () => {
    const r = runNodeScript(CHILD, [], 50_000);
    expect(r.signal, r.stderr).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const res = lastJson<{ survived: boolean; finite: boolean; workersGoneMs: number; stillMapped: boolean }>(r);
    expect(res).toMatchObject({ survived: true, finite: true });
    console.log(`workers gone after ${res.workersGoneMs} ms; addon still mapped then: ${res.stillMapped}`);
  });
});
