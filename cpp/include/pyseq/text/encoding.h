// The result of tokenizing one text, and what happens after: special tokens around one or two
// sequences, truncation and padding of a batch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pyseq::text {

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<uint32_t> starts, ends;  // byte span [start, end) of the input per id; (0, 0) for added specials
  std::vector<int32_t> type_ids;       // segment per id (0 first sequence, 1 second); empty = all 0
  std::vector<uint8_t> special;        // 1 for ids added by post-processing; empty = none

  size_t size() const { return ids.size(); }
  void push(int32_t id, uint32_t start, uint32_t end) {
    ids.push_back(id);
    starts.push_back(start);
    ends.push_back(end);
  }
  void truncate(size_t n) {
    if (ids.size() <= n) return;
    ids.resize(n);
    starts.resize(n);
    ends.resize(n);
    if (!type_ids.empty()) type_ids.resize(n);
    if (!special.empty()) special.resize(n);
  }
};

// BERT's template: [CLS] A [SEP] (type 0), then B [SEP] (type 1) for a pair. `max_length` > 0
// truncates first (Hugging Face's longest_first strategy, counting the added tokens); cls/sep < 0
// add nothing.
Encoding post_process(Encoding a, const Encoding* b, int32_t cls_id, int32_t sep_id, int64_t max_length);

// A batch padded to its longest (or to `length` if larger) with pad_id, row-major (n, T):
// ids, attention mask and type ids.
struct PaddedBatch {
  int64_t rows = 0, cols = 0;
  std::vector<int64_t> ids, attention_mask, type_ids;
};
PaddedBatch pad_batch(const std::vector<Encoding>& batch, int32_t pad_id, int64_t length);

}  // namespace pyseq::text

namespace pyseq::text {
// Turns the byte offsets of `e` (into `text`, valid UTF-8) into code point offsets, as Python's
// str indexes. Added specials keep (0, 0).
void byte_to_char_offsets(std::string_view text, Encoding& e);
}  // namespace pyseq::text
