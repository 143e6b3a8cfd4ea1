// AVX2 scan. Built with -mavx2 -mfma and called only when the CPU has both (see cpu.cc).
// Per 64 elements ("a word") the vector code produces bit masks (finite, equal to the previous
// value; NaN only when the word has a non-finite value) and the run trackers consume whole
// words; moments and min/max use the same 8 lanes as the scalar path, so results are
// bit-identical to it. Out-of-bounds values are counted in a second pass only when the row's
// min or max lies outside the bounds.
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
inline void ConsumeWord(detail::RowScan<T>& st, const T* p, size_t base, uint64_t nanW, uint64_t finW, uint64_t eqW,
                        uint64_t& prevNaNBit) {
  st.nanCount += Popcount(nanW);
  st.finite += Popcount(finW);
  st.blockFinite += Popcount(finW);
  uint64_t infW = ~(nanW | finW);
  if (infW) CountInfinities(st, p, infW);
  if (st.firstNonFinite < 0 && ~finW) st.firstNonFinite = static_cast<int64_t>(base + Ctz(~finW));
  st.nanRun.PushWord(nanW);
  st.altRun.PushWord(nanW ^ ((nanW << 1) | prevNaNBit));
  prevNaNBit = nanW >> 63;
  st.flatRun.PushWord(eqW);
}

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

// Finite values outside [lo, hi]; +-Inf compare outside too, so they are masked by finiteness.
uint64_t CountOutOfBoundsAvx2(const float* x, size_t n, Bounds b) {
  const __m256 lo = _mm256_set1_ps(FloatAtLeast(b.lo)), hi = _mm256_set1_ps(FloatAtMost(b.hi));
  uint64_t count = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    __m256 fin = _mm256_cmp_ps(_mm256_sub_ps(v, v), _mm256_setzero_ps(), _CMP_EQ_OQ);
    __m256 out = _mm256_or_ps(_mm256_cmp_ps(v, lo, _CMP_LT_OQ), _mm256_cmp_ps(v, hi, _CMP_GT_OQ));
    count += Popcount(static_cast<unsigned>(_mm256_movemask_ps(_mm256_and_ps(out, fin))));
  }
  for (; i < n; ++i) {
    double v = x[i];
    if (std::isfinite(v) && (v < b.lo || v > b.hi)) ++count;
  }
  return count;
}
uint64_t CountOutOfBoundsAvx2(const double* x, size_t n, Bounds b) {
  const __m256d lo = _mm256_set1_pd(b.lo), hi = _mm256_set1_pd(b.hi);
  uint64_t count = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    __m256d v = _mm256_loadu_pd(x + i);
    __m256d fin = _mm256_cmp_pd(_mm256_sub_pd(v, v), _mm256_setzero_pd(), _CMP_EQ_OQ);
    __m256d out = _mm256_or_pd(_mm256_cmp_pd(v, lo, _CMP_LT_OQ), _mm256_cmp_pd(v, hi, _CMP_GT_OQ));
    count += Popcount(static_cast<unsigned>(_mm256_movemask_pd(_mm256_and_pd(out, fin))));
  }
  for (; i < n; ++i) {
    double v = x[i];
    if (std::isfinite(v) && (v < b.lo || v > b.hi)) ++count;
  }
  return count;
}

// After the vector part: the scalar tail, then out-of-bounds counting only when the finite
// min/max show that some value lies outside the bounds.
template <typename T>
void Finish(detail::RowScan<T>& st, size_t from, double* out) {
  for (size_t i = from; i < st.n; ++i) st.Step(i);
  if (st.finite > 0) {
    T mn = st.laneMin[0], mx = st.laneMax[0];
    for (int l = 1; l < detail::kLanes; ++l) {
      mn = st.laneMin[l] < mn ? st.laneMin[l] : mn;
      mx = st.laneMax[l] > mx ? st.laneMax[l] : mx;
    }
    if (static_cast<double>(mn) < st.bounds.lo || static_cast<double>(mx) > st.bounds.hi) {
      st.outOfBounds = CountOutOfBoundsAvx2(st.x, st.n, st.bounds);
    }
  }
  st.Write(out);
}

template <typename T>
inline void StoreLanes(detail::RowScan<T>& st, __m256d s0, __m256d s1, __m256d q0, __m256d q1) {
  _mm256_storeu_pd(st.laneSum, s0);
  _mm256_storeu_pd(st.laneSum + 4, s1);
  _mm256_storeu_pd(st.laneSumSq, q0);
  _mm256_storeu_pd(st.laneSumSq + 4, q1);
}

}  // namespace

