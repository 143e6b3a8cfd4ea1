/**
 * The preflight's decisions, in process and exact (the mutation module `security-policy` runs
 * these): severity bands and words, range matching with prereleases and patched ranges, one
 * finding per vulnerability across sources, the threshold and the allowlist (live, expired at the
 * boundary, unused, scoped to a package, matched by alias), the allowlist's validation, the
 * override's, and OSV ranges (intervals, last_affected, listed versions, malformed versions).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { describe, expect, it } from 'vitest';

import { affects, validRange, type Advisory } from '../lib/security/advisory';
import { entriesFor, expiryInstant, loadAllowlist, parseAllowlist, type AllowlistEntry } from '../lib/security/allowlist';
import { applyPolicy, matchAdvisories } from '../lib/security/findings';
import { loadOsvDir } from '../lib/security/osv';
import { OVERRIDE_MAX_HOURS, readOverride } from '../lib/security/override';
import { cvss3BaseScore, meetsThreshold, severityOfScore, severityOfWord, SEVERITIES } from '../lib/security/severity';
import { thrown } from './model-fixtures';

const DAY = 86_400_000;
const NOW = Date.parse('2026-11-30T12:00:00Z');

const adv = (over: Partial<Advisory>): Advisory => ({
  id: 'NSWG-ECO-1',
  aliases: [],
  package: 'pkg',
  title: 't',
  severity: 'high',
  cvssScore: 7,
  vulnerable: '<2.0.0',
  patched: null,
  url: null,
  source: 'nodejs-security-wg',
  ...over,
});
const installed = (name: string, version: string, p = `node_modules/${name}`) => ({ name, version, path: p });
const allow = (id: string, over: Partial<AllowlistEntry> = {}): AllowlistEntry => ({ id, package: null, justification: 'accepted after review', expires: 'x', expiresAt: NOW + DAY, tracking: 'T-1', ...over });

describe('severity', () => {
  it('CVSS bands, words from every source, and the threshold (unknown always meets it)', () => {
    expect([0, 3.9, 4, 6.9, 7, 8.9, 9, 10].map(severityOfScore)).toEqual(['low', 'low', 'moderate', 'moderate', 'high', 'high', 'critical', 'critical']);
    expect([-0.1, 10.1, NaN, Infinity].map(severityOfScore)).toEqual(['unknown', 'unknown', 'unknown', 'unknown']);
    expect(['low', 'medium', 'MODERATE', ' High ', 'critical', 'none', '', 5, null].map(severityOfWord)).toEqual(['low', 'moderate', 'moderate', 'high', 'critical', 'unknown', 'unknown', 'unknown', 'unknown']);
    const table = SEVERITIES.map((t) => [...SEVERITIES, 'unknown' as const].map((s) => meetsThreshold(s, t)));
    expect(table).toEqual([
      [true, true, true, true, true],
      [false, true, true, true, true],
      [false, false, true, true, true],
      [false, false, false, true, true],
    ]);
    expect(cvss3BaseScore('CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N')).toBe(1.6);
    expect(cvss3BaseScore('CVSS:3.0/AV:A/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:L/E:P')).toBe(6.5); // by hand: 1.08 x (3.733 + 2.268), rounded up
    expect(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:X/C:N/I:H/A:H')).toBeNull();
    expect(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:H/A:H/junk')).toBeNull();
    // Scope changed with a high impact: the (ISS - 0.02)^15 term matters (by hand: 1.08 x (6.048 + 0.617) = 7.198).
    expect(cvss3BaseScore('CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:C/C:H/I:H/A:H')).toBe(7.2);
    expect(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H')).toBe(10);
    expect(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N')).toBe(0);
    expect(cvss3BaseScore('CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:N')).toBe(0);
    expect(cvss3BaseScore('  CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H ')).toBe(9.8);
    const full = 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H';
    for (const m of ['AV', 'AC', 'PR', 'UI', 'S', 'C', 'I', 'A']) expect(cvss3BaseScore(full.replace(new RegExp(`/${m}:[A-Z]`), ''))).toBeNull();
    for (const bad of ['XCVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 'CVSS:3.10/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H:X', 'CVSS:3.1/:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H', '']) {
      expect(cvss3BaseScore(bad)).toBeNull();
    }
  });
});

describe('ranges', () => {
  it('inside the vulnerable range and outside the patched one, prereleases included', () => {
    expect(affects({ vulnerable: '<4.17.11', patched: null }, '4.17.10')).toBe(true);
    expect(affects({ vulnerable: '<4.17.11', patched: null }, '4.17.11')).toBe(false);
    expect(affects({ vulnerable: '<2.0.0', patched: null }, '2.0.0-rc.1')).toBe(true);
    expect(affects({ vulnerable: '20.x', patched: '^20.20.2' }, '20.20.1')).toBe(true);
    expect(affects({ vulnerable: '20.x', patched: '^20.20.2' }, '20.20.2')).toBe(false);
    expect(affects({ vulnerable: '20.x', patched: '^20.20.2' }, 'v20.10.0')).toBe(true);
    expect([validRange('<=1.5.1'), validRange('>=1 <2 || 3.x'), validRange('not a range'), validRange(''), validRange(7)]).toEqual(['<=1.5.1', '>=1 <2 || 3.x', null, null, null]);
  });
});

describe('findings', () => {
  it('one finding per vulnerability per installed version: a shared CVE merges two sources, paths are gathered', () => {
    const list = [
      adv({ id: 'NSWG-ECO-493', aliases: ['CVE-2018-16487'], severity: 'high' }),
      adv({ id: 'GHSA-4xc9-xhrj-v574', aliases: ['CVE-2018-16487'], source: 'osv', severity: 'moderate' }),
      adv({ id: 'GHSA-other', aliases: [], source: 'osv', severity: 'unknown', vulnerable: '>=1.5.0 <1.6.0' }),
    ];
    const f = matchAdvisories([installed('pkg', '1.5.1'), installed('pkg', '1.5.1', 'node_modules/a/node_modules/pkg'), installed('pkg', '3.0.0'), installed('other', '1.0.0')], list, [], null);
    expect(f.map((x) => [x.version, x.advisories.map((a) => a.id), x.severity, x.paths])).toEqual([
      ['1.5.1', ['NSWG-ECO-493', 'GHSA-4xc9-xhrj-v574'], 'high', ['node_modules/a/node_modules/pkg', 'node_modules/pkg']],
      ['1.5.1', ['GHSA-other'], 'unknown', ['node_modules/a/node_modules/pkg', 'node_modules/pkg']],
    ]);
    expect(f[0]!.remedy).toBe('upgrade pkg 1.5.1 out of <2.0.0; `npm ls pkg` shows what requires it; or allowlist NSWG-ECO-493, GHSA-4xc9-xhrj-v574 with a justification, an expiry and a tracking reference');
  });

  it('what makes two advisories one: the smallest CVE among the aliases, any case; the worst known severity', () => {
    const f = matchAdvisories(
      [installed('pkg', '1.0.0')],
      [
        adv({ id: 'A', aliases: ['ALIAS-1', 'CVE-9', 'CVE-2'], severity: 'moderate' }),
        adv({ id: 'B', aliases: ['cve-2'], severity: 'critical', source: 'osv' }),
        adv({ id: 'C', aliases: ['CVE-9'], severity: 'unknown', source: 'osv' }),
        adv({ id: 'D', aliases: [], severity: 'low', patched: '>=1.0.0-0 <1.0.1', vulnerable: '<1.0.1' }),
        adv({ id: 'E', aliases: [], severity: 'unknown', source: 'osv' }),
        adv({ id: 'F', aliases: ['CVE-5'], severity: 'low', source: 'osv' }),
        adv({ id: 'G', aliases: ['CVE-5'], severity: 'high' }),
        adv({ id: 'H', aliases: ['CVE-5'], severity: 'moderate', source: 'npm-registry' }),
        adv({ id: 'I', aliases: ['CVE-4'], severity: 'unknown', source: 'osv' }),
        adv({ id: 'J', aliases: ['CVE-4'], severity: 'low' }),
      ],
      [],
      null,
    );
    expect(f.map((x) => [x.advisories.map((a) => a.id).join('+'), x.severity])).toEqual([
      ['A+B', 'critical'],
      ['C', 'unknown'],
      ['E', 'unknown'],
      ['F+G+H', 'high'],
      ['I+J', 'low'],
    ]);
  });

  it('the runtime and an npm package named node at the same version stay two findings', () => {
    const f = matchAdvisories(
      [installed('node', '20.1.0')],
      [adv({ id: 'NSWG-ECO-7', package: 'node', aliases: ['CVE-7'], vulnerable: '<30.0.0' })],
      [adv({ id: 'NSWG-COR-7', package: 'node', aliases: ['CVE-7'], vulnerable: '20.x', patched: null }), adv({ id: 'NSWG-COR-8', package: 'node', vulnerable: '18.x' })],
      '20.1.0',
    );
    expect(f.map((x) => [x.advisories[0]!.id, x.paths[0], x.remedy])).toEqual([
      ['NSWG-ECO-7', 'node_modules/node', 'upgrade node 20.1.0 out of <30.0.0; `npm ls node` shows what requires it; or allowlist NSWG-ECO-7 with a justification, an expiry and a tracking reference'],
      ['NSWG-COR-7', 'process', 'upgrade Node.js 20.1.0 (NSWG-COR-7)'],
    ]);
    const patched = matchAdvisories([installed('p', '1.0.0', 'x')], [adv({ id: 'P-1', package: 'p', patched: '>=2.0.0' })], [], null);
    expect(patched[0]!.remedy).toBe('upgrade p 1.0.0 out of <2.0.0 (patched: >=2.0.0); `npm ls p` shows what requires it; or allowlist P-1 with a justification, an expiry and a tracking reference');
  });

  it('the runtime against the core advisories only: the npm package named node is another thing', () => {
    const core = [adv({ id: 'NSWG-COR-1', package: 'node', vulnerable: '20.x', patched: '^20.20.2' })];
    const pkg = [adv({ id: 'NSWG-ECO-9', package: 'node', vulnerable: '<1.0.0' })];
    const f = matchAdvisories([installed('node', '0.5.0'), installed('node', '20.1.0')], pkg, core, 'v20.1.0');
    expect(f.map((x) => [x.package, x.version, x.advisories[0]!.id, x.paths[0]])).toEqual([
      ['node', '0.5.0', 'NSWG-ECO-9', 'node_modules/node'],
      ['node', 'v20.1.0', 'NSWG-COR-1', 'process'],
    ]);
    expect(f[1]!.remedy).toBe('upgrade Node.js v20.1.0 to a release in ^20.20.2 (NSWG-COR-1)');
    expect(matchAdvisories([], pkg, core, null)).toEqual([]);
  });

  it('the threshold and the allowlist decide what counts; expiry is inclusive of its last instant', () => {
    const make = () =>
      matchAdvisories(
        [installed('a', '1.0.0'), installed('b', '1.0.0'), installed('c', '1.0.0'), installed('d', '1.0.0')],
        [adv({ id: 'A-1', package: 'a', aliases: ['CVE-1'] }), adv({ id: 'B-1', package: 'b', severity: 'low' }), adv({ id: 'C-1', package: 'c' }), adv({ id: 'D-1', package: 'd', severity: 'moderate' })],
        [],
        null,
      );
    const f = make();
    const uses = applyPolicy(f, 'moderate', [allow('cve-1'), allow('C-1', { expiresAt: NOW - 1 }), allow('D-1', { expiresAt: NOW }), allow('D-1', { package: 'zzz' }), allow('Z-9')], NOW);
    expect(f.map((x) => [x.package, x.counts, x.allowlisted?.id ?? null, x.expiredAllowlist?.id ?? null])).toEqual([
      ['a', false, 'cve-1', null],
      ['b', false, null, null],
      ['c', true, null, 'C-1'],
      ['d', false, 'D-1', null],
    ]);
    expect(uses.map((u) => [u.id, u.package, u.status])).toEqual([
      ['cve-1', null, 'used'],
      ['C-1', null, 'expired'],
      ['D-1', null, 'used'],
      ['D-1', 'zzz', 'unused'],
      ['Z-9', null, 'unused'],
    ]);
    const low = make();
    applyPolicy(low, 'low', [], NOW);
    expect(low.map((x) => x.counts)).toEqual([true, true, true, true]);
    const critical = make();
    applyPolicy(critical, 'critical', [], NOW);
    expect(critical.map((x) => x.counts)).toEqual([false, false, false, false]);
    expect(entriesFor([allow('X'), allow('Y', { package: 'p' })], ['y'], 'p').map((e) => e.id)).toEqual(['Y']);
    expect(entriesFor([allow('Y', { package: 'p' })], ['Y'], 'q')).toEqual([]);
  });
});

describe('the allowlist file', () => {
  const good = { id: 'NSWG-ECO-493', justification: '0123456789', expires: '2026-12-31', tracking: 'T' };
  const parse = (entries: unknown[]) => parseAllowlist(JSON.stringify({ v: 1, entries }), 'f', NOW);
  const problems = (entries: unknown[]) => thrown(() => parse(entries)).message.split('\n').slice(1).map((l) => l.replace(/^ {2}- /, ''));

  it('a valid file: dates through the end of their UTC day, times with their zone, the package optional', () => {
    const [a, b] = parse([good, { ...good, id: 'CVE-2018-16487', package: 'lodash', expires: '2026-12-01T10:00:00+02:00' }]);
    expect([a!.expiresAt, a!.package, b!.expiresAt, b!.package]).toEqual([Date.parse('2027-01-01T00:00:00Z') - 1, null, Date.parse('2026-12-01T08:00:00Z'), 'lodash']);
    expect(parse([{ ...good, expires: isoDay(NOW + 365 * DAY) }])).toHaveLength(1); // its day ends 365.5 days ahead
    expect(parse([])).toEqual([]);
    expect([expiryInstant('2026-02-29'), expiryInstant('2026-13-01'), expiryInstant('2026-12-01T10:00:00'), expiryInstant('2026-12-01 10:00Z')].every(Number.isNaN)).toBe(true);
  });

  it('every problem of every entry, named', () => {
    expect(problems([{ ...good, justification: '012345678' }])).toEqual(['entries[0].justification: missing or shorter than 10 characters (say why the risk is accepted)']);
    expect(problems([{ ...good, tracking: '  ' }])).toEqual(['entries[0].tracking: missing (the ticket or URL that tracks removing this entry)']);
    expect(problems([{ ...good, id: 'x' }, { ...good, id: 7 }])).toEqual([
      'entries[0].id: missing, or not an advisory id (NSWG-ECO-493, CVE-2018-16487, GHSA-...)',
      'entries[1].id: missing, or not an advisory id (NSWG-ECO-493, CVE-2018-16487, GHSA-...)',
    ]);
    expect(problems([{ ...good, expires: isoDay(NOW + 368 * DAY) }])).toEqual([`entries[0].expires: ${isoDay(NOW + 368 * DAY)} is more than 366 days ahead (review exceptions at least yearly)`]);
    expect(problems([{ ...good, package: '' }, 'entry', null])).toEqual(['entries[0].package: when present, a package name', 'entries[1]: not an object', 'entries[2]: not an object']);
    expect(problems([good, { ...good, id: 'nswg-eco-493' }, { ...good, package: 'p' }])).toEqual(['entries[1]: a second entry for nswg-eco-493']);
    expect(thrown(() => parseAllowlist('{"v":2,"entries":[]}', 'f')).code).toBe('TG_ALLOWLIST_INVALID');
    expect(thrown(() => parseAllowlist('nope', 'f')).message).toMatch(/^allowlist f: not JSON/);
    for (const doc of ['null', '[{"v":1,"entries":[]}]', '{"v":1}', '{"v":1,"entries":{}}', '"text"']) {
      expect(thrown(() => parseAllowlist(doc, 'f')).message).toBe('allowlist f: expected { "v": 1, "entries": [...] }');
    }
    expect(problems([{ ...good, owner: 'me' }])).toEqual(['entries[0]: unknown field "owner" (known: id, package, justification, expires, tracking)']);
    expect(problems([{ ...good, id: 'NSWG-ECO-493!' }, { ...good, id: `A${'b'.repeat(100)}` }, { ...good, id: '-NSWG' }]).map((p) => p.split(':')[0])).toEqual(['entries[0].id', 'entries[1].id', 'entries[2].id']);
    expect(problems([{ ...good, package: 'p' }, { ...good, package: 'p' }])).toEqual(['entries[1]: a second entry for NSWG-ECO-493 (p)']);
    expect(problems([{ ...good, expires: '' }])).toEqual(['entries[0].expires: missing or not a date (YYYY-MM-DD, or an ISO 8601 time with its zone)']);
    expect(parse([{ ...good, justification: '  0123456789  ', tracking: ' T-9 ' }])[0]).toMatchObject({ justification: '0123456789', tracking: 'T-9' });
    expect(['x2026-12-01', '2026-12-01x', '2026-12-01T10:00Zx', 'x2026-12-01T10:00Z', '2026-12-01T10:00:00.Z', '2026-12-01T10:00:00+1:00', '2026-12-01T10:00:00+01:0'].map(expiryInstant).every(Number.isNaN)).toBe(true);
    expect([expiryInstant('2026-12-01T10:00Z'), expiryInstant('2026-12-01T10:00:00.25-01:30')]).toEqual([Date.parse('2026-12-01T10:00:00Z'), Date.parse('2026-12-01T11:30:00.250Z')]);
    const missing = path.join(os.tmpdir(), 'tg-no-such-allowlist.json');
    expect(thrown(() => loadAllowlist(missing)).message).toBe(`allowlist ${missing}: cannot read it (ENOENT)`);
  });
});

describe('the override', () => {
  const env = (hard: string | undefined, until?: string, reason?: string): NodeJS.ProcessEnv => ({ TG_SECURITY_HARD_FAIL: hard, TG_SECURITY_OVERRIDE_UNTIL: until, TG_SECURITY_OVERRIDE_REASON: reason });
  const at = (h: number) => new Date(NOW + h * 3_600_000).toISOString();

  it('none unless TG_SECURITY_HARD_FAIL is 0; then until a time at most 72 h ahead, recorded with who', () => {
    expect([readOverride(env(undefined), NOW), readOverride(env(''), NOW), readOverride(env('1'), NOW)]).toEqual([null, null, null]);
    const o = readOverride(env('0', at(OVERRIDE_MAX_HOURS), '  window CHG-1 '), NOW)!;
    expect(o).toMatchObject({ user: os.userInfo().username, uid: os.userInfo().uid, host: os.hostname(), until: at(72), untilAt: NOW + 72 * 3_600_000, reason: 'window CHG-1' });
    expect(readOverride(env('0', at(1), '   '), NOW)!.reason).toBeNull();
    const refused = (e: NodeJS.ProcessEnv) => thrown(() => readOverride(e, NOW));
    expect(refused(env('0', new Date(NOW + OVERRIDE_MAX_HOURS * 3_600_000 + 1).toISOString())).message).toContain('more than 72 hours ahead');
    expect(refused(env('0', new Date(NOW).toISOString())).message).toContain('has passed');
    expect(refused(env('0', '')).message).toContain('needs TG_SECURITY_OVERRIDE_UNTIL');
    expect(refused(env('0', '2026-12-01')).message).toContain('is not an ISO 8601 time with its zone');
    expect(refused(env('false')).code).toBe('TG_SECURITY_OVERRIDE_INVALID');
    expect(refused(env('false')).message).toBe('TG_SECURITY_HARD_FAIL must be 1 (the default) or 0, not "false"');
    expect(refused(env('0', '   ')).message).toContain('needs TG_SECURITY_OVERRIDE_UNTIL');
    expect(readOverride(env('0', at(1)), NOW)!.reason).toBeNull();
    const iso = (t: string) => refused(env('0', t)).message;
    for (const t of ['x2026-11-30T14:00:00Z', '2026-11-30T14:00:00Zx', '2026-11-30T14:00:00.Z', '2026-11-30T14:00:00.5', '2026-11-30T14:00:00*01:00', '2026-11-30T14:00:00+1:00', '2026-11-30T14:00:00+0a:00', '2026-11-30T14:00:00+01:0', '2026-11-30T14:00:00+01:0a']) {
      expect(iso(t)).toContain('is not an ISO 8601 time with its zone');
    }
    expect([readOverride(env('0', '2026-11-30T14:00Z'), NOW)!.untilAt, readOverride(env('0', '2026-11-30T14:00:00.5+01:00'), NOW)!.untilAt]).toEqual([Date.parse('2026-11-30T14:00:00Z'), Date.parse('2026-11-30T13:00:00.500Z')]);
  });
});

describe('OSV ranges', () => {
  const write = (records: unknown): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-osv-unit-'));
    fs.mkdirSync(path.join(dir, 'nested'));
    fs.writeFileSync(path.join(dir, 'nested', 'a.json'), JSON.stringify(records));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'not read');
    return dir;
  };
  const rec = (affected: unknown[], extra: Record<string, unknown> = {}) => ({ id: 'GHSA-x', aliases: ['CVE-9'], summary: 's', affected, ...extra });

  it('intervals, last_affected, an open end, listed versions; other ecosystems and malformed versions are left out (and said)', () => {
    const dir = write([
      rec([
        { package: { ecosystem: 'npm', name: 'a' }, ranges: [{ type: 'SEMVER', events: [{ introduced: '1.0.0' }, { fixed: '1.2.0' }, { introduced: '2.0.0' }, { last_affected: '2.1.0' }, { introduced: '3.0.0' }] }] },
        { package: { ecosystem: 'npm', name: 'b' }, versions: ['0.1.0', 'nope'], ranges: [{ type: 'GIT', events: [{ introduced: 'abc' }] }] },
        { package: { ecosystem: 'PyPI', name: 'a' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }] }] },
        { package: { ecosystem: 'npm', name: 'c' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: 'x.y' }, { fixed: '1.0.0' }] }] },
      ], { severity: [{ type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N' }] }),
      rec([{ package: { ecosystem: 'npm', name: 'd' }, ranges: [{ type: 'ECOSYSTEM', events: [{ introduced: '0' }, { fixed: 'bad' }] }] }], { id: 'GHSA-y', database_specific: { severity: 'LOW' } }),
      { id: 'GHSA-z', withdrawn: '2021-01-01T00:00:00Z', affected: [{ package: { ecosystem: 'npm', name: 'a' }, versions: ['1.0.0'] }] },
      'not an advisory',
    ]);
    const r = loadOsvDir(dir);
    expect(r.files).toBe(1);
    expect(r.advisories.map((a) => [a.id, a.package, a.vulnerable, a.severity, a.cvssScore, a.aliases])).toEqual([
      ['GHSA-x', 'a', '>=1.0.0 <1.2.0 || >=2.0.0 <=2.1.0 || >=3.0.0', 'moderate', 5.3, ['CVE-9']],
      ['GHSA-x', 'b', '0.1.0', 'moderate', 5.3, ['CVE-9']],
    ]);
    expect(r.skipped).toEqual([
      'a.json GHSA-x b: listed version "nope" is not a version',
      'a.json GHSA-x c: introduced "x.y" is not a version',
      'a.json GHSA-y d: end "bad" is not a version',
    ]);
    const a = r.advisories[0]!;
    expect(['1.1.9', '1.2.0', '2.1.0', '2.1.1', '3.5.0', '0.9.0'].map((v) => affects(a, v))).toEqual([true, false, true, false, true, false]);
    expect(thrown(() => loadOsvDir(path.join(dir, 'missing'))).code).toBe('TG_ADVISORY_SOURCE_INVALID');
  });

  it('the fields an advisory takes: the ADVISORY reference first, the summary or the id, GitHub\'s severity over the vector', () => {
    const dir = write([
      rec([{ package: { ecosystem: 'npm', name: 'a' }, versions: ['1.0.0'] }, 'not an entry', { package: { ecosystem: 'npm' }, versions: ['1.0.0'] }], {
        summary: undefined,
        aliases: ['CVE-1', 3],
        references: [{ type: 'WEB', url: 'https://web' }, 'x', { type: 'ADVISORY', url: 'https://advisory' }],
        severity: [{ type: 'CVSS_V2', score: 'AV:N/AC:L/Au:N/C:P/I:P/A:P' }, { type: 'CVSS_V3', score: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H' }],
        database_specific: { severity: 'LOW' },
      }),
      rec([{ package: { ecosystem: 'npm', name: 'b' }, versions: ['1.0.0'] }], { id: 'GHSA-b', references: [{ type: 'WEB', url: 'https://web-b' }], severity: 'high' }),
      rec([{ package: { ecosystem: 'npm', name: 'c' }, ranges: 'none', versions: 'none' }], { id: 'GHSA-c' }),
      rec([{ package: { ecosystem: 'npm', name: 'd' }, versions: ['1.0.0'] }], { id: 'GHSA-d', references: [{ type: 'ADVISORY', url: 7 }], aliases: 'CVE-3' }),
      null,
      { id: 5, affected: [] },
      { id: 'GHSA-e', affected: 'none' },
    ]);
    const r = loadOsvDir(dir);
    expect(r.advisories.map((a) => [a.id, a.package, a.title, a.url, a.severity, a.cvssScore, a.aliases, a.source])).toEqual([
      ['GHSA-x', 'a', 'GHSA-x', 'https://advisory', 'low', 9.8, ['CVE-1'], 'osv'],
      ['GHSA-b', 'b', 's', 'https://web-b', 'unknown', null, ['CVE-9'], 'osv'],
      ['GHSA-d', 'd', 's', null, 'unknown', null, [], 'osv'],
    ]);
    fs.writeFileSync(path.join(dir, 'single.json'), JSON.stringify(rec([{ package: { ecosystem: 'npm', name: 'z' }, versions: ['2.0.0'] }], { id: 'GHSA-single' })));
    expect(loadOsvDir(dir).advisories.map((a) => a.id)).toEqual(['GHSA-x', 'GHSA-b', 'GHSA-d', 'GHSA-single']);
    expect(loadOsvDir(dir).files).toBe(2);
  });
});

function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
