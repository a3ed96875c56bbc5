// Kernel-level hooks for tests and benchmarks: the CPU level in use, and GEMM called directly
// (fast or reference) so that every path can be compared against the naive kernel.
#include "../src/kernels/cpu/cpu.h"
#include "../src/kernels/cpu/gemm.h"
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
  // C = alpha * op(A) @ op(B) + beta * C on contiguous 2-d tensors, in place; op transposes when asked.
  testing.def("gemm", [](bool trans_a, bool trans_b, double alpha, const Tensor& A, const Tensor& B, double beta,
                         Tensor& C, bool reference) {
    for (const Tensor* t : {&A, &B, static_cast<const Tensor*>(&C)})
      PYSEQ_CHECK(t->ndim() == 2 && t->is_contiguous() && t->dtype() == C.dtype(), ValueError,
                  "gemm: expects contiguous 2-d tensors of one dtype");
    const int64_t M = C.shape()[0], N = C.shape()[1], K = trans_a ? A.shape()[0] : A.shape()[1];
    PYSEQ_CHECK((trans_a ? A.shape()[1] : A.shape()[0]) == M && (trans_b ? B.shape()[0] : B.shape()[1]) == N &&
                    (trans_b ? B.shape()[1] : B.shape()[0]) == K,
                ValueError, "gemm: shapes ", A.shape(), ", ", B.shape(), ", ", C.shape(), " do not fit");
    py::gil_scoped_release release;
    dispatch_numeric(C.dtype(), "gemm", [&](auto tag) {
      using T = decltype(tag);
      auto fn = reference ? &kernels::gemm_reference<T> : &kernels::gemm<T>;
      fn(trans_a, trans_b, M, N, K, T(alpha), A.data<T>(), A.shape()[1], B.data<T>(), B.shape()[1], T(beta),
         C.data<T>(), N);
    });
    C.bump_version();
  }, py::arg("trans_a"), py::arg("trans_b"), py::arg("alpha"), py::arg("a"), py::arg("b"), py::arg("beta"),
     py::arg("c"), py::arg("reference") = false);
}

}  // namespace pyseq::bindings
