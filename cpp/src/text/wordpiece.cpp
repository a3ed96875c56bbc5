// BERT normalizer, BERT pre-tokenizer and WordPiece. Each step keeps, for every byte it outputs,
// the byte span of the original text it came from, so token offsets point into the input.
#include "pyseq/text/wordpiece.h"

#include <algorithm>

#include "pyseq/common.h"
#include "pyseq/parallel.h"
#include "pyseq/text/unicode.h"

namespace pyseq::text {
namespace {

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// The normalizer on pure ASCII: one byte in, at most one byte out.
void normalize_ascii(std::string_view text, const BertNormalizerOptions& opts, NormalizedText& out) {
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (opts.clean_text) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) continue;  // Cc
      if (c == '\t' || c == '\n' || c == '\r') c = ' ';
    }
    if (opts.lowercase && c >= 'A' && c <= 'Z') c += 32;
    out.text.push_back(static_cast<char>(c));
    out.starts.push_back(static_cast<uint32_t>(i));
    out.ends.push_back(static_cast<uint32_t>(i + 1));
  }
}

// Canonical ordering: within each run of combining characters, a stable sort by combining class.
void canonical_reorder(std::u32string& chars, std::vector<uint32_t>& starts, std::vector<uint32_t>& ends) {
  const size_t n = chars.size();
  for (size_t i = 0; i < n;) {
    if (combining_class(chars[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < n && combining_class(chars[j]) != 0) ++j;
    for (size_t a = i + 1; a < j; ++a)  // insertion sort: runs are a few characters long
      for (size_t b = a; b > i && combining_class(chars[b - 1]) > combining_class(chars[b]); --b) {
        std::swap(chars[b - 1], chars[b]);
        std::swap(starts[b - 1], starts[b]);
        std::swap(ends[b - 1], ends[b]);
      }
    i = j;
  }
}

void normalize_unicode(std::string_view text, const BertNormalizerOptions& opts, NormalizedText& out) {
  std::u32string chars;
  std::vector<uint32_t> starts, ends;
  chars.reserve(text.size());
  bool reorder = false;
  auto push = [&](char32_t c, uint32_t b, uint32_t e) {
    if (opts.strip_accents && c >= 0xC0) {
      const size_t k = chars.size();
      append_decomposition(c, chars);
      for (size_t j = k; j < chars.size(); ++j) {
        starts.push_back(b);
        ends.push_back(e);
        reorder = reorder || combining_class(chars[j]) != 0;
      }
    } else {
      chars.push_back(c);
      starts.push_back(b);
      ends.push_back(e);
    }
  };
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<uint32_t>(i);
    char32_t c = utf8_next(text, i);
    const auto e = static_cast<uint32_t>(i);
    if (opts.clean_text) {
      if (c == 0 || c == 0xFFFD) continue;
      const uint32_t f = unicode_flags(c);
      if ((f & kBertControl) && c != '\t' && c != '\n' && c != '\r') continue;
      if (f & kWhitespace) c = ' ';
    }
    if (opts.handle_chinese_chars && is_bert_chinese(c)) {
      push(' ', b, e);
      push(c, b, e);
      push(' ', b, e);
    } else {
      push(c, b, e);
    }
  }
  if (opts.strip_accents && reorder) canonical_reorder(chars, starts, ends);
  std::u32string lower;
  for (size_t k = 0; k < chars.size(); ++k) {
    const char32_t c = chars[k];
    if (opts.strip_accents && has_flag(c, kBertNonspacingMark)) continue;
    lower.clear();
    if (opts.lowercase) append_lowercase(c, lower);
    else lower.push_back(c);
    for (char32_t l : lower) {
      const size_t before = out.text.size();
      utf8_append(l, out.text);
      out.starts.insert(out.starts.end(), out.text.size() - before, starts[k]);
      out.ends.insert(out.ends.end(), out.text.size() - before, ends[k]);
    }
  }
}

bool is_bert_punctuation(char32_t c) { return is_ascii_punctuation(c) || (c >= 0x80 && has_flag(c, kBertPunct)); }

}  // namespace

