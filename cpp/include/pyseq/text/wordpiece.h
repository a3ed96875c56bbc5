// BERT's tokenizer: the basic tokenizer (clean text, CJK spacing, whitespace split, lowercase,
// accent stripping, punctuation split) and WordPiece (greedy longest match with a "##"
// continuation prefix). Two profiles: google-research/bert's BasicTokenizer over Unicode 16.0, and
// Hugging Face tokenizers' BertNormalizer + BertPreTokenizer (its CJK range, its control set,
// char-by-char lowercasing, its Unicode versions), each reproduced exactly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pyseq/text/encoding.h"
#include "pyseq/text/vocab.h"

namespace pyseq::text {

enum class BertProfile {
  kGoogle,       // google-research/bert tokenization.py (Final_Sigma, Zs/Cc/Cf/P*/Mn of Unicode 16.0)
  kHuggingFace,  // Hugging Face tokenizers' BertNormalizer + BertPreTokenizer
};

struct BertNormalizerOptions {
  BertProfile profile = BertProfile::kGoogle;
  bool clean_text = true;            // drop control characters, map whitespace to ' '
  bool handle_chinese_chars = true;  // put spaces around CJK ideographs
  bool strip_accents = true;         // NFD, then drop nonspacing marks (Hugging Face: default = lowercase)
  bool lowercase = true;
};

// Text after normalization, with the byte span of the original text each normalized byte came from.
struct NormalizedText {
  std::string text;
  std::vector<uint32_t> starts, ends;  // per byte of `text`
};

// Hugging Face's BertNormalizer.
NormalizedText bert_normalize(std::string_view text, const BertNormalizerOptions& opts);

// Byte spans [start, end) of the words of Hugging Face's BertPreTokenizer over (normalized) text.
void bert_pre_tokenize(std::string_view text, std::vector<std::pair<uint32_t, uint32_t>>& words);

// google-research/bert's BasicTokenizer: the normalized text of its words (separated by single
// spaces) with spans into `text`, and the byte span of each word in it. Whitespace tokens equal to
// one of `never_split` are kept whole and unchanged.
void google_basic_tokenize(std::string_view text, const BertNormalizerOptions& opts,
                           const std::vector<std::string>& never_split, NormalizedText& out,
                           std::vector<std::pair<uint32_t, uint32_t>>& words);

// Either profile: normalized text and word spans.
void basic_tokenize(std::string_view text, const BertNormalizerOptions& opts, const std::vector<std::string>& never_split,
                    NormalizedText& out, std::vector<std::pair<uint32_t, uint32_t>>& words);

struct WordPieceOptions {
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  int64_t max_input_chars_per_word = 100;
  BertNormalizerOptions normalizer;
  std::vector<std::string> special_tokens;  // matched verbatim in the raw text, before normalization
  std::vector<std::string> never_split;     // google profile: whitespace tokens kept as they are
};

class WordPieceTokenizer {
 public:
  // vocab[i] is the token of id i.
  WordPieceTokenizer(std::vector<std::string> vocab, WordPieceOptions options);

  // Ids and byte offsets of one text, without [CLS]/[SEP] (see post_process).
  Encoding encode(std::string_view text) const;
  // Many texts over parallel_for; the result is the same as calling encode on each.
  std::vector<Encoding> encode_batch(const std::vector<std::string_view>& texts) const;
  // Hugging Face's WordPiece decoder: join with spaces, glue "##" pieces, clean up spaces before
  // punctuation and contractions. skip_special drops the special tokens.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special) const;

  int32_t token_to_id(std::string_view token) const { return tokens_.find(token); }
  const std::string& id_to_token(int32_t id) const;
  size_t vocab_size() const { return vocab_.size(); }
  const std::vector<std::string>& vocab() const { return vocab_; }
  const WordPieceOptions& options() const { return options_; }
  int32_t unk_id() const { return unk_id_; }

 private:
  // The fast path (words scanned and encoded on the fly, ASCII inline) and the reference path
  // (normalize the whole text, then split it, then encode the words); `reference_` picks it.
  void encode_segment(std::string_view text, uint32_t base, Encoding& out) const;
  void encode_segment_reference(std::string_view text, uint32_t base, Encoding& out) const;
  void encode_segment_huggingface(std::string_view text, uint32_t base, Encoding& out) const;
  void encode_segment_google(std::string_view text, uint32_t base, Encoding& out) const;
  void encode_word(std::string_view word, const uint32_t* starts, const uint32_t* ends, Encoding& out) const;

 public:
  // Use the reference path (for tests that compare the two).
  void set_reference(bool on) { reference_ = on; }

 private:
  bool reference_ = false;

  std::vector<std::string> vocab_;
  WordPieceOptions options_;
  StringMap tokens_;         // token -> id
  TokenTrie first_trie_;     // all tokens, for a word's first piece
  TokenTrie continuation_;   // tokens without their "##" prefix, for the pieces after the first
  int32_t unk_id_ = -1;
  std::vector<int32_t> special_ids_;
  std::vector<uint8_t> is_special_;  // per id
};

}  // namespace pyseq::text
