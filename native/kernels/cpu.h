#pragma once

namespace tg::kernels {

// True when the CPU (and OS) support AVX2 and FMA, the instruction sets of the *_avx2.cc files.
bool CpuHasAvx2Fma();

}  // namespace tg::kernels
