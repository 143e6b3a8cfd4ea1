/**
 * The models of the safety suite: the shipped default model, the fault-injection fixtures of
 * training/make_fixtures.py, and broken model files written at run time into a temporary
 * directory from the real fixtures (truncated, corrupted, rehashed, renamed, swapped, with
 * manifests that lie). Every file here is real bytes that ONNX Runtime and
 * the manifest loader see exactly as they would see a broken deployment.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { packageRoot } from '../native/addon';

export type FixtureName = 'quantile-ok' | 'emits-nan' | 'emits-inf' | 'crossing' | 'huge' | 'shape-mismatch' | 'slow';

export const FIXTURE_NAMES: readonly FixtureName[] = ['quantile-ok', 'emits-nan', 'emits-inf', 'crossing', 'huge', 'shape-mismatch', 'slow'];

/** Broken model files generated from the fixtures; the key is what a case names as its model. */
export const GENERATED_MODELS = {
  'truncated-pinned': 'quantile-ok.onnx cut in half; the manifest still pins the original sha256',
  'truncated-rehashed': 'quantile-ok.onnx cut in half; the manifest was regenerated for the cut bytes',
  'ten-bytes-rehashed': 'the first 10 bytes of quantile-ok.onnx, manifest regenerated',
  'empty-rehashed': 'an empty model file, manifest pins the sha256 of nothing',
  'random-rehashed': '4 KiB of pseudo-random bytes, manifest regenerated',
  'bitflip-header-rehashed': 'one byte flipped in the protobuf header, manifest regenerated',
  'bitflip-pinned': 'one byte flipped in the middle of the file; the manifest pins the original sha256',
  'weights-signflip-rehashed': 'the quantile offsets initializer with every sign bit flipped (levels reversed), manifest regenerated',
  'weights-eps-huge-rehashed': 'the scale epsilon initializer patched from 1e-5 to 1e30 (bands of +-1e30 around a sane median), manifest regenerated',
  'input-renamed': 'graph input renamed context -> contexx everywhere, manifest regenerated but still says context',
  'output-renamed': 'graph output renamed quantiles -> quantilex everywhere, manifest still says quantiles',
  'dangling-input': 'graph input renamed but not the node that reads it (an invalid graph), manifest regenerated',
  'manifest-patch16': 'manifest claims patchLength 16 and output [batch, 16, 9]; the graph returns 32 steps',
  'manifest-levels5': 'manifest claims 5 quantile levels; the graph returns 9',
  'manifest-input-rank3': 'manifest claims a rank-3 input',
  'manifest-not-json': 'the manifest is not JSON',
  'manifest-truncated-json': 'the manifest is cut in the middle',
  'manifest-missing-sha': 'the manifest has no sha256',
  'manifest-extra-property': 'the manifest has a property the schema does not know',
  'manifest-levels-unsorted': 'the manifest lists quantile levels out of order',
  'manifest-schema-v2': 'the manifest says schemaVersion 2',
  'manifest-uppercase-sha': 'the manifest pins the right sha256 in upper case',
  'model-file-missing': 'the manifest names a model file that does not exist',
  'manifest-missing': 'the manifest path does not exist',
  'manifest-is-directory': 'the manifest path is a directory',
  'swapped-crossing-rehashed': 'quantile-ok replaced by the crossing model, manifest regenerated (an attacker or a bad deploy)',
  'swapped-emits-nan-rehashed': 'quantile-ok replaced by the emits-nan model, manifest regenerated',
  'impute-manifest': 'quantile-ok whose manifest asks the library to impute NaN before the model',
} as const;

export type GeneratedModel = keyof typeof GENERATED_MODELS;

/** Where each model key's manifest lies, and the sha256 of the real quantile-ok model. */
export interface PreparedModels {
  dir: string;
  manifests: Map<string, string>;
  /** sha256 of quantile-ok.onnx (what a deployment pinned before it was tampered with). */
  originalSha256: string;
  /** Fixtures not found (an installed package ships no test fixtures). */
  missing: string[];
}