void ScanRowAvx2(const float* x, size_t n, Bounds b, double* out) {
  detail::RowScan<float> st(x, n, b);
  const size_t words = n / kWord;
  if (words > 0) {
    const __m256 pivV = _mm256_set1_ps(st.pivot);
    const __m256d pivD = _mm256_set1_pd(st.pivotD);
    __m256 vmin = _mm256_set1_ps(INFINITY), vmax = _mm256_set1_ps(-INFINITY);
    __m256d s0 = _mm256_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
    // Bit 0 of the row has no predecessor: its transition bit must be 0.
    uint64_t prevNaNBit = std::isnan(x[0]) ? 1 : 0;
    for (size_t w = 0; w < words; ++w) {
      const float* p = x + w * kWord;
      // Long rows stream from memory: ask for the lines 2 KiB ahead (a no-op past the end).
      for (int line = 0; line < 4; ++line) _mm_prefetch(reinterpret_cast<const char*>(p + 512 + 16 * line), _MM_HINT_T0);
      uint64_t finW = 0, eqW = 0;
#pragma GCC unroll 8
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
        // v - v is 0 for finite values and NaN for NaN and +-Inf.
        __m256 fin = _mm256_cmp_ps(_mm256_sub_ps(v, v), _mm256_setzero_ps(), _CMP_EQ_OQ);
        __m256 eq = _mm256_cmp_ps(v, prev, _CMP_EQ_OQ);
        finW |= static_cast<uint64_t>(static_cast<unsigned>(_mm256_movemask_ps(fin))) << (8 * k);
        eqW |= static_cast<uint64_t>(static_cast<unsigned>(_mm256_movemask_ps(eq))) << (8 * k);
        // Non-finite lanes take the pivot: a value of the row, so min/max are unchanged and the
        // shifted sums get exactly zero.
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
      // NaN masks only matter where something is not finite: rare, so computed on demand.
      uint64_t nanW = 0;
      if (~finW) {
        for (int k = 0; k < 8; ++k) {
          __m256 v = _mm256_loadu_ps(p + 8 * k);
          nanW |= static_cast<uint64_t>(static_cast<unsigned>(_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q))))
                  << (8 * k);
        }
      }
      ConsumeWord(st, p, w * kWord, nanW, finW, eqW, prevNaNBit);
      if ((w + 1) % kWordsPerBlock == 0) {
        StoreLanes(st, s0, s1, q0, q1);
        st.FlushBlock();
        s0 = s1 = q0 = q1 = _mm256_setzero_pd();
      }
    }
    _mm256_storeu_ps(st.laneMin, vmin);
    _mm256_storeu_ps(st.laneMax, vmax);
    StoreLanes(st, s0, s1, q0, q1);
    st.prevNaN = prevNaNBit != 0;
  }
  Finish(st, words * kWord, out);
}

void ScanRowAvx2(const double* x, size_t n, Bounds b, double* out) {
  detail::RowScan<double> st(x, n, b);
  const size_t words = n / kWord;
  if (words > 0) {
    const __m256d pivV = _mm256_set1_pd(st.pivot);
    // Lanes 0-3 take even vectors, lanes 4-7 odd ones: element i still goes to lane i % 8.
    __m256d minA = _mm256_set1_pd(INFINITY), minB = minA;
    __m256d maxA = _mm256_set1_pd(-INFINITY), maxB = maxA;
    __m256d sA = _mm256_setzero_pd(), sB = sA, qA = sA, qB = sA;
    uint64_t prevNaNBit = std::isnan(x[0]) ? 1 : 0;
    for (size_t w = 0; w < words; ++w) {
      const double* p = x + w * kWord;
      for (int line = 0; line < 8; ++line) _mm_prefetch(reinterpret_cast<const char*>(p + 256 + 8 * line), _MM_HINT_T0);
      uint64_t finW = 0, eqW = 0;
#pragma GCC unroll 16
      for (int k = 0; k < 16; ++k) {
        __m256d v = _mm256_loadu_pd(p + 4 * k);
        __m256d prev;
        if (w == 0 && k == 0) {
          prev = _mm256_permute4x64_pd(v, 0x90);  // lanes (0,0,1,2)
          prev = _mm256_blend_pd(prev, _mm256_set1_pd(NAN), 1);
        } else {
          prev = _mm256_loadu_pd(p + 4 * k - 1);
        }
        __m256d fin = _mm256_cmp_pd(_mm256_sub_pd(v, v), _mm256_setzero_pd(), _CMP_EQ_OQ);
        __m256d eq = _mm256_cmp_pd(v, prev, _CMP_EQ_OQ);
        finW |= static_cast<uint64_t>(static_cast<unsigned>(_mm256_movemask_pd(fin))) << (4 * k);
        eqW |= static_cast<uint64_t>(static_cast<unsigned>(_mm256_movemask_pd(eq))) << (4 * k);
        __m256d vp = _mm256_blendv_pd(pivV, v, fin);
        __m256d d = _mm256_sub_pd(vp, pivV);
        if (k % 2 == 0) {
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
      uint64_t nanW = 0;
      if (~finW) {
        for (int k = 0; k < 16; ++k) {
          __m256d v = _mm256_loadu_pd(p + 4 * k);
          nanW |= static_cast<uint64_t>(static_cast<unsigned>(_mm256_movemask_pd(_mm256_cmp_pd(v, v, _CMP_UNORD_Q))))
                  << (4 * k);
        }
      }
      ConsumeWord(st, p, w * kWord, nanW, finW, eqW, prevNaNBit);
      if ((w + 1) % kWordsPerBlock == 0) {
        StoreLanes(st, sA, sB, qA, qB);
        st.FlushBlock();
        sA = sB = qA = qB = _mm256_setzero_pd();
      }
    }
    _mm256_storeu_pd(st.laneMin, minA);
    _mm256_storeu_pd(st.laneMin + 4, minB);
    _mm256_storeu_pd(st.laneMax, maxA);
    _mm256_storeu_pd(st.laneMax + 4, maxB);
    StoreLanes(st, sA, sB, qA, qB);
    st.prevNaN = prevNaNBit != 0;
  }
  Finish(st, words * kWord, out);
}

}  // namespace tg::kernels
#endif
