#include "fill.h"

#include <type_traits>

#include "pyseq/parallel.h"

namespace pyseq::kernels::cpu {
namespace {

// out[i] = f(i) for i in [0, n), in parallel.
template <class T, class F>
void generate(T* out, int64_t n, const F& f) {
  parallel_for(0, n, 65536, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = f(i);
  });
}

}  // namespace

template <class T>
void fill(T* out, int64_t n, T value) {
  generate(out, n, [value](int64_t) { return value; });
}

template <class T>
void arange(T* out, int64_t n, double start, double step, int64_t start_i, int64_t step_i) {
  if constexpr (std::is_floating_point_v<T>)
    generate(out, n, [=](int64_t i) { return static_cast<T>(start + static_cast<double>(i) * step); });
  else
    generate(out, n, [=](int64_t i) { return static_cast<T>(start_i + i * step_i); });
}

template <class T>
void eye(T* out, int64_t n, int64_t m) {
  generate(out, n * m, [m](int64_t i) { return static_cast<T>(i / m == i % m ? 1 : 0); });
}

void triangle_mask(bool* keep, int64_t rows, int64_t cols, int64_t diagonal, bool lower) {
  generate(keep, rows * cols, [=](int64_t at) {
    const int64_t i = at / cols, j = at % cols;
    return lower ? j - i <= diagonal : j - i >= diagonal;
  });
}

#define PYSEQ_INSTANTIATE(T)                                                    \
  template void fill<T>(T*, int64_t, T);                                       \
  template void arange<T>(T*, int64_t, double, double, int64_t, int64_t);      \
  template void eye<T>(T*, int64_t, int64_t);
PYSEQ_INSTANTIATE(bool)
PYSEQ_INSTANTIATE(int64_t)
PYSEQ_INSTANTIATE(float)
PYSEQ_INSTANTIATE(double)
#undef PYSEQ_INSTANTIATE

}  // namespace pyseq::kernels::cpu
