// Declarations of the generated Unicode tables (cpp/src/text/unicode_tables.cpp). Read them through
// pyseq/text/unicode.h.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pyseq::text::tables {

struct CodeMap { uint32_t cp; uint32_t value; };
// length: bits 0-7; bit 8 set for characters newer than Unicode 12.1.
struct Decomposition { uint32_t cp; uint32_t offset; uint32_t length; };

extern const uint8_t kStage1[0x1100];   // (cp >> 8) -> block in kStage2
extern const uint32_t kStage2[][256];   // block, (cp & 0xFF) -> flag bits (see unicode.h)
extern const CodeMap kLower[];           // sorted by cp: simple lowercase (bit 31: Unicode 17.0 only)
extern const size_t kLowerCount;
extern const CodeMap kCombiningClass[];  // sorted by cp: combining class (bits 0-7; bit 8: newer than 12.1)
extern const size_t kCombiningClassCount;
extern const Decomposition kDecomposition[];  // sorted by cp: full canonical decomposition
extern const size_t kDecompositionCount;
extern const uint32_t kDecompositionData[];

}  // namespace pyseq::text::tables
