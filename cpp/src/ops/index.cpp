// Joining, splitting and indexing: cat, stack, split, chunk, index_select, gather, scatter_add,
// embedding, one_hot.
#include <algorithm>

#include "../kernels/cpu/index.h"
#include "dispatch.h"
#include "internal.h"

namespace pyseq {
namespace {

void check_index_dtype(const Tensor& index, const char* op) {
  PYSEQ_CHECK(index.dtype() == DType::Int64, TypeError, op, ": expected an int64 index tensor, got ", index.dtype());
}

// Every value of `index` must lie in [0, size); IndexError names the first that does not.
void check_index_range(const Tensor& index, int64_t size, const char* op) {
  int64_t bad = -1;  // position of the first index outside [0, size)
  PYSEQ_DISPATCH(ALL, index.device(), DType::Int64, op, {
    bad = dev::find_out_of_range(index.data<int64_t>(), index.numel(), size);  // index is contiguous
  });
  PYSEQ_CHECK(bad < 0, IndexError, op, ": index ", bad < 0 ? 0 : index.data<int64_t>()[bad],
              " is out of range for a dimension of size ", size);
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

// Each input's gradient is its slice of the output's gradient along dim.
struct CatBackward final : Node {
  int64_t dim;
  Shape sizes;  // each input's size along dim
  explicit CatBackward(int64_t dim) : Node("CatBackward"), dim(dim) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override { return split(grads[0], sizes, dim); }
};

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
    shape[dim] = size_add(shape[dim], t.shape()[dim], "cat", "the size of the result along dimension ", dim);
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
    auto node = std::make_shared<CatBackward>(dim);
    for (const Tensor& t : tensors) node->sizes.push_back(t.shape()[dim]);
    record(node, tensors, {out});
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
    total = size_add(total, s, "split", "the sum of sizes ", sizes);
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
  return split(t, std::max<int64_t>(1, size / chunks + (size % chunks != 0)), dim);  // ceil, without overflow
}

// index_select and embedding: rows picked k times receive k gradients (none for row `skip`).
struct IndexSelectBackward final : Node {
  Shape input_shape;  // (outer, size, inner) around the indexed dim
  Around around;
  SavedTensor index;  // (n,) int64, contiguous
  int64_t skip;       // a row that gets no gradient (embedding's padding_idx), -1 for none
  IndexSelectBackward(const char* name, Shape input_shape, Around around, const Tensor& index, int64_t skip)
      : Node(name), input_shape(std::move(input_shape)), around(around), index(index), skip(skip) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor& idx = index.get();
    Tensor gx = zeros(input_shape, grads[0].dtype()), g = contiguous(grads[0]);
    PYSEQ_DISPATCH(FLOAT, g.device(), g.dtype(), "index_select backward", {
      dev::index_add<T>(gx.data<T>(), around.outer, around.size, around.inner, idx.data<int64_t>(), idx.numel(),
                      g.data<T>(), skip);
    });
    return {gx};
  }
  void release() override { free_saved(index); }
};

Tensor index_select(const Tensor& t, int64_t dim, const Tensor& index) {
  check_index_dtype(index, "index_select");
  PYSEQ_CHECK(index.ndim() <= 1, ValueError, "index_select: expected a 0-d or 1-d index, got shape ", index.shape());
  dim = wrap_dim(dim, t.ndim());
  const Tensor x = contiguous(t.detach()), idx = contiguous(index);
  PYSEQ_CHECK(t.ndim() > 0 || idx.numel() == 1, IndexError,
              "index_select: an index into a 0-d tensor can have only 1 value, got ", idx.numel(), " value(s)");
  const int64_t tdim = t.ndim() == 0 ? 1 : t.size(dim);
  check_index_range(idx, tdim, "index_select");
  Shape shape = t.shape();
  if (t.ndim() > 0) shape[dim] = idx.numel();
  Tensor out = empty(shape, t.dtype());
  const Around a = around(t.shape(), dim);
  PYSEQ_DISPATCH(ALL, t.device(), t.dtype(), "index_select", {
    dev::index_select<T>(x.data<T>(), a.outer, a.size, a.inner, idx.data<int64_t>(), idx.numel(), out.data<T>());
  });
  if (needs_grad(t)) record(std::make_shared<IndexSelectBackward>("IndexSelectBackward", t.shape(), a, idx, -1), {t}, {out});
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

// Each gathered element's gradient is added back where it came from.
struct GatherBackward final : Node {
  Shape input_shape;
  int64_t dim;
  SavedTensor index;
  GatherBackward(Shape input_shape, int64_t dim, const Tensor& index)
      : Node("GatherBackward"), input_shape(std::move(input_shape)), dim(dim), index(index) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    return {scatter_add(zeros(input_shape, grads[0].dtype()), dim, index.get(), grads[0])};
  }
  void release() override { free_saved(index); }
};

Tensor gather(const Tensor& t, int64_t dim, const Tensor& index) {
  dim = wrap_dim(dim, t.ndim());
  const Tensor idx = checked_index(t, dim, index, nullptr, "gather");
  Tensor out = empty(idx.shape(), t.dtype());
  PYSEQ_DISPATCH(ALL, t.device(), t.dtype(), "gather", {
    dev::gather<T>(idx.shape(), dim, idx.data<int64_t>(), t.data<T>(), t.strides(), out.data<T>());
  });
  if (needs_grad(t)) record(std::make_shared<GatherBackward>(t.shape(), dim, idx), {t}, {out});
  return out;
}

// d out / d t = identity; d out / d src[p] = g[p'] (gather), zero where the index does not reach.
struct ScatterAddBackward final : Node {
  int64_t dim;
  bool need_src;
  SavedTensor index;
  Shape src_shape;
  ScatterAddBackward(int64_t dim, bool need_src, const Tensor& index, Shape src_shape)
      : Node("ScatterAddBackward"), dim(dim), need_src(need_src), index(index), src_shape(std::move(src_shape)) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    const Tensor& g = grads[0];
    Tensor gs;
    if (need_src) {
      Tensor picked = gather(g, dim, index.get());  // the index's shape
      if (picked.shape() == src_shape) {
        gs = picked;
      } else {  // the part of src the index does not reach gets no gradient
        gs = zeros(src_shape, g.dtype());
        Tensor reached = gs;
        for (int64_t d = 0; d < gs.ndim(); ++d) reached = narrow(reached, d, 0, picked.shape()[d]);
        copy_(reached, picked);
      }
    }
    return {g, gs};
  }
  void release() override { free_saved(index); }
};

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
  PYSEQ_DISPATCH(ALL, t.device(), t.dtype(), "scatter_add", {
    dev::scatter_add<T>(idx.shape(), dim, idx.data<int64_t>(), src.data<T>(), src.strides(), out.data<T>(),
                            out.strides());
  });
  if (needs_grad(t, src)) {
    // d out / d t = identity; d out / d src[p] = g[p'] (gather), zero where the index does not reach.
    record(std::make_shared<ScatterAddBackward>(dim, src.requires_grad(), idx, src.shape()), {t, src}, {out});
  }
  return out;
}

