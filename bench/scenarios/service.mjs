// The service against the library in process (issue 13). Usage: service.mjs latency | limits
//
// latency: `tirex-guardian serve` in a child process (development profile, audit off, rate
// limits on in memory with quotas no load reaches, as in the library baseline), the shipped model,
// one series of 512 points, horizon 32. Alternating rounds in one run: in-process
// safeForecast / safeForecastAsync (the baselines), then POST /v1/forecast in JSON and in binary
// driven by autocannon with one connection (one request at a time: latency, not queueing). Each
// response's time comes from autocannon's 'response' event (its histogram keeps whole ms), so
// p50s are exact. Then saturation: autocannon with 8 connections for 5 s against the
// single-threaded in-process sync rate.
//
// limits: one rate-limit decision in memory (global + per key, the service's two checks), and
// with a real redis-server (one script call) against one PING round trip on the same client; then
// the memory held by 10,000 keys' limiter states, 10,000 addresses' failed authentications and a
// key file of 10,000 keys.
import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { emit, lib, machine, measure, measureRounds, require, roundRatios, summarizeSamples } from '../harness.mjs';

const autocannon = require('autocannon');
const mode = process.argv[2] ?? 'latency';
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function series(n) {
  return Array.from({ length: n }, (_, i) => 100 + 5 * Math.sin(i / 9) + (i % 7) * 0.1);
}

