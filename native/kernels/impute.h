// Fills missing values (NaN or +-Inf) of one series for models that cannot mask them.
// Scalar only: it is a rare path, and gap handling is branchy by nature.
#pragma once
#include <cstddef>

namespace tg::kernels {

enum class ImputeMethod { kForwardFill = 0, kLinear = 1 };

struct ImputeResult {
  size_t filled = 0;  // values written
  bool empty = false;  // the row had no finite value and was left as it was
};

// Forward fill: each gap takes the last finite value before it; a leading gap takes the first
// finite value (backward fill). Linear: interior gaps are interpolated between their finite
// neighbours; leading and trailing gaps are filled backward / forward. src == dst is allowed.
template <typename T>
ImputeResult ImputeRow(const T* src, T* dst, size_t n, ImputeMethod method);

}  // namespace tg::kernels
