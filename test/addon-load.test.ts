// Loading: the addon in worker threads (per-thread settings), the ONNX Runtime library and its
// failures with real broken files, both module formats, and the loader's advice when the addon
// is missing.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';

import { describe, expect, it } from 'vitest';

import { cpuFeatures, runtimeInfo, scan, setSimd } from '../lib/index';

const ROOT = path.resolve(__dirname, '..');

// Runs a CommonJS snippet in a fresh Node process (ONNX Runtime is loaded once per process).
function runNode(code: string, env: Record<string, string> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['-e', code], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ONNX Runtime library', () => {
  it('loads the library onnxruntime-node ships and reports version and providers', () => {
    const info = runtimeInfo();
    expect(info.version).toMatch(/^1\.\d+\.\d+/);
    expect(Number(info.version.split('.')[1])).toBeGreaterThanOrEqual(21);
    expect(info.apiVersion).toBe(21);
    expect(info.providers).toContain('CPUExecutionProvider');
    expect(fs.existsSync(info.path)).toBe(true);
    expect(runtimeInfo()).toEqual(info);
  });

  it('refuses a file that is not a shared library, with TG_ORT_LOAD_FAILED', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-ort-'));
    fs.writeFileSync(path.join(dir, 'libonnxruntime.so.1'), 'this is not an ELF file');
    const r = runNode(
      "try { require('./dist/cjs/index.js').runtimeInfo(); console.log('LOADED') } catch (e) { console.log(e.code + ' ' + e.message) }",
      { ORT_LIB_DIR: dir },
    );
    expect(r.stdout).toMatch(/^TG_ORT_LOAD_FAILED .*libonnxruntime\.so\.1/);
  });

  it('refuses a real shared library that is not ONNX Runtime', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-ort-'));
    const libm = ['/lib/x86_64-linux-gnu/libm.so.6', '/usr/lib/x86_64-linux-gnu/libm.so.6', '/lib64/libm.so.6'].find((p) =>
      fs.existsSync(p),
    );
    expect(libm).toBeDefined();
    fs.copyFileSync(libm!, path.join(dir, 'libonnxruntime.so.1'));
    const r = runNode(
      "try { require('./dist/cjs/index.js').runtimeInfo(); console.log('LOADED') } catch (e) { console.log(e.code + ' ' + e.message) }",
      { ORT_LIB_DIR: dir },
    );
    expect(r.stdout).toMatch(/^TG_ORT_LOAD_FAILED .*OrtGetApiBase/);
  });
});

describe('worker threads', () => {
  it('each thread gets its own addon instance and kernel settings', async () => {
    const x = new Float32Array(1000).map((_, i) => Math.sin(i) * 10 + 50);
    x[17] = NaN;
    const expected = scan(x, { lo: 45, hi: 55 });
    const before = cpuFeatures().simd;
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      const lib = require(workerData.entry);
      lib.setSimd(false);
      const stats = lib.scan(workerData.x, { lo: 45, hi: 55 });
      parentPort.postMessage({ stats, simd: lib.cpuFeatures().simd });
    `;
    const results = await Promise.all(
      [0, 1, 2].map(
        () =>
          new Promise<{ stats: unknown; simd: boolean }>((resolve, reject) => {
            const w = new Worker(code, { eval: true, workerData: { entry: path.join(ROOT, 'dist/cjs/index.js'), x } });
            w.once('message', resolve);
            w.once('error', reject);
          }),
      ),
    );
    for (const r of results) {
      expect(r.simd).toBe(false);
      expect(r.stats).toEqual(expected);
    }
    // The workers switched their own kernels to scalar; this thread's setting is untouched.
    expect(cpuFeatures().simd).toBe(before);
  });

  it('setSimd switches this thread only and reports the previous setting', () => {
    const had = cpuFeatures();
    if (!had.avx2) {
      expect(() => setSimd(true)).toThrow(expect.objectContaining({ code: 'TG_OUT_OF_RANGE' }));
      return;
    }
    expect(setSimd(false)).toBe(had.simd);
    expect(cpuFeatures().simd).toBe(false);
    expect(setSimd(true)).toBe(false);
    expect(cpuFeatures().simd).toBe(true);
  });
});

describe('module formats and the loader', () => {
  it('ESM and CommonJS entries expose the same API', () => {
    const esm = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "import * as m from 'tirex-guardian'; console.log(JSON.stringify(Object.keys(m).sort()))"],
      { cwd: ROOT, encoding: 'utf8' },
    );
    const cjs = execFileSync(
      process.execPath,
      ['-e', "console.log(JSON.stringify(Object.keys(require('tirex-guardian')).filter(k => k !== '__esModule').sort()))"],
      { cwd: ROOT, encoding: 'utf8' },
    );
    const esmNames = (JSON.parse(esm) as string[]).filter((k) => k !== 'default');
    expect(esmNames).toEqual(JSON.parse(cjs));
    expect(esmNames).toContain('scan');
  });

  it('says what to do when the native addon is missing', () => {
    // A copy of the package without build/ or prebuilds/: the loader must fail with advice.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-noaddon-'));
    fs.cpSync(path.join(ROOT, 'dist'), path.join(dir, 'dist'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    const r = spawnSync(
      process.execPath,
      ['-e', "try { require('./dist/cjs/index.js').scan(new Float32Array(4)) } catch (e) { console.log(e.code); console.log(e.message) }"],
      // Without the override (npm run test:sanitize sets it): this copy must find no addon.
      { cwd: dir, encoding: 'utf8', env: { ...process.env, TG_ADDON_PATH: '' } },
    );
    expect(r.stdout).toMatch(/^TG_ADDON_LOAD_FAILED/);
    expect(r.stdout).toContain('npm rebuild tirex-guardian');
    expect(r.stdout).toContain(path.join(dir, 'build', 'Release'));
    expect(r.stdout).toContain('ORT_INCLUDE_DIR');
  });
});
