// The word2vec trainer: the vocabulary's tables and the per-sentence training loops.
#include <algorithm>
#include <cmath>
#include <functional>

#include "../kernels/cpu/vecmath.h"
#include "pyseq/common.h"
#include "pyseq/parallel.h"
#include "pyseq/word2vec.h"

namespace pyseq::word2vec {
namespace {

// sigmoid and log sigmoid from tables over [-kMaxExp, kMaxExp], as word2vec.c (beyond it a
// prediction is taken as certain).
constexpr int kMaxExp = 6, kTableSize = 1000;
struct SigmoidTables {
  float sigmoid[kTableSize + 1], log_sigmoid[kTableSize + 1];
  SigmoidTables() {
    for (int i = 0; i <= kTableSize; ++i) {
      const double x = (2.0 * i / kTableSize - 1) * kMaxExp;
      sigmoid[i] = static_cast<float>(1 / (1 + std::exp(-x)));
      log_sigmoid[i] = static_cast<float>(-std::log1p(std::exp(-x)));
    }
  }
  // word2vec.c's and gensim's slot: (x + 6) * (1000 / 6 / 2) in integer arithmetic, 83 slots per unit
  // (not 83.3), so the table is read at 0.996 x - 0.024; kept for their exact updates.
  static int slot(float x) { return static_cast<int>((x + kMaxExp) * (kTableSize / kMaxExp / 2)); }
};
const SigmoidTables& tables() {
  static const SigmoidTables t;
  return t;
}

// word2vec.c's linear congruential generator; each thread has its own.
struct Lcg {
  uint64_t state;
  uint64_t next() { return state = state * 25214903917ULL + 11; }
  uint32_t next32() { return static_cast<uint32_t>(next() >> 16); }
};
uint64_t mix(uint64_t x) {  // splitmix64: distinct, well-spread seeds for the threads' generators
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

BatchStats sum_stats(const std::vector<BatchStats>& parts, int64_t raw_words) {
  BatchStats total;
  for (const BatchStats& p : parts) {
    total.words += p.words;
    total.trained += p.trained;
    total.loss += p.loss;
  }
  total.raw_words = raw_words;
  return total;
}

}  // namespace

Trainer::Trainer(std::vector<std::string> words, const std::vector<int64_t>& counts, const Options& options,
                 float* syn0, float* syn1, float* syn1neg)
    : words_(std::move(words)), opt_(options), syn0_(syn0), syn1_(syn1), syn1neg_(syn1neg) {
  PYSEQ_CHECK(!words_.empty() && counts.size() == words_.size(), ValueError,
              "word2vec: expected a non-empty vocabulary with one count per word, got ", words_.size(), " words and ",
              counts.size(), " counts");
  PYSEQ_CHECK(opt_.vector_size > 0 && opt_.window > 0 && opt_.negative >= 0 && opt_.workers > 0, ValueError,
              "word2vec: vector_size, window and workers must be positive and negative >= 0");
  PYSEQ_CHECK(opt_.hs || opt_.negative > 0, ValueError, "word2vec: train with hs=1, negative > 0, or both");
  PYSEQ_CHECK(!opt_.hs || syn1_, ValueError, "word2vec: hierarchical softmax needs syn1");
  PYSEQ_CHECK(opt_.negative == 0 || syn1neg_, ValueError, "word2vec: negative sampling needs syn1neg");
  index_.reserve(words_.size());
  for (size_t i = 0; i < words_.size(); ++i) {
    const bool fresh = index_.emplace(std::string_view(words_[i]), static_cast<int32_t>(i)).second;
    PYSEQ_CHECK(fresh, ValueError, "word2vec: the word '", words_[i], "' is in the vocabulary twice");
  }
  if (opt_.hs) build_huffman(counts);
  build_tables(counts);
}

uint64_t Trainer::thread_seed(uint64_t batch, int thread) const {
  return mix(opt_.seed ^ mix(batch * 4096 + static_cast<uint64_t>(thread)));
}

int32_t Trainer::index(std::string_view word) const {
  auto it = index_.find(word);
  return it == index_.end() ? -1 : it->second;
}

// gensim's heap of (count, node) items, as Python's heapq runs it (heapify, heappop, heappush)
// with items compared by count alone, so ties land where heapq's sifting puts them: the same
// Huffman tree as gensim's, node for node.
namespace {
struct CountHeap {
  std::vector<std::pair<int64_t, int64_t>> items;  // (count, node)

