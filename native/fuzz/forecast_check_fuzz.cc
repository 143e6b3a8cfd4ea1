// libFuzzer harness for the output shield's pass (native/kernels/forecast_check.{h,cc}):
// [batch, horizon, levels] float32 quantiles at varying alignments, any anchors (last, sigma,
// min, max: NaN, Inf, huge and subnormal included), any finite k > 0 (what the addon accepts),
// clamp on or off, with and without a mean buffer. (This kernel has no AVX2 path.)
//
// Checks:
//  - crossedSteps / nonFiniteValues / nonFiniteSteps are RepairQuantiles' on the same input;
//  - with a non-finite value: the quantiles are exactly the repaired ones, the mean buffer is not
//    written, and nothing else is counted;
//  - otherwise: no value is NaN or Inf afterwards (a repair must never create one), every step
//    is sorted, the mean is each step's median bit for bit; without clamp, and in rows with no
//    finite last value, the quantiles are exactly the repaired ones; with clamp at most
//    clampedSteps steps changed;
//  - unanchoredRows, implausibleSteps, implausibleBands and absurdSteps equal the rules of
//    forecast_check.h / test/reference.ts checkForecastRef evaluated on the repaired steps (they do
//    not depend on the clamps: each step is judged before it is shifted); clampedSteps is
//    implausibleSteps with clamp, 0 without; absurd <= implausible.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "../kernels/forecast_check.h"
#include "../kernels/quantiles.h"
#include "fuzz_input.h"

using namespace tg::kernels;
using tg::fuzz::Bits;
using tg::fuzz::FuzzInput;
using tg::fuzz::GuardedBuffer;
using tg::fuzz::SameBits;

