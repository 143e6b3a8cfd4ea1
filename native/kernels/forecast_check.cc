#include "forecast_check.h"

#include <cfloat>
#include <cmath>

#include "quantiles.h"

namespace tg::kernels {
namespace {

// Math.max's semantics (NaN wins), so the kernel rounds and decides exactly like its reference.
double JsMax(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : (a > b ? a : b); }
double JsMin(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : (a < b ? a : b); }

// A double as float32, saturated to the finite range: shifting a step of finite float32 values
// by an excess near FLT_MAX can leave the float range, and a plain cast would turn a repair into
// +-Infinity. (NaN stays NaN and is counted as non-finite.)
float SaturateToFloat(double v) {
  return v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : static_cast<float>(v);
}

}  // namespace

ForecastCheck CheckForecast(float* q, size_t batch, size_t horizon, size_t levels, size_t medianIndex,
                            const double* anchors, double k, bool clamp, float* mean) {
  ForecastCheck c;
  const QuantileRepair r = RepairQuantiles(q, batch * horizon, levels);
  c.crossedSteps = r.crossedSteps;
  c.nonFiniteValues = r.nonFiniteValues;
  c.nonFiniteSteps = r.nonFiniteSteps;
  if (c.nonFiniteValues > 0) return c;
  // sqrt(h + 1) once per step for every series (the bound grows with the square root of the step).
  double roots[64];
  const size_t cached = horizon < 64 ? horizon : 64;
  for (size_t h = 0; h < cached; ++h) roots[h] = std::sqrt(static_cast<double>(h + 1));
  for (size_t b = 0; b < batch; ++b) {
    const double* a = anchors + b * kAnchorStride;
    const double last = a[0], sigma = a[1], min = a[2], max = a[3];
    if (!std::isfinite(last)) {
      ++c.unanchoredRows;
      continue;
    }
    // A flat history still allows a small move: a relative floor keeps the bound positive.
    const double unit = JsMax(JsMax(sigma, 1e-6 * std::fabs(last)), 1e-12);
    const double lo = std::isfinite(min) ? JsMin(min, last) : last;
    const double hi = std::isfinite(max) ? JsMax(max, last) : last;
    for (size_t h = 0; h < horizon; ++h) {
      float* step = q + (b * horizon + h) * levels;
      const double bound = k * unit * (h < cached ? roots[h] : std::sqrt(static_cast<double>(h + 1)));
      const double median = step[medianIndex];
      if (static_cast<double>(step[levels - 1]) - static_cast<double>(step[0]) > 4 * (hi - lo + 2 * bound)) {
        ++c.implausibleBands;
      }
      const double excess = median > hi + bound ? median - (hi + bound) : median < lo - bound ? median - (lo - bound) : 0;
      if (excess == 0) continue;
      if (std::fabs(excess) > 100 * (hi - lo + bound)) ++c.absurdSteps;
      ++c.implausibleSteps;
      if (clamp) {
        // Shift the whole step: the levels stay ordered and the median lands on the bound.
        // Counted after the repair: the report describes the values the caller gets.
        size_t bad = 0;
        for (size_t j = 0; j < levels; ++j) {
          step[j] = SaturateToFloat(static_cast<double>(step[j]) - excess);
          if (!std::isfinite(step[j])) ++bad;
        }
        c.nonFiniteValues += bad;
        c.nonFiniteSteps += bad > 0 ? 1 : 0;
        ++c.clampedSteps;
      }
    }
  }
  if (mean != nullptr && c.nonFiniteValues == 0) {
    for (size_t s = 0; s < batch * horizon; ++s) mean[s] = q[s * levels + medianIndex];
  }
  return c;
}

}  // namespace tg::kernels
