// Byte pair merging and the encoder around it: pieces from the pre-tokenizer, special tokens,
// decoding.
#include "pyseq/text/bpe.h"

#include <algorithm>
#include <queue>
#include <unordered_map>

#include "pyseq/common.h"
#include "pyseq/text/unicode.h"

namespace pyseq::text {
namespace {

// Ids index dense tables (id -> bytes), so a vocabulary of `count` tokens may use ids below
// 2 count + 2^20 (real vocabularies put their special tokens just past their ranks); a stray rank
// of 2,000,000,000 would otherwise ask for gigabytes, and 2**31 - 1 would overflow the table's size.
void check_dense(int64_t id, size_t count) {
  const int64_t limit = 2 * static_cast<int64_t>(count) + (int64_t{1} << 20);
  PYSEQ_CHECK(id < limit, ValueError, "BPE: id ", id, " is far past the vocabulary's ", count,
              " tokens (ids must be below 2 x the token count + 2**20 = ", limit, ")");
}

}  // namespace

void BytePairEncoder::finish(std::vector<SpecialToken> specials) {
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    byte_id_[b] = tokens_.find(std::string_view(&c, 1));
  }
  specials_ = std::move(specials);
  std::unordered_map<int32_t, std::string_view> special_of_id;
  for (const SpecialToken& s : specials_) {
    PYSEQ_CHECK(!s.text.empty(), ValueError, "BPE: a special token is empty");
    PYSEQ_CHECK(s.id >= 0, ValueError, "BPE: special token '", s.text, "' has a negative id ", s.id);
    // an id names one token: not an ordinary one with other bytes, not another special
    const bool ordinary = s.id < static_cast<int32_t>(id_bytes_.size()) && !id_bytes_[s.id].empty();
    PYSEQ_CHECK(!ordinary || id_bytes_[s.id] == s.text, ValueError, "BPE: special token '", s.text, "' has id ",
                s.id, ", which is already the ordinary token of ", id_bytes_[s.id].size(), " bytes at that rank");
    const auto [it, fresh] = special_of_id.emplace(s.id, s.text);
    PYSEQ_CHECK(fresh, ValueError, "BPE: special tokens '", it->second, "' and '", s.text, "' have the same id ", s.id);
    check_dense(s.id, tokens_.size() + specials_.size());
    max_id_ = std::max(max_id_, s.id);
  }
  id_bytes_.resize(static_cast<size_t>(max_id_ + 1));
  has_id_.resize(static_cast<size_t>(max_id_ + 1), 0);
  for (const SpecialToken& s : specials_) {
    id_bytes_[s.id] = s.text;
    has_id_[s.id] = 1;
  }
}

BytePairEncoder BytePairEncoder::from_ranks(std::vector<std::pair<std::string, int32_t>> ranks, Pattern pattern,
                                            std::vector<SpecialToken> specials) {
  BytePairEncoder bpe;
  bpe.pattern_ = pattern;
  bpe.whole_piece_lookup_ = true;
  for (const auto& [bytes, rank] : ranks) {
    PYSEQ_CHECK(rank >= 0, ValueError, "BPE: negative rank ", rank);
    PYSEQ_CHECK(!bytes.empty(), ValueError, "BPE: an empty token has rank ", rank);
    PYSEQ_CHECK(bpe.tokens_.insert(bytes, rank), ValueError, "BPE: a token appears twice (rank ", rank, ")");
    check_dense(rank, ranks.size());
    bpe.max_id_ = std::max(bpe.max_id_, rank);
  }
  bpe.id_bytes_.resize(static_cast<size_t>(bpe.max_id_ + 1));
  for (auto& [bytes, rank] : ranks) {
    PYSEQ_CHECK(bpe.id_bytes_[rank].empty(), ValueError, "BPE: rank ", rank, " is given to two tokens");
    bpe.id_bytes_[rank] = std::move(bytes);
  }
  // tiktoken merges two adjacent parts when their concatenation is a token. Every part is a
  // token, so that is a merge (left id, right id) -> concatenation for every split of every token
  // into two tokens, with the concatenation's rank as priority.
  bpe.merge_list_.assign(bpe.id_bytes_.size(), {-1, -1});
  for (size_t id = 0; id < bpe.id_bytes_.size(); ++id) {
    const std::string& t = bpe.id_bytes_[id];
    for (size_t k = 1; k < t.size(); ++k) {
      const int32_t left = bpe.tokens_.find(std::string_view(t).substr(0, k));
      const int32_t right = bpe.tokens_.find(std::string_view(t).substr(k));
      if (left < 0 || right < 0) continue;
      bpe.merges_.insert(left, right, {static_cast<uint32_t>(id), static_cast<uint32_t>(id)});
      if (bpe.merge_list_[id].first < 0) bpe.merge_list_[id] = {left, right};
    }
  }
  const size_t ordinary = static_cast<size_t>(bpe.max_id_ + 1);  // ids below are ordinary tokens (0 when none)
  bpe.finish(std::move(specials));
  bpe.has_id_.assign(bpe.id_bytes_.size(), 0);
  for (size_t id = 0; id < ordinary; ++id) bpe.has_id_[id] = !bpe.id_bytes_[id].empty();
  for (const SpecialToken& s : bpe.specials_) bpe.has_id_[s.id] = 1;
  for (int b = 0; b < 256; ++b)
    PYSEQ_CHECK(bpe.byte_id_[b] >= 0, ValueError, "BPE: the ranks have no token for the single byte ", b,
                " (byte-level BPE needs all 256)");
  return bpe;
}

