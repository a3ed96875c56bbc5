// The result of tokenizing one text, and what happens after: special tokens around one or two
// sequences, truncation (with overflow windows) and padding of a batch into arrays.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pyseq::text {

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<uint32_t> starts, ends;  // span [start, end) of the input per id; (0, 0) for added specials
  std::vector<int32_t> type_ids;       // segment per id (0 first sequence, 1 second); empty = all 0
  std::vector<uint8_t> special;        // 1 for ids added by post-processing; empty = none
  std::vector<Encoding> overflowing;   // the windows truncation cut off (with `stride` overlap)

  size_t size() const { return ids.size(); }
  void push(int32_t id, uint32_t start, uint32_t end) {
    ids.push_back(id);
    starts.push_back(start);
    ends.push_back(end);
  }
  // The ids [b, e) (no overflow).
  Encoding slice(size_t b, size_t e) const;
  // Keeps the first n ids (no overflow windows).
  void truncate(size_t n) {
    if (ids.size() <= n) return;
    *this = slice(0, n);
  }
};

enum class Truncation { kLongestFirst, kOnlyFirst, kOnlySecond };

struct PostProcessOptions {
  int32_t cls_id = -1, sep_id = -1;  // BERT's template [CLS] A [SEP] B [SEP]; < 0 adds nothing
  int64_t max_length = 0;            // > 0: truncate to this many ids, added specials included
  Truncation strategy = Truncation::kLongestFirst;
  bool truncate_left = false;        // cut from the start instead of the end
  int64_t stride = 0;                // ids repeated between consecutive overflow windows
};

// Hugging Face's truncation (longest_first / only_first / only_second, right or left, windows
// that overlap by `stride` kept in `overflowing`) and template. The result's `overflowing` holds
// each further window, post-processed the same way.
Encoding post_process(Encoding a, const Encoding* b, const PostProcessOptions& options);

// Rows (the encodings and, when asked, their overflow windows) as arrays.
struct PadOptions {
  bool pad = true;            // false: no padding; arrays are the rows concatenated, with `lengths`
  int32_t pad_id = 0;
  int64_t length = 0;         // pad to at least this length (padding="max_length")
  int64_t multiple_of = 0;    // round the padded length up to a multiple of this
  bool left = false;          // pad on the left
  bool overflowing = false;   // add each encoding's overflow windows as rows of their own
  bool offsets = true;        // fill `offsets`
  bool special_mask = true;   // fill `special_tokens_mask`
};
struct BatchArrays {
  int64_t rows = 0, cols = 0;  // padded: (rows, cols); not padded: cols = 0
  std::vector<int64_t> ids, type_ids, attention_mask, special_tokens_mask, offsets;  // offsets: (.., 2)
  std::vector<int64_t> lengths;            // per row: ids before padding
  std::vector<int64_t> sample_of_row;      // per row: which encoding it came from
};
BatchArrays to_arrays(const std::vector<Encoding>& batch, const PadOptions& options);

// Turns the byte offsets of `e` (into `text`, valid UTF-8) into code point offsets, as Python's
// str indexes. A span that starts or ends inside a character covers all of it. Added specials
// keep (0, 0).
void byte_to_char_offsets(std::string_view text, Encoding& e);

}  // namespace pyseq::text
