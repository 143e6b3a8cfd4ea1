// Plain TypeScript/JavaScript baselines the native kernels are measured against. The scan loop
// is the fastest single-pass version we could write: the same statistics as the native scan
// (counts, finite min/max, shifted mean/variance, NaN run, first non-finite, alternation, flat run).

export function scanPlain(x, lo, hi) {
  const n = x.length;
  let nan = 0, posInf = 0, negInf = 0, oob = 0, finite = 0, first = -1;
  let min = Infinity, max = -Infinity, pivot = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    if (v - v === 0) { pivot = v; break; }
  }
  let s = 0, q = 0, nanRun = 0, bestNaN = 0, alt = 0, bestAlt = 0, flat = 0, bestFlat = 0;
  let prevNaN = 0, prev = NaN;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    if (v - v === 0) {
      finite++;
      min = v < min ? v : min;
      max = v > max ? v : max;
      const d = v - pivot;
      s += d;
      q += d * d;
      oob += v < lo || v > hi ? 1 : 0;
      nanRun = 0;
      alt = prevNaN === 1 ? alt + 1 : 0;
      prevNaN = 0;
    } else if (v !== v) {
      nan++;
      if (++nanRun > bestNaN) bestNaN = nanRun;
      alt = prevNaN === 0 && i > 0 ? alt + 1 : 0;
      prevNaN = 1;
      if (first < 0) first = i;
    } else {
      if (v > 0) posInf++;
      else negInf++;
      nanRun = 0;
      alt = prevNaN === 1 ? alt + 1 : 0;
      prevNaN = 0;
      if (first < 0) first = i;
    }
    if (alt > bestAlt) bestAlt = alt;
    if (v === prev) { if (++flat > bestFlat) bestFlat = flat; } else flat = 0;
    prev = v;
  }
  const mean = finite ? pivot + s / finite : NaN;
  const variance = finite ? Math.max(0, q / finite - (s / finite) ** 2) : NaN;
  return { nan, posInf, negInf, oob, finite, min, max, mean, std: Math.sqrt(variance), bestNaN, first, bestAlt, bestFlat };
}

// The same loop reduced to finite count, min, max and the moments: the floor of any plain loop
// that claims to compute these statistics (about 2x faster than the full one above).
export function momentsPlain(x) {
  const n = x.length;
  let finite = 0, min = Infinity, max = -Infinity, s = 0, q = 0, pivot = NaN;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    if (v - v === 0) {
      if (pivot !== pivot) pivot = v;
      finite++;
      min = v < min ? v : min;
      max = v > max ? v : max;
      const d = v - pivot;
      s += d;
      q += d * d;
    }
  }
  return finite + min + max + s + q;
}
