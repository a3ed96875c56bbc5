// Helpers shared by the op files (not part of the public API).
#pragma once

#include <vector>

#include "../kernels/cpu/conv.h"
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

// The checks 1-d convolution and pooling share (nn.cpp): an input (C, L) or (N, C, L), a window that
// fits, and its output length (L + 2 padding - dilation (kernel - 1) - 1) / stride + 1 >= 1, every
// size checked for overflow. The caller checks that stride and dilation are positive.
kernels::cpu::Window1d window_1d(const char* op, const Tensor& x, int64_t kernel, int64_t stride, int64_t padding,
                                 int64_t dilation);

}  // namespace pyseq::detail
