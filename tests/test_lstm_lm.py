"""pyseq.models.LSTMLM against the same layers in PyTorch: logits, loss, state, greedy generation of
ragged prompts, and a save / load round trip."""

import numpy as np
import pytest

import pyseq
from pyseq.models import LSTMLM, LSTMLMConfig

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def models():
    pyseq.manual_seed(0)
    ours = LSTMLM(LSTMLMConfig(vocab_size=50, n_embd=8, hidden_size=12, n_layer=2, dropout=0.0)).eval()
    state = {k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()}
    emb, lstm, head = torch.nn.Embedding(50, 8), torch.nn.LSTM(8, 12, 2, batch_first=True), torch.nn.Linear(12, 50)
    emb.load_state_dict({"weight": state["embedding.weight"]})
    head.load_state_dict({"weight": state["head.weight"], "bias": state["head.bias"]})
    lstm.load_state_dict({k[len("lstm."):]: v for k, v in state.items() if k.startswith("lstm.")})

    def reference(ids):  # (B, T) -> logits, (h, c)
        out, hc = lstm(emb(torch.as_tensor(ids)))
        return head(out), hc
    return ours, reference


def test_logits_loss_and_state_match_torch(models):
    ours, reference = models
    ids = np.random.default_rng(0).integers(0, 50, (3, 7))
    out = ours(ids, labels=ids)
    logits, (h, c) = reference(ids)
    np.testing.assert_allclose(out.logits.detach().numpy(), logits.detach().numpy(), atol=1e-5)
    loss = torch.nn.functional.cross_entropy(logits[:, :-1].reshape(-1, 50), torch.as_tensor(ids[:, 1:]).reshape(-1))
    assert out.loss.item() == pytest.approx(loss.item(), rel=1e-5)
    np.testing.assert_allclose(out.state[0].detach().numpy(), h.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(out.state[1].detach().numpy(), c.detach().numpy(), atol=1e-5)


def test_greedy_generation_of_ragged_prompts_matches_a_full_recompute(models):
    ours, reference = models
    prompts = [[1, 2, 3], [4, 5], [7]]
    out = ours.generate(prompts, max_new_tokens=6, pad_token_id=0).numpy()
    for row, prompt in zip(out, prompts):
        seq = list(prompt)
        for _ in range(6):
            seq.append(int(reference(np.array([seq]))[0][0, -1].argmax()))
        assert list(row[:len(prompt)]) == prompt and list(row[3:]) == seq[len(prompt):]


def test_sampling_is_seeded_and_eos_stops(models):
    ours, _ = models
    a = ours.generate([[1, 2]], max_new_tokens=10, do_sample=True, top_k=5, seed=3).numpy()
    b = ours.generate([[1, 2]], max_new_tokens=10, do_sample=True, top_k=5, seed=3).numpy()
    assert (a == b).all()
    first = int(ours.generate([[1, 2]], max_new_tokens=1).numpy()[0, -1])
    assert ours.generate([[1, 2]], max_new_tokens=10, eos_token_id=first).numpy().shape == (1, 3)


def test_save_and_load_round_trip(models, tmp_path):
    ours, _ = models
    ours.save_pretrained(tmp_path)
    ids = np.arange(10).reshape(2, 5)
    np.testing.assert_array_equal(LSTMLM.from_pretrained(tmp_path)(ids).logits.detach().numpy(),
                                  ours(ids).logits.detach().numpy())


def test_bad_input_is_a_clear_error(models):
    ours, _ = models
    with pytest.raises(IndexError, match="outside the vocabulary"):
        ours([[1, 50]])
    with pytest.raises(ValueError, match="at least one token"):
        ours.generate([[1], []])
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        LSTMLMConfig(hidden_size=0)
