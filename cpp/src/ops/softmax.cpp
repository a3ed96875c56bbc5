// softmax and log_softmax along one dim, by a fused row kernel over the last dim.
#include "../kernels/cpu/reduce.h"
#include "dispatch.h"
#include "internal.h"

namespace pyseq {
namespace {

// softmax:     dx = y * (g - sum(g * y))
// log_softmax: dx = g - exp(y) * sum(g)
struct SoftmaxBackward final : Node {
  SavedTensor y;
  int64_t dim;
  bool log;
  SoftmaxBackward(const Tensor& y, int64_t dim, bool log)
      : Node(log ? "LogSoftmaxBackward" : "SoftmaxBackward"), y(y), dim(dim), log(log) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor &g = grads[0], &ys = y.get();
    return {log ? g - exp(ys) * sum(g, {dim}, true) : ys * (g - sum(g * ys, {dim}, true))};
  }
  void release() override { free_saved(y); }
};

Tensor softmax_impl(const Tensor& t, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  const Tensor x = is_floating(t.dtype()) ? t : detail::cast(t, DType::Float32);
  dim = wrap_dim(dim, x.ndim());
  const int64_t last = x.ndim() > 0 ? x.ndim() - 1 : 0;
  Tensor y;
  {
    NoGradGuard no_grad;
    Tensor rows = contiguous(transpose(x, dim, last));  // (..., n) with `dim` moved last
    Tensor out = empty(rows.shape(), x.dtype());
    const int64_t n = x.ndim() > 0 ? rows.shape().back() : 1;
    const int64_t count = n > 0 ? rows.numel() / n : 0;
    PYSEQ_DISPATCH(FLOAT, x.device(), x.dtype(), name, {
      dev::softmax_rows<T>(rows.data<T>(), count, n, log, out.data<T>());
    });
    y = dim == last ? out : contiguous(transpose(out, dim, last));
  }
  if (needs_grad(t)) record(std::make_shared<SoftmaxBackward>(y, dim, log), {t}, {y});
  return y;
}

}  // namespace

Tensor softmax(const Tensor& t, int64_t dim) { return softmax_impl(t, dim, false); }
Tensor log_softmax(const Tensor& t, int64_t dim) { return softmax_impl(t, dim, true); }

}  // namespace pyseq
