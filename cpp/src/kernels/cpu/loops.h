// Elementwise loops over N broadcast, strided operands of possibly different dtypes.
//
// StridedLoop turns (shape, per-operand element strides) into the fewest dims possible
// (size-1 dims dropped, mergeable neighbours merged), then walks them as rows: the innermost dim
// is handed to a row function as (pointers, byte strides, length), where the common case of
// unit strides is a plain loop the compiler vectorises. Rows are split across threads.
#pragma once

#include "../layer.h"  // kernels are called by ops only

#include <array>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "pyseq/parallel.h"
#include "pyseq/tensor.h"

namespace pyseq::kernels::cpu {

// Work below this many elements stays on one thread.
constexpr int64_t kGrain = 32768;

// Element strides of `t` when broadcast to `shape` (0 along broadcast dims).
inline Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  Shape out(shape.size(), 0);
  const int64_t lead = static_cast<int64_t>(shape.size()) - t.ndim();
  for (int64_t d = 0; d < t.ndim(); ++d)
    out[lead + d] = t.shape()[d] == 1 ? 0 : t.strides()[d];
  return out;
}

template <size_t N>
struct StridedLoop {
  Shape sizes;                     // coalesced dims, outermost first
  std::array<Shape, N> strides;    // bytes, per operand, per dim
  std::array<char*, N> base;

  // `ops[k]` is broadcast to `shape`; operand 0 is usually the output.
  StridedLoop(const Shape& shape, const std::array<Tensor, N>& ops) {
    std::array<Shape, N> elem;
    for (size_t k = 0; k < N; ++k) {
      elem[k] = broadcast_strides(ops[k], shape);
      base[k] = static_cast<char*>(ops[k].raw_data());
    }
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] == 1) continue;
      bool merge = !sizes.empty();
      for (size_t k = 0; k < N && merge; ++k)
        merge = strides[k].back() == elem[k][d] * shape[d] * static_cast<int64_t>(itemsize(ops[k].dtype()));
      for (size_t k = 0; k < N; ++k) {
        int64_t s = elem[k][d] * static_cast<int64_t>(itemsize(ops[k].dtype()));
        if (merge) strides[k].back() = s;
        else strides[k].push_back(s);
      }
      if (merge) sizes.back() *= shape[d];
      else sizes.push_back(shape[d]);
    }
    if (sizes.empty()) {  // a single element
      sizes.push_back(1);
      for (auto& s : strides) s.push_back(0);
    }
  }

  // row(ptrs, byte_strides, n) for every innermost row; rows run in parallel for large loops.
  template <class RowFn>
  void run(const RowFn& row) const {
    const int64_t inner = sizes.back();
    const int64_t outer_dims = static_cast<int64_t>(sizes.size()) - 1;
    int64_t rows = 1;
    for (int64_t d = 0; d < outer_dims; ++d) rows *= sizes[d];
    std::array<int64_t, N> inner_strides;
    for (size_t k = 0; k < N; ++k) inner_strides[k] = strides[k].back();
    if (inner == 0 || rows == 0) return;
    const int64_t grain = std::max<int64_t>(1, kGrain / inner);
    parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
      // Position of row `begin` as a multi-index over the outer dims, then step it like an odometer.
      Shape idx(outer_dims, 0);
      std::array<char*, N> ptrs = base;
      for (int64_t d = outer_dims - 1, rem = begin; d >= 0; --d) {
        idx[d] = rem % sizes[d];
        rem /= sizes[d];
        for (size_t k = 0; k < N; ++k) ptrs[k] += idx[d] * strides[k][d];
      }
      for (int64_t r = begin; r < end; ++r) {
        row(ptrs, inner_strides, inner);
        for (int64_t d = outer_dims - 1; d >= 0; --d) {
          for (size_t k = 0; k < N; ++k) ptrs[k] += strides[k][d];
          if (++idx[d] < sizes[d]) break;
          for (size_t k = 0; k < N; ++k) ptrs[k] -= sizes[d] * strides[k][d];
          idx[d] = 0;
        }
      }
    });
  }
};

// out[i] = f(a[i]); `a` broadcasts to out's shape.
template <class Out, class A, class F>
void map1(const Tensor& out, const Tensor& a, const F& f) {
  StridedLoop<2>(out.shape(), {out, a}).run([&](const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) {
    if (s[0] == sizeof(Out) && s[1] == sizeof(A)) {
      Out* o = reinterpret_cast<Out*>(p[0]);
      const A* x = reinterpret_cast<const A*>(p[1]);
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<Out*>(p[0] + i * s[0]) = f(*reinterpret_cast<const A*>(p[1] + i * s[1]));
    }
  });
}

// out[i] = f(a[i], b[i]); `a` and `b` broadcast to out's shape.
template <class Out, class A, class B, class F>
void map2(const Tensor& out, const Tensor& a, const Tensor& b, const F& f) {
  StridedLoop<3>(out.shape(), {out, a, b}).run([&](const std::array<char*, 3>& p, const std::array<int64_t, 3>& s, int64_t n) {
    Out* o = reinterpret_cast<Out*>(p[0]);
    const A* x = reinterpret_cast<const A*>(p[1]);
    const B* y = reinterpret_cast<const B*>(p[2]);
    if (s[0] == sizeof(Out) && s[1] == sizeof(A) && s[2] == sizeof(B)) {
      if constexpr (std::is_same_v<Out, A>) {
        if (reinterpret_cast<const A*>(o) == x) {  // in place (x += y): one pointer, so no overlap check
          for (int64_t i = 0; i < n; ++i) o[i] = f(o[i], y[i]);
          return;
        }
      }
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i]);
    } else if (s[0] == sizeof(Out) && s[1] == sizeof(A) && s[2] == 0) {
      const B yv = *y;
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], yv);
    } else if (s[0] == sizeof(Out) && s[1] == 0 && s[2] == sizeof(B)) {
      const A xv = *x;
      for (int64_t i = 0; i < n; ++i) o[i] = f(xv, y[i]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<Out*>(p[0] + i * s[0]) =
            f(*reinterpret_cast<const A*>(p[1] + i * s[1]), *reinterpret_cast<const B*>(p[2] + i * s[2]));
    }
  });
}

// out[i] = f(a[i], b[i], c[i]).
template <class Out, class A, class B, class C, class F>
void map3(const Tensor& out, const Tensor& a, const Tensor& b, const Tensor& c, const F& f) {
  StridedLoop<4>(out.shape(), {out, a, b, c}).run([&](const std::array<char*, 4>& p, const std::array<int64_t, 4>& s, int64_t n) {
    if (s[0] == sizeof(Out) && s[1] == sizeof(A) && s[2] == sizeof(B) && s[3] == sizeof(C)) {
      Out* o = reinterpret_cast<Out*>(p[0]);
      const A* x = reinterpret_cast<const A*>(p[1]);
      const B* y = reinterpret_cast<const B*>(p[2]);
      const C* z = reinterpret_cast<const C*>(p[3]);
      for (int64_t i = 0; i < n; ++i) o[i] = f(x[i], y[i], z[i]);
    } else {
      for (int64_t i = 0; i < n; ++i)
        *reinterpret_cast<Out*>(p[0] + i * s[0]) =
            f(*reinterpret_cast<const A*>(p[1] + i * s[1]), *reinterpret_cast<const B*>(p[2] + i * s[2]),
              *reinterpret_cast<const C*>(p[3] + i * s[3]));
    }
  });
}

}  // namespace pyseq::kernels::cpu
