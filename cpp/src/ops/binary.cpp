// Arithmetic with broadcasting and type promotion: + - * / ** and their in-place forms.
#include <cmath>

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
