// Element types, devices and the run-time dispatch from a DType to a C++ type.
#pragma once

#include <cstdint>

#include "pyseq/common.h"

namespace pyseq {

enum class DType : uint8_t { Bool, Int64, Float32, Float64 };

inline const char* dtype_name(DType dt) {
  switch (dt) {
    case DType::Bool: return "bool";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
  }
  return "?";
}
inline std::ostream& operator<<(std::ostream& os, DType dt) { return os << dtype_name(dt); }

inline size_t itemsize(DType dt) {
  switch (dt) {
    case DType::Bool: return 1;
    case DType::Int64: return 8;
    case DType::Float32: return 4;
    case DType::Float64: return 8;
  }
  return 0;
}

inline bool is_floating(DType dt) { return dt == DType::Float32 || dt == DType::Float64; }

// Type promotion for binary ops between tensors: bool < int64 < float32 < float64.
inline DType promote(DType a, DType b) { return a > b ? a : b; }

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<bool>() { return DType::Bool; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }

// dispatch_*(dt, op, f) calls f(T{}) with the C++ type T of `dt`; `op` names the caller in the
// TypeError raised for a dtype the op does not support. Inside f: `using T = decltype(tag);`.
template <class F>
decltype(auto) dispatch_float(DType dt, const char* op, F&& f) {
  switch (dt) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    default: break;
  }
  throw TypeError(str(op, ": expected a floating point tensor (float32 or float64), got ", dt));
}

template <class F>
decltype(auto) dispatch_numeric(DType dt, const char* op, F&& f) {
  if (dt == DType::Int64) return f(int64_t{});
  if (dt == DType::Bool) throw TypeError(str(op, ": not supported for bool tensors"));
  return dispatch_float(dt, op, std::forward<F>(f));
}

template <class F>
decltype(auto) dispatch_all(DType dt, F&& f) {
  switch (dt) {
    case DType::Bool: return f(bool{});
    case DType::Int64: return f(int64_t{});
    case DType::Float32: return f(float{});
    case DType::Float64: break;
  }
  return f(double{});
}

enum class DeviceType : uint8_t { CPU, CUDA };

// Where a tensor's storage lives. Only the CPU has kernels today; the field exists so that a CUDA
// backend can be added without changing tensors, storage or the ops' signatures.
struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;
  bool operator==(const Device& o) const { return type == o.type && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};
inline std::ostream& operator<<(std::ostream& os, Device d) {
  return d.type == DeviceType::CPU ? os << "cpu" : os << "cuda:" << d.index;
}

// A Python-style number: bools, ints and floats keep their kind for type promotion.
struct Scalar {
  enum class Kind : uint8_t { Bool, Int, Float } kind = Kind::Float;
  double f = 0;
  int64_t i = 0;
  Scalar() = default;
  Scalar(double v) : kind(Kind::Float), f(v), i(static_cast<int64_t>(v)) {}
  Scalar(float v) : Scalar(static_cast<double>(v)) {}
  Scalar(int64_t v) : kind(Kind::Int), f(static_cast<double>(v)), i(v) {}
  Scalar(int v) : Scalar(static_cast<int64_t>(v)) {}
  Scalar(bool v) : kind(Kind::Bool), f(v), i(v) {}
  template <class T> T to() const {
    if constexpr (std::is_floating_point_v<T>) return static_cast<T>(kind == Kind::Float ? f : static_cast<double>(i));
    else return kind == Kind::Float ? static_cast<T>(f) : static_cast<T>(i);
  }
  // Raises when this number has no value of `dt`: NaN, an infinity or a float beyond int64's range
  // written into an int64 tensor (PyTorch: "value cannot be converted ... without overflow").
  void check_fits(DType dt, const char* op) const {
    if (kind != Kind::Float || dt != DType::Int64) return;
    PYSEQ_CHECK(f == f && f >= -0x1p63 && f < 0x1p63, RuntimeError, op, ": value ", f,
                " cannot be converted to type int64 without overflow");
  }
  // The dtype a tensor made from this number gets when combined with a tensor of `other`.
  DType dtype_with(DType other) const {
    if (kind == Kind::Float) return is_floating(other) ? other : DType::Float32;
    if (kind == Kind::Int) return other == DType::Bool ? DType::Int64 : other;
    return other;
  }
};

// The dtype of a tensor made from the number alone: float32, int64 or bool.
inline DType scalar_dtype(const Scalar& s) {
  return s.kind == Scalar::Kind::Float ? DType::Float32 : s.kind == Scalar::Kind::Int ? DType::Int64 : DType::Bool;
}

}  // namespace pyseq
