/**
 * The CLI as a child process, the way tests run it: `node bin/tirex-guardian.js ...args` from the
 * repository root, in this process's environment without its TG_* settings (a developer's own
 * signing key or keys file would change what a test sees), except TG_ADDON_PATH (the sanitizer
 * run's build of the addon), plus what the test sets.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..');
export const BIN = path.join(ROOT, 'bin', 'tirex-guardian.js');

/** process.env without TG_* (but TG_ADDON_PATH), then `extra`. */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TG_') || k === 'TG_ADDON_PATH'));
  return { ...clean, ...extra };
}

export interface CliOptions {
  readonly cwd?: string;
  /** Added to cliEnv(). */
  readonly env?: NodeJS.ProcessEnv;
  /** Default 60 s (vitest's own timeout cannot interrupt a synchronous spawn). */
  readonly timeoutMs?: number;
}

export function runCli(args: readonly string[], opts: CliOptions = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, encoding: 'utf8', env: cliEnv(opts.env), timeout: opts.timeoutMs ?? 60_000 });
}
