// The output shield's per-element work over a [B, H, Q] quantile forecast, in one pass: sort
// crossing levels, count non-finite values, judge each step's median against the plausible span
// of its series (the context's finite range widened by k * sigma * sqrt(h)), check the 10-90%
// band, shift implausible steps onto the bound when asked, and write the mean (the median).
// What to do about the counts (pass, correct, replace by a fallback) is the caller's policy.
#pragma once
#include <cstddef>

namespace tg::kernels {

// Per series, four doubles: the last finite value, sigma (the unit of plausible movement), and
// the finite min and max of the context the model saw (NaN when unknown).
inline constexpr size_t kAnchorStride = 4;

struct ForecastCheck {
  size_t crossedSteps = 0;      // finite steps whose levels crossed (now sorted)
  size_t nonFiniteValues = 0;   // NaN or Inf values after every repair (then no mean is written;
                                // in the input, nothing else is judged either)
  size_t nonFiniteSteps = 0;    // steps holding one
  size_t implausibleSteps = 0;  // medians outside the plausible span
  size_t clampedSteps = 0;      // of those, steps shifted so the median lands on the bound
  size_t implausibleBands = 0;  // steps whose outer band is wider than 4x the plausible span
  size_t absurdSteps = 0;       // medians beyond the span by more than 100 spans (no clamp helps)
  size_t unanchoredRows = 0;    // series with no finite last value: nothing to judge against
};

// `q` is checked and repaired in place (a clamp saturates at +-FLT_MAX, it never makes an
// infinity). `mean` ([B, H], may be null) gets each step's median after the repairs, only when
// every value is finite.
ForecastCheck CheckForecast(float* q, size_t batch, size_t horizon, size_t levels, size_t medianIndex,
                            const double* anchors, double k, bool clamp, float* mean);

}  // namespace tg::kernels
