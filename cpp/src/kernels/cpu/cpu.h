// Run-time CPU feature detection: which instruction-set level the SIMD kernels may use.
#pragma once

#include "../layer.h"  // kernels are called by ops only

namespace pyseq::kernels::cpu {

enum class CpuLevel { Generic = 0, AVX2 = 1, AVX512 = 2 };

// The highest level this CPU supports, lowered by the environment variable PYSEQ_CPU_LEVEL
// ("generic", "avx2" or "avx512") so that every kernel path can be tested on one machine.
CpuLevel cpu_level();
const char* cpu_level_name(CpuLevel level);

}  // namespace pyseq::kernels::cpu
