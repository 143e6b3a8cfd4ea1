// Circuit breaker overhead on a closed breaker around a trivial function: our synchronous permit
// path (tryAcquire + success, and execute) and our async fire against opossum's promise-based
// fire, which is why the guardian has its own breaker (lib/breaker/breaker.ts).
// Needs the compiled module: node scripts/build-ts.js (lib/index.ts may not export it yet).
import { emit, machine, measure, require } from '../harness.mjs';

const { CircuitBreaker } = require('../dist/cjs/breaker/index.js');
const Opossum = require('opossum');

let x = 0;
const fn = () => (x = (x + 1) | 0);
const asyncFn = async () => fn();

const ours = new CircuitBreaker({ name: 'bench' });
// opossum as shipped (a 10 s timeout timer armed per call), and with the timer off.
const opossum = new Opossum(fn);
const opossumNoTimer = new Opossum(fn, { timeout: false });

const reps = 1000;
const plain = await measure('plain call fn()', () => fn(), { reps });
const permit = await measure('ours: tryAcquire() + success()', () => ours.tryAcquire().success(), { reps });
const execute = await measure('ours: execute(fn)', () => ours.execute(fn), { reps });
const awaitBase = await measure('await of an async fn (async floor)', () => asyncFn());
const ourFire = await measure('ours: await fire(fn)', () => ours.fire(fn));
const ourFireTimer = await measure('ours: await fire(fn, 10_000)', () => ours.fire(fn, 10_000));
const opFire = await measure('opossum 9: await fire(fn) (default 10 s timeout)', () => opossum.fire());
const opFireNoTimer = await measure('opossum 9: await fire(fn), timeout: false', () => opossumNoTimer.fire());

// Every call went through closed breakers and counted: otherwise the figures mean nothing.
const s = ours.stats();
if (s.state !== 'closed' || s.failures !== 0 || s.rejected !== 0 || s.successes === 0) {
  throw new Error(`our breaker did not stay closed: ${JSON.stringify(s)}`);
}
for (const b of [opossum, opossumNoTimer]) {
  if (!b.closed || b.stats.failures !== 0 || b.stats.successes === 0) throw new Error('opossum did not stay closed');
  b.shutdown();
}

emit({
  scenario: 'breaker-closed',
  machine: machine(),
  tasks: [plain, permit, execute, awaitBase, ourFire, ourFireTimer, opFire, opFireNoTimer],
  ratios: {
    opossumFireVsOurTryAcquire: opFire.p50Ns / permit.p50Ns,
    opossumFireVsOurExecute: opFire.p50Ns / execute.p50Ns,
    opossumFireNoTimerVsOurTryAcquire: opFireNoTimer.p50Ns / permit.p50Ns,
    opossumFireVsOurFireWithTimeout: opFire.p50Ns / ourFireTimer.p50Ns,
    opossumFireNoTimerVsOurFire: opFireNoTimer.p50Ns / ourFire.p50Ns,
    ourTryAcquireVsPlainCall: permit.p50Ns / plain.p50Ns,
  },
  sink: x,
});
