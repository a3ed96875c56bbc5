"""pyseq.data: datasets, the DataLoader (batching, seeded shuffling, drop_last), default_collate
and padding of variable-length sequences, checked against torch.utils.data where it has the same
function."""

import json

import numpy as np
import pytest

import pyseq
from pyseq.data import (DataLoader, Dataset, PaddedBatch, Subset, TensorDataset, default_collate, pad_collate,
                        pad_sequence, random_split)


def _ids(loader):
    """The sample ids of one epoch, batch by batch (datasets below hold their own index)."""
    return [b[0].tolist() for b in loader]


def _index_dataset(n):
    return TensorDataset(pyseq.arange(n), pyseq.arange(n).float() * 0.5)


# --- datasets ------------------------------------------------------------------------------------

def test_tensor_dataset_items_and_errors():
    x = pyseq.arange(12).reshape(4, 3)
    y = pyseq.tensor([1.0, 2.0, 3.0, 4.0])
    ds = TensorDataset(x, y)
    assert len(ds) == 4
    xi, yi = ds[2]
    assert xi.tolist() == [6, 7, 8] and yi.item() == 3.0
    with pytest.raises(ValueError, match=r"same first dim, got sizes \[4, 3\]"):
        TensorDataset(x, pyseq.zeros(3))
    with pytest.raises(TypeError, match="argument 1 must be a pyseq.Tensor"):
        TensorDataset(x, [1, 2, 3, 4])
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(pyseq.tensor(1.0))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


def test_dataset_subclass_and_subset():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return i, i * i

    sub = Subset(Squares(), [4, 0, 2])
    assert len(sub) == 3 and sub[0] == (4, 16) and sub[1:] == [(0, 0), (2, 4)]
    batches = list(DataLoader(sub, batch_size=2))
    assert [b[0].tolist() for b in batches] == [[4, 0], [2]]
    assert [b[1].tolist() for b in batches] == [[16, 0], [4]]
    with pytest.raises(NotImplementedError):
        len(Dataset())


def test_random_split_is_a_seeded_partition():
    ds = _index_dataset(10)
    a, b, c = random_split(ds, [5, 3, 2], seed=1)
    ids = [ds[i][0].item() for s in (a, b, c) for i in s.indices]
    assert sorted(ids) == list(range(10)) and [len(a), len(b), len(c)] == [5, 3, 2]
    assert random_split(ds, [5, 3, 2], seed=1)[0].indices == a.indices
    assert random_split(ds, [5, 3, 2], seed=2)[0].indices != a.indices
    assert [len(s) for s in random_split(ds, [0.7, 0.2, 0.1], seed=0)] == [7, 2, 1]
    assert [len(s) for s in random_split(_index_dataset(11), [0.5, 0.5], seed=0)] == [6, 5]
    with pytest.raises(ValueError, match="summing to the dataset's length 10"):
        random_split(ds, [5, 4])


# --- the loader ----------------------------------------------------------------------------------

