"""pyseq.models.gpt against Hugging Face transformers' GPT2LMHeadModel on random-weight checkpoints:
logits, loss and gradients; greedy generation (one prompt and a left-padded batch); the KV cache
against a full recompute; folders written by either side loading in the other; sampling rules;
streaming; bad input."""

import json
import os

import numpy as np
import pytest

import pyseq
from pyseq.models import GPT, GPTConfig
from pyseq.models.gpt import KVCache, _sample, _warp

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

CONFIGS = {  # transformers GPT2Config arguments
    "tiny": dict(vocab_size=97, n_positions=128, n_embd=32, n_layer=2, n_head=4),
    "gelu-erf-inner": dict(vocab_size=300, n_positions=96, n_embd=48, n_layer=3, n_head=3, n_inner=80,
                           activation_function="gelu"),
    "relu-untied-layer-scaled": dict(vocab_size=150, n_positions=100, n_embd=64, n_layer=2, n_head=8,
                                     activation_function="relu", tie_word_embeddings=False,
                                     scale_attn_by_inverse_layer_idx=True, layer_norm_epsilon=1e-6),
    "one-head": dict(vocab_size=64, n_positions=80, n_embd=16, n_layer=1, n_head=1),
}


def hf_checkpoint(tmp_path, name, seed=0, initializer_range=0.15, **overrides):
    """A random GPT2LMHeadModel saved with save_pretrained; returns (hf model in eval mode, folder).
    A wide initialisation keeps greedy generation from repeating one token. overrides: GPT2Config's."""
    torch.manual_seed(seed)
    args = {**CONFIGS[name], "bos_token_id": 0, "eos_token_id": 0, "initializer_range": initializer_range,
            "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0, **overrides}
    hf = transformers.GPT2LMHeadModel(transformers.GPT2Config(**args)).eval()
    folder = tmp_path / name
    hf.save_pretrained(folder, safe_serialization=True)
    return hf, folder


def random_ids(shape, vocab, seed=0):
    return np.random.default_rng(seed).integers(0, vocab, shape)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_logits_loss_and_gradients_match_transformers(tmp_path, name):
    hf, folder = hf_checkpoint(tmp_path, name)
    model = GPT.from_pretrained(folder)
    V = CONFIGS[name]["vocab_size"]
    ids = random_ids((3, 37), V)
    labels = ids.copy()
    labels[0, 5:9] = -100  # ignored positions
    out = model(ids, labels=labels)
    hf.train()
    ref = hf(torch.tensor(ids), labels=torch.tensor(labels))
    np.testing.assert_allclose(out.logits.detach().numpy(), ref.logits.detach().numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(out.loss.item(), ref.loss.item(), rtol=1e-5)
    out.loss.backward()
    ref.loss.backward()
    theirs = dict(hf.named_parameters())
    for key, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), theirs[key].grad.numpy(), rtol=1e-3, atol=2e-5, err_msg=key)


@pytest.mark.parametrize("name", ["tiny", "gelu-erf-inner", "relu-untied-layer-scaled"])
def test_greedy_generation_of_64_tokens_equals_transformers(tmp_path, name):
    hf, folder = hf_checkpoint(tmp_path, name, seed=1)
    model = GPT.from_pretrained(folder)
    prompt = random_ids((1, 7), CONFIGS[name]["vocab_size"], seed=2)
    ours = model.generate(prompt, max_new_tokens=64, eos_token_id=None).numpy()
    ref = hf.generate(torch.tensor(prompt), max_new_tokens=64, min_new_tokens=64, do_sample=False,
                      pad_token_id=0, eos_token_id=None).numpy()
    assert ours.shape == (1, 71)
    assert len(set(ours[0, 7:].tolist())) > 3, "the random model should not repeat one token"
    np.testing.assert_array_equal(ours, ref)


def test_batch_of_prompts_of_different_lengths_is_left_padded_like_transformers(tmp_path):
    hf, folder = hf_checkpoint(tmp_path, "gelu-erf-inner", seed=3)
    model = GPT.from_pretrained(folder)
    prompts = [random_ids(n, 300, seed=n).tolist() for n in (3, 11, 1, 6)]
    L = 11
    ids = np.array([[5] * (L - len(p)) + p for p in prompts])
    mask = np.array([[0] * (L - len(p)) + [1] * len(p) for p in prompts])
    ours = model.generate(prompts, max_new_tokens=25, pad_token_id=5, eos_token_id=None).numpy()
    ref = hf.generate(torch.tensor(ids), attention_mask=torch.tensor(mask), max_new_tokens=25, min_new_tokens=25,
                      do_sample=False, pad_token_id=5, eos_token_id=None).numpy()
    np.testing.assert_array_equal(ours, ref)
    # each row also equals generating that prompt alone
    for b, p in enumerate(prompts):
        alone = model.generate([p], max_new_tokens=25, eos_token_id=None).numpy()[0, len(p):]
        np.testing.assert_array_equal(ours[b, L:], alone)
    # a pad id outside the vocabulary (GPTConfig's eos 50256 here) only fills the masked positions
    # and the rows that have finished, and is never looked up
    model.generation_config.pad_token_id = 50256
    padded = model.generate(prompts, max_new_tokens=5, eos_token_id=[int(ours[0, L])]).numpy()
    assert (padded[2, :L - 1] == 50256).all() and padded[0, L] == ours[0, L] and (padded[0, L + 1:] == 50256).all()
    np.testing.assert_array_equal(padded[1:, L:], ours[1:, L:L + 5])
    beams = model.generate(prompts, max_new_tokens=5, num_beams=2, eos_token_id=None).numpy()
    assert (beams[2, :L - 1] == 50256).all() and beams.shape == (4, L + 5)


def test_pad_token_id_of_a_config_without_a_generation_config_as_transformers(tmp_path):
    hf, folder = hf_checkpoint(tmp_path, "tiny", seed=2, eos_token_id=7, pad_token_id=5)
    os.remove(folder / "generation_config.json")  # transformers then takes eos and pad from config.json
    hf = transformers.GPT2LMHeadModel.from_pretrained(folder).eval()
    model = GPT.from_pretrained(folder)
    assert model.config.pad_token_id == model.generation_config.pad_token_id == 5
    ids = [[3, 9, 12, 4, 22], [5, 5, 5, 8, 30]]  # the second row's padding is inferred from the pad id
    ref = hf.generate(torch.tensor(ids), max_new_tokens=6, do_sample=False).numpy()
    np.testing.assert_array_equal(model.generate(ids, max_new_tokens=6).numpy(), ref)
    model.save_pretrained(tmp_path / "again")
    assert GPT.from_pretrained(tmp_path / "again").config.pad_token_id == 5


