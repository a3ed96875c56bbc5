// Errors, shapes and small utilities shared by every layer of the core.
#pragma once

#include <cstdint>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace pyseq {

using Shape = std::vector<int64_t>;

// Typed errors for user mistakes. The Python bindings map each to the Python exception of the
// same name; C++ users catch them as std::runtime_error.
struct ValueError : std::runtime_error { using std::runtime_error::runtime_error; };
struct TypeError : std::runtime_error { using std::runtime_error::runtime_error; };
struct IndexError : std::runtime_error { using std::runtime_error::runtime_error; };
struct RuntimeError : std::runtime_error { using std::runtime_error::runtime_error; };

inline std::ostream& operator<<(std::ostream& os, const Shape& shape) {
  os << '[';
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  return os << ']';
}

template <class... Args>
std::string str(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

// Throws Kind with the streamed message when `cond` is false. The message is built only on failure.
#define PYSEQ_CHECK(cond, Kind, ...)                                   \
  do {                                                                 \
    if (!(cond)) throw ::pyseq::Kind(::pyseq::str(__VA_ARGS__));       \
  } while (0)

inline int64_t numel_of(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

// Sums and products of sizes (lengths, element and byte counts) that come from user input: the
// result, or a ValueError "<op>: <what> does not fit in int64". Every size computed from user
// input goes through these two, so none can wrap around.
template <class... What>
int64_t size_add(int64_t a, int64_t b, const char* op, const What&... what) {
  int64_t sum;
  PYSEQ_CHECK(!__builtin_add_overflow(a, b, &sum), ValueError, op, ": ", what..., " does not fit in int64");
  return sum;
}

template <class... What>
int64_t size_mul(int64_t a, int64_t b, const char* op, const What&... what) {
  int64_t product;
  PYSEQ_CHECK(!__builtin_mul_overflow(a, b, &product), ValueError, op, ": ", what..., " does not fit in int64");
  return product;
}

// numel_of for a shape that came from a user: ValueError if a size is negative or the element
// count does not fit in int64.
inline int64_t checked_numel(const Shape& shape, const char* op) {
  int64_t n = 1;
  for (int64_t s : shape) {
    PYSEQ_CHECK(s >= 0, ValueError, op, ": sizes must be non-negative, got shape ", shape);
    n = size_mul(n, s, op, "the number of elements of shape ", shape);
  }
  return n;
}

// Row-major strides (in elements) of a contiguous tensor of `shape`. Only a shape with a zero size
// can overflow them (checked_numel bounds the others); such a tensor has no element to address,
// so its strides saturate at INT64_MAX.
inline Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t step = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = step;
    if (__builtin_mul_overflow(step, shape[i] > 1 ? shape[i] : 1, &step)) step = INT64_MAX;
  }
  return strides;
}

// Maps a possibly negative dim into [0, ndim); IndexError names the valid range otherwise.
inline int64_t wrap_dim(int64_t dim, int64_t ndim) {
  int64_t n = ndim > 0 ? ndim : 1;  // a 0-d tensor accepts dim 0 and -1, like PyTorch
  PYSEQ_CHECK(dim >= -n && dim < n, IndexError, "dimension out of range (expected to be in range of [",
              -n, ", ", n - 1, "], but got ", dim, ")");
  return dim < 0 ? dim + n : dim;
}

}  // namespace pyseq