NormalizedText bert_normalize(std::string_view text, const BertNormalizerOptions& opts) {
  NormalizedText out;
  out.text.reserve(text.size());
  out.starts.reserve(text.size());
  out.ends.reserve(text.size());
  if (is_ascii(text)) normalize_ascii(text, opts, out);
  else normalize_unicode(text, opts, out);
  return out;
}

void bert_pre_tokenize(std::string_view text, std::vector<std::pair<uint32_t, uint32_t>>& words) {
  words.clear();
  size_t word_start = 0;
  bool in_word = false;
  for (size_t i = 0; i < text.size();) {
    const size_t b = i;
    const auto byte = static_cast<unsigned char>(text[i]);
    char32_t c;
    if (byte < 0x80) {
      c = byte;
      ++i;
    } else {
      c = utf8_next(text, i);
    }
    const bool space = c == ' ' || has_flag(c, kWhitespace);
    const bool punct = !space && is_bert_punctuation(c);
    if (space || punct) {
      if (in_word) words.emplace_back(word_start, b);
      in_word = false;
      if (punct) words.emplace_back(b, i);
    } else if (!in_word) {
      in_word = true;
      word_start = b;
    }
  }
  if (in_word) words.emplace_back(word_start, text.size());
}

namespace {

bool is_google_punctuation(char32_t c) { return is_ascii_punctuation(c) || (c >= 0x80 && has_flag(c, kPunct)); }

// Python's str.lower() of chars[a, b): full lowercase, and U+03A3 becomes final sigma when a cased
// letter precedes it and none follows (skipping case-ignorable characters both ways).
void lower_token(const std::u32string& chars, const std::vector<uint32_t>& starts, const std::vector<uint32_t>& ends,
                 size_t a, size_t b, std::u32string& out, std::vector<uint32_t>& out_starts,
                 std::vector<uint32_t>& out_ends) {
  for (size_t i = a; i < b; ++i) {
    const char32_t c = chars[i];
    const size_t before = out.size();
    if (c == 0x3A3) {
      size_t j = i;
      while (j > a && has_flag(chars[j - 1], kCaseIgnorable)) --j;
      bool final_sigma = j > a && has_flag(chars[j - 1], kCased);
      if (final_sigma) {
        size_t k = i + 1;
        while (k < b && has_flag(chars[k], kCaseIgnorable)) ++k;
        final_sigma = k == b || !has_flag(chars[k], kCased);
      }
      out.push_back(final_sigma ? 0x3C2 : 0x3C3);
    } else {
      append_lowercase(c, out, UnicodeProfile::kUnicode16);
    }
    out_starts.insert(out_starts.end(), out.size() - before, starts[i]);
    out_ends.insert(out_ends.end(), out.size() - before, ends[i]);
  }
}

}  // namespace