export function defaultManifestPath(): string {
  return path.join(packageRoot(), 'models', 'tirex-guardian-default.json');
}

export function defaultFixturesDir(): string {
  return path.join(packageRoot(), 'test', 'fixtures', 'models');
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Deterministic pseudo-random bytes (no crypto randomness: the suite is reproducible). */
function pseudoRandomBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}

function float32Bytes(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v, 0);
  return b;
}

/** Every occurrence of `needle` in `hay`. */
function occurrences(hay: Buffer, needle: Buffer): number[] {
  const at: number[] = [];
  let i = hay.indexOf(needle);
  while (i >= 0) {
    at.push(i);
    i = hay.indexOf(needle, i + 1);
  }
  return at;
}

/** The quantile-ok offsets initializer: 32 x 9 float32, sqrt(step/32) * z(level). */
function signFlipOffsets(model: Buffer): Buffer {
  // float32 arithmetic as numpy did it: fround(sqrt(1/32)) * fround(z), rounded once (exact in float64).
  const first = float32Bytes(Math.fround(Math.fround(Math.sqrt(1 / 32)) * Math.fround(-1.281552)));
  const at = occurrences(model, first);
  if (at.length !== 1) throw new Error(`safety suite: cannot locate the offsets initializer in quantile-ok.onnx (${at.length} matches)`);
  const out = Buffer.from(model);
  for (let k = 0; k < 32 * 9; k++) {
    const byte = at[0]! + 4 * k + 3;
    out[byte] = out[byte]! ^ 0x80;
  }
  return out;
}

function patchEps(model: Buffer): Buffer {
  const at = occurrences(model, float32Bytes(1e-5));
  if (at.length !== 1) throw new Error(`safety suite: cannot locate the eps initializer in quantile-ok.onnx (${at.length} matches)`);
  const out = Buffer.from(model);
  float32Bytes(1e30).copy(out, at[0]!);
  return out;
}

function renameAll(model: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('same-length renames only');
  return Buffer.from(model.toString('latin1').split(from).join(to), 'latin1');
}

function renameLast(model: Buffer, from: string, to: string): Buffer {
  const i = model.toString('latin1').lastIndexOf(from);
  const out = Buffer.from(model);
  out.write(to, i, 'latin1');
  return out;
}

/**
 * Writes the broken models into `dir` (created) from the fixtures in `fixturesDir` and returns
 * where every model key's manifest is. Keys: 'default', 'fixture:<name>', 'gen:<name>'.
 */
