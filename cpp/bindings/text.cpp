// Tokenizers (pyseq._core.text): WordPiece and byte-level BPE. Conversion and checks only; every
// call that can take long releases the GIL.
#include <Python.h>

#include "convert.h"
#include "pyseq/parallel.h"
#include "pyseq/text/wordpiece.h"

namespace pyseq::bindings {
namespace {

using text::Encoding;

// UTF-8 views of Python strs. The views point into each str's cached UTF-8 buffer, which lives as
// long as the str, so the caller keeps the Python objects alive while the views are used.
std::string_view utf8_view(py::handle h, const char* what) {
  PYSEQ_CHECK(PyUnicode_Check(h.ptr()), TypeError, what, ": expected str, got ", type_name(h));
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(h.ptr(), &size);
  if (!data) throw py::error_already_set();
  return std::string_view(data, static_cast<size_t>(size));
}

std::vector<std::string_view> utf8_views(const py::sequence& seq, const char* what) {
  std::vector<std::string_view> out;
  out.reserve(seq.size());
  for (py::handle h : seq) out.push_back(utf8_view(h, what));
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
      .def("__len__", &Encoding::size);
}

// The ids of one text or a pair, post-processed, with str offsets.
Encoding encode_one(const text::WordPieceTokenizer& tok, std::string_view a, const std::string_view* b,
                    int32_t cls, int32_t sep, int64_t max_length) {
  Encoding ea = tok.encode(a);
  text::byte_to_char_offsets(a, ea);
  if (!b) return text::post_process(std::move(ea), nullptr, cls, sep, max_length);
  Encoding eb = tok.encode(*b);
  text::byte_to_char_offsets(*b, eb);
  return text::post_process(std::move(ea), &eb, cls, sep, max_length);
}

std::vector<Encoding> encode_many(const text::WordPieceTokenizer& tok, const py::sequence& texts,
                                  const py::object& pairs, int32_t cls, int32_t sep, int64_t max_length) {
  const std::vector<std::string_view> a = utf8_views(texts, "encode_batch");
  std::vector<std::string_view> b;
  if (!pairs.is_none()) {
    b = utf8_views(pairs.cast<py::sequence>(), "encode_batch (pairs)");
    PYSEQ_CHECK(b.size() == a.size(), ValueError, "encode_batch: got ", a.size(), " texts but ", b.size(),
                " pair texts");
  }
  std::vector<Encoding> out(a.size());
  py::gil_scoped_release release;
  parallel_for(0, static_cast<int64_t>(a.size()), 4, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) out[i] = encode_one(tok, a[i], b.empty() ? nullptr : &b[i], cls, sep, max_length);
  });
  return out;
}

void bind_wordpiece(py::module_& m) {
  using text::WordPieceTokenizer;
  py::class_<WordPieceTokenizer>(m, "WordPiece", "BERT normalizer + pre-tokenizer + WordPiece model.")
      .def(py::init([](std::vector<std::string> vocab, std::string unk_token, std::string prefix,
                       int64_t max_input_chars_per_word, bool clean_text, bool handle_chinese_chars,
                       bool strip_accents, bool lowercase, std::vector<std::string> special_tokens) {
             text::WordPieceOptions o;
             o.unk_token = std::move(unk_token);
             o.continuing_subword_prefix = std::move(prefix);
             o.max_input_chars_per_word = max_input_chars_per_word;
             o.normalizer = {clean_text, handle_chinese_chars, strip_accents, lowercase};
             o.special_tokens = std::move(special_tokens);
             return new WordPieceTokenizer(std::move(vocab), std::move(o));
           }),
           py::arg("vocab"), py::arg("unk_token"), py::arg("continuing_subword_prefix"),
           py::arg("max_input_chars_per_word"), py::arg("clean_text"), py::arg("handle_chinese_chars"),
           py::arg("strip_accents"), py::arg("lowercase"), py::arg("special_tokens"))
      .def("encode", [](const WordPieceTokenizer& t, py::handle a, py::handle b, int32_t cls, int32_t sep,
                        int64_t max_length) {
             const std::string_view va = utf8_view(a, "encode");
             std::string_view vb;
             if (!b.is_none()) vb = utf8_view(b, "encode (pair)");
             py::gil_scoped_release release;
             return encode_one(t, va, b.is_none() ? nullptr : &vb, cls, sep, max_length);
           }, py::arg("text"), py::arg("pair"), py::arg("cls_id"), py::arg("sep_id"), py::arg("max_length"))
      .def("encode_batch", &encode_many, py::arg("texts"), py::arg("pairs"), py::arg("cls_id"), py::arg("sep_id"),
           py::arg("max_length"))
      .def("encode_batch_arrays", [](const WordPieceTokenizer& t, const py::sequence& texts, const py::object& pairs,
                                     int32_t cls, int32_t sep, int64_t max_length, int32_t pad_id, int64_t pad_to) {
             std::vector<Encoding> encs = encode_many(t, texts, pairs, cls, sep, max_length);
             text::PaddedBatch p;
             {
               py::gil_scoped_release release;
               p = text::pad_batch(encs, pad_id, pad_to);
             }
             const std::vector<py::ssize_t> shape{p.rows, p.cols};
             py::dict out;
             out["input_ids"] = to_numpy(std::move(p.ids), shape);
             out["token_type_ids"] = to_numpy(std::move(p.type_ids), shape);
             out["attention_mask"] = to_numpy(std::move(p.attention_mask), shape);
             return out;
           }, py::arg("texts"), py::arg("pairs"), py::arg("cls_id"), py::arg("sep_id"), py::arg("max_length"),
           py::arg("pad_id"), py::arg("pad_to"))
      .def("decode", &WordPieceTokenizer::decode, py::arg("ids"), py::arg("skip_special_tokens"),
           py::call_guard<py::gil_scoped_release>())
      .def("token_to_id", [](const WordPieceTokenizer& t, std::string_view s) -> py::object {
             const int32_t id = t.token_to_id(s);
             return id < 0 ? py::none() : py::cast(id);
           })
      .def("id_to_token", &WordPieceTokenizer::id_to_token)
      .def_property_readonly("vocab_size", &WordPieceTokenizer::vocab_size)
      .def_property_readonly("vocab", &WordPieceTokenizer::vocab)
      .def("normalize", [](const WordPieceTokenizer& t, std::string_view s) {
        return text::bert_normalize(s, t.options().normalizer).text;
      })
      .def("pre_tokenize", [](const WordPieceTokenizer& t, std::string_view s) {
        text::NormalizedText n = text::bert_normalize(s, t.options().normalizer);
        std::vector<std::pair<uint32_t, uint32_t>> words;
        text::bert_pre_tokenize(n.text, words);
        std::vector<std::string> out;
        for (auto [b, e] : words) out.emplace_back(n.text.substr(b, e - b));
        return out;
      });
}

}  // namespace

void init_text(py::module_& m) {
  py::module_ t = m.def_submodule("text", "Tokenizers: WordPiece and byte-level BPE");
  bind_encoding(t);
  bind_wordpiece(t);
}

}  // namespace pyseq::bindings