def test_hidden_states_as_transformers(tmp_path):
    hf, folder = hf_checkpoint(tmp_path, "relu-untied-layer-scaled")
    model = GPT.from_pretrained(folder)
    ids = random_ids((2, 9), 150)
    out = model(ids, output_hidden_states=True)
    with torch.no_grad():
        ref = hf(torch.tensor(ids), output_hidden_states=True)
    assert len(out.hidden_states) == len(ref.hidden_states) == 3  # each block's input, then the final output
    for mine, expected in zip(out.hidden_states, ref.hidden_states):
        np.testing.assert_allclose(mine.detach().numpy(), expected.numpy(), atol=2e-5)
    np.testing.assert_allclose(out[0].detach().numpy(), ref[0].numpy(), atol=2e-4)  # out[0]: the logits
    assert model(ids).keys() == ["logits"]


def test_attention_weights_and_inputs_embeds_as_transformers(tmp_path):
    hf, folder = hf_checkpoint(tmp_path, "relu-untied-layer-scaled", attn_implementation="eager")
    model = GPT.from_pretrained(folder)
    ids = random_ids((2, 9), 150)
    mask = np.ones((2, 9), dtype=np.int64)
    mask[1, :3] = 0  # left padding: its first three queries see no key (transformers' weights there are not defined)
    out = model(ids, attention_mask=mask, output_attentions=True)
    embeds = hf.get_input_embeddings()(torch.tensor(ids)).detach().requires_grad_()
    ref = hf(inputs_embeds=embeds, attention_mask=torch.tensor(mask), output_attentions=True)
    assert len(out.attentions) == len(ref.attentions) == 2
    for mine, expected in zip(out.attentions, ref.attentions):  # (B, heads, T, T), the second layer scaled by 1/2
        np.testing.assert_allclose(mine.detach().numpy()[0], expected.detach().numpy()[0], atol=1e-6)
        np.testing.assert_allclose(mine.detach().numpy()[1, :, 3:], expected.detach().numpy()[1, :, 3:], atol=1e-6)
    real = mask.astype(bool)
    np.testing.assert_allclose(out.logits.detach().numpy()[real], ref.logits.detach().numpy()[real], atol=2e-5)
    # the embeddings in place of the ids: the same logits, and the loss's gradient flows back to them
    labels = random_ids((2, 9), 150, seed=1)
    labels[1, :4] = -100  # (position 3 is predicted from the padding's last position)
    mine = pyseq.tensor(embeds.detach().numpy(), requires_grad=True)
    out = model(inputs_embeds=mine, attention_mask=mask, labels=labels, output_attentions=True)
    ref = hf(inputs_embeds=embeds, attention_mask=torch.tensor(mask), labels=torch.tensor(labels))
    ref.loss.backward()
    out.loss.backward()
    np.testing.assert_allclose(out.loss.item(), ref.loss.item(), rtol=1e-5)
    np.testing.assert_allclose(mine.grad.numpy(), embeds.grad.numpy(), atol=1e-6)
    assert list(out.keys()) == ["loss", "logits", "attentions"]
    with pyseq.no_grad():  # with a cache: the new queries' weights over every position so far
        cache = KVCache(model.config, batch_size=2, max_length=9)
        model(ids[:, :5], cache=cache)
        step = model(ids[:, 5:7], cache=cache, output_attentions=True).attentions
        full = model(ids, output_attentions=True).attentions
    assert step[1].shape == (2, 8, 2, 7)
    np.testing.assert_allclose(step[1].numpy(), full[1].numpy()[:, :, 5:7, :7], atol=1e-6)
    with pytest.raises(ValueError, match="either input_ids or inputs_embeds"):
        model(ids, inputs_embeds=mine)
    with pytest.raises(ValueError, match="inputs_embeds of shape \\(batch, length >= 1, n_embd=64\\), got \\(2, 9\\)"):
        model(inputs_embeds=np.zeros((2, 9)))


def test_kv_cache_logits_equal_a_full_recompute_at_every_step(tmp_path):
    _, folder = hf_checkpoint(tmp_path, "relu-untied-layer-scaled")
    model = GPT.from_pretrained(folder).eval()
    ids = random_ids((2, 40), 150, seed=4)
    cache = KVCache(model.config, batch_size=2, max_length=40)
    with pyseq.no_grad():
        full = model(ids).logits.numpy()
        step = model(ids[:, :9], cache=cache).logits.numpy()  # a prefill of 9 positions, then one at a time
        np.testing.assert_allclose(step, full[:, :9], rtol=1e-4, atol=1e-5)
        for t in range(9, 40):
            step = model(ids[:, t:t + 1], cache=cache).logits.numpy()
            np.testing.assert_allclose(step[:, 0], full[:, t], rtol=1e-4, atol=1e-5, err_msg=f"position {t}")
        assert cache.length == 40
        with pytest.raises(ValueError, match="exceed|max_length"):
            model(ids[:, :1], cache=cache)


def test_past_key_values_and_use_cache_as_transformers(tmp_path):
    """transformers' loop: use_cache=True returns the cache as past_key_values, the next call takes it
    back; the cache grows past its first 64 positions as needed."""
    hf, folder = hf_checkpoint(tmp_path, "tiny", seed=5)
    model = GPT.from_pretrained(folder)
    ids = random_ids((2, 5), 97, seed=6)
    with pyseq.no_grad():
        out = model(ids, use_cache=True)
        sequence = ids
        for _ in range(70):
            step = out.logits.numpy()[:, -1].argmax(-1)[:, None]
            sequence = np.concatenate([sequence, step], axis=1)
            out = model(step, past_key_values=out.past_key_values, use_cache=True)
        assert out.past_key_values.length == 75 and out.past_key_values.max_length == 128
        full = model(sequence).logits.numpy()
    np.testing.assert_allclose(out.logits.numpy()[:, 0], full[:, -1], rtol=1e-4, atol=1e-5)
    expected = hf.generate(torch.tensor(ids), max_new_tokens=70, do_sample=False, eos_token_id=None,
                           pad_token_id=0).numpy()
    np.testing.assert_array_equal(sequence, expected)
    with pytest.raises(ValueError, match="a KV cache is for inference"):
        model(ids, use_cache=True)  # with autograd on
    with pytest.raises(TypeError, match="the cache must be a KVCache"):
        model(ids, past_key_values=((1, 2),))