def test_batches_in_order_with_partial_last_batch_and_drop_last():
    ds = _index_dataset(10)
    loader = DataLoader(ds, batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert _ids(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[0][1].dtype == pyseq.float32 and batches[0][1].tolist() == [0.0, 0.5, 1.0, 1.5]
    loader = DataLoader(ds, batch_size=4, drop_last=True)
    assert len(loader) == 2 and _ids(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(ds, batch_size=10, drop_last=True)) == 1
    assert list(DataLoader(ds, batch_size=11, drop_last=True)) == []


def test_seeded_shuffle_is_a_reproducible_permutation_that_changes_every_epoch():
    ds = _index_dataset(50)
    loader = DataLoader(ds, batch_size=8, shuffle=True, seed=123)
    epoch1, epoch2 = _ids(loader), _ids(loader)
    for epoch in (epoch1, epoch2):
        assert sorted(sum(epoch, [])) == list(range(50))  # every sample exactly once
        assert [len(b) for b in epoch] == [8] * 6 + [2]
    assert epoch1 != epoch2  # a new order each epoch
    assert sum(epoch1, []) != list(range(50))
    again = DataLoader(ds, batch_size=8, shuffle=True, seed=123)
    assert [_ids(again), _ids(again)] == [epoch1, epoch2]  # same seed, same sequence of epochs
    assert _ids(DataLoader(ds, batch_size=8, shuffle=True, seed=124)) != epoch1
    # the rows of every tensor of a sample stay together
    for x, y in DataLoader(ds, batch_size=8, shuffle=True, seed=5):
        np.testing.assert_array_equal(y.numpy(), x.numpy() * 0.5)


def test_shuffle_without_seed_follows_pyseq_manual_seed():
    ds = _index_dataset(40)
    loader = DataLoader(ds, batch_size=40, shuffle=True)
    pyseq.manual_seed(7)
    first = _ids(loader)
    pyseq.manual_seed(7)
    assert _ids(loader) == first
    assert _ids(loader) != first
    assert sorted(first[0]) == list(range(40))


def test_tensor_dataset_fast_path_equals_per_sample_collation():
    x = pyseq.randn(13, 3, 2)
    y = pyseq.randint(0, 5, (13,))
    ds = TensorDataset(x, y)
    fast = DataLoader(ds, batch_size=4, shuffle=True, seed=0)
    slow = DataLoader(ds, batch_size=4, shuffle=True, seed=0, collate_fn=lambda b: default_collate(b))
    assert len(list(fast)) == len(list(slow)) == 4
    for (xf, yf), (xs, ys) in zip(fast, slow):
        assert xf.shape == xs.shape and xf.dtype == xs.dtype
        np.testing.assert_array_equal(xf.numpy(), xs.numpy())
        np.testing.assert_array_equal(yf.numpy(), ys.numpy())


def test_loader_argument_errors():
    ds = _index_dataset(3)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size must be a positive int"):
            DataLoader(ds, batch_size=bad)
    with pytest.raises(TypeError, match="collate_fn must be callable"):
        DataLoader(ds, collate_fn=3)
    with pytest.raises(TypeError, match="must define __len__"):
        DataLoader(iter([1, 2]))


# --- collation -----------------------------------------------------------------------------------

def _compare_with_torch(ours, theirs):
    import torch
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, pyseq.Tensor)
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    elif isinstance(theirs, dict):
        assert list(ours) == list(theirs)
        for k in theirs:
            _compare_with_torch(ours[k], theirs[k])
    elif isinstance(theirs, (list, tuple)) and not isinstance(theirs[0], str):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            _compare_with_torch(a, b)
    else:
        assert ours == theirs


def test_default_collate_matches_torch(rng):
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate
    samples = [{"x": rng.standard_normal((2, 3)).astype(np.float32), "d": rng.standard_normal(2),
                "ids": rng.integers(0, 9, 4), "n": int(i), "f": 0.5 * i, "flag": bool(i % 2),
                "text": f"s{i}", "pair": (i, [1.5 * i, 2.0])} for i in range(3)]
    ours, theirs = default_collate(samples), torch_collate(samples)
    _compare_with_torch(ours, theirs)
    tensors = [pyseq.tensor(rng.standard_normal((2, 2)).astype(np.float32)) for _ in range(3)]
    _compare_with_torch(default_collate(tensors), torch_collate([torch.tensor(t.numpy()) for t in tensors]))
    assert isinstance(default_collate([(1, 2), (3, 4)]), tuple)


def test_default_collate_errors():
    with pytest.raises(ValueError, match="same shape.*pad_collate"):
        default_collate([pyseq.zeros(2), pyseq.zeros(3)])
    with pytest.raises(ValueError, match="same shape.*pad_collate"):
        default_collate([np.zeros(2), np.zeros(3)])
    with pytest.raises(ValueError, match="same number of fields"):
        default_collate([(1, 2), (3,)])
    with pytest.raises(ValueError, match="keys"):
        default_collate([{"a": 1}, {"b": 2}])
    with pytest.raises(TypeError, match="cannot batch samples of type NoneType"):
        default_collate([None, None])
    with pytest.raises(ValueError, match="empty batch"):
        default_collate([])


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_torch(rng, batch_first, padding_side):
    torch = pytest.importorskip("torch")
    lengths = [3, 1, 5, 0, 2]
    ints = [rng.integers(1, 100, n) for n in lengths]
    ours = pad_sequence([pyseq.tensor(a) for a in ints], batch_first=batch_first, padding_value=-7,
                        padding_side=padding_side)
    theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(a) for a in ints], batch_first=batch_first,
                                             padding_value=-7, padding_side=padding_side)
    assert ours.dtype == pyseq.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    # lists and numpy arrays work too
    np.testing.assert_array_equal(pad_sequence([a.tolist() for a in ints], batch_first, -7, padding_side).numpy(),
                                  theirs.numpy())
    # (L, D) float sequences, through numpy and (requires_grad) through differentiable ops
    feats = [rng.standard_normal((n, 3)).astype(np.float32) for n in lengths]
    theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(f) for f in feats], batch_first=batch_first,
                                             padding_value=0.5, padding_side=padding_side)
    for requires_grad in (False, True):
        ours = pad_sequence([pyseq.tensor(f, requires_grad=requires_grad) for f in feats], batch_first=batch_first,
                            padding_value=0.5, padding_side=padding_side)
        assert ours.dtype == pyseq.float32 and ours.requires_grad == requires_grad
        np.testing.assert_array_equal(ours.detach().numpy(), theirs.numpy())


