// Recurrent layers: one op per layer and direction, the whole sequence in one call (the kernel's
// GEMMs and fused gate loops, kernels/cpu/rnn.h), with backward through time in one node.
#include "../kernels/cpu/rnn.h"
#include "dispatch.h"
#include "internal.h"
#include "pyseq/testing.h"

namespace pyseq {
namespace {

using kernels::cpu::RnnMode;
using kernels::cpu::rnn_gates;

RnnMode rnn_mode(const std::string& mode) {
  if (mode == "RNN_TANH") return RnnMode::Tanh;
  if (mode == "RNN_RELU") return RnnMode::Relu;
  if (mode == "LSTM") return RnnMode::LSTM;
  PYSEQ_CHECK(mode == "GRU", ValueError, "rnn_layer: mode must be 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU', got '", mode,
              "'");
  return RnnMode::GRU;
}

template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

// Checks every argument of rnn_layer against x (T, B, I), w_hh (G H, S) and w_hr (P, H); returns
// the shape (S = P with a projection, else H).
kernels::cpu::RnnShape check_rnn_args(RnnMode mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                      const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                                      const Tensor& w_hr, const Tensor& lengths, bool reverse) {
  const char* op = "rnn_layer";
  const int64_t G = rnn_gates(mode);
  PYSEQ_CHECK(x.ndim() == 3, ValueError, op, ": expected input of shape (T, B, input_size), got ", x.shape());
  PYSEQ_CHECK(is_floating(x.dtype()), TypeError, op, ": expected a floating input, got ", x.dtype());
  int64_t H = 0, P = 0;
  if (w_hr.defined()) {
    PYSEQ_CHECK(mode == RnnMode::LSTM, ValueError, op, ": only LSTM takes a projection weight_hr");
    PYSEQ_CHECK(w_hr.ndim() == 2 && w_hr.shape()[0] > 0 && w_hr.shape()[1] > 0, ValueError, op,
                ": expected weight_hr of shape (proj_size, hidden_size), got ", w_hr.shape());
    P = w_hr.shape()[0];
    H = w_hr.shape()[1];
    PYSEQ_CHECK(w_hh.shape() == Shape({G * H, P}), ValueError, op, ": expected weight_hh of shape (", G,
                " * hidden_size, proj_size) = (", G * H, ", ", P, ") for weight_hr of shape ", w_hr.shape(), ", got ",
                w_hh.shape());
  } else {
    PYSEQ_CHECK(w_hh.ndim() == 2 && w_hh.shape()[1] > 0 && w_hh.shape()[0] == G * w_hh.shape()[1], ValueError, op,
                ": expected weight_hh of shape (", G, " * hidden_size, hidden_size), got ", w_hh.shape());
    H = w_hh.shape()[1];
  }
  const int64_t T = x.shape()[0], B = x.shape()[1], I = x.shape()[2], GH = G * H, S = P ? P : H;
  PYSEQ_CHECK(T > 0, ValueError, op, ": expected a sequence of at least one step, got input of shape ", x.shape());
  PYSEQ_CHECK(w_ih.ndim() == 2 && w_ih.shape()[0] == GH && w_ih.shape()[1] == I, ValueError, op,
              ": expected weight_ih of shape (", GH, ", ", I, ") for input of shape ", x.shape(), ", got ", w_ih.shape());
  for (const Tensor* t : {&w_ih, &w_hh, &b_ih, &b_hh, &w_hr, &h0, &c0})
    PYSEQ_CHECK(!t->defined() || t->dtype() == x.dtype(), TypeError, op,
                ": expected weights, biases and initial states of the input's dtype ", x.dtype(), ", got ", t->dtype());
  for (const Tensor* b : {&b_ih, &b_hh})
    PYSEQ_CHECK(!b->defined() || b->shape() == Shape{GH}, ValueError, op, ": expected biases of shape (", GH,
                ",), got ", b->shape());
  PYSEQ_CHECK(!h0.defined() || h0.shape() == Shape({B, S}), ValueError, op, ": expected h0 of shape (", B, ", ", S,
              "), got ", h0.shape());
  PYSEQ_CHECK(!c0.defined() || mode == RnnMode::LSTM, ValueError, op, ": only LSTM has a cell state c0");
  PYSEQ_CHECK(!c0.defined() || c0.shape() == Shape({B, H}), ValueError, op, ": expected c0 of shape (", B, ", ", H,
              "), got ", c0.shape());
  if (lengths.defined()) {
    PYSEQ_CHECK(lengths.dtype() == DType::Int64 && lengths.shape() == Shape{B}, ValueError, op,
                ": expected lengths of dtype int64 and shape (", B, ",), got ", lengths.dtype(), " ", lengths.shape());
    const Tensor l = contiguous(lengths);
    for (int64_t b = 0; b < B; ++b) {
      const int64_t n = l.data<int64_t>()[b];
      PYSEQ_CHECK(n >= 1 && n <= T, ValueError, op, ": lengths must be in [1, ", T, "] (the input has ", T,
                  " steps), got ", n, " for sequence ", b);
    }
  }
  return {mode, T, B, I, H, reverse, P};
}

}  // namespace

struct RnnBackward final : Node {
  kernels::cpu::RnnShape shape;
  SavedTensor x, w_ih, w_hh, w_hr, lengths, states, cells, gates, unprojected;
  RnnBackward() : Node("RnnBackward", 3) {}

