// View ops: new shape/strides/offset over the same storage. Backward maps the gradient of the
// view back onto the input's shape.
#include <algorithm>
#include <numeric>
#include <optional>

#include "pyseq/autograd.h"
#include "pyseq/ops.h"

namespace pyseq {
namespace {

Tensor make_view(const Tensor& base, Shape shape, Shape strides, int64_t offset) {
  Tensor v = make_tensor(base.storage(), std::move(shape), std::move(strides), offset, base.dtype());
  v.impl()->is_view = true;
  return v;
}

// The gradient of a view that picks part of its input: zeros with `g` written into that part.
template <class PickFn>
Tensor scatter_into_zeros(const Tensor& g, const Shape& input_shape, const PickFn& pick) {
  Tensor z = zeros(input_shape, g.dtype());
  Tensor part = pick(z);
  copy_(part, g);
  return z;
}

// view, squeeze, unsqueeze: the gradient takes back the input's shape.
struct ReshapeBackward final : Node {
  Shape input_shape;
  ReshapeBackward(const char* name, Shape input_shape) : Node(name), input_shape(std::move(input_shape)) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override { return {reshape(grads[0], input_shape)}; }
};

Tensor reshape_backward_view(Tensor& out, const Tensor& t, const char* name) {
  if (needs_grad(t)) record(std::make_shared<ReshapeBackward>(name, t.shape()), {t}, {out});
  return out;
}

// Resolves one -1 in `shape` so that it holds `numel` elements.
Shape infer_shape(Shape shape, int64_t numel, const Shape& from) {
  int64_t known = 1, infer = -1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == -1) {
      PYSEQ_CHECK(infer < 0, ValueError, "only one dimension can be inferred (-1) in shape ", shape);
      infer = static_cast<int64_t>(d);
    } else {
      PYSEQ_CHECK(shape[d] >= 0, ValueError, "invalid shape dimension ", shape[d], " in ", shape);
      known = size_mul(known, shape[d], "view", "the number of elements of shape ", shape);
    }
  }
  if (infer >= 0) {
    PYSEQ_CHECK(known != 0 && numel % known == 0, ValueError, "shape ", shape, " is invalid for input of shape ",
                from, " (", numel, " elements)");
    shape[infer] = numel / known;
  }
  PYSEQ_CHECK(numel_of(shape) == numel, ValueError, "shape ", shape, " is invalid for input of shape ", from, " (",
              numel, " elements)");
  return shape;
}

