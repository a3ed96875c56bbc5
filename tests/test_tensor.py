"""Tensor creation, dtypes, conversion, repr and seeding."""

import numpy as np
import pytest

import pyseq


def test_factories_match_numpy():
    assert pyseq.zeros(2, 3).tolist() == np.zeros((2, 3)).tolist()
    assert pyseq.ones((2,), dtype=pyseq.int64).tolist() == [1, 1]
    assert pyseq.full((2, 2), 7).dtype == pyseq.int64
    assert pyseq.full((2, 2), 1.5).tolist() == [[1.5, 1.5], [1.5, 1.5]]
    assert pyseq.full((1,), True).dtype == pyseq.bool
    assert pyseq.arange(5).tolist() == [0, 1, 2, 3, 4] and pyseq.arange(5).dtype == pyseq.int64
    np.testing.assert_allclose(pyseq.arange(0, 1, 0.25).numpy(), [0, 0.25, 0.5, 0.75])
    assert pyseq.arange(5, 0, -2).tolist() == [5, 3, 1]
    assert pyseq.eye(2, 3).tolist() == np.eye(2, 3).tolist()
    assert pyseq.zeros(0, 4).shape == (0, 4) and pyseq.zeros(0, 4).numel() == 0
    assert pyseq.empty(3, dtype=pyseq.float64).dtype == pyseq.float64
    assert pyseq.zeros_like(pyseq.ones(2, 2, dtype=pyseq.float64)).dtype == pyseq.float64


def test_random_factories_are_seeded_and_in_range():
    pyseq.manual_seed(7)
    a = pyseq.rand(1000)
    pyseq.manual_seed(7)
    b = pyseq.rand(1000)
    assert a.tolist() == b.tolist()
    assert 0 <= a.min().item() and a.max().item() < 1
    n = pyseq.randn(20000).numpy()
    assert abs(n.mean()) < 0.05 and abs(n.std() - 1) < 0.05
    r = pyseq.randint(3, 6, (1000,))
    assert r.dtype == pyseq.int64 and set(r.tolist()) == {3, 4, 5}
    assert pyseq.randint(4, (10,)).max().item() < 4


def test_tensor_from_python_data_infers_like_torch():
    assert pyseq.tensor([1.0, 2.0]).dtype == pyseq.float32
    assert pyseq.tensor([1, 2]).dtype == pyseq.int64
    assert pyseq.tensor([True]).dtype == pyseq.bool
    assert pyseq.tensor(3.5).shape == () and pyseq.tensor(3.5).item() == 3.5
    assert pyseq.tensor([[1, 2]], dtype=pyseq.float64).dtype == pyseq.float64
    assert pyseq.tensor(np.zeros(2, dtype=np.float64)).dtype == pyseq.float64
    with pytest.raises(ValueError, match="rectangular"):
        pyseq.tensor([[1, 2], [3]])
    with pytest.raises(TypeError):
        pyseq.tensor(["a", "b"])


def test_conversions():
    x = pyseq.tensor([1.7, -2.2])
    assert x.to(pyseq.int64).tolist() == [1, -2]
    assert x.long().dtype == pyseq.int64 and x.double().dtype == pyseq.float64
    assert x.bool().tolist() == [True, True]
    assert pyseq.tensor([0, 3]).float().tolist() == [0.0, 3.0]
    assert float(pyseq.tensor([2.5])) == 2.5 and int(pyseq.tensor(3)) == 3
    assert bool(pyseq.tensor(True))
    with pytest.raises(ValueError, match="one element"):
        pyseq.ones(2).item()
    with pytest.raises(TypeError, match="pyseq dtype"):
        x.to("float16")


def test_metadata():
    x = pyseq.zeros(2, 3, 4)
    assert x.shape == (2, 3, 4) and x.ndim == 3 and x.dim() == 3 and x.numel() == 24 and len(x) == 2
    assert x.size() == (2, 3, 4) and x.size(-1) == 4 and x.stride() == (12, 4, 1)
    assert x.is_contiguous() and not x.transpose(0, 2).is_contiguous()
    assert x.device == "cpu"
    assert pyseq.float32.itemsize == 4 and pyseq.float64.is_floating_point and not pyseq.int64.is_floating_point


def test_repr_looks_like_torch():
    assert repr(pyseq.tensor([1.0, 2.5])) == "tensor([1. , 2.5])"
    assert repr(pyseq.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(pyseq.tensor([1.0], dtype=pyseq.float64)) == "tensor([1.], dtype=pyseq.float64)"
    assert repr(pyseq.ones(1, requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert "grad_fn=<MulBackward>" in repr(pyseq.ones(1, requires_grad=True) * 2)
    assert repr(pyseq.float32) == "pyseq.float32"


def test_threads_setting():
    n = pyseq.get_num_threads()
    pyseq.set_num_threads(1)
    assert pyseq.get_num_threads() == 1
    pyseq.set_num_threads(n)
    with pytest.raises(ValueError, match="positive"):
        pyseq.set_num_threads(0)


def test_pickle_and_deepcopy_copy_values_and_leaf_flag():
    import copy
    import pickle
    t = pyseq.tensor([[1.5, -2.0]], requires_grad=True)
    for u in (pickle.loads(pickle.dumps(t)), copy.deepcopy(t)):
        assert u.tolist() == t.tolist() and u.requires_grad and u.data_ptr() != t.data_ptr()
    i = copy.deepcopy(pyseq.arange(3))
    assert i.dtype == pyseq.int64 and i.tolist() == [0, 1, 2]