@pytest.mark.parametrize("tie", [True, False])
def test_a_folder_saved_by_pyseq_loads_in_transformers_with_the_same_logits(tmp_path, tie):
    pyseq.manual_seed(5)
    model = GPT(GPTConfig(vocab_size=120, n_positions=64, n_embd=40, n_layer=2, n_head=5, tie_word_embeddings=tie,
                          bos_token_id=0, eos_token_id=0))
    model.save_pretrained(tmp_path / "ours")
    assert sorted(os.listdir(tmp_path / "ours")) == ["config.json", "generation_config.json", "model.safetensors"]
    hf = transformers.GPT2LMHeadModel.from_pretrained(tmp_path / "ours").eval()
    ids = random_ids((2, 30), 120, seed=6)
    model.eval()
    with torch.no_grad():
        ref = hf(torch.tensor(ids)).logits.numpy()
    np.testing.assert_allclose(model(ids).logits.detach().numpy(), ref, rtol=1e-4, atol=1e-5)
    again = GPT.from_pretrained(tmp_path / "ours")
    for (k, a), (k2, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert k == k2
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("activation", ["silu", "quick_gelu", "mish", "tanh", "leaky_relu"])
def test_the_other_activations_of_transformers(tmp_path, activation):
    hf, folder = hf_checkpoint(tmp_path, "tiny", activation_function=activation)
    ids = random_ids((2, 7), 97)
    with torch.no_grad():
        ref = hf(torch.tensor(ids)).logits.numpy()
    np.testing.assert_allclose(GPT.from_pretrained(folder)(ids).logits.detach().numpy(), ref, atol=2e-5)


def test_float64_checkpoints_load_and_save_as_float64_both_ways(tmp_path):
    hf, _ = hf_checkpoint(tmp_path, "tiny")
    hf.double().save_pretrained(tmp_path / "f64", safe_serialization=True)
    model = GPT.from_pretrained(tmp_path / "f64")
    assert model.dtype == pyseq.float64
    ids = random_ids((2, 7), 97)
    with torch.no_grad():
        ref = hf(torch.tensor(ids)).logits.numpy()
    np.testing.assert_allclose(model(ids).logits.detach().numpy(), ref, rtol=1e-10, atol=1e-12)
    model.save_pretrained(tmp_path / "ours")
    back = transformers.GPT2LMHeadModel.from_pretrained(tmp_path / "ours")
    assert back.dtype == torch.float64
    model.float().save_pretrained(tmp_path / "ours32")
    assert transformers.GPT2LMHeadModel.from_pretrained(tmp_path / "ours32").dtype == torch.float32


def test_old_checkpoint_keys_without_the_transformer_prefix_load(tmp_path):
    # GPT-2's original hub files: keys of GPT2Model ('h.0.attn.c_attn.weight', ...) and causal-mask buffers
    from safetensors.numpy import save_file
    hf, folder = hf_checkpoint(tmp_path, "tiny")
    tensors = {k[len("transformer."):]: v.detach().numpy() for k, v in hf.state_dict().items()
               if k.startswith("transformer.")}
    tensors["h.0.attn.bias"] = np.tril(np.ones((1, 1, 128, 128), dtype=np.float32))
    old = tmp_path / "old"
    old.mkdir()
    save_file(tensors, str(old / "model.safetensors"), metadata={"format": "pt"})
    (old / "config.json").write_text((folder / "config.json").read_text())
    ids = random_ids((1, 20), 97)
    model = GPT.from_pretrained(old)
    assert not model.training  # dropout off, as transformers' from_pretrained
    with torch.no_grad():
        ref = hf(torch.tensor(ids)).logits.numpy()
    np.testing.assert_allclose(model(ids).logits.detach().numpy(), ref, rtol=1e-4, atol=1e-5)


def test_generation_stops_at_eos_and_pads_after_it(tmp_path):
    hf, folder = hf_checkpoint(tmp_path, "tiny", seed=7)
    model = GPT.from_pretrained(folder)
    prompts = [random_ids(5, 97, seed=8).tolist(), random_ids(9, 97, seed=9).tolist()]
    free = model.generate(prompts, max_new_tokens=30, pad_token_id=1, eos_token_id=None).numpy()
    eos = int(free[0, 12])  # the 4th token of prompt 0: generation of that row must end there
    first_eos = [int(np.flatnonzero(row[9:] == eos)[0]) if (row[9:] == eos).any() else None for row in free]
    out = model.generate(prompts, max_new_tokens=30, eos_token_id=eos, pad_token_id=1).numpy()
    L = 9
    for b in range(2):
        if first_eos[b] is None:
            np.testing.assert_array_equal(out[b, L:], free[b, L:out.shape[1]])
            continue
        end = L + first_eos[b]
        np.testing.assert_array_equal(out[b, :end + 1], free[b, :end + 1])
        assert (out[b, end + 1:] == 1).all()
    ids = np.array([[1] * 4 + prompts[0], prompts[1]])
    mask = (np.arange(9)[None, :] >= np.array([[4], [0]])).astype(np.int64)
    ref = hf.generate(torch.tensor(ids), attention_mask=torch.tensor(mask), max_new_tokens=30, do_sample=False,
                      eos_token_id=eos, pad_token_id=1).numpy()
    np.testing.assert_array_equal(out, ref)


def test_sampling_is_seeded_and_top_k_1_or_a_tiny_top_p_is_greedy(tmp_path):
    _, folder = hf_checkpoint(tmp_path, "tiny", seed=10)
    model = GPT.from_pretrained(folder)
    prompt = [random_ids(4, 97, seed=11).tolist()]
    greedy = model.generate(prompt, max_new_tokens=20).numpy()
    a = model.generate(prompt, max_new_tokens=20, do_sample=True, seed=3).numpy()
    b = model.generate(prompt, max_new_tokens=20, do_sample=True, seed=3).numpy()
    c = model.generate(prompt, max_new_tokens=20, do_sample=True, seed=4).numpy()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, greedy)
    for kwargs in (dict(top_k=1), dict(top_p=1e-9), dict(temperature=1e-4)):
        np.testing.assert_array_equal(model.generate(prompt, max_new_tokens=20, do_sample=True, seed=5, **kwargs),
                                      greedy, err_msg=str(kwargs))


@pytest.mark.parametrize("temperature,top_k,top_p", [(1.0, None, None), (0.7, 5, None), (1.3, None, 0.8),
                                                     (1.0, 6, 0.5)])
def test_sample_frequencies_follow_the_truncated_softmax(temperature, top_k, top_p):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal(10) * 1.5
    # the reference distribution, computed directly
    z = logits / temperature
    keep = np.ones(10, dtype=bool)
    if top_k:
        keep &= z >= np.sort(z)[-top_k]
    if top_p is not None:
        order = np.argsort(-np.where(keep, z, -np.inf))
        p = np.exp(z[order] - z[order].max()) * keep[order]
        p /= p.sum()
        cut = np.zeros(10, dtype=bool)
        cut[order[np.cumsum(p) - p >= top_p]] = True
        keep &= ~cut
    expected = np.where(keep, np.exp(z - z.max()), 0)
    expected /= expected.sum()
    n = 40000
    draws = _sample(np.tile(logits, (n, 1)), temperature, top_k, top_p, np.random.default_rng(1))
    freq = np.bincount(draws, minlength=10) / n
    assert (freq[~keep] == 0).all()
    sigma = np.sqrt(expected * (1 - expected) / n)
    assert (np.abs(freq - expected) <= 4 * sigma + 1e-9).all(), (freq, expected)


