// GEMM kernels for the avx2 instruction set (32-byte vectors); see gemm_isa.inc.
#include "gemm_driver.h"

namespace pyseq::kernels::cpu::avx2 {

#define PYSEQ_VEC_BYTES 32
#include "gemm_isa.inc"

GemmKernels<float> kernels_f32() { return Isa<float>::kernels(); }
GemmKernels<double> kernels_f64() { return Isa<double>::kernels(); }

}  // namespace pyseq::kernels::cpu::avx2
