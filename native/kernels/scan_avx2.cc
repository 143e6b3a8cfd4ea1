// AVX2 scan. Built with -mavx2 -mfma and called only when the CPU has both (see cpu.cc).
// Per 64 elements ("a word") the vector code produces bit masks (NaN, finite, out of bounds,
// equal to the previous value) and the run trackers consume whole words; moments and min/max
// use the same 8 lanes as the scalar path, so results are bit-identical to it.
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>

#include <cmath>

#include "scan.h"
#include "scan_state.h"

namespace tg::kernels {
namespace {

using detail::Ctz;
using detail::Popcount;

constexpr size_t kWord = 64;
constexpr size_t kWordsPerBlock = kMomentBlock / kWord;

// Smallest float >= lo and largest float <= hi: comparing a float against them in float gives
// the same answer as comparing it, widened, against the double bounds.
float FloatAtLeast(double lo) {
  float f = static_cast<float>(lo);
  if (static_cast<double>(f) < lo) f = std::nextafter(f, INFINITY);
  return f;
}
float FloatAtMost(double hi) {
  float f = static_cast<float>(hi);
  if (static_cast<double>(f) > hi) f = std::nextafter(f, -INFINITY);
  return f;
}

template <typename T>
void CountInfinities(detail::RowScan<T>& st, const T* p, uint64_t infWord) {
  while (infWord) {
    unsigned b = Ctz(infWord);
    if (p[b] > 0) ++st.posInf; else ++st.negInf;
    infWord &= infWord - 1;
  }
}

// Word-level bookkeeping shared by both element types.
template <typename T>
inline void ConsumeWord(detail::RowScan<T>& st, const T* p, size_t base, uint64_t nanW, uint64_t finW,
                        uint64_t oobW, uint64_t eqW, uint64_t& prevNaNBit) {
  st.nanCount += Popcount(nanW);
  st.finite += Popcount(finW);
  st.blockFinite += Popcount(finW);
  st.outOfBounds += Popcount(oobW & finW);
  uint64_t infW = ~(nanW | finW);
  if (infW) CountInfinities(st, p, infW);
  if (st.firstNonFinite < 0 && ~finW) st.firstNonFinite = static_cast<int64_t>(base + Ctz(~finW));
  st.nanRun.PushWord(nanW);
  st.altRun.PushWord(nanW ^ ((nanW << 1) | prevNaNBit));
  prevNaNBit = nanW >> 63;
  st.flatRun.PushWord(eqW);
}

}  // namespace

void ScanRowAvx2(const float* x, size_t n, Bounds b, double* out) {
  detail::RowScan<float> st(x, n, b);
  const size_t words = n / kWord;
  if (words > 0) {
    const __m256 absMask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256 inf = _mm256_set1_ps(INFINITY);
    const __m256 loV = _mm256_set1_ps(FloatAtLeast(b.lo));
    const __m256 hiV = _mm256_set1_ps(FloatAtMost(b.hi));
    const __m256 pivV = _mm256_set1_ps(st.pivot);
    const __m256d pivD = _mm256_set1_pd(st.pivotD);
    __m256 vmin = _mm256_set1_ps(INFINITY), vmax = _mm256_set1_ps(-INFINITY);
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
    // Bit 0 of the row has no predecessor: its transition bit must be 0.
    uint64_t prevNaNBit = std::isnan(x[0]) ? 1 : 0;
    for (size_t w = 0; w < words; ++w) {
      const float* p = x + w * kWord;
      uint64_t nanW = 0, finW = 0, oobW = 0, eqW = 0;
      for (int k = 0; k < 8; ++k) {
        __m256 v = _mm256_loadu_ps(p + 8 * k);
        __m256 prev;
        if (w == 0 && k == 0) {
          // Element 0 compares against NaN (never equal); the others against their predecessor.
          prev = _mm256_permutevar8x32_ps(v, _mm256_setr_epi32(0, 0, 1, 2, 3, 4, 5, 6));
          prev = _mm256_blend_ps(prev, _mm256_set1_ps(NAN), 1);
        } else {
          prev = _mm256_loadu_ps(p + 8 * k - 1);
        }
        __m256 fin = _mm256_cmp_ps(_mm256_and_ps(v, absMask), inf, _CMP_LT_OQ);
        __m256 isNaN = _mm256_cmp_ps(v, v, _CMP_UNORD_Q);
        __m256 oob = _mm256_or_ps(_mm256_cmp_ps(v, loV, _CMP_LT_OQ), _mm256_cmp_ps(v, hiV, _CMP_GT_OQ));
        __m256 eq = _mm256_cmp_ps(v, prev, _CMP_EQ_OQ);
        const unsigned shift = 8 * k;
        nanW |= static_cast<uint64_t>(static_cast<unsigned>(_mm256_movemask_ps(isNaN))) << shift;
        finW |= static_cast<uint64_t>(static_cast<unsigned>(_mm256_movemask_ps(fin))) << shift;
        oobW |= static_cast<uint64_t>(static_cast<unsigned>(_mm256_movemask_ps(oob))) << shift;
        eqW |= static_cast<uint64_t>(static_cast<unsigned>(_mm256_movemask_ps(eq))) << shift;
        __m256 vp = _mm256_blendv_ps(pivV, v, fin);
        vmin = _mm256_min_ps(vp, vmin);
        vmax = _mm256_max_ps(vp, vmax);
        __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(vp)), pivD);
        __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(vp, 1)), pivD);
        s0 = _mm256_add_pd(s0, d0);
        s1 = _mm256_add_pd(s1, d1);
        q0 = _mm256_fmadd_pd(d0, d0, q0);
        q1 = _mm256_fmadd_pd(d1, d1, q1);
      }
      ConsumeWord(st, p, w * kWord, nanW, finW, oobW, eqW, prevNaNBit);
      if ((w + 1) % kWordsPerBlock == 0) {
        _mm256_storeu_pd(st.laneSum, s0);
        _mm256_storeu_pd(st.laneSum + 4, s1);
        _mm256_storeu_pd(st.laneSumSq, q0);
        _mm256_storeu_pd(st.laneSumSq + 4, q1);
        st.FlushBlock();
        s0 = s1 = q0 = q1 = _mm256_setzero_pd();
      }
    }
    _mm256_storeu_ps(st.laneMin, vmin);
    _mm256_storeu_ps(st.laneMax, vmax);
    _mm256_storeu_pd(st.laneSum, s0);
    _mm256_storeu_pd(st.laneSum + 4, s1);
    _mm256_storeu_pd(st.laneSumSq, q0);
    _mm256_storeu_pd(st.laneSumSq + 4, q1);
    st.prevNaN = prevNaNBit != 0;
  }
  for (size_t i = words * kWord; i < n; ++i) st.Step(i);
  st.Write(out);
}

