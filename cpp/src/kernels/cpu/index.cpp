#include "index.h"

#include <algorithm>
#include <cstring>

#include "pyseq/parallel.h"

namespace pyseq::kernels::cpu {

template <class T>
void index_select(const T* x, int64_t outer, int64_t D, int64_t inner, const int64_t* index, int64_t n, T* out) {
  parallel_for(0, outer * n, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const int64_t o = r / n, j = r % n;
      std::memcpy(out + r * inner, x + (o * D + index[j]) * inner, sizeof(T) * inner);
    }
  });
}

template <class T>
void index_add(T* dst, int64_t outer, int64_t D, int64_t inner, const int64_t* index, int64_t n, const T* src,
               int64_t skip) {
  // Threads split the outer dim only: two j's may hit the same row of dst.
  parallel_for(0, outer, std::max<int64_t>(1, 16384 / std::max<int64_t>(n * inner, 1)), [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o)
      for (int64_t j = 0; j < n; ++j) {
        if (index[j] == skip) continue;
        T* d = dst + (o * D + index[j]) * inner;
        const T* s = src + (o * n + j) * inner;
        for (int64_t i = 0; i < inner; ++i) d[i] += s[i];
      }
  });
}

int64_t find_out_of_range(const int64_t* index, int64_t n, int64_t size, const int64_t* allowed) {
  for (int64_t i = 0; i < n; ++i)
    if ((index[i] < 0 || index[i] >= size) && !(allowed && index[i] == *allowed)) return i;
  return -1;
}

void one_hot(const int64_t* index, int64_t n, int64_t num_classes, int64_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i * num_classes + index[i]] = 1;
}

namespace {
// Calls f(position's linear index, multi-index) for every position of `shape`, in order.
template <class F>
void for_each_position(const Shape& shape, const F& f) {
  const int64_t total = numel_of(shape), nd = static_cast<int64_t>(shape.size());
  Shape idx(nd, 0);
  for (int64_t i = 0; i < total; ++i) {
    f(i, idx);
    for (int64_t d = nd - 1; d >= 0; --d) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}
}  // namespace

template <class T>
void gather(const Shape& shape, int64_t dim, const int64_t* index, const T* src, const Shape& src_strides, T* out) {
  for_each_position(shape, [&](int64_t i, const Shape& p) {
    int64_t off = 0;
    for (size_t d = 0; d < p.size(); ++d) off += (static_cast<int64_t>(d) == dim ? index[i] : p[d]) * src_strides[d];
    out[i] = src[off];
  });
}

template <class T>
void scatter_add(const Shape& shape, int64_t dim, const int64_t* index, const T* src, const Shape& src_strides, T* dst,
                 const Shape& dst_strides) {
  for_each_position(shape, [&](int64_t i, const Shape& p) {
    int64_t s = 0, d_off = 0;
    for (size_t d = 0; d < p.size(); ++d) {
      s += p[d] * src_strides[d];
      d_off += (static_cast<int64_t>(d) == dim ? index[i] : p[d]) * dst_strides[d];
    }
    dst[d_off] += src[s];
  });
}

#define PYSEQ_INSTANTIATE(T)                                                                              \
  template void index_select<T>(const T*, int64_t, int64_t, int64_t, const int64_t*, int64_t, T*);       \
  template void index_add<T>(T*, int64_t, int64_t, int64_t, const int64_t*, int64_t, const T*, int64_t); \
  template void gather<T>(const Shape&, int64_t, const int64_t*, const T*, const Shape&, T*);            \
  template void scatter_add<T>(const Shape&, int64_t, const int64_t*, const T*, const Shape&, T*, const Shape&);
PYSEQ_INSTANTIATE(float)
PYSEQ_INSTANTIATE(double)
PYSEQ_INSTANTIATE(int64_t)
PYSEQ_INSTANTIATE(bool)

}  // namespace pyseq::kernels::cpu
