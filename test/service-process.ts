/** `tirex-guardian serve` as a child process, as an operator runs it: the CLI, a config file, TG_*
 * variables, signals. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { BIN, cliEnv } from './cli-run';
import { freePort } from './redis-server';


export interface ServeProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

export async function startServe(env: NodeJS.ProcessEnv, args: string[] = []): Promise<ServeProcess> {
  const port = await freePort();
  // Evidence (staging's and production's default: ./evidence) goes to a temporary directory, not the repository.
  const evidence = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-serve-evidence-'));
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: cliEnv({ TG_PORT: String(port), TG_LOG_LEVEL: 'warn', TG_EVIDENCE_DIR: evidence, ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`serve exited ${child.exitCode}: ${out}`);
    try {
      if ((await fetch(`${url}/health/startup`)).status === 200) return { child, url, output: () => out, exited };
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`serve did not start: ${out}`);
}
