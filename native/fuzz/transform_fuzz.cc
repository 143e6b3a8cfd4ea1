// libFuzzer harness for the scaling transforms (native/kernels/transform*.{h,cc}):
// computeScaling (the scan, then ScalingFromScan), applyScaling and invertScaling, float32 and
// float64, [rows, cols] batches at varying alignments, in place and into another buffer.
//
// Checks:
//  - AVX2 and scalar give the same loc / scale and the same transformed values, bit for bit
//    (NaN payloads included; only with a NaN loc or scale, which the addon refuses, may two NaNs
//    differ in payload: x * scale with both NaN keeps the payload of whichever operand the
//    compiler put first);
//  - in place (src == dst) equals out of place, bit for bit;
//  - each element equals its specification, (x - loc) / scale and x * scale + loc computed in
//    double and rounded once to the element type (test/reference.ts), bit for bit: so a float32
//    row gives float(the double result of the widened value);
//  - computeScaling: no finite value gives [0, 1]; otherwise loc is the scan's mean, scale its
//    std or |loc| + 1e-5 when that is 0, and scale is finite and > 0;
//  - with the loc / scale the addon accepts (finite, scale != 0): a NaN comes out exactly where a
//    NaN went in (none created, none lost).
#include <cmath>
#include <cstring>
#include <vector>

#include "../kernels/scan.h"
#include "../kernels/transform.h"
#include "fuzz_input.h"

using namespace tg::kernels;
using tg::fuzz::Avx2Available;
using tg::fuzz::Bits;
using tg::fuzz::FuzzInput;
using tg::fuzz::GuardedBuffer;
using tg::fuzz::SameBits;

