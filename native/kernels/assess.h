// The input shield's pass over one series: the scan's statistics, then the recent signals
// (spike, level shift, last finite value, sigma). kAssessStride doubles per series.
#pragma once
#include <cstddef>

#include "recent.h"
#include "scan.h"

namespace tg::kernels {

inline constexpr size_t kAssessStride = kScanStride + 4;

template <typename T>
void AssessRow(const T* x, size_t n, Bounds b, double* o, bool simd) {
  ScanRow(x, n, b, o, simd);
  const RecentSignals s = ComputeRecentSignals(x, n);
  o[kScanStride + 0] = s.spike;
  o[kScanStride + 1] = s.levelShift;
  o[kScanStride + 2] = s.last;
  o[kScanStride + 3] = s.sigma;
}

}  // namespace tg::kernels
