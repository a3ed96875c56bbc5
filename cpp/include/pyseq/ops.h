// Every tensor op of the core. Each is differentiable where the math allows: when an input
// requires grad (and grad mode is on) the output records how to send gradients back.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "pyseq/tensor.h"

#ifdef PYSEQ_LAYER_BELOW_OPS
#error "ops sit above tensor and kernels: a lower layer may not include them (see DESIGN.md)"
#endif

namespace pyseq {

// --- broadcasting helpers ---
Shape broadcast_shapes(const Shape& a, const Shape& b);
// Sums `t` over broadcast dims so it gets `shape` (the reverse of broadcasting).
Tensor sum_to(const Tensor& t, const Shape& shape);
// The dtype of a binary op's result, as in PyTorch: the higher of bool < int64 < float32 <
// float64, except that a 0-d operand only counts when it is of a higher kind (bool / integer /
// floating) than a dimensioned one: float32 (3,) + float64 () -> float32, int64 (3,) + float64 () -> float64.
DType result_type(const Tensor& a, const Tensor& b);
// A 0-d tensor holding `s`, with the dtype a Python number gets next to `like` (as in PyTorch).
Tensor scalar_like(Scalar s, const Tensor& like);

// --- creation (random ones draw from the counter-based generator of pyseq/random.h) ---
Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
Tensor ones(const Shape& shape, DType dtype = DType::Float32);
Tensor full(const Shape& shape, Scalar value, DType dtype = DType::Float32);
Tensor scalar_tensor(Scalar value, DType dtype);
Tensor arange(Scalar start, Scalar end, Scalar step, DType dtype);
Tensor eye(int64_t n, int64_t m, DType dtype = DType::Float32);
Tensor rand(const Shape& shape, DType dtype = DType::Float32);   // uniform [0, 1)
Tensor randn(const Shape& shape, DType dtype = DType::Float32);  // standard normal
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::Int64);
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
// The random generator's state as an int64 tensor (seed, offset), and back, as torch.get_rng_state.
Tensor rng_state();
void set_rng_state(const Tensor& state);

// --- views (no copy; share storage and version with the input) ---
Tensor view(const Tensor& t, Shape shape);      // one size may be -1; raises if not viewable
Tensor reshape(const Tensor& t, Shape shape);   // a view when possible, else a copy
Tensor flatten(const Tensor& t, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1);
Tensor permute(const Tensor& t, const Shape& dims);
Tensor squeeze(const Tensor& t);
Tensor squeeze(const Tensor& t, int64_t dim);
Tensor unsqueeze(const Tensor& t, int64_t dim);
Tensor expand(const Tensor& t, const Shape& shape);  // -1 keeps a size
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step);
Tensor select(const Tensor& t, int64_t dim, int64_t index);
Tensor contiguous(const Tensor& t);

// One item of a Python-style index t[i, a:b:c, None, ..., idx].
struct IndexItem {
  enum class Kind : uint8_t { Int, Slice, NewAxis, Ellipsis, Tensor } kind = Kind::Int;
  int64_t index = 0;                 // Int: negative counts from the end
  int64_t start = 0, stop = 0, step = 1;  // Slice: Python bounds, already resolved against the size
  Tensor tensor;                     // Tensor: a 1-d int64 index (selects rows, copies)
};
// A view of `t` (a copy when an item is a tensor), with numpy's rules and IndexErrors.
Tensor index(const Tensor& t, const std::vector<IndexItem>& items);

// --- copies and conversion ---
Tensor clone(const Tensor& t);
Tensor to_dtype(const Tensor& t, DType dtype);

// --- in-place (bump the version; autograd-aware) ---
Tensor& copy_(Tensor& self, const Tensor& src);
Tensor& fill_(Tensor& self, Scalar value);
Tensor& zero_(Tensor& self);
Tensor& add_(Tensor& self, const Tensor& other);
Tensor& sub_(Tensor& self, const Tensor& other);
Tensor& mul_(Tensor& self, const Tensor& other);
Tensor& div_(Tensor& self, const Tensor& other);

// --- arithmetic with broadcasting and type promotion ---
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);  // true division: integers give float32
Tensor pow(const Tensor& a, const Tensor& b);
Tensor atan2(const Tensor& a, const Tensor& b);  // atan2 and hypot give floats
Tensor hypot(const Tensor& a, const Tensor& b);
Tensor remainder(const Tensor& a, const Tensor& b);  // Python's %: the sign of b
Tensor fmod(const Tensor& a, const Tensor& b);       // C's %: the sign of a
Tensor floor_divide(const Tensor& a, const Tensor& b);  // //: the quotient rounded down
Tensor bitwise_and(const Tensor& a, const Tensor& b);  // & | ^: logical for bool, bitwise for int64
Tensor bitwise_or(const Tensor& a, const Tensor& b);
Tensor bitwise_xor(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& t);

