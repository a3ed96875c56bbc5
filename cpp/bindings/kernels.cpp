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
  testing.def("rnn_reference", [](const std::string& mode, const Tensor& x, py::handle h0, py::handle c0,
                                  const Tensor& w_ih, const Tensor& w_hh, py::handle b_ih, py::handle b_hh,
                                  py::handle lengths, bool reverse, py::handle d_out, py::handle d_hn, py::handle d_cn,
                                  py::handle w_hr) {
    auto opt = [](py::handle h) { return optional_tensor(h, "rnn_reference"); };
    const Tensor a = opt(h0), b = opt(c0), c = opt(b_ih), d = opt(b_hh), e = opt(lengths), f = opt(d_out),
                 g = opt(d_hn), k = opt(d_cn), wr = opt(w_hr);
    py::gil_scoped_release release;
    return testing::rnn_reference(mode, x, a, b, w_ih, w_hh, c, d, e, reverse, f, g, k, wr);
  }, py::arg("mode"), py::arg("x"), py::arg("h0"), py::arg("c0"), py::arg("w_ih"), py::arg("w_hh"), py::arg("b_ih"),
     py::arg("b_hh"), py::arg("lengths"), py::arg("reverse"), py::arg("d_out") = py::none(),
     py::arg("d_hn") = py::none(), py::arg("d_cn") = py::none(), py::arg("w_hr") = py::none());
  testing.def("philox", &testing::philox, py::arg("key"), py::arg("counter_lo"), py::arg("counter_hi") = 0);
}

}  // namespace pyseq::bindings
