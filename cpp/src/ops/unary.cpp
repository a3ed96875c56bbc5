// Unary elementwise math. Each op is one struct holding its forward `f(x)` and its derivative
// `df(x, y)` (y = f(x)) side by side; `unary` runs the forward and, for backward, g * df(x, y).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <type_traits>

#include "../kernels/cpu/loops.h"
#include "../kernels/cpu/vecmath.h"
#include "dispatch.h"
#include "internal.h"
#include "wrapping.h"

namespace pyseq {
namespace {

// Ops with a vectorised float32 kernel (vecmath.h) name it in vector_fn().
// Flags: kIntegral ops also run on int64 (others promote integer inputs to float32);
// kUsesX / kUsesY say which of input and output the derivative reads, so only those are saved.
struct Exp {
  kernels::cpu::ArrayFn vector_fn() const { return kernels::cpu::vecmath().exp; }
  static constexpr bool kIntegral = false, kUsesX = false, kUsesY = true;
  template <class T> T f(T x) const { return std::exp(x); }
  template <class T> T df(T, T y) const { return y; }
};
struct Log {
  kernels::cpu::ArrayFn vector_fn() const { return kernels::cpu::vecmath().log; }
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return std::log(x); }
  template <class T> T df(T x, T) const { return T(1) / x; }
};
struct Sqrt {
  static constexpr bool kIntegral = false, kUsesX = false, kUsesY = true;
  template <class T> T f(T x) const { return std::sqrt(x); }
  template <class T> T df(T, T y) const { return T(0.5) / y; }
};
struct Rsqrt {
  static constexpr bool kIntegral = false, kUsesX = false, kUsesY = true;
  template <class T> T f(T x) const { return T(1) / std::sqrt(x); }
  template <class T> T df(T, T y) const { return T(-0.5) * y * y * y; }
};
struct Sin {
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return std::sin(x); }
  template <class T> T df(T x, T) const { return std::cos(x); }
};
struct Cos {
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return std::cos(x); }
  template <class T> T df(T x, T) const { return -std::sin(x); }
};
struct Tanh {
  kernels::cpu::ArrayFn vector_fn() const { return kernels::cpu::vecmath().tanh; }
  static constexpr bool kIntegral = false, kUsesX = false, kUsesY = true;
  template <class T> T f(T x) const { return std::tanh(x); }
  template <class T> T df(T, T y) const { return T(1) - y * y; }
};
struct Sigmoid {
  kernels::cpu::ArrayFn vector_fn() const { return kernels::cpu::vecmath().sigmoid; }
  static constexpr bool kIntegral = false, kUsesX = false, kUsesY = true;
  template <class T> T f(T x) const {  // never exponentiates a large positive number
    if (x >= 0) return T(1) / (T(1) + std::exp(-x));
    T e = std::exp(x);
    return e / (T(1) + e);
  }
  template <class T> T df(T, T y) const { return y * (T(1) - y); }
};
struct Gelu {  // x * Phi(x), exactly (erf) or with the tanh approximation
  kernels::cpu::ArrayFn vector_fn() const {
    return tanh_approx ? kernels::cpu::vecmath().gelu_tanh : kernels::cpu::vecmath().gelu_erf;
  }
  kernels::cpu::ArrayFn vector_df() const {  // df(x) over an array, for float32
    return tanh_approx ? kernels::cpu::vecmath().gelu_tanh_grad : kernels::cpu::vecmath().gelu_erf_grad;
  }
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  bool tanh_approx;
  template <class T> T f(T x) const {
    if (tanh_approx) return T(0.5) * x * (T(1) + std::tanh(inner(x)));
    // 0.5 x erfc(-x / sqrt 2) in double: no cancellation for negative x, unlike 0.5 x (1 + erf(...))
    const double xd = x;
    return static_cast<T>(0.5 * xd * std::erfc(-xd * M_SQRT1_2));
  }
  template <class T> T df(T x, T) const {
    if (tanh_approx) {
      T t = std::tanh(inner(x));
      T dinner = T(M_2_SQRTPI * M_SQRT1_2) * (T(1) + T(3 * 0.044715) * x * x);
      return T(0.5) * (T(1) + t) + T(0.5) * x * (T(1) - t * t) * dinner;
    }
    T pdf = std::exp(T(-0.5) * x * x) * T(M_2_SQRTPI * M_SQRT1_2 * 0.5);
    return T(0.5) * (T(1) + std::erf(x * T(M_SQRT1_2))) + x * pdf;
  }
  template <class T> static T inner(T x) { return T(M_2_SQRTPI * M_SQRT1_2) * (x + T(0.044715) * x * x * x); }
};
struct Relu {
  static constexpr bool kIntegral = true, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return x < T(0) ? T(0) : x; }  // NaN and -0.0 pass, as in PyTorch
  template <class T> T df(T x, T) const { return T(x > T(0)); }  // branch-free: the loop vectorises
};
struct LeakyRelu {
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  double slope;
  template <class T> T f(T x) const { return x > T(0) ? x : x * T(slope); }
  template <class T> T df(T x, T) const { return x > T(0) ? T(1) : T(slope); }
};
struct Elu {
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = true;
  double alpha;
  template <class T> T f(T x) const { return x > T(0) ? x : T(alpha) * std::expm1(x); }
  template <class T> T df(T x, T y) const { return x > T(0) ? T(1) : y + T(alpha); }
};
struct Log1p {  // log(1 + x), exact for small x
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return std::log1p(x); }
  template <class T> T df(T x, T) const { return T(1) / (T(1) + x); }
};
struct Expm1 {  // e^x - 1, exact for small x
  static constexpr bool kIntegral = false, kUsesX = false, kUsesY = true;
  template <class T> T f(T x) const { return std::expm1(x); }
  template <class T> T df(T, T y) const { return y + T(1); }
};
struct Erf {
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return std::erf(x); }
  template <class T> T df(T x, T) const { return T(M_2_SQRTPI) * std::exp(-x * x); }
};
struct Tan {
  static constexpr bool kIntegral = false, kUsesX = false, kUsesY = true;
  template <class T> T f(T x) const { return std::tan(x); }
  template <class T> T df(T, T y) const { return T(1) + y * y; }
};
struct Asin {
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return std::asin(x); }
  template <class T> T df(T x, T) const { return T(1) / std::sqrt(T(1) - x * x); }
};
struct Acos {
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return std::acos(x); }
  template <class T> T df(T x, T) const { return T(-1) / std::sqrt(T(1) - x * x); }
};
struct Atan {
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return std::atan(x); }
  template <class T> T df(T x, T) const { return T(1) / (T(1) + x * x); }
};
struct Sinh {
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return std::sinh(x); }
  template <class T> T df(T x, T) const { return std::cosh(x); }
};
struct Cosh {
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return std::cosh(x); }
  template <class T> T df(T x, T) const { return std::sinh(x); }
};
struct Asinh {
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return std::asinh(x); }
  template <class T> T df(T x, T) const { return T(1) / std::sqrt(x * x + T(1)); }
};
struct Acosh {
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return std::acosh(x); }
  template <class T> T df(T x, T) const { return T(1) / std::sqrt((x - T(1)) * (x + T(1))); }
};
struct Atanh {
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return std::atanh(x); }
  template <class T> T df(T x, T) const { return T(1) / (T(1) - x * x); }
};
struct Log2 {
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return std::log2(x); }
  template <class T> T df(T x, T) const { return T(1) / (x * T(M_LN2)); }
};
struct Log10 {
  static constexpr bool kIntegral = false, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return std::log10(x); }
  template <class T> T df(T x, T) const { return T(1) / (x * T(M_LN10)); }
};
struct Exp2 {
  static constexpr bool kIntegral = false, kUsesX = false, kUsesY = true;
  template <class T> T f(T x) const { return std::exp2(x); }
  template <class T> T df(T, T y) const { return y * T(M_LN2); }
};
struct Reciprocal {  // 1 / x; integers give float32, as PyTorch
  static constexpr bool kIntegral = false, kUsesX = false, kUsesY = true;
  template <class T> T f(T x) const { return T(1) / x; }
  template <class T> T df(T, T y) const { return -y * y; }
};
struct Square {
  static constexpr bool kIntegral = true, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return wrapping_mul(x, x); }
  template <class T> T df(T x, T) const { return T(2) * x; }
};
// Rounding to an integer value (integers pass unchanged); the derivative is 0 almost everywhere.
// round: to the nearest, halves to even (the default rounding mode), as PyTorch.
template <int Mode>  // 0 floor, 1 ceil, 2 round, 3 trunc
struct Rounding {
  static constexpr bool kIntegral = true, kUsesX = false, kUsesY = false;
  template <class T> T f(T x) const {
    if constexpr (std::is_integral_v<T>) return x;
    else return Mode == 0 ? std::floor(x) : Mode == 1 ? std::ceil(x) : Mode == 2 ? std::nearbyint(x) : std::trunc(x);
  }
  template <class T> T df(T, T) const { return T(0); }
};
struct Sign {
  static constexpr bool kIntegral = true, kUsesX = false, kUsesY = false;
  template <class T> T f(T x) const { return T((x > T(0)) - (x < T(0))); }
  template <class T> T df(T, T) const { return T(0); }
};
struct Abs {
  static constexpr bool kIntegral = true, kUsesX = true, kUsesY = false;
  template <class T> T f(T x) const { return x < T(0) ? wrapping_neg(x) : x; }
  template <class T> T df(T x, T) const { return Sign().f(x); }
};
struct Neg {
  static constexpr bool kIntegral = true, kUsesX = false, kUsesY = false;
  template <class T> T f(T x) const { return wrapping_neg(x); }
  template <class T> T df(T, T) const { return T(-1); }
};
struct Clamp {  // min(max(x, lo), hi) as PyTorch: NaN passes, a NaN bound gives NaN, hi wins over lo
  static constexpr bool kIntegral = true, kUsesX = true, kUsesY = false;
  std::optional<double> lo, hi;
  template <class T> T f(T x) const {
    if (lo) x = *lo != *lo || x < T(*lo) ? T(*lo) : x;
    if (hi) x = *hi != *hi || x > T(*hi) ? T(*hi) : x;
    return x;
  }
  template <class T> T df(T x, T) const { return (!lo || x >= T(*lo)) && (!hi || x <= T(*hi)) ? T(1) : T(0); }
};

