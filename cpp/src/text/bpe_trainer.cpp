// BPE training (see bpe_trainer.h). Pair counts live in a hash map; a max-heap holds candidate
// merges with the words where the pair was (last) formed, checked lazily against the live count.
#include "pyseq/text/bpe_trainer.h"

#include <algorithm>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "pyseq/common.h"
#include "pyseq/parallel.h"
#include "pyseq/text/unicode.h"
#include "pyseq/text/wordpiece.h"

namespace pyseq::text {
namespace {

struct CountMap {
  std::unordered_map<std::string, int64_t> map;
};

// The order of the 256 bytes in GPT-2's byte alphabet (by the code point each maps to).
std::vector<int> byte_alphabet_order() {
  std::vector<std::pair<uint32_t, int>> keyed;
  uint32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    keyed.emplace_back(printable ? static_cast<uint32_t>(b) : next++, b);
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<int> order;
  for (auto [key, b] : keyed) order.push_back(b);
  return order;
}

uint64_t pack(uint32_t a, uint32_t b) { return (uint64_t(a) << 32) | b; }

}  // namespace

namespace {

// Counts the words that `split(text, words)` gives for every text, over parallel_for.
template <class Split>
WordCounts count_with(const std::vector<std::string_view>& texts, const Split& split) {
  const int64_t n = static_cast<int64_t>(texts.size());
  const int threads = std::max(1, get_num_threads());
  std::vector<CountMap> partial(static_cast<size_t>(threads));
  const int64_t chunk = (n + threads - 1) / threads;
  parallel_for(0, threads, 1, [&](int64_t lo, int64_t hi) {
    std::vector<std::string> words;
    for (int64_t t = lo; t < hi; ++t)
      for (int64_t i = t * chunk; i < std::min(n, (t + 1) * chunk); ++i) {
        words.clear();
        split(texts[i], words);
        for (std::string& w : words) ++partial[t].map[std::move(w)];
      }
  });
  std::unordered_map<std::string, int64_t> total;
  for (auto& p : partial)
    for (auto& [w, c] : p.map) total[w] += c;
  WordCounts out;
  for (auto& [w, c] : total) {
    out.words.push_back(w);
    out.counts.push_back(c);
  }
  return out;
}

}  // namespace

WordCounts count_bert_words(const std::vector<std::string_view>& texts, const BertNormalizerOptions& normalizer) {
  return count_with(texts, [&](std::string_view text, std::vector<std::string>& words) {
    NormalizedText norm;
    std::vector<std::pair<uint32_t, uint32_t>> spans;
    basic_tokenize(text, normalizer, {}, norm, spans);
    for (auto [b, e] : spans) words.emplace_back(norm.text.substr(b, e - b));
  });
}

WordCounts count_words(const std::vector<std::string_view>& texts, Pattern pattern, bool add_prefix_space) {
  return count_with(texts, [&](std::string_view text, std::vector<std::string>& words) {
    std::string buffer;
    if (add_prefix_space && !text.empty() && text[0] != ' ') {  // Hugging Face's ByteLevel(add_prefix_space)
      buffer.assign(1, ' ');
      buffer.append(text);
      text = buffer;
    }
    std::vector<std::pair<uint32_t, uint32_t>> pieces;
    pre_tokenize(pattern, text, pieces);
    for (auto [b, e] : pieces) words.emplace_back(text.substr(b, e - b));
  });
}

void merge_word_counts(WordCounts& into, const WordCounts& more) {
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < into.words.size(); ++i) index.emplace(into.words[i], i);
  for (size_t i = 0; i < more.words.size(); ++i) {
    auto [it, fresh] = index.emplace(more.words[i], into.words.size());
    if (fresh) {
      into.words.push_back(more.words[i]);
      into.counts.push_back(more.counts[i]);
    } else {
      into.counts[it->second] += more.counts[i];
    }
  }
}

