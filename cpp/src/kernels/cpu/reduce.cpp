#include "reduce.h"

#include <algorithm>
#include <numeric>
#include <cmath>
#include <limits>
#include <vector>

#include "pyseq/parallel.h"
#include "vecmath.h"

namespace pyseq::kernels::cpu {
namespace {

// Floating rows accumulate in double; integer rows in uint64, so that a sum past int64 wraps
// around as in PyTorch (defined for unsigned types) and converts back modulo 2^64.
template <class T> using Acc = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;

// Sum of n contiguous values with 8 independent accumulators (vectorisable, and more accurate
// than one running sum). Floats go to the per-ISA kernel (float blocks, double across them).
template <class T>
Acc<T> sum_contiguous(const T* x, int64_t n) {
  if constexpr (std::is_same_v<T, float>) return vecmath().sum(x, n);
  Acc<T> acc[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += x[i + j];
  Acc<T> total = 0;
  for (; i < n; ++i) total += x[i];
  return total + ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

}  // namespace

template <class T>
void sum_rows(const T* x, int64_t rows, int64_t n, T* out) {
  if (rows < get_num_threads() && n > 65536) {  // few long rows: split each row across threads
    for (int64_t r = 0; r < rows; ++r) {
      const T* row = x + r * n;
      const int64_t chunks = get_num_threads();
      std::vector<Acc<T>> partial(chunks, 0);
      parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
        for (int64_t c = b; c < e; ++c) {
          int64_t lo = n * c / chunks, hi = n * (c + 1) / chunks;
          partial[c] = sum_contiguous(row + lo, hi - lo);
        }
      });
      Acc<T> total = 0;
      for (Acc<T> p : partial) total += p;
      out[r] = static_cast<T>(total);
    }
    return;
  }
  parallel_for_each(rows, n, [&](int64_t r) { out[r] = static_cast<T>(sum_contiguous(x + r * n, n)); });
}

template <class T>
void sum_leading(const T* x, int64_t n, int64_t cols, T* out) {
  constexpr int64_t kChunk = 512;  // columns per task; their sums stay in L1
  parallel_for_each((cols + kChunk - 1) / kChunk, n * kChunk, [&](int64_t c) {
    const int64_t c0 = c * kChunk, w = std::min(kChunk, cols - c0);
    Acc<T> acc[kChunk] = {};
    for (int64_t i = 0; i < n; ++i) {
      const T* row = x + i * cols + c0;
      for (int64_t j = 0; j < w; ++j) acc[j] += row[j];
    }
    for (int64_t j = 0; j < w; ++j) out[c0 + j] = static_cast<T>(acc[j]);
  });
}

template <class T>
void minmax_rows(const T* x, int64_t rows, int64_t n, bool is_max, T* values, int64_t* indices) {
  parallel_for_each(rows, n, [&](int64_t r) {
    const T* row = x + r * n;
    T best = row[0];
    int64_t at = 0;
    for (int64_t i = 1; i < n; ++i) {
      const T v = row[i];
      if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(best)) break;
        if (std::isnan(v)) { best = v; at = i; break; }
      }
      if (is_max ? v > best : v < best) { best = v; at = i; }
    }
    if (values) values[r] = best;
    if (indices) indices[r] = at;
  });
}

template <class T>
void topk_rows(const T* x, int64_t rows, int64_t n, int64_t k, bool largest, T* values, int64_t* indices) {
  parallel_for_each(rows, n * 8, [&](int64_t r) {
    const T* row = x + r * n;
    auto nan = [](T v) {
      if constexpr (std::is_floating_point_v<T>) return std::isnan(v);
      return false;
    };
    // a comes before b: the larger (smaller) first, NaN above every number, ties by index
    auto before = [&](int64_t a, int64_t b) {
      const T va = row[a], vb = row[b];
      if (nan(va) || nan(vb)) return nan(va) && !nan(vb) ? largest : nan(vb) && !nan(va) ? !largest : a < b;
      if (va != vb) return largest ? va > vb : va < vb;
      return a < b;
    };
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
    for (int64_t i = 0; i < k; ++i) {
      values[r * k + i] = row[order[i]];
      indices[r * k + i] = order[i];
    }
  });
}

template <class T>
void cumsum_rows(const T* x, int64_t rows, int64_t n, bool reverse, T* out) {
  parallel_for_each(rows, n, [&](int64_t r) {
    const T* row = x + r * n;
    T* o = out + r * n;
    T acc = T(0);
    if (reverse) {
      for (int64_t i = n - 1; i >= 0; --i) o[i] = acc += row[i];
    } else {
      for (int64_t i = 0; i < n; ++i) o[i] = acc += row[i];
    }
  });
}

template <class T>
void mean_rows(const T* x, int64_t rows, int64_t n, T* out) {
  sum_rows(x, rows, n, out);
  for (int64_t r = 0; r < rows; ++r) out[r] /= static_cast<T>(n);
}

