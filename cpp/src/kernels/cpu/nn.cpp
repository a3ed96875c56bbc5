#include "nn.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <type_traits>
#include <vector>

#include "pyseq/parallel.h"
#include "vecmath.h"

namespace pyseq::kernels::cpu {
namespace {

// The row kernels for float are vectorised per instruction set (vecmath.h); these are the
// portable ones, used for double.
template <class T>
void layer_norm_row(const T* x, const T* w, const T* b, int64_t D, double eps, T* y, T* mean, T* rstd) {
  double s = 0;
  for (int64_t i = 0; i < D; ++i) s += x[i];
  const double mu = s / static_cast<double>(D);
  double ss = 0;  // two passes: no cancellation for rows with a large mean
  for (int64_t i = 0; i < D; ++i) ss += (x[i] - mu) * (x[i] - mu);
  const T m = static_cast<T>(mu), rs = static_cast<T>(1.0 / std::sqrt(ss / static_cast<double>(D) + eps));
  for (int64_t i = 0; i < D; ++i) y[i] = ((x[i] - m) * rs) * (w ? w[i] : T(1)) + (b ? b[i] : T(0));
  *mean = m;
  *rstd = rs;
}

template <class T>
void layer_norm_backward_row(const T* g, const T* x, const T* w, int64_t D, T m, T rs, T* gx, T* gw, T* gb) {
  double sum_gw = 0, sum_gw_xhat = 0;
  for (int64_t i = 0; i < D; ++i) {
    const T gwi = w ? g[i] * w[i] : g[i];
    sum_gw += gwi;
    sum_gw_xhat += gwi * ((x[i] - m) * rs);
  }
  const T a = static_cast<T>(sum_gw / D), c = static_cast<T>(sum_gw_xhat / D);
  for (int64_t i = 0; i < D; ++i) {
    const T xhat = (x[i] - m) * rs, gwi = w ? g[i] * w[i] : g[i];
    gx[i] = rs * (gwi - a - xhat * c);
    if (gw) gw[i] += g[i] * xhat;
    if (gb) gb[i] += g[i];
  }
}

}  // namespace

template <class T>
void layer_norm_forward(const T* x, const T* w, const T* b, int64_t rows, int64_t D, double eps, T* y, T* mean,
                        T* rstd) {
  parallel_for(0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(D, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      if constexpr (std::is_same_v<T, float>)
        vecmath().layer_norm_row(x + r * D, w, b, D, eps, y + r * D, mean + r, rstd + r);
      else
        layer_norm_row(x + r * D, w, b, D, eps, y + r * D, mean + r, rstd + r);
    }
  });
}

template <class T>
void layer_norm_backward(const T* g, const T* x, const T* w, const T* mean, const T* rstd, int64_t rows, int64_t D,
                         T* gx, T* gw, T* gb) {
  // Threads take row ranges, each adding its rows' parameter gradients into partial sums of its
  // own, which are added into gw, gb at the end: one pass over g and x.
  const int64_t parts = rows * D < 16384 ? 1 : std::min<int64_t>(get_num_threads(), rows);
  std::vector<T> partial(gw || gb ? static_cast<size_t>(parts * 2 * D) : 0, T(0));
  parallel_for(0, parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      T* pgw = gw ? partial.data() + p * 2 * D : nullptr;
      T* pgb = gb ? partial.data() + p * 2 * D + D : nullptr;
      for (int64_t r = rows * p / parts; r < rows * (p + 1) / parts; ++r) {
        if constexpr (std::is_same_v<T, float>)
          vecmath().layer_norm_backward_row(g + r * D, x + r * D, w, D, mean[r], rstd[r], gx + r * D, pgw, pgb);
        else
          layer_norm_backward_row(g + r * D, x + r * D, w, D, mean[r], rstd[r], gx + r * D, pgw, pgb);
      }
    }
  });
  for (int64_t p = 0; p < parts && (gw || gb); ++p)
    for (int64_t i = 0; i < D; ++i) {
      if (gw) gw[i] += partial[p * 2 * D + i];
      if (gb) gb[i] += partial[p * 2 * D + D + i];
    }
}

namespace {
// The outputs l of window tap k that read inside the input: [first, last) (input_at is
// increasing in l), so the edges are zeros and the middle a plain (strided) copy.
std::pair<int64_t, int64_t> inside(const Window1d& w, int64_t k) {
  const int64_t start = w.input_at(0, k);  // input position of output 0
  const int64_t first = start >= 0 ? 0 : std::min(w.out_length, (-start + w.stride - 1) / w.stride);
  const int64_t last = start >= w.length ? 0 : std::min(w.out_length, (w.length - start + w.stride - 1) / w.stride);
  return {first, std::max(first, last)};
}
}  // namespace

template <class T>
void im2col(const T* x, int64_t channels, const Window1d& w, T* cols, int64_t ld) {
  for (int64_t k = 0; k < w.kernel; ++k) {
    const auto [first, last] = inside(w, k);
    const int64_t start = w.input_at(0, k);
    for (int64_t c = 0; c < channels; ++c) {
      T* row = cols + (c * w.kernel + k) * ld;
      const T* in = x + c * w.length;  // in[start + l * stride] is x[c, input_at(l, k)]
      std::fill(row, row + first, T(0));
      if (w.stride == 1) std::copy(in + start + first, in + start + last, row + first);
      else
        for (int64_t l = first; l < last; ++l) row[l] = in[start + l * w.stride];
      std::fill(row + last, row + w.out_length, T(0));
    }
  }
}