// Strides that let `new_shape` view memory laid out as (old_shape, old_strides), if any exist:
// each run of input dims that is contiguous in memory may be regrouped freely.
std::optional<Shape> view_strides(const Shape& old_shape, const Shape& old_strides, const Shape& new_shape) {
  Shape strides(new_shape.size());
  if (old_shape.empty()) return Shape(new_shape.size(), 1);
  if (numel_of(old_shape) == 0) return contiguous_strides(new_shape);
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_stride = old_strides.back(), tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_shape[d];
    // End of a contiguous chunk of input dims: lay the matching output dims over it.
    if (d == 0 || (old_shape[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        strides[view_d] = view_numel * chunk_stride;
        view_numel *= new_shape[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_stride = old_strides[d - 1];
        tensor_numel = view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return strides;
}

}  // namespace

Tensor view(const Tensor& t, Shape shape) {
  shape = infer_shape(std::move(shape), t.numel(), t.shape());
  auto strides = view_strides(t.shape(), t.strides(), shape);
  PYSEQ_CHECK(strides, RuntimeError, "view size ", shape, " is not compatible with the input's shape ", t.shape(),
              " and strides ", t.strides(), " (at least one dimension spans across two contiguous subspaces); "
              "use reshape() instead");
  Tensor out = make_view(t, shape, *strides, t.offset());
  return reshape_backward_view(out, t, "ViewBackward");
}

Tensor reshape(const Tensor& t, Shape shape) {
  shape = infer_shape(std::move(shape), t.numel(), t.shape());
  if (view_strides(t.shape(), t.strides(), shape)) return view(t, shape);
  return view(contiguous(t), shape);
}

Tensor flatten(const Tensor& t, int64_t start_dim, int64_t end_dim) {
  if (t.ndim() == 0) return reshape(t, {1});
  start_dim = wrap_dim(start_dim, t.ndim());
  end_dim = wrap_dim(end_dim, t.ndim());
  PYSEQ_CHECK(start_dim <= end_dim, ValueError, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape shape(t.shape().begin(), t.shape().begin() + start_dim);
  int64_t merged = 1;
  for (int64_t d = start_dim; d <= end_dim; ++d) merged *= t.shape()[d];
  shape.push_back(merged);
  shape.insert(shape.end(), t.shape().begin() + end_dim + 1, t.shape().end());
  return reshape(t, shape);
}

struct TransposeBackward final : Node {
  int64_t dim0, dim1;
  TransposeBackward(int64_t dim0, int64_t dim1) : Node("TransposeBackward"), dim0(dim0), dim1(dim1) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override { return {transpose(grads[0], dim0, dim1)}; }
};

Tensor transpose(const Tensor& t, int64_t dim0, int64_t dim1) {
  dim0 = wrap_dim(dim0, t.ndim());
  dim1 = wrap_dim(dim1, t.ndim());
  Shape shape = t.shape(), strides = t.strides();
  if (t.ndim() > 0) {
    std::swap(shape[dim0], shape[dim1]);
    std::swap(strides[dim0], strides[dim1]);
  }
  Tensor out = make_view(t, shape, strides, t.offset());
  if (needs_grad(t)) record(std::make_shared<TransposeBackward>(dim0, dim1), {t}, {out});
  return out;
}

struct PermuteBackward final : Node {
  Shape inverse;  // the permutation that undoes the forward one
  explicit PermuteBackward(Shape inverse) : Node("PermuteBackward"), inverse(std::move(inverse)) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override { return {permute(grads[0], inverse)}; }
};

Tensor permute(const Tensor& t, const Shape& dims) {
  PYSEQ_CHECK(static_cast<int64_t>(dims.size()) == t.ndim(), ValueError, "permute: expected ", t.ndim(),
              " dims for a tensor of shape ", t.shape(), ", got ", dims);
  Shape shape(dims.size()), strides(dims.size()), inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], t.ndim());
    PYSEQ_CHECK(inverse[d] < 0, ValueError, "permute: dim ", d, " appears more than once in ", dims);
    inverse[d] = static_cast<int64_t>(i);
    shape[i] = t.shape()[d];
    strides[i] = t.strides()[d];
  }
  Tensor out = make_view(t, shape, strides, t.offset());
  if (needs_grad(t)) record(std::make_shared<PermuteBackward>(inverse), {t}, {out});
  return out;
}

Tensor squeeze(const Tensor& t) {
  Shape shape, strides;
  for (int64_t d = 0; d < t.ndim(); ++d) {
    if (t.shape()[d] == 1) continue;
    shape.push_back(t.shape()[d]);
    strides.push_back(t.strides()[d]);
  }
  Tensor out = make_view(t, shape, strides, t.offset());
  return reshape_backward_view(out, t, "SqueezeBackward");
}

Tensor squeeze(const Tensor& t, int64_t dim) {
  dim = wrap_dim(dim, t.ndim());
  Shape shape = t.shape(), strides = t.strides();
  if (t.ndim() > 0 && shape[dim] == 1) {
    shape.erase(shape.begin() + dim);
    strides.erase(strides.begin() + dim);
  }
  Tensor out = make_view(t, shape, strides, t.offset());
  return reshape_backward_view(out, t, "SqueezeBackward");
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  dim = wrap_dim(dim, t.ndim() + 1);
  Shape shape = t.shape(), strides = t.strides();
  int64_t stride = dim < t.ndim() ? strides[dim] * shape[dim] : 1;
  shape.insert(shape.begin() + dim, 1);
  strides.insert(strides.begin() + dim, stride);
  Tensor out = make_view(t, shape, strides, t.offset());
  return reshape_backward_view(out, t, "UnsqueezeBackward");
}

struct ExpandBackward final : Node {
  Shape input_shape;
  explicit ExpandBackward(Shape input_shape) : Node("ExpandBackward"), input_shape(std::move(input_shape)) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override { return {sum_to(grads[0], input_shape)}; }
};

Tensor expand(const Tensor& t, const Shape& shape) {
  const int64_t n = static_cast<int64_t>(shape.size()), lead = n - t.ndim();
  PYSEQ_CHECK(lead >= 0, ValueError, "expand: the number of sizes provided (", n,
              ") must be greater or equal to the number of dimensions in the tensor (", t.ndim(), ")");
  Shape out_shape(n), strides(n);
  for (int64_t d = 0; d < n; ++d) {
    if (d < lead) {
      PYSEQ_CHECK(shape[d] >= 0, ValueError, "expand: size -1 is not allowed in a leading, non-existing dimension (",
                  shape, ")");
      out_shape[d] = shape[d];
      strides[d] = 0;
      continue;
    }
    int64_t have = t.shape()[d - lead], want = shape[d] == -1 ? have : shape[d];
    PYSEQ_CHECK(want >= 0, ValueError, "expand: invalid size ", shape[d], " at dimension ", d, " in ", shape,
                " (only -1 may be negative)");
    PYSEQ_CHECK(have == want || have == 1, ValueError, "expand: the expanded size of the tensor (", want,
                ") must match the existing size (", have, ") at non-singleton dimension ", d, ". Target sizes: ", shape,
                ". Tensor sizes: ", t.shape());
    out_shape[d] = want;
    strides[d] = have == want ? t.strides()[d - lead] : 0;
  }
  checked_numel(out_shape, "expand");
  Tensor out = make_view(t, out_shape, strides, t.offset());
  if (needs_grad(t)) record(std::make_shared<ExpandBackward>(t.shape()), {t}, {out});
  return out;
}

struct SliceBackward final : Node {
  Shape input_shape;
  int64_t dim, start, end, step;
  SliceBackward(Shape input_shape, int64_t dim, int64_t start, int64_t end, int64_t step)
      : Node("SliceBackward"), input_shape(std::move(input_shape)), dim(dim), start(start), end(end), step(step) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    return {scatter_into_zeros(grads[0], input_shape, [&](const Tensor& z) { return slice(z, dim, start, end, step); })};
  }
};

