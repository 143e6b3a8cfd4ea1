#include "scan.h"
#include "scan_state.h"

namespace tg::kernels {

template <typename T>
static void ScanScalarImpl(const T* x, size_t n, Bounds b, double* out) {
  detail::RowScan<T> st(x, n, b);
  for (size_t i = 0; i < n; ++i) st.Step(i);
  st.Write(out);
}

void ScanRowScalar(const float* x, size_t n, Bounds b, double* out) { ScanScalarImpl(x, n, b, out); }
void ScanRowScalar(const double* x, size_t n, Bounds b, double* out) { ScanScalarImpl(x, n, b, out); }

}  // namespace tg::kernels