void google_basic_tokenize(std::string_view text, const BertNormalizerOptions& opts,
                           const std::vector<std::string>& never_split, NormalizedText& out,
                           std::vector<std::pair<uint32_t, uint32_t>>& words) {
  constexpr auto kU16 = UnicodeProfile::kUnicode16;
  out.text.clear();
  out.starts.clear();
  out.ends.clear();
  words.clear();
  // 1. clean text and space out CJK ideographs, keeping each character's span.
  std::u32string chars;
  std::vector<uint32_t> starts, ends;
  chars.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<uint32_t>(i);
    char32_t c = utf8_next(text, i);
    const auto e = static_cast<uint32_t>(i);
    if (opts.clean_text) {
      if (c == 0 || c == 0xFFFD) continue;
      const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
      if (!space && has_flag(c, kControl)) continue;
      if (space || has_flag(c, kSpaceSeparator)) c = ' ';
    }
    const bool cjk = opts.handle_chinese_chars && is_bert_chinese(c, false);
    if (cjk) chars.push_back(' '), starts.push_back(b), ends.push_back(e);
    chars.push_back(c), starts.push_back(b), ends.push_back(e);
    if (cjk) chars.push_back(' '), starts.push_back(b), ends.push_back(e);
  }
  // 2. whitespace tokens; 3. per token: lowercase, strip accents, split punctuation.
  std::u32string low, dec;
  std::vector<uint32_t> low_s, low_e, dec_s, dec_e;
  std::string token_text;
  auto emit = [&](const char32_t* cs, const uint32_t* ss, const uint32_t* es, size_t n, bool split_punct) {
    size_t word_start = out.text.size();
    bool in_word = false;
    auto close = [&]() {
      if (in_word) words.emplace_back(static_cast<uint32_t>(word_start), static_cast<uint32_t>(out.text.size()));
      in_word = false;
    };
    for (size_t k = 0; k < n; ++k) {
      const bool punct = split_punct && is_google_punctuation(cs[k]);
      if (punct) close();
      if (!in_word) {
        if (!out.text.empty()) {  // words are separated by one space (spanning nothing)
          out.text.push_back(' ');
          out.starts.push_back(ss[k]);
          out.ends.push_back(ss[k]);
        }
        word_start = out.text.size();
        in_word = true;
      }
      const size_t before = out.text.size();
      utf8_append(cs[k], out.text);
      out.starts.insert(out.starts.end(), out.text.size() - before, ss[k]);
      out.ends.insert(out.ends.end(), out.text.size() - before, es[k]);
      if (punct) close();
    }
    close();
  };
  for (size_t i = 0; i < chars.size();) {
    if (has_flag(chars[i], kPySpace)) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < chars.size() && !has_flag(chars[j], kPySpace)) ++j;
    if (!never_split.empty()) {
      token_text.clear();
      for (size_t k = i; k < j; ++k) utf8_append(chars[k], token_text);
      if (std::find(never_split.begin(), never_split.end(), token_text) != never_split.end()) {
        emit(chars.data() + i, starts.data() + i, ends.data() + i, j - i, false);
        i = j;
        continue;
      }
    }
    const char32_t* cs = chars.data() + i;
    const uint32_t *ss = starts.data() + i, *es = ends.data() + i;
    size_t n = j - i;
    if (opts.lowercase) {
      low.clear(), low_s.clear(), low_e.clear();
      lower_token(chars, starts, ends, i, j, low, low_s, low_e);
      cs = low.data(), ss = low_s.data(), es = low_e.data(), n = low.size();
    }
    if (opts.strip_accents) {
      dec.clear(), dec_s.clear(), dec_e.clear();
      bool reorder = false;
      for (size_t k = 0; k < n; ++k) {
        const size_t before = dec.size();
        append_decomposition(cs[k], dec, kU16);
        for (size_t q = before; q < dec.size(); ++q) {
          dec_s.push_back(ss[k]);
          dec_e.push_back(es[k]);
          reorder = reorder || combining_class(dec[q], kU16) != 0;
        }
      }
      if (reorder)  // canonical ordering within each run of combining characters
        for (size_t a = 0; a < dec.size();) {
          if (combining_class(dec[a], kU16) == 0) {
            ++a;
            continue;
          }
          size_t z = a;
          while (z < dec.size() && combining_class(dec[z], kU16) != 0) ++z;
          for (size_t x = a + 1; x < z; ++x)
            for (size_t y = x; y > a && combining_class(dec[y - 1], kU16) > combining_class(dec[y], kU16); --y) {
              std::swap(dec[y - 1], dec[y]);
              std::swap(dec_s[y - 1], dec_s[y]);
              std::swap(dec_e[y - 1], dec_e[y]);
            }
          a = z;
        }
      size_t kept = 0;  // drop nonspacing marks
      for (size_t k = 0; k < dec.size(); ++k) {
        if (has_flag(dec[k], kNonspacingMark)) continue;
        dec[kept] = dec[k], dec_s[kept] = dec_s[k], dec_e[kept] = dec_e[k];
        ++kept;
      }
      dec.resize(kept), dec_s.resize(kept), dec_e.resize(kept);
      cs = dec.data(), ss = dec_s.data(), es = dec_e.data(), n = dec.size();
    }
    emit(cs, ss, es, n, true);
    i = j;
  }
}

