/**
 * The command line: `tirex-guardian info` (runtime, providers, CPU path) and
 * `tirex-guardian scan <csv> [--column NAME] [--lo X] [--hi Y]` (the input shield's statistics
 * of one series). `forecast` arrives with the guardian.
 */
import { readCsvColumn } from './data/csv';
import { cpuFeatures } from './kernels/cpu';
import { scan } from './kernels/scan';
import { runtimeInfo } from './native/runtime';

const USAGE = `usage:
  tirex-guardian info
  tirex-guardian scan <file.csv> [--column NAME|INDEX] [--lo X] [--hi Y] [--json]`;

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
}

function numberFlag(args: string[], name: string, fallback: number): number {
  const raw = flag(args, name);
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (Number.isNaN(v)) throw new Error(`--${name} must be a number, got ${raw}`);
  return v;
}

export function main(argv: string[]): number {
  const [command, ...args] = argv;
  if (command === 'info') {
    const info = { runtime: runtimeInfo(), cpu: cpuFeatures(), node: process.version, napi: process.versions.napi };
    process.stdout.write(JSON.stringify(info, null, 2) + '\n');
    return 0;
  }
  if (command === 'scan' && args[0] && !args[0].startsWith('--')) {
    const col = readCsvColumn(args[0], flag(args, 'column'));
    const stats = scan(col.values, { lo: numberFlag(args, 'lo', -Infinity), hi: numberFlag(args, 'hi', Infinity) });
    const report = { file: args[0], column: col.name, rows: col.values.length, missingCells: col.missing, stats };
    if (args.includes('--json')) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else {
      process.stdout.write(`${report.file} [${report.column}]: ${report.rows} rows, ${report.missingCells} missing cells\n`);
      for (const [k, v] of Object.entries(stats)) process.stdout.write(`  ${k.padEnd(18)} ${v}\n`);
    }
    return 0;
  }
  process.stderr.write(`${USAGE}\n`);
  return command === undefined || command === '--help' || command === 'help' ? 0 : 2;
}
