/** In-place selection on typed arrays (no allocation), for the Theil-Sen medians. */

/**
 * Reorders a[0 .. n) so that a[k] holds the k-th smallest value (0-based), everything before it
 * is <= a[k] and everything after it is >= a[k]; returns a[k]. Hoare quickselect with a
 * median-of-three pivot; expected O(n). The values must not be NaN.
 */
export function selectKth(a: Float64Array, n: number, k: number): number {
  let lo = 0;
  let hi = n - 1;
  while (hi > lo) {
    const mid = (lo + hi) >>> 1;
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: any of the three sampled values is a valid pivot: the choice changes the speed, never the result
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    // a[lo .. j] <= pivot, a[j + 1 .. i - 1] == pivot, a[i .. hi] >= pivot
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k]!;
  }
  return a[k]!;
}

/** Median of a[0 .. n) (n >= 1; the mean of the two middle values when n is even). Reorders a. */
export function medianInPlace(a: Float64Array, n: number): number {
  const upper = n >>> 1;
  if (n & 1) return selectKth(a, n, upper);
  const lower = selectKth(a, n, upper - 1);
  // after the selection, a[upper .. n) are all >= lower: the upper middle is their minimum
  let m = a[upper]!;
  for (let i = upper + 1; i < n; i++) if (a[i]! < m) m = a[i]!;
  return 0.5 * lower + 0.5 * m;
}
