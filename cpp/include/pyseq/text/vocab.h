// Hash maps for vocabularies: byte string -> id, and (id, id) pair -> (rank, id). Open addressing
// over flat arrays, because lookups of short strings are the inner loop of every tokenizer.
#pragma once

#include <cstdint>
#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace pyseq::text {

inline uint64_t hash_bytes(const char* p, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
    p += 8;
    n -= 8;
  }
  uint64_t w = 0;
  std::memcpy(&w, p, n);
  h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 29);
}

// Byte string -> int32 id. Keys are copied into one arena.
class StringMap {
 public:
  StringMap() { rehash(16); }

  // Inserts key -> value; returns false (and changes nothing) if the key is already there.
  bool insert(std::string_view key, int32_t value) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.size() * 2);
    const uint64_t h = hash_bytes(key.data(), key.size());
    size_t i = h & mask_;
    while (slots_[i].value >= 0) {
      if (slots_[i].hash == static_cast<uint32_t>(h) && view(slots_[i]) == key) return false;
      i = (i + 1) & mask_;
    }
    slots_[i] = Slot{static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(key.size()), value,
                     static_cast<uint32_t>(h)};
    arena_.append(key);
    ++size_;
    if (key.size() > max_len_) max_len_ = key.size();
    return true;
  }

  // The id of `key`, or -1.
  int32_t find(std::string_view key) const {
    const uint64_t h = hash_bytes(key.data(), key.size());
    size_t i = h & mask_;
    while (slots_[i].value >= 0) {
      const Slot& s = slots_[i];
      if (s.hash == static_cast<uint32_t>(h) && s.len == key.size() &&
          std::memcmp(arena_.data() + s.off, key.data(), key.size()) == 0)
        return s.value;
      i = (i + 1) & mask_;
    }
    return -1;
  }

  size_t size() const { return size_; }
  size_t max_key_length() const { return max_len_; }

 private:
  struct Slot {
    uint32_t off = 0, len = 0;
    int32_t value = -1;
    uint32_t hash = 0;
  };
  std::string_view view(const Slot& s) const { return std::string_view(arena_.data() + s.off, s.len); }
  void rehash(size_t n) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(n, Slot{});
    mask_ = n - 1;
    for (const Slot& s : old) {
      if (s.value < 0) continue;
      size_t i = hash_bytes(arena_.data() + s.off, s.len) & mask_;
      while (slots_[i].value >= 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  std::string arena_;
  size_t mask_ = 0, size_ = 0, max_len_ = 0;
};

// (left id, right id) -> (rank, merged id): the merges of a BPE model.
class PairMap {
 public:
  struct Value { uint32_t rank, id; };
  PairMap() { rehash(16); }

  bool insert(uint32_t left, uint32_t right, Value v) {
    if ((size_ + 1) * 2 > slots_.size()) rehash(slots_.size() * 2);
    const uint64_t key = pack(left, right);
    size_t i = mix(key) & mask_;
    while (slots_[i].key != kEmpty) {
      if (slots_[i].key == key) return false;
      i = (i + 1) & mask_;
    }
    slots_[i] = Slot{key, v};
    ++size_;
    return true;
  }

  // nullptr when (left, right) is not a merge.
  const Value* find(uint32_t left, uint32_t right) const {
    const uint64_t key = pack(left, right);
    size_t i = mix(key) & mask_;
    while (slots_[i].key != kEmpty) {
      if (slots_[i].key == key) return &slots_[i].value;
      i = (i + 1) & mask_;
    }
    return nullptr;
  }

  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  struct Slot {
    uint64_t key = kEmpty;
    Value value{0, 0};
  };
  static uint64_t pack(uint32_t a, uint32_t b) { return (uint64_t(a) << 32) | b; }
  static uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    return k ^ (k >> 33);
  }
  void rehash(size_t n) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(n, Slot{});
    mask_ = n - 1;
    for (const Slot& s : old) {
      if (s.key == kEmpty) continue;
      size_t i = mix(s.key) & mask_;
      while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0, size_ = 0;
};

// A byte trie over tokens: the longest token that prefixes a string, in one walk. Nodes are laid
// out breadth first with each node's child labels sorted and contiguous, so a walk touches a few
// cache lines. Call insert for every token, then build, then look up.
class TokenTrie {
 public:
  void insert(std::string_view token, int32_t id) { entries_.emplace_back(std::string(token), id); }

  void build() {
    // Sorted tokens: a node's subtree is a contiguous range, its own token (if any) comes first.
    std::stable_sort(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
      return std::string_view(a.first) < std::string_view(b.first);
    });
    nodes_.assign(1, Node{});
    labels_.clear();
    children_.clear();
    struct Range { uint32_t node; size_t lo, hi, depth; };
    std::vector<Range> queue{{0, 0, entries_.size(), 0}};
    for (size_t q = 0; q < queue.size(); ++q) {
      const Range r = queue[q];
      size_t i = r.lo;
      if (i < r.hi && entries_[i].first.size() == r.depth) nodes_[r.node].id = entries_[i].second;
      while (i < r.hi && entries_[i].first.size() == r.depth) ++i;  // a duplicate keeps its first id
      nodes_[r.node].first = static_cast<uint32_t>(labels_.size());
      uint32_t count = 0;
      while (i < r.hi) {
        const auto b = static_cast<unsigned char>(entries_[i].first[r.depth]);
        size_t k = i;
        while (k < r.hi && static_cast<unsigned char>(entries_[k].first[r.depth]) == b) ++k;
        const auto child = static_cast<uint32_t>(nodes_.size());
        nodes_.push_back(Node{});
        labels_.push_back(b);
        children_.push_back(child);
        queue.push_back({child, i, k, r.depth + 1});
        ++count;
        i = k;
      }
      nodes_[r.node].count = count;
    }
    std::vector<std::pair<std::string, int32_t>>().swap(entries_);
  }

  // The longest token that s starts with: its id and length in bytes, or (-1, 0).
  std::pair<int32_t, size_t> longest_prefix(std::string_view s) const {
    uint32_t node = 0;
    int32_t best = -1;
    size_t best_len = 0;
    for (size_t k = 0; k < s.size(); ++k) {
      const Node& n = nodes_[node];
      const uint8_t* first = labels_.data() + n.first;
      const uint8_t* last = first + n.count;
      const auto b = static_cast<uint8_t>(s[k]);
      const uint8_t* it = n.count > 8 ? std::lower_bound(first, last, b) : first;
      if (n.count <= 8)
        while (it != last && *it < b) ++it;
      if (it == last || *it != b) break;
      node = children_[n.first + (it - first)];
      if (nodes_[node].id >= 0) best = nodes_[node].id, best_len = k + 1;
    }
    return {best, best_len};
  }

 private:
  struct Node {
    uint32_t first = 0;  // index of the first child in labels_ / children_
    uint32_t count = 0;  // number of children
    int32_t id = -1;     // the token ending here, or -1
  };
  std::vector<std::pair<std::string, int32_t>> entries_;  // until build()
  std::vector<Node> nodes_;
  std::vector<uint8_t> labels_;     // child labels, sorted within each node
  std::vector<uint32_t> children_;  // child node per label
};

}  // namespace pyseq::text
