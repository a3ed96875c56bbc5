// The backward engine: gradient slots per (node, output), topological order, leaf accumulation.
#include <algorithm>
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

void Node::run_hooks(std::vector<Tensor>& grad_outputs) {
  for (const auto* list : {&hooks, &retain_hooks})
    for (const auto& [k, hook] : *list) {
      if (!grad_outputs[k].defined()) continue;
      Tensor replaced = hook(grad_outputs[k]);
      if (replaced.defined()) grad_outputs[k] = replaced;
    }
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

  void run_hooks(std::vector<Tensor>& grads) override {  // the leaf's own hooks
    for (const Node::Hook& hook : leaf->leaf_hooks) {
      if (!grads[0].defined()) return;
      Tensor replaced = hook(grads[0]);
      if (replaced.defined()) grads[0] = replaced;
    }
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

// --- hooks ---

void register_hook(const Tensor& t, Node::Hook hook) {
  PYSEQ_CHECK(t.requires_grad(), RuntimeError, "cannot register a hook on a tensor that doesn't require gradient");
  if (t.grad_fn()) {
    t.grad_fn()->hooks.emplace_back(t.impl()->output_nr, std::move(hook));
  } else {
    std::lock_guard<std::mutex> lock(grad_mutex());
    t.impl()->leaf_hooks.push_back(std::move(hook));
  }
}

void retain_grad(const Tensor& t) {
  PYSEQ_CHECK(t.requires_grad(), RuntimeError, "can't retain_grad on Tensor that has requires_grad=False");
  if (!t.grad_fn() || t.impl()->retains_grad) return;  // a leaf keeps its gradient anyway
  t.impl()->retains_grad = true;
  std::weak_ptr<TensorImpl> weak = t.impl_ptr();
  t.grad_fn()->retain_hooks.emplace_back(t.impl()->output_nr, [weak](const Tensor& g) {
    if (auto impl = weak.lock()) {
      std::lock_guard<std::mutex> lock(grad_mutex());
      impl->grad = impl->grad.defined() ? add(impl->grad, g) : clone(g.detach());
    }
    return Tensor();
  });
}

// --- engine ---

void backward(const Tensor& root, const Tensor& grad, bool retain_graph) {
  run_backward({root}, {grad}, retain_graph, false);
}

std::vector<Tensor> run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& seeds, bool retain_graph,
                                 bool create_graph, const std::vector<Tensor>& inputs) {
  PYSEQ_CHECK(seeds.size() == roots.size(), ValueError, "backward: got ", seeds.size(), " gradients for ", roots.size(),
              " tensors");
  std::vector<Edge> root_edges;
  std::vector<Tensor> root_seeds;
  for (size_t r = 0; r < roots.size(); ++r) {
    const Tensor& root = roots[r];
    PYSEQ_CHECK(root.requires_grad(), RuntimeError,
                "backward(): the tensor does not require grad and has no grad_fn (did you forget "
                "requires_grad=True, or compute it under no_grad?)");
    Tensor seed = seeds[r];
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
    root_edges.push_back(gradient_edge(root));
    root_seeds.push_back(seed);
  }

  // Backward formulas build graphs of their own only for create_graph (higher derivatives).
  const bool previous_mode = grad_enabled();
  set_grad_enabled(create_graph);
  struct RestoreMode {
    bool mode;
    ~RestoreMode() { set_grad_enabled(mode); }
  } restore{previous_mode};

  // torch.autograd.grad: the (node, output) slots whose gradient is wanted, and which input each is.
  const bool capture = !inputs.empty();
  std::unordered_map<Node*, std::vector<std::pair<uint32_t, size_t>>> targets;
  std::vector<std::shared_ptr<Node>> target_nodes;  // keeps a fresh leaf accumulator alive meanwhile
  for (size_t i = 0; i < inputs.size(); ++i) {
    PYSEQ_CHECK(inputs[i].requires_grad(), RuntimeError, "One of the differentiated Tensors does not require grad");
    const Edge e = gradient_edge(inputs[i]);
    targets[e.node.get()].emplace_back(e.output, i);
    target_nodes.push_back(e.node);
  }

  // How many edges point at each node: a node runs once all its consumers have sent gradients.
  std::unordered_map<Node*, int> pending;
  std::vector<Node*> stack;
  for (const Edge& e : root_edges)
    if (pending.emplace(e.node.get(), 0).second) stack.push_back(e.node.get());
  while (!stack.empty()) {
    Node* node = stack.back();
    stack.pop_back();
    for (const Edge& next : node->next) {
      if (!next) continue;
      if (pending[next.node.get()]++ == 0) stack.push_back(next.node.get());
    }
  }

  // With targets, a node runs only when one of them lies below it: found by a depth-first walk
  // (iterative: graphs may be chains of 200,000 nodes), each node's answer passed up to its parent.
  std::unordered_map<Node*, bool> leads;
  auto leads_to_target = [&](Node* start) {
    if (auto it = leads.find(start); it != leads.end()) return it->second;
    std::vector<std::pair<Node*, size_t>> path{{start, 0}};
    leads[start] = false;
    while (!path.empty()) {
      Node* node = path.back().first;
      const size_t i = path.back().second++;
      if (i == node->next.size()) {
        path.pop_back();
        if (!path.empty() && leads[node]) leads[path.back().first] = true;
        continue;
      }
      const Edge& e = node->next[i];
      if (!e) continue;
      Node* below = e.node.get();
      if (targets.count(below)) leads[node] = true;
      auto [it, fresh] = leads.emplace(below, false);
      if (fresh) path.emplace_back(below, 0);
      else if (it->second) leads[node] = true;
    }
    return leads[start];
  };

  // One slot per output of each node that has received a gradient.
  std::unordered_map<Node*, std::vector<Tensor>> slots;
  auto slots_of = [&slots](Node* node) -> std::vector<Tensor>& {
    std::vector<Tensor>& s = slots[node];
    if (s.empty()) s.resize(node->num_outputs);
    return s;
  };
  std::vector<std::shared_ptr<Node>> ready;
  for (size_t r = 0; r < root_edges.size(); ++r) {
    Tensor& slot = slots_of(root_edges[r].node.get())[root_edges[r].output];
    slot = slot.defined() ? add(slot, root_seeds[r]) : root_seeds[r];
    Node* node = root_edges[r].node.get();
    if (pending[node] == 0 && std::none_of(ready.begin(), ready.end(), [node](const auto& n) { return n.get() == node; }))
      ready.push_back(root_edges[r].node);
  }

  std::vector<Tensor> captured(inputs.size());
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    std::vector<Tensor> grad_outputs;
    if (auto it = slots.find(node.get()); it != slots.end()) {
      grad_outputs = std::move(it->second);
      slots.erase(it);
    }
    if (!grad_outputs.empty()) node->run_hooks(grad_outputs);
    if (auto it = targets.find(node.get()); it != targets.end() && !grad_outputs.empty())
      for (const auto& [output, i] : it->second) captured[i] = grad_outputs[output];
    const bool runs = !grad_outputs.empty() && (!capture || leads_to_target(node.get()));
    std::vector<Tensor> grad_inputs;
    if (runs) {
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
    if (!retain_graph && !node->persistent && (runs || !capture)) {
      node->release();
      node->released = true;
    }
  }
  return captured;
}

}  // namespace pyseq
