// The most recent points of a series: spike and level-shift signals for the input shield, and the
// anchors the output shield judges a forecast against (last finite value, realized volatility).
// Scalar on purpose: it reads at most kRecentWindow points, which the scan has just brought into
// cache, and it must round exactly like its TypeScript reference (plain double arithmetic, in
// index order).
#pragma once
#include <cstddef>

namespace tg::kernels {

inline constexpr size_t kRecentWindow = 256;  // points the spike and level-shift signals look at
inline constexpr size_t kShiftTail = 16;      // the level shift compares these last points with the rest

struct RecentSignals {
  double spike = 0;       // largest one-step change over the typical change without it (Inf: flat, then a move)
  double levelShift = 0;  // |mean of the tail - mean of the head| in units of typical change * sqrt(kShiftTail)
  double last = 0;        // the last finite value of the whole series (NaN when none)
  double sigma = 0;       // 1.2533 * mean |one-step change| (the Gaussian relation to a std), 0 with no change
};

RecentSignals ComputeRecentSignals(const float* x, size_t n);
RecentSignals ComputeRecentSignals(const double* x, size_t n);

}  // namespace tg::kernels
