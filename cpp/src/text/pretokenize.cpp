// The pre-tokenization regexes of GPT-2, cl100k_base and o200k_base as hand-written scanners. Each
// scanner returns, at position i, the end of the match the regex engine (leftmost-first
// alternation with backtracking) would find; the comments give each alternative.
#include <cstring>

#include "pyseq/common.h"
#include "pyseq/text/bpe.h"
#include "pyseq/text/unicode.h"

namespace pyseq::text {
namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

// Character classes used by the patterns.
enum : uint8_t { L = 1, N = 2, S = 4, UPPER = 8, LOWER = 16, LMO = 32, MARK = 64 };

struct AsciiClasses {
  uint8_t c[128];
  AsciiClasses() {
    for (int i = 0; i < 128; ++i) {
      uint8_t f = 0;
      if ((i >= 'a' && i <= 'z')) f = L | LOWER;
      else if (i >= 'A' && i <= 'Z') f = L | UPPER;
      else if (i >= '0' && i <= '9') f = N;
      else if ((i >= 0x09 && i <= 0x0D) || i == ' ') f = S;
      c[i] = f;
    }
  }
};
const AsciiClasses kAscii;

inline uint8_t classes_of(char32_t cp) {
  if (cp < 0x80) return kAscii.c[cp];
  const uint32_t f = unicode_flags(cp);
  uint8_t out = 0;
  if (f & kLetter) out |= L;
  if (f & kNumber) out |= N;
  if (f & kWhitespace) out |= S;
  if (f & kUpperTitle) out |= UPPER;
  if (f & kLower) out |= LOWER;
  if (f & kModOtherLetter) out |= LMO;
  if (f & kMark) out |= MARK;
  return out;
}

// A cursor over the text: the code point at a byte position, its classes and its length.
struct Scanner {
  std::string_view s;
  size_t n;
  explicit Scanner(std::string_view text) : s(text), n(text.size()) {}

  struct Char {
    char32_t cp;
    uint8_t cls;
    uint8_t len;
  };
  Char at(size_t i) const {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) return {b, kAscii.c[b], 1};
    size_t j = i;
    const char32_t cp = utf8_next(s, j);
    return {cp, classes_of(cp), static_cast<uint8_t>(j - i)};
  }
  bool is(size_t i, uint8_t cls) const { return i < n && (at(i).cls & cls); }
  static bool other(uint8_t cls) { return !(cls & (L | N | S)); }  // [^\s\p{L}\p{N}]
  bool is_other(size_t i) const { return i < n && other(at(i).cls); }
  bool is_newline(size_t i) const { return i < n && (s[i] == '\r' || s[i] == '\n'); }

  // End of the run of characters with any of `cls`, from i.
  size_t run(size_t i, uint8_t cls) const {
    while (i < n) {
      const Char c = at(i);
      if (!(c.cls & cls)) break;
      i += c.len;
    }
    return i;
  }
  size_t run_other(size_t i) const {
    while (i < n) {
      const Char c = at(i);
      if (!other(c.cls)) break;
      i += c.len;
    }
    return i;
  }
  size_t run_bytes(size_t i, const char* set) const {
    while (i < n && std::strchr(set, s[i]) && s[i] != '\0') ++i;
    return i;
  }

  // The whitespace alternatives shared by the patterns, at whitespace position i.
  //   trailing_to_end: `\s++$` is tried first (cl100k, gpt2)
  //   newline: `\s*[\r\n]` (cl100k) / `\s*[\r\n]+` (o200k) is tried next
  //   then `\s+(?!\S)`, then `\s` / `\s+`.
  size_t whitespace(size_t i, bool trailing_to_end, bool newline) const {
    size_t j = i, last = i, count = 0, last_newline = kNone;
    while (j < n) {
      const Char c = at(j);
      if (!(c.cls & S)) break;
      if (c.cp == '\r' || c.cp == '\n') last_newline = j;
      last = j;
      j += c.len;
      ++count;
    }
    if (trailing_to_end && j == n) return n;
    if (newline && last_newline != kNone) return last_newline + 1;
    if (j == n) return n;             // \s+(?!\S) at the end of the text
    if (count >= 2) return last;      // \s+(?!\S): all but the last whitespace
    return j;                         // \s
  }

  // Case-insensitive contraction at i ('s 't 'm 'd 'll 've 're); returns its end or kNone.
  // `all` = the gpt2 set is case-sensitive; (?i) also matches U+017F (long s) for 's'.
  size_t contraction(size_t i, bool ignore_case) const {
    if (i >= n || s[i] != '\'' || i + 1 >= n) return kNone;
    const Char c1 = at(i + 1);
    auto eq = [&](char32_t c, char lower) {
      if (c == static_cast<char32_t>(lower)) return true;
      if (!ignore_case) return false;
      if (c == static_cast<char32_t>(lower - 32)) return true;
      return lower == 's' && c == 0x17F;
    };
    if (eq(c1.cp, 's') || eq(c1.cp, 't') || eq(c1.cp, 'm') || eq(c1.cp, 'd')) return i + 1 + c1.len;
    const size_t k = i + 1 + c1.len;
    if (k >= n) return kNone;
    const Char c2 = at(k);
    if ((eq(c1.cp, 'l') && eq(c2.cp, 'l')) || (eq(c1.cp, 'v') && eq(c2.cp, 'e')) ||
        (eq(c1.cp, 'r') && eq(c2.cp, 'e')))
      return k + c2.len;
    return kNone;
  }
};

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
size_t next_gpt2(const Scanner& sc, size_t i) {
  const Scanner::Char c = sc.at(i);
  if (c.cp == '\'') {
    const size_t e = sc.contraction(i, false);
    if (e != kNone) return e;
  }
  const size_t p = c.cp == ' ' ? i + 1 : i;  // the optional leading space
  if (p < sc.n) {
    const Scanner::Char d = p == i ? c : sc.at(p);
    if (d.cls & L) return sc.run(p, L);
    if (d.cls & N) return sc.run(p, N);
    if (Scanner::other(d.cls)) return sc.run_other(p);
  }
  return sc.whitespace(i, true, false);
}