template <class T>
void var_rows(const T* x, int64_t rows, int64_t n, double correction, bool take_sqrt, T* var, T* mean) {
  parallel_for_each(rows, n, [&](int64_t r) {  // two passes: mean, then squared deviations
    const T* row = x + r * n;
    const double m = static_cast<double>(sum_contiguous(row, n)) / static_cast<double>(n);
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += (row[i] - m) * (row[i] - m);
    const T v = static_cast<T>(ss / std::max(0.0, static_cast<double>(n) - correction));
    var[r] = take_sqrt ? std::sqrt(v) : v;
    if (mean) mean[r] = static_cast<T>(m);
  });
}

template <class T>
void logsumexp_rows(const T* x, int64_t rows, int64_t n, T* out) {
  parallel_for_each(rows, n, [&](int64_t r) {
    const T* row = x + r * n;
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t i = 0; i < n; ++i) m = row[i] > m || row[i] != row[i] ? row[i] : m;  // NaN wins
    if (!std::isfinite(m)) { out[r] = m; return; }  // NaN, all -inf, or an inf that dominates
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::exp(static_cast<double>(row[i] - m));
    out[r] = static_cast<T>(std::log(s) + m);
  });
}

template <class T>
void norm_rows(const T* x, int64_t rows, int64_t n, double p, T* out) {
  parallel_for_each(rows, n, [&](int64_t r) {
    const T* row = x + r * n;
    double acc = 0;
    if (std::isinf(p)) {
      for (int64_t i = 0; i < n; ++i) {  // NaN wins
        const double a = std::abs(static_cast<double>(row[i]));
        acc = a > acc || a != a ? a : acc;
      }
    } else if (p == 2) {
      for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(row[i]) * row[i];
      acc = std::sqrt(acc);
    } else if (p == 1) {
      for (int64_t i = 0; i < n; ++i) acc += std::abs(static_cast<double>(row[i]));
    } else {
      for (int64_t i = 0; i < n; ++i) acc += std::pow(std::abs(static_cast<double>(row[i])), p);
      acc = std::pow(acc, 1.0 / p);
    }
    out[r] = static_cast<T>(acc);
  });
}

template <class T>
void softmax_rows(const T* x, int64_t rows, int64_t n, bool log, T* y) {
  const bool stream = rows * n * static_cast<int64_t>(sizeof(T)) >= (int64_t{16} << 20);  // beyond the caches
  parallel_for_each(rows, n, [&](int64_t r) {  // y = exp(x - max) / sum, or x - max - log(sum)
    const T* in = x + r * n;
    T* out = y + r * n;
    if constexpr (std::is_same_v<T, float>) {
      vecmath().softmax_row(in, out, n, log, stream);  // the same three passes, vectorised
      return;
    }
    T m = -std::numeric_limits<T>::infinity();
    for (int64_t i = 0; i < n; ++i) m = std::max(m, in[i]);
    if (std::isinf(m) && m < 0) m = 0;  // an all -inf row gives NaN, as in PyTorch
    T s = 0;
    for (int64_t i = 0; i < n; ++i) {
      T e = std::exp(in[i] - m);
      if (!log) out[i] = e;
      s += e;
    }
    if (log) {  // (x - max) - log(sum): subtracting max first keeps the small terms exact
      const T log_s = std::log(s);
      for (int64_t i = 0; i < n; ++i) out[i] = (in[i] - m) - log_s;
    } else {
      const T inv = T(1) / s;
      for (int64_t i = 0; i < n; ++i) out[i] *= inv;
    }
  });
}

#define PYSEQ_INSTANTIATE_FLOAT(T)                                                     \
  template void var_rows<T>(const T*, int64_t, int64_t, double, bool, T*, T*);        \
  template void mean_rows<T>(const T*, int64_t, int64_t, T*);                         \
  template void logsumexp_rows<T>(const T*, int64_t, int64_t, T*);                    \
  template void norm_rows<T>(const T*, int64_t, int64_t, double, T*);                 \
  template void softmax_rows<T>(const T*, int64_t, int64_t, bool, T*);
#define PYSEQ_INSTANTIATE_NUMERIC(T)                                                   \
  template void sum_rows<T>(const T*, int64_t, int64_t, T*);                          \
  template void sum_leading<T>(const T*, int64_t, int64_t, T*);                       \
  template void minmax_rows<T>(const T*, int64_t, int64_t, bool, T*, int64_t*);          \
  template void topk_rows<T>(const T*, int64_t, int64_t, int64_t, bool, T*, int64_t*);  \
  template void cumsum_rows<T>(const T*, int64_t, int64_t, bool, T*);
PYSEQ_INSTANTIATE_FLOAT(float)
PYSEQ_INSTANTIATE_FLOAT(double)
PYSEQ_INSTANTIATE_NUMERIC(float)
PYSEQ_INSTANTIATE_NUMERIC(double)
PYSEQ_INSTANTIATE_NUMERIC(int64_t)

}  // namespace pyseq::kernels::cpu
