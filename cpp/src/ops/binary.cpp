// Arithmetic with broadcasting and type promotion: + - * / ** and their in-place forms.
#include <cmath>
#include <type_traits>

#include "../kernels/cpu/loops.h"
#include "dispatch.h"
#include "internal.h"
#include "wrapping.h"

namespace pyseq {

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    PYSEQ_CHECK(da == db || da == 1 || db == 1, ValueError, "shapes ", a, " and ", b,
                " cannot be broadcast: the size of tensor a (", da, ") must match the size of tensor b (", db,
                ") at non-singleton dimension ", i);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

DType result_type(const Tensor& a, const Tensor& b) {
  if ((a.ndim() == 0) == (b.ndim() == 0)) return promote(a.dtype(), b.dtype());
  auto kind = [](DType dt) { return dt == DType::Bool ? 0 : dt == DType::Int64 ? 1 : 2; };
  const Tensor& zero_d = a.ndim() == 0 ? a : b;
  const Tensor& dimmed = a.ndim() == 0 ? b : a;
  return kind(zero_d.dtype()) > kind(dimmed.dtype()) ? zero_d.dtype() : dimmed.dtype();
}

Tensor scalar_like(Scalar s, const Tensor& like) { return scalar_tensor(s, s.dtype_with(like.dtype())); }

namespace {

enum class BinaryOp { Add, Sub, Mul, Div };

const char* op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "add";
    case BinaryOp::Sub: return "sub";
    case BinaryOp::Mul: return "mul";
    case BinaryOp::Div: return "div";
  }
  return "?";
}

DType result_dtype(BinaryOp op, const Tensor& a, const Tensor& b) {
  DType dt = result_type(a, b);
  if (op == BinaryOp::Div && !is_floating(dt)) return DType::Float32;  // true division
  // two bools: add is logical or, mul logical and (as PyTorch); subtraction is refused
  PYSEQ_CHECK(!(dt == DType::Bool && op == BinaryOp::Sub), TypeError,
              "sub: subtraction of two bool tensors is not supported (PyTorch neither); use logical_xor or ^");
  return dt;
}

// out = a (op) b elementwise; `a`, `b` already have out's dtype and broadcast to its shape.
void binary_kernel(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  if (out.dtype() == DType::Bool) {  // add (or) and mul (and) reach here
    PYSEQ_DISPATCH(ALL, out.device(), DType::Bool, op_name(op), {
      if (op == BinaryOp::Add) dev::map2<bool, bool, bool>(out, a, b, [](bool x, bool y) { return x || y; });
      else dev::map2<bool, bool, bool>(out, a, b, [](bool x, bool y) { return x && y; });
    });
    return;
  }
  PYSEQ_DISPATCH(NUMERIC, out.device(), out.dtype(), op_name(op), {
    switch (op) {
      case BinaryOp::Add: dev::map2<T, T, T>(out, a, b, [](T x, T y) { return wrapping_add(x, y); }); break;
      case BinaryOp::Sub: dev::map2<T, T, T>(out, a, b, [](T x, T y) { return wrapping_sub(x, y); }); break;
      case BinaryOp::Mul: dev::map2<T, T, T>(out, a, b, [](T x, T y) { return wrapping_mul(x, y); }); break;
      case BinaryOp::Div: dev::map2<T, T, T>(out, a, b, [](T x, T y) { return x / y; }); break;
    }
  });
}

const char* backward_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::Add: return "AddBackward";
    case BinaryOp::Sub: return "SubBackward";
    case BinaryOp::Mul: return "MulBackward";
    case BinaryOp::Div: return "DivBackward";
  }
  return "?";
}

// Gradients of out = a (op) b w.r.t. a and b, reduced to their shapes. `a`, `b` are the values
// before any in-place write; each is only saved when the other operand's gradient needs it.
struct BinaryBackward final : Node {
  BinaryOp op;
  bool need_a, need_b;
  SavedTensor a, b;
  Shape shape_a, shape_b;