void basic_tokenize(std::string_view text, const BertNormalizerOptions& opts, const std::vector<std::string>& never_split,
                    NormalizedText& out, std::vector<std::pair<uint32_t, uint32_t>>& words) {
  if (opts.profile == BertProfile::kGoogle) {
    google_basic_tokenize(text, opts, never_split, out, words);
    return;
  }
  out = bert_normalize(text, opts);
  bert_pre_tokenize(out.text, words);
}

WordPieceTokenizer::WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options)
    : vocab_(std::move(vocab)), options_(std::move(options)) {
  PYSEQ_CHECK(!vocab_.empty(), ValueError, "WordPiece: the vocabulary is empty");
  PYSEQ_CHECK(options_.max_input_chars_per_word > 0, ValueError,
              "WordPiece: max_input_chars_per_word must be positive, got ", options_.max_input_chars_per_word);
  const std::string& prefix = options_.continuing_subword_prefix;
  for (size_t id = vocab_.size(); id-- > 0;) {  // from the end: a token listed twice keeps its last id, as
    const std::string& t = vocab_[id];          // Hugging Face's read_file and transformers' load_vocab do
    utf8_check(t, "WordPiece vocabulary");
    if (!tokens_.insert(t, static_cast<int32_t>(id))) continue;
    first_trie_.insert(t, static_cast<int32_t>(id));
    if (!prefix.empty() && t.size() > prefix.size() && t.compare(0, prefix.size(), prefix) == 0)
      continuation_.insert(std::string_view(t).substr(prefix.size()), static_cast<int32_t>(id));
  }
  first_trie_.build();
  continuation_.build();
  unk_id_ = tokens_.find(options_.unk_token);
  PYSEQ_CHECK(unk_id_ >= 0, ValueError, "WordPiece: the unknown token '", options_.unk_token,
              "' is not in the vocabulary");
  is_special_.assign(vocab_.size(), 0);
  for (const std::string& s : options_.special_tokens) {
    const int32_t id = tokens_.find(s);
    PYSEQ_CHECK(id >= 0, ValueError, "WordPiece: the special token '", s, "' is not in the vocabulary");
    PYSEQ_CHECK(!s.empty(), ValueError, "WordPiece: a special token is empty");
    special_ids_.push_back(id);
    is_special_[id] = 1;
  }
}

const std::string& WordPieceTokenizer::id_to_token(int32_t id) const {
  PYSEQ_CHECK(id >= 0 && static_cast<size_t>(id) < vocab_.size(), IndexError, "WordPiece: token id ", id,
              " is out of range for a vocabulary of ", vocab_.size());
  return vocab_[id];
}

void WordPieceTokenizer::encode_word(std::string_view word, const uint32_t* starts, const uint32_t* ends,
                                     Encoding& out) const {
  const size_t n = word.size();
  size_t chars = 0;
  for (unsigned char c : word) chars += (c & 0xC0) != 0x80;
  if (static_cast<int64_t>(chars) > options_.max_input_chars_per_word) {
    out.push(unk_id_, starts[0], ends[n - 1]);
    return;
  }
  if (n <= tokens_.max_key_length()) {  // most words are a token
    const int32_t id = tokens_.find(word);
    if (id >= 0) {
      out.push(id, starts[0], ends[n - 1]);
      return;
    }
  }
  // Greedy longest match: each piece is one walk down a trie, so a word costs
  // O(its length x the longest token), never a lookup per candidate substring.
  const size_t first = out.size();
  for (size_t s = 0; s < n;) {
    const TokenTrie& trie = s == 0 ? first_trie_ : continuation_;
    const auto [id, len] = trie.longest_prefix(word.substr(s));
    if (id < 0) {  // some piece has no match: the whole word is unknown
      out.truncate(first);
      out.push(unk_id_, starts[0], ends[n - 1]);
      return;
    }
    out.push(id, starts[s], ends[s + len - 1]);
    s += len;
  }
}