// --- unary math ---
Tensor exp(const Tensor& t);
Tensor log(const Tensor& t);
Tensor sqrt(const Tensor& t);
Tensor rsqrt(const Tensor& t);
Tensor log1p(const Tensor& t);
Tensor expm1(const Tensor& t);
Tensor erf(const Tensor& t);
Tensor floor(const Tensor& t);  // floor, ceil, round (halves to even), trunc: integers pass unchanged
Tensor ceil(const Tensor& t);
Tensor round(const Tensor& t);
Tensor trunc(const Tensor& t);
Tensor abs(const Tensor& t);
Tensor sign(const Tensor& t);
Tensor sin(const Tensor& t);
Tensor cos(const Tensor& t);
Tensor tanh(const Tensor& t);
Tensor tan(const Tensor& t);
Tensor asin(const Tensor& t);
Tensor acos(const Tensor& t);
Tensor atan(const Tensor& t);
Tensor sinh(const Tensor& t);
Tensor cosh(const Tensor& t);
Tensor asinh(const Tensor& t);
Tensor acosh(const Tensor& t);
Tensor atanh(const Tensor& t);
Tensor log2(const Tensor& t);
Tensor log10(const Tensor& t);
Tensor exp2(const Tensor& t);
Tensor reciprocal(const Tensor& t);  // 1 / x (integers give float32)
Tensor square(const Tensor& t);  // x * x (integers stay integers)
Tensor sigmoid(const Tensor& t);
Tensor relu(const Tensor& t);
Tensor leaky_relu(const Tensor& t, double negative_slope = 0.01);
Tensor elu(const Tensor& t, double alpha = 1.0);
Tensor gelu(const Tensor& t, bool tanh_approximation = false);
Tensor clamp(const Tensor& t, std::optional<double> min, std::optional<double> max);

// --- comparisons (bool results), selection and masks ---
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& t);
Tensor bitwise_not(const Tensor& t);  // ~: bitwise for int64, logical for bool
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor masked_fill(const Tensor& t, const Tensor& mask, Scalar value);
Tensor tril(const Tensor& t, int64_t diagonal = 0);
Tensor triu(const Tensor& t, int64_t diagonal = 0);

// --- reductions; `dims` empty means all dims ---
Tensor sum(const Tensor& t, const Shape& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& t, const Shape& dims = {}, bool keepdim = false);
// correction: the divisor is n - correction (1: unbiased, 0: the population's).
Tensor var(const Tensor& t, const Shape& dims = {}, double correction = 1.0, bool keepdim = false);
Tensor std(const Tensor& t, const Shape& dims = {}, double correction = 1.0, bool keepdim = false);
// (var, mean) from one pass and one autograd node with two outputs, as torch.var_mean.
std::pair<Tensor, Tensor> var_mean(const Tensor& t, const Shape& dims = {}, double correction = 1.0, bool keepdim = false);
Tensor logsumexp(const Tensor& t, const Shape& dims, bool keepdim = false);
Tensor norm(const Tensor& t, double p = 2.0, const Shape& dims = {}, bool keepdim = false);
Tensor max(const Tensor& t);  // over all elements
Tensor min(const Tensor& t);
std::pair<Tensor, Tensor> max(const Tensor& t, int64_t dim, bool keepdim = false);  // values, indices
std::pair<Tensor, Tensor> min(const Tensor& t, int64_t dim, bool keepdim = false);
Tensor argmax(const Tensor& t, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& t, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
// Along a dim, keeping it. topk / sort: (values, indices) in order, equal values in their order
// along the dim, NaN above every number (so last when ascending); the values carry the gradient.
std::pair<Tensor, Tensor> topk(const Tensor& t, int64_t k, int64_t dim = -1, bool largest = true);
std::pair<Tensor, Tensor> sort(const Tensor& t, int64_t dim = -1, bool descending = false);
Tensor cumsum(const Tensor& t, int64_t dim);  // bool counts as int64

// --- softmax family (numerically stable) ---
Tensor softmax(const Tensor& t, int64_t dim);
Tensor log_softmax(const Tensor& t, int64_t dim);

// --- matrix products: 1-D, 2-D and batched N-D with broadcast batch dims ---
Tensor matmul(const Tensor& a, const Tensor& b);
// x (*, in) @ weight (out, in)^T + bias (out,) -> (*, out) in one GEMM: the output starts as the
// bias rows and the product is accumulated onto it. A transposed weight (the .T view of an (in, out)
// matrix, as GPT-2's Conv1D stores it) is read in place. bias may be undefined. `activation` ("none",
// "relu", "gelu", "gelu_tanh") is applied by the GEMM epilogue while the output is in cache;
// GELU with gradients (or in float64) falls back to a separate gelu op.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, const std::string& activation = "none");

// --- joining, splitting and indexing ---
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& t, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& t, const Shape& sizes, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& t, int64_t chunks, int64_t dim = 0);
Tensor index_select(const Tensor& t, int64_t dim, const Tensor& index);
Tensor gather(const Tensor& t, int64_t dim, const Tensor& index);
Tensor scatter_add(const Tensor& t, int64_t dim, const Tensor& index, const Tensor& src);
// weight (V, D), indices (*) int64 -> (*, D). The row at padding_idx (negative: from the end) gets no gradient.
Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx = std::nullopt);
Tensor one_hot(const Tensor& indices, int64_t num_classes = -1);

