// Compiled by ctest as if it were part of the tensor layer: including an ops header from there must
// fail (the test expects the compiler to refuse it; see the PYSEQ_LAYER_* guards and DESIGN.md).
#include "pyseq/ops.h"

int main() { return 0; }
