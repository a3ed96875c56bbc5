// A text corpus as sentences of words: one sentence a line, words separated by ASCII whitespace.
#include "pyseq/word2vec.h"

namespace pyseq::word2vec {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

}  // namespace

void for_each_word(std::string_view text, const std::function<void(std::string_view)>& word,
                   const std::function<void()>& end_sentence) {
  size_t i = 0;
  bool line_has_words = false;
  while (i < text.size()) {
    if (text[i] == '\n') {
      if (line_has_words) end_sentence();
      line_has_words = false;
      ++i;
    } else if (is_space(text[i])) {
      ++i;
    } else {
      const size_t start = i;
      while (i < text.size() && !is_space(text[i])) ++i;
      word(text.substr(start, i - start));
      line_has_words = true;
    }
  }
  if (line_has_words) end_sentence();
}

}  // namespace pyseq::word2vec