def test_stream_text_yields_the_decoded_generation(tmp_path):
    import importlib.util
    from pyseq.tokenizers import BPETokenizer
    spec = importlib.util.find_spec("whisper")
    if spec is None:
        pytest.skip("asset package 'whisper' is not installed")
    tok = BPETokenizer.from_tiktoken(spec.submodule_search_locations[0] + "/assets/gpt2.tiktoken", "gpt2")
    pyseq.manual_seed(12)
    model = GPT(GPTConfig(n_positions=64, n_embd=16, n_layer=1, n_head=2, initializer_range=0.3))
    pieces = list(model.stream_text(tok, "Héllo wörld", max_new_tokens=30, do_sample=True, seed=1))
    ids = model.generate([tok.encode_ids("Héllo wörld")], max_new_tokens=30, do_sample=True, seed=1).numpy()[0]
    new = ids[len(tok.encode_ids("Héllo wörld")):]
    assert "".join(pieces) == tok.decode(new.tolist())
    assert len(pieces) > 5  # pieces come as they are made, not all at the end


# --- transformers' generate: masks, eos lists, defaults, the context edge, the warpers ---

def test_generate_honours_an_attention_mask_of_any_form_and_infers_one_from_pad_token_id(tmp_path):
    hf, folder = hf_checkpoint(tmp_path, "one-head", seed=3)
    model = GPT.from_pretrained(folder)
    ids = np.array([[7, 7, 7, 12, 30, 4], [9, 22, 41, 3, 8, 15]])  # row 0 left-padded with 7
    mask = (ids != 7).astype(np.int64)
    kwargs = dict(max_new_tokens=8, pad_token_id=7, eos_token_id=None)
    ref = hf.generate(torch.tensor(ids), attention_mask=torch.tensor(mask), min_new_tokens=8, do_sample=False,
                      **kwargs).numpy()
    inferred = hf.generate(torch.tensor(ids), min_new_tokens=8, do_sample=False, **kwargs).numpy()
    np.testing.assert_array_equal(inferred, ref)  # transformers infers the mask from pad_token_id
    for given_ids, given_mask in ((ids.tolist(), mask.tolist()), (ids, mask.astype(bool)), (ids, mask.astype(np.float32)),
                                  (torch.tensor(ids), torch.tensor(mask).bool()), (ids, None)):
        np.testing.assert_array_equal(model.generate(given_ids, attention_mask=given_mask, **kwargs).numpy(), ref)
    streamed = np.stack(list(model.stream(ids.tolist(), attention_mask=mask.tolist(), **kwargs)), axis=1)
    np.testing.assert_array_equal(streamed, ref[:, 6:])
    # a pad id that is an eos id cannot mark padding: transformers attends to every position (and warns)
    ref = hf.generate(torch.tensor(ids), max_new_tokens=8, do_sample=False, pad_token_id=7, eos_token_id=7).numpy()
    with pytest.warns(UserWarning, match="cannot be inferred"):
        np.testing.assert_array_equal(model.generate(ids, max_new_tokens=8, pad_token_id=7, eos_token_id=7), ref)
    with pytest.warns(UserWarning, match="right-padding"):
        model.generate(ids[:, ::-1], attention_mask=mask[:, ::-1], max_new_tokens=1, pad_token_id=7)


def test_generation_stops_a_row_at_any_id_of_an_eos_list(tmp_path):
    hf, folder = hf_checkpoint(tmp_path, "tiny", seed=7)
    model = GPT.from_pretrained(folder)
    prompts = np.stack([random_ids(9, 97, seed=s) for s in (8, 9, 10)])  # a batch of 3, a list of 2 eos ids
    free = model.generate(prompts, max_new_tokens=20, eos_token_id=None).numpy()[:, 9:]
    eos = [int(free[0, 3]), int(free[1, 6])]
    ours = model.generate(prompts, max_new_tokens=20, eos_token_id=eos, pad_token_id=1).numpy()
    ref = hf.generate(torch.tensor(prompts), max_new_tokens=20, do_sample=False, eos_token_id=eos,
                      pad_token_id=1).numpy()
    np.testing.assert_array_equal(ours, ref)
    assert ours.shape[1] < 29 and np.isin(ours[:2, 9:], eos).any(axis=1).all()


def test_generate_defaults_are_transformers_eos_of_the_checkpoint_and_top_k_50(tmp_path):
    import inspect
    from transformers.generation.logits_process import TopKLogitsWarper
    defaults = transformers.GenerationConfig._get_default_generation_params()
    for method in (GPT.generate, GPT.stream):  # left out: the generation_config's, else transformers' defaults
        params = inspect.signature(method).parameters
        assert all(params[k].default is None for k in ("temperature", "top_k", "top_p", "do_sample"))
    assert pyseq.models.gpt._SAMPLING_DEFAULTS == {k: defaults[k] for k in ("temperature", "top_k", "top_p",
                                                                              "do_sample")}
    # eos left out: the checkpoint's generation_config.json (here unlike its config.json)
    hf, folder = hf_checkpoint(tmp_path, "tiny", seed=7)
    prompt = random_ids((1, 9), 97, seed=8)
    free = GPT.from_pretrained(folder).generate(prompt, max_new_tokens=20, eos_token_id=None).numpy()[0, 9:]
    hf.generation_config.eos_token_id = int(free[4])
    hf.save_pretrained(folder)
    assert json.loads((folder / "config.json").read_text())["eos_token_id"] == 0
    model = GPT.from_pretrained(folder)
    ours = model.generate(prompt, max_new_tokens=20, pad_token_id=1).numpy()
    np.testing.assert_array_equal(ours, hf.generate(torch.tensor(prompt), max_new_tokens=20, do_sample=False,
                                                    pad_token_id=1).numpy())
    assert ours.shape == (1, 9 + 1 + int(np.flatnonzero(free == free[4])[0]))
    model.save_pretrained(tmp_path / "again")  # and it travels with the model
    assert GPT.from_pretrained(tmp_path / "again").generation_config["eos_token_id"] == int(free[4])
    # the other generation_config.json fields are generate's defaults too, a call's arguments first
    hf.generation_config.update(max_new_tokens=6, num_beams=2, repetition_penalty=1.5, no_repeat_ngram_size=2,
                                eos_token_id=None, pad_token_id=1)
    hf.save_pretrained(folder)
    model = GPT.from_pretrained(folder)
    np.testing.assert_array_equal(model.generate(prompt).numpy(), hf.generate(torch.tensor(prompt)).numpy())
    np.testing.assert_array_equal(model.generate(prompt, num_beams=1, max_new_tokens=9).numpy(),
                                  hf.generate(torch.tensor(prompt), num_beams=1, max_new_tokens=9).numpy())
    # max_new_tokens, the call's or the config's, before max_length; settings pyseq lacks are named
    model.generation_config.update(max_length=12, num_beams=1)
    for call in ({}, {"max_length": 14}):
        assert model.generate(prompt, **call).shape == (1, 9 + 6)
    model.generation_config.diversity_penalty = 0.5
    with pytest.warns(UserWarning, match="generation_config's diversity_penalty are not supported"):
        model.generate(prompt)
    # sampling without top_k: transformers' top_k=50 applies (near-flat logits over 300 tokens)
    hf, folder = hf_checkpoint(tmp_path, "gelu-erf-inner", initializer_range=0.001)
    prompt = random_ids((1, 3), 300)
    draws = GPT.from_pretrained(folder).generate(np.repeat(prompt, 2000, axis=0), max_new_tokens=1, do_sample=True,
                                                 seed=0, eos_token_id=None).numpy()[:, -1]
    with torch.no_grad():
        top50 = torch.isfinite(TopKLogitsWarper(50)(None, hf(torch.tensor(prompt)).logits[:, -1]))[0].numpy()
    assert set(draws.tolist()) <= set(np.flatnonzero(top50).tolist()) and len(set(draws.tolist())) > 40