// --- in-place random fills from the global generator (pyseq/random.h) ---
Tensor& uniform_(Tensor& self, double low = 0.0, double high = 1.0);
Tensor& normal_(Tensor& self, double mean = 0.0, double std = 1.0);

// --- neural-network ops: fused forward and backward kernels ---
// Normalizes over the trailing dims, which must equal normalized_shape; weight and bias (optional) have that shape.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias, double eps);
// log_softmax + NLL in one pass with PyTorch's semantics. logits (N, C), target (N,) int64,
// weight (C,) or undefined. reduction: "none" -> (N,), "mean" / "sum" -> ().
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const Tensor& weight, int64_t ignore_index,
                     double label_smoothing, const std::string& reduction);
// Inverted dropout: zeroes each element with probability p and scales the rest by 1 / (1 - p).
Tensor dropout(const Tensor& x, double p, bool training);
// x (N, C_in, L) or (C_in, L), weight (C_out, C_in / groups, K), bias (C_out,) or undefined -> (N, C_out, L_out)
// or (C_out, L_out), L_out = (L + 2 padding - dilation (K - 1) - 1) / stride + 1.
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
              int64_t dilation, int64_t groups);
// x (N, C, L) or (C, L): the max of each window (padding counts as -inf).
Tensor max_pool1d(const Tensor& x, int64_t kernel_size, int64_t stride, int64_t padding, int64_t dilation);
// x (..., L) -> (..., k): the k largest values of each row, in their original order.
Tensor kmax_pool1d(const Tensor& x, int64_t k);

// --- recurrent layers ---

// One recurrent layer in one direction over a whole sequence, one node with its own backward
// through time (kernels/cpu/rnn.h). mode: "RNN_TANH", "RNN_RELU", "LSTM" or "GRU" (G = 1, 1, 4, 3
// gates). x (T, B, I); h0 (B, S), c0 (B, H) or undefined (zeros; c0 for LSTM only); w_ih (G H, I),
// w_hh (G H, S), b_ih, b_hh (G H,) or undefined; lengths: int64 (B,) in [1, T] or undefined (all
// T); reverse: run from t = T - 1 down; w_hr (P, H): LSTM's projection of the state (PyTorch's
// proj_size P), or undefined. S is P with a projection, else H. Returns {output (T, B, S), h_n
// (B, S), c_n (B, H) or undefined}.
std::vector<Tensor> rnn_layer(const std::string& mode, const Tensor& x, const Tensor& h0, const Tensor& c0,
                              const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh,
                              const Tensor& lengths, bool reverse, const Tensor& w_hr = Tensor());

// --- attention ---
// softmax(q k^T scale + mask) v with PyTorch's semantics: q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv)
// (batch dims broadcast) -> (..., Tq, dv). attn_mask: bool (true = may attend) or additive, broadcast
// to (..., Tq, Tk), no gradient; is_causal: query i sees keys j <= i; scale defaults to 1 / sqrt(d).
// A query row whose keys are all masked gives zeros (never NaN). Fused: O(T) memory, backward
// recomputes each block from the saved row log-sum-exp; dropout_p drops weights (training only).
// Without gradients, key and value are read in place when their rows are dense and their batch dims
// are one stride apart, such as the first Tk rows of a preallocated (B, H, T_max, d) KV cache.
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value, const Tensor& attn_mask,
                                    double dropout_p = 0.0, bool is_causal = false, std::optional<double> scale = std::nullopt);
// The same by ops (matmul, softmax, matmul), with the weights (..., Tq, Tk) for inspection (no dropout).
std::pair<Tensor, Tensor> attention_with_weights(const Tensor& query, const Tensor& key, const Tensor& value,
                                                 const Tensor& attn_mask, bool is_causal = false,
                                                 std::optional<double> scale = std::nullopt);

// --- C++ operator sugar, used by the backward formulas ---
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& t) { return neg(t); }
inline Tensor operator+(const Tensor& a, Scalar b) { return add(a, scalar_like(b, a)); }
inline Tensor operator-(const Tensor& a, Scalar b) { return sub(a, scalar_like(b, a)); }
inline Tensor operator*(const Tensor& a, Scalar b) { return mul(a, scalar_like(b, a)); }
inline Tensor operator/(const Tensor& a, Scalar b) { return div(a, scalar_like(b, a)); }

}  // namespace pyseq
