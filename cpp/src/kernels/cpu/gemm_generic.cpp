// GEMM kernels for the generic instruction set (16-byte vectors); see gemm_isa.inc.
#include "gemm_driver.h"

namespace pyseq::kernels::cpu::generic {

#define PYSEQ_VEC_BYTES 16
#include "gemm_isa.inc"

GemmKernels<float> kernels_f32() { return Isa<float>::kernels(); }
GemmKernels<double> kernels_f64() { return Isa<double>::kernels(); }
GemmKernels<int64_t> kernels_i64() { return Isa<int64_t>::kernels(); }

}  // namespace pyseq::kernels::cpu::generic
