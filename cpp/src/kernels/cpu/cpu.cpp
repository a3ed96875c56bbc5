#include "cpu.h"

#include "vecmath.h"
#include "pyseq/parallel.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace pyseq::kernels::cpu {
namespace {

CpuLevel detect() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  // The AVX-512 files are compiled with -mavx512f -mavx512dq (CMakeLists.txt): both must be there.
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) return CpuLevel::AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return CpuLevel::AVX2;
#endif
  return CpuLevel::Generic;
}

CpuLevel from_env(CpuLevel hardware) {
  const char* env = std::getenv("PYSEQ_CPU_LEVEL");
  if (!env || !*env) return hardware;
  CpuLevel wanted = hardware;
  if (!std::strcmp(env, "generic")) wanted = CpuLevel::Generic;
  else if (!std::strcmp(env, "avx2")) wanted = CpuLevel::AVX2;
  else if (!std::strcmp(env, "avx512")) wanted = CpuLevel::AVX512;
  return std::min(wanted, hardware);  // the variable can only lower the level
}

}  // namespace

CpuLevel cpu_level() {
  static const CpuLevel level = from_env(detect());
  return level;
}

const char* cpu_level_name(CpuLevel level) {
  switch (level) {
    case CpuLevel::AVX512: return "avx512";
    case CpuLevel::AVX2: return "avx2";
    default: return "generic";
  }
}

}  // namespace pyseq::kernels::cpu

namespace pyseq::kernels::cpu {

const VecMath& vecmath() {
  static const VecMath table = cpu_level() == CpuLevel::AVX512 ? avx512::table()
                               : cpu_level() == CpuLevel::AVX2 ? avx2::table()
                                                               : generic::table();
  return table;
}

void apply_array(ArrayFn fn, const float* x, float* y, int64_t n) {
  parallel_for(0, n, 32768, [&](int64_t b, int64_t e) { fn(x + b, y + b, e - b); });
}

}  // namespace pyseq::kernels::cpu
