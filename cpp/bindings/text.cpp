// Tokenizers (pyseq._core.text): WordPiece and byte-level BPE. Conversion and checks only; every
// call that can take long releases the GIL.
#include <Python.h>

#include "convert.h"
#include "pyseq/parallel.h"
#include "pyseq/text/bpe.h"
#include "pyseq/text/bpe_trainer.h"
#include "pyseq/text/unicode.h"
#include "pyseq/text/wordpiece.h"

namespace pyseq::bindings {
namespace {

using text::Encoding;

// UTF-8 views of Python strs. The views point into each str's cached UTF-8 buffer, which lives as
// long as the str, so the caller keeps the Python objects alive while the views are used.
std::string_view utf8_view(py::handle h, const char* what) {
  if (PyBytes_Check(h.ptr())) {  // UTF-8 bytes: checked, offsets then count code points
    const std::string_view v(PyBytes_AS_STRING(h.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(h.ptr())));
    text::utf8_check(v, what);
    return v;
  }
  PYSEQ_CHECK(PyUnicode_Check(h.ptr()), TypeError, what, ": expected str (or UTF-8 bytes), got ", type_name(h));
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(h.ptr(), &size);
  if (!data) {
    PyErr_Clear();  // a lone surrogate: no UTF-8 for it
    const Py_ssize_t n = PyUnicode_GET_LENGTH(h.ptr());
    Py_ssize_t at = 0;
    while (at < n && !(PyUnicode_READ_CHAR(h.ptr(), at) >= 0xD800 && PyUnicode_READ_CHAR(h.ptr(), at) < 0xE000)) ++at;
    throw ValueError(str(what, ": the str has a lone surrogate at index ", at, " (U+", std::hex,
                         at < n ? PyUnicode_READ_CHAR(h.ptr(), at) : 0, "), which has no UTF-8 encoding"));
  }
  return std::string_view(data, static_cast<size_t>(size));
}

// Views of the UTF-8 text of each item, and a list of the items that keeps them alive while the
// GIL is released (another thread may empty or change the caller's list meanwhile). Destroy it
// with the GIL held.
struct Utf8Texts {
  py::list items;
  std::vector<std::string_view> views;
};
Utf8Texts utf8_views(const py::sequence& seq, const char* what) {
  // PySequence_List makes a new list even from a list (py::list(seq) would alias the caller's)
  PyObject* items = PySequence_List(seq.ptr());
  if (!items) throw py::error_already_set();
  Utf8Texts out{py::reinterpret_steal<py::list>(items), {}};
  out.views.reserve(out.items.size());
  for (py::handle h : out.items) out.views.push_back(utf8_view(h, what));
  return out;
}

template <class T>
py::array_t<T> to_numpy(std::vector<T>&& v, const std::vector<py::ssize_t>& shape) {
  auto* heap = new std::vector<T>(std::move(v));
  py::capsule owner(heap, [](void* p) { delete static_cast<std::vector<T>*>(p); });
  return py::array_t<T>(shape, heap->data(), owner);
}

py::list offsets_list(const Encoding& e) {
  py::list out(e.size());
  for (size_t i = 0; i < e.size(); ++i) out[i] = py::make_tuple(e.starts[i], e.ends[i]);
  return out;
}

void bind_encoding(py::module_& m) {
  py::class_<Encoding>(m, "Encoding", "Ids of one tokenized text (or pair), with offsets into the input.")
      .def_property_readonly("ids", [](const Encoding& e) { return e.ids; })
      .def_property_readonly("type_ids", [](const Encoding& e) {
        return e.type_ids.empty() ? std::vector<int32_t>(e.size(), 0) : e.type_ids;
      })
      .def_property_readonly("special_tokens_mask", [](const Encoding& e) {
        return e.special.empty() ? std::vector<uint8_t>(e.size(), 0) : e.special;
      })
      .def_property_readonly("attention_mask", [](const Encoding& e) { return std::vector<int32_t>(e.size(), 1); })
      .def_property_readonly("offsets", &offsets_list,
                             "(start, end) per id: a slice of the input str; (0, 0) for added special tokens")
      .def_property_readonly("overflowing", [](const Encoding& e) { return e.overflowing; })
      .def("__len__", &Encoding::size);
}

text::PostProcessOptions post_options(int32_t cls, int32_t sep, int64_t max_length, const std::string& strategy,
                                      bool left, int64_t stride) {
  text::PostProcessOptions o;
  o.cls_id = cls;
  o.sep_id = sep;
  o.max_length = max_length;
  if (strategy == "longest_first") o.strategy = text::Truncation::kLongestFirst;
  else if (strategy == "only_first") o.strategy = text::Truncation::kOnlyFirst;
  else if (strategy == "only_second") o.strategy = text::Truncation::kOnlySecond;
  else throw ValueError(str("truncation must be 'longest_first', 'only_first' or 'only_second', got '", strategy, "'"));
  o.truncate_left = left;
  PYSEQ_CHECK(stride >= 0, ValueError, "stride must be >= 0, got ", stride);
  o.stride = stride;
  return o;
}

// One text (or pair) through `encode` (text -> Encoding with byte offsets), then str offsets
// and post-processing.
template <class EncodeFn>
Encoding encode_one(const EncodeFn& encode, std::string_view a, const std::string_view* b,
                    const text::PostProcessOptions& o) {
  Encoding ea = encode(a);
  text::byte_to_char_offsets(a, ea);
  if (!b) return text::post_process(std::move(ea), nullptr, o);
  Encoding eb = encode(*b);
  text::byte_to_char_offsets(*b, eb);
  return text::post_process(std::move(ea), &eb, o);
}

template <class EncodeFn>
std::vector<Encoding> encode_many(const EncodeFn& encode, const py::sequence& texts, const py::object& pairs,
                                  const text::PostProcessOptions& o) {
  const Utf8Texts a = utf8_views(texts, "encode_batch");
  Utf8Texts b;
  if (!pairs.is_none()) {
    b = utf8_views(pairs.cast<py::sequence>(), "encode_batch (pairs)");
    PYSEQ_CHECK(b.views.size() == a.views.size(), ValueError, "encode_batch: got ", a.views.size(), " texts but ",
                b.views.size(), " pair texts");
  }
  std::vector<Encoding> out(a.views.size());
  py::gil_scoped_release release;
  parallel_for(0, static_cast<int64_t>(a.views.size()), 4, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      out[i] = encode_one(encode, a.views[i], b.views.empty() ? nullptr : &b.views[i], o);
  });
  return out;
}

py::dict arrays_dict(std::vector<Encoding>&& encs, const text::PadOptions& p) {
  text::BatchArrays a;
  {
    py::gil_scoped_release release;
    a = text::to_arrays(encs, p);
    std::vector<Encoding>().swap(encs);
  }
  std::vector<py::ssize_t> shape = p.pad ? std::vector<py::ssize_t>{a.rows, a.cols}
                                         : std::vector<py::ssize_t>{static_cast<py::ssize_t>(a.ids.size())};
  std::vector<py::ssize_t> shape2 = shape;
  shape2.push_back(2);
  py::dict out;
  out["input_ids"] = to_numpy(std::move(a.ids), shape);
  out["token_type_ids"] = to_numpy(std::move(a.type_ids), shape);
  out["attention_mask"] = to_numpy(std::move(a.attention_mask), shape);
  if (p.special_mask) out["special_tokens_mask"] = to_numpy(std::move(a.special_tokens_mask), shape);
  if (p.offsets) out["offset_mapping"] = to_numpy(std::move(a.offsets), shape2);
  out["lengths"] = to_numpy(std::move(a.lengths), {a.rows});
  if (p.overflowing) out["overflow_to_sample_mapping"] = to_numpy(std::move(a.sample_of_row), {a.rows});
  return out;
}

// Binds encode / encode_batch / encode_batch_arrays on a tokenizer class; `make` turns the
// per-call extra argument into the text -> Encoding function.
template <class Cls, class Make>
void def_encoders(Cls& cls, const Make& make) {
  using T = typename Cls::type;
  cls.def("encode", [make](const T& t, py::handle a, py::handle b, const py::object& extra, int32_t cls_id,
                           int32_t sep_id, int64_t max_length, const std::string& strategy, bool left, int64_t stride) {
        const std::string_view va = utf8_view(a, "encode");
        std::string_view vb;
        if (!b.is_none()) vb = utf8_view(b, "encode (pair)");
        const text::PostProcessOptions o = post_options(cls_id, sep_id, max_length, strategy, left, stride);
        auto encode = make(t, extra);
        py::gil_scoped_release release;
        return encode_one(encode, va, b.is_none() ? nullptr : &vb, o);
      }, py::arg("text"), py::arg("pair"), py::arg("extra"), py::arg("cls_id"), py::arg("sep_id"),
      py::arg("max_length"), py::arg("truncation"), py::arg("truncate_left"), py::arg("stride"));
  cls.def("encode_batch", [make](const T& t, const py::sequence& texts, const py::object& pairs,
                                 const py::object& extra, int32_t cls_id, int32_t sep_id, int64_t max_length,
                                 const std::string& strategy, bool left, int64_t stride) {
        const text::PostProcessOptions o = post_options(cls_id, sep_id, max_length, strategy, left, stride);
        return encode_many(make(t, extra), texts, pairs, o);
      }, py::arg("texts"), py::arg("pairs"), py::arg("extra"), py::arg("cls_id"), py::arg("sep_id"),
      py::arg("max_length"), py::arg("truncation"), py::arg("truncate_left"), py::arg("stride"));
  cls.def("encode_batch_arrays", [make](const T& t, const py::sequence& texts, const py::object& pairs,
                                        const py::object& extra, int32_t cls_id, int32_t sep_id, int64_t max_length,
                                        const std::string& strategy, bool left, int64_t stride, bool pad,
                                        int32_t pad_id, int64_t pad_to, int64_t multiple_of, bool pad_left,
                                        bool overflowing, bool offsets, bool special_mask) {
        const text::PostProcessOptions o = post_options(cls_id, sep_id, max_length, strategy, left, stride);
        PYSEQ_CHECK(multiple_of >= 0, ValueError, "pad_to_multiple_of must be >= 0, got ", multiple_of);
        text::PadOptions p{pad, pad_id, pad_to, multiple_of, pad_left, overflowing, offsets, special_mask};
        return arrays_dict(encode_many(make(t, extra), texts, pairs, o), p);
      }, py::arg("texts"), py::arg("pairs"), py::arg("extra"), py::arg("cls_id"), py::arg("sep_id"),
      py::arg("max_length"), py::arg("truncation"), py::arg("truncate_left"), py::arg("stride"), py::arg("pad"),
      py::arg("pad_id"), py::arg("pad_to"), py::arg("pad_to_multiple_of"), py::arg("pad_left"),
      py::arg("overflowing"), py::arg("offsets"), py::arg("special_tokens_mask"));
}

text::BertProfile to_profile(const std::string& name) {
  if (name == "bert" || name == "google") return text::BertProfile::kGoogle;
  if (name == "huggingface" || name == "hf") return text::BertProfile::kHuggingFace;
  throw ValueError(str("WordPiece: unknown profile '", name, "' (expected 'bert' or 'huggingface')"));
}

void bind_wordpiece(py::module_& m) {
  using text::WordPieceTokenizer;
  py::class_<WordPieceTokenizer> cls(m, "WordPiece", "BERT basic tokenizer + WordPiece model.");
  def_encoders(cls, [](const WordPieceTokenizer& t, const py::object&) {
    return [&t](std::string_view s) { return t.encode(s); };
  });
  cls
      .def(py::init([](std::vector<std::string> vocab, std::string unk_token, std::string prefix,
                       int64_t max_input_chars_per_word, bool clean_text, bool handle_chinese_chars,
                       bool strip_accents, bool lowercase, std::vector<std::string> special_tokens,
                       const std::string& profile, std::vector<std::string> never_split) {
             text::WordPieceOptions o;
             o.unk_token = std::move(unk_token);
             o.continuing_subword_prefix = std::move(prefix);
             o.max_input_chars_per_word = max_input_chars_per_word;
             o.normalizer = {to_profile(profile), clean_text, handle_chinese_chars, strip_accents, lowercase};
             o.special_tokens = std::move(special_tokens);
             o.never_split = std::move(never_split);
             return new WordPieceTokenizer(std::move(vocab), std::move(o));
           }),
           py::arg("vocab"), py::arg("unk_token"), py::arg("continuing_subword_prefix"),
           py::arg("max_input_chars_per_word"), py::arg("clean_text"), py::arg("handle_chinese_chars"),
           py::arg("strip_accents"), py::arg("lowercase"), py::arg("special_tokens"), py::arg("profile"),
           py::arg("never_split"))
      .def("decode", &WordPieceTokenizer::decode, py::arg("ids"), py::arg("skip_special_tokens"),
           py::call_guard<py::gil_scoped_release>())
      .def("token_to_id", [](const WordPieceTokenizer& t, std::string_view s) -> py::object {
             const int32_t id = t.token_to_id(s);
             return id < 0 ? py::none() : py::cast(id);
           })
      .def("id_to_token", &WordPieceTokenizer::id_to_token)
      .def("_set_reference", &WordPieceTokenizer::set_reference, "Use the unfused reference path (for tests).")
      .def_property_readonly("vocab_size", &WordPieceTokenizer::vocab_size)
      .def_property_readonly("vocab", &WordPieceTokenizer::vocab)
      .def("normalize", [](const WordPieceTokenizer& t, py::handle text_or_bytes) {
        const std::string_view s = utf8_view(text_or_bytes, "normalize");  // bytes: checked UTF-8
        text::NormalizedText n;
        std::vector<std::pair<uint32_t, uint32_t>> words;
        if (t.options().normalizer.profile == text::BertProfile::kHuggingFace) return text::bert_normalize(s, t.options().normalizer).text;
        text::basic_tokenize(s, t.options().normalizer, t.options().never_split, n, words);
        return n.text;
      })
      .def("pre_tokenize", [](const WordPieceTokenizer& t, py::handle text_or_bytes) {
        const std::string_view s = utf8_view(text_or_bytes, "pre_tokenize");
        text::NormalizedText n;
        std::vector<std::pair<uint32_t, uint32_t>> words;
        text::basic_tokenize(s, t.options().normalizer, t.options().never_split, n, words);
        std::vector<std::string> out;
        for (auto [b, e] : words) out.emplace_back(n.text.substr(b, e - b));
        return out;
      });
}

std::vector<text::SpecialToken> to_specials(const py::dict& specials) {
  std::vector<text::SpecialToken> out;
  for (auto [k, v] : specials) out.push_back({std::string(utf8_view(k, "special_tokens")), v.cast<int32_t>()});
  return out;
}

std::vector<uint8_t> to_mask(const py::object& allowed) {
  return allowed.is_none() ? std::vector<uint8_t>{} : allowed.cast<std::vector<uint8_t>>();
}

py::bytes as_bytes(const std::string& s) { return py::bytes(s.data(), s.size()); }

void bind_bpe(py::module_& m) {
  using text::BytePairEncoder;
  py::class_<BytePairEncoder> cls(m, "BPE", "Byte-level BPE with a GPT-2 / cl100k / o200k pre-tokenizer.");
  def_encoders(cls, [](const BytePairEncoder& t, const py::object& allowed) {
    return [&t, mask = to_mask(allowed)](std::string_view s) { return t.encode(s, mask); };
  });
  cls
      .def_static("from_tiktoken", [](py::bytes contents, const std::string& pattern, const py::dict& specials) {
             std::string_view data = contents;
             const text::Pattern p = text::pattern_from_name(pattern);
             std::vector<text::SpecialToken> sp = to_specials(specials);
             py::gil_scoped_release release;
             return BytePairEncoder::from_ranks(text::parse_tiktoken_ranks(data), p, std::move(sp));
           }, py::arg("contents"), py::arg("pattern"), py::arg("special_tokens"))
      .def_static("from_ranks", [](const py::dict& ranks, const std::string& pattern, const py::dict& specials) {
             std::vector<std::pair<std::string, int32_t>> r;
             r.reserve(ranks.size());
             for (auto [k, v] : ranks) {
               PYSEQ_CHECK(PyBytes_Check(k.ptr()), TypeError, "from_ranks: keys must be bytes, got ", type_name(k));
               r.emplace_back(k.cast<std::string>(), v.cast<int32_t>());
             }
             const text::Pattern p = text::pattern_from_name(pattern);
             std::vector<text::SpecialToken> sp = to_specials(specials);
             py::gil_scoped_release release;
             return BytePairEncoder::from_ranks(std::move(r), p, std::move(sp));
           }, py::arg("ranks"), py::arg("pattern"), py::arg("special_tokens"))
      .def_static("from_byte_level_merges", [](const py::dict& vocab, const py::sequence& merges,
                                               const std::string& pattern, const py::dict& specials) {
             // vocab and merges in GPT-2's byte-level alphabet (encoder.json / vocab.bpe / tokenizer.json).
             std::vector<std::pair<std::string, int32_t>> v;
             v.reserve(vocab.size());
             std::vector<text::SpecialToken> sp = to_specials(specials);
             std::vector<std::string> special_texts;
             for (const auto& s : sp) special_texts.push_back(s.text);
             for (auto [k, id] : vocab) {
               std::string_view key = utf8_view(k, "vocab");
               if (std::find(special_texts.begin(), special_texts.end(), key) != special_texts.end()) continue;
               v.emplace_back(text::byte_level_decode(key), id.cast<int32_t>());
             }
             std::vector<std::pair<std::string, std::string>> mg;
             mg.reserve(merges.size());
             for (py::handle h : merges) {
               std::string_view a, b;
               if (PyUnicode_Check(h.ptr())) {
                 std::string_view line = utf8_view(h, "merges");
                 const size_t sp_at = line.find(' ');
                 PYSEQ_CHECK(sp_at != std::string_view::npos, ValueError, "merges: expected 'a b', got '", line, "'");
                 a = line.substr(0, sp_at);
                 b = line.substr(sp_at + 1);
               } else {
                 py::sequence pair = h.cast<py::sequence>();
                 PYSEQ_CHECK(pair.size() == 2, ValueError, "merges: expected pairs of tokens");
                 a = utf8_view(pair[0], "merges");
                 b = utf8_view(pair[1], "merges");
               }
               mg.emplace_back(text::byte_level_decode(a), text::byte_level_decode(b));
             }
             const text::Pattern p = text::pattern_from_name(pattern);
             py::gil_scoped_release release;
             return BytePairEncoder::from_merges(std::move(v), mg, p, std::move(sp));
           }, py::arg("vocab"), py::arg("merges"), py::arg("pattern"), py::arg("special_tokens"))
      .def("encode_ordinary", [](const BytePairEncoder& t, py::handle s) {
             const std::string_view v = utf8_view(s, "encode_ordinary");
             py::gil_scoped_release release;
             return t.encode_ordinary(v);
           }, py::arg("text"))
      .def("encode_ids", [](const BytePairEncoder& t, py::handle s, const py::object& allowed) {
             const std::string_view v = utf8_view(s, "encode");
             const std::vector<uint8_t> mask = to_mask(allowed);
             py::gil_scoped_release release;
             return t.encode(v, mask).ids;
           }, py::arg("text"), py::arg("allowed"))
      .def("encode_ids_batch", [](const BytePairEncoder& t, const py::sequence& texts, const py::object& allowed) {
             const Utf8Texts v = utf8_views(texts, "encode_batch");
             const std::vector<uint8_t> mask = to_mask(allowed);
             std::vector<std::vector<int32_t>> out(v.views.size());
             {
               py::gil_scoped_release release;
               parallel_for(0, static_cast<int64_t>(v.views.size()), 4, [&](int64_t lo, int64_t hi) {
                 for (int64_t i = lo; i < hi; ++i) out[i] = t.encode(v.views[i], mask).ids;
               });
             }
             return out;
           }, py::arg("texts"), py::arg("allowed"))
      .def("find_special", [](const BytePairEncoder& t, py::handle s, const py::object& check) {
             const std::string_view v = utf8_view(s, "encode");
             return t.find_special(v, to_mask(check));
           }, py::arg("text"), py::arg("check"))
      .def("decode_bytes", [](const BytePairEncoder& t, const std::vector<int32_t>& ids) {
             std::string out;
             {
               py::gil_scoped_release release;
               out = t.decode_bytes(ids);
             }
             return as_bytes(out);
           }, py::arg("ids"))
      .def("decode_batch_bytes", [](const BytePairEncoder& t, const std::vector<std::vector<int32_t>>& batch) {
             std::vector<std::string> out(batch.size());
             {
               py::gil_scoped_release release;
               for (size_t i = 0; i < batch.size(); ++i) out[i] = t.decode_bytes(batch[i]);
             }
             py::list res(out.size());
             for (size_t i = 0; i < out.size(); ++i) res[i] = as_bytes(out[i]);
             return res;
           }, py::arg("batch"))
      .def("token_bytes", [](const BytePairEncoder& t, int32_t id) { return as_bytes(t.token_bytes(id)); })
      .def("token_to_id", [](const BytePairEncoder& t, py::bytes b) -> py::object {
             const int32_t id = t.token_to_id(std::string_view(b));
             return id < 0 ? py::none() : py::cast(id);
           })
      .def("encode_piece", [](const BytePairEncoder& t, py::bytes b) {
             std::vector<int32_t> out;
             t.encode_piece(std::string_view(b), out);
             return out;
           })
      .def_property_readonly("vocab_size", &BytePairEncoder::vocab_size)
      .def_property("add_prefix_space", &BytePairEncoder::add_prefix_space, &BytePairEncoder::set_add_prefix_space)
      .def_property_readonly("special_tokens", [](const BytePairEncoder& t) {
        py::dict d;
        for (const auto& s : t.specials()) d[py::str(s.text)] = s.id;
        return d;
      })
      .def("merges", &BytePairEncoder::merges);

  m.def("pre_tokenize", [](py::handle s, const std::string& pattern) {
    const std::string_view v = utf8_view(s, "pre_tokenize");
    std::vector<std::pair<uint32_t, uint32_t>> pieces;
    text::pre_tokenize(text::pattern_from_name(pattern), v, pieces);
    std::vector<std::string> out;
    for (auto [b, e] : pieces) out.emplace_back(v.substr(b, e - b));
    return out;
  }, py::arg("text"), py::arg("pattern"));
  m.def("byte_level_encode", [](py::bytes b) { return text::byte_level_encode(std::string_view(b)); });
  m.def("byte_level_decode", [](std::string_view s) { return as_bytes(text::byte_level_decode(s)); });
}

// A Python callable (done, total) as the trainer's progress callback; it takes the GIL to run.
std::function<void(int64_t, int64_t)> progress_callback(const py::object& fn) {
  if (fn.is_none()) return {};
  auto held = std::make_shared<py::object>(fn);
  return [held](int64_t done, int64_t total) {
    py::gil_scoped_acquire gil;
    (*held)(done, total);
  };
}

// The trainer's options from Python's arguments; `progress` (done, total) is called with the GIL.
text::BpeTrainerOptions trainer_options(int64_t vocab_size, int64_t min_frequency, std::vector<std::string> special_tokens,
                                        int64_t max_token_length, const py::object& progress) {
  text::BpeTrainerOptions o;
  o.vocab_size = vocab_size;
  o.min_frequency = min_frequency;
  o.special_tokens = std::move(special_tokens);
  o.max_token_length = max_token_length;
  o.progress = progress_callback(progress);
  return o;
}

void bind_trainer(py::module_& m) {
  using text::WordCounter;
  py::class_<WordCounter>(m, "WordCounter", "Counts pre-tokenized words of a corpus for BPE training.")
      .def(py::init([](const std::string& pattern, bool add_prefix_space) {
             return new WordCounter(text::pattern_from_name(pattern), add_prefix_space);
           }), py::arg("pattern"), py::arg("add_prefix_space"))
      .def_static("bert", [](bool clean_text, bool handle_chinese_chars, bool strip_accents, bool lowercase,
                             const std::string& profile) {
             return new WordCounter(text::BertNormalizerOptions{to_profile(profile), clean_text, handle_chinese_chars,
                                                                strip_accents, lowercase});
           }, py::arg("clean_text"), py::arg("handle_chinese_chars"), py::arg("strip_accents"), py::arg("lowercase"),
           py::arg("profile"))
      .def("add", [](WordCounter& c, const py::sequence& texts) {
             const Utf8Texts v = utf8_views(texts, "train");
             py::gil_scoped_release release;
             c.add(v.views);
           }, py::arg("texts"))
      .def("__len__", &WordCounter::size)
      .def("train", [](const WordCounter& c, int64_t vocab_size, int64_t min_frequency,
                       std::vector<std::string> special_tokens, bool full_byte_alphabet, int64_t max_token_length,
                       const py::object& progress) {
             text::BpeTrainerOptions o =
                 trainer_options(vocab_size, min_frequency, std::move(special_tokens), max_token_length, progress);
             o.full_byte_alphabet = full_byte_alphabet;
             py::gil_scoped_release release;
             return c.train(o);
           }, py::arg("vocab_size"), py::arg("min_frequency"), py::arg("special_tokens"),
           py::arg("full_byte_alphabet"), py::arg("max_token_length"), py::arg("progress"))
      .def("train_vocab", [](const WordCounter& c, int64_t vocab_size, int64_t min_frequency,
                             std::vector<std::string> special_tokens, std::string prefix, int64_t max_token_length,
                             const py::object& progress, int64_t limit_alphabet, const std::string& initial_alphabet) {
             text::BpeTrainerOptions o =
                 trainer_options(vocab_size, min_frequency, std::move(special_tokens), max_token_length, progress);
             o.limit_alphabet = limit_alphabet;
             for (size_t i = 0; i < initial_alphabet.size();)
               o.initial_alphabet.push_back(text::utf8_next(initial_alphabet, i));
             py::gil_scoped_release release;
             return c.train_vocab(o, prefix);
           }, py::arg("vocab_size"), py::arg("min_frequency"), py::arg("special_tokens"),
           py::arg("continuing_subword_prefix"), py::arg("max_token_length"), py::arg("progress"),
           py::arg("limit_alphabet") = -1, py::arg("initial_alphabet") = "");
}

}  // namespace

void init_text(py::module_& m) {
  py::module_ t = m.def_submodule("text", "Tokenizers: WordPiece and byte-level BPE");
  bind_encoding(t);
  bind_wordpiece(t);
  bind_bpe(t);
  bind_trainer(t);
}

}  // namespace pyseq::bindings
