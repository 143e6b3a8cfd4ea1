#include "quantiles.h"

#include <cmath>

namespace tg::kernels {

namespace {

bool Ordered(const float* q, size_t steps, size_t levels) {
  unsigned crossed = 0;
  for (size_t s = 0; s < steps; ++s) {
    const float* row = q + s * levels;
    for (size_t k = 1; k < levels; ++k) crossed |= row[k] < row[k - 1];
  }
  return crossed == 0;
}

template <size_t kLevels>
bool Ordered(const float* q, size_t steps) {
  unsigned crossed = 0;
  for (size_t s = 0; s < steps; ++s) {
    const float* row = q + s * kLevels;
    for (size_t k = 1; k < kLevels; ++k) crossed |= row[k] < row[k - 1];
  }
  return crossed == 0;
}

// True when every value is finite and every step ordered: the common case, checked without a
// branch per value (x - x is 0 for a finite x, NaN otherwise; the compiler may not fold it: no
// fast-math). Then there is nothing to count or sort.
bool AllFiniteAndOrdered(const float* q, size_t steps, size_t levels) {
  const size_t n = steps * levels;
  unsigned bad = 0;
  for (size_t i = 0; i < n; ++i) bad |= !((q[i] - q[i]) == 0.0f);
  if (bad) return false;
  // TiRex's nine levels get a loop the compiler unrolls.
  return levels == 9 ? Ordered<9>(q, steps) : Ordered(q, steps, levels);
}

}  // namespace

QuantileRepair RepairQuantiles(float* q, size_t steps, size_t levels) {
  QuantileRepair r;
  if (AllFiniteAndOrdered(q, steps, levels)) return r;
  for (size_t s = 0; s < steps; ++s) {
    float* row = q + s * levels;
    size_t bad = 0;
    bool crossed = false;
    for (size_t k = 0; k < levels; ++k) {
      if (!std::isfinite(row[k])) ++bad;
      if (k > 0 && row[k] < row[k - 1]) crossed = true;
    }
    if (bad) {
      r.nonFiniteValues += bad;
      ++r.nonFiniteSteps;
      continue;
    }
    if (!crossed) continue;
    ++r.crossedSteps;
    // Insertion sort: Q is tiny and usually nearly sorted.
    for (size_t k = 1; k < levels; ++k) {
      float v = row[k];
      size_t j = k;
      while (j > 0 && row[j - 1] > v) {
        row[j] = row[j - 1];
        --j;
      }
      row[j] = v;
    }
  }
  return r;
}

size_t CheckMean(float* mean, const float* q, size_t steps, size_t levels, size_t medianIndex,
                 double maxDeviation, bool replace) {
  size_t flagged = 0;
  for (size_t s = 0; s < steps; ++s) {
    const float* row = q + s * levels;
    double m = mean[s];
    double lo = row[0], hi = row[levels - 1], median = row[medianIndex];
    // dev == 0 first: an infinite maxDeviation times a flat band (0) is NaN, not a pass.
    const double dev = std::fabs(m - median);
    bool ok = std::isfinite(m) && std::isfinite(lo) && std::isfinite(hi) && std::isfinite(median) && m >= lo &&
              m <= hi && (dev == 0 || dev <= maxDeviation * (hi - lo));
    if (ok) continue;
    ++flagged;
    if (replace && std::isfinite(median)) mean[s] = row[medianIndex];
  }
  return flagged;
}

}  // namespace tg::kernels
