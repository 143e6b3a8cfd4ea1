// The status page in a real browser (Debian's chromium through playwright-core): it loads under
// its strict CSP without console errors, its numbers equal GET /v1/stats, it updates after new
// forecasts, a hostile instrument name renders as text, the admin controls appear only for an
// admin key, and a screenshot is written under test-results/ for people to look at.
import * as fs from 'node:fs';
import * as path from 'node:path';

import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadServiceConfig } from '../lib/service/config';
import { DASHBOARD_CSP } from '../lib/service/routes/dashboard';
import { series, startService, type TestService } from './service-fixtures';

const CHROMIUM = '/usr/bin/chromium';
const HOSTILE = '<img src=x onerror=alert(1)>';
const RESULTS = path.resolve(__dirname, '..', 'test-results');

let t: TestService;
let browser: Browser;

/** A forecast, its body read whole (an unread body keeps the connection busy past the drain). */
async function forecast(instrument: string, context = series(256)): Promise<{ status: number }> {
  const r = await fetch(`${t.url}/v1/forecast`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.keys.desk}`, 'content-type': 'application/json' },
    body: JSON.stringify({ context, predictionLength: 16, instrument }),
  });
  await r.text();
  return { status: r.status };
}

async function stats(): Promise<any> {
  return (await fetch(`${t.url}/v1/stats`, { headers: { authorization: `Bearer ${t.keys.reader}` } })).json();
}

/** A page signed in with `key`, recording console errors, page errors and dialogs (an alert). */
async function open(key: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  const response = await page.goto(t.url);
  expect(response!.status()).toBe(200);
  expect(response!.headers()['content-security-policy']).toBe(DASHBOARD_CSP);
  await page.fill('#key', key);
  await page.click('#login-form button[type=submit]');
  await page.waitForSelector('body[data-refreshes="1"]');
  return { page, problems };
}

const cell = (page: Page, model: string, metric: string) => page.getAttribute(`#forecasts tr[data-model="${model}"] td[data-metric="${metric}"]`, 'data-value');

beforeAll(async () => {
  expect(fs.existsSync(CHROMIUM), 'chromium is missing: apt-get install chromium (.ci/run installs it)').toBe(true);
  t = await startService(
    { desk: { scopes: ['forecast'] }, reader: { scopes: ['metrics'] }, ops: { scopes: ['admin'] } },
    {
      models: [{ name: 'default', manifest: loadServiceConfig({ env: {} }).models[0]!.manifest, marketBounds: { BRENT: { lo: 1, hi: 1000 }, [HOSTILE]: { lo: 1, hi: 1000 } } }],
      dashboard: { enabled: true, instruments: ['BRENT', HOSTILE, 'WTI'] },
    },
  );
  // The browser is not ours to sanitize: under `npm run test:sanitize` it must not inherit the
  // ASan runtime (LD_PRELOAD) meant for Node and our addon.
  const { LD_PRELOAD: _preload, ASAN_OPTIONS: _asan, UBSAN_OPTIONS: _ubsan, ...env } = process.env;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'], env: env as Record<string, string> });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('the status dashboard in Chromium', () => {
  it('shows the numbers of /v1/stats, updates after forecasts, renders a hostile name as text', async () => {
    expect((await forecast('BRENT')).status).toBe(200);
    expect((await forecast(HOSTILE)).status).toBe(200);
    const spiked = series(256);
    spiked[250] = spiked[250]! * 1e4;
    expect((await forecast('BRENT', spiked)).status).toBe(200);
    const { page, problems } = await open(t.keys.reader);

    const s = await stats();
    const m = s.models.default;
    expect(await cell(page, 'default', 'calls')).toBe(String(m.calls));
    for (const status of ['ok', 'corrected', 'fallback', 'blocked']) expect(await cell(page, 'default', status)).toBe(String(m.byStatus[status]));
    expect(await cell(page, 'default', 'blockRate')).toBe(String(m.blockRate));
    expect(await cell(page, 'default', 'fallbackRate')).toBe(String(m.fallbackRate));
    expect(await cell(page, 'default', 'p99Us')).toBe(String(m.latency.forecast.p99Us));
    expect(m.calls).toBe(4); // the three above and the warm-up forecast
    expect(m.byStatus.fallback).toBe(1);
    // The top signals are the spike's.
    const signals = await page.$$eval('#signals tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent));
    expect(signals.sort()).toEqual(Object.keys(m.threatsBySignal).sort());

    // The hostile instrument: its name is text, no element was made of it, no script ran.
    const title = await page.$eval(`.fan[data-instrument="${HOSTILE.replace(/"/g, '\\"')}"] h3`, (h) => h.textContent);
    expect(title).toBe(HOSTILE);
    expect(await page.$$eval('img', (imgs) => imgs.length)).toBe(0);
    // Each forecast drew its fan (four bands and a median); WTI has none yet.
    expect(await page.$$eval('.fan[data-instrument="BRENT"] path[data-band]', (p) => p.length)).toBe(4);
    expect(await page.$$eval('.fan[data-instrument="BRENT"] path[data-median]', (p) => p.length)).toBe(1);
    expect(await page.$eval('.fan[data-instrument="WTI"] p', (p) => p.textContent)).toBe('no forecast yet');

    // Read-only for a metrics key: no admin column, no buttons.
    expect(await page.$$eval('#models button', (b) => b.length)).toBe(0);
    expect(await page.isVisible('#models th.admin-only')).toBe(false);

    // New forecasts, one refresh: the page follows /v1/stats.
    expect((await forecast('BRENT')).status).toBe(200);
    expect((await forecast('BRENT')).status).toBe(200);
    await page.click('#refresh');
    // The page also refreshes itself every 5 s, and a loaded machine may take that long over the
    // forecasts: wait for the figure, not for a refresh count.
    await page.waitForSelector('#forecasts tr[data-model="default"] td[data-metric="calls"][data-value="6"]', { timeout: 20_000 });
    expect(Number(await page.getAttribute('body', 'data-refreshes'))).toBeGreaterThanOrEqual(2);
    const after = (await stats()).models.default;
    expect(after.calls).toBe(6);
    expect(await cell(page, 'default', 'calls')).toBe('6');
    expect(await cell(page, 'default', 'ok')).toBe(String(after.byStatus.ok));
    expect(await page.$$eval('#history polyline', (p) => p.length)).toBe(4);

    fs.mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: path.join(RESULTS, 'dashboard.png'), fullPage: true });
    expect(fs.statSync(path.join(RESULTS, 'dashboard.png')).size).toBeGreaterThan(10_000);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows the emergency controls to an admin key, and they act (recorded by the service)', async () => {
    const { page, problems } = await open(t.keys.ops);
    expect(await page.isVisible('#models th.admin-only')).toBe(true);
    await page.click('#models tr[data-model="default"] button:has-text("Enter maintenance")');
    await page.waitForSelector('#models tr[data-model="default"] button:has-text("Exit maintenance")');
    expect(t.service.context.models[0]!.guardian.maintenance).toEqual({ reason: 'from the dashboard', mode: 'fallback' });
    expect(await page.textContent('#ready')).toBe('not ready');
    await page.click('#models tr[data-model="default"] button:has-text("Exit maintenance")');
    await page.waitForSelector('#models tr[data-model="default"] button:has-text("Enter maintenance")');
    expect(t.service.context.models[0]!.guardian.maintenance).toBeNull();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a forecast-only key is told it lacks the scope; a wrong key is refused', async () => {
    const page = await browser.newPage();
    await page.goto(t.url);
    await page.fill('#key', t.keys.desk);
    await page.click('#login-form button[type=submit]');
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error')).toBe('this key lacks the metrics or admin scope');
    expect(await page.isVisible('#content')).toBe(false);
    await page.fill('#key', 'tg_not-a-key');
    await page.click('#login-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('error')!.textContent === 'the key was refused');
    await page.close();
  });
});
