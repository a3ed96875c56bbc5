// Counting words in one streaming pass, and the vocabulary that comes out of it.
#include <algorithm>

#include "pyseq/word2vec.h"

namespace pyseq::word2vec {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

}  // namespace

void for_each_word(std::string_view text, const std::function<void(std::string_view)>& word,
                   const std::function<void()>& end_sentence) {
  size_t i = 0;
  bool line_has_words = false;
  while (i < text.size()) {
    if (text[i] == '\n') {
      if (line_has_words) end_sentence();
      line_has_words = false;
      ++i;
    } else if (is_space(text[i])) {
      ++i;
    } else {
      const size_t start = i;
      while (i < text.size() && !is_space(text[i])) ++i;
      word(text.substr(start, i - start));
      line_has_words = true;
    }
  }
  if (line_has_words) end_sentence();
}

void VocabCounter::count(std::string_view word) {
  ++total_words_;
  lookup_.assign(word);  // (a reused string: no allocation per word for the lookup)
  auto it = counts_.find(lookup_);
  if (it != counts_.end()) {
    ++it->second.count;
    return;
  }
  counts_.emplace(lookup_, Entry{1, next_id_++});
  if (max_vocab_size_ > 0 && static_cast<int64_t>(counts_.size()) > max_vocab_size_) {
    for (auto e = counts_.begin(); e != counts_.end();)  // word2vec.c's ReduceVocab
      e = e->second.count <= floor_ ? counts_.erase(e) : std::next(e);
    ++floor_;
  }
}

void VocabCounter::add_sentence(const std::vector<std::string_view>& words) {
  for (std::string_view w : words) count(w);
  ++sentences_;
}

void VocabCounter::add_text(std::string_view text) {
  for_each_word(text, [this](std::string_view w) { count(w); }, [this] { ++sentences_; });
}

std::vector<std::pair<std::string, int64_t>> VocabCounter::vocabulary(int64_t min_count, int64_t max_final_vocab) const {
  std::vector<std::pair<std::string_view, Entry>> kept;
  for (const auto& [word, e] : counts_) kept.emplace_back(word, e);
  std::sort(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
    return a.second.count != b.second.count ? a.second.count > b.second.count : a.second.first_seen < b.second.first_seen;
  });
  size_t n = 0;
  while (n < kept.size() && kept[n].second.count >= min_count) ++n;
  if (max_final_vocab > 0 && n > static_cast<size_t>(max_final_vocab)) {
    // raise min_count to the count of the word just past the cap (gensim's rule: no word is cut
    // from the middle of a run of equal counts)
    const int64_t cut = kept[static_cast<size_t>(max_final_vocab)].second.count + 1;
    while (n > 0 && kept[n - 1].second.count < cut) --n;
  }
  std::vector<std::pair<std::string, int64_t>> vocab;
  vocab.reserve(n);
  for (size_t i = 0; i < n; ++i) vocab.emplace_back(std::string(kept[i].first), kept[i].second.count);
  return vocab;
}

}  // namespace pyseq::word2vec
