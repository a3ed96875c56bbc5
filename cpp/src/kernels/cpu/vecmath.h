// Vectorised float32 math over arrays (see vecmath_isa.inc): y[i] = f(x[i]), x and y may alias.
// The instruction-set version is picked at run time like GEMM's (cpu.h).
#pragma once

#include <algorithm>
#include <cstdint>

namespace pyseq::kernels {

using ArrayFn = void (*)(const float* x, float* y, int64_t n);

struct VecMath {
  ArrayFn exp, log, tanh, sigmoid, gelu_tanh, gelu_erf;
  // One row of n floats: y = softmax(x), or log_softmax(x) when `log`; y may alias x.
  void (*softmax_row)(const float* x, float* y, int64_t n, bool log);
};

namespace generic { VecMath table(); }
namespace avx2 { VecMath table(); }
namespace avx512 { VecMath table(); }

// The table for this CPU. Callers split long arrays across threads themselves.
const VecMath& vecmath();

}  // namespace pyseq::kernels