BpeTrainingResult train_bpe(const WordCounts& wc, const BpeTrainerOptions& opt) {
  PYSEQ_CHECK(opt.vocab_size > 0, ValueError, "train: vocab_size must be positive, got ", opt.vocab_size);
  PYSEQ_CHECK(wc.words.size() == wc.counts.size(), ValueError, "train: words and counts differ in length");
  const size_t max_len = opt.max_token_length > 0 ? static_cast<size_t>(opt.max_token_length) : SIZE_MAX;
  BpeTrainingResult out;
  std::unordered_map<std::string, int32_t> token_id;
  auto add_token = [&](const std::string& t) {
    auto [it, fresh] = token_id.emplace(t, static_cast<int32_t>(out.vocab.size()));
    if (fresh) out.vocab.push_back(t);
    return it->second;
  };
  // 1. special tokens, 2. the alphabet in byte-alphabet order (all bytes, or those seen).
  for (const std::string& s : opt.special_tokens) add_token(s);
  std::vector<std::vector<uint32_t>> words(wc.words.size());
  std::vector<std::vector<uint32_t>> lens(wc.words.size());  // initial symbols per symbol
  const std::string& prefix = opt.continuing_subword_prefix;
  if (!opt.characters) {
    bool seen[256] = {};
    for (const std::string& w : wc.words)
      for (unsigned char b : w) seen[b] = true;
    for (int b : byte_alphabet_order())
      if (opt.full_byte_alphabet || seen[b]) add_token(std::string(1, static_cast<char>(b)));
  } else {
    // The alphabet: the characters seen, weighted by their words' counts, and initial_alphabet's;
    // with limit_alphabet the rarest seen ones leave it (ties: the larger code point first). Then
    // by code point, and the prefixed forms of those seen after a word's first character.
    std::unordered_map<char32_t, uint64_t> weight;
    std::vector<char32_t> inner;
    for (size_t wi = 0; wi < wc.words.size(); ++wi)
      for (size_t i = 0; i < wc.words[wi].size();) {
        const bool first = i == 0;
        const char32_t c = utf8_next(wc.words[wi], i);
        weight[c] += static_cast<uint64_t>(wc.counts[wi]);
        if (!first && !prefix.empty()) inner.push_back(c);
      }
    for (char32_t c : opt.initial_alphabet) weight[c] = UINT64_MAX;
    std::vector<std::pair<uint64_t, char32_t>> ranked;
    for (auto [c, n] : weight) ranked.emplace_back(n, c);
    std::sort(ranked.begin(), ranked.end(),
              [](auto a, auto b) { return a.first != b.first ? a.first < b.first : a.second > b.second; });
    const size_t drop = opt.limit_alphabet >= 0 && ranked.size() > static_cast<size_t>(opt.limit_alphabet)
                            ? ranked.size() - static_cast<size_t>(opt.limit_alphabet) : 0;
    std::vector<char32_t> chars;
    for (size_t k = drop; k < ranked.size(); ++k) chars.push_back(ranked[k].second);
    std::sort(chars.begin(), chars.end());
    std::sort(inner.begin(), inner.end());
    inner.erase(std::unique(inner.begin(), inner.end()), inner.end());
    inner.erase(std::remove_if(inner.begin(), inner.end(),
                               [&](char32_t c) { return !std::binary_search(chars.begin(), chars.end(), c); }),
                inner.end());
    std::string s;
    for (char32_t c : chars) {
      s.clear();
      utf8_append(c, s);
      add_token(s);
    }
    for (char32_t c : inner) {
      s = prefix;
      utf8_append(c, s);
      add_token(s);
    }
  }

  // 3. words as symbol ids; 4. pair counts and where each pair occurs.
  for (size_t i = 0; i < wc.words.size(); ++i) {
    const std::string& w = wc.words[i];
    if (!opt.characters) {
      for (unsigned char b : w) words[i].push_back(static_cast<uint32_t>(token_id[std::string(1, static_cast<char>(b))]));
    } else {
      std::string s;
      for (size_t k = 0; k < w.size();) {
        const bool first = k == 0;
        s = first ? std::string() : prefix;
        utf8_append(utf8_next(w, k), s);
        const auto it = token_id.find(s);
        if (it != token_id.end()) words[i].push_back(static_cast<uint32_t>(it->second));  // else outside the alphabet
      }
    }
    lens[i].assign(words[i].size(), 1);
  }
  std::unordered_map<uint64_t, int64_t> pair_counts;
  std::unordered_map<uint64_t, std::vector<uint32_t>> where;
  pair_counts.reserve(1 << 16);
  for (size_t i = 0; i < words.size(); ++i)
    for (size_t k = 0; k + 1 < words[i].size(); ++k) {
      const uint64_t p = pack(words[i][k], words[i][k + 1]);
      pair_counts[p] += wc.counts[i];
      where[p].push_back(static_cast<uint32_t>(i));
    }

  struct Candidate {
    int64_t count;
    uint64_t pair;
    uint64_t seq;  // tie-break among identical (count, pair): first pushed first
    std::vector<uint32_t> pos;
  };
  struct Lower {
    bool operator()(const Candidate& a, const Candidate& b) const {
      if (a.count != b.count) return a.count < b.count;  // more frequent first
      if (a.pair != b.pair) return a.pair > b.pair;      // then the smaller (left, right)
      return a.seq > b.seq;
    }
  };
  std::priority_queue<Candidate, std::vector<Candidate>, Lower> queue;
  uint64_t seq = 0;
  auto flush = [&]() {
    // Deterministic push order: by pair.
    std::vector<uint64_t> keys;
    keys.reserve(where.size());
    for (auto& [p, pos] : where) keys.push_back(p);
    std::sort(keys.begin(), keys.end());
    for (uint64_t p : keys) {
      std::vector<uint32_t>& pos = where[p];
      std::sort(pos.begin(), pos.end());
      pos.erase(std::unique(pos.begin(), pos.end()), pos.end());
      const int64_t c = pair_counts[p];
      if (c > 0) queue.push(Candidate{c, p, seq++, std::move(pos)});
    }
    where.clear();
  };
  flush();

  // 5. merges.
  std::vector<std::pair<uint64_t, int32_t>> merges;  // (pair, new id) in the order made
  std::vector<std::pair<uint64_t, int64_t>> changes;
  const int64_t report_every = std::max<int64_t>(1, opt.vocab_size / 100);
  int64_t last_report = 0;
  while (static_cast<int64_t>(token_id.size()) < opt.vocab_size && !queue.empty()) {
    if (opt.progress && static_cast<int64_t>(token_id.size()) - last_report >= report_every) {
      last_report = static_cast<int64_t>(token_id.size());
      opt.progress(last_report, opt.vocab_size);
    }
    Candidate top = queue.top();
    queue.pop();
    const int64_t live = pair_counts[top.pair];
    if (top.count != live) {
      top.count = live;
      top.seq = seq++;
      queue.push(std::move(top));
      continue;
    }
    if (top.count < 1 || top.count < opt.min_frequency) break;
    const auto a = static_cast<uint32_t>(top.pair >> 32), b = static_cast<uint32_t>(top.pair & 0xFFFFFFFFu);
    std::string_view right = out.vocab[b];
    if (!prefix.empty() && right.substr(0, prefix.size()) == prefix) right.remove_prefix(prefix.size());
    const int32_t new_id = add_token(out.vocab[a] + std::string(right));
    merges.emplace_back(top.pair, new_id);
    const auto r = static_cast<uint32_t>(new_id);
    changes.clear();
    for (uint32_t wi : top.pos) {
      std::vector<uint32_t>& w = words[wi];
      std::vector<uint32_t>& ln = lens[wi];
      const int64_t count = wc.counts[wi];
      for (size_t i = 0; i < w.size(); ++i) {
        if (!(w[i] == a && i + 1 < w.size() && w[i + 1] == b)) continue;
        const uint32_t new_len = ln[i] + ln[i + 1];
        if (i > 0) {
          changes.emplace_back(pack(w[i - 1], a), -count);
          if (ln[i - 1] + new_len < max_len) {
            changes.emplace_back(pack(w[i - 1], r), count);
            where[pack(w[i - 1], r)].push_back(wi);
          }
        }
        w[i] = r;
        ln[i] = new_len;
        w.erase(w.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        ln.erase(ln.begin() + static_cast<std::ptrdiff_t>(i) + 1);
        if (i + 1 < w.size()) {
          changes.emplace_back(pack(b, w[i + 1]), -count);
          if (ln[i + 1] + new_len < max_len) {
            changes.emplace_back(pack(r, w[i + 1]), count);
            where[pack(r, w[i + 1])].push_back(wi);
          }
        }
      }
    }
    for (auto [p, c] : changes) pair_counts[p] += c;
    flush();
  }

  if (opt.progress) opt.progress(static_cast<int64_t>(token_id.size()), opt.vocab_size);
  // A pair merged more than once keeps its last position, as in Hugging Face's model.
  std::unordered_map<uint64_t, size_t> last;
  for (size_t i = 0; i < merges.size(); ++i) last[merges[i].first] = i;
  for (size_t i = 0; i < merges.size(); ++i)
    if (last[merges[i].first] == i)
      out.merges.emplace_back(static_cast<int32_t>(merges[i].first >> 32),
                              static_cast<int32_t>(merges[i].first & 0xFFFFFFFFu));
  return out;
}

void WordCounter::add(const std::vector<std::string_view>& texts) {
  WordCounts more = bert_ ? count_bert_words(texts, normalizer_) : count_words(texts, pattern_, add_prefix_space_);
  if (counts_.words.empty()) counts_ = std::move(more);
  else merge_word_counts(counts_, more);
}

BytePairEncoder WordCounter::train(const BpeTrainerOptions& options) const {
  const BpeTrainingResult r = train_bpe(counts_, options);
  // the specials lead the vocabulary, each once however often it was given
  const size_t n_specials =
      std::unordered_set<std::string>(options.special_tokens.begin(), options.special_tokens.end()).size();
  std::vector<SpecialToken> specials;
  std::vector<std::pair<std::string, int32_t>> vocab;
  for (size_t id = 0; id < r.vocab.size(); ++id) {
    if (id < n_specials) specials.push_back({r.vocab[id], static_cast<int32_t>(id)});
    else vocab.emplace_back(r.vocab[id], static_cast<int32_t>(id));
  }
  std::vector<std::pair<std::string, std::string>> merges;
  for (auto [a, b] : r.merges) merges.emplace_back(r.vocab[a], r.vocab[b]);
  return BytePairEncoder::from_merges(std::move(vocab), merges, pattern_, std::move(specials));
}

std::vector<std::string> WordCounter::train_vocab(const BpeTrainerOptions& options,
                                                  const std::string& continuing_subword_prefix) const {
  BpeTrainerOptions characters = options;
  characters.characters = true;
  characters.continuing_subword_prefix = continuing_subword_prefix;
  return train_bpe(counts_, characters).vocab;
}

}  // namespace pyseq::text
