// scripts/install.js, npm's install hook, on a platform with no prebuild and nothing to build one
// with: a typed message that names the platform, the platforms that have prebuilds and what to
// install; never a half-built package that fails later at require(). On macOS and Windows (not
// supported): a message that says so before anything is tried.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-install-'));
afterAll(() => fs.rmSync(TMP, { recursive: true, force: true }));

/** A package directory with the install script and no addon at all (no build/, no prebuilds/). */
function bareProject(): string {
  const dir = fs.mkdtempSync(path.join(TMP, 'pkg-'));
  fs.mkdirSync(path.join(dir, 'scripts'));
  fs.copyFileSync(path.join(ROOT, 'scripts', 'install.js'), path.join(dir, 'scripts', 'install.js'));
  fs.copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

describe('scripts/install.js without a prebuild', () => {
  it('with no compiler and no cmake on PATH: exit 1, naming the platform, the prebuilt ones and what to install', () => {
    const dir = bareProject();
    // PATH holds a directory with node and nothing else: no cmake, no compiler.
    const bin = fs.mkdtempSync(path.join(TMP, 'bin-'));
    fs.symlinkSync(process.execPath, path.join(bin, 'node'));
    const r = spawnSync(process.execPath, [path.join(dir, 'scripts', 'install.js')], { cwd: dir, encoding: 'utf8', env: { PATH: bin, HOME: TMP } });
    expect(r.status).toBe(1);
    const platform = `${process.platform}-${process.arch}`;
    expect(r.stderr).toContain(`no loadable prebuild or local build`);
    expect(r.stderr).toContain(`no loadable prebuilt addon for ${platform}`);
    expect(r.stderr).not.toContain('building from source');
    expect(r.stderr).toContain('the package ships them for linux-x64 (glibc) and linux-arm64 (glibc)');
    expect(r.stderr).toContain('cmake and a C++ compiler (c++, g++, clang++) not found on PATH');
    expect(r.stderr).toMatch(/Install cmake >= 3\.15, a C\+\+17 compiler and make \((Debian|apk)/);
    expect(fs.existsSync(path.join(dir, 'build'))).toBe(false);
  });

  for (const platform of ['darwin', 'win32'] as const) {
    it(`on ${platform}: exit 1 at once, naming the platform, saying Linux only and what to use instead`, () => {
      const dir = bareProject();
      // process.platform as Node reports it on that system, set before install.js runs.
      const preload = path.join(dir, 'as-platform.cjs');
      fs.writeFileSync(preload, `Object.defineProperty(process, 'platform', { value: ${JSON.stringify(platform)} });\n`);
      const r = spawnSync(process.execPath, ['--require', preload, path.join(dir, 'scripts', 'install.js')], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: TMP } });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`tirex-guardian runs on Linux only; this is ${platform}-${process.arch}, for which no addon is built or tested`);
      expect(r.stderr).toContain('Prebuilt: linux-x64 (glibc) and linux-arm64 (glibc); other Linux systems (musl, other architectures) build from source');
      expect(r.stderr).toContain('install Docker (or another Linux virtual machine) and run it in a Linux container');
      // Nothing tried: no load attempt, no build (cmake and g++ are on this PATH).
      expect(r.stderr).not.toContain('no loadable prebuild');
      expect(r.stderr).not.toContain('building from source');
      expect(fs.existsSync(path.join(dir, 'build'))).toBe(false);
    });
  }
});
