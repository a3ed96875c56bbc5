// word2vec (pyseq._core.word2vec): the vocabulary counter and the trainer. Sentences come as lists
// of str (converted while the GIL is held) or as UTF-8 text, one sentence a line; training runs
// with the GIL released, on the caller's numpy arrays.
#include <Python.h>
#include <pybind11/numpy.h>

#include "convert.h"
#include "pyseq/word2vec.h"

namespace pyseq::bindings {
namespace {

using word2vec::Trainer;

// The UTF-8 text of a str, valid while the str lives.
std::string_view utf8_of(py::handle word, const char* what) {
  PYSEQ_CHECK(PyUnicode_Check(word.ptr()), TypeError, what, ": expected sentences as lists of str, got a word of type ",
              type_name(word));
  Py_ssize_t size = 0;
  const char* data = PyUnicode_AsUTF8AndSize(word.ptr(), &size);
  if (!data) {
    PyErr_Clear();
    throw ValueError(str(what, ": a word has no UTF-8 encoding (a lone surrogate)"));
  }
  return std::string_view(data, static_cast<size_t>(size));
}

// Calls fn(list of word views) for each sentence of an iterable of lists (or tuples) of str.
template <class F>
void for_each_sentence(py::handle sentences, const char* what, F&& fn) {
  std::vector<std::string_view> words;
  for (py::handle sentence : sentences) {
    PYSEQ_CHECK(py::isinstance<py::list>(sentence) || py::isinstance<py::tuple>(sentence), TypeError, what,
                ": expected each sentence as a list of str, got ", type_name(sentence));
    words.clear();
    for (py::handle w : sentence) words.push_back(utf8_of(w, what));
    fn(words);
  }
}

std::string_view bytes_view(const py::bytes& b) {
  return std::string_view(PyBytes_AS_STRING(b.ptr()), static_cast<size_t>(PyBytes_GET_SIZE(b.ptr())));
}

// A float32, C-contiguous, writable numpy array of shape (rows, cols), or None when allowed.
float* vectors_of(py::handle h, int64_t rows, int64_t cols, const char* name, bool optional) {
  if (h.is_none()) {
    PYSEQ_CHECK(optional, ValueError, "word2vec.Trainer: ", name, " is required");
    return nullptr;
  }
  PYSEQ_CHECK(py::isinstance<py::array_t<float>>(h), TypeError, "word2vec.Trainer: ", name,
              " must be a float32 numpy array, got ", type_name(h));
  auto a = py::reinterpret_borrow<py::array>(h);
  PYSEQ_CHECK(a.dtype().is(py::dtype::of<float>()) && (a.flags() & py::array::c_style) && a.writeable() &&
                  a.ndim() == 2 && a.shape(0) == rows && a.shape(1) == cols,
              ValueError, "word2vec.Trainer: ", name, " must be a writable C-contiguous float32 array of shape (", rows,
              ", ", cols, ")");
  return static_cast<float*>(a.mutable_data());
}

}  // namespace

void init_word2vec(py::module_& m) {
  py::module_ w = m.def_submodule("word2vec", "The word2vec trainer (see pyseq.word2vec)");

  py::class_<Trainer>(w, "Trainer")
      .def(py::init([](std::vector<std::string> words, const std::vector<int64_t>& counts, int64_t vector_size,
                       int64_t window, bool sg, bool hs, int64_t negative, double ns_exponent, double sample,
                       bool cbow_mean, int workers, uint64_t seed, py::handle syn0, py::handle syn1, py::handle syn1neg,
                       bool shrink_windows) {
             word2vec::Options o;
             o.vector_size = vector_size;
             o.window = window;
             o.sg = sg;
             o.hs = hs;
             o.negative = negative;
             o.ns_exponent = ns_exponent;
             o.sample = sample;
             o.cbow_mean = cbow_mean;
             o.shrink_windows = shrink_windows;
             o.workers = workers;
             o.seed = seed;
             const int64_t V = static_cast<int64_t>(words.size());
             float* s0 = vectors_of(syn0, V, vector_size, "syn0", false);
             float* s1 = vectors_of(syn1, std::max<int64_t>(V - 1, 1), vector_size, "syn1", !hs);
             float* sn = vectors_of(syn1neg, V, vector_size, "syn1neg", negative == 0);
             return std::make_unique<Trainer>(std::move(words), counts, o, s0, s1, sn);
           }),
           py::arg("words"), py::arg("counts"), py::arg("vector_size"), py::arg("window"), py::arg("sg"), py::arg("hs"),
           py::arg("negative"), py::arg("ns_exponent"), py::arg("sample"), py::arg("cbow_mean"), py::arg("workers"),
           py::arg("seed"), py::arg("syn0"), py::arg("syn1"), py::arg("syn1neg"), py::arg("shrink_windows") = true,
           // the trainer writes into the arrays: they live as long as it does
           py::keep_alive<1, 14>(), py::keep_alive<1, 15>(), py::keep_alive<1, 16>())
      .def("index", &Trainer::index, py::arg("word"))
      .def("code", [](const Trainer& t, int64_t i) {
        PYSEQ_CHECK(i >= 0 && i < t.vocab_size(), IndexError, "word index ", i, " out of range");
        const std::vector<uint8_t> code = t.code(i);
        return py::make_tuple(std::vector<int>(code.begin(), code.end()), t.points(i));
      }, py::arg("index"), "The Huffman code of word `index` (bits from the root) and its inner nodes.")
      .def("train_sentences", [](Trainer& t, py::iterable sentences, double alpha, double alpha_step, double min_alpha,
                                 uint64_t batch) {
        std::vector<int32_t> ids;
        std::vector<int64_t> offsets{0};
        for_each_sentence(sentences, "train", [&](const std::vector<std::string_view>& ws) {
          for (std::string_view word : ws) ids.push_back(t.index(word));
          offsets.push_back(static_cast<int64_t>(ids.size()));
        });
        py::gil_scoped_release release;
        return std::make_pair(static_cast<int64_t>(ids.size()), t.train(ids, offsets, alpha, alpha_step, min_alpha, batch));
      }, py::arg("sentences"), py::arg("alpha"), py::arg("alpha_step"), py::arg("min_alpha"), py::arg("batch"),
         "Trains on a batch of sentences (lists of str): (words seen, BatchStats).")
      .def("train_text", [](Trainer& t, const py::bytes& text, double alpha, double alpha_step, double min_alpha,
                            uint64_t batch) {
        const std::string_view view = bytes_view(text);
        py::gil_scoped_release release;
        const word2vec::BatchStats stats = t.train_text(view, alpha, alpha_step, min_alpha, batch);
        return std::make_pair(stats.raw_words, stats);
      }, py::arg("text"), py::arg("alpha"), py::arg("alpha_step"), py::arg("min_alpha"), py::arg("batch"),
         "Trains on UTF-8 text, one sentence a line: (words seen, BatchStats).");

  py::class_<word2vec::BatchStats>(w, "BatchStats")
      .def_readonly("words", &word2vec::BatchStats::words)
      .def_readonly("trained", &word2vec::BatchStats::trained)
      .def_readonly("loss", &word2vec::BatchStats::loss);
}

}  // namespace pyseq::bindings