namespace {

constexpr size_t kMaxCells = 1 << 13;

// Bit for bit. With a NaN loc or scale (which the addon refuses) an element that is NaN too has
// two NaN operands, and which payload survives depends on the operand order the compiler chose
// (x * scale may be emitted as scale * x): then any NaN matches any NaN.
template <typename T>
bool Same(T a, T b, bool anyNaN) {
  return SameBits(a, b) || (anyNaN && std::isnan(a) && std::isnan(b));
}

template <typename T>
void RequireSameRow(const T* a, const T* b, size_t n, const char* what, size_t row, bool anyNaN) {
  for (size_t i = 0; i < n; ++i) {
    if (!Same(a[i], b[i], anyNaN)) {
      tg::fuzz::Fail("%s: row %zu element %zu of %zu: %a (0x%llx) vs %a (0x%llx)", what, row, i, n,
                     static_cast<double>(a[i]), static_cast<unsigned long long>(Bits(a[i])),
                     static_cast<double>(b[i]), static_cast<unsigned long long>(Bits(b[i])));
    }
  }
}

template <typename T, bool kInverse>
void CheckTransform(const T* src, size_t n, double loc, double scale, bool valid, size_t row, size_t offset) {
  const char* name = kInverse ? "invertScaling" : "applyScaling";
  const bool nanParams = std::isnan(loc) || std::isnan(scale);
  GuardedBuffer<T> scalar(n, (offset + 1) % 4), vec(n, (offset + 2) % 4), inPlace(n, offset);
  if (kInverse) InvertScalingScalar(src, scalar.data(), n, loc, scale);
  else ApplyScalingScalar(src, scalar.data(), n, loc, scale);

  // The specification, element by element.
  for (size_t i = 0; i < n; ++i) {
    const double x = static_cast<double>(src[i]);
    double r;
    if (kInverse) {
      const double product = x * scale;
      r = product + loc;
    } else {
      r = (x - loc) / scale;
    }
    const T want = static_cast<T>(r);
    if (!Same(scalar[i], want, nanParams)) {
      tg::fuzz::Fail("%s scalar: row %zu element %zu: x %a loc %a scale %a gives %a, specification %a", name, row, i,
                     x, loc, scale, static_cast<double>(scalar[i]), static_cast<double>(want));
    }
    if (valid) {
      TG_CHECK(std::isnan(scalar[i]) == std::isnan(src[i]), "%s: row %zu element %zu: x %a loc %a scale %a gives %a", name,
               row, i, x, loc, scale, static_cast<double>(scalar[i]));
    }
  }

  if (Avx2Available()) {
    if (kInverse) InvertScaling(src, vec.data(), n, loc, scale, true);
    else ApplyScaling(src, vec.data(), n, loc, scale, true);
    RequireSameRow(vec.data(), scalar.data(), n, kInverse ? "invertScaling AVX2 vs scalar" : "applyScaling AVX2 vs scalar", row,
                   nanParams);
  }
  for (int simd = 0; simd < (Avx2Available() ? 2 : 1); ++simd) {
    if (n) std::memcpy(inPlace.data(), src, n * sizeof(T));
    if (kInverse) InvertScaling(inPlace.data(), inPlace.data(), n, loc, scale, simd != 0);
    else ApplyScaling(inPlace.data(), inPlace.data(), n, loc, scale, simd != 0);
    RequireSameRow(inPlace.data(), scalar.data(), n, simd ? "in place vs out of place (AVX2)" : "in place vs out of place (scalar)", row,
                   nanParams);
  }
}

template <typename T>
void Run(FuzzInput& in, size_t rows, size_t cols, size_t offset, uint8_t paramMode) {
  // Parameters given by the input, read before the series (FillSeries may use every byte left).
  double given[3][2];
  for (auto& g : given) {
    g[0] = in.Value<double>();
    g[1] = in.Value<double>();
  }
  GuardedBuffer<T> x(rows * cols, offset);
  in.FillSeries(x.data(), rows * cols);
  const Bounds all{-INFINITY, INFINITY};
  for (size_t r = 0; r < rows; ++r) {
    const T* row = x.data() + r * cols;
    double stats[kScanStride], statsVec[kScanStride];
    ScanRowScalar(row, cols, all, stats);
    double loc = -1, scale = -1;
    ScalingFromScan(stats, &loc, &scale);
    if (Avx2Available()) {
      ScanRow(row, cols, all, statsVec, true);
      double locV = -2, scaleV = -2;
      ScalingFromScan(statsVec, &locV, &scaleV);
      TG_CHECK(SameBits(loc, locV) && SameBits(scale, scaleV), "computeScaling row %zu: AVX2 [%a, %a] vs scalar [%a, %a]",
               r, locV, scaleV, loc, scale);
    }
    if (stats[kFiniteCount] == 0) {
      TG_CHECK(loc == 0 && scale == 1, "computeScaling row %zu: no finite value gives [%a, %a], not [0, 1]", r, loc, scale);
    } else {
      TG_CHECK(SameBits(loc, stats[kMean]), "computeScaling row %zu: loc %a is not the mean %a", r, loc, stats[kMean]);
      const double want = stats[kStd] == 0 ? std::fabs(loc) + 1e-5 : stats[kStd];
      TG_CHECK(SameBits(scale, want), "computeScaling row %zu: scale %a, expected %a", r, scale, want);
      TG_CHECK(std::isfinite(loc) && std::isfinite(scale) && scale > 0, "computeScaling row %zu: [%a, %a]", r, loc, scale);
    }

    // The transforms with the computed scaling, or with parameters from the input: the addon's
    // (finite, non-zero scale) or anything at all (the kernels must still agree).
    bool valid = true;
    if (paramMode % 3 == 1) {
      loc = given[r][0];
      scale = given[r][1];
      valid = std::isfinite(loc) && std::isfinite(scale) && scale != 0;
    } else if (paramMode % 3 == 2) {
      loc = given[r][0];
      scale = given[r][1];
      if (!std::isfinite(loc)) loc = 0;
      if (!std::isfinite(scale) || scale == 0) scale = 1;
    }
    CheckTransform<T, false>(row, cols, loc, scale, valid, r, offset);
    CheckTransform<T, true>(row, cols, loc, scale, valid, r, offset);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint8_t flags = in.U8();
  const bool f64 = flags & 1;
  const size_t rows = 1 + (flags >> 1) % 3;
  const uint8_t paramMode = flags >> 3;
  const size_t cols = in.Range(0, kMaxCells / rows);
  const size_t offset = in.U8() % (f64 ? 4 : 8);
  if (f64) Run<double>(in, rows, cols, offset, paramMode);
  else Run<float>(in, rows, cols, offset, paramMode);
  return 0;
}