export function prepareModels(dir: string, fixturesDir = defaultFixturesDir(), defaultManifest = defaultManifestPath()): PreparedModels {
  const manifests = new Map<string, string>();
  const missing: string[] = [];
  manifests.set('default', defaultManifest);
  for (const name of FIXTURE_NAMES) {
    const p = path.join(fixturesDir, `${name}.json`);
    if (fs.existsSync(p)) manifests.set(`fixture:${name}`, p);
    else missing.push(`fixture:${name}`);
  }
  const okManifest = path.join(fixturesDir, 'quantile-ok.json');
  if (!fs.existsSync(okManifest)) {
    for (const k of Object.keys(GENERATED_MODELS)) missing.push(`gen:${k}`);
    return { dir, manifests, originalSha256: '', missing };
  }
  fs.mkdirSync(dir, { recursive: true });
  const base = JSON.parse(fs.readFileSync(okManifest, 'utf8')) as Record<string, unknown>;
  const ok = fs.readFileSync(path.join(fixturesDir, 'quantile-ok.onnx'));
  const other = (n: FixtureName): Buffer => fs.readFileSync(path.join(fixturesDir, `${n}.onnx`));
  const originalSha256 = sha256(ok);

  /** Writes <name>.onnx (when given) and <name>.json; `pin` 'rehash' pins the written bytes. */
  const write = (name: GeneratedModel, model: Buffer | null, patch: Record<string, unknown> = {}, pin: 'rehash' | 'original' = 'rehash'): void => {
    const file = `${name}.onnx`;
    if (model) fs.writeFileSync(path.join(dir, file), model);
    const m: Record<string, unknown> = { ...base, name: `safety-${name}`, file, sha256: pin === 'rehash' && model ? sha256(model) : originalSha256, ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete m[k];
    const manifest = path.join(dir, `${name}.json`);
    fs.writeFileSync(manifest, JSON.stringify(m, null, 2));
    manifests.set(`gen:${name}`, manifest);
  };
  const writeText = (name: GeneratedModel, text: string): void => {
    fs.writeFileSync(path.join(dir, `${name}.onnx`), ok);
    const manifest = path.join(dir, `${name}.json`);
    fs.writeFileSync(manifest, text);
    manifests.set(`gen:${name}`, manifest);
  };

  const half = ok.subarray(0, ok.length >> 1);
  write('truncated-pinned', half, {}, 'original');
  write('truncated-rehashed', half);
  write('ten-bytes-rehashed', ok.subarray(0, 10));
  write('empty-rehashed', Buffer.alloc(0));
  write('random-rehashed', pseudoRandomBytes(4096, 20260101));
  const flipped = (at: number): Buffer => {
    const b = Buffer.from(ok);
    b[at] = b[at]! ^ 0xff;
    return b;
  };
  write('bitflip-header-rehashed', flipped(1));
  write('bitflip-pinned', flipped(ok.length >> 1), {}, 'original');
  write('weights-signflip-rehashed', signFlipOffsets(ok));
  write('weights-eps-huge-rehashed', patchEps(ok));
  write('input-renamed', renameAll(ok, 'context', 'contexx'));
  write('output-renamed', renameAll(ok, 'quantiles', 'quantilex'));
  write('dangling-input', renameLast(ok, 'context', 'contexx'));
  write('manifest-patch16', Buffer.from(ok), { patchLength: 16, outputs: [{ name: 'quantiles', dtype: 'float32', shape: ['batch', 16, 9] }] });
  write('manifest-levels5', Buffer.from(ok), {
    quantileLevels: [0.1, 0.3, 0.5, 0.7, 0.9],
    medianIndex: 2,
    outputs: [{ name: 'quantiles', dtype: 'float32', shape: ['batch', 32, 5] }],
  });
  write('manifest-input-rank3', Buffer.from(ok), { inputs: [{ name: 'context', dtype: 'float32', shape: ['batch', 'time', 'feature'] }] });
  writeText('manifest-not-json', 'this is not a manifest\n');
  const full = JSON.stringify({ ...base, file: 'manifest-truncated-json.onnx', sha256: originalSha256 }, null, 2);
  writeText('manifest-truncated-json', full.slice(0, full.length >> 1));
  write('manifest-missing-sha', Buffer.from(ok), { sha256: undefined });
  write('manifest-extra-property', Buffer.from(ok), { trustMe: true });
  write('manifest-levels-unsorted', Buffer.from(ok), { quantileLevels: [0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.6, 0.8, 0.9] });
  write('manifest-schema-v2', Buffer.from(ok), { schemaVersion: 2 });
  write('manifest-uppercase-sha', Buffer.from(ok), { sha256: originalSha256.toUpperCase() });
  write('model-file-missing', null, { file: 'model-file-missing.onnx', sha256: originalSha256 });
  manifests.set('gen:manifest-missing', path.join(dir, 'no-such-manifest.json'));
  const asDir = path.join(dir, 'manifest-is-directory.json');
  fs.mkdirSync(asDir, { recursive: true });
  manifests.set('gen:manifest-is-directory', asDir);
  write('swapped-crossing-rehashed', other('crossing'));
  write('swapped-emits-nan-rehashed', other('emits-nan'));
  write('impute-manifest', Buffer.from(ok), { nanHandling: 'impute' });
  return { dir, manifests, originalSha256, missing };
}
