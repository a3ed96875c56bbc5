#include "nn.h"

#include <cmath>
#include <limits>

#include "pyseq/parallel.h"

namespace pyseq::kernels {

template <class T>
void layer_norm_forward(const T* x, const T* w, const T* b, int64_t rows, int64_t D, double eps, T* y, T* mean,
                        T* rstd) {
  parallel_for(0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(D, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = x + r * D;
      T* yr = y + r * D;
      double s = 0;
      for (int64_t i = 0; i < D; ++i) s += xr[i];
      const double mu = s / static_cast<double>(D);
      double ss = 0;  // two passes: no cancellation for rows with a large mean
      for (int64_t i = 0; i < D; ++i) ss += (xr[i] - mu) * (xr[i] - mu);
      const T m = static_cast<T>(mu), rs = static_cast<T>(1.0 / std::sqrt(ss / static_cast<double>(D) + eps));
      for (int64_t i = 0; i < D; ++i) {
        T v = (xr[i] - m) * rs;
        if (w) v *= w[i];
        if (b) v += b[i];
        yr[i] = v;
      }
      mean[r] = m;
      rstd[r] = rs;
    }
  });
}

template <class T>
void layer_norm_backward(const T* g, const T* x, const T* w, const T* mean, const T* rstd, int64_t rows, int64_t D,
                         T* gx, T* gw, T* gb) {
  // gx = rstd * (g*w - mean(g*w) - xhat * mean(g*w * xhat)), row by row.
  parallel_for(0, rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(D, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T *gr = g + r * D, *xr = x + r * D;
      const T m = mean[r], rs = rstd[r];
      double sum_gw = 0, sum_gw_xhat = 0;
      for (int64_t i = 0; i < D; ++i) {
        const T gwi = w ? gr[i] * w[i] : gr[i];
        sum_gw += gwi;
        sum_gw_xhat += gwi * ((xr[i] - m) * rs);
      }
      const T a = static_cast<T>(sum_gw / D), c = static_cast<T>(sum_gw_xhat / D);
      T* gxr = gx + r * D;
      for (int64_t i = 0; i < D; ++i) {
        const T gwi = w ? gr[i] * w[i] : gr[i];
        gxr[i] = rs * (gwi - a - (xr[i] - m) * rs * c);
      }
    }
  });
  // Parameter gradients sum over rows: one pass, vectorised along D.
  for (int64_t r = 0; r < rows && (gw || gb); ++r) {
    const T *gr = g + r * D, *xr = x + r * D;
    const T m = mean[r], rs = rstd[r];
    if (gw)
      for (int64_t i = 0; i < D; ++i) gw[i] += gr[i] * ((xr[i] - m) * rs);
    if (gb)
      for (int64_t i = 0; i < D; ++i) gb[i] += gr[i];
  }
}

template <class T>
void im2col(const T* x, int64_t channels, const Window1d& w, T* cols, int64_t ld) {
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t k = 0; k < w.kernel; ++k) {
      T* row = cols + (c * w.kernel + k) * ld;
      for (int64_t l = 0; l < w.out_length; ++l) {
        const int64_t at = w.input_at(l, k);
        row[l] = at >= 0 && at < w.length ? x[c * w.length + at] : T(0);
      }
    }
}

template <class T>
void col2im_add(const T* cols, int64_t ld, int64_t channels, const Window1d& w, T* gx) {
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t k = 0; k < w.kernel; ++k) {
      const T* row = cols + (c * w.kernel + k) * ld;
      for (int64_t l = 0; l < w.out_length; ++l) {
        const int64_t at = w.input_at(l, k);
        if (at >= 0 && at < w.length) gx[c * w.length + at] += row[l];
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

#define PYSEQ_INSTANTIATE(T)                                                                                      \
  template void layer_norm_forward<T>(const T*, const T*, const T*, int64_t, int64_t, double, T*, T*, T*);       \
  template void layer_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, int64_t, int64_t, T*, T*, \
                                       T*);                                                                       \
  template void im2col<T>(const T*, int64_t, const Window1d&, T*, int64_t);                                       \
  template void col2im_add<T>(const T*, int64_t, int64_t, const Window1d&, T*);                                   \
  template void max_pool1d_forward<T>(const T*, int64_t, const Window1d&, T*, int64_t*);
PYSEQ_INSTANTIATE(float)
PYSEQ_INSTANTIATE(double)

}  // namespace pyseq::kernels
