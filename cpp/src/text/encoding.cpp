// Post-processing (truncation, overflow windows, special tokens) and batching of encodings.
#include "pyseq/text/encoding.h"

#include <algorithm>

#include "pyseq/common.h"

namespace pyseq::text {

Encoding Encoding::slice(size_t b, size_t e) const {
  Encoding out;
  out.ids.assign(ids.begin() + b, ids.begin() + e);
  out.starts.assign(starts.begin() + b, starts.begin() + e);
  out.ends.assign(ends.begin() + b, ends.begin() + e);
  if (!type_ids.empty()) out.type_ids.assign(type_ids.begin() + b, type_ids.begin() + e);
  if (!special.empty()) out.special.assign(special.begin() + b, special.begin() + e);
  return out;
}

namespace {

// Hugging Face's Encoding::truncate: the kept window first, then the overflow windows, each at
// most max_len ids, consecutive windows sharing `stride` ids.
std::vector<Encoding> windows(const Encoding& e, size_t max_len, size_t stride, bool left) {
  const size_t n = e.size();
  if (max_len >= n) return {e};
  if (max_len == 0) return {Encoding{}, e};
  PYSEQ_CHECK(stride < max_len, ValueError, "truncation: stride (", stride, ") must be smaller than the ", max_len,
              " ids left for the sequence");
  const size_t step = max_len - stride;
  std::vector<Encoding> out;
  if (!left) {
    for (size_t start = 0;; start += step) {
      const size_t stop = std::min(start + max_len, n);
      out.push_back(e.slice(start, stop));
      if (stop == n) break;
    }
  } else {
    for (size_t stop = n;; stop -= std::min(step, stop)) {
      const size_t start = stop > max_len ? stop - max_len : 0;
      out.push_back(e.slice(start, stop));
      if (start == 0) break;
    }
  }
  return out;
}

Encoding apply_template(const Encoding& a, const Encoding* b, int32_t cls_id, int32_t sep_id) {
  Encoding out;
  const size_t total = a.size() + (b ? b->size() : 0) + 3;
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
    if (e.special.empty()) out.special.insert(out.special.end(), e.size(), 0);
    else out.special.insert(out.special.end(), e.special.begin(), e.special.end());
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

}  // namespace

Encoding post_process(Encoding a, const Encoding* b, const PostProcessOptions& o) {
  const int64_t added = (o.cls_id >= 0) + (o.sep_id >= 0) + (b && o.sep_id >= 0);
  std::vector<Encoding> wa{a}, wb;
  if (b) wb.push_back(*b);
  if (o.max_length > 0) {
    PYSEQ_CHECK(o.max_length >= added, ValueError, "truncation: max_length ", o.max_length, " is smaller than the ",
                added, " special tokens it must hold");
    const int64_t budget = o.max_length - added;
    const auto stride = static_cast<size_t>(std::max<int64_t>(o.stride, 0));
    const int64_t n1 = static_cast<int64_t>(a.size()), n2 = b ? static_cast<int64_t>(b->size()) : 0;
    if (n1 + n2 > budget) {
      if (!b || o.strategy != Truncation::kLongestFirst) {
        const bool second = b && o.strategy == Truncation::kOnlySecond;
        PYSEQ_CHECK(b || o.strategy != Truncation::kOnlySecond, ValueError,
                    "truncation: only_second needs a pair of sequences");
        const int64_t target = second ? n2 : n1, other = second ? n1 : n2;
        PYSEQ_CHECK(target > n1 + n2 - budget, ValueError, "truncation: the sequence to truncate (", target,
                    " ids) is too short to reach max_length ", o.max_length, " (", other + added,
                    " ids are not truncated)");
        auto& w = second ? wb : wa;
        w = windows(second ? *b : a, static_cast<size_t>(budget - other), stride, o.truncate_left);
      } else {
        // longest_first: keep both as long as possible, cutting the longer first.
        int64_t m1 = n1, m2 = n2;
        const bool swap = m1 > m2;
        if (swap) std::swap(m1, m2);
        m2 = m1 > budget ? m1 : std::max(m1, budget - m1);
        if (m1 + m2 > budget) {
          m1 = budget / 2;
          m2 = m1 + budget % 2;
        }
        if (swap) std::swap(m1, m2);
        wa = windows(a, static_cast<size_t>(m1), stride, o.truncate_left);
        wb = windows(*b, static_cast<size_t>(m2), stride, o.truncate_left);
      }
    }
  }
  // The first window of each makes the encoding. The overflow rows, in Hugging Face's order (that
  // of merging the template's pieces one by one): each further window of A with B's first and
  // then with each further window of B, then A's first with each further window of B.
  const Encoding* b0 = b ? &wb[0] : nullptr;
  Encoding out = apply_template(wa[0], b0, o.cls_id, o.sep_id);
  for (size_t k = 1; k < wa.size(); ++k) {
    out.overflowing.push_back(apply_template(wa[k], b0, o.cls_id, o.sep_id));
    for (size_t j = 1; j < wb.size(); ++j) out.overflowing.push_back(apply_template(wa[k], &wb[j], o.cls_id, o.sep_id));
  }
  for (size_t j = 1; j < wb.size(); ++j) out.overflowing.push_back(apply_template(wa[0], &wb[j], o.cls_id, o.sep_id));
  return out;
}

BatchArrays to_arrays(const std::vector<Encoding>& batch, const PadOptions& o) {
  std::vector<const Encoding*> rows;
  BatchArrays out;
  for (size_t i = 0; i < batch.size(); ++i) {
    rows.push_back(&batch[i]);
    out.sample_of_row.push_back(static_cast<int64_t>(i));
    if (o.overflowing)
      for (const Encoding& w : batch[i].overflowing) {
        rows.push_back(&w);
        out.sample_of_row.push_back(static_cast<int64_t>(i));
      }
  }
  out.rows = static_cast<int64_t>(rows.size());
  int64_t longest = 0, total = 0;
  for (const Encoding* e : rows) {
    longest = std::max<int64_t>(longest, static_cast<int64_t>(e->size()));
    total += static_cast<int64_t>(e->size());
    out.lengths.push_back(static_cast<int64_t>(e->size()));
  }
  if (o.pad) {
    int64_t cols = std::max(longest, o.length);
    // the padded length, rounded up to multiple_of, and rows * cols, all without overflowing
    if (o.multiple_of > 1 && cols % o.multiple_of)
      cols = size_add(cols, o.multiple_of - cols % o.multiple_of, "padding", "the length ", cols,
                      " rounded up to a multiple of ", o.multiple_of);
    total = size_mul(out.rows, cols, "padding", "the id count of ", out.rows, " rows of ", cols);
    size_mul(total, int64_t{16}, "padding", "the byte count of the offsets of ", out.rows, " rows of ", cols,
             " ids");  // the largest array: 2 int64 per id
    out.cols = cols;
  }
  out.ids.assign(static_cast<size_t>(total), o.pad_id);
  out.type_ids.assign(static_cast<size_t>(total), 0);
  out.attention_mask.assign(static_cast<size_t>(total), 0);
  if (o.special_mask) out.special_tokens_mask.assign(static_cast<size_t>(total), o.pad ? 1 : 0);
  if (o.offsets) out.offsets.assign(static_cast<size_t>(total) * 2, 0);
  int64_t at = 0;  // where the row's first id goes
  for (const Encoding* e : rows) {
    const auto n = static_cast<int64_t>(e->size());
    const int64_t first = o.pad ? at + (o.left ? out.cols - n : 0) : at;  // row r of (rows, cols)
    int64_t* ids = out.ids.data() + first;  // the row's ids, (n,)
    int64_t* types = out.type_ids.data() + first;
    int64_t* mask = out.attention_mask.data() + first;
    for (int64_t t = 0; t < n; ++t) {
      ids[t] = e->ids[t];
      types[t] = e->type_ids.empty() ? 0 : e->type_ids[t];
      mask[t] = 1;
    }
    if (o.special_mask)
      for (int64_t t = 0; t < n; ++t) out.special_tokens_mask[first + t] = e->special.empty() ? 0 : e->special[t];
    if (o.offsets)
      for (int64_t t = 0; t < n; ++t) {
        out.offsets[2 * (first + t)] = e->starts[t];  // (rows, cols, 2)
        out.offsets[2 * (first + t) + 1] = e->ends[t];
      }
    at += o.pad ? out.cols : n;
  }
  return out;
}

void byte_to_char_offsets(std::string_view text, Encoding& e) {
  for (Encoding& w : e.overflowing) byte_to_char_offsets(text, w);
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
