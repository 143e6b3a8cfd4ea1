// libFuzzer harness for the quantile repair and the mean check (native/kernels/quantiles.{h,cc}):
// [steps, levels] float32 quantiles at varying alignments, a float32 mean per step, any median
// index < levels and any maxDeviation >= 0 (+Inf included), with and without replacement.
// (These kernels have no AVX2 path.)
//
// RepairQuantiles:
//  - equals test/reference.ts repairQuantilesRef (stable sort of every all-finite step that
//    crosses, others untouched), values and counts, bit for bit;
//  - every all-finite step is sorted afterwards and holds the same values (a permutation, bit for
//    bit); a step with a NaN or Inf is untouched; no value becomes non-finite;
//  - a second repair finds nothing crossed and changes nothing.
// CheckMean:
//  - equals test/reference.ts checkMeanRef (flagged count and means, bit for bit);
//  - unflagged means are untouched; without `replace` nothing is written; with it a flagged mean
//    becomes the median when that is finite, and no NaN is created;
//  - run again after the replacement, exactly the flagged steps whose median is not finite or lies
//    outside [q_first, q_last] (so the median itself fails) are flagged again.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "../kernels/quantiles.h"
#include "fuzz_input.h"

using namespace tg::kernels;
using tg::fuzz::Bits;
using tg::fuzz::FuzzInput;
using tg::fuzz::GuardedBuffer;
using tg::fuzz::SameBits;

