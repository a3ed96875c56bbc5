// Helpers shared by the op files (not part of the public API).
#pragma once

#include <vector>

#include "pyseq/autograd.h"
#include "pyseq/ops.h"

namespace pyseq::detail {

// `t` converted to `dtype` without recording a graph node (returns `t` when it already matches).
Tensor cast(const Tensor& t, DType dtype);

// Raises when an in-place write to `self` would break autograd: a leaf that requires grad, or a
// view whose gradient cannot be routed to its base. `others` are the op's other inputs.
void check_inplace(const Tensor& self, const char* op, const std::vector<Tensor>& others = {});

// The reduced dims of a reduction over `dims` (empty: all), wrapped, sorted and checked.
std::vector<int64_t> reduction_dims(const Tensor& t, const Shape& dims, const char* op);
// `t`'s shape with the `dims` set to 1 (the keepdim shape).
Shape keepdim_shape(const Shape& shape, const std::vector<int64_t>& dims);

}  // namespace pyseq::detail
