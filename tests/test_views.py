"""Views, indexing, broadcasting and reductions of pyseq compared with numpy (and PyTorch for `view`).

Every randomized test draws its cases from a seeded numpy Generator, so a failure reproduces. The
inputs are deliberately non-contiguous (transposed, permuted, sliced with steps, expanded) and
include size-0 and size-1 dims and 0-d tensors.

Memory sharing is checked through an "index map": the same chain of view ops applied to
np.arange(base.numel()).reshape(base.shape) gives, for each element of the view, the flat
position of the base element it aliases. Values are then checked as base_values[map], and a write
through the view must land exactly at base.numpy().ravel()[map].
"""

import warnings

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

import pyseq

N_CASES = 40


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def random_shape(rng, ndim, sizes=(1, 1, 2, 2, 3, 3, 4, 4), p_zero=0.05):
    """`ndim` sizes from `sizes`, each 0 with probability p_zero."""
    return tuple(0 if rng.random() < p_zero else int(rng.choice(sizes)) for _ in range(ndim))


def make_base(rng, shape):
    """A contiguous float32 pyseq tensor with distinct values, and a numpy copy of them."""
    n = int(np.prod(shape, dtype=np.int64))
    values = (rng.permutation(n).astype(np.float32) + 1.0).reshape(shape)
    base = pyseq.tensor(values)
    assert base.dtype == pyseq.float32 and base.shape == shape
    return base, values


def np_expand(a, sizes):
    """numpy equivalent of Tensor.expand(*sizes) that stays a (writable) view of `a`."""
    lead = len(sizes) - a.ndim
    target = tuple(a.shape[d - lead] if (d >= lead and s == -1) else s for d, s in enumerate(sizes))
    b = np.broadcast_to(a, target)
    return as_strided(a, shape=b.shape, strides=b.strides)


def _prefix(dim, item):
    return (slice(None),) * dim + (item, Ellipsis)


# Each view op: (name, args generator(rng, shape) -> args or None when not applicable,
#                pyseq implementation, numpy implementation on any array).
def _gen_transpose(rng, shape):
    n = len(shape)
    r = max(n, 1)  # a 0-d tensor accepts dims 0 and -1
    return int(rng.integers(-r, r)), int(rng.integers(-r, r))


def _np_transpose(a, d0, d1):
    return a if a.ndim == 0 else np.swapaxes(a, d0, d1)


def _gen_permute(rng, shape):
    dims = [int(d) for d in rng.permutation(len(shape))]
    # sometimes spell dims negatively
    return tuple(d - len(shape) if rng.random() < 0.3 else d for d in dims)


def _gen_squeeze(rng, shape):
    if rng.random() < 0.3:
        return (None,)
    r = max(len(shape), 1)
    return (int(rng.integers(-r, r)),)


def _ps_squeeze(x, dim):
    return x.squeeze() if dim is None else x.squeeze(dim)


def _np_squeeze(a, dim):
    if dim is None:
        return np.squeeze(a)
    if a.ndim == 0 or a.shape[dim] != 1:
        return a
    return np.squeeze(a, axis=dim)


def _gen_unsqueeze(rng, shape):
    n = len(shape)
    return (int(rng.integers(-n - 1, n + 1)),)


def _gen_expand(rng, shape):
    sizes = []
    for s in shape:
        if s == 1:
            sizes.append(int(rng.choice([-1, 1, 0, 2, 3])))
        else:
            sizes.append(int(rng.choice([-1, s])))
    lead = [int(rng.integers(0, 4)) for _ in range(int(rng.integers(0, 3)))]
    return tuple(lead + sizes)


def _gen_narrow(rng, shape):
    if not shape:
        return None
    dim = int(rng.integers(0, len(shape)))
    size = shape[dim]
    start = int(rng.integers(-size, size + 1))
    s = start + size if start < 0 else start
    length = int(rng.integers(0, size - s + 1))
    return (dim - len(shape) if rng.random() < 0.3 else dim), start, length


def _np_narrow(a, dim, start, length):
    dim = dim % a.ndim
    if start < 0:
        start += a.shape[dim]
    return a[_prefix(dim, slice(start, start + length))]


def _gen_select(rng, shape):
    dims = [d for d, s in enumerate(shape) if s > 0]
    if not dims:
        return None
    dim = int(rng.choice(dims))
    index = int(rng.integers(-shape[dim], shape[dim]))
    return (dim - len(shape) if rng.random() < 0.3 else dim), index


def _np_select(a, dim, index):
    return a[_prefix(dim % a.ndim, index)]


def _gen_flatten(rng, shape):
    n = max(len(shape), 1)
    start = int(rng.integers(0, n))
    end = int(rng.integers(start, n))
    return start, (end - n if rng.random() < 0.5 else end)


def _np_flatten(a, start, end):
    if a.ndim == 0:
        return a.reshape(1)
    end = end % a.ndim
    return a.reshape(a.shape[:start] + (-1 if 0 not in a.shape else int(np.prod(a.shape[start:end + 1])),)
                     + a.shape[end + 1:])


def _gen_T(rng, shape):
    return ()  # .T reverses all dims, as numpy's