def test_the_context_edge_and_max_new_tokens_0_as_transformers(tmp_path):
    hf, folder = hf_checkpoint(tmp_path, "one-head", n_positions=8)
    model = GPT.from_pretrained(folder)
    prompt = np.array([[1, 2, 3, 4, 5, 6]])
    kwargs = dict(pad_token_id=0, eos_token_id=None)
    ref = hf.generate(torch.tensor(prompt), max_new_tokens=3, min_new_tokens=3, do_sample=False, **kwargs).numpy()
    np.testing.assert_array_equal(model.generate(prompt, 3, **kwargs).numpy(), ref)  # 6 + 3 - 1 positions fed back
    with pytest.raises(ValueError, match="max_new_tokens=4 exceeds .* n_positions=8"):
        model.generate(prompt, 4, **kwargs)
    for call in (lambda: hf.generate(torch.tensor(prompt), max_new_tokens=0, **kwargs),
                 lambda: model.generate(prompt, 0, **kwargs), lambda: next(model.stream(prompt, 0, **kwargs))):
        with pytest.raises(ValueError, match="max_new_tokens`? must be greater than 0"):
            call()


@pytest.mark.parametrize("options", [
    dict(repetition_penalty=1.8),
    dict(repetition_penalty=0.7),  # below 1 the seen tokens are favoured
    dict(no_repeat_ngram_size=2),
    dict(no_repeat_ngram_size=1),
    dict(repetition_penalty=1.3, no_repeat_ngram_size=3, min_new_tokens=12),
    dict(max_length=30, min_length=25, eos_token_id=67),  # 67 comes early: barred until 25 tokens
])
def test_greedy_generation_options_equal_transformers(tmp_path, options):
    # a narrow initialisation repeats itself, so the penalties change what greedy picks
    hf, folder = hf_checkpoint(tmp_path, "gelu-erf-inner", seed=4, initializer_range=0.05, eos_token_id=7)
    model = GPT.from_pretrained(folder)
    prompts = [random_ids(n, 300, seed=n).tolist() for n in (9, 4, 7)]
    L = 9
    ids = np.array([[5] * (L - len(p)) + p for p in prompts])
    mask = np.array([[0] * (L - len(p)) + [1] * len(p) for p in prompts])
    length = {} if "max_length" in options else dict(max_new_tokens=24)
    ours = model.generate(ids, attention_mask=mask, pad_token_id=5, **length, **options).numpy()
    ref = hf.generate(torch.tensor(ids), attention_mask=torch.tensor(mask), do_sample=False, pad_token_id=5,
                      **length, **options).numpy()
    plain = model.generate(ids, attention_mask=mask, pad_token_id=5, max_new_tokens=ref.shape[1] - L).numpy()
    assert not np.array_equal(plain, ref), "the options should change this generation"
    np.testing.assert_array_equal(ours, ref)


@pytest.mark.parametrize("kind", ["bad_words_ids", "suppress_tokens", "begin_suppress_tokens", "forced_eos_token_id"])
@pytest.mark.parametrize("num_beams", [1, 3])
def test_banned_suppressed_and_forced_tokens_as_transformers(tmp_path, kind, num_beams):
    hf, folder = hf_checkpoint(tmp_path, "gelu-erf-inner", seed=4, initializer_range=0.05, eos_token_id=7)
    model = GPT.from_pretrained(folder)
    ids = random_ids((2, 6), 300, seed=2)
    common = dict(max_new_tokens=10, pad_token_id=5, num_beams=num_beams)
    plain = model.generate(ids, **common).numpy()[:, 6:]
    first, pair = int(plain[0, 0]), [int(t) for t in plain[1, 3:5]]  # what plain generation makes
    options = {"bad_words_ids": dict(bad_words_ids=[[first], pair, [7]]),  # (a lone eos is never banned)
               "suppress_tokens": dict(suppress_tokens=[first, int(plain[1, 2])]),
               "begin_suppress_tokens": dict(begin_suppress_tokens=[first, int(plain[1, 0])]),
               "forced_eos_token_id": dict(forced_eos_token_id=[7, 11] if num_beams == 1 else 11)}[kind]
    # (beams: one forced id, since torch.topk orders the tie of two forced ids its own way)
    ours = model.generate(ids, **common, **options).numpy()
    ref = hf.generate(torch.tensor(ids), do_sample=False, **common, **options).numpy()
    assert not np.array_equal(ours[:, 6:], plain), "the option should change this generation"
    np.testing.assert_array_equal(ours, ref)
    with pytest.raises(ValueError, match=f"{kind} must be"):
        model.generate(ids, **common, **{kind: [[-1]] if kind == "bad_words_ids" else ["a"]})


@pytest.mark.parametrize("options", [
    dict(num_beams=4),
    dict(num_beams=3, length_penalty=0.0, early_stopping="never", num_return_sequences=2),
    dict(num_beams=5, length_penalty=2.0, early_stopping=True, eos_token_id=[7, 11], num_return_sequences=3),
    dict(num_beams=2, length_penalty=-0.5, eos_token_id=None),
    dict(num_beams=4, eos_token_id=[7, 11, 13, 2], num_return_sequences=4, repetition_penalty=1.5),
])
def test_beam_search_equals_transformers(tmp_path, options):
    # a small vocabulary and a wide initialisation: hypotheses end at eos at different lengths
    hf, folder = hf_checkpoint(tmp_path, "tiny", seed=1, vocab_size=40, initializer_range=0.3, eos_token_id=7)
    model = GPT.from_pretrained(folder)
    prompts = [[3, 9, 12, 4, 22], [8, 30], [17, 6, 1]]
    ids = np.array([[5] * (5 - len(p)) + p for p in prompts])
    mask = (np.arange(5)[None, :] >= 5 - np.array([len(p) for p in prompts])[:, None]).astype(np.int64)
    ours = model.generate(ids, attention_mask=mask, max_new_tokens=12, pad_token_id=5, **options).numpy()
    ref = hf.generate(torch.tensor(ids), attention_mask=torch.tensor(mask), max_new_tokens=12, pad_token_id=5,
                      do_sample=False, **options).numpy()
    np.testing.assert_array_equal(ours, ref)


