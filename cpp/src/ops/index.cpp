// Joining, splitting and indexing: cat, stack, split, chunk, index_select, gather, scatter_add,
// embedding, one_hot.
#include <algorithm>

#include "../kernels/cpu/index.h"
#include "internal.h"

namespace pyseq {
namespace {

void check_index_dtype(const Tensor& index, const char* op) {
  PYSEQ_CHECK(index.dtype() == DType::Int64, TypeError, op, ": expected an int64 index tensor, got ", index.dtype());
}

// Every value of `index` must lie in [0, size); IndexError names the first that does not.
void check_index_range(const Tensor& index, int64_t size, const char* op) {
  const int64_t* p = index.data<int64_t>();  // contiguous
  for (int64_t i = 0; i < index.numel(); ++i)
    PYSEQ_CHECK(p[i] >= 0 && p[i] < size, IndexError, op, ": index ", p[i], " is out of range for a dimension of size ",
                size);
}

// (outer, size of dim, inner) of a shape around `dim`.
struct Around {
  int64_t outer = 1, size = 1, inner = 1;
};
Around around(const Shape& shape, int64_t dim) {
  Around a;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (d < dim) a.outer *= shape[d];
    else if (d == dim) a.size = shape[d];
    else a.inner *= shape[d];
  }
  return a;
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  PYSEQ_CHECK(!tensors.empty(), ValueError, "cat: expected a non-empty list of tensors");
  const Tensor& first = tensors[0];
  PYSEQ_CHECK(first.ndim() > 0, ValueError, "cat: zero-dimensional tensor (at position 0) cannot be concatenated");
  dim = wrap_dim(dim, first.ndim());
  Shape shape = first.shape();
  DType dt = first.dtype();
  shape[dim] = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    PYSEQ_CHECK(t.ndim() == first.ndim(), ValueError, "cat: tensors must have the same number of dimensions: got ",
                first.ndim(), " and ", t.ndim(), " (tensor ", i, ", shape ", t.shape(), ")");
    for (int64_t d = 0; d < t.ndim(); ++d)
      PYSEQ_CHECK(d == dim || t.shape()[d] == first.shape()[d], ValueError,
                  "cat: sizes of tensors must match except in dimension ", dim, ". Expected size ", first.shape()[d],
                  " but got size ", t.shape()[d], " for tensor number ", i, " in the list (shape ", t.shape(), ")");
    shape[dim] += t.shape()[dim];
    dt = promote(dt, t.dtype());
  }
  Tensor out = empty(shape, dt);
  {
    NoGradGuard no_grad;
    int64_t offset = 0;
    for (const Tensor& t : tensors) {
      Tensor part = narrow(out, dim, offset, t.shape()[dim]);
      copy_(part, t);
      offset += t.shape()[dim];
    }
  }
  if (needs_grad_list(tensors)) {
    Shape sizes;
    for (const Tensor& t : tensors) sizes.push_back(t.shape()[dim]);
    attach_grad_fn(out, "CatBackward", tensors, [sizes, dim](const Tensor& g) { return split(g, sizes, dim); });
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  PYSEQ_CHECK(!tensors.empty(), ValueError, "stack: expected a non-empty list of tensors");
  dim = wrap_dim(dim, tensors[0].ndim() + 1);
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    PYSEQ_CHECK(tensors[i].shape() == tensors[0].shape(), ValueError, "stack: expects each tensor to be equal size, but got ",
                tensors[0].shape(), " at entry 0 and ", tensors[i].shape(), " at entry ", i);
    parts.push_back(unsqueeze(tensors[i], dim));
  }
  return cat(parts, dim);
}

std::vector<Tensor> split(const Tensor& t, const Shape& sizes, int64_t dim) {
  dim = wrap_dim(dim, t.ndim());
  int64_t total = 0;
  for (int64_t s : sizes) {
    PYSEQ_CHECK(s >= 0, ValueError, "split: sizes must be non-negative, got ", sizes);
    total += s;
  }
  PYSEQ_CHECK(total == t.size(dim), ValueError, "split: sizes ", sizes, " sum to ", total,
              " but dimension ", dim, " has size ", t.size(dim));
  std::vector<Tensor> out;
  int64_t offset = 0;
  for (int64_t s : sizes) {
    out.push_back(narrow(t, dim, offset, s));
    offset += s;
  }
  return out;
}

