// Included first by every kernel header: kernels sit above tensor and are called by ops only,
// never by tensor, text or the bindings (DESIGN.md); an include from there does not compile.
#pragma once

#if defined(PYSEQ_LAYER_TENSOR) || defined(PYSEQ_LAYER_TEXT) || defined(PYSEQ_LAYER_BINDINGS)
#error "kernels sit above tensor and are called by ops only, never by tensor, text or the bindings (DESIGN.md)"
#endif
