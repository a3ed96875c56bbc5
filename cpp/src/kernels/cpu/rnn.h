// One recurrent layer in one direction over a whole sequence, forward and backward through time,
// on raw pointers. PyTorch's cells and weight layouts:
//
//   RNN   h' = act(W_ih x + b_ih + W_hh h + b_hh)                   act = tanh or relu, 1 gate
//   LSTM  i, f, g, o = sigma, sigma, tanh, sigma of (W_ih x + b_ih + W_hh h + b_hh), 4 gates
//         c' = f c + i g,  h' = o tanh(c')
//         with a projection (PyTorch's proj_size P): h' = W_hr (o tanh(c')), W_hr (P, H)
//   GRU   r, z = sigma(W_i{r,z} x + b_i{r,z} + W_h{r,z} h + b_h{r,z}), 3 gates
//         n = tanh(W_in x + b_in + r (W_hn h + b_hn)),  h' = (1 - z) n + z h
//
// Shapes (G gates, time-major, all contiguous; S the state size: P with a projection, else H):
// x (T, B, I), w_ih (G H, I), w_hh (G H, S), biases (G H,) or null, w_hr (P, H) or null, h0 (B, S)
// and c0 (B, H) or null for zeros, lengths (B,) or null for all T.
// The input projection of all steps is one GEMM (T B, I) x (I, G H); each step is one recurrent
// GEMM (B, S) x (S, G H) against a weight packed once, then one fused gate kernel over the rows
// (and with a projection one more GEMM (B, H) x (H, P)).
//
// Variable lengths: sequence b has real steps t < lengths[b]. At a padded step its state is carried
// unchanged and its output is 0, so the forward direction ends on the last real state and the
// reverse direction (t from T - 1 down to 0) starts from h0 at t = lengths[b] - 1.
#pragma once

#include "../layer.h"  // kernels are called by ops only

#include <cstdint>

namespace pyseq::kernels::cpu {

enum class RnnMode { Tanh, Relu, LSTM, GRU };

struct RnnShape {
  RnnMode mode;
  int64_t T, B, I, H;
  bool reverse;   // run t = T - 1 .. 0
  int64_t P = 0;  // the projection's size (LSTM only), 0 for none
  int64_t state_size() const { return P ? P : H; }
};

inline int64_t rnn_gates(RnnMode mode) { return mode == RnnMode::LSTM ? 4 : mode == RnnMode::GRU ? 3 : 1; }
// Values a step saves per row for backward: LSTM i, f, g, o; GRU r, z, n and W_hn h + b_hn; RNN none
// (its derivative comes from the state itself).
inline int64_t rnn_saved_gates(RnnMode mode) { return mode == RnnMode::Tanh || mode == RnnMode::Relu ? 0 : 4; }

// What the forward keeps for backward, indexed by time:
//   states (T + 1, B, S): the hidden state before step t is states[t + reverse], after it
//     states[t + 1 - reverse]; h0 sits at states[0] (forward) or states[T] (reverse).
//   cells (T + 1, B, H), LSTM only: the cell states, indexed like states.
//   gates (T, B, rnn_saved_gates(mode) H).
//   unprojected (T, B, H), with a projection only: o tanh(c') of each step (0 at padded steps).
template <class T>
struct RnnSaved {
  T* states;
  T* cells;
  T* gates;
  T* unprojected = nullptr;
};

// Scratch memory (in elements) the caller passes to rnn_forward and rnn_backward: the gates of
// every step (and, backward, their gradients), from the caller's allocator.
inline int64_t rnn_forward_workspace(const RnnShape& s) { return s.T * s.B * rnn_gates(s.mode) * s.H; }
// (Backward with a projection also keeps dL/dh' of every step, (T, B, P), and dL/d(o tanh c'), (B, H).)
inline int64_t rnn_backward_workspace(const RnnShape& s) {
  return (s.mode == RnnMode::GRU ? 2 : 1) * s.T * s.B * rnn_gates(s.mode) * s.H + 2 * s.B * s.state_size() +
         (s.P ? s.T * s.B * s.P + s.B * s.H : 0);
}

// -> out (T, B, S), h_n (B, S), c_n (B, H) (LSTM only), and the saved values.
template <class T>
void rnn_forward(const RnnShape& s, const T* x, const T* h0, const T* c0, const T* w_ih, const T* w_hh, const T* b_ih,
                 const T* b_hh, const T* w_hr, const int64_t* lengths, T* out, T* h_n, T* c_n,
                 const RnnSaved<T>& saved, T* workspace);

// From d_out (T, B, S), d_hn (B, S) and d_cn (B, H) (each may be null: zero) -> dx (T, B, I), dh0
// (B, S), dc0 (B, H), dw_ih, dw_hh, db_ih, db_hh, dw_hr (overwritten; any may be null when not
// wanted, LSTM alone has dc0).
template <class T>
void rnn_backward(const RnnShape& s, const T* x, const T* w_ih, const T* w_hh, const T* w_hr, const int64_t* lengths,
                  const RnnSaved<T>& saved, const T* d_out, const T* d_hn, const T* d_cn, T* dx, T* dh0, T* dc0,
                  T* dw_ih, T* dw_hh, T* db_ih, T* db_hh, T* dw_hr, T* workspace);

// The same layer written plainly, the reference the fused kernels are tested against: scalar loops
// one row and one gate at a time, no GEMM, no packing, its own storage. Runs forward, then backward
// when any of d_out, d_hn, d_cn is given (the gradient pointers may then be null, as above).
template <class T>
void rnn_reference(const RnnShape& s, const T* x, const T* h0, const T* c0, const T* w_ih, const T* w_hh,
                   const T* b_ih, const T* b_hh, const T* w_hr, const int64_t* lengths, T* out, T* h_n, T* c_n,
                   const T* d_out, const T* d_hn, const T* d_cn, T* dx, T* dh0, T* dc0, T* dw_ih, T* dw_hh, T* db_ih,
                   T* db_hh, T* dw_hr);

}  // namespace pyseq::kernels::cpu
