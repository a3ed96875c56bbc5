#include "pyseq/testing.h"

#include <algorithm>

#include "../kernels/cpu/conv.h"
#include "../kernels/cpu/cpu.h"
#include "../kernels/cpu/gemm.h"
#include "../kernels/cpu/vecmath.h"
#include "dispatch.h"
#include "internal.h"
#include "pyseq/random.h"

namespace pyseq {

std::string cpu_level() { return kernels::cpu::cpu_level_name(kernels::cpu::cpu_level()); }

namespace testing {

void gemm(bool trans_a, bool trans_b, double alpha, const Tensor& A, const Tensor& B, double beta, Tensor& C,
          bool reference) {
  for (const Tensor* t : {&A, &B, static_cast<const Tensor*>(&C)})
    PYSEQ_CHECK(t->ndim() == 2 && t->dtype() == C.dtype() &&
                    (t->numel() == 0 || (t->strides()[1] == 1 && t->strides()[0] >= t->shape()[1])),
                ValueError, "gemm: expects 2-d tensors of one dtype with contiguous rows");
  const int64_t M = C.shape()[0], N = C.shape()[1], K = trans_a ? A.shape()[0] : A.shape()[1];
  PYSEQ_CHECK((trans_a ? A.shape()[1] : A.shape()[0]) == M && (trans_b ? B.shape()[0] : B.shape()[1]) == N &&
                  (trans_b ? B.shape()[1] : B.shape()[0]) == K,
              ValueError, "gemm: shapes ", A.shape(), ", ", B.shape(), ", ", C.shape(), " do not fit");
  auto ld = [](const Tensor& t) { return std::max<int64_t>(t.strides()[0], t.shape()[1]); };
  PYSEQ_DISPATCH(NUMERIC, C.device(), C.dtype(), "gemm", {
    if (reference)
      dev::gemm_reference<T>(trans_a, trans_b, M, N, K, T(alpha), A.data<T>(), ld(A), B.data<T>(), ld(B), T(beta),
                             C.data<T>(), ld(C));
    else
      dev::gemm<T>(trans_a, trans_b, M, N, K, T(alpha), A.data<T>(), ld(A), B.data<T>(), ld(B), T(beta), C.data<T>(),
                   ld(C));
  });
  C.bump_version();
}

Tensor vecmath(const std::string& name, const Tensor& x) {
  PYSEQ_CHECK(x.dtype() == DType::Float32 && x.is_contiguous(), ValueError, "vecmath: expects a contiguous float32 tensor");
  const kernels::cpu::VecMath& vm = kernels::cpu::vecmath();
  kernels::cpu::ArrayFn fn = name == "exp" ? vm.exp : name == "log" ? vm.log : name == "tanh" ? vm.tanh
                             : name == "sigmoid" ? vm.sigmoid : name == "gelu_tanh" ? vm.gelu_tanh
                             : name == "gelu_erf"  ? vm.gelu_erf : nullptr;
  PYSEQ_CHECK(fn, ValueError, "vecmath: unknown function '", name, "'");
  Tensor y = empty(x.shape(), DType::Float32);
  fn(x.data<float>(), y.data<float>(), x.numel());
  return y;
}

Tensor conv1d(const Tensor& x, const Tensor& w, int64_t stride, int64_t padding, int64_t dilation, int64_t groups,
              bool reference) {
  PYSEQ_CHECK(x.ndim() == 3 && w.ndim() == 3 && x.dtype() == w.dtype() && x.is_contiguous() && w.is_contiguous() &&
                  stride >= 1 && dilation >= 1 && groups >= 1 &&
                  x.shape()[1] == size_mul(w.shape()[1], groups, "testing.conv1d", "C_in") &&
                  w.shape()[0] % groups == 0,
              ValueError, "testing.conv1d: expects contiguous x (N, C_in, L), w (C_out, C_in / groups, K) that fit");
  const kernels::cpu::Conv1dShape s{x.shape()[0], x.shape()[1], w.shape()[0], groups,
                                    detail::window_1d("testing.conv1d", x, w.shape()[2], stride, padding, dilation)};
  Tensor y = empty({s.N, s.C_out, s.window.out_length}, x.dtype());
  PYSEQ_DISPATCH(FLOAT, x.device(), x.dtype(), "testing.conv1d", {
    if (reference) dev::conv1d_reference<T>(x.data<T>(), w.data<T>(), s, y.data<T>());
    else dev::conv1d_forward<T>(x.data<T>(), w.data<T>(), s, y.data<T>());
  });
  return y;
}

std::array<uint32_t, 4> philox(uint64_t key, uint64_t counter_lo, uint64_t counter_hi) {
  return philox4x32(key, counter_lo, counter_hi);
}

}  // namespace testing
}  // namespace pyseq
