// word2vec (Mikolov et al. 2013): CBOW and skip-gram, trained with negative sampling, hierarchical
// softmax over a Huffman tree, or both; the choices and formulas of the original word2vec.c, which
// gensim follows too. No tensors: the vectors are plain float arrays the caller owns (numpy's).
//
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

struct Options {
  int64_t vector_size = 100, window = 5;
  bool sg = false;            // skip-gram (else CBOW)
  bool hs = false;            // hierarchical softmax
  int64_t negative = 5;       // negative samples per positive (0: none)
  double ns_exponent = 0.75;  // the negative-sampling distribution: count^ns_exponent
  double sample = 1e-3;       // subsampling threshold for frequent words (0: none)
  bool cbow_mean = true;      // CBOW: the mean of the context vectors (else their sum)
  bool shrink_windows = true;  // each position's window drawn from 1..window (else always window)
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
  // Returns the thread's counts (kept in its own frame while it runs: the threads' stats side by side
  // in one vector would share a cache line, written at every word).
  BatchStats train_sentences(const int32_t* ids, const int64_t* offsets, int64_t s0, int64_t s1, int64_t word_base,
                             double alpha_start, double alpha_step, double min_alpha, uint64_t seed);
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
