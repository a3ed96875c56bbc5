// Integer tensor arithmetic wraps around on overflow (two's complement), as in PyTorch and numpy,
// instead of being undefined behaviour: the integer cases compute in the unsigned type, where
// wrapping is defined. Floats (and bool) are plain + - * and unary minus. Device-neutral: the
// elementwise functors of every device call these.
#pragma once

#include <type_traits>

namespace pyseq {

template <class T>
constexpr bool kWraps = std::is_integral_v<T> && !std::is_same_v<T, bool>;

template <class T> T wrapping_add(T x, T y) {
  if constexpr (kWraps<T>) return T(std::make_unsigned_t<T>(x) + std::make_unsigned_t<T>(y)); else return x + y;
}
template <class T> T wrapping_sub(T x, T y) {
  if constexpr (kWraps<T>) return T(std::make_unsigned_t<T>(x) - std::make_unsigned_t<T>(y)); else return x - y;
}
template <class T> T wrapping_mul(T x, T y) {
  if constexpr (kWraps<T>) return T(std::make_unsigned_t<T>(x) * std::make_unsigned_t<T>(y)); else return x * y;
}
template <class T> T wrapping_neg(T x) { return wrapping_sub(T(0), x); }

}  // namespace pyseq
