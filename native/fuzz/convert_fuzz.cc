// libFuzzer harness for float64 -> float32 conversion with its error (ConvertF64ToF32 in
// native/kernels/transform*.{h,cc}): [rows, cols] batches at varying alignments.
//
// Checks:
//  - AVX2 and scalar write the same floats and report the same maxAbsError and overflow, bit for
//    bit;
//  - every float is static_cast<float>(x) (round to nearest even), bit for bit;
//  - overflow counts the finite x whose float is infinite; maxAbsError is the largest
//    |float(x) - x| over the finite x whose float is finite (test/reference.ts convertRef), and it
//    is at most half a float32 ulp of the largest such value (2^-150 for subnormal results);
//  - a NaN comes out exactly where a NaN went in.
#include <cmath>

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

// Half an ulp of float32 at |y| (y finite).
double HalfUlpF32(float y) {
  const float a = std::fabs(y);
  if (a < FLT_MIN) return std::ldexp(1.0, -150);
  return std::ldexp(1.0, std::ilogb(a) - 24);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint8_t flags = in.U8();
  const size_t rows = 1 + flags % 3;
  const size_t cols = in.Range(0, kMaxCells / rows);
  const size_t offset = in.U8() % 4;
  GuardedBuffer<double> src(rows * cols, offset);
  in.FillSeries(src.data(), rows * cols);
  GuardedBuffer<float> scalar(rows * cols, (offset + 1) % 8), vec(rows * cols, (offset + 3) % 8);
  for (size_t r = 0; r < rows; ++r) {
    const double* s = src.data() + r * cols;
    float* ds = scalar.data() + r * cols;
    float* dv = vec.data() + r * cols;
    const ConvertResult cs = ConvertF64ToF32Scalar(s, ds, cols);
    if (Avx2Available()) {
      const ConvertResult cv = ConvertF64ToF32(s, dv, cols, true);
      TG_CHECK(SameBits(cs.maxAbsError, cv.maxAbsError) && SameBits(cs.overflow, cv.overflow),
               "row %zu n %zu: AVX2 {maxAbsError %a, overflow %a} vs scalar {%a, %a}", r, cols, cv.maxAbsError,
               cv.overflow, cs.maxAbsError, cs.overflow);
      for (size_t i = 0; i < cols; ++i) {
        TG_CHECK(SameBits(ds[i], dv[i]), "row %zu element %zu: x %a: AVX2 %a (0x%08x) vs scalar %a (0x%08x)", r, i, s[i],
                 static_cast<double>(dv[i]), Bits(dv[i]), static_cast<double>(ds[i]), Bits(ds[i]));
      }
    }
    double maxErr = 0, overflow = 0, bound = 0;
    for (size_t i = 0; i < cols; ++i) {
      const double x = s[i];
      const float want = static_cast<float>(x);
      TG_CHECK(SameBits(ds[i], want), "row %zu element %zu: x %a gives %a, float(x) is %a", r, i, x,
               static_cast<double>(ds[i]), static_cast<double>(want));
      TG_CHECK(std::isnan(ds[i]) == std::isnan(x), "row %zu element %zu: x %a gives %a", r, i, x, static_cast<double>(ds[i]));
      if (!std::isfinite(x)) continue;
      if (!std::isfinite(want)) {
        overflow += 1;
        TG_CHECK(std::fabs(x) > FLT_MAX, "row %zu element %zu: %a overflowed", r, i, x);
        continue;
      }
      const double err = std::fabs(static_cast<double>(want) - x);
      if (err > maxErr) maxErr = err;
      const double h = HalfUlpF32(want);
      if (h > bound) bound = h;
    }
    TG_CHECK(SameBits(cs.overflow, overflow), "row %zu n %zu: overflow %a, reference %a", r, cols, cs.overflow, overflow);
    TG_CHECK(SameBits(cs.maxAbsError, maxErr), "row %zu n %zu: maxAbsError %a, reference %a", r, cols, cs.maxAbsError, maxErr);
    TG_CHECK(cs.maxAbsError <= bound, "row %zu n %zu: maxAbsError %a above half an ulp %a", r, cols, cs.maxAbsError, bound);
  }
  return 0;
}
