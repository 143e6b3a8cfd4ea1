// The model manifest (lib/model/manifest.ts, models/manifest.schema.json): the fixture manifests
// load, and every schema violation and consistency rule throws TG_MANIFEST_INVALID naming the
// problem. Real files on disk for loadManifest, parsed objects for validateManifest.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadManifest, validateManifest } from '../lib/index';
import {
  FIXTURE_KINDS,
  manifestPath,
  MODELS,
  modelPath,
  rawManifest,
  sha256,
  thrown,
  tmpDir,
  writeManifest,
} from './model-fixtures';

/** The message of the TG_MANIFEST_INVALID error validateManifest throws for `m`. */
function invalid(m: unknown): string {
  const err = thrown(() => validateManifest(m, 'test-manifest'));
  expect(err.code, err.message).toBe('TG_MANIFEST_INVALID');
  expect(err.message).toContain('test-manifest is not a valid model manifest');
  return err.message;
}

/** The fixture manifest with one change applied. */
function mutated(change: (m: Record<string, any>) => void): Record<string, any> {
  const m = rawManifest('quantile-ok');
  change(m);
  return m;
}

describe('fixture manifests', () => {
  it.each(FIXTURE_KINDS)('%s.json loads and points at its model beside it', (kind) => {
    const m = loadManifest(manifestPath(kind));
    expect(m.name).toBe(`tg-fixture-${kind}`);
    expect(m.file).toBe(`${kind}.onnx`);
    expect(m.modelPath).toBe(modelPath(kind));
    expect(m.manifestPath).toBe(manifestPath(kind));
    expect(m.inputs).toEqual([{ name: 'context', dtype: 'float32', shape: ['batch', 'time'] }]);
    expect(m.outputs).toEqual([{ name: 'quantiles', dtype: 'float32', shape: ['batch', 32, 9] }]);
    expect(m.quantileLevels).toEqual([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]);
    expect(m.quantileLevels[m.medianIndex]).toBe(0.5);
    expect([m.patchLength, m.maxContext, m.minContext, m.maxHorizon]).toEqual([32, 2048, 3, 256]);
    // The manifest pins the bytes that are actually there.
    expect(m.sha256).toBe(sha256(fs.readFileSync(m.modelPath)));
  });

  it('resolves a relative manifest path to absolute paths', () => {
    const rel = path.relative(process.cwd(), manifestPath('quantile-ok'));
    expect(path.isAbsolute(rel)).toBe(false);
    const m = loadManifest(rel);
    expect(m.manifestPath).toBe(manifestPath('quantile-ok'));
    expect(m.modelPath).toBe(path.join(MODELS, 'quantile-ok.onnx'));
  });

  it('validateManifest returns a valid manifest unchanged', () => {
    const m = rawManifest('slow');
    expect(validateManifest(m)).toBe(m);
  });

  it('evaluation may be an object or left out', () => {
    expect(() => validateManifest(mutated((m) => (m.evaluation = { mase: 0.8 })))).not.toThrow();
    expect(() => validateManifest(mutated((m) => delete m.evaluation))).not.toThrow();
  });
});