  // grads: output, h_n, c_n. Returns those of x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr: each only
  // where the input takes one (its edge is set), so a frozen input costs no GEMM.
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    auto get = [](const SavedTensor& t) { return t.defined() ? t.get() : Tensor(); };
    const Tensor &xs = x.get(), &wi = w_ih.get(), &wh = w_hh.get();
    const Tensor wr = get(w_hr), ls = get(lengths), st = states.get(), cs = get(cells), gs = get(gates),
                 un = get(unprojected);
    const Tensor d_out = grads[0].defined() ? contiguous(grads[0]) : Tensor();
    const Tensor d_hn = grads[1].defined() ? contiguous(grads[1]) : Tensor();
    const Tensor d_cn = grads.size() > 2 && grads[2].defined() ? contiguous(grads[2]) : Tensor();
    const int64_t B = shape.B, H = shape.H;
    auto grad_if = [&](size_t input, const Shape& s) { return next[input] ? empty(s, xs.dtype()) : Tensor(); };
    Tensor dx = grad_if(0, xs.shape()), dh0 = grad_if(1, {B, shape.state_size()}), dc0 = grad_if(2, {B, H});
    Tensor dwi = grad_if(3, wi.shape()), dwh = grad_if(4, wh.shape());
    Tensor dbi = grad_if(5, {wh.shape()[0]}), dbh = grad_if(6, {wh.shape()[0]});
    Tensor dwr = shape.P ? grad_if(7, wr.shape()) : Tensor();
    const Tensor workspace = empty({kernels::cpu::rnn_backward_workspace(shape)}, xs.dtype());
    PYSEQ_DISPATCH(FLOAT, xs.device(), xs.dtype(), "rnn_layer backward", {
      const kernels::cpu::RnnSaved<T> saved{st.data<T>(), data_or_null<T>(cs), data_or_null<T>(gs),
                                            data_or_null<T>(un)};
      dev::rnn_backward<T>(shape, xs.data<T>(), wi.data<T>(), wh.data<T>(), data_or_null<T>(wr),
                           data_or_null<int64_t>(ls), saved, data_or_null<T>(d_out), data_or_null<T>(d_hn),
                           data_or_null<T>(d_cn), data_or_null<T>(dx), data_or_null<T>(dh0), data_or_null<T>(dc0),
                           data_or_null<T>(dwi), data_or_null<T>(dwh), data_or_null<T>(dbi), data_or_null<T>(dbh),
                           data_or_null<T>(dwr), workspace.data<T>());
    });
    return {dx, dh0, dc0, dwi, dwh, dbi, dbh, dwr};
  }
  void release() override { free_saved(x, w_ih, w_hh, w_hr, lengths, states, cells, gates, unprojected); }
};