std::vector<Tensor> split(const Tensor& t, int64_t split_size, int64_t dim) {
  PYSEQ_CHECK(split_size > 0, ValueError, "split: split_size must be positive, got ", split_size);
  const int64_t size = t.size(dim);
  Shape sizes;
  for (int64_t at = 0; at < size; at += split_size) sizes.push_back(std::min(split_size, size - at));
  if (sizes.empty()) sizes.push_back(0);
  return split(t, sizes, dim);
}

std::vector<Tensor> chunk(const Tensor& t, int64_t chunks, int64_t dim) {
  PYSEQ_CHECK(chunks > 0, ValueError, "chunk: number of chunks must be positive, got ", chunks);
  const int64_t size = t.size(dim);
  return split(t, std::max<int64_t>(1, (size + chunks - 1) / chunks), dim);
}

Tensor index_select(const Tensor& t, int64_t dim, const Tensor& index) {
  check_index_dtype(index, "index_select");
  PYSEQ_CHECK(index.ndim() <= 1, ValueError, "index_select: expected a 0-d or 1-d index, got shape ", index.shape());
  dim = wrap_dim(dim, t.ndim());
  const Tensor x = contiguous(t.detach()), idx = contiguous(index);
  const int64_t tdim = t.ndim() == 0 ? 1 : t.size(dim);
  check_index_range(idx, tdim, "index_select");
  Shape shape = t.shape();
  if (t.ndim() > 0) shape[dim] = idx.numel();
  Tensor out = empty(shape, t.dtype());
  const Around a = around(t.shape(), dim);
  dispatch_all(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::index_select<T>(x.data<T>(), a.outer, a.size, a.inner, idx.data<int64_t>(), idx.numel(), out.data<T>());
  });
  if (needs_grad(t)) {  // rows picked k times receive k gradients
    attach_grad_fn(out, "IndexSelectBackward", {t}, [shape = t.shape(), dim, si = SavedTensor(idx), a](const Tensor& g) {
      Tensor gx = zeros(shape, g.dtype()), gc = contiguous(g);
      dispatch_float(g.dtype(), "index_select backward", [&](auto tag) {
        using T = decltype(tag);
        kernels::index_add<T>(gx.data<T>(), a.outer, a.size, a.inner, si.get().data<int64_t>(), si.get().numel(),
                              gc.data<T>(), -1);
      });
      return std::vector<Tensor>{gx};
    });
  }
  return out;
}

namespace {

// Shared checks of gather and scatter_add: int64 index of the same rank as `t`, no larger than
// `t` outside `dim` (nor than `src` anywhere, when given), values in range along `dim`.
Tensor checked_index(const Tensor& t, int64_t dim, const Tensor& index, const Tensor* src, const char* op) {
  check_index_dtype(index, op);
  PYSEQ_CHECK(index.ndim() == t.ndim(), ValueError, op, ": index must have the same number of dimensions as the input (",
              t.ndim(), "), got index shape ", index.shape(), " for input shape ", t.shape());
  for (int64_t d = 0; d < t.ndim(); ++d) {
    PYSEQ_CHECK(d == dim || index.shape()[d] <= t.shape()[d], ValueError, op, ": index shape ", index.shape(),
                " is larger than the input shape ", t.shape(), " at dimension ", d);
    PYSEQ_CHECK(!src || index.shape()[d] <= src->shape()[d], ValueError, op, ": index shape ", index.shape(),
                " is larger than the source shape ", src->shape(), " at dimension ", d);
  }
  Tensor idx = contiguous(index);
  check_index_range(idx, t.ndim() == 0 ? 1 : t.shape()[dim], op);
  return idx;
}

}  // namespace

Tensor gather(const Tensor& t, int64_t dim, const Tensor& index) {
  dim = wrap_dim(dim, t.ndim());
  const Tensor idx = checked_index(t, dim, index, nullptr, "gather");
  Tensor out = empty(idx.shape(), t.dtype());
  dispatch_all(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::gather<T>(idx.shape(), dim, idx.data<int64_t>(), t.data<T>(), t.strides(), out.data<T>());
  });
  if (needs_grad(t)) {
    attach_grad_fn(out, "GatherBackward", {t}, [shape = t.shape(), dim, si = SavedTensor(idx)](const Tensor& g) {
      return std::vector<Tensor>{scatter_add(zeros(shape, g.dtype()), dim, si.get(), g)};
    });
  }
  return out;
}

