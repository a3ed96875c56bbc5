// GEMM driver: blocking, packing and threads (the BLIS loop structure). Per instruction set
// micro-kernels come from gemm_<isa>.cpp through gemm_driver.h.
//
//   for jc in N by NC:            a block of B's columns
//     for pc in K by KC:          pack B[pc:pc+KC, jc:jc+NC] into NR-wide slivers (all threads)
//       threads split M (or N when M is small):
//       for ic in M by MC:        pack A[ic:ic+MC, pc:pc+KC] into MR-tall slivers
//         for each NR x MR tile:  micro-kernel over KC, in registers
#include "gemm.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "gemm_driver.h"
#include "vecmath.h"
#include "pyseq/parallel.h"

namespace pyseq::kernels::cpu {
namespace {

// Cache blocks: a KC x NC block of packed B (shared, L3), an MC x KC block of packed A per
// thread (L2), a KC x NR sliver of B (L1). C with at most kFewCols columns reads A in place.
constexpr int64_t kKC = 256, kMC = 192, kNC = 2048, kFewCols = 256;
// At most this many rows of A times a B stored (N, K) (x W^T) take rows_dot_rows, which reads B in
// place. Against packing B (2 threads, AVX-512 here, median of paired calls): 8 rows x 384 x 1152
// in 0.66 of the time, 16 rows 0.99 at K = 384 and 0.77-0.84 at K = 512 or 1536, 24 rows 1.08-1.12
// at K = 384.
constexpr int64_t kFewRowsDot = 16;

// Whether a product with M rows of a row-major A is done by a few-rows path, which streams B in
// place (rows_times_matrix, rows_dot_rows) rather than packing it.
bool few_rows_path(int64_t M, bool trans_b) { return M <= 4 || (trans_b && M <= kFewRowsDot); }

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

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

int threads_for(int64_t M, int64_t N, int64_t K) {  // small products, and those inside a team, stay on one thread
  if (detail::in_parallel_region()) return 1;
  const double work = static_cast<double>(M) * N * std::max<int64_t>(K, 1);
  return work < (1 << 18) ? 1 : get_num_threads();
}

// K in equal blocks of at most KC (784 = 4 x 196, not 3 x 256 + 16: a thin last block would cost a
// whole pass over C for a few multiply-adds).
int64_t k_block(int64_t K) { return ceil_div(K, ceil_div(K, kKC)); }

// Packs the block rows [pc, pc + kc) x cols [jc, jc + nc) of op(B) into NR-wide slivers at `out`.
template <class T>
void pack_b_block(const GemmKernels<T>& kern, const Operand<T>& B, int64_t pc, int64_t kc, int64_t jc, int64_t nc,
                  int threads, T* out) {
  const int64_t nr = kern.nr, col_slivers = ceil_div(nc, nr);
  parallel_for(0, col_slivers, ceil_div(col_slivers, threads), [&](int64_t s0, int64_t s1) {
    kern.pack_b(B, pc, kc, jc + s0 * nr, std::min(nc, s1 * nr) - s0 * nr, out + s0 * nr * kc);
  });
}

// The register tiles of rows [ic, ic + mc) of C times one packed sliver b of B (n <= NR columns;
// c points at C's column of the sliver's first) over the K block [pc, pc + kc): the first
// in_place_rows rows read A in place, the others its packed rows.
template <class T>
void micro_tiles(const GemmKernels<T>& kern, const Operand<T>& A, int64_t ic, int64_t mc, int64_t in_place_rows,
                 const T* packed_a, int64_t pc, int64_t kc, const T* b, int64_t n, T alpha, T beta, T* c, int64_t ldc) {
  const int64_t mr = kern.mr;
  for (int64_t ir = 0; ir < mc; ir += mr) {
    T* tile = c + (ic + ir) * ldc;
    const int64_t m = std::min(mr, mc - ir);
    if (ir >= in_place_rows)
      kern.micro(kc, packed_a + (ir - in_place_rows) * kc, mr, b, tile, ldc, alpha, beta, m, n);
    else if (A.trans)
      kern.micro(kc, A.p + pc * A.ld + ic + ir, A.ld, b, tile, ldc, alpha, beta, m, n);
    else
      kern.micro_a_rows(kc, A.p + (ic + ir) * A.ld + pc, A.ld, b, tile, ldc, alpha, beta, m, n);
  }
}

// C = alpha op(A) op(B) + beta C for a C of at most MC rows, split by columns: each thread owns a
// range of B's slivers and, K block after K block, packs its copy of A's rows and then each sliver
// just before its tiles use it (the sliver stays in L1). B is read once and never written to a
// shared buffer, and the threads meet once, at the end: with few rows, packing all of B first
// (gemm_blocked) costs 5-13% more for 8 to 90 rows (x W^T, W 1152 x 384: 16 rows 176 -> 163 us on
// two threads here; W 384 x 1536: 251 -> 218 us).
template <class T>
void gemm_few_rows(const GemmKernels<T>& kern, const Operand<T>& A, const Operand<T>& B, int64_t M, int64_t N,
                   int64_t K, T alpha, T beta, T* C, int64_t ldc, int threads, Epilogue<T> epilogue, bool a_in_place) {
  const int64_t mr = kern.mr, nr = kern.nr, slivers = ceil_div(N, nr), kc_even = k_block(K);
  const int64_t in_place_rows = a_in_place ? M / mr * mr : 0;
  parallel_for(0, threads, 1, [&](int64_t p0, int64_t p1) {
    thread_local std::vector<T> packed_a, sliver;
    packed_a.resize(static_cast<size_t>(kMC * kKC));
    sliver.resize(static_cast<size_t>(nr * kKC));
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t s0 = slivers * p / threads, s1 = slivers * (p + 1) / threads;
      for (int64_t pc = 0; pc < K; pc += kc_even) {
        const int64_t kc = std::min(kc_even, K - pc);
        if (in_place_rows < M) kern.pack_a(A, in_place_rows, M - in_place_rows, pc, kc, packed_a.data());
        for (int64_t s = s0; s < s1; ++s) {
          const int64_t n = std::min(nr, N - s * nr);
          kern.pack_b(B, pc, kc, s * nr, n, sliver.data());
          micro_tiles(kern, A, 0, M, in_place_rows, packed_a.data(), pc, kc, sliver.data(), n, alpha,
                      pc == 0 ? beta : T(1), C + s * nr, ldc);
        }
      }
      for (int64_t i = 0; i < M && epilogue && s1 > s0; ++i)
        epilogue(C + i * ldc + s0 * nr, s0 * nr, std::min(N, s1 * nr) - s0 * nr);
    }
  });
}

// C = alpha op(A) op(B) + beta C by the blocked loops on `threads` threads. The threads split the
// rows of C (each packs its own rows of A), or its columns when C has too few rows to share.
// Each block of B is packed once, by all threads together, into a buffer they share, unless
// `prepacked` holds all of B's blocks already (prepare_b: block after block in the loop order).
// When C has few columns, A is read in place (it is used by few slivers of B) and only its ragged
// last rows are packed; but not a transposed A over more than one K block: its columns, read
// lda apart down a long K (lda often a multiple of 4 KiB, so the lines share cache sets), cost more
// than packing them (a weight gradient dY^T X: 1024 x 256 x 2048 took 7.7 ms in place, 6.5 packed).
template <class T>
void gemm_blocked(const GemmKernels<T>& kern, const Operand<T>& A, const Operand<T>& B, int64_t M, int64_t N,
                  int64_t K, T alpha, T beta, T* C, int64_t ldc, int threads, Epilogue<T> epilogue,
                  const T* prepacked = nullptr) {
  const int64_t mr = kern.mr, nr = kern.nr, mc_max = kMC / mr * mr;
  const bool split_rows = ceil_div(M, mr) >= 8 * threads || M >= N;
  const bool a_in_place = N <= kFewCols && (!A.trans || K <= kKC);
  if (!split_rows && !prepacked && M <= mc_max) {
    gemm_few_rows(kern, A, B, M, N, K, alpha, beta, C, ldc, threads, epilogue, a_in_place);
    return;
  }
  thread_local std::vector<T> packed_b_buffer;  // the calling thread's, read by all workers
  if (!prepacked) packed_b_buffer.resize(static_cast<size_t>((kNC + nr) * kKC));
  const T* next_block = prepacked;
  for (int64_t jc = 0; jc < N; jc += kNC) {
    const int64_t nc = std::min(kNC, N - jc), col_slivers = ceil_div(nc, nr);
    const int64_t kc_even = k_block(K);
    for (int64_t pc = 0; pc < K; pc += kc_even) {
      const int64_t kc = std::min(kc_even, K - pc);
      const T beta_here = pc == 0 ? beta : T(1);  // later K blocks add onto the first
      const T* packed_b = next_block;
      if (prepacked) {
        next_block += col_slivers * nr * kc;
      } else {
        pack_b_block(kern, B, pc, kc, jc, nc, threads, packed_b_buffer.data());
        packed_b = packed_b_buffer.data();
      }
      parallel_for(0, threads, 1, [&](int64_t p0, int64_t p1) {
        thread_local std::vector<T> packed_a_buffer;
        packed_a_buffer.resize(static_cast<size_t>(mc_max * kKC));
        T* packed_a = packed_a_buffer.data();
        for (int64_t p = p0; p < p1; ++p) {
          // This part's rows [i0, i1) of C and its slivers [s0, s1) of the B block.
          const int64_t units = split_rows ? ceil_div(M, mr) : col_slivers;
          const int64_t u0 = units * p / threads, u1 = units * (p + 1) / threads;
          const int64_t i0 = split_rows ? std::min(M, u0 * mr) : 0, i1 = split_rows ? std::min(M, u1 * mr) : M;
          const int64_t s0 = split_rows ? 0 : u0, s1 = split_rows ? col_slivers : u1;
          for (int64_t ic = i0; ic < i1; ic += mc_max) {
            const int64_t mc = std::min(mc_max, i1 - ic), in_place_rows = a_in_place ? mc / mr * mr : 0;
            if (in_place_rows < mc) kern.pack_a(A, ic + in_place_rows, mc - in_place_rows, pc, kc, packed_a);
            for (int64_t s = s0; s < s1; ++s)
              micro_tiles(kern, A, ic, mc, in_place_rows, packed_a, pc, kc, packed_b + s * nr * kc,
                          std::min(nr, nc - s * nr), alpha, beta_here, C + jc + s * nr, ldc);
            if (epilogue && pc + kc == K)  // this block of C is final and still in cache
              for (int64_t i = ic; i < ic + mc; ++i)
                epilogue(C + i * ldc + jc + s0 * nr, jc + s0 * nr, std::min(nc, s1 * nr) - s0 * nr);
          }
        }
      });
    }
  }
}

}  // namespace

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
          int64_t ldb, T beta, T* C, int64_t ldc, Epilogue<T> epilogue) {
  if (M == 0 || N == 0) return;
  if constexpr (std::is_integral_v<T>) {
    // Integers wrap on overflow, as the elementwise ops do: a plain loop in unsigned arithmetic
    // (signed overflow would be undefined behaviour in the float kernels' templates).
    using U = std::make_unsigned_t<T>;
    const Operand<T> a{A, lda, trans_a}, b{B, ldb, trans_b};
    parallel_for(0, M, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, N * K)), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        for (int64_t j = 0; j < N; ++j) {
          U acc = 0;
          for (int64_t k = 0; k < K; ++k) acc += U(a.at(i, k)) * U(b.at(k, j));
          U value = U(alpha) * acc;
          if (beta != T(0)) value += U(beta) * U(C[i * ldc + j]);
          C[i * ldc + j] = T(value);
        }
        if (epilogue) epilogue(C + i * ldc, 0, N);
      }
    });
    return;
  }
  const GemmKernels<T>& kern = kernels<T>();
  const int threads = threads_for(M, N, K);
  if (K == 0) {  // C = beta * C
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
    for (int64_t i = 0; i < M && epilogue; ++i) epilogue(C + i * ldc, 0, N);
    return;
  }
  if (M <= 4 && !trans_a && !trans_b && threads > 1 && K >= 8 * threads) {
    // A few rows times a row-major B: threads split K, so each streams a contiguous band of B's
    // rows (faster than half-rows of all of them) into partial rows of C, added up at the end.
    std::vector<T> partial(static_cast<size_t>((threads - 1) * M * N));
    parallel_for(0, threads, 1, [&](int64_t p0, int64_t p1) {
      for (int64_t p = p0; p < p1; ++p) {
        const int64_t k0 = K * p / threads, k1 = K * (p + 1) / threads;
        T* out = p == 0 ? C : partial.data() + (p - 1) * M * N;  // (M, N), rows ldc or N apart
        kern.rows_times_matrix(M, N, k1 - k0, alpha, A + k0, lda, B + k0 * ldb, ldb, p == 0 ? beta : T(0), out,
                               p == 0 ? ldc : N);
      }
    });
    for (int64_t i = 0; i < M; ++i) {
      T* c = C + i * ldc;
      for (int64_t p = 1; p < threads; ++p)
        for (int64_t j = 0; j < N; ++j) c[j] += partial[((p - 1) * M + i) * N + j];
      if (epilogue) epilogue(c, 0, N);
    }
    return;
  }
  if (!trans_a && few_rows_path(M, trans_b)) {  // a few rows (e.g. one token): stream B once, no packing
    const auto path = trans_b ? kern.rows_dot_rows : kern.rows_times_matrix;
    const int64_t chunk = std::max<int64_t>(64, (N + threads - 1) / threads);
    parallel_for(0, (N + chunk - 1) / chunk, threads > 1 ? 1 : (N + chunk - 1) / chunk, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) {
        const int64_t j0 = c * chunk, n = std::min(chunk, N - j0);
        path(M, n, K, alpha, A, lda, trans_b ? B + j0 * ldb : B + j0, ldb, beta, C + j0, ldc);
        for (int64_t i = 0; i < M && epilogue; ++i) epilogue(C + i * ldc + j0, j0, n);
      }
    });
    return;
  }
  const Operand<T> a{A, lda, trans_a}, b{B, ldb, trans_b};
  gemm_blocked(kern, a, b, M, N, K, alpha, beta, C, ldc, threads, epilogue);
}

