#include <unordered_map>

#include "pyseq/autograd.h"
#include "pyseq/ops.h"

namespace pyseq {

// --- grad mode ---

namespace {
thread_local bool t_grad_enabled = true;
}
bool grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool enabled) { t_grad_enabled = enabled; }

// --- nodes ---

std::vector<Tensor> Node::apply(const Tensor& grad_output) {
  PYSEQ_CHECK(!released, RuntimeError, "Trying to backward through the graph a second time (", name,
              " was already freed). Saved values are freed when you call backward(); pass "
              "retain_graph=True to backward through the graph again.");
  return fn(grad_output);
}

void Node::release() {
  fn = nullptr;  // drops the tensors the backward function captured
  released = true;
}

// The sink of a leaf that requires grad: adds incoming gradients into leaf.grad.
struct AccumulateGrad : Node {
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : Node("AccumulateGrad", nullptr), leaf(std::move(leaf)) {}

  std::vector<Tensor> apply(const Tensor& grad) override {
    Tensor& acc = leaf->grad;
    if (acc.defined()) {
      add_(acc, grad);
      return {};
    }
    // The engine's reference is the only one to a gradient that owns its whole storage: take it
    // as it is. Anything else may alias another gradient or a saved tensor: take a copy.
    const bool unshared = grad.impl_ptr().use_count() == 1 && grad.storage().use_count() == 1 &&
                          !grad.is_view() && grad.is_contiguous() && !grad.grad_fn();
    acc = unshared ? grad : clone(grad);
    return {};
  }
  void release() override {}  // reused by every graph that reaches this leaf

  std::shared_ptr<TensorImpl> leaf;
};

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return nullptr;
  if (t.grad_fn()) return t.grad_fn();
  TensorImpl* impl = t.impl();
  if (auto acc = impl->grad_accumulator.lock()) return acc;
  auto acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
  impl->grad_accumulator = acc;
  return acc;
}

// --- saved tensors ---

SavedTensor::SavedTensor(const Tensor& t)
    : tensor_(t.defined() ? t.detach() : Tensor()), version_(t.defined() ? t.version() : 0) {}

const Tensor& SavedTensor::get() const {
  if (!tensor_.defined()) return tensor_;  // an optional input that was not given
  PYSEQ_CHECK(tensor_.version() == version_, RuntimeError,
              "one of the tensors needed for gradient computation has been modified by an in-place "
              "operation: a tensor of shape ", tensor_.shape(), " is at version ", tensor_.version(),
              "; expected version ", version_, " instead");
  return tensor_;
}

// --- recording ---

bool needs_grad_list(const std::vector<Tensor>& ts) {
  if (!grad_enabled()) return false;
  for (const Tensor& t : ts)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

void attach_grad_fn(Tensor& out, const char* name, const std::vector<Tensor>& inputs, BackwardFn fn) {
  auto node = std::make_shared<Node>(name, std::move(fn));
  node->next.reserve(inputs.size());
  node->inputs.reserve(inputs.size());
  for (const Tensor& in : inputs) {
    node->next.push_back(gradient_edge(in));
    node->inputs.push_back(in.defined() ? InputMeta{in.shape(), in.dtype()} : InputMeta{{}, DType::Float32});
  }
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
}

// --- engine ---

void run_backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
  PYSEQ_CHECK(root.requires_grad(), RuntimeError,
              "backward(): the tensor does not require grad and has no grad_fn (did you forget "
              "requires_grad=True, or compute it under no_grad?)");
  Tensor seed = grad;
  if (!seed.defined()) {
    PYSEQ_CHECK(root.numel() == 1, RuntimeError,
                "grad can be implicitly created only for scalar outputs; backward() on a tensor of shape ",
                root.shape(), " needs a gradient argument of that shape");
    seed = ones(root.shape(), root.dtype());
  } else {
    PYSEQ_CHECK(seed.shape() == root.shape(), ValueError, "backward(): gradient has shape ", seed.shape(),
                " but the tensor has shape ", root.shape());
    if (seed.dtype() != root.dtype()) seed = to_dtype(seed, root.dtype());
  }

  NoGradGuard no_grad;  // backward formulas do not build graphs of their own
  std::shared_ptr<Node> root_node = gradient_edge(root);

  // How many edges point at each node: a node runs once all its consumers have sent gradients.
  std::unordered_map<Node*, int> pending;
  std::vector<Node*> stack{root_node.get()};
  pending[root_node.get()] = 0;
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const auto& next : node->next) {
      if (!next) continue;
      if (pending[next.get()]++ == 0) stack.push_back(next.get());
    }
  }

  std::unordered_map<Node*, Tensor> grads{{root_node.get(), seed}};
  std::vector<std::shared_ptr<Node>> ready{root_node};
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    Tensor grad_out;
    if (auto it = grads.find(node.get()); it != grads.end()) {
      grad_out = std::move(it->second);
      grads.erase(it);
    }
    std::vector<Tensor> grad_inputs;
    if (grad_out.defined()) {
      grad_inputs = node->apply(grad_out);
      PYSEQ_CHECK(grad_inputs.empty() || grad_inputs.size() == node->next.size(), RuntimeError,
                  "internal error: ", node->name, " returned ", grad_inputs.size(), " gradients for ",
                  node->next.size(), " inputs");
    }
    for (size_t i = 0; i < node->next.size(); ++i) {
      const auto& next = node->next[i];
      if (!next) continue;
      if (i < grad_inputs.size() && grad_inputs[i].defined()) {
        Tensor g = grad_inputs[i];
        const InputMeta& meta = node->inputs[i];
        PYSEQ_CHECK(g.shape() == meta.shape, RuntimeError, "internal error: ", node->name, " produced a gradient of shape ",
                    g.shape(), " for an input of shape ", meta.shape);
        if (g.dtype() != meta.dtype) g = to_dtype(g, meta.dtype);
        Tensor& slot = grads[next.get()];
        slot = slot.defined() ? add(slot, g) : g;
      }
      if (--pending[next.get()] == 0) ready.push_back(next);
    }
    if (!retain_graph) node->release();
  }
}

}  // namespace pyseq
