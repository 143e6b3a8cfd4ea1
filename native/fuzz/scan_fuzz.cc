// libFuzzer harness for the scan kernel (native/kernels/scan*.{h,cc}): float32 and float64 rows
// of a [rows, cols] batch at varying alignments, any bounds lo <= hi.
//
// Checks, per row:
//  - the AVX2 path gives the scalar path's 16 doubles bit for bit;
//  - a float32 row scans exactly like the same values widened to float64 (both paths are
//    specified as "element i widened to double"), bit for bit;
//  - counts, out-of-bounds, first non-finite index, longest NaN / alternating / flat runs equal a
//    plain element-at-a-time reference written from scan.h and test/reference.ts (scanRef);
//  - min / max equal the reference's by value (the sign of a zero is unspecified), and
//    min <= mean <= max; std finite and >= 0; a constant row has mean == the value and std == 0;
//  - mean and std agree with a shifted, compensated 80-bit two-pass reference: |mean - ref| <= 1e-12 * max|x| and
//    |std - ref| <= 1e-9 * (max - min), plus two ulps of the result (subnormal results), where
//    the kernel's rounding is far below both;
//  - no finite value: min, max, mean, std NaN; the padding fields are 0.
#include <algorithm>
#include <cmath>
#include <vector>

#include "../kernels/scan.h"
#include "fuzz_input.h"

using namespace tg::kernels;
using tg::fuzz::Avx2Available;
using tg::fuzz::Bits;
using tg::fuzz::FuzzInput;
using tg::fuzz::GuardedBuffer;
using tg::fuzz::SameBits;

