// Random fills from the counter-based generator (pyseq/random.h). Element i of a fill that starts
// at `state` comes from Philox block (state.seed, state.offset + i / per_block), whichever thread
// computes it. blocks_for(n, per_block) is how many counters a fill of n elements uses.
#pragma once

#include "../layer.h"  // kernels are called by ops only

#include <cstdint>

#include "pyseq/random.h"

namespace pyseq::kernels::cpu {

constexpr int64_t blocks_for(int64_t n, int64_t per_block) { return (n + per_block - 1) / per_block; }

// Values drawn per Philox block: four from 32-bit words for float, two from 64 bits for double and int64.
template <class T> constexpr int64_t values_per_block() { return sizeof(T) == 4 ? 4 : 2; }
constexpr int64_t kRandintPerBlock = 2;  // randint draws 64 bits per value, whatever T

// out (n,): uniform in [low, high) (rounding into a float can reach `high`: it is pulled back below it).
template <class T> void fill_uniform(T* out, int64_t n, RngState state, double low, double high);
// out (n,): normal with mean and std, by the Box-Muller transform of two uniforms.
template <class T> void fill_normal(T* out, int64_t n, RngState state, double mean, double std);
// out (n,): integers uniform in [low, high), high > low.
template <class T> void fill_randint(T* out, int64_t n, RngState state, int64_t low, int64_t high);
// mask (n,): keep_scale where a uniform draw is below 1 - p, else 0 (inverted dropout). 4 per block.
template <class T> void fill_dropout_mask(T* mask, int64_t n, RngState state, double p);

}  // namespace pyseq::kernels::cpu
