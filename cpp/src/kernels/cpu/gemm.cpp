// GEMM driver: blocking, packing and threads (the BLIS loop structure). Per instruction set
// micro-kernels come from gemm_<isa>.cpp through gemm_driver.h.
//
//   for jc in N by NC:            a block of B's columns (threads split N, or M when N is narrow)
//     for pc in K by KC:          pack B[pc:pc+KC, jc:jc+NC] into NR-wide slivers (L3)
//       for ic in M by MC:        pack A[ic:ic+MC, pc:pc+KC] into MR-tall slivers (L2)
//         for each NR x MR tile:  micro-kernel over KC, in registers
#include "gemm.h"

#include <algorithm>
#include <vector>

#include "gemm_driver.h"
#include "pyseq/parallel.h"

namespace pyseq::kernels {
namespace {

constexpr int64_t kKC = 256, kMC = 192, kNC = 2048;

template <class T> GemmKernels<T> select_kernels();
template <> GemmKernels<float> select_kernels<float>() {
  switch (cpu_level()) {
    case CpuLevel::AVX512: return avx512::kernels_f32();
    case CpuLevel::AVX2: return avx2::kernels_f32();
    default: return generic::kernels_f32();
  }
}
template <> GemmKernels<double> select_kernels<double>() {
  switch (cpu_level()) {
    case CpuLevel::AVX512: return avx512::kernels_f64();
    case CpuLevel::AVX2: return avx2::kernels_f64();
    default: return generic::kernels_f64();
  }
}
template <> GemmKernels<int64_t> select_kernels<int64_t>() { return generic::kernels_i64(); }

template <class T>
const GemmKernels<T>& kernels() {
  static const GemmKernels<T> k = select_kernels<T>();
  return k;
}

// An operand seen as a logical (rows, cols) matrix, stored row-major or transposed.
template <class T>
struct Operand {
  const T* p;
  int64_t ld;
  bool trans;
  T at(int64_t r, int64_t c) const { return trans ? p[c * ld + r] : p[r * ld + c]; }
};

// Packs rows [r0, r0 + rows) x cols [c0, c0 + cols) of op(A) into slivers of `mr` rows:
// sliver s holds, for each col k, the mr values of rows s*mr .. s*mr+mr-1 (zero beyond `rows`).
template <class T>
void pack_a(const Operand<T>& A, int64_t r0, int64_t rows, int64_t c0, int64_t cols, int64_t mr, T* out) {
  for (int64_t s = 0; s < rows; s += mr) {
    const int64_t m = std::min(mr, rows - s);
    for (int64_t k = 0; k < cols; ++k, out += mr) {
      for (int64_t r = 0; r < m; ++r) out[r] = A.at(r0 + s + r, c0 + k);
      for (int64_t r = m; r < mr; ++r) out[r] = T(0);
    }
  }
}

// Packs rows [r0, r0 + rows) (the K range) x cols [c0, c0 + cols) of op(B) into slivers of `nr`
// cols: sliver s holds, for each row k, the nr values of cols s*nr .. s*nr+nr-1.
template <class T>
void pack_b(const Operand<T>& B, int64_t r0, int64_t rows, int64_t c0, int64_t cols, int64_t nr, T* out) {
  for (int64_t s = 0; s < cols; s += nr) {
    const int64_t n = std::min(nr, cols - s);
    for (int64_t k = 0; k < rows; ++k, out += nr) {
      if (!B.trans && n == nr) {
        std::copy(B.p + (r0 + k) * B.ld + c0 + s, B.p + (r0 + k) * B.ld + c0 + s + nr, out);
        continue;
      }
      for (int64_t j = 0; j < n; ++j) out[j] = B.at(r0 + k, c0 + s + j);
      for (int64_t j = n; j < nr; ++j) out[j] = T(0);
    }
  }
}

// C[i0:i1, j0:j1] by the blocked loops, on the calling thread.
template <class T>
void gemm_block(const GemmKernels<T>& kern, const Operand<T>& A, const Operand<T>& B, int64_t i0, int64_t i1,
                int64_t j0, int64_t j1, int64_t K, T alpha, T beta, T* C, int64_t ldc) {
  const int64_t mr = kern.mr, nr = kern.nr, mc_max = kMC / mr * mr;
  thread_local std::vector<T> packed_a, packed_b;
  packed_a.resize(static_cast<size_t>(mc_max * kKC));
  packed_b.resize(static_cast<size_t>((kNC + nr) * kKC));
  for (int64_t jc = j0; jc < j1; jc += kNC) {
    const int64_t nc = std::min(kNC, j1 - jc);
    for (int64_t pc = 0; pc < K; pc += kKC) {
      const int64_t kc = std::min(kKC, K - pc);
      const T beta_here = pc == 0 ? beta : T(1);  // later K blocks add onto the first
      pack_b(B, pc, kc, jc, nc, nr, packed_b.data());
      for (int64_t ic = i0; ic < i1; ic += mc_max) {
        const int64_t mc = std::min(mc_max, i1 - ic);
        pack_a(A, ic, mc, pc, kc, mr, packed_a.data());
        for (int64_t jr = 0; jr < nc; jr += nr)
          for (int64_t ir = 0; ir < mc; ir += mr)
            kern.micro(kc, packed_a.data() + ir * kc, packed_b.data() + jr * kc, C + (ic + ir) * ldc + jc + jr, ldc,
                       alpha, beta_here, std::min(mr, mc - ir), std::min(nr, nc - jr));
      }
    }
  }
}

}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  const GemmKernels<T>& kern = kernels<T>();
  const double work = static_cast<double>(M) * N * std::max<int64_t>(K, 1);
  const int threads = work < (1 << 18) ? 1 : get_num_threads();  // small products stay on one thread
  if (K == 0) {  // C = beta * C
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
    return;
  }
  if (M <= 4 && !trans_a) {  // a few rows (e.g. one token): stream B once, no packing
    const auto path = trans_b ? kern.rows_dot_rows : kern.rows_times_matrix;
    const int64_t chunk = std::max<int64_t>(64, (N + threads - 1) / threads);
    parallel_for(0, (N + chunk - 1) / chunk, threads > 1 ? 1 : (N + chunk - 1) / chunk, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) {
        const int64_t j0 = c * chunk, n = std::min(chunk, N - j0);
        path(M, n, K, alpha, A, lda, trans_b ? B + j0 * ldb : B + j0, ldb, beta, C + j0, ldc);
      }
    });
    return;
  }
  const Operand<T> a{A, lda, trans_a}, b{B, ldb, trans_b};
  // Threads take column ranges (each packs its own B part and all of A), or row ranges when N is narrow.
  const bool split_n = N >= threads * 2 * kern.nr;
  const int64_t extent = split_n ? N : M, unit = split_n ? kern.nr : kern.mr;
  const int64_t units = (extent + unit - 1) / unit;
  const int64_t parts = std::min<int64_t>(threads, units);
  parallel_for(0, parts, 1, [&](int64_t p0, int64_t p1) {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t lo = std::min(extent, units * p / parts * unit), hi = std::min(extent, units * (p + 1) / parts * unit);
      if (split_n) gemm_block(kern, a, b, 0, M, lo, hi, K, alpha, beta, C, ldc);
      else gemm_block(kern, a, b, lo, hi, 0, N, K, alpha, beta, C, ldc);
    }
  });
}

template <class T>
void gemm_reference(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda,
                    const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  const Operand<T> a{A, lda, trans_a}, b{B, ldb, trans_b};
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T acc = T(0);
      for (int64_t k = 0; k < K; ++k) acc += a.at(i, k) * b.at(k, j);
      C[i * ldc + j] = beta == T(0) ? alpha * acc : alpha * acc + beta * C[i * ldc + j];
    }
}

#define PYSEQ_INSTANTIATE(T)                                                                                     \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, int64_t, T, T*, \
                        int64_t);                                                                                \
  template void gemm_reference<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, int64_t, T, \
                                  T*, int64_t);
PYSEQ_INSTANTIATE(float)
PYSEQ_INSTANTIATE(double)
PYSEQ_INSTANTIATE(int64_t)

}  // namespace pyseq::kernels