  void sift_down(size_t start, size_t pos) {  // heapq._siftdown: the item at pos rises
    auto item = items[pos];
    while (pos > start) {
      const size_t parent = (pos - 1) >> 1;
      if (!(item.first < items[parent].first)) break;
      items[pos] = items[parent];
      pos = parent;
    }
    items[pos] = item;
  }
  void sift_up(size_t pos) {  // heapq._siftup: the smaller child (the right one on ties) moves up
    const size_t end = items.size(), start = pos;
    auto item = items[pos];
    for (size_t child = 2 * pos + 1; child < end; child = 2 * pos + 1) {
      if (child + 1 < end && !(items[child].first < items[child + 1].first)) ++child;
      items[pos] = items[child];
      pos = child;
    }
    items[pos] = item;
    sift_down(start, pos);
  }
  void heapify() {
    for (size_t i = items.size() / 2; i-- > 0;) sift_up(i);
  }
  std::pair<int64_t, int64_t> pop() {
    auto last = items.back();
    items.pop_back();
    if (items.empty()) return last;
    auto top = items[0];
    items[0] = last;
    sift_up(0);
    return top;
  }
  void push(std::pair<int64_t, int64_t> item) {
    items.push_back(item);
    sift_down(0, items.size() - 1);
  }
};
}  // namespace

// The Huffman tree: the two lightest nodes merged V - 1 times by gensim's heap (leaves 0 .. V-1,
// inner nodes V .. 2V-2, the root last); the second of each pair gets bit 1. A word's code is the
// bits on its path from the root; its points are the inner nodes there (rows of syn1).
void Trainer::build_huffman(const std::vector<int64_t>& counts) {
  const int64_t V = vocab_size();
  std::vector<int64_t> parent(2 * V, 0);
  std::vector<uint8_t> bit(2 * V, 0);
  CountHeap heap;
  for (int64_t w = 0; w < V; ++w) heap.items.emplace_back(counts[w], w);
  heap.heapify();
  for (int64_t a = 0; a < V - 1; ++a) {
    const auto first = heap.pop(), second = heap.pop();
    heap.push({first.first + second.first, V + a});
    parent[first.second] = parent[second.second] = V + a;
    bit[second.second] = 1;
  }
  path_start_.assign(1, 0);
  path_points_.clear();
  path_labels_.clear();
  for (int64_t w = 0; w < V; ++w) {
    for (int64_t node = w; V > 1 && node != 2 * V - 2; node = parent[node]) {  // leaf to root
      path_points_.push_back(static_cast<int32_t>(parent[node] - V));
      path_labels_.push_back(1.0f - bit[node]);
    }
    std::reverse(path_points_.begin() + path_start_.back(), path_points_.end());
    std::reverse(path_labels_.begin() + path_start_.back(), path_labels_.end());
    path_start_.push_back(static_cast<int64_t>(path_points_.size()));
  }
}

std::vector<uint8_t> Trainer::code(int64_t i) const {
  std::vector<uint8_t> bits;
  for (int64_t d = path_start_[i]; d < path_start_[i + 1]; ++d) bits.push_back(path_labels_[d] == 0.0f);
  return bits;
}

std::vector<int32_t> Trainer::points(int64_t i) const {
  return {path_points_.begin() + path_start_[i], path_points_.begin() + path_start_[i + 1]};
}

// Subsampling (word2vec.c's formula, as gensim: keep a word of count c with probability
// (sqrt(c / t) + 1) t / c, t = sample * total) and the negative-sampling distribution
// (count^ns_exponent) as an alias table: one draw picks a column uniformly, a second keeps the
// column or takes its alias, so a draw costs two lookups whatever the vocabulary's size.
void Trainer::build_tables(const std::vector<int64_t>& counts) {
  const int64_t V = vocab_size();
  double total = 0, total_pow = 0;
  for (int64_t c : counts) {
    total += static_cast<double>(c);
    total_pow += std::pow(static_cast<double>(c), opt_.ns_exponent);
  }
  keep_.resize(V);
  const double threshold = opt_.sample * total;
  for (int64_t i = 0; i < V; ++i) {
    const double c = static_cast<double>(std::max<int64_t>(counts[i], 1));
    const double p = opt_.sample > 0 ? (std::sqrt(c / threshold) + 1) * threshold / c : 1.0;
    keep_[i] = p >= 1.0 ? UINT32_MAX : static_cast<uint32_t>(std::llround(p * 4294967296.0));
  }
  if (opt_.negative > 0) {  // Vose's alias method: column i keeps i with probability keep_alias_[i] / 2^32
    std::vector<double> scaled(V);
    std::vector<int32_t> small, large;
    for (int64_t i = 0; i < V; ++i) {
      scaled[i] = std::pow(static_cast<double>(counts[i]), opt_.ns_exponent) / total_pow * static_cast<double>(V);
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<int32_t>(i));
    }
    alias_.assign(V, 0);
    keep_alias_.assign(V, UINT32_MAX);
    while (!small.empty() && !large.empty()) {
      const int32_t s = small.back(), l = large.back();
      small.pop_back();
      keep_alias_[s] = static_cast<uint32_t>(std::min(4294967295.0, std::floor(scaled[s] * 4294967296.0)));
      alias_[s] = l;
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
  }
}

BatchStats Trainer::train_sentences(const int32_t* ids, const int64_t* offsets, int64_t s0, int64_t s1,
                                    int64_t word_base, double alpha_start, double alpha_step, double min_alpha,
                                    uint64_t seed) {
  BatchStats stats;
  const int64_t D = opt_.vector_size;
  const kernels::cpu::VecMath& vm = kernels::cpu::vecmath();
  const SigmoidTables& tab = tables();
  Lcg rng{seed};
  std::vector<float> neu1(D), errors(static_cast<size_t>(2 * opt_.window * D));  // errors: (m, D)
  // one window's context rows (m), target rows (T), errors' rows (m), and the rows its errors come from (T + m)
  std::vector<float*> context, outputs, error_rows, rows, gains_rows;
  std::vector<float> labels, dots, gains_t, coefficients;  // labels (T); dots (m, T); gains_t (T, m); (m, T + m)
  std::vector<float> products(static_cast<size_t>(4 * opt_.window * opt_.window));  // (m, m)
  const std::vector<float> ones(static_cast<size_t>(2 * opt_.window), 1.0f);
  auto add_rows = [&](float* const* xs, int64_t m, float* y) { vm.axpy_rows(ones.data(), xs, m, &y, 1, D); };  // y += sum x
  for (int64_t i = 0; i < 2 * opt_.window; ++i) error_rows.push_back(errors.data() + i * D);
  std::vector<int32_t> sentence;

  // Rows fetched ahead: the output rows a centre word's predictions will read, and each new
  // context row, are scattered over the vocabulary, so each is a cache miss otherwise. They are
  // fetched a window ahead: the next centre word's Huffman path, its own output row and its
  // negatives (drawn then), and the context word that enters the next window.
  auto prefetch_row = [D](const float* row) {
    for (int64_t i = 0; i < D; i += 64 / static_cast<int64_t>(sizeof(float))) __builtin_prefetch(row + i, 1);
  };
  std::vector<int32_t> negatives, next_negatives;  // drawn for this window's centre word, and the next's
  auto prepare_word = [&](int32_t word) {
    if (opt_.hs)
      for (int64_t d = path_start_[word]; d < path_start_[word + 1]; ++d)
        prefetch_row(syn1_ + static_cast<int64_t>(path_points_[d]) * D);
    if (opt_.negative == 0) return;
    prefetch_row(syn1neg_ + static_cast<int64_t>(word) * D);
    next_negatives.clear();
    for (int64_t d = 0; d < opt_.negative; ++d) {
      const int32_t col = static_cast<int32_t>(rng.next32() % static_cast<uint32_t>(alias_.size()));
      const int32_t target = rng.next32() < keep_alias_[col] ? col : alias_[col];
      if (target == word) continue;
      next_negatives.push_back(target);
      prefetch_row(syn1neg_ + static_cast<int64_t>(target) * D);
    }
  };
  auto add_target = [&](float* row, float label) {
    outputs.push_back(row);
    labels.push_back(label);
  };
  // One window's predictions of centre word `word` from each of the m vectors h_i at `hidden` (skip-gram:
  // the context words' vectors; CBOW: their mean), all against the same target rows o_t: the
  // word's Huffman path (label 1 - code), and for negative sampling the word (label 1) with
  // negatives (0) drawn once for the window, the shared negatives of Ji et al., "Parallelizing
  // Word2Vec in Shared and Distributed Memory": each target row is read once a window, and its
  // products with the window's vectors stay in cache.
  // The output rows are read as they were before the window (a window's predictions do not see
  // each other's updates to them), but each context vector's error is gensim's and word2vec.c's,
  // who take the contexts one after another: o_t as the contexts before i left it,
  //   f_ti = h_i . o_t, g_ti = (label_t - sigmoid f_ti) alpha (0 beyond +-kMaxExp: gensim's rule,
  //   where word2vec.c still pushes the wrong ones of negative sampling);
  //   errors row i = sum_t g_ti (o_t + sum_{j<i} g_tj h_j) = sum_t g_ti o_t + sum_{j<i} C_ij h_j,
  //     C_ij = sum_t g_ti g_tj;  then o_t += sum_i g_ti h_i.
  // The C term matters: hierarchical softmax's o_t start at zero, and early on a context's error
  // comes only from what the contexts before it wrote there (without it, analogies scored about 6%
  // lower). The stale o_t in f_ti move the result by far less.
  auto predict_all = [&](float* const* hidden, int64_t m, int32_t word, float alpha) {
    outputs.clear();
    labels.clear();
    if (opt_.hs)
      for (int64_t d = path_start_[word]; d < path_start_[word + 1]; ++d)
        add_target(syn1_ + static_cast<int64_t>(path_points_[d]) * D, path_labels_[d]);
    if (opt_.negative > 0) {
      add_target(syn1neg_ + static_cast<int64_t>(word) * D, 1.0f);
      for (int32_t target : negatives) add_target(syn1neg_ + static_cast<int64_t>(target) * D, 0.0f);
    }
    const int64_t T = static_cast<int64_t>(outputs.size()), R = T + m;
    dots.resize(static_cast<size_t>(m * T));
    gains_t.resize(static_cast<size_t>(T * m));
    coefficients.resize(static_cast<size_t>(m * R));
    gains_rows.resize(static_cast<size_t>(m));
    for (int64_t i = 0; i < m; ++i) gains_rows[i] = coefficients.data() + i * R;  // g_i (T), then C row i (m)
    vm.dot_rows(hidden, m, outputs.data(), T, D, dots.data());  // f_ti
    float loss = 0;  // summed here, not in stats: a store to memory each prediction would chain them
    for (int64_t i = 0; i < m; ++i)
      for (int64_t t = 0; t < T; ++t) {
        const float f = dots[i * T + t];
        float g = 0;
        if (f > -kMaxExp && f < kMaxExp) {
          const int k = std::clamp(SigmoidTables::slot(f), 0, kTableSize);
          loss -= tab.log_sigmoid[labels[t] > 0 ? k : kTableSize - k];  // log sigmoid(+-f)
          g = (labels[t] - tab.sigmoid[k]) * alpha;
        }
        gains_rows[i][t] = gains_t[t * m + i] = g;
      }
    stats.loss += loss;
    float* C = products.data();  // C_ij, (m, m)
    if (m > 1) vm.dot_rows(gains_rows.data(), m, gains_rows.data(), m, T, C);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < m; ++j) gains_rows[i][T + j] = j < i ? C[i * m + j] : 0.0f;
    rows.assign(outputs.begin(), outputs.end());  // o_t, then h_j
    rows.insert(rows.end(), hidden, hidden + m);
    std::fill(errors.begin(), errors.begin() + m * D, 0.0f);
    vm.axpy_rows(coefficients.data(), rows.data(), R, error_rows.data(), m, D);  // errors
    vm.axpy_rows(gains_t.data(), hidden, m, outputs.data(), T, D);              // o_t += sum_i g_ti h_i
  };