namespace {

constexpr size_t kMaxCells = 1 << 14;  // rows * cols
const char* const kFieldNames[kScanStride] = {"count", "nanCount", "posInf", "negInf", "outOfBounds", "finite",
                                              "min", "max", "mean", "std", "longestNaNRun", "firstNonFinite",
                                              "alternatingRun", "longestFlatRun", "pad14", "pad15"};

void RequireSame(const double* a, const double* b, const char* what, size_t n, size_t row) {
  for (size_t f = 0; f < kScanStride; ++f) {
    if (!SameBits(a[f], b[f])) {
      tg::fuzz::Fail("%s: field %s differs (row %zu, n %zu): %a (0x%016llx) vs %a (0x%016llx)", what, kFieldNames[f],
                     row, n, a[f], static_cast<unsigned long long>(Bits(a[f])), b[f],
                     static_cast<unsigned long long>(Bits(b[f])));
    }
  }
}

// Neumaier's compensated sum, in 80-bit long double.
struct Neumaier {
  long double sum = 0, c = 0;
  void Add(long double v) {
    const long double t = sum + v;
    c += std::fabs(sum) >= std::fabs(v) ? (sum - t) + v : (v - t) + sum;
    sum = t;
  }
  long double Get() const { return sum + c; }
};

template <typename T>
void CheckAgainstReference(const T* x, size_t n, Bounds b, const double* out, size_t row) {
  uint64_t nan = 0, pinf = 0, ninf = 0, oob = 0, fin = 0;
  int64_t first = -1;
  uint64_t nanRun = 0, longestNaN = 0, alt = 0, longestAlt = 0, flat = 0, longestFlat = 0;
  T mn = std::numeric_limits<T>::infinity(), mx = -std::numeric_limits<T>::infinity();
  for (size_t i = 0; i < n; ++i) {
    const T v = x[i];
    const bool isNaN = std::isnan(v);
    if (isNaN) ++nan;
    else if (v == std::numeric_limits<T>::infinity()) ++pinf;
    else if (v == -std::numeric_limits<T>::infinity()) ++ninf;
    if (std::isfinite(v)) {
      ++fin;
      const double d = static_cast<double>(v);
      if (d < b.lo || d > b.hi) ++oob;
      if (v < mn) mn = v;
      if (v > mx) mx = v;
    } else if (first < 0) {
      first = static_cast<int64_t>(i);
    }
    nanRun = isNaN ? nanRun + 1 : 0;
    longestNaN = std::max(longestNaN, nanRun);
    if (i > 0 && std::isnan(x[i - 1]) != isNaN) alt += 1;
    else alt = 1;
    if (alt >= 2) longestAlt = std::max(longestAlt, alt);
    if (isNaN) flat = 0;
    else if (i > 0 && x[i - 1] == v) flat += 1;
    else flat = 1;
    longestFlat = std::max(longestFlat, flat);
  }
  const double want[] = {static_cast<double>(n),    static_cast<double>(nan),  static_cast<double>(pinf),
                         static_cast<double>(ninf), static_cast<double>(oob),  static_cast<double>(fin)};
  for (size_t f = 0; f < 6; ++f) {
    TG_CHECK(out[f] == want[f], "row %zu n %zu: %s = %.17g, reference %.17g", row, n, kFieldNames[f], out[f], want[f]);
  }
  TG_CHECK(out[kNaNCount] + out[kPosInfCount] + out[kNegInfCount] + out[kFiniteCount] == out[kCount],
           "row %zu: counts do not add up to the length", row);
  TG_CHECK(out[kOutOfBoundsCount] <= out[kFiniteCount], "row %zu: more out of bounds than finite", row);
  TG_CHECK(out[kFirstNonFinite] == static_cast<double>(first), "row %zu n %zu: firstNonFinite %.17g, reference %lld",
           row, n, out[kFirstNonFinite], static_cast<long long>(first));
  TG_CHECK(out[kLongestNaNRun] == static_cast<double>(longestNaN), "row %zu n %zu: longestNaNRun %.17g, reference %llu",
           row, n, out[kLongestNaNRun], static_cast<unsigned long long>(longestNaN));
  TG_CHECK(out[kAlternatingRun] == static_cast<double>(longestAlt),
           "row %zu n %zu: alternatingRun %.17g, reference %llu", row, n, out[kAlternatingRun],
           static_cast<unsigned long long>(longestAlt));
  TG_CHECK(out[kLongestFlatRun] == static_cast<double>(longestFlat),
           "row %zu n %zu: longestFlatRun %.17g, reference %llu", row, n, out[kLongestFlatRun],
           static_cast<unsigned long long>(longestFlat));
  TG_CHECK(out[14] == 0 && out[15] == 0, "row %zu: padding fields not zero", row);

  if (fin == 0) {
    TG_CHECK(std::isnan(out[kMin]) && std::isnan(out[kMax]) && std::isnan(out[kMean]) && std::isnan(out[kStd]),
             "row %zu: no finite value but min/max/mean/std = %a %a %a %a", row, out[kMin], out[kMax], out[kMean],
             out[kStd]);
    return;
  }
  const double min = out[kMin], max = out[kMax], mean = out[kMean], sd = out[kStd];
  TG_CHECK(min == static_cast<double>(mn) && max == static_cast<double>(mx),
           "row %zu n %zu: min/max %a %a, reference %a %a", row, n, min, max, static_cast<double>(mn),
           static_cast<double>(mx));
  TG_CHECK(min <= mean && mean <= max, "row %zu n %zu: mean %a outside [min %a, max %a]", row, n, mean, min, max);
  TG_CHECK(std::isfinite(sd) && sd >= 0, "row %zu n %zu: std %a not finite and >= 0", row, n, sd);
  if (min == max) {
    TG_CHECK(mean == min && sd == 0, "row %zu n %zu: constant row %a: mean %a std %a", row, n, min, mean, sd);
    return;
  }
  // The reference: shifted by the first finite value (so that it works at the scale of the
  // spread, not of the values: 1e15 + k/8 has no digits to spare), compensated 80-bit sums, a
  // refined mean, then the squared deviations (the 80-bit exponent range holds every square).
  long double pivot = 0;
  for (size_t i = 0; i < n; ++i) {
    if (std::isfinite(x[i])) {
      pivot = static_cast<long double>(x[i]);
      break;
    }
  }
  const long double count = static_cast<long double>(fin);
  Neumaier s1, s2, s3;
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(x[i])) s1.Add(static_cast<long double>(x[i]) - pivot);
  long double offset = s1.Get() / count;
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(x[i])) s2.Add((static_cast<long double>(x[i]) - pivot) - offset);
  offset += s2.Get() / count;
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(x[i])) continue;
    const long double d = (static_cast<long double>(x[i]) - pivot) - offset;
    s3.Add(d * d);
  }
  const long double lmean = pivot + offset;
  const long double lstd = std::sqrt(s3.Get() / count);
  const long double mag = std::max(std::fabs(static_cast<long double>(min)), std::fabs(static_cast<long double>(max)));
  const long double range = static_cast<long double>(max) - static_cast<long double>(min);
  const long double meanErr = std::fabs(static_cast<long double>(mean) - lmean);
  const long double stdErr = std::fabs(static_cast<long double>(sd) - lstd);
  // Plus two ulps of the result: a subnormal mean or std has no more precision than its grid.
  const auto ulp = [](long double v) {
    const double d = std::fabs(static_cast<double>(v));
    return static_cast<long double>(std::nextafter(d, INFINITY) - d);
  };
  TG_CHECK(meanErr <= 1e-12L * mag + 2 * ulp(lmean), "row %zu n %zu: mean %.17g, 80-bit reference %.17Lg (error %.3Lg, max|x| %.3Lg)", row,
           n, mean, lmean, meanErr, mag);
  TG_CHECK(stdErr <= 1e-9L * range + 2 * ulp(lstd), "row %zu n %zu: std %.17g, 80-bit reference %.17Lg (error %.3Lg, range %.3Lg)", row,
           n, sd, lstd, stdErr, range);
}