template <class T>
void col2im_add(const T* cols, int64_t ld, int64_t channels, const Window1d& w, T* gx) {
  for (int64_t k = 0; k < w.kernel; ++k) {
    const auto [first, last] = inside(w, k);
    const int64_t start = w.input_at(0, k);
    for (int64_t c = 0; c < channels; ++c) {
      const T* row = cols + (c * w.kernel + k) * ld;
      T* out = gx + c * w.length;
      for (int64_t l = first; l < last; ++l) out[start + l * w.stride] += row[l];
    }
  }
}

template <class T>
void max_pool1d_forward(const T* x, int64_t rows, const Window1d& w, T* y, int64_t* index) {
  parallel_for(0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(w.length, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * w.length;
      for (int64_t l = 0; l < w.out_length; ++l) {
        T best = -std::numeric_limits<T>::infinity();
        int64_t at_best = -1;
        for (int64_t k = 0; k < w.kernel; ++k) {
          const int64_t at = w.input_at(l, k);
          if (at < 0 || at >= w.length) continue;
          if (at_best < 0 || xr[at] > best || std::isnan(xr[at])) {
            best = xr[at];
            at_best = at;
            if (std::isnan(best)) break;  // NaN wins, as in PyTorch
          }
        }
        y[r * w.out_length + l] = best;
        index[r * w.out_length + l] = at_best;
      }
    }
  });
}

template <class T>
double cross_entropy_forward(const T* logp, const int64_t* target, const T* w, int64_t N, int64_t C,
                             int64_t ignore_index, double eps, T* loss) {
  double weight_total = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (target[i] == ignore_index) { loss[i] = 0; continue; }
    const T* row = logp + i * C;
    const double wt = w ? w[target[i]] : 1.0;
    double smooth = 0;
    if (eps > 0)
      for (int64_t c = 0; c < C; ++c) smooth -= (w ? w[c] : 1.0) * row[c];
    loss[i] = static_cast<T>((1 - eps) * (-wt * row[target[i]]) + eps / C * smooth);
    weight_total += wt;
  }
  return weight_total;
}

template <class T>
void cross_entropy_backward(const T* logp, const int64_t* target, const T* w, int64_t N, int64_t C,
                            int64_t ignore_index, double eps, const T* g, bool per_row, double scale, T* gz) {
  const double W = w ? std::accumulate(w, w + C, 0.0) : static_cast<double>(C);
  parallel_for_each(N, C, [&](int64_t i) {
    T* row = gz + i * C;
    if (target[i] == ignore_index) { std::fill(row, row + C, T(0)); return; }
    const double s = per_row ? static_cast<double>(g[i]) : g[0] * scale;
    const double wt = w ? w[target[i]] : 1.0;
    const T* lrow = logp + i * C;
    if constexpr (std::is_same_v<T, float>) {  // p = exp(log p) by the vector kernel, in place
      vecmath().exp(lrow, row, C);
    } else {
      for (int64_t c = 0; c < C; ++c) row[c] = std::exp(lrow[c]);
    }
    if (eps == 0) {  // dz_c = s wt (p_c - [c == target])
      const T scale = static_cast<T>(s * wt);
      for (int64_t c = 0; c < C; ++c) row[c] *= scale;
      row[target[i]] -= scale;
      return;
    }
    for (int64_t c = 0; c < C; ++c) {
      const double p = row[c];
      double d = (1 - eps) * wt * (p - (c == target[i] ? 1.0 : 0.0));
      d += eps / C * (p * W - (w ? w[c] : 1.0));
      row[c] = static_cast<T>(s * d);
    }
  });
}

template <class T>
void kmax_indices(const T* x, int64_t rows, int64_t L, int64_t k, int64_t* index) {
  parallel_for(0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(L, 1)), [&](int64_t r0, int64_t r1) {
    std::vector<int64_t> order(static_cast<size_t>(L));
    for (int64_t r = r0; r < r1; ++r) {
      const T* row = x + r * L;
      std::iota(order.begin(), order.end(), 0);
      // The k largest (earlier position first among equal values), then back in positional order.
      std::partial_sort(order.begin(), order.begin() + k, order.end(),
                        [row](int64_t a, int64_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
      std::sort(order.begin(), order.begin() + k);
      std::copy(order.begin(), order.begin() + k, index + r * k);
    }
  });
}

#define PYSEQ_INSTANTIATE(T)                                                                                      \
  template void layer_norm_forward<T>(const T*, const T*, const T*, int64_t, int64_t, double, T*, T*, T*);       \
  template void layer_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, int64_t, int64_t, T*, T*, \
                                       T*);                                                                       \
  template void im2col<T>(const T*, int64_t, const Window1d&, T*, int64_t);                                       \
  template void col2im_add<T>(const T*, int64_t, int64_t, const Window1d&, T*);                                   \
  template void max_pool1d_forward<T>(const T*, int64_t, const Window1d&, T*, int64_t*);                         \
  template double cross_entropy_forward<T>(const T*, const int64_t*, const T*, int64_t, int64_t, int64_t, double, \
                                           T*);                                                                   \
  template void cross_entropy_backward<T>(const T*, const int64_t*, const T*, int64_t, int64_t, int64_t, double,  \
                                          const T*, bool, double, T*);                                            \
  template void kmax_indices<T>(const T*, int64_t, int64_t, int64_t, int64_t*);
PYSEQ_INSTANTIATE(float)
PYSEQ_INSTANTIATE(double)
template void kmax_indices<int64_t>(const int64_t*, int64_t, int64_t, int64_t, int64_t*);

}  // namespace pyseq::kernels::cpu