describe('schema violations throw TG_MANIFEST_INVALID naming the problem', () => {
  const required = [
    'schemaVersion', 'name', 'version', 'file', 'sha256', 'inputs', 'outputs', 'quantileLevels', 'medianIndex',
    'patchLength', 'maxContext', 'minContext', 'maxHorizon', 'nanHandling', 'scaling', 'provenance',
  ];
  it.each(required)('missing %s', (field) => {
    const msg = invalid(mutated((m) => delete m[field]));
    expect(msg).toContain(`must have required property '${field}'`);
  });

  it('missing name of the input tensor', () => {
    expect(invalid(mutated((m) => delete m.inputs[0].name))).toMatch(/\/inputs\/0 must have required property 'name'/);
  });

  it.each([
    ['inputs', 'float64'],
    ['inputs', 'float16'],
    ['outputs', 'int64'],
  ])('wrong dtype in %s: %s', (which, dtype) => {
    const msg = invalid(mutated((m) => (m[which][0].dtype = dtype)));
    expect(msg).toMatch(new RegExp(`/${which}/0/dtype must be equal to constant`));
  });

  it.each([
    ['uppercase', '92AFF8973F3CDA4F863CC0ADD6F41556B97E8E91A51CC1C25D9CAF8BAF825D2F'],
    ['63 digits', '92aff8973f3cda4f863cc0add6f41556b97e8e91a51cc1c25d9caf8baf825d2'],
    ['65 digits', '92aff8973f3cda4f863cc0add6f41556b97e8e91a51cc1c25d9caf8baf825d2f0'],
    ['not hex', 'z2aff8973f3cda4f863cc0add6f41556b97e8e91a51cc1c25d9caf8baf825d2f'],
    ['prefixed', 'sha256:92aff8973f3cda4f863cc0add6f41556b97e8e91a51cc1c25d9caf8baf825d2f'],
  ])('bad sha256 (%s)', (_label, sha) => {
    expect(invalid(mutated((m) => (m.sha256 = sha)))).toMatch(/\/sha256 must match pattern/);
  });

  it.each(['models/quantile-ok.onnx', '../quantile-ok.onnx', '/etc/quantile-ok.onnx', 'sub\\quantile-ok.onnx', 'quantile-ok.bin'])(
    'file %s (a path, or not .onnx)',
    (file) => {
      expect(invalid(mutated((m) => (m.file = file)))).toMatch(/\/file must match pattern/);
    },
  );

  it('extra top-level property: refused, and the message names it', () => {
    const msg = invalid(mutated((m) => (m.checksum = 'abc')));
    expect(msg).toContain('must NOT have additional properties');
    // A user must be told WHICH property to remove.
    expect(msg).toContain('checksum');
  });

  it('extra property inside a tensor spec: refused, and the message names it', () => {
    const msg = invalid(mutated((m) => (m.outputs[0].layout = 'BTQ')));
    expect(msg).toMatch(/\/outputs\/0 must NOT have additional properties/);
    expect(msg).toContain('layout');
  });

  it.each([
    ['schemaVersion 2', (m: any) => (m.schemaVersion = 2), /\/schemaVersion must be equal to constant/],
    ['patchLength as a string', (m: any) => (m.patchLength = '32'), /\/patchLength must be integer/],
    ['maxContext 0', (m: any) => (m.maxContext = 0), /\/maxContext must be >= 1/],
    ['a level of 1', (m: any) => (m.quantileLevels[8] = 1), /\/quantileLevels\/8 must be < 1/],
    ['no levels', (m: any) => (m.quantileLevels = []), /\/quantileLevels must NOT have fewer than 1 items/],
    ['nanHandling drop', (m: any) => (m.nanHandling = 'drop'), /\/nanHandling must be equal to one of the allowed values/],
    ['a fixed input dimension', (m: any) => (m.inputs[0].shape = ['batch', 512]), /\/inputs\/0\/shape\/1 must be string/],
    ['a dynamic patch dimension', (m: any) => (m.outputs[0].shape = ['batch', 'patch', 9]), /\/outputs\/0\/shape\/1 must be integer/],
    ['two inputs', (m: any) => m.inputs.push({ ...m.inputs[0], name: 'mask' }), /\/inputs must NOT have more than 1 items/],
    ['provenance null', (m: any) => (m.provenance = null), /\/provenance must be object/],
  ])('%s', (_label, change, pattern) => {
    expect(invalid(mutated(change))).toMatch(pattern);
  });

  it('lists every schema problem, not just the first', () => {
    const msg = invalid(
      mutated((m) => {
        delete m.version;
        m.sha256 = 'nope';
        m.inputs[0].dtype = 'float64';
      }),
    );
    expect(msg).toContain("must have required property 'version'");
    expect(msg).toMatch(/\/sha256 must match pattern/);
    expect(msg).toMatch(/\/inputs\/0\/dtype must be equal to constant/);
  });

  it.each([
    ['null', null],
    ['an array', [rawManifest()]],
    ['a string', 'quantile-ok.onnx'],
  ])('a manifest that is %s', (_label, value) => {
    expect(invalid(value)).toContain('(root) must be object');
  });
});