BytePairEncoder BytePairEncoder::from_merges(std::vector<std::pair<std::string, int32_t>> vocab,
                                             const std::vector<std::pair<std::string, std::string>>& merges,
                                             Pattern pattern, std::vector<SpecialToken> specials) {
  BytePairEncoder bpe;
  bpe.pattern_ = pattern;
  for (const auto& [bytes, id] : vocab) {
    PYSEQ_CHECK(id >= 0, ValueError, "BPE: negative id ", id);
    PYSEQ_CHECK(bpe.tokens_.insert(bytes, id), ValueError, "BPE: a token appears twice (id ", id, ")");
    check_dense(id, vocab.size());
    bpe.max_id_ = std::max(bpe.max_id_, id);
  }
  bpe.id_bytes_.resize(static_cast<size_t>(bpe.max_id_ + 1));
  for (auto& [bytes, id] : vocab) bpe.id_bytes_[id] = std::move(bytes);
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    const int32_t left = bpe.tokens_.find(a), right = bpe.tokens_.find(b), merged = bpe.tokens_.find(a + b);
    PYSEQ_CHECK(left >= 0 && right >= 0, ValueError, "BPE: merge ", rank, " uses a token that is not in the vocabulary");
    PYSEQ_CHECK(merged >= 0, ValueError, "BPE: the result of merge ", rank, " is not in the vocabulary");
    if (bpe.merges_.insert(left, right, {static_cast<uint32_t>(rank), static_cast<uint32_t>(merged)}))
      bpe.merge_list_.emplace_back(left, right);
  }
  PYSEQ_CHECK(!vocab.empty() || !specials.empty(), ValueError, "BPE: the vocabulary is empty");
  const size_t ordinary = static_cast<size_t>(bpe.max_id_ + 1);  // ids below are ordinary tokens (0 when none)
  bpe.finish(std::move(specials));
  for (size_t id = 0; id < ordinary; ++id) bpe.has_id_[id] = !bpe.id_bytes_[id].empty();
  for (const SpecialToken& s : bpe.specials_) bpe.has_id_[s.id] = 1;
  return bpe;
}

std::vector<std::pair<int32_t, int32_t>> BytePairEncoder::merges() const {
  std::vector<std::pair<int32_t, int32_t>> out;
  for (const auto& m : merge_list_)
    if (m.first >= 0) out.push_back(m);
  return out;
}

// A vocabulary trained without the full byte alphabet has no token for the bytes its corpus lacked;
// text holding one is refused (Hugging Face's BPE drops such a character without a word).
constexpr const char* kNoByteToken =
    " (the vocabulary lacks it: trained with full_byte_alphabet=False on a corpus without that byte)";