template <typename T>
void Run(FuzzInput& in, size_t rows, size_t cols, size_t offset, Bounds b) {
  GuardedBuffer<T> x(rows * cols, offset);
  in.FillSeries(x.data(), rows * cols);
  // A float32 batch widened to float64, for the widening check.
  std::vector<double> wide;
  if (std::is_same_v<T, float>) wide.assign(x.data(), x.data() + rows * cols);
  const bool simd = Avx2Available();
  for (size_t r = 0; r < rows; ++r) {
    const T* row = x.data() + r * cols;
    double scalar[kScanStride], vec[kScanStride];
    ScanRowScalar(row, cols, b, scalar);
    if (simd) {
      std::fill(vec, vec + kScanStride, -12345.0);
      ScanRow(row, cols, b, vec, true);
      RequireSame(vec, scalar, "AVX2 vs scalar", cols, r);
    }
    if (std::is_same_v<T, float>) {
      double w[kScanStride];
      ScanRowScalar(wide.data() + r * cols, cols, b, w);
      RequireSame(scalar, w, "float32 row vs the same row widened to float64", cols, r);
    }
    CheckAgainstReference(row, cols, b, scalar, r);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint8_t flags = in.U8();
  const bool f64 = flags & 1;
  const size_t rows = 1 + (flags >> 1) % 4;
  const size_t cols = in.Range(0, kMaxCells / rows);
  const size_t offset = in.U8() % (f64 ? 4 : 8);  // every alignment modulo 32 bytes
  Bounds b{-INFINITY, INFINITY};
  switch (in.U8() % 4) {
    case 0: break;
    case 1: b.lo = b.hi = in.Value<double>(); break;
    default: b.lo = in.Value<double>(); b.hi = in.Value<double>(); break;
  }
  // The addon refuses NaN bounds and lo > hi (native/bindings/kernels_binding.cc).
  if (std::isnan(b.lo)) b.lo = -INFINITY;
  if (std::isnan(b.hi)) b.hi = INFINITY;
  if (b.lo > b.hi) std::swap(b.lo, b.hi);
  if (f64) Run<double>(in, rows, cols, offset, b);
  else Run<float>(in, rows, cols, offset, b);
  return 0;
}