def random_target_shape(rng, numel, allow_infer=True):
    """A random shape holding `numel` elements (possibly with one -1)."""
    if numel == 0:
        ndim = int(rng.integers(1, 4))
        shape = [int(rng.integers(0, 4)) for _ in range(ndim)]
        shape[int(rng.integers(0, ndim))] = 0
        return tuple(shape)
    factors = []
    n, p = numel, 2
    while n > 1:
        while n % p == 0:
            factors.append(p)
            n //= p
        p += 1
    ndim = int(rng.integers(max(1, len(factors) // 2), len(factors) + 2)) if factors else int(rng.integers(0, 3))
    shape = [1] * ndim
    for f in factors:
        if ndim == 0:
            shape, ndim = [1], 1
        shape[int(rng.integers(0, ndim))] *= f
    if allow_infer and shape and rng.random() < 0.3:
        shape[int(rng.integers(0, len(shape)))] = -1
    return tuple(shape)


def _gen_view(rng, shape):
    return random_target_shape(rng, int(np.prod(shape, dtype=np.int64)))


VIEW_OPS = {
    "transpose": (_gen_transpose, lambda x, d0, d1: x.transpose(d0, d1), _np_transpose),
    "permute": (_gen_permute, lambda x, *dims: x.permute(*dims), lambda a, *dims: np.transpose(a, dims)),
    "squeeze": (_gen_squeeze, _ps_squeeze, _np_squeeze),
    "unsqueeze": (_gen_unsqueeze, lambda x, d: x.unsqueeze(d), lambda a, d: np.expand_dims(a, d)),
    "expand": (_gen_expand, lambda x, *sizes: x.expand(*sizes), lambda a, *sizes: np_expand(a, sizes)),
    "narrow": (_gen_narrow, lambda x, d, s, n: x.narrow(d, s, n), _np_narrow),
    "select": (_gen_select, lambda x, d, i: x.select(d, i), _np_select),
    "flatten": (_gen_flatten, lambda x, s, e: x.flatten(s, e), _np_flatten),
    "T": (_gen_T, lambda x: x.T, lambda a: a.T),
    # view and reshape take a shape; np.reshape gives the same (row-major) element order
    "view": (_gen_view, lambda x, *shape: x.view(*shape), lambda a, *shape: a.reshape(shape)),
    "reshape": (_gen_view, lambda x, *shape: x.reshape(*shape), lambda a, *shape: a.reshape(shape)),
}

# ops that always return a view (reshape/flatten only when the layout allows, view raises otherwise)
ALWAYS_VIEW = {"transpose", "permute", "squeeze", "unsqueeze", "expand", "narrow", "select", "T"}


# A pre-transform is a list of steps making the input of an op non-contiguous.
def random_noncontiguous_steps(rng, base_shape):
    """1-3 random steps (slice with steps, transpose, permute, expand) to apply to a base of base_shape."""
    shape = base_shape
    steps = []
    for _ in range(int(rng.integers(1, 4))):
        n_before = len(steps)
        kind = rng.choice(["slice", "slice", "transpose", "permute", "expand", "none"])
        if kind == "slice" and shape:
            key = []
            for s in shape:
                if rng.random() < 0.05:  # an empty slice
                    start = stop = int(rng.integers(0, s + 1))
                else:
                    start = int(rng.integers(0, s // 2 + 1))
                    stop = int(rng.integers(min(start + 1, s), s + 2))
                key.append(slice(start, stop, int(rng.integers(1, 4))))
            steps.append(("slice", tuple(key)))
        elif kind == "transpose" and len(shape) >= 2:
            d0, d1 = rng.choice(len(shape), size=2, replace=False)
            steps.append(("transpose", int(d0), int(d1)))
        elif kind == "permute" and len(shape) >= 2:
            steps.append(("permute", tuple(int(d) for d in rng.permutation(len(shape)))))
        elif kind == "expand":
            sizes = tuple(int(rng.integers(0, 4)) if s == 1 else s for s in shape)
            if rng.random() < 0.3:
                sizes = (int(rng.integers(1, 3)),) + sizes
            steps.append(("expand", sizes))
        if len(steps) > n_before:
            shape = apply_steps_np(np.empty(shape, dtype=np.int8), steps[-1:]).shape
    return steps


def apply_steps_ps(x, steps):
    for step in steps:
        if step[0] == "slice":
            x = x[step[1]]
        elif step[0] == "transpose":
            x = x.transpose(step[1], step[2])
        elif step[0] == "permute":
            x = x.permute(*step[1])
        elif step[0] == "expand":
            x = x.expand(*step[1])
    return x


def apply_steps_np(a, steps):
    for step in steps:
        if step[0] == "slice":
            a = a[step[1]]
        elif step[0] == "transpose":
            a = np.swapaxes(a, step[1], step[2])
        elif step[0] == "permute":
            a = np.transpose(a, step[1])
        elif step[0] == "expand":
            a = np_expand(a, step[1])
    return a


def apply_steps_torch(t, steps):
    for step in steps:
        if step[0] == "slice":
            t = t[step[1]]
        elif step[0] == "transpose":
            t = t.transpose(step[1], step[2])
        elif step[0] == "permute":
            t = t.permute(*step[1])
        elif step[0] == "expand":
            t = t.expand(tuple(step[1]))
    return t


def random_input(rng, max_ndim=4):
    """(base tensor, base values, steps, non-contiguous tensor, its index map)."""
    ndim = int(rng.integers(1, max_ndim + 1)) if rng.random() < 0.92 else 0
    base_shape = random_shape(rng, ndim)
    base, values = make_base(rng, base_shape)
    steps = random_noncontiguous_steps(rng, base_shape)
    x = apply_steps_ps(base, steps)
    imap = apply_steps_np(np.arange(values.size).reshape(base_shape), steps)
    return base, values, steps, x, imap


def has_duplicates(imap):
    flat = np.asarray(imap).ravel()
    return len(np.unique(flat)) != flat.size


def effective_strides(t, strides=None):
    """Strides that matter: those of dims with more than one element (None for the others, and for
    every dim of an empty tensor, whose strides are arbitrary)."""
    shape = tuple(t) if strides is not None else tuple(t.shape)
    strides = tuple(strides) if strides is not None else tuple(t.stride())
    if 0 in shape:
        return (None,) * len(shape)
    return tuple(st if sz > 1 else None for sz, st in zip(shape, strides))


def check_values(t, values, imap):
    imap = np.asarray(imap)
    assert t.shape == imap.shape
    np.testing.assert_array_equal(t.numpy(), values.ravel()[imap])


OVERLAP = "more than one element of the written-to tensor refers to a single memory location"


def check_write_through(rng, base, values, view, imap, shares=True, method="setitem"):
    """Writes through `view`; the base must change exactly at `imap` (or not at all when not shares).

    An expanded view has several elements over one memory location, so writing into it is not
    well defined: as PyTorch, pyseq refuses (RuntimeError) and writes nothing. New values are then
    written into the base instead and must show through the view."""
    imap = np.asarray(imap)
    expected = values.ravel().copy()
    np.testing.assert_array_equal(base.numpy().ravel(), expected)
    if method == "fill":
        new_view = np.full(imap.shape, -7.0, dtype=np.float32)

        def write():
            view[...] = -7.0
    elif method == "add_":
        delta = -(np.arange(imap.size, dtype=np.float32) + 1000.0).reshape(imap.shape)
        new_view = values.ravel()[imap] + delta

        def write():
            with pyseq.no_grad():
                out = view.add_(pyseq.tensor(delta))
            assert out is view
    else:
        new_view = -(np.arange(imap.size, dtype=np.float32) + 1000.0).reshape(imap.shape)

        def write():
            view[...] = pyseq.tensor(new_view)
    if shares and has_duplicates(imap):
        with pytest.raises(RuntimeError, match=OVERLAP):
            write()
        np.testing.assert_array_equal(base.numpy().ravel(), expected)  # nothing written
        new_base = -(np.arange(values.size, dtype=np.float32) + 1000.0).reshape(values.shape)
        base[...] = pyseq.tensor(new_base)
        np.testing.assert_array_equal(view.numpy(), new_base.ravel()[imap])
        return
    write()
    np.testing.assert_array_equal(view.numpy(), new_view)
    if shares:
        expected[imap.ravel()] = new_view.ravel()
    np.testing.assert_array_equal(base.numpy().ravel(), expected)


def torch_or_none():
    try:
        import torch
    except ImportError:  # pragma: no cover
        return None
    return torch


def torch_viewable(values, steps, shape):
    """Whether PyTorch's `view` accepts `shape` for the same tensor (None when torch is missing)."""
    torch = torch_or_none()
    if torch is None:
        return None
    t = apply_steps_torch(torch.from_numpy(values.copy()), steps)
    try:
        t.view(tuple(shape))
        return True
    except RuntimeError:
        return False


# --------------------------------------------------------------------------------------------
# view ops: values, memory sharing, strides
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("op", sorted(VIEW_OPS))
def test_view_op_matches_numpy_and_writes_through(op):
    gen, ps_fn, np_fn = VIEW_OPS[op]
    rng = np.random.default_rng(sum(map(ord, op)))
    done = 0
    while done < N_CASES:
        base, values, steps, x, imap = random_input(rng)
        args = gen(rng, x.shape)
        if args is None:
            continue
        if op == "view":
            ok = torch_viewable(values, steps, args)
            if ok is False:
                with pytest.raises(RuntimeError, match="view"):
                    x.view(*args)
                done += 1
                continue
        v = ps_fn(x, *args)
        vmap = np.asarray(np_fn(imap, *args))
        check_values(v, values, vmap)
        if op in ALWAYS_VIEW or op == "view":
            shares = True
        else:  # reshape/flatten: a view exactly when `view` would succeed
            target = vmap.shape
            shares = torch_viewable(values, steps, target)
            if shares is None:
                pytest.importorskip("torch")
        if shares and v.numel() > 0:
            assert np.shares_memory(v.numpy(), base.numpy())
        if shares and op in ALWAYS_VIEW:
            # strides follow numpy's for every dim that has more than one element
            npv = np_fn(apply_steps_np(values.copy(), steps), *args)
            np_strides = tuple(s // npv.itemsize for s in npv.strides)
            assert effective_strides(v) == effective_strides(v.shape, np_strides), \
                (op, steps, args, v.stride(), np_strides)
        method = ["setitem", "add_", "fill"][done % 3]
        check_write_through(rng, base, values, v, vmap, shares=shares, method=method)
        done += 1


INPLACE_WRITES = {
    "add_": lambda e: e.add_(1.0),
    "add_ tensor": lambda e: e.add_(pyseq.ones(*e.shape)),
    "sub_": lambda e: e.sub_(1.0),
    "mul_": lambda e: e.mul_(2.0),
    "div_": lambda e: e.div_(2.0),
    "fill_": lambda e: e.fill_(1.0),
    "zero_": lambda e: e.zero_(),
    "copy_": lambda e: e.copy_(pyseq.tensor(np.arange(e.numel(), dtype=np.float32).reshape(e.shape))),
    "copy_ broadcast": lambda e: e.copy_(pyseq.ones(e.shape[-1])),
    "setitem": lambda e: e.__setitem__(Ellipsis, 1.0),
    "setitem tensor": lambda e: e.__setitem__(Ellipsis, pyseq.ones(*e.shape)),
    "setitem column": lambda e: e.__setitem__((slice(None), 0), 1.0),  # still two elements over one location
    "iadd": lambda e: e.__iadd__(1.0),
}


@pytest.mark.parametrize("grad_mode", ["no_grad", "grad"])
@pytest.mark.parametrize("write", sorted(INPLACE_WRITES))
def test_inplace_write_into_an_expanded_view(write, grad_mode):
    # PyTorch: RuntimeError 'unsupported operation: more than one element of the written-to tensor
    # refers to a single memory location'. (pyseq used to apply the op once per alias: add_(1) left
    # x == [2, 2, 2], and copy_ kept the last row of the source.)
    x = pyseq.tensor([1.0, 2.0, 3.0])
    e = x.expand(2, 3)
    with pytest.raises(RuntimeError, match=rf"{OVERLAP} \(an expanded view of shape \[2(, 3)?\] and strides "
                                           r"\[0(, 1)?\]\)"):
        if grad_mode == "no_grad":
            with pyseq.no_grad():
                INPLACE_WRITES[write](e)
        else:
            INPLACE_WRITES[write](e)
    assert x.tolist() == [1.0, 2.0, 3.0]  # nothing written
    assert e.tolist() == [[1.0, 2.0, 3.0]] * 2


def test_inplace_write_into_an_expanded_view_of_a_tensor_requiring_grad():
    a = pyseq.tensor([1.0, 2.0, 3.0], requires_grad=True) * 1  # not a leaf: in-place ops are allowed
    with pytest.raises(RuntimeError, match=OVERLAP):
        a.expand(2, 3).mul_(2.0)
    assert a.detach().tolist() == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("make", [
    lambda x: x.expand(1, 3),                  # stride 0, but a single element along it
    lambda x: x.expand(0, 3),                  # no elements at all
    lambda x: x[None].expand(4, 3)[2],         # a row of an expanded view: no alias within it
    lambda x: x[None].expand(4, 3)[1:2],
    lambda x: x[:1].expand(2, 0),
])
def test_inplace_write_into_a_view_without_self_overlap(make):
    # a stride 0 only counts along a dim with more than one element, in a tensor with elements
    x = pyseq.tensor([1.0, 2.0, 3.0])
    v = make(x)
    n = v.numel()
    with pyseq.no_grad():
        assert v.add_(10.0) is v
    assert x.tolist() == ([11.0, 12.0, 13.0] if n else [1.0, 2.0, 3.0])
    v[...] = 0.0
    assert x.tolist() == ([0.0, 0.0, 0.0] if n else [1.0, 2.0, 3.0])


def test_view_ops_fixed_examples():
    base = pyseq.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    t = base.transpose(0, 2)
    assert t.shape == (4, 3, 2) and t.stride() == (1, 4, 12) and not t.is_contiguous()
    assert t.tolist()[1][2] == [9.0, 21.0]
    p = base.permute(1, 2, 0)
    assert p.shape == (3, 4, 2) and p.stride() == (4, 1, 12)
    s = base.select(1, -1)
    assert s.shape == (2, 4) and s.storage_offset() == 8 and s.tolist() == [[8, 9, 10, 11], [20, 21, 22, 23]]
    n = base.narrow(2, 1, 2)
    assert n.shape == (2, 3, 2) and n.storage_offset() == 1 and n.stride() == (12, 4, 1)
    e = pyseq.tensor([[1.0], [2.0]]).expand(3, -1, 4)
    assert e.shape == (3, 2, 4) and e.stride() == (0, 1, 0)
    u = base.unsqueeze(-1)
    assert u.shape == (2, 3, 4, 1)
    f = base.flatten(1)
    assert f.shape == (2, 12) and f.data_ptr() == base.data_ptr()
    sliced = base[:, ::2, 1::2]
    assert sliced.shape == (2, 2, 2) and sliced.stride() == (12, 8, 2) and sliced.storage_offset() == 1
    assert sliced.tolist() == [[[1, 3], [9, 11]], [[13, 15], [21, 23]]]
    with pyseq.no_grad():
        sliced.add_(100)
    assert base.numpy()[0, 2, 3] == 111 and base.numpy()[0, 1, 3] == 7


@pytest.mark.parametrize("seed", range(3))
def test_chained_views_share_memory(seed):
    """Random chains of 2-6 view ops on non-contiguous inputs (views of views)."""
    rng = np.random.default_rng(1000 + seed)
    names = sorted(ALWAYS_VIEW)
    for case in range(15):
        base, values, steps, x, imap = random_input(rng)
        v, vmap, chain = x, imap, []
        for _ in range(int(rng.integers(2, 7))):
            op = str(rng.choice(names))
            gen, ps_fn, np_fn = VIEW_OPS[op]
            args = gen(rng, v.shape)
            if args is None:
                continue
            v, vmap = ps_fn(v, *args), np.asarray(np_fn(vmap, *args))
            chain.append((op, args))
        check_values(v, values, vmap)
        check_write_through(rng, base, values, v, vmap, method=["setitem", "add_", "fill"][case % 3])


# --------------------------------------------------------------------------------------------
# view vs PyTorch, contiguous()
# --------------------------------------------------------------------------------------------

def test_view_succeeds_exactly_where_torch_does():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(7)
    n_ok = n_fail = 0
    for _ in range(300):
        base, values, steps, x, imap = random_input(rng)
        t = apply_steps_torch(torch.from_numpy(values.copy()), steps)
        assert tuple(t.shape) == x.shape and effective_strides(x) == effective_strides(t)
        target = random_target_shape(rng, x.numel(), allow_infer=x.numel() > 0)
        try:
            tv = t.view(tuple(target))
        except RuntimeError:
            tv = None
        if tv is None:
            n_fail += 1
            with pytest.raises(RuntimeError, match=r"view size .* not compatible"):
                x.view(*target)
            continue
        n_ok += 1
        v = x.view(*target)
        assert v.shape == tuple(tv.shape)
        np.testing.assert_array_equal(v.numpy(), tv.numpy())
        if v.numel() > 0:
            assert v.storage_offset() == tv.storage_offset()
        assert effective_strides(v) == effective_strides(tv), (steps, target, v.stride(), tv.stride())
        if v.numel() > 0:
            assert np.shares_memory(v.numpy(), base.numpy())
    # the random cases must exercise both outcomes
    assert n_ok > 50 and n_fail > 20, (n_ok, n_fail)


def test_view_fixed_examples():
    x = pyseq.tensor(np.arange(12, dtype=np.float32).reshape(3, 4))
    assert x.view(-1).shape == (12,)
    assert x.view(2, -1, 2).shape == (2, 3, 2)
    with pytest.raises(RuntimeError, match=r"view size \[12\] is not compatible with the input's shape \[4, 3\]"):
        x.T.view(12)
    # merging a transposed pair is impossible, but splitting a dim of a transposed tensor works
    y = x.T.view(2, 2, 3)
    assert y.stride() == (2, 1, 4)
    np.testing.assert_array_equal(y.numpy(), np.arange(12).reshape(3, 4).T.reshape(2, 2, 3))
    with pytest.raises(ValueError, match=r"shape \[5, -1\] is invalid for input of shape \[3, 4\]"):
        x.view(5, -1)
    with pytest.raises(ValueError, match="only one dimension can be inferred"):
        x.view(-1, -1)
    # (3, 2) with strides (4, 2): memory positions 0, 2, 4, ..., one stride-2 run: viewable
    w = x[:, ::2].view(6)
    assert w.stride() == (2,) and w.tolist() == [0, 2, 4, 6, 8, 10]
    z = x[:, :2]  # (3, 2) with strides (4, 1): two runs
    with pytest.raises(RuntimeError, match="reshape"):
        z.view(6)
    r = z.reshape(6)
    np.testing.assert_array_equal(r.numpy(), [0, 1, 4, 5, 8, 9])
    assert not np.shares_memory(r.numpy(), x.numpy())


def test_is_contiguous_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    n = 0
    n_empty = 0
    while n < 200:
        base, values, steps, x, imap = random_input(rng)
        n += 1
        n_empty += x.numel() == 0
        t = apply_steps_torch(torch.from_numpy(values.copy()), steps)
        assert x.is_contiguous() == t.is_contiguous(), (steps, x.shape, x.stride())
    assert n_empty > 5, n_empty


@pytest.mark.parametrize("shape", [(0,), (2, 0), (3, 0, 2), (2, 0, 0), (0, 3)])
def test_empty_tensors_are_contiguous(shape):
    # PyTorch: every tensor with no elements is contiguous; a fresh tensor is always contiguous.
    # (pyseq.zeros(2, 0) used to say False, and so did its contiguous())
    z = pyseq.zeros(*shape)
    assert z.is_contiguous()
    assert z.contiguous().is_contiguous()
    # whatever its strides
    for v in (z.transpose(0, -1), z.unsqueeze(0).expand(4, *shape), pyseq.zeros(4, 5)[:, 5:].T):
        assert v.numel() == 0 and v.is_contiguous(), (v.shape, v.stride())


def test_contiguous_of_noncontiguous_inputs():
    rng = np.random.default_rng(12)
    n_copied = 0
    for _ in range(150):
        base, values, steps, x, imap = random_input(rng)
        c = x.contiguous()
        assert c.is_contiguous()
        assert c.shape == x.shape
        check_values(c, values, imap)
        if x.is_contiguous():
            assert c.data_ptr() == x.data_ptr() and c.stride() == x.stride()
            continue
        n_copied += 1
        # a fresh row-major copy: C-order strides, independent of the base
        expected_strides = tuple(s // 4 for s in np.empty(x.shape, dtype=np.float32).strides)
        assert effective_strides(c) == effective_strides(x.shape, expected_strides)
        assert c.storage_offset() == 0
        c[...] = 0.5
        np.testing.assert_array_equal(base.numpy(), values)
        np.testing.assert_array_equal(x.numpy(), values.ravel()[imap])
    assert n_copied > 30


# --------------------------------------------------------------------------------------------
# indexing
# --------------------------------------------------------------------------------------------

def random_key(rng, shape):
    """A random basic index (ints, slices with positive steps, None, at most one Ellipsis)."""
    ndim = len(shape)
    k = int(rng.integers(0, ndim + 1))
    use_ellipsis = rng.random() < 0.4
    if use_ellipsis:
        p = int(rng.integers(0, k + 1))
        dims = list(range(p)) + list(range(ndim - (k - p), ndim))
    else:
        p, dims = k, list(range(k))

    def item(size):
        r = rng.random()
        if r < 0.35 and size > 0:
            return int(rng.integers(-size, size))
        start = None if rng.random() < 0.3 else int(rng.integers(-size - 2, size + 3))
        stop = None if rng.random() < 0.3 else int(rng.integers(-size - 2, size + 3))
        step = None if rng.random() < 0.3 else int(rng.integers(1, 4))
        return slice(start, stop, step)

    items = [item(shape[d]) for d in dims]
    if use_ellipsis:
        items.insert(p, Ellipsis)
    for _ in range(int(rng.integers(0, 3))):
        items.insert(int(rng.integers(0, len(items) + 1)), None)
    if len(items) == 1 and rng.random() < 0.5:
        return items[0]
    return tuple(items)


def test_random_basic_indexing_matches_numpy():
    rng = np.random.default_rng(21)
    for case in range(150):
        base, values, steps, x, imap = random_input(rng)
        key = random_key(rng, x.shape)
        v = x[key]
        vmap = np.asarray(imap[key])
        check_values(v, values, vmap)
        if v.numel() > 0:
            assert np.shares_memory(v.numpy(), base.numpy())
        check_write_through(rng, base, values, v, vmap, method=["setitem", "add_", "fill"][case % 3])


def test_random_setitem_matches_numpy():
    rng = np.random.default_rng(22)
    n_refused = 0
    for case in range(150):
        base, values, steps, x, imap = random_input(rng)
        key = random_key(rng, x.shape)
        target = np.asarray(imap[key])
        expected = values.ravel().copy()
        if rng.random() < 0.4:
            value = float(rng.integers(-50, -1))
            expected[target.ravel()] = value
        else:
            # a value that broadcasts to the indexed shape: drop leading dims, set some dims to 1
            vshape = list(target.shape[int(rng.integers(0, target.ndim + 1)):])
            vshape = [1 if rng.random() < 0.3 else s for s in vshape]
            np_value = -(np.arange(int(np.prod(vshape, dtype=np.int64)), dtype=np.float32) + 100).reshape(vshape)
            expected[target.ravel()] = np.broadcast_to(np_value, target.shape).ravel()
            value = pyseq.tensor(np_value)
        if has_duplicates(target):
            # several elements over one location (an expanded view): refused, nothing written
            n_refused += 1
            with pytest.raises(RuntimeError, match=OVERLAP):
                x[key] = value
            np.testing.assert_array_equal(base.numpy(), values)
            continue
        x[key] = value
        np.testing.assert_array_equal(base.numpy().ravel(), expected, err_msg=f"key={key!r} steps={steps}")
    assert n_refused > 0  # both outcomes are exercised


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


def test_indexing_fixed_examples():
    x = pyseq.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4))
    assert x[1].shape == (3, 4) and x[1].storage_offset() == 12
    assert x[-1, -1, -1].item() == 23.0
    assert x[..., 1].tolist() == [[1, 5, 9], [13, 17, 21]]
    assert x[None, :, None].shape == (1, 2, 1, 3, 4)
    assert x[:, 1:, ::3].shape == (2, 2, 2)
    assert x[0, ..., None].shape == (3, 4, 1)
    assert x[1:100].shape == (1, 3, 4) and x[5:].shape == (0, 3, 4)
    assert x[-100:1].shape == (1, 3, 4)
    assert x[...].data_ptr() == x.data_ptr() and x[...].shape == x.shape
    with pytest.raises(ValueError, match="step must be positive, got -1"):
        x[::-1]
    with pytest.raises(IndexError, match=r"index 3 is out of bounds for dimension 1 with size 3"):
        x[0, 3]
    with pytest.raises(IndexError, match=r"too many indices for tensor of dimension 3 \(got 4\)"):
        x[0, 0, 0, 0]
    with pytest.raises(IndexError, match="single ellipsis"):
        x[..., 0, ...]


# --------------------------------------------------------------------------------------------
# broadcasting binary ops
# --------------------------------------------------------------------------------------------

def random_operand(rng, shape, kind="normal", dtype=np.float32):
    """(pyseq tensor, numpy values) of `shape`, built non-contiguous in one of several ways."""
    shape = tuple(shape)
    if kind == "normal":
        vals = rng.standard_normal(shape).astype(dtype)
    elif kind == "positive":
        vals = rng.uniform(0.5, 2.0, shape).astype(dtype)
    elif kind == "nonzero":
        vals = (rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape)).astype(dtype)
    elif kind == "exponent":
        vals = rng.uniform(-2.0, 2.0, shape).astype(dtype)
    else:  # "small_int": many ties for comparisons
        vals = rng.integers(-2, 3, shape).astype(dtype)
    how = rng.choice(["contiguous", "permuted", "strided", "expanded"])
    if how == "permuted" and len(shape) >= 2:
        perm = rng.permutation(len(shape))
        inv = np.argsort(perm)
        stored = np.ascontiguousarray(np.transpose(vals, perm))
        t = pyseq.tensor(stored).permute(*[int(i) for i in inv])
    elif how == "strided" and len(shape) >= 1:
        big = np.zeros(tuple(2 * s + 1 for s in shape), dtype=dtype)
        big[tuple(slice(1, None, 2) for _ in shape)] = vals
        t = pyseq.tensor(big)[tuple(slice(1, None, 2) for _ in shape)]
    elif how == "expanded" and len(shape) >= 1:
        # a dim of size > 1 made by expanding a size-1 dim: the values repeat along it
        d = int(rng.integers(0, len(shape)))
        small = vals[_prefix(d, slice(0, 1))].copy()
        vals = np.broadcast_to(small, shape).copy()
        t = pyseq.tensor(small).expand(*shape)
    else:
        t = pyseq.tensor(vals)
    assert t.shape == shape
    np.testing.assert_array_equal(t.numpy(), vals)
    return t, vals


def random_broadcast_shapes(rng, n=2):
    out = random_shape(rng, int(rng.integers(0, 5)), sizes=(0, 1, 2, 3, 4, 4))
    shapes = []
    for _ in range(n):
        s = list(out[int(rng.integers(0, len(out) + 1)):])
        s = [1 if rng.random() < 0.35 else d for d in s]
        if rng.random() < 0.2:  # extra leading 1s
            s = [1] * int(rng.integers(1, 3)) + s
        shapes.append(tuple(s))
    return shapes


BINARY = {
    "add": (lambda a, b: a + b, "normal", "normal"),
    "sub": (lambda a, b: a - b, "normal", "normal"),
    "mul": (lambda a, b: a * b, "normal", "normal"),
    "div": (lambda a, b: a / b, "normal", "nonzero"),
    "pow": (lambda a, b: a ** b, "positive", "exponent"),
    "eq": (lambda a, b: a == b, "small_int", "small_int"),
    "ne": (lambda a, b: a != b, "small_int", "small_int"),
    "lt": (lambda a, b: a < b, "small_int", "small_int"),
    "le": (lambda a, b: a <= b, "small_int", "small_int"),
    "gt": (lambda a, b: a > b, "small_int", "small_int"),
    "ge": (lambda a, b: a >= b, "small_int", "small_int"),
}


@pytest.mark.parametrize("op", sorted(BINARY))
def test_broadcast_binary_ops_match_numpy(op):
    fn, kind_a, kind_b = BINARY[op]
    rng = np.random.default_rng(sum(map(ord, op)) + 100)
    for _ in range(N_CASES):
        sa, sb = random_broadcast_shapes(rng)
        ta, a = random_operand(rng, sa, kind_a)
        tb, b = random_operand(rng, sb, kind_b)
        expected = fn(a, b)
        out = fn(ta, tb)
        assert out.shape == expected.shape, (op, sa, sb)
        if op in ("eq", "ne", "lt", "le", "gt", "ge"):
            assert out.dtype == pyseq.bool
            np.testing.assert_array_equal(out.numpy(), expected)
        else:
            assert out.dtype == pyseq.float32
            np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
        # module function form gives the same result
        out2 = getattr(pyseq, op)(ta, tb)
        np.testing.assert_array_equal(out2.numpy(), out.numpy())


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "lt", "eq"])
def test_binary_ops_with_python_numbers(op):
    fn = BINARY[op][0]
    rng = np.random.default_rng(sum(map(ord, op)) + 200)
    for _ in range(20):
        (shape,) = random_broadcast_shapes(rng, 1)
        kind = "positive" if op in ("pow", "div") else "small_int" if op in ("lt", "eq") else "normal"
        t, a = random_operand(rng, shape, kind)
        s = float(rng.choice([-1.5, 0.5, 2.0, 3.0])) if op != "pow" else float(rng.choice([0.5, 2.0, 3.0]))
        if op in ("lt", "eq"):
            s = float(rng.integers(-2, 3))
        for left, right, x, y in ((t, s, a, np.float32(s)), (s, t, np.float32(s), a)):
            out = fn(left, right)
            expected = fn(x, y)
            assert out.shape == expected.shape
            if out.dtype == pyseq.bool:
                np.testing.assert_array_equal(out.numpy(), expected)
            else:
                assert out.dtype == pyseq.float32
                np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
        # an int number keeps the tensor's float32 dtype
        if op in ("add", "mul"):
            out = fn(t, 3)
            assert out.dtype == pyseq.float32
            np.testing.assert_allclose(out.numpy(), fn(a, np.float32(3)), rtol=1e-6)


def test_where_and_masked_fill_broadcast():
    rng = np.random.default_rng(31)
    for _ in range(N_CASES):
        sc, sa, sb = random_broadcast_shapes(rng, 3)
        cond_vals = rng.random(sc) < 0.5
        cond = pyseq.tensor(cond_vals)
        if len(sc) >= 2 and rng.random() < 0.5:
            cond = pyseq.tensor(np.ascontiguousarray(np.swapaxes(cond_vals, 0, -1))).transpose(0, -1)
        ta, a = random_operand(rng, sa)
        tb, b = random_operand(rng, sb)
        out = pyseq.where(cond, ta, tb)
        expected = np.where(cond_vals, a, b)
        assert out.shape == expected.shape and out.dtype == pyseq.float32
        np.testing.assert_array_equal(out.numpy(), expected)
        # masked_fill: the mask broadcasts to the (non-contiguous) tensor's shape
        (sx,) = random_broadcast_shapes(rng, 1)
        tx, x = random_operand(rng, sx)
        mshape = [1 if rng.random() < 0.4 else s for s in sx[int(rng.integers(0, len(sx) + 1)):]]
        mvals = rng.random(mshape) < 0.5
        filled = tx.masked_fill(pyseq.tensor(mvals), -3.5)
        np.testing.assert_array_equal(filled.numpy(), np.where(np.broadcast_to(mvals, sx), np.float32(-3.5), x))
        np.testing.assert_array_equal(tx.numpy(), x)  # out of place


@pytest.mark.parametrize("da,db", [("float32", "float64"), ("int64", "float32"), ("int64", "float64"),
                                   ("int64", "int64"), ("float64", "float64")])
def test_broadcast_dtype_promotion_matches_torch(da, db):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(41)
    n_zero_dim = 0
    for _ in range(16):
        sa, sb = random_broadcast_shapes(rng)
        n_zero_dim += (not sa) + (not sb)  # 0-d operands follow PyTorch's rule too
        a = rng.integers(1, 5, sa).astype(da)
        b = rng.integers(1, 5, sb).astype(db)
        for name in ("add", "sub", "mul", "div"):
            out = getattr(pyseq, name)(pyseq.tensor(a), pyseq.tensor(b))
            ref = getattr(torch, name)(torch.from_numpy(a), torch.from_numpy(b))
            assert str(out.dtype) == "pyseq." + str(ref.dtype).replace("torch.", ""), (name, da, db)
            np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)
    assert n_zero_dim > 0


def test_zero_dim_tensor_promotion():
    # a 0-d tensor, like a Python number, only counts when it is of a higher kind (bool < int < float)
    out = pyseq.ones(2) + pyseq.tensor(1.0, dtype=pyseq.float64)
    assert out.dtype == pyseq.float32
    np.testing.assert_array_equal(out.numpy(), [2.0, 2.0])
    out = pyseq.tensor(0.5, dtype=pyseq.float64) * pyseq.tensor([1, 2, 3])
    assert out.dtype == pyseq.float64 and out.tolist() == [0.5, 1.0, 1.5]
    assert (pyseq.tensor([True]) + pyseq.tensor(2)).dtype == pyseq.int64
    assert (pyseq.tensor([1, 2]) + pyseq.tensor(True)).dtype == pyseq.int64
    # two 0-d tensors, or two dimensioned ones, promote as usual
    assert (pyseq.tensor(1.0) + pyseq.tensor(1.0, dtype=pyseq.float64)).dtype == pyseq.float64
    assert (pyseq.ones(1) + pyseq.ones(1, dtype=pyseq.float64)).dtype == pyseq.float64
    # the comparison runs in the result type: 0.1 as float64 rounds to float32's 0.1
    assert (pyseq.tensor([0.1]) == pyseq.tensor(0.1, dtype=pyseq.float64)).tolist() == [True]
    assert (pyseq.tensor([0.1], dtype=pyseq.float64) == pyseq.tensor(0.1)).tolist() == [False]


DTYPES = ["bool", "int64", "float32", "float64"]


@pytest.mark.parametrize("d0", DTYPES)  # of the 0-d operand
@pytest.mark.parametrize("dn", DTYPES)  # of the dimensioned one
def test_zero_dim_tensor_promotion_matches_torch(d0, dn):
    torch = pytest.importorskip("torch")
    zero_d = np.array(3, dtype=d0)
    dimmed = np.array([1, 2, 0], dtype=dn)
    ops = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
           "pow": lambda a, b: a ** b, "lt": lambda a, b: a < b, "eq": lambda a, b: a == b,
           "where": lambda a, b: (pyseq if isinstance(a, pyseq.Tensor) else torch).where(b > 0, a, b)}
    if d0 == dn == "bool":  # arithmetic on two bools: PyTorch gives bool or raises, pyseq int64 (by design)
        ops = {name: ops[name] for name in ("lt", "eq", "where")}
    for name, fn in ops.items():
        for order in ((0, 1), (1, 0)):
            ps = [pyseq.tensor(zero_d), pyseq.tensor(dimmed)]
            th = [torch.from_numpy(zero_d.copy()), torch.from_numpy(dimmed.copy())]
            if name == "where" and order == (1, 0):
                continue
            out = fn(*[ps[i] for i in order])
            ref = fn(*[th[i] for i in order])
            assert str(out.dtype) == str(ref.dtype).replace("torch.", "pyseq."), (name, order, d0, dn)
            np.testing.assert_allclose(out.numpy(), ref.numpy(), rtol=1e-6)


