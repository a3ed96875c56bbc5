// The core used from C++ alone (no Python): build tensors, run ops, backprop, catch errors.
// Prints "N passed, M failed" and exits non-zero on any failure.
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "pyseq/autograd.h"
#include "pyseq/ops.h"
#include "pyseq/parallel.h"
#include "pyseq/random.h"
#include "pyseq/testing.h"

using namespace pyseq;

static int passed = 0, failed = 0;

static void check(bool ok, const char* what) {
  if (ok) ++passed;
  else { ++failed; std::printf("FAILED: %s\n", what); }
}

static bool near(double a, double b, double tol = 1e-5) { return std::fabs(a - b) <= tol * (1 + std::fabs(b)); }

template <class E>
static void expect_throw(const std::function<void()>& f, const char* what) {
  try { f(); } catch (const E&) { ++passed; return; } catch (...) {}
  ++failed;
  std::printf("FAILED (no %s): %s\n", typeid(E).name(), what);
}

int main() {
  // (2, 3) @ (3, 2) against hand-computed values
  Tensor a = reshape(arange(Scalar(int64_t{0}), Scalar(int64_t{6}), Scalar(int64_t{1}), DType::Float32), {2, 3});
  Tensor b = reshape(arange(Scalar(int64_t{0}), Scalar(int64_t{6}), Scalar(int64_t{1}), DType::Float32), {3, 2});
  Tensor c = matmul(a, b);  // [[10, 13], [28, 40]]
  const float* pc = c.data<float>();
  check(c.shape() == Shape({2, 2}) && pc[0] == 10 && pc[1] == 13 && pc[2] == 28 && pc[3] == 40, "matmul values");

  // d/dx sum(sigmoid(x) * w) = sigmoid'(x) * w
  Tensor x = full({4}, Scalar(0.5), DType::Float64);
  x.set_requires_grad(true);
  Tensor w = arange(Scalar(1.0), Scalar(5.0), Scalar(1.0), DType::Float64);
  Tensor loss = sum(sigmoid(x) * w);
  backward(loss);
  const double s = 1 / (1 + std::exp(-0.5));
  bool grads_ok = x.grad().defined();
  for (int i = 0; grads_ok && i < 4; ++i) grads_ok = near(x.grad().data<double>()[i], s * (1 - s) * (i + 1));
  check(grads_ok, "sigmoid * w backward");

  // softmax rows sum to one; broadcasting add
  Tensor p = softmax(randn({3, 5}), -1);
  Tensor rowsum = sum(p, {1});
  check(near(rowsum.data<float>()[0], 1.0) && near(rowsum.data<float>()[2], 1.0), "softmax rows sum to 1");
  Tensor bc = add(ones({2, 1}), ones({3}));
  check(bc.shape() == Shape({2, 3}) && bc.data<float>()[5] == 2.0f, "broadcast add");

  // a node with two outputs: var_mean, gradients from both. For one row of n values with
  // c = 1: d var / dx = 2 (x - mean) / (n - 1) and d mean / dx = 1 / n.
  Tensor v_in = arange(Scalar(1.0), Scalar(5.0), Scalar(1.0), DType::Float64);  // [1, 2, 3, 4]
  v_in.set_requires_grad(true);
  auto [var_out, mean_out] = var_mean(v_in);
  check(var_out.grad_fn() == mean_out.grad_fn() && near(var_out.item<double>(), 5.0 / 3) && near(mean_out.item<double>(), 2.5),
        "var_mean values, one node");
  backward(add(var_out, mean_out));
  bool var_mean_ok = true;
  for (int i = 0; i < 4; ++i)
    var_mean_ok = var_mean_ok && near(v_in.grad().data<double>()[i], 2 * (i + 1 - 2.5) / 3 + 0.25);
  check(var_mean_ok, "var_mean backward from both outputs");

  // the same seed gives the same numbers whatever the thread count
  std::vector<float> draws[2];
  for (int threads : {1, 2}) {
    set_num_threads(threads);
    manual_seed(42);
    Tensor r = randn({100000});
    draws[threads - 1].assign(r.data<float>(), r.data<float>() + r.numel());
  }
  check(draws[0] == draws[1], "randn independent of the thread count");

  // an LSTM layer over ragged sequences, reverse direction, one and two threads, without and with a
  // projection of its state: forward and backward against the kernel's plain reference (the
  // single-threaded build runs the same team code)
  for (int64_t P : {0, 20})
    for (int threads : {1, 2}) {
      set_num_threads(threads);
      manual_seed(7);
      const int64_t T = 6, B = 6, I = 4, H = 48, S = P ? P : H;  // a step large enough for a team of threads
      const DType f64 = DType::Float64;
      Tensor xs = randn({T, B, I}, f64), h0 = randn({B, S}, f64), c0 = randn({B, H}, f64);
      Tensor wi = randn({4 * H, I}, f64), wh = randn({4 * H, S}, f64), bi = randn({4 * H}, f64);
      Tensor wr = P ? randn({P, H}, f64) : Tensor();
      Tensor lengths = arange(Scalar(int64_t{1}), Scalar(int64_t{7}), Scalar(int64_t{1}), DType::Int64);  // 1 .. 6
      Tensor d_out = randn({T, B, S}, f64);
      std::vector<Tensor> ref = testing::rnn_reference("LSTM", xs, h0, c0, wi, wh, bi, Tensor(), lengths, true, d_out,
                                                       Tensor(), Tensor(), wr);
      for (Tensor* t : {&xs, &wh, &wr})
        if (t->defined()) t->set_requires_grad(true);
      std::vector<Tensor> outs = rnn_layer("LSTM", xs, h0, c0, wi, wh, bi, Tensor(), lengths, true, wr);
      backward(sum(outs[0] * d_out));
      auto max_diff = [](const Tensor& a, const Tensor& b) {  // relative to b's largest magnitude (and 1)
        double m = 0, scale = 1;
        for (int64_t i = 0; i < a.numel(); ++i) {
          m = std::fmax(m, std::fabs(a.data<double>()[i] - b.data<double>()[i]));
          scale = std::fmax(scale, std::fabs(b.data<double>()[i]));
        }
        return m / scale;
      };
      const std::string what = std::string(P ? "projected " : "") + "LSTM layer " +
                               (threads == 1 ? "(1 thread)" : "(2 threads)");
      check(max_diff(outs[0], ref[0]) < 1e-12 && max_diff(outs[1], ref[1]) < 1e-12 && max_diff(outs[2], ref[2]) < 1e-12,
            (what + " forward").c_str());
      check(max_diff(xs.grad(), ref[3]) < 1e-12 && max_diff(wh.grad(), ref[7]) < 1e-12 &&
                (!P || max_diff(wr.grad(), ref[10]) < 1e-12),
            (what + " backward").c_str());
    }

  // errors are typed exceptions, never crashes
  expect_throw<ValueError>([] { add(ones({2, 3}), ones({4})); }, "broadcast mismatch");
  expect_throw<ValueError>([] { matmul(ones({2, 3}), ones({4, 2})); }, "matmul inner dims");
  expect_throw<TypeError>([] { matmul(ones({2, 2}), ones({2, 2}, DType::Float64)); }, "matmul dtypes");
  expect_throw<IndexError>([] { select(ones({2}), 0, 5); }, "select out of range");
  expect_throw<RuntimeError>([] {
    Tensor y = full({2}, Scalar(1.0));
    y.set_requires_grad(true);
    Tensor z = sum(exp(y));
    backward(z);
    backward(z);
  }, "backward twice");

  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
