// Lookups into the generated Unicode tables, and UTF-8 helpers.
#include "pyseq/text/unicode.h"

#include <algorithm>

#include "pyseq/common.h"
#include "unicode_tables.h"

namespace pyseq::text {
namespace {

template <class T>
const T* find_cp(const T* table, size_t n, char32_t cp) {
  const T* end = table + n;
  const T* it = std::lower_bound(table, end, cp, [](const T& e, char32_t c) { return e.cp < c; });
  return it != end && it->cp == cp ? it : nullptr;
}

}  // namespace

uint32_t unicode_flags(char32_t cp) {
  if (cp >= 0x110000) return 0;
  return tables::kStage2[tables::kStage1[cp >> 8]][cp & 0xFF];
}

void append_lowercase(char32_t cp, std::u32string& out, UnicodeProfile profile) {
  if (cp < 0x80) {
    out.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    return;
  }
  if (cp == 0x130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE -> i + COMBINING DOT ABOVE
    out.push_back(U'i');
    out.push_back(0x307);
    return;
  }
  const auto* e = find_cp(tables::kLower, tables::kLowerCount, cp);
  if (e && (e->value >> 31) && profile == UnicodeProfile::kUnicode16) e = nullptr;  // a 17.0 letter
  out.push_back(e ? (e->value & 0x7FFFFFFFu) : cp);
}

void append_decomposition(char32_t cp, std::u32string& out, UnicodeProfile profile) {
  if (cp < 0xC0) {
    out.push_back(cp);
    return;
  }
  const auto* e = find_cp(tables::kDecomposition, tables::kDecompositionCount, cp);
  if (!e || ((e->length >> 8) && profile == UnicodeProfile::kHuggingFace)) {  // newer than HF's 12.1
    out.push_back(cp);
    return;
  }
  out.append(reinterpret_cast<const char32_t*>(tables::kDecompositionData + e->offset), e->length & 0xFF);
}

uint8_t combining_class(char32_t cp, UnicodeProfile profile) {
  if (cp < 0x300) return 0;
  const auto* e = find_cp(tables::kCombiningClass, tables::kCombiningClassCount, cp);
  if (!e || ((e->value >> 8) && profile == UnicodeProfile::kHuggingFace)) return 0;
  return static_cast<uint8_t>(e->value & 0xFF);
}

bool is_bert_chinese(char32_t c, bool hugging_face_range) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) ||
         (c >= (hugging_face_range ? 0x2B920u : 0x2B820u) && c <= 0x2CEAF) || (c >= 0xF900 && c <= 0xFAFF) ||
         (c >= 0x2F800 && c <= 0x2FA1F);
}

void utf8_append(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

void utf8_check(std::string_view s, const char* what) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char b = p[i];
    if (b < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    char32_t cp = 0, min = 0;
    if ((b & 0xE0) == 0xC0) len = 2, cp = b & 0x1F, min = 0x80;
    else if ((b & 0xF0) == 0xE0) len = 3, cp = b & 0x0F, min = 0x800;
    else if ((b & 0xF8) == 0xF0) len = 4, cp = b & 0x07, min = 0x10000;
    bool ok = len > 0 && i + len <= n;
    for (size_t k = 1; ok && k < len; ++k) {
      ok = (p[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    ok = ok && cp >= min && cp < 0x110000 && !(cp >= 0xD800 && cp < 0xE000);
    PYSEQ_CHECK(ok, ValueError, what, ": invalid UTF-8 at byte ", i, " (byte 0x", std::hex, int(b), ")");
    i += len;
  }
}

}  // namespace pyseq::text
