// Byte-level BPE: GPT-2 / r50k, cl100k and o200k pre-tokenizers, and byte pair merging with either
// tiktoken's rule (merge the adjacent pair whose concatenation has the lowest rank) or Hugging
// Face's (merge the pair listed earliest in the merges). Both merge leftmost first on ties.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pyseq/text/encoding.h"
#include "pyseq/text/vocab.h"

namespace pyseq::text {

// The pre-tokenization regexes of tiktoken's encodings, as hand-written scanners.
enum class Pattern {
  kGpt2,    // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kCl100k,  // cl100k_base
  kO200k,   // o200k_base
  kNone,    // the whole text is one piece
};
Pattern pattern_from_name(std::string_view name);

// Byte spans [start, end) of the pieces of `text` (valid UTF-8).
void pre_tokenize(Pattern pattern, std::string_view text, std::vector<std::pair<uint32_t, uint32_t>>& pieces);

struct SpecialToken {
  std::string text;
  int32_t id;
};

class BytePairEncoder {
 public:
  // tiktoken: ranks[i] = (token bytes, rank); the rank is the id, and a pair merges when the
  // concatenation is a token (lower rank first).
  static BytePairEncoder from_ranks(std::vector<std::pair<std::string, int32_t>> ranks, Pattern pattern,
                                    std::vector<SpecialToken> specials);
  // Hugging Face / GPT-2 files: vocab of (token bytes, id) and merges as pairs of token bytes, in
  // priority order.
  static BytePairEncoder from_merges(std::vector<std::pair<std::string, int32_t>> vocab,
                                     const std::vector<std::pair<std::string, std::string>>& merges,
                                     Pattern pattern, std::vector<SpecialToken> specials);

  // Ids of ordinary text: special tokens in it are encoded as plain text.
  std::vector<int32_t> encode_ordinary(std::string_view text) const;
  // Ids and byte offsets; the special tokens whose `allowed[k]` is set (index into specials())
  // are recognised in the text.
  Encoding encode(std::string_view text, const std::vector<uint8_t>& allowed) const;
  // Index into specials() of the first special token found in `text` whose `check[k]` is set, or -1.
  int64_t find_special(std::string_view text, const std::vector<uint8_t>& check) const;
  // Ids of one piece's bytes (merging only, no pre-tokenization).
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;

  // Bytes of the ids (IndexError for an unknown id).
  std::string decode_bytes(const std::vector<int32_t>& ids) const;
  const std::string& token_bytes(int32_t id) const;
  int32_t token_to_id(std::string_view bytes) const;  // -1 when absent
  size_t vocab_size() const { return static_cast<size_t>(max_id_ + 1); }
  const std::vector<SpecialToken>& specials() const { return specials_; }
  Pattern pattern() const { return pattern_; }
  // Hugging Face's ByteLevel(add_prefix_space): text between special tokens that does not start
  // with ' ' is split and merged as if it did (the space's offsets shrink to the text's start).
  bool add_prefix_space() const { return add_prefix_space_; }
  void set_add_prefix_space(bool on) { add_prefix_space_ = on; }
  // Merges in priority order as pairs of ids (for saving).
  std::vector<std::pair<int32_t, int32_t>> merges() const;

 private:
  BytePairEncoder() = default;
  void finish(std::vector<SpecialToken> specials);
  void merge_small(const uint8_t* bytes, size_t n, std::vector<int32_t>& out) const;
  void merge_large(const uint8_t* bytes, size_t n, std::vector<int32_t>& out) const;
  // `text`, or " " + text (in `spaced`) when add_prefix_space asks for the space.
  std::string_view with_prefix_space(std::string_view text, std::string& spaced) const;

  Pattern pattern_ = Pattern::kGpt2;
  bool whole_piece_lookup_ = false;  // tiktoken: a piece that is a token is that token
  bool add_prefix_space_ = false;
  StringMap tokens_;                 // bytes -> id (ordinary tokens)
  std::vector<std::string> id_bytes_;  // id -> bytes (ordinary and special)
  std::vector<uint8_t> has_id_;
  PairMap merges_;
  std::vector<std::pair<int32_t, int32_t>> merge_list_;  // by rank, (-1, -1) where a rank has no pair
  int32_t byte_id_[256];
  int32_t max_id_ = -1;
  std::vector<SpecialToken> specials_;
};

}  // namespace pyseq::text

namespace pyseq::text {

// A tiktoken ranks file ("<base64 token> <rank>" per line) -> (token bytes, rank).
std::vector<std::pair<std::string, int32_t>> parse_tiktoken_ranks(std::string_view contents);

// GPT-2's byte-level alphabet: every byte as a printable code point (Hugging Face's "Ġ" for ' ').
std::string byte_level_encode(std::string_view bytes);
// Back from the alphabet to bytes; ValueError for a code point outside it.
std::string byte_level_decode(std::string_view text);

}  // namespace pyseq::text
