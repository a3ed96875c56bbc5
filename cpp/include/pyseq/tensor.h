// Tensor: a strided view (shape, strides, offset) over shared Storage, plus its autograd state.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "pyseq/common.h"
#include "pyseq/dtype.h"
#include "pyseq/storage.h"

#if defined(PYSEQ_LAYER_TEXT) || defined(PYSEQ_LAYER_WORD2VEC)
#error "the text and word2vec layers do not depend on tensors (see DESIGN.md)"
#endif

namespace pyseq {

struct Node;
struct TensorImpl;

// A cheap handle (one shared pointer). Copies alias the same tensor; a default-constructed
// Tensor is "undefined" and stands for "no tensor" (for example a missing gradient).
class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  bool defined() const { return impl_ != nullptr; }
  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }

  // --- metadata ---
  const Shape& shape() const;
  const Shape& strides() const;  // in elements
  int64_t offset() const;        // in elements, from the start of the storage
  int64_t size(int64_t dim) const;
  int64_t ndim() const { return static_cast<int64_t>(shape().size()); }
  int64_t numel() const { return numel_of(shape()); }
  DType dtype() const;
  Device device() const;
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const;

  // Pointer to the first element (storage start + offset).
  void* raw_data() const;
  template <class T> T* data() const { return static_cast<T*>(raw_data()); }
  // Value of a one-element tensor, converted to T.
  template <class T> T item() const;

  // --- autograd ---
  bool requires_grad() const;
  void set_requires_grad(bool requires_grad);  // leaves only
  // The accumulated gradient. Reads and writes of any tensor's grad hold grad_mutex(), so one
  // thread may set it while another's backward accumulates into it.
  Tensor grad() const;
  void set_grad(const Tensor& grad);
  const std::shared_ptr<Node>& grad_fn() const;
  bool is_leaf() const;
  bool is_view() const;
  uint64_t version() const { return storage()->version(); }
  void bump_version() const { storage()->bump_version(); }
  // Same data, cut from the graph: no grad_fn, requires_grad false.
  Tensor detach() const;

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape;
  Shape strides;
  int64_t offset = 0;
  DType dtype = DType::Float32;
  bool is_view = false;

  // Autograd state. A leaf that requires grad accumulates into `grad` through a cached
  // AccumulateGrad node (held weakly here, read and set under a lock in gradient_edge; the node
  // holds this impl).
  bool requires_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
  uint32_t output_nr = 0;  // which output of grad_fn this tensor is
  std::weak_ptr<Node> grad_accumulator;
  // A leaf's gradient hooks (Tensor.register_hook), run in order on the gradient arriving for it,
  // each may return a replacement (undefined: keep it). A non-leaf's hooks live on its grad_fn.
  std::vector<std::function<Tensor(const Tensor&)>> leaf_hooks;
  bool retains_grad = false;  // a non-leaf whose .grad the backward pass fills (retain_grad())
};

// Guards TensorImpl::grad of every tensor (see Tensor::grad); the backward engine holds it while it
// accumulates into a leaf's gradient.
std::mutex& grad_mutex();

// A new tensor over `storage` with the given geometry (no copy).
Tensor make_tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset,
                   DType dtype);

// Fresh, uninitialised memory (the other creation functions are ops: see ops.h).
Tensor empty(const Shape& shape, DType dtype = DType::Float32);
Tensor empty_like(const Tensor& t);

// Checks a user-given shape (no negative sizes) and returns it.
const Shape& check_shape(const Shape& shape, const char* op);

}  // namespace pyseq