def test_beam_search_with_one_beam_is_greedy_and_refuses_streams_and_sampling(tmp_path):
    _, folder = hf_checkpoint(tmp_path, "tiny", seed=2)
    model = GPT.from_pretrained(folder)
    np.testing.assert_array_equal(model.generate([[4, 5, 6]], max_new_tokens=10, num_beams=1).numpy(),
                                  model.generate([[4, 5, 6]], max_new_tokens=10).numpy())
    with pytest.raises(ValueError, match="use generate for num_beams > 1"):
        next(model.stream([[4, 5, 6]], num_beams=2))
    with pytest.raises(ValueError, match="do_sample=False with num_beams > 1"):
        model.generate([[4, 5, 6]], num_beams=2, do_sample=True)
    with pytest.raises(ValueError, match="at most num_beams=2 sequences"):
        model.generate([[4, 5, 6]], num_beams=2, num_return_sequences=3)
    with pytest.raises(ValueError, match="early_stopping must be True, False or 'never'"):
        model.generate([[4, 5, 6]], num_beams=2, early_stopping="always")


def test_num_return_sequences_samples_each_prompt_that_many_times(tmp_path):
    hf, folder = hf_checkpoint(tmp_path, "tiny", seed=5)
    model = GPT.from_pretrained(folder)
    prompts = [[3, 4, 5], [9]]
    out = model.generate(prompts, max_new_tokens=12, do_sample=True, num_return_sequences=3, seed=0,
                         eos_token_id=None).numpy()
    ref = hf.generate(torch.tensor([[3, 4, 5], [0, 0, 9]]), attention_mask=torch.tensor([[1, 1, 1], [0, 0, 1]]),
                      max_new_tokens=12, do_sample=True, num_return_sequences=3, eos_token_id=None, pad_token_id=0)
    assert out.shape == tuple(ref.shape) == (6, 15)
    np.testing.assert_array_equal(out[:3, :3], [[3, 4, 5]] * 3)  # each prompt's samples sit together
    np.testing.assert_array_equal(out[3:, :3], [[0, 0, 9]] * 3)
    assert len({tuple(row) for row in out[:3, 3:].tolist()}) == 3, "three different samples"
    with pytest.raises(ValueError, match="num_return_sequences=2 needs do_sample=True"):
        model.generate(prompts, num_return_sequences=2)


def test_warpers_keep_the_tokens_transformers_keeps_at_ties_and_exact_boundaries():
    from transformers.generation.logits_process import (LogitsProcessorList, TemperatureLogitsWarper,
                                                        TopKLogitsWarper, TopPLogitsWarper)
    cases = [(np.zeros(4), 1.0, 0, 0.5), (np.log([0.5, 0.25, 0.25]), 1.0, 0, 0.75),  # ties
             (np.log([0.4, 0.3, 0.2, 0.1]), 1.0, 0, 0.9)]  # the first three reach 0.9 exactly: the 4th goes
    rng = np.random.default_rng(0)
    for _ in range(60):
        V = int(rng.choice([7, 16, 300]))
        logits = rng.standard_normal(V) * 2
        if V <= 16:  # ties (torch sorts up to 16 values stably; beyond, its order of ties is unspecified)
            logits = np.round(logits)
        cases.append((logits, float(rng.choice([0.7, 1.0, 1.5])), int(rng.choice([0, 5, 50])),
                      float(rng.choice([0.3, 0.8, 0.95, 1.0]))))
    for logits, temperature, top_k, top_p in cases:
        scores = np.asarray(logits, dtype=np.float32)[None]
        warpers = LogitsProcessorList(([TemperatureLogitsWarper(temperature)] if temperature != 1.0 else [])
                                      + ([TopKLogitsWarper(top_k)] if top_k else [])
                                      + ([TopPLogitsWarper(top_p)] if top_p < 1 else []))
        expected = warpers(None, torch.tensor(scores)).numpy()
        np.testing.assert_array_equal(_warp(scores, temperature, top_k, top_p), expected,
                                      err_msg=f"{logits} T={temperature} k={top_k} p={top_p}")


def test_min_p_and_typical_p_keep_the_tokens_transformers_keeps():
    from transformers.generation.logits_process import (LogitsProcessorList, MinPLogitsWarper, TemperatureLogitsWarper,
                                                        TopKLogitsWarper, TypicalLogitsWarper)
    rng = np.random.default_rng(3)
    for _ in range(80):
        V = int(rng.choice([5, 40, 300]))
        scores = (rng.standard_normal((2, V)) * rng.choice([0.5, 2.0, 4.0])).astype(np.float32)
        temperature, top_k = float(rng.choice([0.8, 1.0])), int(rng.choice([0, 20]))
        min_p, typical_p = rng.choice([None, 0.05, 0.3]), float(rng.choice([0.2, 0.6, 0.95, 1.0]))
        warpers = LogitsProcessorList(([TemperatureLogitsWarper(temperature)] if temperature != 1.0 else [])
                                      + ([TopKLogitsWarper(top_k)] if top_k else [])
                                      + ([MinPLogitsWarper(float(min_p))] if min_p else [])
                                      + ([TypicalLogitsWarper(typical_p)] if typical_p < 1 else []))
        expected = warpers(None, torch.tensor(scores)).numpy()
        ours = _warp(scores, temperature, top_k, None, min_p, typical_p)
        np.testing.assert_array_equal(np.isinf(ours), np.isinf(expected), err_msg=f"min_p={min_p} typical_p={typical_p}")
        np.testing.assert_allclose(ours[np.isfinite(ours)], expected[np.isfinite(expected)], rtol=1e-6)


def test_epsilon_and_eta_cutoffs_keep_the_tokens_transformers_keeps():
    from transformers.generation.logits_process import (EpsilonLogitsWarper, EtaLogitsWarper, LogitsProcessorList,
                                                        TopKLogitsWarper)
    rng = np.random.default_rng(4)
    for _ in range(80):
        V = int(rng.choice([5, 40, 300]))
        scores = (rng.standard_normal((2, V)) * rng.choice([0.5, 2.0, 4.0])).astype(np.float32)
        top_k = int(rng.choice([0, 20]))  # (-inf scores before them: eta's entropy is over the tokens left)
        epsilon, eta = float(rng.choice([0.0, 3e-4, 0.01, 0.2])), float(rng.choice([0.0, 2e-3, 0.05, 0.5]))
        warpers = LogitsProcessorList(([TopKLogitsWarper(top_k)] if top_k else [])
                                      + ([EpsilonLogitsWarper(epsilon)] if epsilon else [])
                                      + ([EtaLogitsWarper(eta)] if eta else []))
        expected = warpers(None, torch.tensor(scores)).numpy()
        ours = _warp(scores, 1.0, top_k, None, epsilon_cutoff=epsilon, eta_cutoff=eta)
        np.testing.assert_array_equal(np.isinf(ours), np.isinf(expected), err_msg=f"epsilon={epsilon} eta={eta}")
        np.testing.assert_array_equal(ours[np.isfinite(ours)], expected[np.isfinite(expected)])


