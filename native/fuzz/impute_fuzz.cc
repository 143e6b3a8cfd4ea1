// libFuzzer harness for imputation (native/kernels/impute.{h,cc}): forward fill and linear,
// float32 and float64, [rows, cols] batches at varying alignments, in place and out of place.
// (Imputation has no AVX2 path.)
//
// Checks, per row:
//  - in place (src == dst) gives exactly what out of place gives, and the same report;
//  - the result equals a plain reference written from impute.h / test/reference.ts imputeRef
//    (nearest finite neighbours found by search, a + (b - a) * t in double, or the weighted form
//    when b - a overflows, rounded once), bit for bit;
//  - finite values stay where they were, bit for bit; with any finite value the output holds no
//    NaN and no Inf, filled == the number of non-finite values and empty is false; with none the
//    row is left as it was (bit for bit), filled == 0 and empty == (n > 0);
//  - a forward-filled value is its previous finite neighbour (or the first finite value); an
//    interpolated value lies between its two neighbours.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "../kernels/impute.h"
#include "fuzz_input.h"

using namespace tg::kernels;
using tg::fuzz::Bits;
using tg::fuzz::FuzzInput;
using tg::fuzz::GuardedBuffer;
using tg::fuzz::SameBits;

namespace {

constexpr size_t kMaxCells = 1 << 12;

template <typename T>
void CheckRow(const T* src, size_t n, ImputeMethod method, size_t row, size_t offset) {
  GuardedBuffer<T> out(n, (offset + 1) % 4), inPlace(n, offset);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<T>(-7.25);  // any value: every element is written
  const ImputeResult r = ImputeRow(src, out.data(), n, method);
  if (n) std::memcpy(inPlace.data(), src, n * sizeof(T));
  const ImputeResult ri = ImputeRow(inPlace.data(), inPlace.data(), n, method);
  TG_CHECK(r.filled == ri.filled && r.empty == ri.empty, "row %zu: in place {%zu, %d} vs out of place {%zu, %d}", row,
           ri.filled, ri.empty, r.filled, r.empty);
  for (size_t i = 0; i < n; ++i) {
    TG_CHECK(SameBits(out[i], inPlace[i]), "row %zu element %zu: out of place %a vs in place %a", row, i,
             static_cast<double>(out[i]), static_cast<double>(inPlace[i]));
  }

  std::vector<size_t> finite;
  for (size_t i = 0; i < n; ++i)
    if (std::isfinite(src[i])) finite.push_back(i);
  if (finite.empty()) {
    TG_CHECK(r.filled == 0 && r.empty == (n > 0), "row %zu n %zu: no finite value: filled %zu empty %d", row, n,
             r.filled, r.empty);
    for (size_t i = 0; i < n; ++i) {
      TG_CHECK(SameBits(out[i], src[i]), "row %zu element %zu: a row with no finite value was changed", row, i);
    }
    return;
  }
  TG_CHECK(!r.empty && r.filled == n - finite.size(), "row %zu n %zu: filled %zu empty %d, expected %zu missing", row,
           n, r.filled, r.empty, n - finite.size());
  size_t k = 0;  // finite[k] is the first finite index >= i
  for (size_t i = 0; i < n; ++i) {
    while (k < finite.size() && finite[k] < i) ++k;
    const T got = out[i];
    TG_CHECK(std::isfinite(got), "row %zu element %zu: %a left non-finite (src %a)", row, i, static_cast<double>(got),
             static_cast<double>(src[i]));
    if (k < finite.size() && finite[k] == i) {
      TG_CHECK(SameBits(got, src[i]), "row %zu element %zu: finite %a changed to %a", row, i,
               static_cast<double>(src[i]), static_cast<double>(got));
      continue;
    }
    const bool hasPrev = k > 0, hasNext = k < finite.size();
    T want;
    if (!hasPrev) {
      want = src[finite[k]];
    } else if (!hasNext || method == ImputeMethod::kForwardFill) {
      want = src[finite[k - 1]];
    } else {
      const size_t p = finite[k - 1], q = finite[k];
      const double a = static_cast<double>(src[p]), b = static_cast<double>(src[q]);
      const double t = static_cast<double>(i - p) / static_cast<double>(q - p);
      const double d = b - a;
      want = static_cast<T>(std::isfinite(d) ? a + d * t : a * (1 - t) + b * t);
      TG_CHECK(got >= std::min(src[p], src[q]) && got <= std::max(src[p], src[q]),
               "row %zu element %zu: interpolated %a outside its neighbours %a (at %zu) and %a (at %zu)", row, i,
               static_cast<double>(got), a, p, b, q);
    }
    TG_CHECK(SameBits(got, want), "row %zu element %zu (method %d): %a, reference %a", row, i, static_cast<int>(method),
             static_cast<double>(got), static_cast<double>(want));
  }
}

template <typename T>
void Run(FuzzInput& in, size_t rows, size_t cols, size_t offset, ImputeMethod method) {
  GuardedBuffer<T> x(rows * cols, offset);
  in.FillSeries(x.data(), rows * cols);
  for (size_t r = 0; r < rows; ++r) CheckRow(x.data() + r * cols, cols, method, r, offset);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  const uint8_t flags = in.U8();
  const bool f64 = flags & 1;
  const ImputeMethod method = (flags >> 1) & 1 ? ImputeMethod::kLinear : ImputeMethod::kForwardFill;
  const size_t rows = 1 + (flags >> 2) % 3;
  const size_t cols = in.Range(0, kMaxCells / rows);
  const size_t offset = in.U8() % (f64 ? 4 : 8);
  if (f64) Run<double>(in, rows, cols, offset, method);
  else Run<float>(in, rows, cols, offset, method);
  return 0;
}