# --------------------------------------------------------------------------------------------
# reductions
# --------------------------------------------------------------------------------------------

def random_dims(rng, ndim):
    """None, an int or a tuple of distinct dims (some negative)."""
    if ndim == 0:
        return None if rng.random() < 0.5 else int(rng.choice([0, -1]))
    r = rng.random()
    if r < 0.2:
        return None
    if r < 0.6:
        return int(rng.integers(-ndim, ndim))
    k = int(rng.integers(1, ndim + 1))
    dims = rng.choice(ndim, size=k, replace=False)
    return tuple(int(d) - ndim if rng.random() < 0.3 else int(d) for d in dims)


def np_axis(dims, ndim):
    if dims is None or ndim == 0:
        return None
    return dims


@pytest.mark.parametrize("name", ["sum", "mean", "var", "std"])
def test_reductions_match_numpy(name):
    rng = np.random.default_rng(sum(map(ord, name)) + 300)
    np_fn = {"sum": np.sum, "mean": np.mean,
             "var": lambda a, axis, keepdims: np.var(a, axis=axis, keepdims=keepdims, ddof=1),
             "std": lambda a, axis, keepdims: np.std(a, axis=axis, keepdims=keepdims, ddof=1)}[name]
    for _ in range(N_CASES):
        base, values, steps, x, imap = random_input(rng)
        a = values.ravel()[imap]
        dims = random_dims(rng, x.ndim)
        keepdim = bool(rng.random() < 0.5)
        kwargs = {"keepdim": keepdim} if dims is None else {"dim": dims, "keepdim": keepdim}
        out = getattr(x, name)(**kwargs)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            expected = np.asarray(np_fn(a.astype(np.float64), axis=np_axis(dims, x.ndim), keepdims=keepdim))
        assert out.shape == expected.shape, (name, x.shape, dims, keepdim)
        assert out.dtype == pyseq.float32
        np.testing.assert_allclose(out.numpy(), expected, rtol=2e-5, atol=1e-5, equal_nan=True)
        out2 = getattr(pyseq, name)(x, **kwargs)
        np.testing.assert_array_equal(out2.numpy(), out.numpy())
        np.testing.assert_array_equal(x.numpy(), a)  # input untouched


