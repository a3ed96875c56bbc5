// word2vec (Mikolov et al. 2013): CBOW and skip-gram, trained with negative sampling, hierarchical
// softmax over a Huffman tree, or both; the choices and formulas of the original word2vec.c, which
// gensim follows too. No tensors: the vectors are plain float arrays the caller owns (numpy's).
//
//   VocabCounter   counts words in one streaming pass (pruning rare words when a cap is reached)
//   Trainer        the vocabulary's tables (Huffman codes, the negative-sampling distribution, the
//                  subsampling probabilities) and the training of batches of sentences, Hogwild
//                  across threads: each thread its share of the sentences, all updating the same
//                  vectors without locks.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#ifdef PYSEQ_LAYER_TEXT
#error "word2vec is its own layer: text may not include it"
#endif

namespace pyseq::word2vec {

// Splits text into sentences (lines) of words (separated by ASCII whitespace): calls
// word(view) for each word and end_sentence() after each line that had words.
void for_each_word(std::string_view text, const std::function<void(std::string_view)>& word,
                   const std::function<void()>& end_sentence);

// Word counts over a corpus streamed once. With max_vocab_size > 0, whenever the table grows past
// it, words seen at most `floor` times are dropped and the floor rises by one (word2vec.c's
// ReduceVocab), so memory stays bounded whatever the corpus.
class VocabCounter {
 public:
  explicit VocabCounter(int64_t max_vocab_size = 0) : max_vocab_size_(max_vocab_size) {}
  void add_sentence(const std::vector<std::string_view>& words);
  // Text with one sentence a line and words separated by whitespace (ASCII space, tab, CR, ...).
  void add_text(std::string_view text);
  int64_t total_words() const { return total_words_; }  // every word seen, kept or not
  int64_t sentences() const { return sentences_; }
  // The words with at least min_count occurrences (raised until at most max_final_vocab remain,
  // when that is > 0), by decreasing count, ties in order of first appearance.
  std::vector<std::pair<std::string, int64_t>> vocabulary(int64_t min_count, int64_t max_final_vocab = 0) const;

 private:
  void count(std::string_view word);
  struct Entry {
    int64_t count, first_seen;
  };
  std::unordered_map<std::string, Entry> counts_;
  std::string lookup_;  // the word being counted, in a buffer reused across words
  int64_t max_vocab_size_, floor_ = 1, total_words_ = 0, sentences_ = 0, next_id_ = 0;
};

struct Options {
  int64_t vector_size = 100, window = 5;
  bool sg = false;            // skip-gram (else CBOW)
  bool hs = false;            // hierarchical softmax
  int64_t negative = 5;       // negative samples per positive (0: none)
  double ns_exponent = 0.75;  // the negative-sampling distribution: count^ns_exponent
  double sample = 1e-3;       // subsampling threshold for frequent words (0: none)
  bool cbow_mean = true;      // CBOW: the mean of the context vectors (else their sum)
  int workers = 1;
  uint64_t seed = 1;
};

// What one call of train() did.
struct BatchStats {
  int64_t raw_words = 0;  // words of the batch, in the vocabulary or not
  int64_t words = 0;    // words of the batch in the vocabulary (before subsampling)
  int64_t trained = 0;  // words left after subsampling, each a training centre
  double loss = 0;      // sum of -log sigmoid over every prediction made
};

class Trainer {
 public:
  // words and counts: the vocabulary, by decreasing count. The vectors, owned by the caller and
  // updated in place: syn0 (V, D) the word vectors, syn1 (V - 1, D) the Huffman tree's inner
  // nodes (hs), syn1neg (V, D) the output vectors of negative sampling (negative > 0).
  Trainer(std::vector<std::string> words, const std::vector<int64_t>& counts, const Options& options, float* syn0,
          float* syn1, float* syn1neg);

  int64_t vocab_size() const { return static_cast<int64_t>(words_.size()); }
  int32_t index(std::string_view word) const;  // -1 when not in the vocabulary
  const std::vector<std::string>& words() const { return words_; }
  // Huffman code of word i: the bits from the root (0 / 1) and the inner nodes they pass.
  std::vector<uint8_t> code(int64_t i) const;
  std::vector<int32_t> points(int64_t i) const;

  // Trains on a batch of sentences: ids (-1 for words outside the vocabulary, dropped), sentence s
  // at [offsets[s], offsets[s + 1]). The learning rate is alpha_start at the batch's first word and
  // falls by alpha_step a word (OOV words included), never below min_alpha. `batch` numbers the
  // batch: with it and the seed each thread's random stream is fixed, so one worker gives the same
  // vectors every time.
  BatchStats train(const std::vector<int32_t>& ids, const std::vector<int64_t>& offsets, double alpha_start,
                   double alpha_step, double min_alpha, uint64_t batch);
  // The same for UTF-8 text, one sentence a line (for_each_word): each thread reads the words of
  // its share of the lines itself.
  BatchStats train_text(std::string_view text, double alpha_start, double alpha_step, double min_alpha,
                        uint64_t batch);

 private:
  // One thread's work: sentences [s0, s1) of (ids, offsets), whose word offsets[s] is word
  // word_base + offsets[s] of the batch (for the learning rate), with its random stream seeded by seed.
  void train_sentences(const int32_t* ids, const int64_t* offsets, int64_t s0, int64_t s1, int64_t word_base,
                       double alpha_start, double alpha_step, double min_alpha, uint64_t seed, BatchStats& stats);
  uint64_t thread_seed(uint64_t batch, int thread) const;
  void build_huffman(const std::vector<int64_t>& counts);
  void build_tables(const std::vector<int64_t>& counts);

  std::vector<std::string> words_;
  std::unordered_map<std::string_view, int32_t> index_;  // views into words_
  Options opt_;
  float *syn0_, *syn1_, *syn1neg_;
  // the Huffman paths in flat arrays (not a vector per word): word i's inner nodes (rows of syn1)
  // and labels (1 - code bit) at [path_start_[i], path_start_[i + 1])
  std::vector<int64_t> path_start_;
  std::vector<int32_t> path_points_;
  std::vector<float> path_labels_;
  std::vector<uint32_t> keep_;  // subsampling: keep a word when a 32-bit draw is below keep_[i]
  std::vector<int32_t> alias_;  // negative sampling, the alias table: column i is i with
  std::vector<uint32_t> keep_alias_;  //   probability keep_alias_[i] / 2^32, else alias_[i]
};

}  // namespace pyseq::word2vec
