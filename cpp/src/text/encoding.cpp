// Post-processing (special tokens, truncation) and padding of encodings.
#include "pyseq/text/encoding.h"

#include <algorithm>

#include "pyseq/common.h"

namespace pyseq::text {

Encoding post_process(Encoding a, const Encoding* b, int32_t cls_id, int32_t sep_id, int64_t max_length) {
  const int64_t added = (cls_id >= 0) + (sep_id >= 0) + (b && sep_id >= 0);
  if (max_length > 0) {
    PYSEQ_CHECK(max_length >= added, ValueError, "truncation: max_length ", max_length,
                " is smaller than the ", added, " special tokens it must hold");
    const int64_t budget = max_length - added;
    if (!b) {
      a.truncate(static_cast<size_t>(budget));
    } else {
      // Hugging Face's longest_first: keep both as long as possible, cutting the longer first.
      int64_t n1 = static_cast<int64_t>(a.size()), n2 = static_cast<int64_t>(b->size());
      if (n1 + n2 > budget) {
        const bool swap = n1 > n2;
        if (swap) std::swap(n1, n2);
        n2 = n1 > budget ? n1 : std::max(n1, budget - n1);
        if (n1 + n2 > budget) {
          n1 = budget / 2;
          n2 = n1 + budget % 2;
        }
        if (swap) std::swap(n1, n2);
        a.truncate(static_cast<size_t>(n1));
        Encoding bt = *b;
        bt.truncate(static_cast<size_t>(n2));
        return post_process(std::move(a), &bt, cls_id, sep_id, 0);
      }
    }
  }
  Encoding out;
  const size_t total = a.size() + (b ? b->size() : 0) + added;
  out.ids.reserve(total);
  out.type_ids.reserve(total);
  out.special.reserve(total);
  auto add_special = [&](int32_t id, int32_t type) {
    if (id < 0) return;
    out.push(id, 0, 0);
    out.type_ids.push_back(type);
    out.special.push_back(1);
  };
  auto add = [&](const Encoding& e, int32_t type) {
    out.ids.insert(out.ids.end(), e.ids.begin(), e.ids.end());
    out.starts.insert(out.starts.end(), e.starts.begin(), e.starts.end());
    out.ends.insert(out.ends.end(), e.ends.begin(), e.ends.end());
    out.type_ids.insert(out.type_ids.end(), e.size(), type);
    out.special.insert(out.special.end(), e.size(), 0);
  };
  add_special(cls_id, 0);
  add(a, 0);
  add_special(sep_id, 0);
  if (b) {
    add(*b, 1);
    add_special(sep_id, 1);
  }
  return out;
}

PaddedBatch pad_batch(const std::vector<Encoding>& batch, int32_t pad_id, int64_t length) {
  PaddedBatch out;
  out.rows = static_cast<int64_t>(batch.size());
  out.cols = std::max<int64_t>(length, 0);
  for (const Encoding& e : batch) out.cols = std::max<int64_t>(out.cols, static_cast<int64_t>(e.size()));
  const size_t total = static_cast<size_t>(out.rows * out.cols);
  out.ids.assign(total, pad_id);
  out.attention_mask.assign(total, 0);
  out.type_ids.assign(total, 0);
  for (size_t r = 0; r < batch.size(); ++r) {
    const Encoding& e = batch[r];
    int64_t* ids = out.ids.data() + r * out.cols;  // row r of (rows, cols)
    int64_t* mask = out.attention_mask.data() + r * out.cols;
    int64_t* types = out.type_ids.data() + r * out.cols;
    for (size_t t = 0; t < e.size(); ++t) {
      ids[t] = e.ids[t];
      mask[t] = 1;
      types[t] = e.type_ids.empty() ? 0 : e.type_ids[t];
    }
  }
  return out;
}

}  // namespace pyseq::text

namespace pyseq::text {

void byte_to_char_offsets(std::string_view text, Encoding& e) {
  bool ascii = true;
  for (unsigned char c : text)
    if (c >= 0x80) {
      ascii = false;
      break;
    }
  if (ascii) return;
  std::vector<uint32_t> chars_before(text.size() + 1);  // byte offset -> code points before it
  uint32_t count = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    chars_before[i] = count;
    count += (static_cast<unsigned char>(text[i]) & 0xC0) != 0x80;
  }
  chars_before[text.size()] = count;
  for (size_t i = 0; i < e.size(); ++i) {
    if (!e.special.empty() && e.special[i]) continue;
    // A span that starts inside a character (a BPE token splitting its bytes) starts at that
    // character, and one that ends inside a character ends after it, as in Hugging Face.
    const size_t s = std::min<size_t>(e.starts[i], text.size());
    const bool inside = s < text.size() && (static_cast<unsigned char>(text[s]) & 0xC0) == 0x80;
    e.starts[i] = chars_before[s] - (inside ? 1 : 0);
    e.ends[i] = chars_before[std::min<size_t>(e.ends[i], text.size())];
  }
}

}  // namespace pyseq::text
