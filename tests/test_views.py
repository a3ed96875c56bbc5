"""views.cpp: view ops (view, reshape, flatten, transpose, permute, squeeze, unsqueeze, expand,
narrow, select, .T) and basic indexing, compared with numpy (and PyTorch for `view`): values, memory
sharing, strides, writes through views; their gradients; contiguity.

Memory sharing is checked through the index maps of helpers.random_input: a write through a view
must land exactly at base.numpy().ravel()[map].
"""

import numpy as np
import pytest

import pyseq
from helpers import (N_CASES, _prefix, apply_steps_np, check_values, effective_strides, np_expand, ones,
                     random_input)


# --------------------------------------------------------------------------------------------
# view-op helpers
# --------------------------------------------------------------------------------------------

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


def has_duplicates(imap):
    flat = np.asarray(imap).ravel()
    return len(np.unique(flat)) != flat.size


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
# view vs PyTorch, is_contiguous()
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
# size and range errors
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fn, pattern", [
    (lambda: ones(1).expand(-2), r"expand: invalid size -2 at dimension 0 in \[-2\]"),
    (lambda: ones(1, 3).expand(2, -3), r"expand: invalid size -3 at dimension 1 in \[2, -3\]"),
    (lambda: ones(1, 1).expand(-7, -1), r"expand: invalid size -7 at dimension 0"),
])
def test_expand_rejects_negative_sizes(fn, pattern):
    # (a regression: a size-1 dim used to take any negative size, giving a tensor of shape (-2,))
    with pytest.raises(ValueError, match=pattern):
        fn()
    assert ones(1, 3).expand(2, -1).shape == (2, 3)  # -1 (keep the size) is still fine


@pytest.mark.parametrize("start, length", [(1, 2**63 - 1), (0, 2**63 - 1), (2, 2**63 - 2), (-1, 2**63 - 1)])
def test_narrow_with_huge_length_raises(start, length):
    # start + length overflows int64: it used to wrap around and return an empty tensor
    with pytest.raises(IndexError, match=rf"length \({length}\) exceeds dimension 0 of size 3"):
        ones(3).narrow(0, start, length)


# --------------------------------------------------------------------------------------------
# gradients: each view op's backward maps the gradient back onto its input
# --------------------------------------------------------------------------------------------

VIEWS = {
    "view": lambda m, x: x.view(4, 6) * 2,
    "reshape_non_contiguous": lambda m, x: x.transpose(0, 2).reshape(-1, 2) * 2,
    "transpose": lambda m, x: x.transpose(0, 2).exp(),
    "permute": lambda m, x: x.permute(2, 0, 1).sin(),
    "squeeze_unsqueeze": lambda m, x: x.unsqueeze(1).unsqueeze(-1).squeeze().tanh(),
    "expand": lambda m, x: x[:, :1, :].expand(2, 5, 4).exp(),
    "slice_with_step": lambda m, x: x[:, ::2, 1:3].exp(),
    "int_index": lambda m, x: x[1, :, -1].exp(),
    "none_and_ellipsis": lambda m, x: x[None, ..., 0].exp(),
    "narrow": lambda m, x: x.narrow(1, 1, 2).exp(),
    "select": lambda m, x: x.select(2, 3).exp(),
    "flatten": lambda m, x: x.flatten(1).sin(),
    "contiguous": lambda m, x: x.transpose(1, 2).contiguous().exp(),
    "reused_twice": lambda m, x: x[0] * x[1],
    "clone": lambda m, x: x.clone() * x,
}


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_view_gradcheck_and_parity(op, name):
    op.check(VIEWS[name], [(2, 3, 4)])
