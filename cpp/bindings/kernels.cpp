// Kernel-level hooks for tests and benchmarks: the CPU level in use, and GEMM called directly
// (fast or reference) so that every path can be compared against the naive kernel.
#include "../src/kernels/cpu/cpu.h"
#include "../src/kernels/cpu/gemm.h"
#include "../src/kernels/cpu/vecmath.h"
#include "convert.h"
#include "pyseq/storage.h"

namespace pyseq::bindings {

void init_kernels(py::module_& m) {
  m.def("cpu_level", [] { return kernels::cpu_level_name(kernels::cpu_level()); },
        "The instruction-set level of the SIMD kernels: 'avx512', 'avx2' or 'generic' (PYSEQ_CPU_LEVEL lowers it).");

  m.def("empty_cache", &empty_cache, "Return the memory cached by pyseq's allocator to the system.");
  m.def("memory_stats", [] {
    AllocatorStats s = allocator_stats();
    py::dict d;
    d["hits"] = s.hits;
    d["misses"] = s.misses;
    d["cached_bytes"] = s.cached_bytes;
    d["caching"] = s.caching;
    return d;
  }, "Counters of the caching allocator: hits, misses, cached_bytes, caching.");
  m.def("set_allocator_caching", &set_allocator_caching, py::arg("enabled"),
        "Turn the reuse of freed blocks on or off (off also empties the cache).");

  py::module_ testing = m.def_submodule("_testing", "Hooks for pyseq's own tests");
  // C = alpha * op(A) @ op(B) + beta * C on 2-d tensors with contiguous rows (any row stride, so
  // slices test leading dimensions), in place; op transposes when asked.
  testing.def("gemm", [](bool trans_a, bool trans_b, double alpha, const Tensor& A, const Tensor& B, double beta,
                         Tensor& C, bool reference) {
    for (const Tensor* t : {&A, &B, static_cast<const Tensor*>(&C)})
      PYSEQ_CHECK(t->ndim() == 2 && t->dtype() == C.dtype() &&
                      (t->numel() == 0 || (t->strides()[1] == 1 && t->strides()[0] >= t->shape()[1])),
                  ValueError, "gemm: expects 2-d tensors of one dtype with contiguous rows");
    const int64_t M = C.shape()[0], N = C.shape()[1], K = trans_a ? A.shape()[0] : A.shape()[1];
    PYSEQ_CHECK((trans_a ? A.shape()[1] : A.shape()[0]) == M && (trans_b ? B.shape()[0] : B.shape()[1]) == N &&
                    (trans_b ? B.shape()[1] : B.shape()[0]) == K,
                ValueError, "gemm: shapes ", A.shape(), ", ", B.shape(), ", ", C.shape(), " do not fit");
    auto ld = [](const Tensor& t) { return std::max<int64_t>(t.strides()[0], t.shape()[1]); };
    py::gil_scoped_release release;
    dispatch_numeric(C.dtype(), "gemm", [&](auto tag) {
      using T = decltype(tag);
      if (reference)
        kernels::gemm_reference<T>(trans_a, trans_b, M, N, K, T(alpha), A.data<T>(), ld(A), B.data<T>(), ld(B), T(beta),
                                   C.data<T>(), ld(C));
      else
        kernels::gemm<T>(trans_a, trans_b, M, N, K, T(alpha), A.data<T>(), ld(A), B.data<T>(), ld(B), T(beta),
                         C.data<T>(), ld(C));
    });
    C.bump_version();
  }, py::arg("trans_a"), py::arg("trans_b"), py::arg("alpha"), py::arg("a"), py::arg("b"), py::arg("beta"),
     py::arg("c"), py::arg("reference") = false);
  // y = f(x) by the vectorised float32 kernel of this CPU level, for accuracy tests.
  testing.def("vecmath", [](const std::string& name, const Tensor& x) {
    PYSEQ_CHECK(x.dtype() == DType::Float32 && x.is_contiguous(), ValueError, "vecmath: expects a contiguous float32 tensor");
    const kernels::VecMath& vm = kernels::vecmath();
    kernels::ArrayFn fn = name == "exp" ? vm.exp : name == "log" ? vm.log : name == "tanh" ? vm.tanh
                          : name == "sigmoid" ? vm.sigmoid : name == "gelu_tanh" ? vm.gelu_tanh
                          : name == "gelu_erf"  ? vm.gelu_erf : nullptr;
    PYSEQ_CHECK(fn, ValueError, "vecmath: unknown function '", name, "'");
    Tensor y = empty(x.shape(), DType::Float32);
    fn(x.data<float>(), y.data<float>(), x.numel());
    return y;
  }, py::arg("name"), py::arg("x"));
}

}  // namespace pyseq::bindings
