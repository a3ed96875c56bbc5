// Vectorised float32 math for the avx512 instruction set (64-byte vectors); see vecmath_isa.inc.
#include "vecmath.h"

namespace pyseq::kernels::cpu::avx512 {

#define PYSEQ_VEC_BYTES 64
#include "vecmath_isa.inc"

}  // namespace pyseq::kernels::cpu::avx512
