/**
 * `tirex-guardian evidence verify <dir>`: the run audit's chain checked line by line (stored
 * form, hash, seq, prevHash) across its day files, and every artifact it names checked against
 * the sha256 it recorded. Exit 0 when all of it holds, 1 otherwise (each problem listed).
 */
import * as fs from 'node:fs';

import type { CommandFlags } from '../service/keys-command';
import { verifyRunAudit } from './run-audit';

export function evidenceVerifyCommand(f: CommandFlags, dir: string): number {
  if (!fs.existsSync(dir)) throw f.error(`${dir} does not exist`);
  const r = verifyRunAudit(dir);
  if (f.has('json')) {
    process.stdout.write(`${JSON.stringify({ ok: r.ok, lines: r.lines, problems: r.problems })}\n`);
  } else {
    const artifacts = r.entries.filter((e) => e.artifact !== null).length;
    process.stdout.write(r.ok ? `ok: ${r.lines} run audit lines chained, ${artifacts} artifacts match their recorded sha256\n` : `FAILED: ${r.problems.length} problem(s) in ${dir}\n`);
    for (const p of r.problems) process.stdout.write(`  ${p.file} line ${p.line}: ${p.problem}\n`);
  }
  return r.ok ? 0 : 1;
}
