"""index.cpp: cat, stack, split, chunk, index_select, gather, scatter_add, embedding, one_hot."""

import numpy as np
import pytest

import pyseq
from helpers import check_values, random_input


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_cat_and_stack(op, dim):
    op.check(lambda m, a, b, c: m.cat([a, b, c], dim=dim), [(2, 3), (2, 3), (2, 3)])
    op.check(lambda m, a, b: m.stack([a, b], dim=dim), [(2, 3), (2, 3)])


def test_cat_different_sizes_along_dim(op):
    op.check(lambda m, a, b: m.cat([a, b], 1), [(2, 1), (2, 4)])


@pytest.mark.parametrize("sections", [2, [1, 3, 1]], ids=str)
def test_split_and_chunk(op, sections):
    def fn(m, a):
        parts = m.split(a, sections, dim=1)
        return m.cat([p * (i + 1) for i, p in enumerate(parts)], dim=1)  # every part gets its own gradient
    op.check(fn, [(3, 5)])
    op.check(lambda m, a: m.cat([p.exp() for p in a.chunk(3, dim=0)], 0), [(7, 2)])
    assert [p.shape for p in pyseq.ones(7, 2).chunk(3)] == [(3, 2), (3, 2), (1, 2)]


@pytest.mark.parametrize("dim", [0, 1])
def test_index_select_with_repeats(op, dim):
    idx = [2, 0, 2, 1]
    op.check(lambda m, a: a.index_select(dim, m.tensor(idx)), [(3, 3)])


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_gather(op, rng, dim):
    idx = rng.integers(0, 3, size=(3, 2, 3))
    op.check(lambda m, a: a.gather(dim, m.tensor(idx)), [(3, 3, 3)])


def test_scatter_add(op, rng):
    idx = rng.integers(0, 4, size=(2, 3))
    op.check(lambda m, a, src: a.scatter_add(1, m.tensor(idx), src), [(2, 4), (2, 3)])
    # an index smaller than src: the rest of src gets zero gradient (torch's backward refuses
    # this case, so the gradient is checked by finite differences and the values against torch)
    fn = lambda m, a, src: a.scatter_add(0, m.tensor(idx[:1, :2] % 2), src)  # noqa: E731
    arrays = op.inputs([(2, 4), (2, 3)])
    op.gradcheck(fn, arrays)
    op.parity(fn, arrays, grad_inputs=[])


@pytest.mark.parametrize("padding_idx", [None, 1])
def test_embedding(rng, padding_idx):
    torch = pytest.importorskip("torch")
    w = rng.standard_normal((5, 3)).astype(np.float32)
    idx = np.array([[0, 1, 4], [1, 1, 2]])
    ours = pyseq.tensor(w, requires_grad=True)
    theirs = torch.tensor(w, requires_grad=True)
    out = pyseq.embedding(pyseq.tensor(idx), ours, padding_idx=padding_idx)
    ref = torch.nn.functional.embedding(torch.tensor(idx), theirs, padding_idx=padding_idx)
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    g = rng.standard_normal((2, 3, 3)).astype(np.float32)
    out.backward(pyseq.from_numpy(g))
    ref.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


def test_embedding_gradcheck(op):
    idx = [[3, 0], [3, 3]]
    op.gradcheck(lambda m, w: m.embedding(m.tensor(idx), w), op.inputs([(4, 2)]))


def test_one_hot_matches_torch():
    torch = pytest.importorskip("torch")
    idx = [[0, 2], [1, 0]]
    assert pyseq.one_hot(pyseq.tensor(idx), 4).tolist() == torch.nn.functional.one_hot(torch.tensor(idx), 4).tolist()
    assert pyseq.one_hot(pyseq.tensor([1, 3])).shape == (2, 4)
    with pytest.raises(IndexError, match="index 4"):
        pyseq.one_hot(pyseq.tensor([4]), 3)


def test_tensor_index_is_a_copy():
    rng = np.random.default_rng(23)
    done = 0
    while done < 40:
        base, values, steps, x, imap = random_input(rng)
        dims = [d for d in range(x.ndim)]
        if not dims:
            continue
        d = int(rng.choice(dims))
        size = x.shape[d]
        n = int(rng.integers(0, 5))
        idx = rng.integers(-size, size, n) if size > 0 else np.zeros(0, dtype=np.int64)
        idx = np.where(idx < 0, idx + size, idx).astype(np.int64)  # index_select takes [0, size)
        key = (slice(None),) * d + (pyseq.tensor(idx),)
        if rng.random() < 0.5 and d == x.ndim - 1:
            key = (Ellipsis, pyseq.tensor(idx))
        v = x[key]
        vmap = imap[(slice(None),) * d + (idx,)]
        check_values(v, values, vmap)
        sel = x.index_select(d, pyseq.tensor(idx))
        check_values(sel, values, vmap)
        # a copy: writing to it leaves the base alone
        v[...] = -1.0
        np.testing.assert_array_equal(base.numpy(), values)
        done += 1


@pytest.mark.parametrize("n", [0, 3, 100_000])
def test_index_select_into_a_0d_tensor_takes_exactly_one_index(n):
    # as PyTorch ("Index to scalar can have only 1 value"); 100,000 indices used to write past a
    # one-element output
    assert pyseq.index_select(pyseq.tensor(5.0), 0, pyseq.zeros(1, dtype=pyseq.int64)).item() == 5.0
    with pytest.raises(IndexError, match=f"only 1 value, got {n} value"):
        pyseq.index_select(pyseq.tensor(5.0), 0, pyseq.zeros(n, dtype=pyseq.int64))


def test_one_hot_num_classes_is_minus_one_or_non_negative():
    with pytest.raises(ValueError, match="-2"):
        pyseq.one_hot(pyseq.tensor([0, 1]), -2)
    assert pyseq.one_hot(pyseq.tensor([0, 2]), -1).tolist() == [[1, 0, 0], [0, 0, 1]]
