#include <cmath>

#include "scan.h"
#include "transform.h"

namespace tg::kernels {

void ScalingFromScan(const double* scanRow, double* loc, double* scale) {
  if (scanRow[kFiniteCount] == 0) {
    *loc = 0;
    *scale = 1;
    return;
  }
  *loc = scanRow[kMean];
  *scale = scanRow[kStd] == 0 ? std::fabs(*loc) + 1e-5 : scanRow[kStd];
}

template <typename T>
void ApplyScalingScalar(const T* src, T* dst, size_t n, double loc, double scale) {
  for (size_t i = 0; i < n; ++i) dst[i] = static_cast<T>((static_cast<double>(src[i]) - loc) / scale);
}

template <typename T>
void InvertScalingScalar(const T* src, T* dst, size_t n, double loc, double scale) {
  for (size_t i = 0; i < n; ++i) {
    double product = static_cast<double>(src[i]) * scale;
    dst[i] = static_cast<T>(product + loc);
  }
}

template void ApplyScalingScalar<float>(const float*, float*, size_t, double, double);
template void ApplyScalingScalar<double>(const double*, double*, size_t, double, double);
template void InvertScalingScalar<float>(const float*, float*, size_t, double, double);
template void InvertScalingScalar<double>(const double*, double*, size_t, double, double);

ConvertResult ConvertF64ToF32Scalar(const double* src, float* dst, size_t n) {
  ConvertResult r;
  for (size_t i = 0; i < n; ++i) {
    double x = src[i];
    float y = static_cast<float>(x);
    dst[i] = y;
    if (!std::isfinite(x)) continue;
    if (!std::isfinite(y)) {
      r.overflow += 1;
      continue;
    }
    double err = std::fabs(static_cast<double>(y) - x);
    r.maxAbsError = err > r.maxAbsError ? err : r.maxAbsError;
  }
  return r;
}

}  // namespace tg::kernels
