// Vectorised float32 math for the generic instruction set (16-byte vectors); see vecmath_isa.inc.
#include "vecmath.h"

namespace pyseq::kernels::cpu::generic {

#define PYSEQ_VEC_BYTES 16
#include "vecmath_isa.inc"

}  // namespace pyseq::kernels::cpu::generic
