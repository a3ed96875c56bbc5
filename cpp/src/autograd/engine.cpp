// The backward engine: gradient slots per (node, output), topological order, leaf accumulation.
#include <mutex>
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

Node::~Node() {
  // A graph of 200,000 ops in a chain would otherwise free itself node by node down the call stack
  // and overflow it: take over the edges this node alone holds, then free those nodes one at a
  // time, each after taking its own edges the same way.
  std::vector<std::shared_ptr<Node>> to_free;
  auto take_sole_edges = [&to_free](std::vector<Edge>& edges) {
    for (Edge& e : edges)
      if (e.node && e.node.use_count() == 1) to_free.push_back(std::move(e.node));
    edges.clear();
  };
  take_sole_edges(next);
  while (!to_free.empty()) {
    std::shared_ptr<Node> node = std::move(to_free.back());
    to_free.pop_back();
    take_sole_edges(node->next);
  }  // each node is freed here with no edges left to follow
}

std::vector<Tensor> Node::apply(const std::vector<Tensor>& grad_outputs) {
  PYSEQ_CHECK(!released, RuntimeError, "Trying to backward through the graph a second time (", name,
              " was already freed). Saved values are freed when you call backward(); pass "
              "retain_graph=True to backward through the graph again.");
  return backward(grad_outputs);
}

namespace {

// The sink of a leaf that requires grad: adds the incoming gradient into leaf.grad.
struct AccumulateGrad final : Node {
  explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : Node("AccumulateGrad"), leaf(std::move(leaf)) {
    persistent = true;  // reused by every graph that reaches this leaf
  }

  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor& grad = grads[0];
    std::lock_guard<std::mutex> lock(grad_mutex());  // another thread may be setting leaf.grad
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

  std::shared_ptr<TensorImpl> leaf;
};

}  // namespace

Edge gradient_edge(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  if (t.grad_fn()) return {t.grad_fn(), t.impl()->output_nr};
  TensorImpl* impl = t.impl();
  // Ops run with the GIL released, so two threads may reach the same leaf at once.
  static std::mutex accumulator_mutex;
  std::lock_guard<std::mutex> lock(accumulator_mutex);
  if (auto acc = impl->grad_accumulator.lock()) return {acc, 0};
  auto acc = std::make_shared<AccumulateGrad>(t.impl_ptr());
  impl->grad_accumulator = acc;
  return {acc, 0};
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

void record(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) {
  PYSEQ_CHECK(outputs.size() == node->num_outputs, RuntimeError, "internal error: ", node->name, " has ",
              node->num_outputs, " outputs but ", outputs.size(), " tensors were recorded");
  node->next.reserve(inputs.size());
  node->inputs.reserve(inputs.size());
  for (const Tensor& in : inputs) {
    node->next.push_back(gradient_edge(in));
    node->inputs.push_back(in.defined() ? InputMeta{in.shape(), in.dtype()} : InputMeta{{}, DType::Float32});
  }
  for (uint32_t k = 0; k < outputs.size(); ++k) {
    TensorImpl* out = outputs[k].impl();
    if (!out || !is_floating(out->dtype)) continue;  // integer outputs (indices) carry no gradient
    out->grad_fn = node;
    out->output_nr = k;
    out->requires_grad = true;
  }
}

// --- engine ---

void backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
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
  const Edge root_edge = gradient_edge(root);

  // How many edges point at each node: a node runs once all its consumers have sent gradients.
  std::unordered_map<Node*, int> pending;
  std::vector<Node*> stack{root_edge.node.get()};
  pending[root_edge.node.get()] = 0;
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& next : node->next) {
      if (!next) continue;
      if (pending[next.node.get()]++ == 0) stack.push_back(next.node.get());
    }
  }

  // One slot per output of each node that has received a gradient.
  std::unordered_map<Node*, std::vector<Tensor>> slots;
  auto slots_of = [&slots](Node* node) -> std::vector<Tensor>& {
    std::vector<Tensor>& s = slots[node];
    if (s.empty()) s.resize(node->num_outputs);
    return s;
  };
  slots_of(root_edge.node.get())[root_edge.output] = seed;

  std::vector<std::shared_ptr<Node>> ready{root_edge.node};
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    std::vector<Tensor> grad_outputs;
    if (auto it = slots.find(node.get()); it != slots.end()) {
      grad_outputs = std::move(it->second);
      slots.erase(it);
    }
    std::vector<Tensor> grad_inputs;
    if (!grad_outputs.empty()) {  // at least one output received a gradient
      grad_inputs = node->apply(grad_outputs);
      PYSEQ_CHECK(grad_inputs.empty() || grad_inputs.size() == node->next.size(), RuntimeError,
                  "internal error: ", node->name, " returned ", grad_inputs.size(), " gradients for ",
                  node->next.size(), " inputs");
    }
    for (size_t i = 0; i < node->next.size(); ++i) {
      const Edge& next = node->next[i];
      if (!next) continue;
      if (i < grad_inputs.size() && grad_inputs[i].defined()) {
        Tensor g = grad_inputs[i];
        const InputMeta& meta = node->inputs[i];
        PYSEQ_CHECK(g.shape() == meta.shape, RuntimeError, "internal error: ", node->name,
                    " produced a gradient of shape ", g.shape(), " for an input of shape ", meta.shape);
        if (g.dtype() != meta.dtype) g = to_dtype(g, meta.dtype);
        Tensor& slot = slots_of(next.node.get())[next.output];
        slot = slot.defined() ? add(slot, g) : g;
      }
      if (--pending[next.node.get()] == 0) ready.push_back(next.node);
    }
    if (!retain_graph && !node->persistent) {
      node->release();
      node->released = true;
    }
  }
}

}  // namespace pyseq