// '(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s
size_t next_cl100k(const Scanner& sc, size_t i) {
  const Scanner::Char c = sc.at(i);
  if (c.cp == '\'') {
    const size_t e = sc.contraction(i, true);
    if (e != kNone) return e;
  }
  if (c.cls & L) return sc.run(i + c.len, L);
  if (!(c.cls & N) && c.cp != '\r' && c.cp != '\n' && sc.is(i + c.len, L)) return sc.run(i + c.len, L);
  if (c.cls & N) {
    size_t e = i + c.len;
    for (int k = 1; k < 3 && sc.is(e, N); ++k) e += sc.at(e).len;
    return e;
  }
  const size_t p = c.cp == ' ' && sc.is_other(i + 1) ? i + 1 : i;
  if (sc.is_other(p)) return sc.run_bytes(sc.run_other(p), "\r\n");
  return sc.whitespace(i, true, true);
}

// o200k's letter alternatives from p: [A]*[B]+ (first) or [A]+[B]* (second), where
// A = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] and B = [\p{Ll}\p{Lm}\p{Lo}\p{M}]. kNone when no match.
constexpr uint8_t kA = UPPER | LMO | MARK, kB = LOWER | LMO | MARK;

size_t o200k_upper_then_lower(const Scanner& sc, size_t p) {
  size_t q = p, last_b = kNone, last_b_len = 0;
  while (q < sc.n) {
    const Scanner::Char c = sc.at(q);
    if (!(c.cls & kA)) break;
    if (c.cls & kB) last_b = q, last_b_len = c.len;
    q += c.len;
  }
  if (sc.is(q, kB)) return sc.run(q, kB);       // A* took the whole run, B+ goes on from there
  if (last_b != kNone) return last_b + last_b_len;  // A* gave back up to its last B character
  return kNone;
}

size_t o200k_upper_run(const Scanner& sc, size_t p) {
  const size_t q = sc.run(p, kA);
  return q == p ? kNone : sc.run(q, kB);
}

// [^\r\n\p{L}\p{N}]?[A]*[B]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[A]+[B]*(?i:...)?|\p{N}{1,3}|
//  ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
size_t next_o200k(const Scanner& sc, size_t i) {
  const Scanner::Char c = sc.at(i);
  const bool prefix = !(c.cls & (L | N)) && c.cp != '\r' && c.cp != '\n';
  size_t e = kNone;
  if (prefix) e = o200k_upper_then_lower(sc, i + c.len);
  if (e == kNone) e = o200k_upper_then_lower(sc, i);
  if (e == kNone && prefix) e = o200k_upper_run(sc, i + c.len);
  if (e == kNone) e = o200k_upper_run(sc, i);
  if (e != kNone) {
    static const char* const kSuffixes[] = {"s", "t", "re", "ve", "m", "ll", "d"};
    if (e < sc.n && sc.s[e] == '\'') {
      for (const char* suf : kSuffixes) {  // (?i:'s|'t|'re|'ve|'m|'ll|'d), in this order
        size_t k = e + 1;
        bool ok = true;
        for (const char* q = suf; *q && ok; ++q) {
          if (k >= sc.n) {
            ok = false;
            break;
          }
          const Scanner::Char d = sc.at(k);
          ok = d.cp == static_cast<char32_t>(*q) || d.cp == static_cast<char32_t>(*q - 32) ||
               (*q == 's' && d.cp == 0x17F);
          k += d.len;
        }
        if (ok) return k;
      }
    }
    return e;
  }
  if (c.cls & N) {
    size_t end = i + c.len;
    for (int k = 1; k < 3 && sc.is(end, N); ++k) end += sc.at(end).len;
    return end;
  }
  const size_t p = c.cp == ' ' && sc.is_other(i + 1) ? i + 1 : i;
  if (sc.is_other(p)) return sc.run_bytes(sc.run_other(p), "\r\n/");
  return sc.whitespace(i, false, true);
}

}  // namespace

Pattern pattern_from_name(std::string_view name) {
  if (name == "gpt2" || name == "r50k_base" || name == "p50k_base") return Pattern::kGpt2;
  if (name == "cl100k_base" || name == "cl100k") return Pattern::kCl100k;
  if (name == "o200k_base" || name == "o200k") return Pattern::kO200k;
  if (name == "none") return Pattern::kNone;
  throw ValueError(str("unknown pre-tokenization pattern '", name,
                       "' (expected 'gpt2', 'r50k_base', 'p50k_base', 'cl100k_base', 'o200k_base' or 'none')"));
}

void pre_tokenize(Pattern pattern, std::string_view text, std::vector<std::pair<uint32_t, uint32_t>>& pieces) {
  pieces.clear();
  if (text.empty()) return;
  if (pattern == Pattern::kNone) {
    pieces.emplace_back(0, static_cast<uint32_t>(text.size()));
    return;
  }
  const Scanner sc(text);
  for (size_t i = 0; i < sc.n;) {
    size_t e = pattern == Pattern::kGpt2 ? next_gpt2(sc, i) : pattern == Pattern::kCl100k ? next_cl100k(sc, i)
                                                                                          : next_o200k(sc, i);
    if (e <= i) e = i + sc.at(i).len;  // cannot happen for valid input; never loop forever
    pieces.emplace_back(static_cast<uint32_t>(i), static_cast<uint32_t>(e));
    i = e;
  }
}

}  // namespace pyseq::text
