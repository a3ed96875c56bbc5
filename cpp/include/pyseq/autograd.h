// Reverse-mode autograd: graph nodes, grad mode and the backward engine.
//
// Each differentiable op that sees an input requiring grad (while grad mode is on) records one
// Node for the whole op. A node may have several inputs and several outputs: output k of the node
// is a tensor whose `output_nr` is k (LSTM's output, h_n and c_n; max's values and indices). Each
// input has an Edge to where its gradient goes: the (node, output) that produced it, the input's
// AccumulateGrad node when it is a leaf, or nothing when the input needs no gradient.
//
// A node is a named struct holding what its backward needs (`LayerNormBackward` keeps x, weight,
// mean and rstd). Backward walks the nodes in topological order from the root; the engine keeps
// one gradient slot per (node, output), sums what arrives there, and calls the node's backward
// once with the gradients of all its outputs.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pyseq/tensor.h"

#ifdef PYSEQ_LAYER_BELOW_OPS
#error "autograd belongs to the ops layer: tensor and kernels may not include it (see DESIGN.md)"
#endif

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

// Where the gradient of one input goes: output `output` of `node`.
struct Edge {
  std::shared_ptr<Node> node;  // null: no gradient flows there
  uint32_t output = 0;
  explicit operator bool() const { return node != nullptr; }
};

struct InputMeta {
  Shape shape;
  DType dtype;
};

struct Node {
  explicit Node(std::string name, uint32_t num_outputs = 1) : name(std::move(name)), num_outputs(num_outputs) {}
  virtual ~Node();  // frees the chain of nodes it alone holds iteratively, not recursively
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Gradients of the node's outputs in (one per output; undefined where none arrived, which
  // stands for zero), gradients of its inputs out (one per input; undefined = none).
  virtual std::vector<Tensor> backward(const std::vector<Tensor>& grad_outputs) = 0;
  // Frees what backward saved (called after backward unless retain_graph).
  virtual void release() {}

  // Checks that the node still has its saved values, then runs backward.
  std::vector<Tensor> apply(const std::vector<Tensor>& grad_outputs);
  // Runs the gradient hooks on the gradients arriving at the outputs, before backward (and before
  // torch.autograd.grad-style capture). A leaf's accumulator runs the leaf's own hooks.
  virtual void run_hooks(std::vector<Tensor>& grad_outputs);

  using Hook = std::function<Tensor(const Tensor&)>;  // a replacement gradient, or undefined: keep it
  std::vector<std::pair<uint32_t, Hook>> hooks;      // (output, hook), in the order registered
  std::vector<std::pair<uint32_t, Hook>> retain_hooks;  // retain_grad's, run after all others (as PyTorch)

  std::string name;
  uint32_t num_outputs;
  bool released = false;
  bool persistent = false;         // never released (a leaf's AccumulateGrad)
  std::vector<Edge> next;          // one per input
  std::vector<InputMeta> inputs;  // shape and dtype each input's gradient must have
};

// A tensor kept for backward. It remembers the storage version at save time, so using it after
// an in-place change raises instead of silently giving a wrong gradient.
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t);  // implicit: `node->x = x;` saves x
  const Tensor& get() const;
  bool defined() const { return tensor_.defined(); }
  void reset() { tensor_ = Tensor(); }
 private:
  Tensor tensor_;  // detached alias: saving never creates a reference cycle with the output
  uint64_t version_ = 0;
};

// Frees saved tensors: `void release() override { free_saved(x, weight); }`.
template <class... Ts>
void free_saved(Ts&... saved) {
  (saved.reset(), ...);
}

// True when grad mode is on and any of the tensors requires grad.
template <class... Ts>
bool needs_grad(const Ts&... ts) {
  return grad_enabled() && (... || (ts.defined() && ts.requires_grad()));
}
bool needs_grad_list(const std::vector<Tensor>& ts);

// Records `node` as the op that made `outputs` (output k of the node is outputs[k]) from `inputs`.
void record(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs);

// The edge gradients of `t` flow into: its grad_fn's output, or the AccumulateGrad of a leaf.
Edge gradient_edge(const Tensor& t);

// Runs backward from `root` seeded with `grad` (ones for a one-element root when undefined).
void backward(const Tensor& root, const Tensor& grad = Tensor(), bool retain_graph = false);

// Backward from several roots at once, each seeded with its gradient (undefined: ones for a
// one-element root). create_graph records the backward pass itself (for higher derivatives).
// Without `inputs`, gradients accumulate into the leaves' .grad. With them, as
// torch.autograd.grad: returns the gradient that reaches each input (undefined where none does),
// runs only the part of the graph that leads to them, and leaves every .grad alone.
std::vector<Tensor> run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& seeds, bool retain_graph,
                                 bool create_graph, const std::vector<Tensor>& inputs = {});

// Tensor.register_hook: `hook` sees (and may replace) the gradient of t during backward.
void register_hook(const Tensor& t, Node::Hook hook);
// Tensor.retain_grad: a non-leaf t keeps its gradient in .grad during backward (a leaf does anyway).
void retain_grad(const Tensor& t);

}  // namespace pyseq