  BinaryBackward(BinaryOp op, const Tensor& a, const Tensor& b, bool need_a, bool need_b)
      : Node(backward_name(op)), op(op), need_a(need_a), need_b(need_b),
        shape_a(a.shape()), shape_b(b.shape()) {
    if (need_b && (op == BinaryOp::Mul || op == BinaryOp::Div)) this->a = a;
    if ((need_a && op == BinaryOp::Mul) || op == BinaryOp::Div) this->b = b;
  }

  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    Tensor ga, gb;
    switch (op) {
      case BinaryOp::Add:  // d(a+b) = da + db
        if (need_a) ga = g;
        if (need_b) gb = g;
        break;
      case BinaryOp::Sub:  // d(a-b) = da - db
        if (need_a) ga = g;
        if (need_b) gb = -g;
        break;
      case BinaryOp::Mul:  // d(ab) = b da + a db
        if (need_a) ga = g * b.get();
        if (need_b) gb = g * a.get();
        break;
      case BinaryOp::Div: {  // d(a/b) = da / b - a db / b^2
        Tensor g_over_b = g / b.get();
        if (need_a) ga = g_over_b;
        if (need_b) gb = -g_over_b * a.get() / b.get();
        break;
      }
    }
    return {ga.defined() ? sum_to(ga, shape_a) : ga, gb.defined() ? sum_to(gb, shape_b) : gb};
  }
  void release() override { free_saved(a, b); }
};

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const DType dt = result_dtype(op, a, b);
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape()), dt);
  binary_kernel(op, out, detail::cast(a, dt), detail::cast(b, dt));
  if (needs_grad(a, b)) record(std::make_shared<BinaryBackward>(op, a, b, a.requires_grad(), b.requires_grad()), {a, b}, {out});
  return out;
}

// self (op)= other: same math as `binary`, written into self.
Tensor& binary_(BinaryOp op, Tensor& self, const Tensor& other) {
  const std::string name = std::string(op_name(op)) + "_";
  detail::check_inplace(self, name.c_str(), {other});
  const DType dt = result_dtype(op, self, other);
  auto kind = [](DType t) { return t == DType::Bool ? 0 : t == DType::Int64 ? 1 : 2; };  // bool, integer, float
  PYSEQ_CHECK(kind(dt) <= kind(self.dtype()), TypeError, name, ": result type ", dt,
              " can't be cast to the desired output type ", self.dtype());
  const Shape shape = broadcast_shapes(self.shape(), other.shape());
  PYSEQ_CHECK(shape == self.shape(), ValueError, name, ": output with shape ", self.shape(),
              " doesn't match the broadcast shape ", shape);
  const bool track = needs_grad(self, other);
  // mul_ and div_ read the old self in backward: keep a copy of it before it is overwritten.
  const bool keep_old = track && other.requires_grad() && (op == BinaryOp::Mul || op == BinaryOp::Div);
  const Tensor before = keep_old ? clone(self.detach()) : self;
  const auto node = track ? std::make_shared<BinaryBackward>(op, before, other, self.requires_grad(), other.requires_grad())
                          : nullptr;
  {
    NoGradGuard no_grad;
    Tensor rhs = detail::cast(other, self.dtype());
    if (rhs.storage() == self.storage()) rhs = clone(rhs);
    binary_kernel(op, self, self, rhs);
  }
  self.bump_version();
  if (track) record(node, {self, other}, {self});
  return self;
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Div, a, b); }
Tensor& add_(Tensor& self, const Tensor& other) { return binary_(BinaryOp::Add, self, other); }
Tensor& sub_(Tensor& self, const Tensor& other) { return binary_(BinaryOp::Sub, self, other); }
Tensor& mul_(Tensor& self, const Tensor& other) { return binary_(BinaryOp::Mul, self, other); }
Tensor& div_(Tensor& self, const Tensor& other) { return binary_(BinaryOp::Div, self, other); }

struct PowBackward final : Node {
  bool need_a, need_b;
  SavedTensor a, b, out;  // x, y and x^y
  PowBackward() : Node("PowBackward") {}

  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor &g = grads[0], &x = a.get(), &y = b.get();
    const Tensor zero = scalar_tensor(0.0, g.dtype());
    Tensor ga, gb;
    if (need_a)  // d(x^y)/dx = y x^(y-1), taken as 0 where y == 0
      ga = sum_to(where(eq(y, zero), zero, g * y * pow(x, y - 1.0)), x.shape());
    if (need_b)  // d(x^y)/dy = x^y log x, taken as 0 where x == 0 and y >= 0
      gb = sum_to(where(mul(eq(x, zero), ge(y, zero)), zero, g * out.get() * log(x)), y.shape());
    return {ga, gb};
  }
  void release() override { free_saved(a, b, out); }
};

