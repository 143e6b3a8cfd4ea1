// AVX2 transforms; the scalar loop finishes each row's tail with the same arithmetic.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <cmath>

#include "transform.h"

namespace tg::kernels {

void ApplyScalingAvx2(const float* src, float* dst, size_t n, double loc, double scale) {
  const __m256d l = _mm256_set1_pd(loc), s = _mm256_set1_pd(scale);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(src + i);
    __m256d a = _mm256_div_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), l), s);
    __m256d b = _mm256_div_pd(_mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), l), s);
    _mm256_storeu_ps(dst + i, _mm256_set_m128(_mm256_cvtpd_ps(b), _mm256_cvtpd_ps(a)));
  }
  ApplyScalingScalar(src + i, dst + i, n - i, loc, scale);
}

void ApplyScalingAvx2(const double* src, double* dst, size_t n, double loc, double scale) {
  const __m256d l = _mm256_set1_pd(loc), s = _mm256_set1_pd(scale);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    _mm256_storeu_pd(dst + i, _mm256_div_pd(_mm256_sub_pd(_mm256_loadu_pd(src + i), l), s));
  }
  ApplyScalingScalar(src + i, dst + i, n - i, loc, scale);
}

void InvertScalingAvx2(const float* src, float* dst, size_t n, double loc, double scale) {
  const __m256d l = _mm256_set1_pd(loc), s = _mm256_set1_pd(scale);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(src + i);
    __m256d a = _mm256_add_pd(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), s), l);
    __m256d b = _mm256_add_pd(_mm256_mul_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), s), l);
    _mm256_storeu_ps(dst + i, _mm256_set_m128(_mm256_cvtpd_ps(b), _mm256_cvtpd_ps(a)));
  }
  InvertScalingScalar(src + i, dst + i, n - i, loc, scale);
}

void InvertScalingAvx2(const double* src, double* dst, size_t n, double loc, double scale) {
  const __m256d l = _mm256_set1_pd(loc), s = _mm256_set1_pd(scale);
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    _mm256_storeu_pd(dst + i, _mm256_add_pd(_mm256_mul_pd(_mm256_loadu_pd(src + i), s), l));
  }
  InvertScalingScalar(src + i, dst + i, n - i, loc, scale);
}

ConvertResult ConvertF64ToF32Avx2(const double* src, float* dst, size_t n) {
  const __m256d absMask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
  const __m256d inf = _mm256_set1_pd(INFINITY);
  __m256d maxErr = _mm256_setzero_pd();
  double overflow = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256d x = _mm256_loadu_pd(src + i);
    __m128 y = _mm256_cvtpd_ps(x);
    _mm_storeu_ps(dst + i, y);
    __m256d back = _mm256_cvtps_pd(y);
    __m256d xFinite = _mm256_cmp_pd(_mm256_and_pd(x, absMask), inf, _CMP_LT_OQ);
    __m256d yFinite = _mm256_cmp_pd(_mm256_and_pd(back, absMask), inf, _CMP_LT_OQ);
    overflow += __builtin_popcount(static_cast<unsigned>(_mm256_movemask_pd(_mm256_andnot_pd(yFinite, xFinite))));
    __m256d err = _mm256_and_pd(_mm256_and_pd(_mm256_sub_pd(back, x), absMask), _mm256_and_pd(xFinite, yFinite));
    maxErr = _mm256_max_pd(err, maxErr);
  }
  double lanes[4];
  _mm256_storeu_pd(lanes, maxErr);
  ConvertResult r = ConvertF64ToF32Scalar(src + i, dst + i, n - i);
  for (double e : lanes) r.maxAbsError = e > r.maxAbsError ? e : r.maxAbsError;
  r.overflow += overflow;
  return r;
}

}  // namespace tg::kernels
#endif
