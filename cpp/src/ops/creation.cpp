// Creation ops: constant fills, ranges, identity matrices and random tensors. Random ones draw
// from the counter-based generator (pyseq/random.h): the same seed gives the same values whatever
// the thread count.
#include <cmath>

#include "../kernels/cpu/fill.h"
#include "../kernels/cpu/random.h"
#include "dispatch.h"
#include "internal.h"
#include "pyseq/random.h"

namespace pyseq {

Tensor full(const Shape& shape, Scalar value, DType dtype) {
  value.check_fits(dtype, "full");
  Tensor out = empty(check_shape(shape, "full"), dtype);
  PYSEQ_DISPATCH(ALL, out.device(), dtype, "full", { dev::fill<T>(out.data<T>(), out.numel(), value.to<T>()); });
  return out;
}
Tensor zeros(const Shape& shape, DType dtype) { return full(check_shape(shape, "zeros"), Scalar(int64_t{0}), dtype); }
Tensor ones(const Shape& shape, DType dtype) { return full(check_shape(shape, "ones"), Scalar(int64_t{1}), dtype); }
Tensor scalar_tensor(Scalar value, DType dtype) { return full({}, value, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }

Tensor arange(Scalar start, Scalar end, Scalar step, DType dtype) {
  const double s = start.to<double>(), e = end.to<double>(), st = step.to<double>();
  PYSEQ_CHECK(std::isfinite(s) && std::isfinite(e) && std::isfinite(st), ValueError,
              "arange: start, end and step must be finite, got ", s, ", ", e, ", ", st);
  PYSEQ_CHECK(st != 0, ValueError, "arange: step must be non-zero");
  PYSEQ_CHECK((st > 0 && e >= s) || (st < 0 && e <= s), ValueError, "arange: upper bound ", e,
              " and lower bound ", s, " inconsistent with step sign ", st);
  PYSEQ_CHECK(dtype != DType::Bool, TypeError, "arange: bool dtype is not supported");
  const bool ints = dtype == DType::Int64;
  // integer ranges count exactly in int64 (doubles lose the low bits past 2^53), and a step that
  // truncates to 0 is refused, as in PyTorch
  PYSEQ_CHECK(!ints || step.to<int64_t>() != 0, ValueError, "arange: step ", st, " truncates to 0 for an int64 range");
  int64_t n;
  if (ints && start.kind != Scalar::Kind::Float && end.kind != Scalar::Kind::Float && step.kind != Scalar::Kind::Float) {
    const int64_t si = start.to<int64_t>(), ei = end.to<int64_t>(), sti = step.to<int64_t>();
    const __int128 span = static_cast<__int128>(ei) - si;  // the element count ceil(span / step)
    n = static_cast<int64_t>(sti > 0 ? (span + sti - 1) / sti : (span + sti + 1) / sti);
  } else {
    n = static_cast<int64_t>(std::ceil((e - s) / st));
  }
  Tensor out = empty({n}, dtype);
  PYSEQ_DISPATCH(NUMERIC, out.device(), dtype, "arange", {
    dev::arange<T>(out.data<T>(), n, s, st, start.to<int64_t>(), step.to<int64_t>());
  });
  return out;
}

Tensor eye(int64_t n, int64_t m, DType dtype) {
  PYSEQ_CHECK(n >= 0 && m >= 0, ValueError, "eye: n and m must be greater or equal to 0, got n=", n, ", m=", m);
  Tensor out = empty(check_shape({n, m}, "eye"), dtype);
  PYSEQ_DISPATCH(ALL, out.device(), dtype, "eye", { dev::eye<T>(out.data<T>(), n, m); });
  return out;
}

// --- random ---

namespace {

// A fresh tensor of `shape` and floating `dtype` with values from the generator: uniform in [a, b),
// or normal with mean a and standard deviation b. Each fill reserves the counters its kernel uses.
Tensor random_values(const Shape& shape, DType dtype, bool normal, double a, double b, const char* op) {
  Tensor out = empty(check_shape(shape, op), dtype);
  PYSEQ_DISPATCH(FLOAT, out.device(), dtype, op, {
    const RngState st = reserve_rng(dev::blocks_for(out.numel(), dev::values_per_block<T>()));
    if (normal) dev::fill_normal<T>(out.data<T>(), out.numel(), st, a, b);
    else dev::fill_uniform<T>(out.data<T>(), out.numel(), st, a, b);
  });
  return out;
}

// The dtype in-place fills draw in: the tensor's own, or float64 for an integer tensor (then cast).
DType draw_dtype(const Tensor& t) { return is_floating(t.dtype()) ? t.dtype() : DType::Float64; }

}  // namespace

Tensor rand(const Shape& shape, DType dtype) { return random_values(shape, dtype, false, 0.0, 1.0, "rand"); }
Tensor randn(const Shape& shape, DType dtype) { return random_values(shape, dtype, true, 0.0, 1.0, "randn"); }

Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype) {
  check_shape(shape, "randint");
  PYSEQ_CHECK(low < high, ValueError, "randint: expected low < high, got low=", low, ", high=", high);
  Tensor out = empty(shape, dtype);
  PYSEQ_DISPATCH(NUMERIC, out.device(), dtype, "randint", {
    const RngState st = reserve_rng(dev::blocks_for(out.numel(), dev::kRandintPerBlock));
    dev::fill_randint<T>(out.data<T>(), out.numel(), st, low, high);
  });
  return out;
}

Tensor rng_state() {
  const RngState st = get_rng_state();
  Tensor out = empty({2}, DType::Int64);
  out.data<int64_t>()[0] = static_cast<int64_t>(st.seed);
  out.data<int64_t>()[1] = static_cast<int64_t>(st.offset);
  return out;
}

void set_rng_state(const Tensor& state) {
  PYSEQ_CHECK(state.dtype() == DType::Int64 && state.shape() == Shape({2}), ValueError,
              "set_rng_state: expected the int64 tensor of shape [2] that get_rng_state() returns, got ",
              state.dtype(), " of shape ", state.shape());
  const Tensor st = contiguous(state);
  set_rng_state(RngState{static_cast<uint64_t>(st.data<int64_t>()[0]), static_cast<uint64_t>(st.data<int64_t>()[1])});
}

// In place: the values are drawn into a fresh tensor and copied in (copy_ handles any strides and
// records the write for autograd).
Tensor& uniform_(Tensor& self, double low, double high) {
  PYSEQ_CHECK(low <= high, ValueError, "uniform_: expected low <= high, got low=", low, ", high=", high);
  return copy_(self, random_values(self.shape(), draw_dtype(self), false, low, high, "uniform_"));
}

Tensor& normal_(Tensor& self, double mean, double std) {
  PYSEQ_CHECK(std >= 0, ValueError, "normal_: expected std >= 0, got ", std);
  return copy_(self, random_values(self.shape(), draw_dtype(self), true, mean, std, "normal_"));
}

}  // namespace pyseq
