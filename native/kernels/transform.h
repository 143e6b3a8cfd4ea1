// Element-wise transforms of the data pipeline shield: TiRex-style scaling and its inverse, and
// float64 -> float32 conversion with its error measured against the series' own scale.
// Scalar and AVX2 variants compute each element with the same operations in the same order
// (no fused multiply-add), so they agree bit for bit.
#pragma once
#include <cstddef>

namespace tg::kernels {

// TiRex's rule from a row's scan: loc = nan-mean, scale = nan-std; a zero scale becomes
// |loc| + 1e-5; a row with no finite value gets loc 0, scale 1.
void ScalingFromScan(const double* scanRow, double* loc, double* scale);

// dst[i] = (src[i] - loc) / scale, computed in double. src == dst is allowed.
template <typename T>
void ApplyScalingScalar(const T* src, T* dst, size_t n, double loc, double scale);
// dst[i] = src[i] * scale + loc, computed in double.
template <typename T>
void InvertScalingScalar(const T* src, T* dst, size_t n, double loc, double scale);

struct ConvertResult {
  double maxAbsError = 0;  // largest |float(x) - x| over finite x that stay finite
  double overflow = 0;     // finite x whose float is infinite
};
ConvertResult ConvertF64ToF32Scalar(const double* src, float* dst, size_t n);

#if defined(__x86_64__) || defined(_M_X64)
void ApplyScalingAvx2(const float* src, float* dst, size_t n, double loc, double scale);
void ApplyScalingAvx2(const double* src, double* dst, size_t n, double loc, double scale);
void InvertScalingAvx2(const float* src, float* dst, size_t n, double loc, double scale);
void InvertScalingAvx2(const double* src, double* dst, size_t n, double loc, double scale);
ConvertResult ConvertF64ToF32Avx2(const double* src, float* dst, size_t n);
#endif

template <typename T>
inline void ApplyScaling(const T* src, T* dst, size_t n, double loc, double scale, bool simd) {
#if defined(__x86_64__) || defined(_M_X64)
  if (simd) return ApplyScalingAvx2(src, dst, n, loc, scale);
#endif
  (void)simd;
  ApplyScalingScalar(src, dst, n, loc, scale);
}

template <typename T>
inline void InvertScaling(const T* src, T* dst, size_t n, double loc, double scale, bool simd) {
#if defined(__x86_64__) || defined(_M_X64)
  if (simd) return InvertScalingAvx2(src, dst, n, loc, scale);
#endif
  (void)simd;
  InvertScalingScalar(src, dst, n, loc, scale);
}

inline ConvertResult ConvertF64ToF32(const double* src, float* dst, size_t n, bool simd) {
#if defined(__x86_64__) || defined(_M_X64)
  if (simd) return ConvertF64ToF32Avx2(src, dst, n);
#endif
  (void)simd;
  return ConvertF64ToF32Scalar(src, dst, n);
}

}  // namespace tg::kernels
