import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');
const SCRIPT = path.join(ROOT, 'scripts', 'check-no-pretend.js');

describe('no pretend code paths in lib/ or native/', () => {
  it('the shipped code passes the check', () => {
    const r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the check fails on a simulated path (run on a copy with one planted)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-pretend-'));
    fs.mkdirSync(path.join(dir, 'scripts'));
    fs.mkdirSync(path.join(dir, 'lib'));
    fs.mkdirSync(path.join(dir, 'native'));
    fs.copyFileSync(SCRIPT, path.join(dir, 'scripts', 'check-no-pretend.js'));
    fs.writeFileSync(path.join(dir, 'lib', 'x.ts'), 'export const ok = 1;\n// return a simulated forecast when the model is missing\n');
    const r = spawnSync(process.execPath, [path.join(dir, 'scripts', 'check-no-pretend.js')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('lib/x.ts:2: "simulated"');
  });
});