def test_pad_sequence_gradients_reach_each_sequence(rng):
    torch = pytest.importorskip("torch")
    feats = [rng.standard_normal((n, 2)).astype(np.float32) for n in (2, 4, 1)]
    ours_in = [pyseq.tensor(f, requires_grad=True) for f in feats]
    theirs_in = [torch.tensor(f, requires_grad=True) for f in feats]
    ours = pad_sequence(ours_in, batch_first=True, padding_value=1.0)
    theirs = torch.nn.utils.rnn.pad_sequence(theirs_in, batch_first=True, padding_value=1.0)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    w = rng.standard_normal(tuple(theirs.shape)).astype(np.float32)
    (ours * pyseq.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    for a, b in zip(ours_in, theirs_in):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy())


def test_pad_sequence_dtypes_follow_pyseq_tensor():
    assert pad_sequence([[1, 2], [3]]).dtype == pyseq.int64
    assert pad_sequence([[1.5, 2.0], [3.0]]).dtype == pyseq.float32  # Python floats, as pyseq.tensor
    assert pad_sequence([np.zeros(2), np.ones(1)]).dtype == pyseq.float64  # numpy float64 stays
    assert pad_sequence([[True], [False, True]]).dtype == pyseq.bool
    with pytest.raises(TypeError, match="same dtype"):
        pad_sequence([pyseq.zeros(2), pyseq.zeros(2, dtype=pyseq.float64)])


def test_pad_sequence_errors():
    with pytest.raises(ValueError, match="same trailing dims"):
        pad_sequence([np.zeros((2, 3)), np.zeros((2, 4))])
    with pytest.raises(TypeError, match="sequence 1"):
        pad_sequence([[1, 2], "ab"])
    with pytest.raises(ValueError, match="no sequences"):
        pad_sequence([])
    with pytest.raises(ValueError, match="padding_side"):
        pad_sequence([[1]], padding_side="middle")


def test_pad_collate_returns_padded_batch_lengths_and_mask():
    batch = [([5, 6, 7], 1), ([8], 0), ([9, 10], 1)]
    (tokens, lengths, mask), labels = pad_collate(batch)
    assert tokens.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert lengths.tolist() == [3, 1, 2] and lengths.dtype == pyseq.int64
    assert mask.dtype == pyseq.bool
    assert mask.tolist() == [[True, True, True], [True, False, False], [True, True, False]]
    assert labels.tolist() == [1, 0, 1]
    left = pad_collate([[1, 2, 3], [4]], padding_value=-1, padding_side="left")
    assert isinstance(left, PaddedBatch)
    assert left.data.tolist() == [[1, 2, 3], [-1, -1, 4]]
    assert left.mask.tolist() == [[True, True, True], [False, False, True]]
    t_first = pad_collate([[1, 2, 3], [4]], batch_first=False)
    assert t_first.data.tolist() == [[1, 4], [2, 0], [3, 0]]
    with pytest.raises(ValueError, match="same number of fields"):
        pad_collate([([1], 0), ([2],)])