def test_forced_bos_and_cutoffs_in_generate_as_transformers(tmp_path):
    hf, folder = hf_checkpoint(tmp_path, "tiny", seed=3, initializer_range=0.2)
    model = GPT.from_pretrained(folder)
    pad = dict(pad_token_id=5)
    one = np.array([[9], [30]])  # prompts of one token: the next is forced_bos_token_id
    ours = model.generate(one, max_new_tokens=6, forced_bos_token_id=13, **pad).numpy()
    ref = hf.generate(torch.tensor(one), max_new_tokens=6, do_sample=False, forced_bos_token_id=13, **pad).numpy()
    np.testing.assert_array_equal(ours, ref)
    assert (ours[:, 1] == 13).all() and not (model.generate(one, max_new_tokens=1, **pad).numpy()[:, 1] == 13).all()
    two = random_ids((2, 2), 64)  # longer prompts: no effect
    np.testing.assert_array_equal(model.generate(two, max_new_tokens=6, forced_bos_token_id=13, **pad).numpy(),
                                  model.generate(two, max_new_tokens=6, **pad).numpy())
    # an epsilon cutoff of 0.99 leaves only the likeliest token, so sampling gives greedy's tokens
    greedy = model.generate(two, max_new_tokens=8, **pad).numpy()
    for seed in range(3):
        sampled = model.generate(two, max_new_tokens=8, do_sample=True, epsilon_cutoff=0.99, top_k=0, seed=seed, **pad)
        np.testing.assert_array_equal(sampled.numpy(), greedy)
    for name, value in [("epsilon_cutoff", 1.0), ("eta_cutoff", -0.1), ("eta_cutoff", "0.1")]:
        with pytest.raises(ValueError, match=f"{name} must be in \\[0, 1\\)"):
            model.generate(two, do_sample=True, **pad, **{name: value})
    with pytest.raises(ValueError, match="forced_bos_token_id must be a token id"):
        model.generate(two, forced_bos_token_id=[13], **pad)
    with pytest.raises(ValueError, match="forced token ids must be below the vocabulary size 97, got \\[500\\]"):
        model.generate(one, forced_bos_token_id=500, **pad)
    # both on the same step: eos wins, as transformers' processors run in that order
    ref = hf.generate(torch.tensor(one), max_new_tokens=1, do_sample=False, forced_bos_token_id=13,
                      forced_eos_token_id=7, **pad).numpy()
    np.testing.assert_array_equal(model.generate(one, max_new_tokens=1, forced_bos_token_id=13, forced_eos_token_id=7,
                                                 **pad).numpy(), ref)
    assert (ref[:, 1] == 7).all()


# --- forward inputs, configs and checkpoints as transformers takes them ---

def test_bool_and_float_masks_and_position_ids_for_the_whole_batch_as_transformers(tmp_path):
    hf, folder = hf_checkpoint(tmp_path, "one-head")
    model = GPT.from_pretrained(folder)
    ids = random_ids((2, 6), 64)
    mask = np.array([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]])
    real = mask.astype(bool)
    with torch.no_grad():
        ref = hf(torch.tensor(ids), attention_mask=torch.tensor(mask, dtype=torch.float32)).logits.numpy()
    for given in (mask.astype(bool), mask.astype(np.float32), torch.tensor(mask).bool(), torch.tensor(mask).float(),
                  pyseq.from_numpy(real)):
        got = model(ids, attention_mask=given).logits.detach().numpy()
        np.testing.assert_allclose(got[real], ref[real], rtol=1e-4, atol=1e-5, err_msg=str(type(given)))
    positions = np.array([[2, 3, 4, 5, 6, 7]])
    for given in (positions, positions[0], torch.tensor(positions)):
        with torch.no_grad():
            ref = hf(torch.tensor(ids), position_ids=torch.as_tensor(given)).logits.numpy()
        np.testing.assert_allclose(model(ids, position_ids=given).logits.detach().numpy(), ref, rtol=1e-4, atol=1e-5)


def test_config_edge_values_as_transformers(tmp_path):
    hf, folder = hf_checkpoint(tmp_path, "one-head", n_inner=0, activation_function="gelu_fast")
    model = GPT.from_pretrained(folder)  # n_inner=0: an MLP of width 0, as transformers builds it (not 4 * n_embd)
    assert model.transformer.h[0].mlp.c_fc.weight.shape == tuple(hf.transformer.h[0].mlp.c_fc.weight.shape) == (16, 0)
    for block in hf.transformer.h:  # transformers' Conv1D cannot run a width of 0: its MLP is then c_proj's bias
        block.mlp.forward = lambda h, mlp=block.mlp: mlp.c_proj.bias.expand_as(h)
    ids = random_ids((2, 9), 64)
    with torch.no_grad():
        ref = hf(torch.tensor(ids)).logits.numpy()
    np.testing.assert_allclose(model(ids).logits.detach().numpy(), ref, rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="layer_norm_epsilon must be >= 0, got -1e-05"):
        GPTConfig(layer_norm_epsilon=-1e-5)
    with pytest.raises(ValueError, match="n_inner must be None .* or an int >= 0"):
        GPTConfig(n_inner=-1)


def test_unused_checkpoint_weights_are_named_in_a_warning(tmp_path):
    _, folder = hf_checkpoint(tmp_path, "tiny")  # 2 layers in the file, 1 in the config
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(dict(config, n_layer=1)))
    with pytest.warns(UserWarning, match="does not use these weights .*transformer.h.1.attn.c_attn.weight"):
        model = GPT.from_pretrained(folder)
    theirs = transformers.GPT2LMHeadModel.from_pretrained(folder).eval()  # leaves them out too (its load report)
    ids = random_ids((1, 12), 97)
    with torch.no_grad():
        ref = theirs(torch.tensor(ids)).logits.numpy()
    np.testing.assert_allclose(model(ids).logits.detach().numpy(), ref, rtol=1e-4, atol=1e-5)


def test_configure_optimizers_decays_only_projection_matrices():
    model = GPT(GPTConfig(vocab_size=50, n_positions=16, n_embd=8, n_layer=2, n_head=2))
    opt = model.configure_optimizers(weight_decay=0.1, learning_rate=1e-3)
    decay, no_decay = opt.param_groups
    names = {id(p): n for n, p in model.named_parameters()}
    assert sorted(names[id(p)].split(".")[-2] for p in decay["params"]) == ["c_attn", "c_attn", "c_fc", "c_fc",
                                                                         "c_proj", "c_proj", "c_proj", "c_proj"]
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


# --- bad input ---

@pytest.fixture(scope="module")
def small():
    pyseq.manual_seed(0)
    return GPT(GPTConfig(vocab_size=50, n_positions=16, n_embd=8, n_layer=1, n_head=2))