// An op's vectorised float32 kernel, when it declares one with vector_fn().
template <class Op, class = void>
struct HasVector : std::false_type {};
template <class Op>
struct HasVector<Op, std::void_t<decltype(std::declval<const Op&>().vector_fn())>> : std::true_type {};
template <class Op>
kernels::cpu::ArrayFn vector_fn(const Op& op) {
  if constexpr (HasVector<Op>::value) return op.vector_fn();
  else return nullptr;
}
// Its vectorised float32 derivative df(x), when it declares one with vector_df() (kUsesX ops only).
template <class Op, class = void>
struct HasVectorDf : std::false_type {};
template <class Op>
struct HasVectorDf<Op, std::void_t<decltype(std::declval<const Op&>().vector_df())>> : std::true_type {};

// g * df(x, y), reading only the operands the derivative needs (kUsesX, kUsesY).
template <class Op>
struct UnaryBackward final : Node {
  Op op;
  SavedTensor x, y;
  UnaryBackward(std::string name, const Op& op) : Node(std::move(name)), op(op) {}

  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    // Operands the derivative does not read are stood in for by g.
    const Tensor xv = detail::cast(Op::kUsesX ? x.get() : g, g.dtype());
    const Tensor yv = detail::cast(Op::kUsesY ? y.get() : g, g.dtype());
    Tensor gx = empty(g.shape(), g.dtype());
    bool vector_df = false;  // gx = df(x) by the op's vector kernel, then gx *= g
    PYSEQ_DISPATCH(FLOAT, g.device(), g.dtype(), name.c_str(), {
      if constexpr (std::is_same_v<T, float> && HasVectorDf<Op>::value) {
        if (xv.is_contiguous()) {
          dev::apply_array(op.vector_df(), xv.data<float>(), gx.data<float>(), gx.numel());
          vector_df = true;
          return;
        }
      }
      dev::map3<T, T, T, T>(gx, g, xv, yv, [op = op](T gv, T xe, T ye) { return gv * op.df(xe, ye); });
    });
    if (vector_df) mul_(gx, g);
    return {gx};
  }
  void release() override { free_saved(x, y); }
};

