// Runs test/fixtures/audit-kill-child.js (or another child printing the same acks) until it has acknowledged `killAfter` more records, then
// kills it with SIGKILL (30 s at most). Acknowledged seqs and hashes are added to `acked`.
import { spawn } from 'node:child_process';
import * as path from 'node:path';

const CHILD = path.join(__dirname, 'fixtures', 'audit-kill-child.js');

export async function killAfterAcks(
  childArgs: string[],
  killAfter: number,
  acked: Map<number, string>,
  child: string = CHILD,
): Promise<{ signal: NodeJS.Signals | null; stderr: string; newAcks: number }> {
  const proc = spawn(process.execPath, [child, ...childArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  const before = acked.size;
  let stderr = '';
  let buffered = '';
  let killed = false;
  const closed = new Promise<NodeJS.Signals | null>((resolve) => proc.on('close', (_code, signal) => resolve(signal)));
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  proc.stdout.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() as string;
    for (const l of lines) {
      const m = /^ack (\d+) ([0-9a-f]{64})$/.exec(l);
      if (m) acked.set(Number(m[1]), m[2] as string);
    }
    if (!killed && acked.size - before >= killAfter) {
      killed = true;
      proc.kill('SIGKILL');
    }
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
  const signal = await closed;
  clearTimeout(timer);
  return { signal, stderr, newAcks: acked.size - before };
}
