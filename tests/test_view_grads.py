"""Gradients through views: each view op's backward maps the gradient back onto its input."""

import pytest

import pyseq

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


def test_copy_into_a_buffer_passes_the_gradient(op):
    def fn(m, x):
        buf = m.zeros(2, 3, 4, dtype=x.dtype)
        buf.copy_(x.sin())
        return buf * 2
    op.check(fn, [(2, 3, 4)])


def test_dtype_conversion_passes_the_gradient_in_the_input_dtype(op):
    # float32 -> float64 -> math -> back: the gradient arrives as float32 (finite differences
    # through a float32 rounding would be meaningless, so this is a parity check only)
    out = op.parity(lambda m, x: (x.double().exp() * 3).float(), op.inputs([(3, 4)]))
    assert out.dtype == pyseq.float32