template <class Op>
Tensor unary(const Tensor& t, const char* name, const Op& op) {
  PYSEQ_CHECK(t.dtype() != DType::Bool, TypeError, name, ": not supported for bool tensors");
  const Tensor x = Op::kIntegral || is_floating(t.dtype()) ? t : detail::cast(t, DType::Float32);
  Tensor y = empty(x.shape(), x.dtype());
  PYSEQ_DISPATCH(NUMERIC, x.device(), x.dtype(), name, {
    if (kernels::cpu::ArrayFn vec = vector_fn(op); std::is_same_v<T, float> && vec && x.is_contiguous())
      dev::apply_array(vec, x.data<float>(), y.data<float>(), x.numel());
    else
      dev::map1<T, T>(y, x, [op](T v) { return op.f(v); });
  });
  if (needs_grad(t)) {
    std::string backward_name = std::string(name) + "Backward";
    backward_name[0] = static_cast<char>(std::toupper(backward_name[0]));
    auto node = std::make_shared<UnaryBackward<Op>>(backward_name, op);
    if (Op::kUsesX) node->x = x;
    if (Op::kUsesY) node->y = y;
    record(node, {t}, {y});
  }
  return y;
}

}  // namespace

Tensor exp(const Tensor& t) { return unary(t, "exp", Exp{}); }
Tensor log(const Tensor& t) { return unary(t, "log", Log{}); }
Tensor sqrt(const Tensor& t) { return unary(t, "sqrt", Sqrt{}); }
Tensor rsqrt(const Tensor& t) { return unary(t, "rsqrt", Rsqrt{}); }
Tensor sin(const Tensor& t) { return unary(t, "sin", Sin{}); }
Tensor cos(const Tensor& t) { return unary(t, "cos", Cos{}); }
Tensor tanh(const Tensor& t) { return unary(t, "tanh", Tanh{}); }
Tensor sigmoid(const Tensor& t) { return unary(t, "sigmoid", Sigmoid{}); }
Tensor gelu(const Tensor& t, bool tanh_approximation) { return unary(t, "gelu", Gelu{tanh_approximation}); }
Tensor relu(const Tensor& t) { return unary(t, "relu", Relu{}); }
Tensor leaky_relu(const Tensor& t, double negative_slope) { return unary(t, "leaky_relu", LeakyRelu{negative_slope}); }
Tensor elu(const Tensor& t, double alpha) { return unary(t, "elu", Elu{alpha}); }
Tensor log1p(const Tensor& t) { return unary(t, "log1p", Log1p{}); }
Tensor expm1(const Tensor& t) { return unary(t, "expm1", Expm1{}); }
Tensor erf(const Tensor& t) { return unary(t, "erf", Erf{}); }
Tensor floor(const Tensor& t) { return unary(t, "floor", Rounding<0>{}); }
Tensor ceil(const Tensor& t) { return unary(t, "ceil", Rounding<1>{}); }
Tensor round(const Tensor& t) { return unary(t, "round", Rounding<2>{}); }
Tensor trunc(const Tensor& t) { return unary(t, "trunc", Rounding<3>{}); }
Tensor tan(const Tensor& t) { return unary(t, "tan", Tan{}); }
Tensor asin(const Tensor& t) { return unary(t, "asin", Asin{}); }
Tensor acos(const Tensor& t) { return unary(t, "acos", Acos{}); }
Tensor atan(const Tensor& t) { return unary(t, "atan", Atan{}); }
Tensor sinh(const Tensor& t) { return unary(t, "sinh", Sinh{}); }
Tensor cosh(const Tensor& t) { return unary(t, "cosh", Cosh{}); }
Tensor asinh(const Tensor& t) { return unary(t, "asinh", Asinh{}); }
Tensor acosh(const Tensor& t) { return unary(t, "acosh", Acosh{}); }
Tensor atanh(const Tensor& t) { return unary(t, "atanh", Atanh{}); }
Tensor log2(const Tensor& t) { return unary(t, "log2", Log2{}); }
Tensor log10(const Tensor& t) { return unary(t, "log10", Log10{}); }
Tensor exp2(const Tensor& t) { return unary(t, "exp2", Exp2{}); }
Tensor reciprocal(const Tensor& t) { return unary(t, "reciprocal", Reciprocal{}); }
Tensor square(const Tensor& t) { return unary(t, "square", Square{}); }
Tensor abs(const Tensor& t) { return unary(t, "abs", Abs{}); }
Tensor sign(const Tensor& t) { return unary(t, "sign", Sign{}); }
Tensor neg(const Tensor& t) { return unary(t, "neg", Neg{}); }

Tensor clamp(const Tensor& t, std::optional<double> min, std::optional<double> max) {
  PYSEQ_CHECK(min || max, ValueError, "clamp: at least one of min and max must be given");
  // A bound that is not an integer makes the result floating, as in PyTorch (clamp(int, 0.5) is float).
  auto integral = [](std::optional<double> b) { return !b || (std::isfinite(*b) && *b == std::floor(*b)); };
  const bool promote = !is_floating(t.dtype()) && !(integral(min) && integral(max));
  return unary(promote ? detail::cast(t, DType::Float32) : t, "clamp", Clamp{min, max});
}

}  // namespace pyseq