async function startServe(env) {
  const port = await freePort();
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('TG_') || k === 'TG_ADDON_PATH'));
  const child = spawn(process.execPath, [path.join(root, 'bin', 'tirex-guardian.js'), 'serve'], {
    env: { ...clean, TG_PORT: String(port), TG_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 400; i++) {
    try {
      if ((await fetch(`${url}/health/startup`)).status === 200) return { child, url };
    } catch {
      /* starting */
    }
    await sleep(50);
  }
  child.kill('SIGKILL');
  throw new Error('serve did not start');
}

/** autocannon for `ms`, collecting every response's time (ms, float) and status. */
function cannon(opts, ms) {
  return new Promise((resolve, reject) => {
    const times = [];
    const statuses = {};
    const inst = autocannon({ ...opts, duration: ms / 1000 }, (err, result) => (err ? reject(err) : resolve({ result, times, statuses })));
    inst.on('response', (_client, status, _bytes, time) => {
      statuses[status] = (statuses[status] ?? 0) + 1;
      times.push(time * 1e6);
    });
  });
}

/** The floor of any HTTP service here: a plain node:http server in a child process that reads a
 * request body and answers 1152 bytes (the binary forecast's size), nothing else. */
async function startFloor() {
  const port = await freePort();
  const code = `require('node:http').createServer((q, s) => { q.on('data', () => {}); q.on('end', () => { s.setHeader('content-type', 'application/octet-stream'); s.end(Buffer.alloc(1152)); }); }).listen(${port}, '127.0.0.1', () => console.log('up'));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve) => child.stdout.once('data', resolve));
  return { child, url: `http://127.0.0.1:${port}` };
}

async function latency() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-bench-svc-'));
  const keysFile = path.join(dir, 'keys.json');
  const { createKey } = require('../dist/cjs/service/keys.js');
  const key = createKey(keysFile, { id: 'bench', scopes: ['forecast'], limits: { forecastPerSecond: 10_000_000, forecastBurst: 10_000_000 } }).key;
  const configFile = path.join(dir, 'config.json');
  fs.writeFileSync(configFile, JSON.stringify({ rateLimits: { global: { algorithm: 'token-bucket', limit: 10_000_000, windowMs: 1000 } } }));
  const server = await startServe({ TG_KEYS_FILE: keysFile, TG_CONFIG: configFile });
  const floor = await startFloor();
  const context = series(512);
  const f32 = Float32Array.from(context);
  const g = new lib.TiRexGuardian({ enableAuditLogging: false });
  const req = { context: f32, predictionLength: 32, userId: 'bench' };
  const jsonBody = JSON.stringify({ context, predictionLength: 32 });
  const binBody = Buffer.from(f32.buffer);
  const common = { url: `${server.url}/v1/forecast`, method: 'POST', connections: 1 };
  const jsonOpts = { ...common, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: jsonBody };
  const binOpts = { ...common, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/octet-stream', 'x-tg-prediction-length': '32' }, body: binBody };
  // The service's answers are the library's (checked once, so the figures compare like with like).
  const own = g.safeForecast(req);
  const check = await (await fetch(common.url, { method: 'POST', headers: binOpts.headers, body: binBody })).arrayBuffer();
  if (Buffer.compare(Buffer.from(check), Buffer.from(own.quantiles.buffer, own.quantiles.byteOffset, own.quantiles.byteLength)) !== 0) throw new Error('service and library disagree');

  const rounds = 6;
  const names = [
    'in-process safeForecast (sync)',
    'in-process safeForecastAsync',
    'service JSON (autocannon, 1 connection)',
    'service binary (autocannon, 1 connection)',
    'HTTP floor: plain node:http, same bodies, no work (autocannon, 1 connection)',
  ];
  const floorOpts = { ...binOpts, url: `${floor.url}/` };
  const samples = names.map(() => []);
  const roundP50 = names.map(() => []);
  const inProcess = async (fn, ms) => {
    const out = [];
    const end = performance.now() + ms;
    while (performance.now() < end) {
      const t0 = performance.now();
      await fn();
      out.push((performance.now() - t0) * 1e6);
    }
    return out;
  };
  for (let i = 0; i < 50; i++) g.safeForecast(req);
  await cannon(jsonOpts, 500);
  await cannon(binOpts, 500);
  await cannon(floorOpts, 500);
  for (let r = 0; r < rounds; r++) {
    const round = [
      await inProcess(() => g.safeForecast(req), 700),
      await inProcess(() => g.safeForecastAsync(req), 700),
      (await cannon(jsonOpts, 1000)).times,
      (await cannon(binOpts, 1000)).times,
      (await cannon(floorOpts, 1000)).times,
    ];
    round.forEach((xs, i) => {
      samples[i].push(...xs);
      roundP50[i].push(summarizeSamples(names[i], xs).p50Ns);
    });
  }
  const tasks = names.map((n, i) => summarizeSamples(n, samples[i]));
  const deltas = (i, base) => roundP50[i].map((x, k) => (x - roundP50[base][k]) / 1000).sort((a, b) => a - b);

  // Saturation: 8 connections, 5 s each form, against the single-threaded sync rate.
  const syncCalls = await inProcess(() => g.safeForecast(req), 3000);
  const syncRate = syncCalls.length / 3;
  const satJson = await cannon({ ...jsonOpts, connections: 8 }, 5000);
  const satBin = await cannon({ ...binOpts, connections: 8 }, 5000);
  const rate = (s) => (s.statuses[200] ?? 0) / 5;
  for (const s of [satJson, satBin]) if (Object.keys(s.statuses).some((k) => k !== '200')) throw new Error(`non-200 under load: ${JSON.stringify(s.statuses)}`);
  server.child.kill('SIGTERM');
  floor.child.kill('SIGKILL');
  await g.close();
  const med = (xs) => xs[Math.floor(xs.length / 2)];
  const dj = deltas(2, 0);
  const db = deltas(3, 0);
  emit({
    scenario: 'service-forecast-t512-h32',
    machine: machine(),
    tasks,
    ratios: {
      serviceRateJsonVsInProcessSync: rate(satJson) / syncRate,
      serviceRateBinaryVsInProcessSync: rate(satBin) / syncRate,
    },
    figures: {
      'JSON p50 minus in-process sync p50, µs (median of rounds)': med(dj).toFixed(1),
      'JSON p50 minus in-process sync p50, µs (lowest, highest round)': `${dj[0].toFixed(1)}, ${dj[dj.length - 1].toFixed(1)}`,
      'binary p50 minus in-process sync p50, µs (median of rounds)': med(db).toFixed(1),
      'binary p50 minus in-process sync p50, µs (lowest, highest round)': `${db[0].toFixed(1)}, ${db[db.length - 1].toFixed(1)}`,
      'HTTP floor p50 (plain node:http, no work), µs': (tasks[4].p50Ns / 1000).toFixed(1),
      'JSON p50 minus in-process async p50, µs (median of rounds)': med(deltas(2, 1)).toFixed(1),
      'binary p50 minus in-process async p50, µs (median of rounds)': med(deltas(3, 1)).toFixed(1),
      'in-process sync rate, forecasts/s (one thread)': syncRate,
      'service rate at saturation, JSON, forecasts/s (8 connections)': rate(satJson),
      'service rate at saturation, binary, forecasts/s (8 connections)': rate(satBin),
    },
  });
}

async function startRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const Redis = require('ioredis');
  const redis = new Redis(`redis://127.0.0.1:${port}`, { enableOfflineQueue: true, maxRetriesPerRequest: 1 });
  for (let i = 0; i < 200 && redis.status !== 'ready'; i++) await sleep(25);
  return { child, redis };
}