@pytest.mark.parametrize("name", ["max", "min", "argmax", "argmin"])
def test_extrema_match_numpy(name):
    rng = np.random.default_rng(sum(map(ord, name)) + 400)
    n_raised = 0
    for _ in range(N_CASES):
        base, values, steps, x, imap = random_input(rng)
        # distinct values along every dim (expanded inputs repeat values: ties go to the first index)
        a = values.ravel()[imap]
        nd = max(x.ndim, 1)
        dim = None if rng.random() < 0.25 else int(rng.integers(-nd, nd))
        keepdim = bool(rng.random() < 0.5)
        np_red = {"max": np.max, "min": np.min, "argmax": np.argmax, "argmin": np.argmin}[name]
        axis = None if (dim is None or x.ndim == 0) else dim
        empty = a.size == 0 if axis is None else a.shape[axis] == 0
        kwargs = {"keepdim": keepdim} if dim is None else {"dim": dim, "keepdim": keepdim}
        if name in ("max", "min") and dim is None:
            kwargs = {}
        if empty:
            n_raised += 1
            with pytest.raises(ValueError, match=r"empty"):
                getattr(x, name)(**kwargs)
            continue
        out = getattr(x, name)(**kwargs)
        if name in ("max", "min") and dim is None:
            assert out.shape == () and out.item() == np_red(a)
            continue
        keep = keepdim and not (x.ndim == 0)
        if name in ("max", "min"):
            values_t, indices_t = out
            assert values_t is out.values and indices_t is out.indices
            ev = np_red(a, axis=axis, keepdims=keep)
            ei = {"max": np.argmax, "min": np.argmin}[name](a, axis=axis, keepdims=keep)
            assert values_t.shape == np.shape(ev) and indices_t.dtype == pyseq.int64
            np.testing.assert_array_equal(values_t.numpy(), ev)
            np.testing.assert_array_equal(indices_t.numpy(), ei)
        else:
            if axis is None:
                ei = np.asarray(np_red(a))
                if keepdim:
                    ei = ei.reshape((1,) * x.ndim)
            else:
                ei = np.asarray(np_red(a, axis=axis, keepdims=keep))
            assert out.dtype == pyseq.int64 and out.shape == ei.shape, (x.shape, dim, keepdim)
            np.testing.assert_array_equal(out.numpy(), ei)
    assert n_raised > 0


def test_reduction_fixed_examples():
    x = pyseq.tensor(np.arange(24, dtype=np.float32).reshape(2, 3, 4)).permute(2, 0, 1)  # (4, 2, 3)
    # x[k, i, j] = 12 i + 4 j + k
    assert x.sum(dim=(0, 2)).tolist() == [66.0, 210.0]
    assert x.sum(dim=-1, keepdim=True).shape == (4, 2, 1)
    assert x.mean().item() == pytest.approx(11.5)
    v, i = x.max(dim=0)
    assert v.tolist() == [[3, 7, 11], [15, 19, 23]] and i.tolist() == [[3, 3, 3], [3, 3, 3]]
    assert x.argmax().item() == 23 and x.argmin(dim=1).tolist() == [[0] * 3] * 4
    assert x.var(dim=0).tolist() == [[pytest.approx(5 / 3)] * 3] * 2
    with pytest.raises(ValueError, match=r"dim 1 appears multiple times"):
        x.sum(dim=(1, -2))