describe('consistency rules throw TG_MANIFEST_INVALID naming the problem', () => {
  it('levels not increasing', () => {
    const msg = invalid(mutated((m) => (m.quantileLevels = [0.1, 0.2, 0.4, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9])));
    expect(msg).toContain('quantileLevels must increase strictly (index 3)');
  });

  it('repeated level', () => {
    const msg = invalid(mutated((m) => (m.quantileLevels = [0.1, 0.2, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])));
    expect(msg).toContain('quantileLevels must increase strictly (index 2)');
  });

  it('medianIndex not at 0.5', () => {
    expect(invalid(mutated((m) => (m.medianIndex = 3)))).toContain('medianIndex 3 must point at the level 0.5');
  });

  it('medianIndex past the last level', () => {
    expect(invalid(mutated((m) => (m.medianIndex = 9)))).toContain('medianIndex 9 must point at the level 0.5');
  });

  it('levels without 0.5', () => {
    const msg = invalid(mutated((m) => (m.quantileLevels = [0.1, 0.2, 0.3, 0.4, 0.55, 0.6, 0.7, 0.8, 0.9])));
    expect(msg).toContain('medianIndex 4 must point at the level 0.5');
  });

  it('output shape[1] != patchLength', () => {
    const msg = invalid(mutated((m) => (m.outputs[0].shape = ['batch', 16, 9])));
    expect(msg).toContain('outputs[0].shape[1] (16) must equal patchLength (32)');
  });

  it('patchLength != output shape[1]', () => {
    expect(invalid(mutated((m) => (m.patchLength = 64)))).toContain('outputs[0].shape[1] (32) must equal patchLength (64)');
  });

  it('output shape[2] != number of levels', () => {
    const msg = invalid(mutated((m) => (m.outputs[0].shape = ['batch', 32, 8])));
    expect(msg).toContain('outputs[0].shape[2] (8) must equal the number of quantile levels (9)');
  });

  it('minContext > maxContext', () => {
    const msg = invalid(mutated((m) => (m.minContext = 4096)));
    expect(msg).toContain('minContext (4096) must not exceed maxContext (2048)');
  });

  it('minContext == maxContext is allowed', () => {
    expect(() => validateManifest(mutated((m) => (m.minContext = 2048)))).not.toThrow();
  });

  it('lists every consistency problem at once', () => {
    const msg = invalid(
      mutated((m) => {
        m.medianIndex = 0;
        m.outputs[0].shape = ['batch', 31, 7];
        m.minContext = 5000;
      }),
    );
    for (const part of ['medianIndex 0', 'shape[1] (31)', 'shape[2] (7)', 'minContext (5000)']) expect(msg).toContain(part);
  });
});

describe('loadManifest on real files', () => {
  function loadFails(p: string): string {
    const err = thrown(() => loadManifest(p));
    expect(err.code, err.message).toBe('TG_MANIFEST_INVALID');
    return err.message;
  }

  it('a missing file', () => {
    const p = path.join(tmpDir(), 'absent.json');
    const msg = loadFails(p);
    expect(msg).toContain(`cannot read the manifest ${p}`);
    expect(msg).toContain('ENOENT');
  });

  it('a directory', () => {
    const dir = tmpDir();
    expect(loadFails(dir)).toContain('EISDIR');
  });

  it.each([
    ['truncated JSON', JSON.stringify(rawManifest()).slice(0, 200)],
    ['empty file', ''],
    ['YAML', 'schemaVersion: 1\nname: x\n'],
    ['binary', fs.readFileSync(modelPath('quantile-ok')).subarray(0, 64).toString('latin1')],
  ])('%s is not JSON', (_label, text) => {
    const p = writeManifest(text);
    expect(loadFails(p)).toContain(`${p} is not JSON`);
  });

  it('valid JSON that violates the schema names the file and the problem', () => {
    const m = rawManifest();
    m.dtype = 'float32';
    m.inputs[0].dtype = 'bfloat16';
    const p = writeManifest(m);
    const msg = loadFails(p);
    expect(msg).toContain(`${p} is not a valid model manifest`);
    expect(msg).toMatch(/\/inputs\/0\/dtype must be equal to constant/);
  });

  it('valid JSON that breaks a consistency rule names the file and the problem', () => {
    const m = rawManifest();
    m.minContext = 3000;
    const p = writeManifest(m);
    const msg = loadFails(p);
    expect(msg).toContain(`${p} is not a valid model manifest`);
    expect(msg).toContain('minContext (3000) must not exceed maxContext (2048)');
  });

  it('a valid manifest elsewhere resolves its model beside itself, not beside the fixtures', () => {
    const dir = tmpDir();
    const p = writeManifest(rawManifest(), dir);
    expect(loadManifest(p).modelPath).toBe(path.join(dir, 'quantile-ok.onnx'));
  });
});
