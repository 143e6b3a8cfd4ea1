#include "recent.h"

#include <cmath>
#include <limits>

namespace tg::kernels {
namespace {

template <typename T>
RecentSignals Compute(const T* x, size_t n) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const size_t from = n > kRecentWindow ? n - kRecentWindow : 0;
  const size_t tailFrom = n > kShiftTail ? n - kShiftTail : 0;
  double prev = nan, sumAbs = 0, maxAbs = 0, tailSum = 0, headSum = 0;
  size_t changes = 0, tailN = 0, headN = 0;
  for (size_t i = from; i < n; ++i) {
    const double v = static_cast<double>(x[i]);
    if (!std::isfinite(v)) continue;
    if (!std::isnan(prev)) {
      const double d = std::fabs(v - prev);
      sumAbs += d;
      if (d > maxAbs) maxAbs = d;
      ++changes;
    }
    prev = v;
    if (i >= tailFrom) {
      tailSum += v;
      ++tailN;
    } else {
      headSum += v;
      ++headN;
    }
  }
  RecentSignals r;
  r.last = prev;
  // A NaN tail longer than the window: the last finite value lies further back.
  for (size_t i = from; std::isnan(r.last) && i > 0; --i) {
    const double v = static_cast<double>(x[i - 1]);
    if (std::isfinite(v)) r.last = v;
  }
  r.sigma = changes > 0 ? (1.2533 * sumAbs) / static_cast<double>(changes) : 0;
  if (changes < 4) return r;
  // The typical change leaves the largest one out, so a single spike cannot hide itself.
  const double typical = (sumAbs - maxAbs) / static_cast<double>(changes - 1);
  if (typical == 0) {
    r.spike = maxAbs > 0 ? std::numeric_limits<double>::infinity() : 0;
    return r;
  }
  r.spike = maxAbs / typical;
  if (tailN > 0 && headN > 0) {
    const double shift = std::fabs(tailSum / static_cast<double>(tailN) - headSum / static_cast<double>(headN));
    r.levelShift = shift / (typical * std::sqrt(static_cast<double>(kShiftTail)));
  }
  return r;
}

}  // namespace

RecentSignals ComputeRecentSignals(const float* x, size_t n) { return Compute(x, n); }
RecentSignals ComputeRecentSignals(const double* x, size_t n) { return Compute(x, n); }

}  // namespace tg::kernels
