// The command line refuses what it cannot honour: a flag without its value, an unknown or misspelt
// flag, an unknown profile, a malformed number, a stray argument. Each is a usage error: exit 2,
// the problem and the subcommand's usage line on stderr, nothing run (issue 10, finding 12).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';
import { runCli } from './cli-run';

const ROOT = path.resolve(__dirname, '..');
const BRENT = path.join(ROOT, 'data', 'brent-daily.csv');
const MODEL = path.join(ROOT, 'models', 'tirex-guardian-default.json');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-cli-flags-'));
const LOG = path.join(TMP, 'audit.log');
const KEY = path.join(TMP, 'key.txt');
fs.writeFileSync(KEY, 'f'.repeat(48));
fs.writeFileSync(LOG, '');

const cli = (...args: string[]) => runCli(args);

/** A usage error: exit 2, the reason, and the usage line of `command` on stderr, no output. */
function expectUsageError(args: string[], command: string, reason: RegExp): void {
  const r = cli(...args);
  expect(r.status, `${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toBe(2);
  expect(r.stderr).toMatch(reason);
  expect(r.stderr).toContain(`usage: tirex-guardian ${command}`);
  expect(r.stdout).toBe('');
}

describe('forecast', () => {
  const base = ['forecast', BRENT, '--column', 'Price'];
  it.each([
    ['a flag without its value at the end', [...base, '--horizon'], /--horizon.*(missing|needs a value)/],
    ['a flag followed by another flag', ['forecast', BRENT, '--horizon', '--column', 'Price'], /--horizon.*(needs a value|ambiguous)/],
    ['a misspelt flag', [...base, '--horizn', '5'], /unknown (flag|option).*--horizn/],
    ['an unknown profile', [...base, '--profile', 'prod'], /--profile.*production, staging, development|--profile.*development, staging, production/],
    ['a profile in the wrong case', [...base, '--profile', 'Production'], /--profile/],
    ['a horizon that is not a number', [...base, '--horizon', 'abc'], /--horizon.*integer/],
    ['a negative horizon', [...base, '--horizon', '-1'], /--horizon.*integer/],
    ['an infinite horizon', [...base, '--horizon', '1e999'], /--horizon.*integer/],
    ['a fractional horizon', [...base, '--horizon', '2.5'], /--horizon.*integer/],
    ['a zero horizon', [...base, '--horizon', '0'], /--horizon.*integer/],
    ['the same flag twice', [...base, '--horizon', '4', '--horizon', '8'], /--horizon.*more than once/],
    ['a second file', [...base, BRENT], /unexpected argument/],
    ['no file', ['forecast', '--column', 'Price'], /file/],
    ['a value given to a switch', [...base, '--json=yes'], /--json/],
  ])('refuses %s', (_, args, reason) => expectUsageError(args as string[], 'forecast', reason as RegExp));

  it('refuses an audit file it could only sign with a throw-away key', () => {
    const r = runCli([...base, '--audit-file', path.join(TMP, 'unsigned.log')], { env: { TG_AUDIT_SIGNING_KEY: '' } });
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toContain('--signing-key-file');
    expect(r.stderr).toContain('usage: tirex-guardian forecast');
    expect(fs.existsSync(path.join(TMP, 'unsigned.log'))).toBe(false);
  });
});

describe('scan', () => {
  it.each([
    ['a flag without its value', ['scan', BRENT, '--column'], /--column/],
    ['a misspelt flag', ['scan', BRENT, '--colum', 'Price'], /unknown (flag|option).*--colum/],
    ['a bound that is not a number', ['scan', BRENT, '--lo', 'zero'], /--lo.*number/],
    ['a bound that overflows', ['scan', BRENT, '--hi', '1e999'], /--hi.*number/],
    ['bounds in the wrong order', ['scan', BRENT, '--lo', '10', '--hi', '1'], /--lo.*--hi/],
  ])('refuses %s', (_, args, reason) => expectUsageError(args as string[], 'scan', reason as RegExp));

  it('still reads a negative bound given as the next argument', () => {
    const r = cli('scan', BRENT, '--column', 'Price', '--lo', '-5', '--hi', '100', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).stats.outOfBoundsCount).toBeGreaterThan(0);
  });
});

describe('evaluate', () => {
  it.each([
    ['a flag without its value', ['evaluate', MODEL, '--origins'], /--origins/],
    ['a misspelt flag', ['evaluate', MODEL, '--horizn', '8'], /unknown (flag|option).*--horizn/],
    ['a negative horizon', ['evaluate', MODEL, '--horizon', '-1'], /--horizon.*integer/],
    ['an overflowing origin count', ['evaluate', MODEL, '--origins', '1e999'], /--origins.*integer/],
    ['--json without its file', ['evaluate', MODEL, '--json'], /--json/],
  ])('refuses %s', (_, args, reason) => expectUsageError(args as string[], 'evaluate', reason as RegExp));
});

describe('audit verify and audit query', () => {
  it.each([
    ['a key flag without its value', ['audit', 'verify', LOG, '--signing-key-file'], 'audit verify', /--signing-key-file/],
    ['a misspelt key flag', ['audit', 'verify', LOG, '--signing-key', KEY], 'audit verify', /unknown (flag|option).*--signing-key\b/],
    ['both kinds of key', ['audit', 'verify', LOG, '--signing-key-file', KEY, '--public-key-file', KEY], 'audit verify', /--public-key-file.*--signing-key-file|--signing-key-file.*--public-key-file/],
    ['the older spelling with a misspelt flag', ['verify', LOG, '--jsn'], 'audit verify', /unknown (flag|option).*--jsn/],
    ['a query flag without its value', ['audit', 'query', LOG, '--user'], 'audit query', /--user/],
    ['a misspelt query flag', ['audit', 'query', LOG, '--usr', 'desk-1'], 'audit query', /unknown (flag|option).*--usr/],
    ['a limit that is not an integer', ['audit', 'query', LOG, '--limit', 'ten'], 'audit query', /--limit.*integer/],
    ['a negative limit', ['audit', 'query', LOG, '--limit', '-3'], 'audit query', /--limit.*integer/],
    ['an unknown status', ['audit', 'query', LOG, '--status', 'ok,failed'], 'audit query', /--status.*ok, corrected, fallback, blocked/],
    ['a caller key without a user', ['audit', 'query', LOG, '--caller-key-file', KEY], 'audit query', /--caller-key-file.*--user/],
    ['an unknown audit subcommand', ['audit', 'verfy', LOG], 'audit', /verfy/],
  ])('refuses %s', (_, args, command, reason) => expectUsageError(args as string[], command as string, reason as RegExp));
});

describe('info and unknown commands', () => {
  it('info takes no flags and no arguments', () => {
    expectUsageError(['info', '--json'], 'info', /unknown (flag|option).*--json/);
    expectUsageError(['info', 'extra'], 'info', /unexpected argument/);
  });

  it('an unknown command prints the whole usage and exits 2; help exits 0', () => {
    const r = cli('forcast', BRENT);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command');
    expect(r.stderr).toContain('usage: tirex-guardian forecast');
    expect(r.stderr).toContain('usage: tirex-guardian audit query');
    for (const help of [[], ['--help'], ['help']]) {
      const h = cli(...help);
      expect(h.status).toBe(0);
      expect(h.stdout + h.stderr).toContain('usage: tirex-guardian forecast');
    }
  });

  it('a correct forecast still runs, with flags given as --name=value too', () => {
    const r = cli('forecast', BRENT, '--column=Price', '--horizon', '4', '--profile', 'development', '--json');
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).horizon).toBe(4);
  });
});
