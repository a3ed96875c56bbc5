// The global, seedable random generator behind rand/randn/randint.
#pragma once

#include <cstdint>
#include <random>

namespace pyseq {

void manual_seed(uint64_t seed);
std::mt19937_64& generator();

}  // namespace pyseq
