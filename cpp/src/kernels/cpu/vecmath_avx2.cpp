// Vectorised float32 math for the avx2 instruction set (32-byte vectors); see vecmath_isa.inc.
#include "vecmath.h"

namespace pyseq::kernels::cpu::avx2 {

#define PYSEQ_VEC_BYTES 32
#include "vecmath_isa.inc"

}  // namespace pyseq::kernels::cpu::avx2
