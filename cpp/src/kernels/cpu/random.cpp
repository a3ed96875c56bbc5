#include "random.h"

#include <cmath>

#include "pyseq/parallel.h"

namespace pyseq::kernels::cpu {
namespace {

// Calls f(i, word_lo, word_hi) for the values i in [0, n): with 4 per block value i gets word i % 4
// (word_hi unused); with 2 per block it gets words 2 (i % 2) and 2 (i % 2) + 1. Blocks are split
// between threads, so the values do not depend on the thread count.
template <int64_t PerBlock, class F>
void for_each_draw(int64_t n, RngState state, const F& f) {
  const int64_t blocks = blocks_for(n, PerBlock);
  parallel_for(0, blocks, 4096, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const auto w = philox4x32(state.seed, state.offset + static_cast<uint64_t>(b));
      for (int64_t j = 0; j < PerBlock && b * PerBlock + j < n; ++j) {
        if constexpr (PerBlock == 4) f(b * 4 + j, w[j], 0u);
        else f(b * 2 + j, w[2 * j], w[2 * j + 1]);
      }
    }
  });
}

template <class T>
T uniform01(uint32_t lo, uint32_t hi) {
  if constexpr (sizeof(T) == 4) return uniform_float(lo);
  else return uniform_double(lo, hi);
}

}  // namespace

template <class T>
void fill_uniform(T* out, int64_t n, RngState state, double low, double high) {
  const T lo = static_cast<T>(low), span = static_cast<T>(high - low), top = static_cast<T>(high);
  for_each_draw<values_per_block<T>()>(n, state, [=](int64_t i, uint32_t a, uint32_t b) {
    const T v = lo + span * uniform01<T>(a, b);
    out[i] = v < top || span == T(0) ? v : std::nextafter(top, lo);
  });
}

// Box-Muller: the pair (u1, u2) of uniforms gives r cos(theta) and r sin(theta); value i takes the
// cosine for even i and the sine for odd i, from the uniforms of the pair's two draws.
template <class T>
void fill_normal(T* out, int64_t n, RngState state, double mean, double std) {
  constexpr int64_t per = values_per_block<T>();
  const int64_t blocks = blocks_for(n, per);
  parallel_for(0, blocks, 2048, [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const auto w = philox4x32(state.seed, state.offset + static_cast<uint64_t>(b));
      double u[per];
      for (int64_t j = 0; j < per; ++j) u[j] = per == 4 ? uniform_float(w[j]) : uniform_double(w[2 * j], w[2 * j + 1]);
      for (int64_t j = 0; j < per; j += 2) {  // one pair of uniforms -> two normals
        const double r = std::sqrt(-2.0 * std::log(1.0 - u[j]));  // 1 - u in (0, 1]: log never sees 0
        const double theta = 6.283185307179586 * u[j + 1];
        const int64_t i = b * per + j;
        if (i < n) out[i] = static_cast<T>(mean + std * r * std::cos(theta));
        if (i + 1 < n) out[i + 1] = static_cast<T>(mean + std * r * std::sin(theta));
      }
    }
  });
}

template <class T>
void fill_randint(T* out, int64_t n, RngState state, int64_t low, int64_t high) {
  const uint64_t range = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  for_each_draw<kRandintPerBlock>(n, state, [=](int64_t i, uint32_t a, uint32_t b) {
    const uint64_t r = (uint64_t{b} << 32) | a;
    // r * range / 2^64: a uniform pick in [0, range) without a division
    const uint64_t pick = static_cast<uint64_t>((static_cast<unsigned __int128>(r) * range) >> 64);
    out[i] = static_cast<T>(static_cast<uint64_t>(low) + pick);
  });
}

template <class T>
void fill_dropout_mask(T* mask, int64_t n, RngState state, double p) {
  const float keep = static_cast<float>(1.0 - p);
  const T keep_scale = p < 1 ? static_cast<T>(1.0 / (1.0 - p)) : T(0);
  for_each_draw<4>(n, state, [=](int64_t i, uint32_t w, uint32_t) {
    mask[i] = uniform_float(w) < keep ? keep_scale : T(0);
  });
}

template void fill_uniform<float>(float*, int64_t, RngState, double, double);
template void fill_uniform<double>(double*, int64_t, RngState, double, double);
template void fill_normal<float>(float*, int64_t, RngState, double, double);
template void fill_normal<double>(double*, int64_t, RngState, double, double);
template void fill_randint<int64_t>(int64_t*, int64_t, RngState, int64_t, int64_t);
template void fill_randint<float>(float*, int64_t, RngState, int64_t, int64_t);
template void fill_randint<double>(double*, int64_t, RngState, int64_t, int64_t);
template void fill_dropout_mask<float>(float*, int64_t, RngState, double);
template void fill_dropout_mask<double>(double*, int64_t, RngState, double);

}  // namespace pyseq::kernels::cpu