void WordPieceTokenizer::encode_segment_reference(std::string_view text, uint32_t base, Encoding& out) const {
  NormalizedText norm;
  std::vector<std::pair<uint32_t, uint32_t>> words;
  basic_tokenize(text, options_.normalizer, options_.never_split, norm, words);
  for (uint32_t& s : norm.starts) s += base;
  for (uint32_t& e : norm.ends) e += base;
  for (auto [b, e] : words)
    encode_word(std::string_view(norm.text).substr(b, e - b), norm.starts.data() + b, norm.ends.data() + b, out);
}

void WordPieceTokenizer::encode_segment(std::string_view text, uint32_t base, Encoding& out) const {
  if (text.empty()) return;
  if (reference_) encode_segment_reference(text, base, out);
  else if (options_.normalizer.profile == BertProfile::kHuggingFace) encode_segment_huggingface(text, base, out);
  else encode_segment_google(text, base, out);
}

namespace {

// A word being built: normalized bytes and, per byte, the span of the input it came from.
struct WordBuffer {
  std::string text;
  std::vector<uint32_t> starts, ends;
  bool reorder = false;  // holds combining marks that may need canonical reordering
  void push(char c, uint32_t b, uint32_t e) {
    text.push_back(c);
    starts.push_back(b);
    ends.push_back(e);
  }
  void push(char32_t c, uint32_t b, uint32_t e) {
    const size_t before = text.size();
    utf8_append(c, text);
    starts.insert(starts.end(), text.size() - before, b);
    ends.insert(ends.end(), text.size() - before, e);
  }
  void clear() {
    text.clear();
    starts.clear();
    ends.clear();
    reorder = false;
  }
};

// ASCII classes of the Hugging Face profile: dropped, whitespace, punctuation, word.
enum AsciiClass : uint8_t { kDrop, kSpace, kPunctuation, kWordChar };

AsciiClass hf_ascii_class(unsigned char c, bool clean_text) {
  if (clean_text && ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F)) return kDrop;
  if ((c >= 0x09 && c <= 0x0D) || c == ' ') return kSpace;
  if (is_ascii_punctuation(c)) return kPunctuation;
  return kWordChar;
}

}  // namespace

