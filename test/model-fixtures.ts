/**
 * Helpers for the session, manifest and rollout suites: the fixture models of
 * training/make_fixtures.py, real broken copies of them in os.tmpdir(), deterministic contexts,
 * and child Node processes for what needs a fresh process (--expose-gc, RSS figures).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { expect } from 'vitest';

export const ROOT = path.resolve(__dirname, '..');
export const MODELS = path.join(ROOT, 'test', 'fixtures', 'models');
export const DIST = path.join(ROOT, 'dist', 'cjs', 'index.js');

export type FixtureKind = 'quantile-ok' | 'emits-nan' | 'emits-inf' | 'crossing' | 'huge' | 'shape-mismatch' | 'slow' | 'drifting';
export const FIXTURE_KINDS: FixtureKind[] = ['quantile-ok', 'emits-nan', 'emits-inf', 'crossing', 'huge', 'shape-mismatch', 'slow', 'drifting'];

/** The fixture contract (make_fixtures.py). */
export const PATCH = 32;
export const LEVELS = 9;
export const ROW_OUT = PATCH * LEVELS;
export const MAX_CONTEXT = 2048;
export const MIN_CONTEXT = 3;
export const MAX_HORIZON = 256;
export const MEDIAN_INDEX = 4;

export function manifestPath(kind: FixtureKind): string {
  return path.join(MODELS, `${kind}.json`);
}

export function modelPath(kind: FixtureKind): string {
  return path.join(MODELS, `${kind}.onnx`);
}

/** The parsed manifest JSON of a fixture (a fresh copy each call, free to mutate). */
export function rawManifest(kind: FixtureKind = 'quantile-ok'): Record<string, any> {
  return JSON.parse(fs.readFileSync(manifestPath(kind), 'utf8'));
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function tmpDir(prefix = 'tg-model-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/**
 * Writes `bytes` as <dir>/<file> and a manifest beside it (the fixture's, with `overrides`);
 * returns the manifest path. `sha: 'actual'` pins the written bytes' sha256, `'original'` keeps
 * the fixture's.
 */
export function writeModelCopy(
  bytes: Uint8Array,
  opts: { kind?: FixtureKind; sha: 'actual' | 'original'; overrides?: Record<string, unknown>; file?: string } ,
): string {
  const dir = tmpDir();
  const m = rawManifest(opts.kind ?? 'quantile-ok');
  const file = opts.file ?? (m.file as string);
  fs.writeFileSync(path.join(dir, file), bytes);
  Object.assign(m, { file }, opts.sha === 'actual' ? { sha256: sha256(bytes) } : {}, opts.overrides ?? {});
  const out = path.join(dir, 'model.json');
  fs.writeFileSync(out, JSON.stringify(m, null, 2));
  return out;
}

/** Writes a manifest object (any JSON) to a temp file and returns its path. */
export function writeManifest(value: unknown, dir = tmpDir('tg-manifest-')): string {
  const out = path.join(dir, 'model.json');
  fs.writeFileSync(out, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return out;
}

export { rng } from '../lib/safety/series';
import { rng } from '../lib/safety/series';

/** A [batch, time] context: a noisy random walk around 100 with a seasonal term, per row. */
export function context(batch: number, time: number, seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(batch * time);
  for (let b = 0; b < batch; b++) {
    let level = 100 + 10 * b;
    for (let t = 0; t < time; t++) {
      level += (r() - 0.5) * 2;
      out[b * time + t] = level + 3 * Math.sin((2 * Math.PI * t) / 24) + (r() - 0.5);
    }
  }
  return out;
}

/** The `b`-th row of a [batch, ...] array. */
export function rowOf(arr: Float32Array, batch: number, b: number): Float32Array {
  const n = arr.length / batch;
  return arr.subarray(b * n, (b + 1) * n);
}

export function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Byte equality with a short, useful failure message. */
export function expectBytesEqual(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length, `length of ${what}`).toBe(want.length);
  const x = bytesOf(got);
  const y = bytesOf(want);
  if (!x.equals(y)) {
    let i = 0;
    while (i < got.length && Object.is(got[i], want[i]) && x.readUInt32LE(i * 4) === y.readUInt32LE(i * 4)) i++;
    expect.fail(`${what}: float ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

/** The error thrown by fn (fails the test when nothing is thrown). */
/** What a call threw, with the fields our coded errors carry (fails the test when nothing was). */
export type Thrown = Error & { code?: string; ortCode?: string; cause?: unknown; auditId?: string; option?: unknown };

export function thrown(fn: () => unknown): Thrown {
  try {
    fn();
  } catch (err) {
    return err as Thrown;
  }
  return expect.fail('expected an error, nothing was thrown');
}

/** The rejection of p (fails the test when p resolves). */
export async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; ortCode?: string }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string; ortCode?: string };
  }
  return expect.fail('expected a rejection, the promise resolved');
}

export interface NodeResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

/** Runs a CommonJS script in a fresh Node process (cwd: the package root; DIST is `entry`). */
export function runNodeScript(code: string, args: string[] = [], timeoutMs = 45_000): NodeResult {
  const dir = tmpDir('tg-child-');
  const file = path.join(dir, 'child.js');
  fs.writeFileSync(file, `const entry = ${JSON.stringify(DIST)};\nconst MODELS = ${JSON.stringify(MODELS)};\n${code}`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [...args, file], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, wallMs: performance.now() - t0 };
}

/** The last line of a child's stdout, parsed as JSON. */
export function lastJson<T>(r: NodeResult): T {
  const lines = r.stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]!) as T;
  } catch {
    return expect.fail(`child did not print JSON (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
  }
}