// Merging with a linear scan for the lowest-ranked pair: fastest for the short pieces of real text.
void BytePairEncoder::merge_small(const uint8_t* bytes, size_t n, std::vector<int32_t>& out) const {
  constexpr uint32_t kNoRank = ~0u;
  int32_t ids[64];
  uint32_t ranks[64], merged[64];  // ranks[i], merged[i]: of the pair (i, i + 1)
  for (size_t i = 0; i < n; ++i) {
    ids[i] = byte_id_[bytes[i]];
    PYSEQ_CHECK(ids[i] >= 0, ValueError, "BPE: no token for byte ", int(bytes[i]), kNoByteToken);
  }
  auto rank_of = [&](size_t i) {
    const PairMap::Value* v = merges_.find(static_cast<uint32_t>(ids[i]), static_cast<uint32_t>(ids[i + 1]));
    ranks[i] = v ? v->rank : kNoRank;
    merged[i] = v ? v->id : 0;
  };
  for (size_t i = 0; i + 1 < n; ++i) rank_of(i);
  while (n > 1) {
    size_t best = 0;
    uint32_t best_rank = kNoRank;
    for (size_t i = 0; i + 1 < n; ++i)
      if (ranks[i] < best_rank) best_rank = ranks[i], best = i;
    if (best_rank == kNoRank) break;
    ids[best] = static_cast<int32_t>(merged[best]);
    for (size_t i = best + 1; i + 1 < n; ++i) {  // drop part best + 1
      ids[i] = ids[i + 1];
      ranks[i] = ranks[i + 1];
      merged[i] = merged[i + 1];
    }
    --n;
    if (best + 1 < n) rank_of(best);
    if (best > 0) rank_of(best - 1);
  }
  out.insert(out.end(), ids, ids + n);
}

// Merging with a heap and a linked list: O(n log n) for long pieces (runs of spaces, long words).
void BytePairEncoder::merge_large(const uint8_t* bytes, size_t n, std::vector<int32_t>& out) const {
  std::vector<int32_t> ids(n);
  std::vector<int64_t> next(n), prev(n);
  std::vector<uint32_t> version(n, 0);
  for (size_t i = 0; i < n; ++i) {
    ids[i] = byte_id_[bytes[i]];
    PYSEQ_CHECK(ids[i] >= 0, ValueError, "BPE: no token for byte ", int(bytes[i]), kNoByteToken);
    next[i] = i + 1 < n ? static_cast<int64_t>(i + 1) : -1;
    prev[i] = static_cast<int64_t>(i) - 1;
  }
  struct Entry {
    uint32_t rank;
    int64_t pos;
    uint32_t left_version, right_version;
    bool operator>(const Entry& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> heap;
  auto push = [&](int64_t i) {
    const int64_t j = next[i];
    if (j < 0) return;
    const PairMap::Value* v = merges_.find(static_cast<uint32_t>(ids[i]), static_cast<uint32_t>(ids[j]));
    if (v) heap.push({v->rank, i, version[i], version[j]});
  };
  for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int64_t>(i));
  std::vector<uint8_t> alive(n, 1);
  while (!heap.empty()) {
    const Entry e = heap.top();
    heap.pop();
    const int64_t i = e.pos, j = next[i];
    if (!alive[i] || j < 0 || version[i] != e.left_version || version[j] != e.right_version) continue;
    const PairMap::Value* v = merges_.find(static_cast<uint32_t>(ids[i]), static_cast<uint32_t>(ids[j]));
    ids[i] = static_cast<int32_t>(v->id);
    ++version[i];
    alive[j] = 0;
    next[i] = next[j];
    if (next[j] >= 0) prev[next[j]] = i;
    push(i);
    if (prev[i] >= 0) push(prev[i]);
  }
  for (int64_t i = 0; i >= 0; i = next[i]) out.push_back(ids[i]);
}

void BytePairEncoder::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.empty()) return;
  if (whole_piece_lookup_ || piece.size() == 1) {
    const int32_t id = tokens_.find(piece);
    if (id >= 0 && (whole_piece_lookup_ || piece.size() == 1)) {
      out.push_back(id);
      return;
    }
  }
  const auto* bytes = reinterpret_cast<const uint8_t*>(piece.data());
  if (piece.size() <= 64) merge_small(bytes, piece.size(), out);
  else merge_large(bytes, piece.size(), out);
}

std::string_view BytePairEncoder::with_prefix_space(std::string_view text, std::string& spaced) const {
  if (!add_prefix_space_ || text.empty() || text[0] == ' ') return text;
  spaced.assign(1, ' ');
  spaced.append(text);
  return spaced;
}

std::vector<int32_t> BytePairEncoder::encode_ordinary(std::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 1);
  std::vector<std::pair<uint32_t, uint32_t>> pieces;
  std::string spaced;
  text = with_prefix_space(text, spaced);
  pre_tokenize(pattern_, text, pieces);
  for (auto [b, e] : pieces) encode_piece(text.substr(b, e - b), out);
  return out;
}