Tensor pow(const Tensor& a, const Tensor& b) {
  const DType dt = result_type(a, b) == DType::Bool ? DType::Int64 : result_type(a, b);
  if (!is_floating(dt) && b.numel() > 0) {
    NoGradGuard no_grad;
    PYSEQ_CHECK(min(detail::cast(b, dt)).item<int64_t>() >= 0, RuntimeError,
                "pow: integers to negative integer powers are not allowed (use a float tensor)");
  }
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape()), dt);
  PYSEQ_DISPATCH(NUMERIC, out.device(), dt, "pow", {
    dev::map2<T, T, T>(out, detail::cast(a, dt), detail::cast(b, dt), [](T x, T y) {
      if constexpr (std::is_integral_v<T>) {
        T r = 1;  // exact integer power by squaring; negative exponents give 0 unless |x| == 1
        if (y < 0) return x == 1 ? T(1) : x == -1 ? ((y & 1) ? T(-1) : T(1)) : T(0);
        for (; y; y >>= 1, x = wrapping_mul(x, x)) if (y & 1) r = wrapping_mul(r, x);
        return r;
      } else {
        return std::pow(x, y);
      }
    });
  });
  if (needs_grad(a, b)) {
    auto node = std::make_shared<PowBackward>();
    node->need_a = a.requires_grad();
    node->need_b = b.requires_grad();
    node->a = a;
    node->b = b;
    node->out = out;
    record(node, {a, b}, {out});
  }
  return out;
}

}  // namespace pyseq

namespace pyseq {
namespace {

// atan2, hypot, remainder, fmod and floor division, each with PyTorch's rounding and gradients.
// Integers stay integers (but for atan2 and hypot); division by an integer zero is an error.
enum class MathOp { Atan2, Hypot, Remainder, Fmod, FloorDivide };

const char* math_name(MathOp op) {
  switch (op) {
    case MathOp::Atan2: return "atan2";
    case MathOp::Hypot: return "hypot";
    case MathOp::Remainder: return "remainder";
    case MathOp::Fmod: return "fmod";
    case MathOp::FloorDivide: return "floor_divide";
  }
  return "?";
}

template <class T>
T floor_div(T x, T y) {
  if constexpr (std::is_integral_v<T>) {
    if (y == -1) return wrapping_neg(x);  // INT64_MIN / -1 would trap
    const T q = x / y;
    return (x % y != 0 && (x < 0) != (y < 0)) ? q - 1 : q;
  } else {  // the rounded quotient corrected from fmod, as PyTorch's div_floor
    if (y == 0) return x / y;
    const T mod = std::fmod(x, y);
    T div = (x - mod) / y;
    if (mod != 0 && (y < 0) != (mod < 0)) div -= 1;
    if (div == 0) return std::copysign(T(0), x / y);
    const T fl = std::floor(div);
    return div - fl > T(0.5) ? fl + 1 : fl;
  }
}

template <class T>
T math_f(MathOp op, T x, T y) {
  switch (op) {
    case MathOp::Atan2:
      if constexpr (std::is_floating_point_v<T>) return std::atan2(x, y);
      break;
    case MathOp::Hypot:
      if constexpr (std::is_floating_point_v<T>) return std::hypot(x, y);
      break;
    case MathOp::Remainder: {  // the sign of y, as Python's %
      if constexpr (std::is_integral_v<T>) {
        if (y == -1) return 0;
        const T r = x % y;
        return r != 0 && (r < 0) != (y < 0) ? r + y : r;
      } else {
        const T r = std::fmod(x, y);
        return r != 0 && (r < 0) != (y < 0) ? r + y : r;
      }
    }
    case MathOp::Fmod:  // the sign of x, as C's %
      if constexpr (std::is_integral_v<T>) return y == -1 ? T(0) : x % y;
      else return std::fmod(x, y);
    case MathOp::FloorDivide: return floor_div(x, y);
  }
  return T(0);
}

// d atan2(a, b) = (b da - a db) / (a^2 + b^2); d hypot = (a da + b db) / hypot; d remainder =
// da - floor(a / b) db; d fmod = da - trunc(a / b) db; floor division: 0 (as PyTorch).
struct MathBackward final : Node {
  MathOp op;
  bool need_a, need_b;
  SavedTensor a, b, out;
  MathBackward(MathOp op, bool need_a, bool need_b)
      : Node(std::string(op == MathOp::Atan2       ? "Atan2"
                         : op == MathOp::Hypot     ? "Hypot"
                         : op == MathOp::Remainder ? "Remainder"
                         : op == MathOp::Fmod      ? "Fmod"
                                                   : "FloorDivide") + "Backward"),
        op(op), need_a(need_a), need_b(need_b) {}

  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor &g = grads[0], &x = a.get(), &y = b.get();
    Tensor ga, gb;
    switch (op) {
      case MathOp::Atan2: {
        const Tensor r2 = x * x + y * y;
        if (need_a) ga = g * y / r2;
        if (need_b) gb = -g * x / r2;
        break;
      }
      case MathOp::Hypot:
        if (need_a) ga = g * x / out.get();
        if (need_b) gb = g * y / out.get();
        break;
      case MathOp::Remainder:
      case MathOp::Fmod:
        if (need_a) ga = g;
        if (need_b) gb = -g * (op == MathOp::Remainder ? floor_divide(x, y) : trunc(x / y));
        break;
      case MathOp::FloorDivide:
        if (need_a) ga = zeros_like(g);
        if (need_b) gb = zeros_like(g);
        break;
    }
    return {ga.defined() ? sum_to(ga, x.shape()) : ga, gb.defined() ? sum_to(gb, y.shape()) : gb};
  }
  void release() override { free_saved(a, b, out); }
};

Tensor binary_math(MathOp op, const Tensor& a, const Tensor& b) {
  const char* name = math_name(op);
  DType dt = result_type(a, b);
  PYSEQ_CHECK(dt != DType::Bool || op == MathOp::Atan2 || op == MathOp::Hypot, TypeError, name,
              ": not supported for two bool tensors");
  if (dt == DType::Bool) dt = DType::Float32;
  if (!is_floating(dt) && (op == MathOp::Atan2 || op == MathOp::Hypot)) dt = DType::Float32;
  const Tensor x = detail::cast(a, dt), y = detail::cast(b, dt);
  if (!is_floating(dt) && y.numel() > 0) {
    NoGradGuard no_grad;
    PYSEQ_CHECK(sum(eq(y, scalar_tensor(0.0, dt))).item<int64_t>() == 0, RuntimeError, name,
                ": integer division by zero (ZeroDivisionError)");
  }
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape()), dt);
  PYSEQ_DISPATCH(NUMERIC, out.device(), dt, name,
                 { dev::map2<T, T, T>(out, x, y, [op](T u, T v) { return math_f(op, u, v); }); });
  if (needs_grad(a, b) && is_floating(dt)) {
    auto node = std::make_shared<MathBackward>(op, a.requires_grad(), b.requires_grad());
    node->a = x;
    node->b = y;
    if (op == MathOp::Hypot) node->out = out;
    record(node, {a, b}, {out});
  }
  return out;
}

