"""Tensor metadata: building from Python data, shape/stride/dtype attributes, repr, threads, pickling."""

import numpy as np
import pytest

import pyseq


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
