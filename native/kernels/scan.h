// One-pass statistics over a context: the input shield's view of the data.
//
// Results land in a caller's Float64Array, kScanStride doubles per row, fields below. The scalar
// and AVX2 paths give bit-identical results: both give element i to accumulator lane i % 8,
// flush moments every kMomentBlock elements and reduce lanes in the same order.
#pragma once
#include <cstddef>

namespace tg::kernels {

enum ScanField : int {
  kCount = 0,           // elements in the row
  kNaNCount,            // NaN values
  kPosInfCount,         // +Infinity values
  kNegInfCount,         // -Infinity values
  kOutOfBoundsCount,    // finite values < lo or > hi
  kFiniteCount,         // finite values
  kMin,                 // finite min (NaN when no finite value; the sign of a zero is unspecified)
  kMax,                 // finite max
  kMean,                // finite mean
  kStd,                 // finite population standard deviation (TiRex's nan-std)
  kLongestNaNRun,       // longest run of consecutive NaNs
  kFirstNonFinite,      // index of the first NaN or Inf, -1 when none
  kAlternatingRun,      // longest stretch strictly alternating NaN / non-NaN (0 when none)
  kLongestFlatRun,      // longest run of equal consecutive non-NaN values (0 when all NaN)
  kScanFieldCount
};
inline constexpr size_t kScanStride = 16;
inline constexpr size_t kMomentBlock = 1024;

struct Bounds {
  double lo;
  double hi;
};

void ScanRowScalar(const float* x, size_t n, Bounds b, double* out);
void ScanRowScalar(const double* x, size_t n, Bounds b, double* out);
#if defined(__x86_64__) || defined(_M_X64)
void ScanRowAvx2(const float* x, size_t n, Bounds b, double* out);
void ScanRowAvx2(const double* x, size_t n, Bounds b, double* out);
#endif

// Row dispatch: AVX2 when `simd` (the caller checked the CPU), scalar otherwise.
template <typename T>
inline void ScanRow(const T* x, size_t n, Bounds b, double* out, bool simd) {
#if defined(__x86_64__) || defined(_M_X64)
  if (simd) return ScanRowAvx2(x, n, b, out);
#endif
  (void)simd;
  ScanRowScalar(x, n, b, out);
}

}  // namespace tg::kernels