int64_t BytePairEncoder::find_special(std::string_view text, const std::vector<uint8_t>& check) const {
  size_t best = std::string_view::npos;
  int64_t best_k = -1;
  for (size_t k = 0; k < specials_.size(); ++k) {
    if (k < check.size() && !check[k]) continue;
    const size_t at = text.find(specials_[k].text);
    if (at == std::string_view::npos) continue;
    if (at < best || (at == best && specials_[k].text.size() > specials_[best_k].text.size()))
      best = at, best_k = static_cast<int64_t>(k);
  }
  return best_k;
}

Encoding BytePairEncoder::encode(std::string_view text, const std::vector<uint8_t>& allowed) const {
  Encoding out;
  out.ids.reserve(text.size() / 3 + 1);
  std::vector<std::pair<uint32_t, uint32_t>> pieces;
  std::vector<int32_t> ids;
  std::string spaced;
  auto encode_segment = [&](size_t base, std::string_view seg) {
    const std::string_view view = with_prefix_space(seg, spaced);
    const uint32_t shift = static_cast<uint32_t>(view.size() - seg.size());  // 1 with an added space
    // Offsets in the text from those in `view`: as Hugging Face's, an added space is aligned with
    // the text's first character, so a token that ends with it ends after that character.
    const auto lead = static_cast<uint8_t>(seg.empty() ? 0 : seg[0]);
    const uint32_t first_len = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    auto start_of = [&](uint32_t at) { return static_cast<uint32_t>(base + (at > shift ? at - shift : 0)); };
    auto end_of = [&](uint32_t at) {
      return shift && at == shift ? static_cast<uint32_t>(base + first_len) : start_of(at);
    };
    pre_tokenize(pattern_, view, pieces);
    for (auto [b, e] : pieces) {
      ids.clear();
      encode_piece(view.substr(b, e - b), ids);
      // Offsets: each id covers its bytes of the piece.
      uint32_t at = b;
      for (int32_t id : ids) {
        const auto len = static_cast<uint32_t>(id_bytes_[id].size());
        out.push(id, start_of(at), end_of(at + len));
        at += len;
      }
    }
  };
  bool any_allowed = false;
  for (size_t k = 0; k < specials_.size() && k < allowed.size(); ++k) any_allowed = any_allowed || allowed[k];
  // Next occurrence of each allowed special token at or after `pos` (found again only once passed).
  std::vector<size_t> next(specials_.size(), std::string_view::npos);
  for (size_t k = 0; any_allowed && k < specials_.size() && k < allowed.size(); ++k)
    if (allowed[k]) next[k] = text.find(specials_[k].text);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t best = std::string_view::npos, best_len = 0;
    int32_t best_id = -1;
    if (any_allowed) {
      for (size_t k = 0; k < specials_.size() && k < allowed.size(); ++k) {
        if (!allowed[k]) continue;
        if (next[k] != std::string_view::npos && next[k] < pos) next[k] = text.find(specials_[k].text, pos);
        const size_t at = next[k];
        if (at == std::string_view::npos) continue;
        if (at < best || (at == best && specials_[k].text.size() > best_len))
          best = at, best_len = specials_[k].text.size(), best_id = specials_[k].id;
      }
    }
    const size_t end = best == std::string_view::npos ? text.size() : best;
    encode_segment(pos, text.substr(pos, end - pos));
    if (best == std::string_view::npos) break;
    out.push(best_id, static_cast<uint32_t>(best), static_cast<uint32_t>(best + best_len));
    pos = best + best_len;
  }
  return out;
}

const std::string& BytePairEncoder::token_bytes(int32_t id) const {
  PYSEQ_CHECK(id >= 0 && id <= max_id_ && has_id_[id], IndexError, "BPE: token id ", id,
              " is not in the vocabulary (size ", max_id_ + 1, ")");
  return id_bytes_[id];
}

std::string BytePairEncoder::decode_bytes(const std::vector<int32_t>& ids) const {
  std::string out;
  out.reserve(ids.size() * 4);
  for (int32_t id : ids) out += token_bytes(id);
  return out;
}

int32_t BytePairEncoder::token_to_id(std::string_view bytes) const {
  const int32_t id = tokens_.find(bytes);
  if (id >= 0) return id;
  for (const SpecialToken& s : specials_)
    if (s.text == bytes) return s.id;
  return -1;
}

}  // namespace pyseq::text