// &, |, ^ of two bool tensors (logical) or integer tensors (bitwise); a bool and an integer give
// the integer type.
enum class BitOp { And, Or, Xor };

Tensor bitwise(BitOp op, const Tensor& a, const Tensor& b, const char* name) {
  const DType dt = result_type(a, b);
  PYSEQ_CHECK(!is_floating(dt), TypeError, name, ": expected bool or integer tensors, got ", a.dtype(), " and ",
              b.dtype());
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape()), dt);
  PYSEQ_DISPATCH(ALL, out.device(), dt, name, {
    if constexpr (!std::is_floating_point_v<T>)
      dev::map2<T, T, T>(out, detail::cast(a, dt), detail::cast(b, dt), [op](T x, T y) {
        return static_cast<T>(op == BitOp::And ? (x & y) : op == BitOp::Or ? (x | y) : (x ^ y));
      });
  });
  return out;
}

}  // namespace

Tensor atan2(const Tensor& a, const Tensor& b) { return binary_math(MathOp::Atan2, a, b); }
Tensor hypot(const Tensor& a, const Tensor& b) { return binary_math(MathOp::Hypot, a, b); }
Tensor remainder(const Tensor& a, const Tensor& b) { return binary_math(MathOp::Remainder, a, b); }
Tensor fmod(const Tensor& a, const Tensor& b) { return binary_math(MathOp::Fmod, a, b); }
Tensor floor_divide(const Tensor& a, const Tensor& b) { return binary_math(MathOp::FloorDivide, a, b); }
Tensor bitwise_and(const Tensor& a, const Tensor& b) { return bitwise(BitOp::And, a, b, "bitwise_and"); }
Tensor bitwise_or(const Tensor& a, const Tensor& b) { return bitwise(BitOp::Or, a, b, "bitwise_or"); }
Tensor bitwise_xor(const Tensor& a, const Tensor& b) { return bitwise(BitOp::Xor, a, b, "bitwise_xor"); }

}  // namespace pyseq