function heapMiB() {
  global.gc();
  global.gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

async function limits() {
  const { MemoryLimiter } = require('../dist/cjs/service/limits/memory.js');
  const { SharedLimiter } = require('../dist/cjs/service/limits/shared.js');
  const { AuthFailureLimiter } = require('../dist/cjs/service/limits/auth-failures.js');
  const { KeyStore } = require('../dist/cjs/service/keys.js');
  // Quotas the benchmark's pace never exhausts (about 20,000 decisions/s at most), so every
  // decision measured is an admission that charges both limits.
  const spec = { algorithm: 'token-bucket', limit: 100_000, windowMs: 1000 };
  const api = { algorithm: 'sliding-window', limit: 100, windowMs: 60_000 };
  const mem = new MemoryLimiter({ sweepMs: 0 });
  const checks = [
    { policy: 'global', subject: '*', spec },
    { policy: 'forecast', subject: 'desk-7', spec },
  ];
  const memTask = await measure('memory: one decision (global + per key)', () => mem.check(checks), { reps: 1000 });
  const logChecks = [{ policy: 'api', subject: 'k', spec: { algorithm: 'sliding-window', limit: 100_000, windowMs: 1 } }];
  const memLog = await measure('memory: one decision, sliding window (100,000 per 1 ms)', () => mem.check(logChecks), { reps: 1000 });

  const { child, redis } = await startRedis();
  const shared = new SharedLimiter({ redis, prefix: 'bench:' });
  // Alternating rounds on one client: a PING and a decision see the same conditions.
  const block = { key: 'bench:authfail:127.0.0.1', points: 5 };
  const [ping, decide, decideBlock] = await measureRounds(
    [
      { name: 'Redis: PING round trip', async: true, fn: () => redis.ping() },
      { name: 'Redis: one decision (global + per key, one script call)', async: true, fn: () => shared.check(checks) },
      { name: 'Redis: one decision + the address block check', async: true, fn: () => shared.check(checks, block) },
    ],
    { rounds: 8, perRoundMs: 500, warmup: 500 },
  );
  if (shared.mode !== 'shared') throw new Error(`the Redis limiter did not decide in Redis: ${shared.mode}`);
  redis.disconnect();
  child.kill('SIGKILL');

  // Memory: 10,000 keys' limiter states (forecast bucket + api log of 100 + global), 10,000
  // addresses with a failed authentication, a key file of 10,000 keys loaded.
  const h0 = heapMiB();
  // The limiter's clock is the benchmark's, so that the windows can pass for the sweep below.
  let clock = Date.now();
  const lim = new MemoryLimiter({ sweepMs: 0, now: () => clock });
  for (let i = 0; i < 10_000; i++) {
    lim.check([{ policy: 'global', subject: '*', spec }, { policy: 'forecast', subject: `key-${i}`, spec: { algorithm: 'token-bucket', limit: 10, windowMs: 1000 } }]);
    lim.check([{ policy: 'api', subject: `key-${i}`, spec: api }]);
  }
  const h1 = heapMiB();
  const auth = new AuthFailureLimiter({ redis: null, limit: 5, windowMs: 60_000, blockMs: 300_000 });
  for (let i = 0; i < 10_000; i++) await auth.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  const h2 = heapMiB();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-bench-keys-'));
  const keys = [];
  for (let i = 0; i < 10_000; i++) {
    const salt = randomBytes(16);
    keys.push({ id: `key-${i}`, salt: salt.toString('hex'), hash: createHmac('sha256', salt).update(randomBytes(32).toString('base64url')).digest('hex'), scopes: ['forecast'], createdAt: new Date().toISOString(), expiresAt: null, revokedAt: null });
  }
  fs.writeFileSync(path.join(dir, 'keys.json'), JSON.stringify({ version: 1, keys }));
  const store = KeyStore.open(path.join(dir, 'keys.json'));
  const h3 = heapMiB();
  if (store.status().keys !== 10_000 || lim.size !== 20_001) throw new Error(`unexpected sizes ${store.status().keys} ${lim.size}`);
  store.close();
  emit({
    scenario: 'service-limits',
    machine: machine(),
    tasks: [memTask, memLog, ping, decide, decideBlock],
    ratios: {
      redisDecisionVsPing: decide.p50Ns / ping.p50Ns,
      redisDecisionWithBlockCheckVsPing: decideBlock.p50Ns / ping.p50Ns,
    },
    figures: {
      'memory decision p50, ns': memTask.p50Ns.toFixed(0),
      'Redis decision / PING round by round (median; lowest, highest)': (({ median, min, max }) => `${median.toFixed(2)}; ${min.toFixed(2)}, ${max.toFixed(2)}`)(roundRatios(decide, ping)),
      'heap for 10,000 keys limiter states (bucket + log of 100 each), MiB': (h1 - h0).toFixed(1),
      'heap for 10,000 addresses with a failed authentication, MiB': (h2 - h1).toFixed(1),
      'heap for a key file of 10,000 keys loaded, MiB': (h3 - h2).toFixed(1),
      'limiter states for 10,000 keys, then after the windows pass and a sweep': (() => {
        const before = lim.size;
        clock += 61_000; // past the longest window (the api log's minute)
        lim.sweep();
        return `${before} -> ${lim.size}`;
      })(),
    },
  });
}

if (mode === 'latency') await latency();
else if (mode === 'limits') await limits();
else throw new Error(`unknown mode ${mode}`);
process.exit(0);
