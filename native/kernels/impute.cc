#include "impute.h"

#include <cmath>

namespace tg::kernels {

template <typename T>
ImputeResult ImputeRow(const T* src, T* dst, size_t n, ImputeMethod method) {
  ImputeResult r;
  size_t first = 0;
  while (first < n && !std::isfinite(src[first])) ++first;
  if (first == n) {
    if (src != dst) for (size_t i = 0; i < n; ++i) dst[i] = src[i];
    r.empty = n > 0;
    return r;
  }
  const T head = src[first];
  for (size_t i = 0; i < first; ++i) dst[i] = head;
  r.filled += first;
  size_t last = first;  // index of the last finite value seen
  dst[first] = head;
  for (size_t i = first + 1; i < n; ++i) {
    T v = src[i];
    if (!std::isfinite(v)) continue;
    dst[i] = v;
    size_t gap = i - last - 1;
    if (gap > 0) {
      // src may alias dst: read both ends before writing the gap.
      const double a = static_cast<double>(src[last]);
      const double b = static_cast<double>(v);
      const double span = static_cast<double>(i - last);
      // b - a overflows when the ends straddle +-1e308; the weighted form cannot.
      const bool wide = !std::isfinite(b - a);
      for (size_t j = last + 1; j < i; ++j) {
        const double t = static_cast<double>(j - last) / span;
        double v = a;
        if (method == ImputeMethod::kLinear) v = wide ? a * (1 - t) + b * t : a + (b - a) * t;
        dst[j] = static_cast<T>(v);
      }
      r.filled += gap;
    }
    last = i;
  }
  const T tail = src[last];
  for (size_t j = last + 1; j < n; ++j) dst[j] = tail;
  r.filled += n - last - 1;
  return r;
}

template ImputeResult ImputeRow<float>(const float*, float*, size_t, ImputeMethod);
template ImputeResult ImputeRow<double>(const double*, double*, size_t, ImputeMethod);

}  // namespace tg::kernels
