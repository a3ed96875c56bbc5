// Training a byte-level BPE vocabulary: count the pre-tokenized words of a corpus, then merge the
// most frequent adjacent pair until the vocabulary is full. The procedure, its tie-breaking (most
// frequent first, then the smallest (left id, right id)) and its id assignment (special tokens,
// then the 256 bytes in the order of GPT-2's byte alphabet, then merges) follow Hugging Face's
// BpeTrainer with a ByteLevel pre-tokenizer, so both learn the same vocabulary.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pyseq/text/bpe.h"
#include "pyseq/text/wordpiece.h"

namespace pyseq::text {

// word bytes -> count, for many texts (over parallel_for).
struct WordCounts {
  std::vector<std::string> words;
  std::vector<int64_t> counts;
};
WordCounts count_words(const std::vector<std::string_view>& texts, Pattern pattern, bool add_prefix_space);
// The words of BERT's normalizer + pre-tokenizer (for training WordPiece vocabularies).
WordCounts count_bert_words(const std::vector<std::string_view>& texts, const BertNormalizerOptions& normalizer);
// Adds `more` into `into`.
void merge_word_counts(WordCounts& into, const WordCounts& more);

struct BpeTrainerOptions {
  int64_t vocab_size = 30000;
  int64_t min_frequency = 0;
  std::vector<std::string> special_tokens;  // ids 0, 1, ... in this order
  bool full_byte_alphabet = true;           // all 256 bytes (Hugging Face: initial_alphabet=ByteLevel.alphabet())
  int64_t max_token_length = 0;             // in symbols (bytes, or characters); 0 = no limit
  // Character-level training (WordPiece vocabularies): symbols are code points instead of bytes,
  // the alphabet is the characters seen, and a symbol after a word's first carries this prefix
  // ("##"), as Hugging Face's WordPieceTrainer does.
  bool characters = false;
  std::string continuing_subword_prefix;
  // Character-level only, as Hugging Face's trainers: characters always in the alphabet, and at
  // most this many characters in it (the rarest others dropped; -1: no limit). A character
  // outside the alphabet is left out of the words.
  std::vector<char32_t> initial_alphabet;
  int64_t limit_alphabet = -1;
  // Called now and then with (tokens so far, vocab_size) while merging; may be empty.
  std::function<void(int64_t, int64_t)> progress;
};

struct BpeTrainingResult {
  std::vector<std::string> vocab;                          // id -> token bytes (specials first)
  std::vector<std::pair<int32_t, int32_t>> merges;         // in priority order, as ids
};

BpeTrainingResult train_bpe(const WordCounts& words, const BpeTrainerOptions& options);

// A corpus's word counts, fed text by text: byte-level words split by a pre-tokenization pattern,
// or the words of BERT's normalizer and pre-tokenizer.
class WordCounter {
 public:
  WordCounter(Pattern pattern, bool add_prefix_space) : pattern_(pattern), add_prefix_space_(add_prefix_space) {}
  explicit WordCounter(const BertNormalizerOptions& normalizer) : bert_(true), normalizer_(normalizer) {}
  void add(const std::vector<std::string_view>& texts);
  const WordCounts& counts() const { return counts_; }
  size_t size() const { return counts_.words.size(); }

  // The byte-level BPE tokenizer trained on the words: special tokens first, then the bytes, then the merges.
  BytePairEncoder train(const BpeTrainerOptions& options) const;
  // A WordPiece vocabulary in id order: character-level training with a continuation prefix.
  std::vector<std::string> train_vocab(const BpeTrainerOptions& options, const std::string& continuing_subword_prefix) const;

 private:
  Pattern pattern_ = Pattern::kNone;
  bool add_prefix_space_ = false;
  bool bert_ = false;
  BertNormalizerOptions normalizer_;
  WordCounts counts_;
};

}  // namespace pyseq::text
