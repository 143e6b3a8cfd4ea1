// Output shield kernels over a [B, H, Q] quantile tensor (Q levels per forecast step).
// Q is small (9 for TiRex) and steps are few, so these are scalar.
#pragma once
#include <cstddef>

namespace tg::kernels {

struct QuantileRepair {
  size_t crossedSteps = 0;     // finite steps whose levels were out of order (now sorted)
  size_t nonFiniteValues = 0;  // NaN or Inf values
  size_t nonFiniteSteps = 0;   // steps holding any non-finite value (left untouched)
};

// Sorts the Q values of every finite step in place (ascending) and counts what it found.
QuantileRepair RepairQuantiles(float* q, size_t steps, size_t levels);

// Checks a mean output [steps] against the quantiles: a step is flagged when its mean is not
// finite, lies outside [q_first, q_last], or is farther than maxDeviation * (q_last - q_first)
// from the median. With `replace`, flagged means become the median when the median is finite.
size_t CheckMean(float* mean, const float* q, size_t steps, size_t levels, size_t medianIndex,
                 double maxDeviation, bool replace);

}  // namespace tg::kernels
