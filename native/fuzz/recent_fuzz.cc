// libFuzzer harness for the recent-window assessment (native/kernels/recent.{h,cc}): float32 and
// float64 series of any length (past the 256-point window and the 16-point tail) at varying
// alignments. (This kernel has no AVX2 path.)
//
// Checks:
//  - spike, levelShift, last and sigma equal test/reference.ts recentSignalsRef (which the kernel
//    must reproduce exactly: plain double arithmetic in index order), bit for bit;
//  - a float32 series gives exactly what the same values widened to float64 give;
//  - last is the last finite value of the whole series (NaN when there is none);
//  - sigma, spike and levelShift are >= 0 (spike may be +Inf: flat, then a move) and not NaN,
//    except where the sum of the changes overflows (float64 values beyond ~1e307, which the input
//    shield's bounds refuse anyway), where the reference gives NaN too.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../kernels/recent.h"
#include "fuzz_input.h"

using namespace tg::kernels;
using tg::fuzz::Bits;
using tg::fuzz::FuzzInput;
using tg::fuzz::GuardedBuffer;
using tg::fuzz::SameBits;

namespace {

constexpr size_t kMaxLen = 1 << 12;

// test/reference.ts recentSignalsRef, line by line.
template <typename T>
RecentSignals Reference(const T* values, size_t n, bool* overflowed) {
  const size_t from = n > 256 ? n - 256 : 0;
  struct Point {
    size_t i;
    double v;
  };
  std::vector<Point> finite;
  for (size_t i = from; i < n; ++i)
    if (std::isfinite(values[i])) finite.push_back({i, static_cast<double>(values[i])});
  double last = NAN;
  for (size_t i = n; i-- > 0;) {
    if (std::isfinite(values[i])) {
      last = static_cast<double>(values[i]);
      break;
    }
  }
  std::vector<double> changes;
  for (size_t j = 1; j < finite.size(); ++j) changes.push_back(std::fabs(finite[j].v - finite[j - 1].v));
  double sumAbs = 0;
  for (double d : changes) sumAbs += d;
  *overflowed = !std::isfinite(sumAbs);
  RecentSignals r;
  r.last = last;
  r.sigma = !changes.empty() ? (1.2533 * sumAbs) / static_cast<double>(changes.size()) : 0;
  if (changes.size() < 4) return r;
  double maxAbs = -INFINITY;
  for (double d : changes) maxAbs = std::max(maxAbs, d);
  const double typical = (sumAbs - maxAbs) / static_cast<double>(changes.size() - 1);
  if (typical == 0) {
    r.spike = maxAbs > 0 ? INFINITY : 0;
    return r;
  }
  double tailSum = 0, headSum = 0;
  size_t tailN = 0, headN = 0;
  for (const Point& p : finite) {
    if (p.i + 16 >= n) {  // i >= n - 16
      tailSum += p.v;
      ++tailN;
    } else {
      headSum += p.v;
      ++headN;
    }
  }
  r.levelShift = tailN > 0 && headN > 0
                     ? std::fabs(tailSum / static_cast<double>(tailN) - headSum / static_cast<double>(headN)) / (typical * 4)
                     : 0;
  r.spike = maxAbs / typical;
  if (!std::isfinite(tailSum) || !std::isfinite(headSum)) *overflowed = true;
  return r;
}

void RequireSame(const RecentSignals& a, const RecentSignals& b, const char* what, size_t n) {
  TG_CHECK(SameBits(a.spike, b.spike) && SameBits(a.levelShift, b.levelShift) && SameBits(a.last, b.last) &&
               SameBits(a.sigma, b.sigma),
           "%s (n %zu): {spike %a, levelShift %a, last %a, sigma %a} vs {%a, %a, %a, %a}", what, n, a.spike,
           a.levelShift, a.last, a.sigma, b.spike, b.levelShift, b.last, b.sigma);
}

template <typename T>
void Run(FuzzInput& in, size_t n, size_t offset) {
  GuardedBuffer<T> x(n, offset);
  in.FillSeries(x.data(), n);
  const RecentSignals got = ComputeRecentSignals(x.data(), n);
  bool overflowed = false;
  const RecentSignals want = Reference(x.data(), n, &overflowed);
  RequireSame(got, want, "kernel vs reference", n);
  if (std::is_same_v<T, float>) {
    std::vector<double> wide(x.data(), x.data() + n);
    RequireSame(got, ComputeRecentSignals(wide.data(), n), "float32 vs the same series widened to float64", n);
  }
  double last = NAN;
  for (size_t i = n; i-- > 0;) {
    if (std::isfinite(x[i])) {
      last = static_cast<double>(x[i]);
      break;
    }
  }
  TG_CHECK(SameBits(got.last, last), "last %a, the last finite value is %a", got.last, last);
  if (!overflowed) {
    TG_CHECK(got.sigma >= 0 && got.spike >= 0 && got.levelShift >= 0,
             "n %zu: a signal is negative or NaN: spike %a levelShift %a sigma %a", n, got.spike, got.levelShift,
             got.sigma);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint8_t flags = in.U8();
  const bool f64 = flags & 1;
  const size_t n = in.Range(0, kMaxLen);
  const size_t offset = in.U8() % (f64 ? 4 : 8);
  if (f64) Run<double>(in, n, offset);
  else Run<float>(in, n, offset);
  return 0;
}