// Hugging Face profile, fused: each input character is cleaned, decomposed, filtered, lowercased
// and classified (space / punctuation / word) in one pass; words are encoded as they end.
void WordPieceTokenizer::encode_segment_huggingface(std::string_view text, uint32_t base, Encoding& out) const {
  const BertNormalizerOptions& o = options_.normalizer;
  AsciiClass ascii[128];
  for (int c = 0; c < 128; ++c) ascii[c] = hf_ascii_class(static_cast<unsigned char>(c), o.clean_text);
  WordBuffer w;
  auto flush = [&]() {
    if (w.text.empty()) return;
    if (w.reorder) {  // canonical ordering of the combining marks that stripping kept
      std::u32string cs;
      std::vector<uint32_t> ss, es;
      for (size_t i = 0; i < w.text.size();) {
        ss.push_back(w.starts[i]);
        es.push_back(w.ends[i]);
        cs.push_back(utf8_next(w.text, i));
      }
      canonical_reorder(cs, ss, es);
      w.clear();
      for (size_t k = 0; k < cs.size(); ++k) w.push(cs[k], ss[k], es[k]);
    }
    encode_word(w.text, w.starts.data(), w.ends.data(), out);
    w.clear();
  };
  std::u32string dec, low;
  for (size_t i = 0; i < text.size();) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const uint32_t b = base + static_cast<uint32_t>(i);
    if (byte < 0x80) {
      ++i;
      switch (ascii[byte]) {
        case kDrop: break;
        case kSpace: flush(); break;
        case kPunctuation:
          flush();
          w.push(static_cast<char>(byte), b, b + 1);
          flush();
          break;
        case kWordChar:
          w.push(static_cast<char>(o.lowercase && byte >= 'A' && byte <= 'Z' ? byte + 32 : byte), b, b + 1);
          break;
      }
      continue;
    }
    const char32_t c = utf8_next(text, i);
    const uint32_t e = base + static_cast<uint32_t>(i);
    const uint32_t f = unicode_flags(c);
    if (o.clean_text) {
      if (c == 0xFFFD || (f & kBertControl)) continue;
      if (f & kWhitespace) {
        flush();
        continue;
      }
    }
    const bool cjk = o.handle_chinese_chars && is_bert_chinese(c);
    if (cjk) flush();
    dec.clear();
    if (o.strip_accents) append_decomposition(c, dec);
    else dec.push_back(c);
    for (char32_t d : dec) {
      if (o.strip_accents && has_flag(d, kBertNonspacingMark)) continue;
      low.clear();
      if (o.lowercase) append_lowercase(d, low);
      else low.push_back(d);
      for (char32_t l : low) {
        if (l == ' ' || has_flag(l, kWhitespace)) {
          flush();
        } else if (is_bert_punctuation(l)) {
          flush();
          w.push(l, b, e);
          flush();
        } else {
          w.push(l, b, e);
          w.reorder = w.reorder || (o.strip_accents && combining_class(l) != 0);
        }
      }
    }
    if (cjk) flush();
  }
  flush();
}

// google profile: whitespace tokens of pure ASCII (most of them) are lowercased and split at
// punctuation inline; any other token goes through google_basic_tokenize.
void WordPieceTokenizer::encode_segment_google(std::string_view text, uint32_t base, Encoding& out) const {
  const BertNormalizerOptions& o = options_.normalizer;
  WordBuffer w;
  auto flush = [&]() {
    if (w.text.empty()) return;
    encode_word(w.text, w.starts.data(), w.ends.data(), out);
    w.clear();
  };
  NormalizedText norm;
  std::vector<std::pair<uint32_t, uint32_t>> words;
  std::string token;
  const size_t n = text.size();
  for (size_t i = 0; i < n;) {
    // A run up to the next separator (a space that cleaning keeps: ASCII ' ', \t, \n, \r here).
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == ' ' || byte == '\t' || byte == '\n' || byte == '\r' ||
        (!o.clean_text && ((byte >= 0x0B && byte <= 0x0C) || (byte >= 0x1C && byte <= 0x1F)))) {
      ++i;
      continue;
    }
    if (byte >= 0x80) {  // a non-ASCII separator (U+00A0, U+3000, U+2028, ...)
      size_t k = i;
      const char32_t cp = utf8_next(text, k);
      const bool dropped = o.clean_text && (cp == 0xFFFD || has_flag(cp, kControl));
      if (!dropped && has_flag(cp, kPySpace)) {
        i = k;
        continue;
      }
    }
    size_t j = i;
    bool simple = true;  // printable ASCII only
    while (j < n) {
      const auto c = static_cast<unsigned char>(text[j]);
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') break;
      if (c < 0x20 || c >= 0x7F) {
        simple = false;
        if (c < 0x80) {
          ++j;
          continue;
        }
        // A non-ASCII separator ends the run too (U+00A0, U+3000, U+2028, ...).
        size_t k = j;
        const char32_t cp = utf8_next(text, k);
        const bool dropped = o.clean_text && (cp == 0xFFFD || has_flag(cp, kControl));
        if (!dropped && has_flag(cp, kPySpace)) break;
        j = k;
        continue;
      }
      ++j;
    }
    const std::string_view run = text.substr(i, j - i);
    if (simple) {
      bool keep = false;
      if (!options_.never_split.empty())
        keep = std::find(options_.never_split.begin(), options_.never_split.end(), run) != options_.never_split.end();
      for (size_t k = 0; k < run.size(); ++k) {
        const auto c = static_cast<unsigned char>(run[k]);
        const uint32_t b = base + static_cast<uint32_t>(i + k);
        if (!keep && is_ascii_punctuation(c)) {
          flush();
          w.push(static_cast<char>(c), b, b + 1);
          flush();
        } else {
          w.push(static_cast<char>(!keep && o.lowercase && c >= 'A' && c <= 'Z' ? c + 32 : c), b, b + 1);
        }
      }
      flush();
    } else {
      google_basic_tokenize(run, o, options_.never_split, norm, words);
      const uint32_t at = base + static_cast<uint32_t>(i);
      for (uint32_t& s : norm.starts) s += at;
      for (uint32_t& e : norm.ends) e += at;
      for (auto [b, e] : words)
        encode_word(std::string_view(norm.text).substr(b, e - b), norm.starts.data() + b, norm.ends.data() + b, out);
    }
    i = j;
  }
}