template <class T>
PreparedB<T> prepare_b(bool trans_b, int64_t K, int64_t N, const T* B, int64_t ldb, int64_t rows) {
  const GemmKernels<T>& kern = kernels<T>();
  PreparedB<T> p;
  p.K = K;
  p.N = N;
  p.packed = !few_rows_path(rows, trans_b) && K > 0;
  if (!p.packed) {
    p.source = B;
    p.ld = ldb;
    p.trans = trans_b;
    return p;
  }
  const Operand<T> b{B, ldb, trans_b};
  const int64_t nr = kern.nr, kc_even = k_block(K);
  p.data.resize(static_cast<size_t>((N + nr * ceil_div(N, kNC)) * K));
  T* out = p.data.data();
  for (int64_t jc = 0; jc < N; jc += kNC) {  // the blocks in gemm_blocked's order
    const int64_t nc = std::min(kNC, N - jc);
    for (int64_t pc = 0; pc < K; pc += kc_even) {
      const int64_t kc = std::min(kc_even, K - pc);
      pack_b_block(kern, b, pc, kc, jc, nc, threads_for(rows, N, K), out);
      out += ceil_div(nc, nr) * nr * kc;
    }
  }
  return p;
}

template <class T>
void gemm_prepared(int64_t M, T alpha, const T* A, int64_t lda, const PreparedB<T>& B, T beta, T* C, int64_t ldc) {
  if (!B.packed) {
    gemm(false, B.trans, M, B.N, B.K, alpha, A, lda, B.source, B.ld, beta, C, ldc);
    return;
  }
  const Operand<T> a{A, lda, false}, b_unused{nullptr, 0, false};  // B is read from its packed blocks
  gemm_blocked(kernels<T>(), a, b_unused, M, B.N, B.K, alpha, beta, C, ldc, threads_for(M, B.N, B.K), Epilogue<T>{},
               B.data.data());
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
                        int64_t, Epilogue<T>);                                                                   \
  template void gemm_reference<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, int64_t, T, \
                                  T*, int64_t);                                                                  \
  template PreparedB<T> prepare_b<T>(bool, int64_t, int64_t, const T*, int64_t, int64_t);                          \
  template void gemm_prepared<T>(int64_t, T, const T*, int64_t, const PreparedB<T>&, T, T*, int64_t);
