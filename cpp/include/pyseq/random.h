// Random numbers through one door: a counter-based generator (Philox-4x32-10) keyed by (seed,
// offset). Every random op reserves a range of counters from the global state and draws value i
// from counter offset + i / values_per_block, so a result depends only on the seed and the order
// of the ops, never on how many threads share the work.
#pragma once

#include <array>
#include <cstdint>

namespace pyseq {

// Where the global generator stands: the seed and the next unused counter.
struct RngState {
  uint64_t seed = 0;
  uint64_t offset = 0;
};

constexpr uint64_t kDefaultSeed = 67280421310721ull;  // PyTorch's default seed

void manual_seed(uint64_t seed);  // seed, counters from 0
uint64_t initial_seed();
RngState get_rng_state();
void set_rng_state(RngState state);
// Reserves `blocks` counters for one op and returns where they start (thread-safe).
RngState reserve_rng(uint64_t blocks);

// One Philox-4x32-10 block: four 32-bit random words from a 64-bit key and a 128-bit counter
// (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011).
inline std::array<uint32_t, 4> philox4x32(uint64_t key, uint64_t counter_lo, uint64_t counter_hi = 0) {
  uint32_t c0 = static_cast<uint32_t>(counter_lo), c1 = static_cast<uint32_t>(counter_lo >> 32);
  uint32_t c2 = static_cast<uint32_t>(counter_hi), c3 = static_cast<uint32_t>(counter_hi >> 32);
  uint32_t k0 = static_cast<uint32_t>(key), k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t{0xD2511F53u} * c0, p1 = uint64_t{0xCD9E8D57u} * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += 0x9E3779B9u;  // the Weyl sequence of the key schedule
    k1 += 0xBB67AE85u;
  }
  return {c0, c1, c2, c3};
}

// A uniform float in [0, 1) from the top 24 bits of a word, a double from 53 bits of two words.
inline float uniform_float(uint32_t w) { return static_cast<float>(w >> 8) * 0x1.0p-24f; }
inline double uniform_double(uint32_t lo, uint32_t hi) {
  return static_cast<double>(((uint64_t{hi} << 32) | lo) >> 11) * 0x1.0p-53;
}

}  // namespace pyseq