  for (int64_t s = s0; s < s1; ++s) {
    sentence.clear();  // the sentence's words in the vocabulary, frequent ones subsampled
    for (int64_t p = offsets[s]; p < offsets[s + 1]; ++p) {
      const int32_t w = ids[p];
      if (w < 0) continue;
      ++stats.words;
      if (keep_[w] != UINT32_MAX && rng.next32() >= keep_[w]) continue;
      sentence.push_back(w);
    }
    stats.trained += static_cast<int64_t>(sentence.size());
    // the learning rate falls by alpha_step a word (of the corpus, OOV included)
    const float alpha =
        static_cast<float>(std::max(min_alpha, alpha_start - alpha_step * static_cast<double>(word_base + offsets[s])));
    const int64_t n = static_cast<int64_t>(sentence.size());
    if (n > 0) prepare_word(sentence[0]);
    for (int64_t pos = 0; pos < n; ++pos) {
      std::swap(negatives, next_negatives);
      if (pos + 1 < n) prepare_word(sentence[pos + 1]);
      if (pos + 1 + opt_.window < n) prefetch_row(syn0_ + static_cast<int64_t>(sentence[pos + 1 + opt_.window]) * D);
      const int64_t reach =
          opt_.shrink_windows ? opt_.window - static_cast<int64_t>(rng.next32() % static_cast<uint32_t>(opt_.window))
                              : opt_.window;
      const int64_t lo = std::max<int64_t>(0, pos - reach), hi = std::min(n - 1, pos + reach);
      const int32_t word = sentence[pos];
      context.clear();
      for (int64_t c = lo; c <= hi; ++c)
        if (c != pos) context.push_back(syn0_ + static_cast<int64_t>(sentence[c]) * D);
      const int64_t m = static_cast<int64_t>(context.size());
      if (m == 0) continue;
      if (opt_.sg) {  // each context word's vector predicts the centre word
        predict_all(context.data(), m, word, alpha);
        for (int64_t i = 0; i < m; ++i) add_rows(&error_rows[i], 1, context[i]);
        continue;
      }
      // CBOW: the mean (or sum) of the context vectors predicts the centre word, and its error goes
      // back to each of them
      std::fill(neu1.begin(), neu1.end(), 0.0f);
      add_rows(context.data(), m, neu1.data());
      const float inv = 1.0f / static_cast<float>(m);
      if (opt_.cbow_mean)
        for (float& v : neu1) v *= inv;
      float* mean = neu1.data();
      predict_all(&mean, 1, word, alpha);
      if (!opt_.cbow_mean)  // the sum's error is spread over the words (gensim's choice)
        for (int64_t i = 0; i < D; ++i) errors[i] *= inv;
      for (float* row : context) add_rows(error_rows.data(), 1, row);
    }
  }
  return stats;
}

BatchStats Trainer::train(const std::vector<int32_t>& ids, const std::vector<int64_t>& offsets, double alpha_start,
                          double alpha_step, double min_alpha, uint64_t batch) {
  const int64_t n_sentences = static_cast<int64_t>(offsets.size()) - 1, n_words = n_sentences > 0 ? offsets.back() : 0;
  std::vector<BatchStats> per_thread(static_cast<size_t>(opt_.workers));
  parallel_team(opt_.workers, [&](int thread, int threads, const std::function<void()>&) {
    // this thread's sentences: those starting in its share of the batch's words
    auto first_sentence = [&](int t) {
      const int64_t word = n_words * t / threads;
      return static_cast<int64_t>(std::lower_bound(offsets.begin(), offsets.end() - 1, word) - offsets.begin());
    };
    const int64_t s0 = first_sentence(thread), s1 = thread + 1 == threads ? n_sentences : first_sentence(thread + 1);
    per_thread[thread] =
        train_sentences(ids.data(), offsets.data(), s0, s1, 0, alpha_start, alpha_step, min_alpha,
                        thread_seed(batch, thread));
  });
  return sum_stats(per_thread, n_words);
}

BatchStats Trainer::train_text(std::string_view text, double alpha_start, double alpha_step, double min_alpha,
                               uint64_t batch) {
  std::vector<BatchStats> per_thread(static_cast<size_t>(opt_.workers));
  std::vector<int64_t> words_of(static_cast<size_t>(opt_.workers) + 1, 0);
  parallel_team(opt_.workers, [&](int thread, int threads, const std::function<void()>& barrier) {
    // this thread's lines: from the line end after its share of the bytes begins
    auto line_start = [&](int t) {
      if (t == 0) return size_t{0};
      if (t == threads) return text.size();
      const size_t at = text.find('\n', text.size() * static_cast<size_t>(t) / static_cast<size_t>(threads));
      return at == std::string_view::npos ? text.size() : at + 1;
    };
    const size_t b0 = line_start(thread), b1 = line_start(thread + 1);
    std::vector<int32_t> ids;
    std::vector<int64_t> offsets{0};
    for_each_word(text.substr(b0, b1 - b0), [&](std::string_view word) { ids.push_back(index(word)); },
                  [&] { offsets.push_back(static_cast<int64_t>(ids.size())); });
    words_of[thread + 1] = static_cast<int64_t>(ids.size());
    barrier();  // every part's word count is known: where this part's words start in the batch
    int64_t word_base = 0;
    for (int t = 0; t <= thread; ++t) word_base += words_of[t];
    per_thread[thread] = train_sentences(ids.data(), offsets.data(), 0, static_cast<int64_t>(offsets.size()) - 1,
                                         word_base, alpha_start, alpha_step, min_alpha, thread_seed(batch, thread));
  });
  int64_t n_words = 0;
  for (int64_t w : words_of) n_words += w;
  return sum_stats(per_thread, n_words);
}

}  // namespace pyseq::word2vec