Tensor slice(const Tensor& t, int64_t dim, int64_t start, int64_t end, int64_t step) {
  PYSEQ_CHECK(t.ndim() > 0, IndexError, "slice: cannot slice a 0-d tensor");
  dim = wrap_dim(dim, t.ndim());
  PYSEQ_CHECK(step > 0, ValueError, "slice step must be positive, got ", step);
  const int64_t size = t.shape()[dim];
  // Python semantics: negative bounds count from the end, then clamp to [0, size].
  auto clamp_bound = [size](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + size : i, 0, size); };
  start = clamp_bound(start);
  end = std::max(start, clamp_bound(end));
  step = std::min(step, std::max<int64_t>(end - start, 1));  // a longer step picks the same (one) element
  Shape shape = t.shape(), strides = t.strides();
  shape[dim] = (end - start + step - 1) / step;
  strides[dim] *= step;
  Tensor out = make_view(t, shape, strides, t.offset() + start * t.strides()[dim]);
  if (needs_grad(t)) record(std::make_shared<SliceBackward>(t.shape(), dim, start, end, step), {t}, {out});
  return out;
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  PYSEQ_CHECK(t.ndim() > 0, IndexError, "narrow: cannot narrow a 0-d tensor");
  dim = wrap_dim(dim, t.ndim());
  const int64_t size = t.shape()[dim];
  PYSEQ_CHECK(start >= -size && start <= size, IndexError, "narrow: start ", start, " is out of range for dimension ",
              dim, " of size ", size);
  if (start < 0) start += size;
  PYSEQ_CHECK(length >= 0 && length <= size - start, IndexError, "narrow: start (", start, ") + length (", length,
              ") exceeds dimension ", dim, " of size ", size);
  return slice(t, dim, start, start + length, 1);
}

struct SelectBackward final : Node {
  Shape input_shape;
  int64_t dim, index;
  SelectBackward(Shape input_shape, int64_t dim, int64_t index)
      : Node("SelectBackward"), input_shape(std::move(input_shape)), dim(dim), index(index) {}
  std::vector<Tensor> backward(const std::vector<Tensor>& grads) override {
    return {scatter_into_zeros(grads[0], input_shape, [&](const Tensor& z) { return select(z, dim, index); })};
  }
};

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  PYSEQ_CHECK(t.ndim() > 0, IndexError, "invalid index of a 0-d tensor");
  dim = wrap_dim(dim, t.ndim());
  const int64_t size = t.shape()[dim];
  PYSEQ_CHECK(index >= -size && index < size, IndexError, "index ", index, " is out of bounds for dimension ", dim,
              " with size ", size);
  if (index < 0) index += size;
  Shape shape = t.shape(), strides = t.strides();
  shape.erase(shape.begin() + dim);
  strides.erase(strides.begin() + dim);
  Tensor out = make_view(t, shape, strides, t.offset() + index * t.strides()[dim]);
  if (needs_grad(t)) record(std::make_shared<SelectBackward>(t.shape(), dim, index), {t}, {out});
  return out;
}

Tensor index(const Tensor& t, const std::vector<IndexItem>& items) {
  using Kind = IndexItem::Kind;
  int64_t consumed = 0, ellipses = 0;
  for (const IndexItem& it : items) {
    if (it.kind == Kind::Ellipsis) ++ellipses;
    else if (it.kind != Kind::NewAxis) ++consumed;
  }
  PYSEQ_CHECK(ellipses <= 1, IndexError, "an index can only have a single ellipsis ('...')");
  PYSEQ_CHECK(consumed <= t.ndim(), IndexError, "too many indices for tensor of dimension ", t.ndim(), " (got ",
              consumed, ")");
  Tensor out = t;
  int64_t dim = 0, input_dim = 0;  // position in `out`, and in `t` for error messages
  for (const IndexItem& it : items) {
    switch (it.kind) {
      case Kind::NewAxis:
        out = unsqueeze(out, dim++);
        break;
      case Kind::Ellipsis:
        dim += t.ndim() - consumed;
        input_dim += t.ndim() - consumed;
        break;
      case Kind::Int: {
        const int64_t size = out.shape()[dim];
        PYSEQ_CHECK(it.index >= -size && it.index < size, IndexError, "index ", it.index,
                    " is out of bounds for dimension ", input_dim, " with size ", size);
        out = select(out, dim, it.index);
        ++input_dim;
        break;
      }
      case Kind::Slice:
        out = slice(out, dim++, it.start, it.stop, it.step);
        ++input_dim;
        break;
      case Kind::Tensor:
        PYSEQ_CHECK(it.tensor.dtype() == DType::Int64 && it.tensor.ndim() == 1, TypeError,
                    "tensor indices must be 1-d int64 tensors, got dtype ", it.tensor.dtype(), " and shape ",
                    it.tensor.shape());
        out = index_select(out, dim++, it.tensor);
        ++input_dim;
        break;
    }
  }
  return out;
}

}  // namespace pyseq