Tensor embedding(const Tensor& weight, const Tensor& indices, std::optional<int64_t> padding_idx) {
  PYSEQ_CHECK(weight.ndim() == 2, ValueError, "embedding: expected a 2-d weight (num_embeddings, dim), got shape ",
              weight.shape());
  const int64_t num_embeddings = weight.shape()[0];
  if (padding_idx) {
    PYSEQ_CHECK(*padding_idx >= -num_embeddings && *padding_idx < num_embeddings, IndexError, "embedding: padding_idx ",
                *padding_idx, " is out of range for ", num_embeddings, " embeddings");
    if (*padding_idx < 0) *padding_idx += num_embeddings;
  }
  check_index_dtype(indices, "embedding");
  const int64_t V = weight.shape()[0], D = weight.shape()[1];
  const Tensor idx = contiguous(indices), w = contiguous(weight.detach());
  check_index_range(idx, V, "embedding");
  Shape shape = indices.shape();
  shape.push_back(D);
  Tensor out = empty(shape, weight.dtype());  // (*, D)
  PYSEQ_DISPATCH(ALL, weight.device(), weight.dtype(), "embedding", {
    dev::index_select<T>(w.data<T>(), 1, V, D, idx.data<int64_t>(), idx.numel(), out.data<T>());
  });
  if (needs_grad(weight)) {  // rows add up the gradients of every position that looked them up
    auto node = std::make_shared<IndexSelectBackward>("EmbeddingBackward", weight.shape(), Around{1, V, D}, idx,
                                                             padding_idx.value_or(-1));
    record(node, {weight}, {out});
  }
  return out;
}

Tensor one_hot(const Tensor& indices, int64_t num_classes) {
  check_index_dtype(indices, "one_hot");
  const Tensor idx = contiguous(indices);
  PYSEQ_CHECK(num_classes >= -1, ValueError, "one_hot: num_classes must be -1 (inferred from the indices) or at least 0, got ",
              num_classes);
  if (num_classes == -1) {
    PYSEQ_CHECK(idx.numel() > 0, ValueError, "one_hot: cannot infer num_classes from an empty tensor");
    num_classes = max(idx).item<int64_t>() + 1;
  }
  check_index_range(idx, num_classes, "one_hot");
  Shape shape = indices.shape();
  shape.push_back(num_classes);
  Tensor out = zeros(shape, DType::Int64);  // (*, num_classes)
  PYSEQ_DISPATCH(ALL, idx.device(), DType::Int64, "one_hot", {
    dev::one_hot(idx.data<int64_t>(), idx.numel(), num_classes, out.data<int64_t>());
  });
  return out;
}

}  // namespace pyseq
