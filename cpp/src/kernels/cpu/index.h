// Index kernels on raw pointers. Indices are already checked to be in range by the ops.
#pragma once

#include "../layer.h"  // kernels are called by ops only

#include <cstdint>

#include "pyseq/common.h"

namespace pyseq::kernels::cpu {

// x (outer, D, inner) contiguous; out (outer, n, inner)[o, j, :] = x[o, index[j], :].
template <class T>
void index_select(const T* x, int64_t outer, int64_t D, int64_t inner, const int64_t* index, int64_t n, T* out);

// dst (outer, D, inner)[o, index[j], :] += src (outer, n, inner)[o, j, :], skipping j where
// index[j] == skip (pass -1 to skip nothing). Both contiguous.
template <class T>
void index_add(T* dst, int64_t outer, int64_t D, int64_t inner, const int64_t* index, int64_t n, const T* src,
               int64_t skip);

// For every position p of a contiguous int64 `index` of `shape`, with p' = p but p'[dim] = index[p]:
//   gather:      out[p] = src[p']      (out contiguous, src with element strides src_strides)
//   scatter_add: dst[p'] += src[p]     (src and dst strided)
// The position of the first of index[0..n) outside [0, size) and not equal to *allowed (when given),
// or -1 when there is none.
int64_t find_out_of_range(const int64_t* index, int64_t n, int64_t size, const int64_t* allowed = nullptr);

// out (n, num_classes), zeroed by the caller: out[i, index[i]] = 1.
void one_hot(const int64_t* index, int64_t n, int64_t num_classes, int64_t* out);

template <class T>
void gather(const Shape& shape, int64_t dim, const int64_t* index, const T* src, const Shape& src_strides, T* out);
template <class T>
void scatter_add(const Shape& shape, int64_t dim, const int64_t* index, const T* src, const Shape& src_strides, T* dst,
                 const Shape& dst_strides);

}  // namespace pyseq::kernels::cpu
