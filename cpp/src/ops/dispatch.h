// The one dispatch point from a tensor's (device, dtype) to the kernels that serve it.
//
//   PYSEQ_DISPATCH(FLOAT, x.device(), x.dtype(), "layer_norm", {
//     dev::layer_norm_forward<T>(x.data<T>(), ...);
//   });
//
// runs the block with `T` the element type and `dev` the kernel namespace of the device:
// kernels::cpu, or kernels::cuda in a build with CUDA (PYSEQ_WITH_CUDA). Both namespaces declare
// the same raw-pointer signatures, so an op is written once for every device. The dtype sets:
// FLOAT (float32, float64), NUMERIC (+ int64), ALL (+ bool); a dtype outside the set raises
// TypeError naming the op, a device without kernels raises RuntimeError.
#pragma once

#include "pyseq/dtype.h"

namespace pyseq::detail {

template <class F> decltype(auto) dispatch_FLOAT(DType dt, const char* op, F&& f) { return dispatch_float(dt, op, f); }
template <class F> decltype(auto) dispatch_NUMERIC(DType dt, const char* op, F&& f) { return dispatch_numeric(dt, op, f); }
template <class F> decltype(auto) dispatch_ALL(DType dt, const char*, F&& f) { return dispatch_all(dt, f); }

}  // namespace pyseq::detail

#ifdef PYSEQ_WITH_CUDA
#define PYSEQ_DISPATCH_CUDA_CASE(KIND, DTYPE, OP, ...)                                  \
  case ::pyseq::DeviceType::CUDA: {                                                     \
    namespace dev = ::pyseq::kernels::cuda;                                               \
    ::pyseq::detail::dispatch_##KIND((DTYPE), (OP), [&](auto pyseq_type_tag_) {         \
      using T [[maybe_unused]] = decltype(pyseq_type_tag_);                                            \
      __VA_ARGS__                                                                       \
    });                                                                                 \
    break;                                                                              \
  }
#else
#define PYSEQ_DISPATCH_CUDA_CASE(KIND, DTYPE, OP, ...)
#endif

#define PYSEQ_DISPATCH(KIND, DEVICE, DTYPE, OP, ...)                                    \
  do {                                                                                  \
    const ::pyseq::Device pyseq_device_ = (DEVICE);                                     \
    switch (pyseq_device_.type) {                                                       \
      case ::pyseq::DeviceType::CPU: {                                                  \
        namespace dev = ::pyseq::kernels::cpu;                                            \
        ::pyseq::detail::dispatch_##KIND((DTYPE), (OP), [&](auto pyseq_type_tag_) {     \
          using T [[maybe_unused]] = decltype(pyseq_type_tag_);                                        \
          __VA_ARGS__                                                                   \
        });                                                                             \
        break;                                                                          \
      }                                                                                 \
      PYSEQ_DISPATCH_CUDA_CASE(KIND, DTYPE, OP, __VA_ARGS__)                            \
      default:                                                                          \
        throw ::pyseq::RuntimeError(::pyseq::str((OP), ": no kernels for ", pyseq_device_, \
                                                 " in this build"));                    \
    }                                                                                   \
  } while (0)