@pytest.mark.parametrize("call,error,match", [
    (lambda m: m.generate([[1] * 17], max_new_tokens=1), ValueError, "17 tokens .* n_positions=16"),
    (lambda m: m.generate([[1] * 10], max_new_tokens=8), ValueError, "max_new_tokens=8 exceeds .* n_positions=16"),
    (lambda m: m(np.ones((1, 17), dtype=np.int64)), ValueError, "17 positions exceed .* n_positions=16"),
    (lambda m: m.generate([[1, 50]], max_new_tokens=2), IndexError, "id 50, outside the vocabulary \\[0, 50\\)"),
    (lambda m: m([[3, -1]]), IndexError, "id -1"),
    (lambda m: m.generate([[1]], do_sample=True, top_p=0.0), ValueError, "top_p must be in \\(0, 1\\], got 0.0"),
    (lambda m: m.generate([[1]], do_sample=True, top_p=1.5), ValueError, "top_p must be in"),
    (lambda m: m.generate([[1]], do_sample=True, temperature=0), ValueError, "temperature must be > 0"),
    (lambda m: m.generate([[1]], do_sample=True, top_k=-2), ValueError, "top_k"),
    (lambda m: m.generate([[]], max_new_tokens=2), ValueError, "at least one token"),
    (lambda m: m.generate([[1]], max_new_tokens=-1), ValueError, "max_new_tokens"),
    (lambda m: m.generate([[1]], repetition_penalty=0), ValueError, "repetition_penalty must be a number > 0"),
    (lambda m: m.generate([[1]], no_repeat_ngram_size=-1), ValueError, "no_repeat_ngram_size must be a non-neg"),
    (lambda m: m.generate([[1]], min_new_tokens=2.5), ValueError, "min_new_tokens must be a non-negative int"),
    (lambda m: m.generate([[1, 2, 3]], max_length=3), ValueError, "max_length=3 leaves no room after a prompt of 3"),
    (lambda m: m.generate([[1]], num_return_sequences=0, do_sample=True), ValueError, "num_return_sequences must be an int >= 1, got 0"),
    (lambda m: m.generate([[1]], num_beams=0), ValueError, "num_beams must be an int >= 1, got 0"),
    (lambda m: m.generate([[1]], length_penalty=float("nan")), ValueError, "length_penalty must be a finite"),
    (lambda m: m([[1.5, 2.0]]), TypeError, "integer token ids"),
    (lambda m: m([[1, 2]], labels=[[1, 2, 3]]), ValueError, "labels of shape \\(1, 2\\)"),
    (lambda m: m([[1, 2]], attention_mask=[[1]]), ValueError, "attention_mask of shape \\(1, 2\\)"),
])
def test_bad_input_raises_a_clear_error(small, call, error, match):
    with pytest.raises(error, match=match):
        call(small)


def test_bad_checkpoints_raise_a_clear_error(tmp_path, small):
    with pytest.raises(FileNotFoundError, match="config.json not found"):
        GPT.from_pretrained(tmp_path)
    small.save_pretrained(tmp_path / "a")
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    (tmp_path / "a" / "config.json").write_text(json.dumps(dict(config, model_type="bert")))
    with pytest.raises(ValueError, match="expected a .gpt2. checkpoint .* .bert."):
        GPT.from_pretrained(tmp_path / "a")
    (tmp_path / "a" / "config.json").write_text(json.dumps(dict(config, n_embd=12, n_head=3)))
    with pytest.raises(ValueError, match="(?s)does not fit .*wte.weight: copying a param with shape \\(50, 8\\)"):
        GPT.from_pretrained(tmp_path / "a")
    with pytest.raises(ValueError, match="n_embd=10 is not divisible by n_head=3"):
        GPTConfig(n_embd=10, n_head=3)


def test_transformers_model_api_resizing_state_dicts_and_generation_config(tmp_path):
    for tie in (True, False):
        hf, folder = hf_checkpoint(tmp_path, "tiny", seed=6, tie_word_embeddings=tie)
        model = GPT.from_pretrained(folder)
        assert model.num_parameters() == hf.num_parameters()
        assert model.num_parameters(exclude_embeddings=True) == hf.num_parameters(exclude_embeddings=True)
        # a state dict straight from transformers (a tied one names the embedding lm_head.weight too)
        fresh = GPT(model.config)
        fresh.load_state_dict({k: pyseq.tensor(v.detach().numpy()) for k, v in hf.state_dict().items()})
        ids = random_ids((2, 9), 97)
        np.testing.assert_allclose(fresh(ids).logits.detach().numpy(), hf(torch.tensor(ids)).logits.detach().numpy(),
                                   atol=2e-5)
        # new tokens start at the old rows' mean in the embedding and an untied head, as transformers' mean_resizing
        hf.resize_token_embeddings(105)
        new = model.resize_token_embeddings(105)
        assert new is model.get_input_embeddings() and model.config.vocab_size == 105
        ids[0, 3] = 101
        np.testing.assert_allclose(model(ids).logits.detach().numpy(), hf(torch.tensor(ids)).logits.detach().numpy(),
                                   atol=1e-3)  # transformers' new rows: the mean plus a 1e-9-scaled noise
    types = random_ids((2, 9), 97, seed=1)  # token type ids go through the token embedding, as transformers'
    np.testing.assert_allclose(model(ids, token_type_ids=types).logits.detach().numpy(),
                               hf(torch.tensor(ids), token_type_ids=torch.tensor(types)).logits.detach().numpy(),
                               atol=1e-3)
    assert isinstance(model(ids, return_dict=False, use_cache=False), tuple)
    assert (model.config.hidden_size, model.config.num_hidden_layers) == (hf.config.hidden_size,
                                                                          hf.config.num_hidden_layers)
    model.generation_config.pad_token_id = 3  # attribute access, as transformers' GenerationConfig
    assert model.generation_config["pad_token_id"] == 3 and model.generation_config.temperature is None
    with pytest.raises(TypeError, match="GPT.generate: unexpected argument\\(s\\) streamer; .* takes temperature"):
        model.generate([[1, 2]], streamer=object())
    with pytest.raises(ValueError, match="logits_to_keep must be an int >= 0"):
        model(ids, logits_to_keep=-1)


def test_right_padded_prompts_take_position_zero_where_masked_as_transformers(tmp_path):
    hf, folder = hf_checkpoint(tmp_path, "tiny", seed=7)
    model = GPT.from_pretrained(folder)
    ids, mask = np.array([[3, 9, 12, 4, 5], [1, 2, 3, 4, 6]]), np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]])
    with pytest.warns(UserWarning, match="right-padding"):
        ours = model.generate(ids, attention_mask=mask, max_new_tokens=6, pad_token_id=5, eos_token_id=None).numpy()
    ref = hf.generate(torch.tensor(ids), attention_mask=torch.tensor(mask), max_new_tokens=6, min_new_tokens=6,
                      pad_token_id=5, eos_token_id=None, do_sample=False).numpy()
    np.testing.assert_array_equal(ours, ref)
