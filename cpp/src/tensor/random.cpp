// The global state of the counter-based generator (see pyseq/random.h).
#include "pyseq/random.h"

#include <mutex>

namespace pyseq {
namespace {

std::mutex g_rng_mutex;
RngState g_rng{kDefaultSeed, 0};

}  // namespace

void manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  g_rng = {seed, 0};
}

uint64_t initial_seed() {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  return g_rng.seed;
}

RngState get_rng_state() {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  return g_rng;
}

void set_rng_state(RngState state) {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  g_rng = state;
}

RngState reserve_rng(uint64_t blocks) {
  std::lock_guard<std::mutex> lock(g_rng_mutex);
  const RngState start = g_rng;
  g_rng.offset += blocks;
  return start;
}

}  // namespace pyseq