def test_loader_with_pad_collate_over_variable_length_samples():
    rng = np.random.default_rng(0)
    samples = [(rng.integers(1, 50, rng.integers(1, 9)).tolist(), i % 3) for i in range(23)]
    loader = DataLoader(samples, batch_size=5, shuffle=True, seed=0, collate_fn=pad_collate)
    seen = []
    for (tokens, lengths, mask), labels in loader:
        assert tokens.shape == mask.shape and tokens.shape[1] == max(lengths.tolist())
        # padding (0) sits exactly where the mask is False: token ids are >= 1
        np.testing.assert_array_equal(tokens.numpy() != 0, mask.numpy())
        np.testing.assert_array_equal(mask.numpy().sum(1), lengths.numpy())
        seen += [(tuple(t[:n]), lab) for t, n, lab in zip(tokens.tolist(), lengths.tolist(), labels.tolist())]
    assert sorted(seen) == sorted((tuple(s), lab) for s, lab in samples)


# --- torch.utils.data's other options ------------------------------------------------------------


def test_collate_of_mixed_python_numbers_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate
    for batch in ([1, 2.5], [True, 2], [True, False], [3, 4], [2.5, 1]):
        ours, theirs = default_collate(batch), torch_collate(batch)
        assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], batch
        assert ours.tolist() == theirs.tolist(), batch


def test_sampler_and_batch_sampler_as_torch():
    torch = pytest.importorskip("torch")
    import torch.utils.data as td
    data = list(range(7))
    samplers = [dict(sampler=[6, 5, 4, 3, 2, 1, 0], batch_size=3), dict(sampler=range(5), batch_size=2, drop_last=True),
                dict(sampler=td.SequentialSampler(data), batch_size=4),
                dict(batch_sampler=[[0, 1], [6], [2, 3, 4]]),
                dict(batch_sampler=td.BatchSampler(td.SequentialSampler(data), 3, drop_last=False))]
    for kwargs in samplers:
        ours, theirs = DataLoader(data, **kwargs), td.DataLoader(data, **kwargs)
        assert len(ours) == len(theirs), kwargs
        assert [b.tolist() for b in ours] == [b.tolist() for b in theirs], kwargs
    tensors = _index_dataset(7)  # the TensorDataset fast path follows the sampler too
    assert _ids(DataLoader(tensors, batch_size=3, sampler=[6, 0, 3])) == [[6, 0, 3]]
    assert _ids(DataLoader(tensors, batch_sampler=[[2], [5, 1]])) == [[2], [5, 1]]
    for bad in (dict(sampler=[0], shuffle=True), dict(batch_sampler=[[0]], batch_size=2),
                dict(batch_sampler=[[0]], drop_last=True), dict(batch_sampler=[[0]], sampler=[0])):
        with pytest.raises(ValueError, match="mutually exclusive"):
            DataLoader(data, **bad)
        with pytest.raises(ValueError, match="mutually exclusive"):
            td.DataLoader(data, **bad)


def test_concat_dataset_as_torch():
    torch = pytest.importorskip("torch")
    import torch.utils.data as td
    from pyseq.data import ConcatDataset
    parts = [list(range(3)), [], list(range(10, 12))]
    ours, theirs = ConcatDataset(parts), td.ConcatDataset(parts)
    assert len(ours) == len(theirs) == 5 and ours.cumulative_sizes == theirs.cumulative_sizes
    assert [ours[i] for i in range(-5, 5)] == [theirs[i] for i in range(-5, 5)]
    joined = _index_dataset(2) + _index_dataset(3)
    assert isinstance(joined, ConcatDataset) and _ids(DataLoader(joined, batch_size=5)) == [[0, 1, 0, 1, 2]]
    with pytest.raises(IndexError, match="out of range"):
        ours[5]
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])


def test_seeded_loader_state_resumes_the_epoch_orders():
    loader = DataLoader(_index_dataset(10), batch_size=4, shuffle=True, seed=3)
    _ids(loader)
    state = json.loads(json.dumps(loader.state_dict()))  # as a checkpoint stores it
    expected = [_ids(loader), _ids(loader)]
    resumed = DataLoader(_index_dataset(10), batch_size=4, shuffle=True, seed=3)
    resumed.load_state_dict(state)
    assert [_ids(resumed), _ids(resumed)] == expected
    assert DataLoader(_index_dataset(3)).state_dict() == {}
    with pytest.raises(ValueError, match="no seed"):
        DataLoader(_index_dataset(3)).load_state_dict(state)
