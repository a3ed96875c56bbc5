// Reverse-mode autograd: graph nodes, grad mode and the backward engine.
//
// Each differentiable op that sees an input requiring grad (while grad mode is on) attaches a
// Node to its output. A node has one output and one Edge per input: the node that produced the
// input (its grad_fn), the input's AccumulateGrad node when it is a leaf, or nothing when the
// input needs no gradient. Backward walks the nodes in topological order, from the root, and
// calls each node's backward function with the gradient of its output.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "pyseq/tensor.h"

namespace pyseq {

// Grad mode is per thread; NoGradGuard switches it off for a scope (pyseq.no_grad()).
bool grad_enabled();
void set_grad_enabled(bool enabled);
struct NoGradGuard {
  NoGradGuard() : prev_(grad_enabled()) { set_grad_enabled(false); }
  ~NoGradGuard() { set_grad_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;
 private:
  bool prev_;
};

struct InputMeta {
  Shape shape;
  DType dtype;
};

// Gradient of the node's output in, gradients of its inputs out (undefined = zero / none).
using BackwardFn = std::function<std::vector<Tensor>(const Tensor& grad_output)>;

struct Node {
  Node(std::string name, BackwardFn fn) : name(std::move(name)), fn(std::move(fn)) {}
  virtual ~Node() = default;

  virtual std::vector<Tensor> apply(const Tensor& grad_output);
  // Frees what backward saved (called after backward unless retain_graph).
  virtual void release();

  std::string name;
  BackwardFn fn;
  bool released = false;
  std::vector<std::shared_ptr<Node>> next;  // one per input; null when no gradient flows there
  std::vector<InputMeta> inputs;            // shape and dtype each input's gradient must have
};

// A tensor kept for backward. It remembers the storage version at save time, so using it after
// an in-place change raises instead of silently giving a wrong gradient.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  const Tensor& get() const;
 private:
  Tensor tensor_;  // detached alias: saving never creates a reference cycle with the output
  uint64_t version_ = 0;
};

// True when grad mode is on and any of the tensors requires grad.
template <class... Ts>
bool needs_grad(const Ts&... ts) {
  return grad_enabled() && (... || (ts.defined() && ts.requires_grad()));
}
bool needs_grad_list(const std::vector<Tensor>& ts);

// Makes `out` the output of a new node named `name` over `inputs` with backward `fn`.
void attach_grad_fn(Tensor& out, const char* name, const std::vector<Tensor>& inputs, BackwardFn fn);

// The node gradients of `t` flow into: its grad_fn, or the AccumulateGrad of a leaf.
std::shared_ptr<Node> gradient_edge(const Tensor& t);

// Runs backward from `root` seeded with `grad` (ones for a one-element root when undefined).
void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph);

}  // namespace pyseq
