// The fallback modules compute tables when they load (the normal quantiles of the default
// levels). They are imported here inside a test, not at the top of the file: a module that throws
// while loading then fails this test, where a top-level import would leave a file with no test
// (which a runner, Stryker's included, counts as nothing failed).
import { describe, expect, it } from 'vitest';

describe('the fallback modules load', () => {
  it('and forecast from their default tables', async () => {
    const { normalQuantile } = await import('../lib/fallback/normal');
    expect(Object.is(normalQuantile(0.5), 0)).toBe(true);
    const { fallbackMovingAverage } = await import('../lib/fallback/index');
    // changes 1, 2, 3: sigma 1, so row 1 is 2.5 + z (z of 0.1..0.9, Acklam's approximation, to 1e-8)
    const r = fallbackMovingAverage(new Float64Array([0, 1, 3, 6]), 1);
    if (!r.ok) expect.fail(r.reason);
    const z = [-1.2815515655446004, -0.8416212335729143, -0.5244005127080407, -0.2533471031357997, 0, 0.2533471031357997, 0.5244005127080407, 0.8416212335729143, 1.2815515655446004];
    expect(Array.from(r.quantiles).map((q, k) => Math.abs(q - (2.5 + z[k]!)) < 1e-6)).toEqual(new Array(9).fill(true));
  });
});