namespace {

constexpr size_t kMaxValues = 1 << 12;

bool StepFinite(const float* row, size_t levels) {
  for (size_t k = 0; k < levels; ++k)
    if (!std::isfinite(row[k])) return false;
  return true;
}

bool StepSorted(const float* row, size_t levels) {
  for (size_t k = 1; k < levels; ++k)
    if (row[k] < row[k - 1]) return false;
  return true;
}

void CheckRepair(const float* original, float* q, size_t steps, size_t levels) {
  const QuantileRepair r = RepairQuantiles(q, steps, levels);
  size_t crossed = 0, nonFiniteValues = 0, nonFiniteSteps = 0;
  for (size_t s = 0; s < steps; ++s) {
    const float* in = original + s * levels;
    const float* out = q + s * levels;
    if (!StepFinite(in, levels)) {
      ++nonFiniteSteps;
      for (size_t k = 0; k < levels; ++k) nonFiniteValues += std::isfinite(in[k]) ? 0 : 1;
      for (size_t k = 0; k < levels; ++k) {
        TG_CHECK(SameBits(in[k], out[k]), "step %zu level %zu: a step with a non-finite value was changed", s, k);
      }
      continue;
    }
    // The reference: a stable sort (so -0 and +0 keep their order).
    std::vector<float> want(in, in + levels);
    if (!StepSorted(in, levels)) {
      ++crossed;
      std::stable_sort(want.begin(), want.end());
    }
    for (size_t k = 0; k < levels; ++k) {
      TG_CHECK(SameBits(out[k], want[k]), "step %zu level %zu of %zu: repaired %a, reference %a", s, k, levels,
               static_cast<double>(out[k]), static_cast<double>(want[k]));
    }
    TG_CHECK(StepFinite(out, levels) && StepSorted(out, levels), "step %zu: not sorted or not finite after repair", s);
    std::vector<uint32_t> a(levels), b(levels);
    for (size_t k = 0; k < levels; ++k) a[k] = Bits(in[k]), b[k] = Bits(out[k]);
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    TG_CHECK(a == b, "step %zu: the repaired step is not a permutation of the original", s);
  }
  TG_CHECK(r.crossedSteps == crossed && r.nonFiniteValues == nonFiniteValues && r.nonFiniteSteps == nonFiniteSteps,
           "repair report {crossed %zu, nonFiniteValues %zu, nonFiniteSteps %zu}, reference {%zu, %zu, %zu}",
           r.crossedSteps, r.nonFiniteValues, r.nonFiniteSteps, crossed, nonFiniteValues, nonFiniteSteps);
  std::vector<float> before(q, q + steps * levels);
  const QuantileRepair again = RepairQuantiles(q, steps, levels);
  TG_CHECK(again.crossedSteps == 0 && again.nonFiniteValues == r.nonFiniteValues && again.nonFiniteSteps == r.nonFiniteSteps,
           "a second repair found %zu crossed steps", again.crossedSteps);
  TG_CHECK(before.empty() || std::memcmp(before.data(), q, before.size() * sizeof(float)) == 0,
           "a second repair changed the quantiles");
}

void CheckMeanAgainstReference(float* mean, const float* q, size_t steps, size_t levels, size_t median, double maxDev,
                               bool replace) {
  std::vector<float> original(mean, mean + steps);
  std::vector<char> flaggedStep(steps, 0);
  size_t want = 0;
  std::vector<float> wantMean(original);
  for (size_t s = 0; s < steps; ++s) {
    const double m = original[s];
    const double lo = q[s * levels], hi = q[s * levels + levels - 1], med = q[s * levels + median];
    const double dev = std::fabs(m - med);
    const bool ok = std::isfinite(m) && std::isfinite(lo) && std::isfinite(hi) && std::isfinite(med) && m >= lo &&
                    m <= hi && (dev == 0 || dev <= maxDev * (hi - lo));
    if (ok) continue;
    ++want;
    flaggedStep[s] = 1;
    if (replace && std::isfinite(med)) wantMean[s] = q[s * levels + median];
  }
  const size_t flagged = CheckMean(mean, q, steps, levels, median, maxDev, replace);
  TG_CHECK(flagged == want, "checkMean flagged %zu steps, reference %zu (maxDeviation %a, replace %d)", flagged, want,
           maxDev, replace);
  for (size_t s = 0; s < steps; ++s) {
    TG_CHECK(SameBits(mean[s], wantMean[s]), "checkMean step %zu: mean %a, reference %a (was %a, flagged %d)", s,
             static_cast<double>(mean[s]), static_cast<double>(wantMean[s]), static_cast<double>(original[s]),
             flaggedStep[s]);
    if (!std::isnan(original[s])) TG_CHECK(!std::isnan(mean[s]), "checkMean step %zu: NaN created", s);
  }
  if (!replace) return;
  // After the replacement only medians that fail themselves are flagged again.
  size_t again = 0;
  for (size_t s = 0; s < steps; ++s) {
    if (!flaggedStep[s]) continue;
    const float lo = q[s * levels], hi = q[s * levels + levels - 1], med = q[s * levels + median];
    const bool medianOk = std::isfinite(lo) && std::isfinite(hi) && std::isfinite(med) && lo <= med && med <= hi;
    if (!medianOk) ++again;
  }
  std::vector<float> copy(mean, mean + steps);
  const size_t second = CheckMean(copy.data(), q, steps, levels, median, maxDev, true);
  TG_CHECK(second == again, "checkMean after replacement flagged %zu steps, expected %zu", second, again);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint8_t flags = in.U8();
  const bool replace = flags & 1;
  const bool repairFirst = (flags >> 1) & 1;  // the output shield repairs, then checks the mean
  const size_t levels = 1 + in.U8() % 16;
  const size_t steps = in.Range(0, kMaxValues / levels);
  const size_t median = in.U8() % levels;
  const size_t offset = in.U8() % 8;
  double maxDev;
  switch (in.U8() % 4) {
    case 0: maxDev = 0; break;
    case 1: maxDev = INFINITY; break;
    default: maxDev = std::fabs(in.Value<double>()); break;
  }
  if (std::isnan(maxDev)) maxDev = 0.5;  // the addon refuses NaN (and negative values)
  GuardedBuffer<float> mean(steps, (offset + 3) % 8);
  GuardedBuffer<float> q(steps * levels, offset);
  // The mean from a slice of the input, then the quantiles from what is left.
  FuzzInput meanBytes = in.Split(in.U8());
  meanBytes.FillSeries(mean.data(), steps);
  in.FillSeries(q.data(), steps * levels);
  std::vector<float> original(q.data(), q.data() + steps * levels);
  if (repairFirst) CheckRepair(original.data(), q.data(), steps, levels);
  const std::vector<float> qBefore(q.data(), q.data() + steps * levels);
  CheckMeanAgainstReference(mean.data(), q.data(), steps, levels, median, maxDev, replace);
  TG_CHECK(qBefore.empty() || std::memcmp(qBefore.data(), q.data(), qBefore.size() * sizeof(float)) == 0,
           "checkMean changed the quantiles");
  if (!repairFirst) CheckRepair(original.data(), q.data(), steps, levels);
  return 0;
}
