// File formats of BPE vocabularies: tiktoken's base64 ranks and GPT-2's byte-level alphabet.
#include <array>

#include "pyseq/common.h"
#include "pyseq/text/bpe.h"
#include "pyseq/text/unicode.h"

namespace pyseq::text {
namespace {

// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the rest to 256, 257, ...
struct ByteLevelTables {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, 512> to_byte{};
  ByteLevelTables() {
    to_byte.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      to_char[b] = printable ? static_cast<char32_t>(b) : next++;
      to_byte[to_char[b]] = static_cast<int16_t>(b);
    }
  }
};
const ByteLevelTables kByteLevel;

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::vector<std::pair<std::string, int32_t>> parse_tiktoken_ranks(std::string_view contents) {
  std::vector<std::pair<std::string, int32_t>> out;
  size_t line_no = 0;
  for (size_t pos = 0; pos < contents.size();) {
    size_t eol = contents.find('\n', pos);
    if (eol == std::string_view::npos) eol = contents.size();
    std::string_view line = contents.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    PYSEQ_CHECK(space != std::string_view::npos && space > 0, ValueError, "tiktoken file, line ", line_no,
                ": expected '<base64 token> <rank>'");
    std::string bytes;
    uint32_t acc = 0;
    int bits = 0;
    for (char c : line.substr(0, space)) {
      if (c == '=') break;
      const int v = base64_value(c);
      PYSEQ_CHECK(v >= 0, ValueError, "tiktoken file, line ", line_no, ": invalid base64 character '", c, "'");
      acc = (acc << 6) | static_cast<uint32_t>(v);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        bytes.push_back(static_cast<char>((acc >> bits) & 0xFF));
      }
    }
    int64_t rank = 0;
    const std::string_view num = line.substr(space + 1);
    PYSEQ_CHECK(!num.empty() && num.size() < 11, ValueError, "tiktoken file, line ", line_no, ": invalid rank");
    for (char c : num) {
      PYSEQ_CHECK(c >= '0' && c <= '9', ValueError, "tiktoken file, line ", line_no, ": invalid rank '", num, "'");
      rank = rank * 10 + (c - '0');
    }
    PYSEQ_CHECK(rank < (int64_t(1) << 31), ValueError, "tiktoken file, line ", line_no, ": rank too large");
    out.emplace_back(std::move(bytes), static_cast<int32_t>(rank));
  }
  return out;
}

std::string byte_level_encode(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char b : bytes) utf8_append(kByteLevel.to_char[b], out);
  return out;
}

std::string byte_level_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const char32_t c = utf8_next(text, i);
    PYSEQ_CHECK(c < 512 && kByteLevel.to_byte[c] >= 0, ValueError, "byte-level BPE: U+", std::hex, uint32_t(c),
                " is not in GPT-2's byte alphabet");
    out.push_back(static_cast<char>(kByteLevel.to_byte[c]));
  }
  return out;
}

}  // namespace pyseq::text