Tensor scatter_add(const Tensor& t, int64_t dim, const Tensor& index, const Tensor& src) {
  dim = wrap_dim(dim, t.ndim());
  PYSEQ_CHECK(src.dtype() == t.dtype(), TypeError, "scatter_add: expected src to have the input's dtype ", t.dtype(),
              ", got ", src.dtype());
  PYSEQ_CHECK(src.ndim() == t.ndim(), ValueError, "scatter_add: src must have the same number of dimensions as the input (",
              t.ndim(), "), got src shape ", src.shape());
  const Tensor idx = checked_index(t, dim, index, &src, "scatter_add");
  Tensor out;
  {
    NoGradGuard no_grad;
    out = clone(t);
  }
  dispatch_all(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::scatter_add<T>(idx.shape(), dim, idx.data<int64_t>(), src.data<T>(), src.strides(), out.data<T>(),
                            out.strides());
  });
  if (needs_grad(t, src)) {
    // d out / d t = identity; d out / d src[p] = g[p'] (gather), zero where the index does not reach.
    const bool need_src = src.requires_grad();
    attach_grad_fn(out, "ScatterAddBackward", {t, src},
                   [dim, need_src, si = SavedTensor(idx), src_shape = src.shape()](const Tensor& g) {
                     Tensor gs;
                     if (need_src) {
                       Tensor picked = gather(g, dim, si.get());  // the index's shape
                       if (picked.shape() == src_shape) {
                         gs = picked;
                       } else {  // the part of src the index does not reach gets no gradient
                         gs = zeros(src_shape, g.dtype());
                         Tensor reached = gs;
                         for (int64_t d = 0; d < gs.ndim(); ++d) reached = narrow(reached, d, 0, picked.shape()[d]);
                         copy_(reached, picked);
                       }
                     }
                     return std::vector<Tensor>{g, gs};
                   });
  }
  return out;
}

Tensor embedding(const Tensor& weight, const Tensor& indices, int64_t padding_idx) {
  PYSEQ_CHECK(weight.ndim() == 2, ValueError, "embedding: expected a 2-d weight (num_embeddings, dim), got shape ",
              weight.shape());
  check_index_dtype(indices, "embedding");
  const int64_t V = weight.shape()[0], D = weight.shape()[1];
  const Tensor idx = contiguous(indices), w = contiguous(weight.detach());
  check_index_range(idx, V, "embedding");
  Shape shape = indices.shape();
  shape.push_back(D);
  Tensor out = empty(shape, weight.dtype());  // (*, D)
  dispatch_all(weight.dtype(), [&](auto tag) {
    using T = decltype(tag);
    kernels::index_select<T>(w.data<T>(), 1, V, D, idx.data<int64_t>(), idx.numel(), out.data<T>());
  });
  if (needs_grad(weight)) {  // rows add up the gradients of every position that looked them up
    attach_grad_fn(out, "EmbeddingBackward", {weight},
                   [V, D, padding_idx, si = SavedTensor(idx)](const Tensor& g) {
                     Tensor gw = zeros({V, D}, g.dtype()), gc = contiguous(g);
                     dispatch_float(g.dtype(), "embedding backward", [&](auto tag) {
                       using T = decltype(tag);
                       kernels::index_add<T>(gw.data<T>(), 1, V, D, si.get().data<int64_t>(), si.get().numel(),
                                             gc.data<T>(), padding_idx);
                     });
                     return std::vector<Tensor>{gw};
                   });
  }
  return out;
}

Tensor one_hot(const Tensor& indices, int64_t num_classes) {
  check_index_dtype(indices, "one_hot");
  const Tensor idx = contiguous(indices);
  const int64_t* p = idx.data<int64_t>();
  if (num_classes < 0) {
    PYSEQ_CHECK(idx.numel() > 0, ValueError, "one_hot: cannot infer num_classes from an empty tensor");
    num_classes = *std::max_element(p, p + idx.numel()) + 1;
  }
  check_index_range(idx, num_classes, "one_hot");
  Shape shape = indices.shape();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, DType::Int64);
  int64_t* o = out.data<int64_t>();
  for (int64_t i = 0; i < idx.numel(); ++i) o[i * num_classes + p[i]] = 1;
  return out;
}

}  // namespace pyseq
