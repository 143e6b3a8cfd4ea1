// Shared state of one row scan. Included by the scalar and the AVX2 translation units so both
// accumulate, flush and reduce exactly alike (that is what makes their results bit-identical).
#pragma once
#include <cmath>
#include <cstdint>
#include <limits>

#include "scan.h"

// Internal linkage: this header is compiled into the scalar and the AVX2 translation units, and
// an out-of-line copy built with -mavx2 must never be the one the scalar path links to.
namespace tg::kernels {
namespace {
namespace detail {

inline unsigned Ctz(uint64_t w) { return static_cast<unsigned>(__builtin_ctzll(w)); }
inline unsigned Popcount(uint64_t w) { return static_cast<unsigned>(__builtin_popcountll(w)); }

// Longest run of set bits in a stream of bits, fed a bit or a 64-bit word (bit 0 first) at a time.
struct RunTracker {
  uint64_t cur = 0;
  uint64_t best = 0;

  void PushBit(bool bit) {
    if (bit) {
      ++cur;
    } else {
      if (cur > best) best = cur;
      cur = 0;
    }
  }

  void PushWord(uint64_t w) {
    if (w == 0) {
      if (cur > best) best = cur;
      cur = 0;
      return;
    }
    if (w == ~uint64_t{0}) {
      cur += 64;
      return;
    }
    // The run that continues from the previous word ends inside this one.
    unsigned lead = Ctz(~w);
    cur += lead;
    if (cur > best) best = cur;
    cur = 0;
    uint64_t x = w >> lead;  // bit 0 is now clear, so every shift below is < 64
    unsigned pos = lead;
    for (;;) {
      if (x == 0) return;
      unsigned zeros = Ctz(x);
      x >>= zeros;
      pos += zeros;
      unsigned ones = Ctz(~x);
      pos += ones;
      if (pos >= 64) {  // reaches the top bit: continues into the next word
        cur = ones;
        return;
      }
      if (ones > best) best = ones;
      x >>= ones;
    }
  }

  uint64_t Finish() const { return cur > best ? cur : best; }
};

// Mean and M2 relative to a pivot (a finite value of the row), merged block by block with
// Chan's parallel update: stable for large offsets and long rows.
struct Moments {
  double n = 0;
  double meanOffset = 0;
  double m2 = 0;

  void MergeBlock(double count, double sum, double sumSq) {
    if (count == 0) return;
    double blockMean = sum / count;
    double blockM2 = sumSq - sum * blockMean;
    if (blockM2 < 0) blockM2 = 0;
    if (n == 0) {
      n = count;
      meanOffset = blockMean;
      m2 = blockM2;
      return;
    }
    double total = n + count;
    double delta = blockMean - meanOffset;
    meanOffset += delta * (count / total);
    m2 += blockM2 + delta * delta * (n * (count / total));
    n = total;
  }
};

// Element i goes to lane i % 8 for min/max and for the shifted sums: one float vector, or two
// alternating double vectors. More lanes would break longer add chains but spill registers.
inline constexpr int kLanes = 8;
inline constexpr int kSumLanes = 8;

// Below this, squared deviations can underflow: a spread can be as small as one ulp of the
// values, and (1e-130 * 2^-52)^2 is still a normal double.
inline constexpr double kTinyMagnitude = 1e-130;

template <typename T>
struct RowScan {
  const T* x;
  size_t n;
  Bounds bounds;
  T pivot = 0;
  double pivotD = 0;

  uint64_t nanCount = 0, posInf = 0, negInf = 0, outOfBounds = 0, finite = 0;
  int64_t firstNonFinite = -1;
  RunTracker nanRun, altRun, flatRun;
  bool prevNaN = false;

  T laneMin[kLanes];
  T laneMax[kLanes];
  double laneSum[kSumLanes];
  double laneSumSq[kSumLanes];
  uint64_t blockFinite = 0;
  Moments moments;

  RowScan(const T* data, size_t len, Bounds b) : x(data), n(len), bounds(b) {
    for (int l = 0; l < kLanes; ++l) {
      laneMin[l] = std::numeric_limits<T>::infinity();
      laneMax[l] = -std::numeric_limits<T>::infinity();
    }
    for (int l = 0; l < kSumLanes; ++l) laneSum[l] = laneSumSq[l] = 0;
    // Non-finite values are replaced by the pivot in the lanes: it is a value of the row, so it
    // changes neither min nor max, and it contributes exactly zero to the shifted sums.
    for (size_t i = 0; i < n; ++i) {
      if (std::isfinite(x[i])) {
        pivot = x[i];
        break;
      }
    }
    pivotD = static_cast<double>(pivot);
  }

