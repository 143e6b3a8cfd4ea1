#include "quantiles.h"

#include <cmath>

namespace tg::kernels {

QuantileRepair RepairQuantiles(float* q, size_t steps, size_t levels) {
  QuantileRepair r;
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