namespace {

constexpr size_t kMaxValues = 1 << 12;
constexpr float kSentinel = -1234.5f;

double JsMax(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : (a > b ? a : b); }
double JsMin(double a, double b) { return std::isnan(a) || std::isnan(b) ? NAN : (a < b ? a : b); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint8_t flags = in.U8();
  const bool clamp = flags & 1;
  const bool withMean = (flags >> 1) & 1;
  const size_t batch = 1 + (flags >> 2) % 4;
  const size_t levels = 1 + in.U8() % 12;
  const size_t horizon = 1 + in.Range(0, kMaxValues / (batch * levels) - 1);
  const size_t median = in.U8() % levels;
  const size_t offset = in.U8() % 8;
  double k = std::fabs(in.Value<double>());
  if (!(k > 0) || !std::isfinite(k)) k = 1 + in.U8() % 8;  // the addon refuses the others
  std::vector<double> anchors(batch * kAnchorStride);
  for (double& a : anchors) a = in.Value<double>();
  const size_t steps = batch * horizon;
  GuardedBuffer<float> q(steps * levels, offset);
  GuardedBuffer<float> mean(steps, (offset + 5) % 8);
  in.FillSeries(q.data(), steps * levels);
  for (size_t s = 0; s < steps; ++s) mean[s] = kSentinel;

  std::vector<float> repaired(q.data(), q.data() + steps * levels);
  const QuantileRepair rr = RepairQuantiles(repaired.data(), steps, levels);
  const ForecastCheck c = CheckForecast(q.data(), batch, horizon, levels, median, anchors.data(), k, clamp,
                                        withMean ? mean.data() : nullptr);
  TG_CHECK(c.crossedSteps == rr.crossedSteps && c.nonFiniteValues == rr.nonFiniteValues &&
               c.nonFiniteSteps == rr.nonFiniteSteps,
           "repair counts {%zu, %zu, %zu} differ from RepairQuantiles' {%zu, %zu, %zu}", c.crossedSteps,
           c.nonFiniteValues, c.nonFiniteSteps, rr.crossedSteps, rr.nonFiniteValues, rr.nonFiniteSteps);
  for (size_t s = 0; s < steps; ++s) {
    if (!withMean || rr.nonFiniteValues > 0) {
      TG_CHECK(SameBits(mean[s], kSentinel), "mean[%zu] written (%a) though %s", s, static_cast<double>(mean[s]),
               withMean ? "a value was not finite" : "no mean was passed");
    }
  }
  if (rr.nonFiniteValues > 0) {
    TG_CHECK(std::memcmp(q.data(), repaired.data(), repaired.size() * sizeof(float)) == 0,
             "with a non-finite value the quantiles differ from the repaired ones");
    TG_CHECK(c.implausibleSteps == 0 && c.clampedSteps == 0 && c.implausibleBands == 0 && c.absurdSteps == 0 &&
                 c.unanchoredRows == 0,
             "with a non-finite value other counts are not 0");
    return 0;
  }

  size_t unanchored = 0, implausible = 0, bands = 0, absurd = 0, changed = 0;
  for (size_t b = 0; b < batch; ++b) {
    const double* a = anchors.data() + b * kAnchorStride;
    const double last = a[0], sigma = a[1], mn = a[2], mx = a[3];
    const bool anchored = std::isfinite(last);
    if (!anchored) ++unanchored;
    const double unit = JsMax(JsMax(sigma, 1e-6 * std::fabs(last)), 1e-12);
    const double lo = std::isfinite(mn) ? JsMin(mn, last) : last;
    const double hi = std::isfinite(mx) ? JsMax(mx, last) : last;
    for (size_t h = 0; h < horizon; ++h) {
      const size_t s = b * horizon + h;
      const float* rep = repaired.data() + s * levels;
      const float* got = q.data() + s * levels;
      bool stepChanged = false;
      for (size_t j = 0; j < levels; ++j) {
        TG_CHECK(std::isfinite(got[j]),
                 "step %zu (row %zu, h %zu) level %zu: %a after the pass, %a before (anchors last %a sigma %a min %a max "
                 "%a, k %a, clamp %d): a repair created a non-finite value",
                 s, b, h, j, static_cast<double>(got[j]), static_cast<double>(rep[j]), last, sigma, mn, mx, k, clamp);
        if (j > 0) TG_CHECK(got[j - 1] <= got[j], "step %zu: levels %zu and %zu out of order after the pass", s, j - 1, j);
        if (!SameBits(got[j], rep[j])) stepChanged = true;
      }
      if (stepChanged) ++changed;
      TG_CHECK(!stepChanged || (clamp && anchored), "step %zu changed though %s", s, clamp ? "its row has no anchor" : "clamp is off");
      if (withMean) {
        TG_CHECK(SameBits(mean[s], got[median]), "mean[%zu] %a is not the median %a", s, static_cast<double>(mean[s]),
                 static_cast<double>(got[median]));
      }
      if (!anchored) continue;
      const double bound = k * unit * std::sqrt(static_cast<double>(h + 1));
      const double med = rep[median];
      if (static_cast<double>(rep[levels - 1]) - static_cast<double>(rep[0]) > 4 * (hi - lo + 2 * bound)) ++bands;
      const double excess = med > hi + bound ? med - (hi + bound) : med < lo - bound ? med - (lo - bound) : 0;
      if (excess == 0) continue;
      if (std::fabs(excess) > 100 * (hi - lo + bound)) ++absurd;
      ++implausible;
    }
  }
  TG_CHECK(c.unanchoredRows == unanchored, "unanchoredRows %zu, expected %zu", c.unanchoredRows, unanchored);
  TG_CHECK(c.implausibleSteps == implausible, "implausibleSteps %zu, reference %zu", c.implausibleSteps, implausible);
  TG_CHECK(c.implausibleBands == bands, "implausibleBands %zu, reference %zu", c.implausibleBands, bands);
  TG_CHECK(c.absurdSteps == absurd, "absurdSteps %zu, reference %zu", c.absurdSteps, absurd);
  TG_CHECK(c.clampedSteps == (clamp ? implausible : 0), "clampedSteps %zu with clamp %d and %zu implausible steps",
           c.clampedSteps, clamp, implausible);
  TG_CHECK(changed <= c.clampedSteps, "%zu steps changed, %zu clamped", changed, c.clampedSteps);
  return 0;
}