void ScanRowAvx2(const double* x, size_t n, Bounds b, double* out) {
  detail::RowScan<double> st(x, n, b);
  const size_t words = n / kWord;
  if (words > 0) {
    const __m256d absMask = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL));
    const __m256d inf = _mm256_set1_pd(INFINITY);
    const __m256d loV = _mm256_set1_pd(b.lo);
    const __m256d hiV = _mm256_set1_pd(b.hi);
    const __m256d pivV = _mm256_set1_pd(st.pivot);
    // Lanes 0-3 take even vectors, lanes 4-7 odd ones: element i still goes to lane i % 8.
    __m256d minA = _mm256_set1_pd(INFINITY), minB = minA;
    __m256d maxA = _mm256_set1_pd(-INFINITY), maxB = maxA;
    __m256d sA = _mm256_setzero_pd(), sB = sA, qA = sA, qB = sA;
    uint64_t prevNaNBit = std::isnan(x[0]) ? 1 : 0;
    for (size_t w = 0; w < words; ++w) {
      const double* p = x + w * kWord;
      uint64_t nanW = 0, finW = 0, oobW = 0, eqW = 0;
      for (int k = 0; k < 16; k += 2) {
        __m256d v[2] = {_mm256_loadu_pd(p + 4 * k), _mm256_loadu_pd(p + 4 * k + 4)};
        for (int h = 0; h < 2; ++h) {
          __m256d prev;
          if (w == 0 && k == 0 && h == 0) {
            prev = _mm256_permute4x64_pd(v[0], 0x90);  // lanes (0,0,1,2)
            prev = _mm256_blend_pd(prev, _mm256_set1_pd(NAN), 1);
          } else {
            prev = _mm256_loadu_pd(p + 4 * (k + h) - 1);
          }
          __m256d fin = _mm256_cmp_pd(_mm256_and_pd(v[h], absMask), inf, _CMP_LT_OQ);
          __m256d isNaN = _mm256_cmp_pd(v[h], v[h], _CMP_UNORD_Q);
          __m256d oob = _mm256_or_pd(_mm256_cmp_pd(v[h], loV, _CMP_LT_OQ), _mm256_cmp_pd(v[h], hiV, _CMP_GT_OQ));
          __m256d eq = _mm256_cmp_pd(v[h], prev, _CMP_EQ_OQ);
          const unsigned shift = 4 * (k + h);
          nanW |= static_cast<uint64_t>(static_cast<unsigned>(_mm256_movemask_pd(isNaN))) << shift;
          finW |= static_cast<uint64_t>(static_cast<unsigned>(_mm256_movemask_pd(fin))) << shift;
          oobW |= static_cast<uint64_t>(static_cast<unsigned>(_mm256_movemask_pd(oob))) << shift;
          eqW |= static_cast<uint64_t>(static_cast<unsigned>(_mm256_movemask_pd(eq))) << shift;
          __m256d vp = _mm256_blendv_pd(pivV, v[h], fin);
          __m256d d = _mm256_sub_pd(vp, pivV);
          if (h == 0) {
            minA = _mm256_min_pd(vp, minA);
            maxA = _mm256_max_pd(vp, maxA);
            sA = _mm256_add_pd(sA, d);
            qA = _mm256_fmadd_pd(d, d, qA);
          } else {
            minB = _mm256_min_pd(vp, minB);
            maxB = _mm256_max_pd(vp, maxB);
            sB = _mm256_add_pd(sB, d);
            qB = _mm256_fmadd_pd(d, d, qB);
          }
        }
      }
      ConsumeWord(st, p, w * kWord, nanW, finW, oobW, eqW, prevNaNBit);
      if ((w + 1) % kWordsPerBlock == 0) {
        _mm256_storeu_pd(st.laneSum, sA);
        _mm256_storeu_pd(st.laneSum + 4, sB);
        _mm256_storeu_pd(st.laneSumSq, qA);
        _mm256_storeu_pd(st.laneSumSq + 4, qB);
        st.FlushBlock();
        sA = sB = qA = qB = _mm256_setzero_pd();
      }
    }
    _mm256_storeu_pd(st.laneMin, minA);
    _mm256_storeu_pd(st.laneMin + 4, minB);
    _mm256_storeu_pd(st.laneMax, maxA);
    _mm256_storeu_pd(st.laneMax + 4, maxB);
    _mm256_storeu_pd(st.laneSum, sA);
    _mm256_storeu_pd(st.laneSum + 4, sB);
    _mm256_storeu_pd(st.laneSumSq, qA);
    _mm256_storeu_pd(st.laneSumSq + 4, qB);
    st.prevNaN = prevNaNBit != 0;
  }
  for (size_t i = words * kWord; i < n; ++i) st.Step(i);
  st.Write(out);
}

}  // namespace tg::kernels
#endif