  void Step(size_t i) {
    T v = x[i];
    bool isNaN = std::isnan(v);
    bool isFinite = std::isfinite(v);
    if (isNaN) {
      ++nanCount;
    } else if (!isFinite) {
      if (v > 0) ++posInf; else ++negInf;
    }
    if (isFinite) {
      ++finite;
      ++blockFinite;
      double dv = static_cast<double>(v);
      if (dv < bounds.lo || dv > bounds.hi) ++outOfBounds;
    } else if (firstNonFinite < 0) {
      firstNonFinite = static_cast<int64_t>(i);
    }
    nanRun.PushBit(isNaN);
    altRun.PushBit(i > 0 && isNaN != prevNaN);
    prevNaN = isNaN;
    flatRun.PushBit(i > 0 && v == x[i - 1]);
    T vp = isFinite ? v : pivot;
    int l = static_cast<int>(i & (kLanes - 1));
    laneMin[l] = vp < laneMin[l] ? vp : laneMin[l];
    laneMax[l] = vp > laneMax[l] ? vp : laneMax[l];
    int sl = static_cast<int>(i & (kSumLanes - 1));
    double d = static_cast<double>(vp) - pivotD;
    laneSum[sl] += d;
    laneSumSq[sl] = std::fma(d, d, laneSumSq[sl]);
    if (((i + 1) & (kMomentBlock - 1)) == 0) FlushBlock();
  }

  static double ReduceSum(const double* s) {
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  }

  void FlushBlock() {
    moments.MergeBlock(static_cast<double>(blockFinite), ReduceSum(laneSum), ReduceSum(laneSumSq));
    for (int l = 0; l < kSumLanes; ++l) laneSum[l] = laneSumSq[l] = 0;
    blockFinite = 0;
  }

  // Rows whose squares overflow (values near 1e308) or underflow (all values below ~1e-130):
  // a two-pass fallback on values multiplied by a power of two that brings them near 1 (exact),
  // still shifted by the pivot so that a constant row keeps a std of exactly 0.
  void ScaledMoments(double magnitude, double* mean, double* stdev) const {
    const int e = std::ilogb(magnitude);
    const double py = std::ldexp(pivotD, -e);
    double sum = 0;
    for (size_t i = 0; i < n; ++i)
      if (std::isfinite(x[i])) sum += std::ldexp(static_cast<double>(x[i]), -e) - py;
    const double count = static_cast<double>(finite);
    const double meanOffset = sum / count;
    double ss = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(x[i])) continue;
      double d = (std::ldexp(static_cast<double>(x[i]), -e) - py) - meanOffset;
      ss += d * d;
    }
    *mean = std::ldexp(py + meanOffset, e);
    *stdev = std::ldexp(std::sqrt(ss / count), e);
  }

  void Write(double* out) {
    FlushBlock();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    out[kCount] = static_cast<double>(n);
    out[kNaNCount] = static_cast<double>(nanCount);
    out[kPosInfCount] = static_cast<double>(posInf);
    out[kNegInfCount] = static_cast<double>(negInf);
    out[kOutOfBoundsCount] = static_cast<double>(outOfBounds);
    out[kFiniteCount] = static_cast<double>(finite);
    if (finite == 0) {
      out[kMin] = out[kMax] = out[kMean] = out[kStd] = nan;
    } else {
      T mn = laneMin[0], mx = laneMax[0];
      for (int l = 1; l < kLanes; ++l) {
        mn = laneMin[l] < mn ? laneMin[l] : mn;
        mx = laneMax[l] > mx ? laneMax[l] : mx;
      }
      out[kMin] = static_cast<double>(mn);
      out[kMax] = static_cast<double>(mx);
      double mean = pivotD + moments.meanOffset;
      double stdev = std::sqrt(moments.m2 / moments.n);
      double magnitude = std::fmax(std::fabs(static_cast<double>(mn)), std::fabs(static_cast<double>(mx)));
      if (!std::isfinite(mean) || !std::isfinite(stdev) || (magnitude > 0 && magnitude < kTinyMagnitude)) {
        ScaledMoments(magnitude, &mean, &stdev);
      }
      out[kMean] = mean;
      out[kStd] = stdev;
    }
    out[kLongestNaNRun] = static_cast<double>(nanRun.Finish());
    out[kFirstNonFinite] = static_cast<double>(firstNonFinite);
    uint64_t alt = altRun.Finish();
    out[kAlternatingRun] = alt ? static_cast<double>(alt + 1) : 0.0;
    out[kLongestFlatRun] = n > nanCount ? static_cast<double>(flatRun.Finish() + 1) : 0.0;
    for (size_t f = kScanFieldCount; f < kScanStride; ++f) out[f] = 0;
  }
};

}  // namespace detail
}  // namespace
}  // namespace tg::kernels
