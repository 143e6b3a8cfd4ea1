// The security preflight of this package's own tree from the offline database (issue 16,
// lib/security/preflight.ts: the installed packages walked, the lockfile compared, `npm ls --all`
// as a child process, 638 advisories loaded and matched, the running Node.js checked), against
// `npm ls --all --json` alone, its largest part, in the same run. Target: at most 2 s.
import { execFileSync } from 'node:child_process';

import { emit, machine, measure, require } from '../harness.mjs';

const { runPreflightSync } = require('../dist/cjs/security/preflight.js');

const first = runPreflightSync({ projectDir: process.cwd() });
if (first.decision !== 'pass') throw new Error(`the preflight of this tree did not pass: ${first.remedies.join('; ')}`);
const preflight = await measure('runPreflightSync of this package (offline database, npm ls, lockfile, Node.js)', () => runPreflightSync({ projectDir: process.cwd() }), { time: 15_000, warmupTime: 0 });
const npmLs = await measure('npm ls --all --json alone', () => execFileSync('npm', ['ls', '--all', '--json'], { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 256 << 20 }), { time: 15_000, warmupTime: 0 });
emit({
  scenario: 'preflight-offline',
  machine: machine(),
  tasks: [preflight, npmLs],
  ratios: { preflightVsNpmLs: preflight.p50Ns / npmLs.p50Ns },
  figures: { preflightMs: preflight.p50Ns / 1e6, packages: first.packages, advisories: first.sources[0].advisories },
});