PYSEQ_INSTANTIATE(float)
PYSEQ_INSTANTIATE(double)
PYSEQ_INSTANTIATE(int64_t)
#undef PYSEQ_INSTANTIATE

template <class T>
void gemm_batched(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda,
                  const int64_t* a_batch_strides, const T* B, int64_t ldb, const int64_t* b_batch_strides, T* C,
                  const int64_t* batch, int64_t batch_ndim) {
  int64_t count = 1;
  for (int64_t d = 0; d < batch_ndim; ++d) count *= batch[d];
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 18) / std::max<int64_t>(1, M * N * K));
  parallel_for(0, count, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      int64_t off_a = 0, off_b = 0;  // the offsets of batch element i (its index unravelled over `batch`)
      for (int64_t d = batch_ndim - 1, rem = i; d >= 0; --d) {
        const int64_t idx = rem % batch[d];
        rem /= batch[d];
        off_a += idx * a_batch_strides[d];
        off_b += idx * b_batch_strides[d];
      }
      gemm<T>(trans_a, trans_b, M, N, K, T(1), A + off_a, lda, B + off_b, ldb, T(0), C + i * M * N, N);
    }
  });
}

namespace {
template <class T>
void relu_rows(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] < T(0) ? T(0) : x[i];  // NaN passes, as relu's
}
}  // namespace

template <class T>
Activation<T> relu_activation() {
  return &relu_rows<T>;
}

template <class T>
Activation<T> gelu_activation(bool tanh_approximation) {
  if constexpr (std::is_same_v<T, float>) {
    const VecMath& vm = vecmath();
    return tanh_approximation ? vm.gelu_tanh : vm.gelu_erf;
  }
  return nullptr;  // double: the caller runs the separate gelu op
}

#define PYSEQ_INSTANTIATE(T)                                                                                   \
  template void gemm_batched<T>(bool, bool, int64_t, int64_t, int64_t, const T*, int64_t, const int64_t*,     \
                                const T*, int64_t, const int64_t*, T*, const int64_t*, int64_t);              \
  template Activation<T> relu_activation<T>();                                                                 \
  template Activation<T> gelu_activation<T>(bool);
PYSEQ_INSTANTIATE(float)
PYSEQ_INSTANTIATE(double)
template void gemm_batched<int64_t>(bool, bool, int64_t, int64_t, int64_t, const int64_t*, int64_t, const int64_t*,
                                    const int64_t*, int64_t, const int64_t*, int64_t*, const int64_t*, int64_t);
#undef PYSEQ_INSTANTIATE

}  // namespace pyseq::kernels::cpu
