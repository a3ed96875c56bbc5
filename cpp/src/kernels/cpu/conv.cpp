#include "conv.h"

#include <algorithm>
#include <vector>

#include "gemm.h"
#include "pyseq/parallel.h"

namespace pyseq::kernels::cpu {
namespace {

// How many samples share one column matrix of (CK, chunk * Lo).
int64_t chunk_of(const Conv1dShape& s, int64_t CK) {
  const int64_t Lo = s.window.out_length;
  return std::clamp<int64_t>((int64_t{1} << 22) / std::max<int64_t>(CK * Lo, 1), 1, std::max<int64_t>(s.N, 1));
}

// Copies `rows` rows of `cols` values between matrices with row strides src_ld and dst_ld.
template <class T>
void copy_rows(const T* src, int64_t src_ld, T* dst, int64_t dst_ld, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) std::copy_n(src + r * src_ld, cols, dst + r * dst_ld);
}

// cols (C_in / G * K, nc * L_out): the windows of group g of samples n0 .. n0 + nc - 1, sample j's
// at column j * L_out.
template <class T>
void im2col_chunk(const T* x, const Conv1dShape& s, int64_t n0, int64_t nc, int64_t g, T* cols) {
  const Window1d& win = s.window;
  const int64_t Cg = s.C_in / s.groups, Lo = win.out_length;
  parallel_for_each(nc, Cg * win.kernel * Lo, [&](int64_t j) {
    im2col<T>(x + ((n0 + j) * s.C_in + g * Cg) * win.length, Cg, win, cols + j * Lo, nc * Lo);
  });
}

}  // namespace

template <class T>
void conv1d_forward(const T* x, const T* w, const Conv1dShape& s, T* y) {
  const Window1d& win = s.window;
  const int64_t Lo = win.out_length, G = s.groups;
  const int64_t Cg = s.C_in / G, Og = s.C_out / G, CK = Cg * win.kernel, chunk = chunk_of(s, CK);
  std::vector<T> cols(static_cast<size_t>(CK * chunk * Lo)), prod(static_cast<size_t>(Og * chunk * Lo));
  for (int64_t n0 = 0; n0 < s.N; n0 += chunk) {
    const int64_t nc = std::min(chunk, s.N - n0), width = nc * Lo;
    for (int64_t g = 0; g < G; ++g) {
      im2col_chunk(x, s, n0, nc, g, cols.data());  // (CK, nc * Lo)
      // prod (Og, nc * Lo) = W_g (Og, CK) @ cols (CK, nc * Lo), then each sample's block goes to y
      gemm<T>(false, false, Og, width, CK, T(1), w + g * Og * CK, CK, cols.data(), width, T(0), prod.data(), width);
      parallel_for_each(nc, Og * Lo, [&](int64_t j) {
        copy_rows(prod.data() + j * Lo, width, y + ((n0 + j) * s.C_out + g * Og) * Lo, Lo, Og, Lo);
      });
    }
  }
}

template <class T>
void conv1d_reference(const T* x, const T* w, const Conv1dShape& s, T* y) {
  const Window1d& win = s.window;
  const int64_t Cg = s.C_in / s.groups, Og = s.C_out / s.groups;
  for (int64_t n = 0; n < s.N; ++n)
    for (int64_t o = 0; o < s.C_out; ++o)
      for (int64_t l = 0; l < win.out_length; ++l) {
        double acc = 0;
        for (int64_t c = 0; c < Cg; ++c)
          for (int64_t k = 0; k < win.kernel; ++k) {
            const int64_t at = win.input_at(l, k);
            if (at >= 0 && at < win.length)
              acc += static_cast<double>(w[(o * Cg + c) * win.kernel + k]) * x[(n * s.C_in + (o / Og) * Cg + c) * win.length + at];
          }
        y[(n * s.C_out + o) * win.out_length + l] = static_cast<T>(acc);
      }
}

template <class T>
void conv1d_backward(const T* g, const T* x, const T* w, const Conv1dShape& s, T* gx, T* gw) {
  const Window1d& win = s.window;
  const int64_t L = win.length, Lo = win.out_length, G = s.groups;
  const int64_t Cg = s.C_in / G, Og = s.C_out / G, CK = Cg * win.kernel, chunk = chunk_of(s, CK);
  std::vector<T> cols(static_cast<size_t>(CK * chunk * Lo)), gys(static_cast<size_t>(Og * chunk * Lo));
  for (int64_t n0 = 0; n0 < s.N; n0 += chunk) {
    const int64_t nc = std::min(chunk, s.N - n0), width = nc * Lo;
    for (int64_t gi = 0; gi < G; ++gi) {
      parallel_for_each(nc, Og * Lo, [&](int64_t j) {  // dy of the chunk as one (Og, nc * Lo) matrix
        copy_rows(g + ((n0 + j) * s.C_out + gi * Og) * Lo, Lo, gys.data() + j * Lo, width, Og, Lo);
      });
      if (gw) {  // dW_g (Og, CK) += dy (Og, nc * Lo) @ cols^T (nc * Lo, CK)
        im2col_chunk(x, s, n0, nc, gi, cols.data());  // (CK, nc * Lo)
        gemm<T>(false, true, Og, CK, width, T(1), gys.data(), width, cols.data(), width, T(1), gw + gi * Og * CK, CK);
      }
      if (gx) {  // dcols (CK, nc * Lo) = W_g^T (CK, Og) @ dy (Og, nc * Lo), folded back onto dx
        gemm<T>(true, false, CK, width, Og, T(1), w + gi * Og * CK, CK, gys.data(), width, T(0), cols.data(), width);
        parallel_for_each(nc, CK * Lo, [&](int64_t j) {
          col2im_add<T>(cols.data() + j * Lo, width, Cg, win, gx + ((n0 + j) * s.C_in + gi * Cg) * L);
        });
      }
    }
  }
}

template void conv1d_forward<float>(const float*, const float*, const Conv1dShape&, float*);
template void conv1d_forward<double>(const double*, const double*, const Conv1dShape&, double*);
template void conv1d_reference<float>(const float*, const float*, const Conv1dShape&, float*);
template void conv1d_reference<double>(const double*, const double*, const Conv1dShape&, double*);
template void conv1d_backward<float>(const float*, const float*, const float*, const Conv1dShape&, float*, float*);
template void conv1d_backward<double>(const double*, const double*, const double*, const Conv1dShape&, double*, double*);

}  // namespace pyseq::kernels::cpu