Encoding WordPieceTokenizer::encode(std::string_view text) const {
  Encoding out;
  out.ids.reserve(text.size() / 4 + 4);
  // Next occurrence of each special token at or after `pos` (found again only once passed).
  std::vector<size_t> next(special_ids_.size());
  for (size_t k = 0; k < next.size(); ++k) next[k] = text.find(options_.special_tokens[k]);
  size_t pos = 0;
  while (pos < text.size()) {
    // The leftmost special token in the raw text (the longest one where several start there).
    size_t best = std::string_view::npos, best_len = 0;
    int32_t best_id = -1;
    for (size_t k = 0; k < special_ids_.size(); ++k) {
      const std::string& s = options_.special_tokens[k];
      if (next[k] != std::string_view::npos && next[k] < pos) next[k] = text.find(s, pos);
      const size_t at = next[k];
      if (at == std::string_view::npos) continue;
      if (at < best || (at == best && s.size() > best_len)) best = at, best_len = s.size(), best_id = special_ids_[k];
    }
    const size_t end = best == std::string_view::npos ? text.size() : best;
    encode_segment(text.substr(pos, end - pos), static_cast<uint32_t>(pos), out);
    if (best == std::string_view::npos) break;
    out.push(best_id, static_cast<uint32_t>(best), static_cast<uint32_t>(best + best_len));
    pos = best + best_len;
  }
  return out;
}

std::vector<Encoding> WordPieceTokenizer::encode_batch(const std::vector<std::string_view>& texts) const {
  std::vector<Encoding> out(texts.size());
  parallel_for(0, static_cast<int64_t>(texts.size()), 4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) out[i] = encode(texts[i]);
  });
  return out;
}

namespace {

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

// Hugging Face's `cleanup` of the WordPiece decoder, applied to each token.
void cleanup(std::string& t) {
  static const std::pair<std::string_view, std::string_view> rules[] = {
      {" .", "."},   {" ?", "?"},     {" !", "!"},   {" ,", ","},   {" ' ", "'"},  {" n't", "n't"},
      {" 'm", "'m"}, {" do not", " don't"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };
  for (auto [from, to] : rules) replace_all(t, from, to);
}

}  // namespace

std::string WordPieceTokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string out, token;
  const std::string& prefix = options_.continuing_subword_prefix;
  bool first = true;
  for (int32_t id : ids) {
    const std::string& t = id_to_token(id);
    if (skip_special && is_special_[id]) continue;
    token.clear();
    if (!first && !prefix.empty() && t.compare(0, prefix.size(), prefix) == 0) {
      token.append(t, prefix.size(), std::string::npos);
    } else {
      if (!first) token.push_back(' ');
      token += t;
    }
    cleanup(token);
    out += token;
    first = false;
  }
  return out;
}

}  // namespace pyseq::text
