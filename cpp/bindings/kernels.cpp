// The CPU level in use, the allocator's counters, and the kernel-level hooks of pyseq/testing.h.
#include "convert.h"
#include "pyseq/storage.h"
#include "pyseq/testing.h"

namespace pyseq::bindings {

void init_kernels(py::module_& m) {
  m.def("cpu_level", &cpu_level,
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
  testing.def("gemm", [](bool trans_a, bool trans_b, double alpha, const Tensor& A, const Tensor& B, double beta,
                         Tensor& C, bool reference) {
    py::gil_scoped_release release;
    testing::gemm(trans_a, trans_b, alpha, A, B, beta, C, reference);
  }, py::arg("trans_a"), py::arg("trans_b"), py::arg("alpha"), py::arg("a"), py::arg("b"), py::arg("beta"),
     py::arg("c"), py::arg("reference") = false);
  testing.def("vecmath", &testing::vecmath, py::arg("name"), py::arg("x"), py::call_guard<py::gil_scoped_release>());
  testing.def("conv1d", &testing::conv1d, py::arg("x"), py::arg("w"), py::arg("stride"), py::arg("padding"),
              py::arg("dilation"), py::arg("groups"), py::arg("reference"), py::call_guard<py::gil_scoped_release>());
  testing.def("philox", &testing::philox, py::arg("key"), py::arg("counter_lo"), py::arg("counter_hi") = 0);
}

}  // namespace pyseq::bindings