std::vector<Tensor> rnn_layer(const std::string& mode_name, const Tensor& x, const Tensor& h0, const Tensor& c0,
                              const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                              const Tensor& lengths, bool reverse, const Tensor& w_hr) {
  const RnnMode mode = rnn_mode(mode_name);
  const kernels::cpu::RnnShape s = check_rnn_args(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, lengths, reverse);
  const bool lstm = mode == RnnMode::LSTM;
  auto plain = [](const Tensor& t) { return t.defined() ? contiguous(t.detach()) : Tensor(); };
  const Tensor xc = plain(x), h0c = plain(h0), c0c = plain(c0), wi = plain(w_ih), wh = plain(w_hh), bi = plain(b_ih),
               bh = plain(b_hh), wr = plain(w_hr), lc = plain(lengths);
  const DType dt = x.dtype();
  const int64_t T = s.T, B = s.B, H = s.H, S = s.state_size();
  Tensor out = empty({T, B, S}, dt), h_n = empty({B, S}, dt), c_n = lstm ? empty({B, H}, dt) : Tensor();
  Tensor states = empty({T + 1, B, S}, dt), cells = lstm ? empty({T + 1, B, H}, dt) : Tensor();
  const int64_t saved_gates = kernels::cpu::rnn_saved_gates(mode) * H;
  Tensor gates = saved_gates ? empty({T, B, saved_gates}, dt) : Tensor();
  Tensor unprojected = s.P ? empty({T, B, H}, dt) : Tensor();
  const Tensor workspace = empty({kernels::cpu::rnn_forward_workspace(s)}, dt);
  PYSEQ_DISPATCH(FLOAT, x.device(), dt, "rnn_layer", {
    const kernels::cpu::RnnSaved<T> saved{states.data<T>(), data_or_null<T>(cells), data_or_null<T>(gates),
                                          data_or_null<T>(unprojected)};
    dev::rnn_forward<T>(s, xc.data<T>(), data_or_null<T>(h0c), data_or_null<T>(c0c), wi.data<T>(), wh.data<T>(),
                        data_or_null<T>(bi), data_or_null<T>(bh), data_or_null<T>(wr), data_or_null<int64_t>(lc),
                        out.data<T>(), h_n.data<T>(), data_or_null<T>(c_n), saved, workspace.data<T>());
  });
  if (needs_grad(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)) {
    auto node = std::make_shared<RnnBackward>();
    node->shape = s;
    node->x = xc;
    node->w_ih = wi;
    node->w_hh = wh;
    if (wr.defined()) node->w_hr = wr;
    if (lc.defined()) node->lengths = lc;
    node->states = states;
    if (cells.defined()) node->cells = cells;
    if (gates.defined()) node->gates = gates;
    if (unprojected.defined()) node->unprojected = unprojected;
    record(node, {x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr}, {out, h_n, c_n});
  }
  return {out, h_n, c_n};
}

namespace testing {

std::vector<Tensor> rnn_reference(const std::string& mode_name, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                  const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                                  const Tensor& lengths, bool reverse, const Tensor& d_out, const Tensor& d_hn,
                                  const Tensor& d_cn, const Tensor& w_hr) {
  const RnnMode mode = rnn_mode(mode_name);
  const kernels::cpu::RnnShape s = check_rnn_args(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, lengths, reverse);
  auto plain = [](const Tensor& t) { return t.defined() ? contiguous(t.detach()) : Tensor(); };
  const Tensor xc = plain(x), h0c = plain(h0), c0c = plain(c0), wi = plain(w_ih), wh = plain(w_hh), bi = plain(b_ih),
               bh = plain(b_hh), wr = plain(w_hr), lc = plain(lengths), go = plain(d_out), gh = plain(d_hn),
               gc = plain(d_cn);
  const DType dt = x.dtype();
  const Shape state{s.B, s.state_size()}, cell{s.B, s.H};
  std::vector<Tensor> r{empty({s.T, s.B, s.state_size()}, dt), empty(state, dt),     empty(cell, dt),
                        empty(xc.shape(), dt),                 empty(state, dt),     empty(cell, dt),
                        empty(wi.shape(), dt),                 empty(wh.shape(), dt), empty({wh.shape()[0]}, dt),
                        empty({wh.shape()[0]}, dt),            wr.defined() ? empty(wr.shape(), dt) : Tensor()};
  PYSEQ_DISPATCH(FLOAT, x.device(), dt, "testing.rnn_reference", {
    dev::rnn_reference<T>(s, xc.data<T>(), data_or_null<T>(h0c), data_or_null<T>(c0c), wi.data<T>(), wh.data<T>(),
                          data_or_null<T>(bi), data_or_null<T>(bh), data_or_null<T>(wr), data_or_null<int64_t>(lc),
                          r[0].data<T>(), r[1].data<T>(), r[2].data<T>(), data_or_null<T>(go), data_or_null<T>(gh),
                          data_or_null<T>(gc), r[3].data<T>(), r[4].data<T>(), r[5].data<T>(), r[6].data<T>(),
                          r[7].data<T>(), r[8].data<T>(), r[9].data<T>(), data_or_null<T>(r[10]));
  });
  return r;
}

}  // namespace testing
}  // namespace pyseq
