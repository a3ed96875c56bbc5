"""The autograd engine: accumulation, graph shapes, retain_graph, no_grad, detach, leaf rules,
version checks and gradcheck itself."""

import numpy as np
import pytest

import pyseq
from helpers import run_in_subprocess


def test_gradients_accumulate_across_backward_calls():
    x = pyseq.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    assert x.grad.tolist() == [5.0, 7.0]
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_diamond_graph_and_reused_tensor_match_torch():
    torch = pytest.importorskip("torch")

    def run(m):
        x = m.tensor([0.3, -1.2, 2.0], requires_grad=True)
        a = x.exp()
        b = a * x          # x reached along two paths
        c = a.sin() + b    # a reached along two paths
        (c * c + a).sum().backward()
        return x.grad.numpy()

    np.testing.assert_allclose(run(pyseq), run(torch), rtol=1e-6)


def test_explicit_gradient_for_non_scalar_outputs():
    x = pyseq.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * x
    y.backward(pyseq.tensor([1.0, 0.5, 0.0]))
    assert x.grad.tolist() == [2.0, 2.0, 0.0]


def test_backward_on_non_scalar_without_gradient_names_the_shape():
    y = pyseq.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"scalar outputs.*\[2, 3\]"):
        y.backward()


def test_backward_twice_needs_retain_graph():
    x = pyseq.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (np.exp([1, 2]) * (1 + np.array([1, 2]))), rtol=1e-6)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_leaf_and_non_leaf_rules():
    x = pyseq.ones(2, requires_grad=True)
    y = x * 2
    assert x.is_leaf and x.grad_fn is None
    assert not y.is_leaf and y.requires_grad and y.grad_fn.name() == "MulBackward"
    y.sum().backward()
    assert y.grad is None  # gradients are kept for leaves only
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="floating point"):
        pyseq.tensor([1, 2]).requires_grad_()
    z = pyseq.ones(2) * 2
    assert not z.requires_grad and z.grad_fn is None


def test_no_grad_and_enable_grad():
    x = pyseq.ones(2, requires_grad=True)
    with pyseq.no_grad():
        y = x * 2
        assert not pyseq.is_grad_enabled()
        with pyseq.enable_grad():
            z = x * 2
    assert pyseq.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert z.requires_grad

    @pyseq.no_grad()
    def f(t):
        return t * 3
    assert not f(x).requires_grad
    with pyseq.set_grad_enabled(False):
        assert not (x + 1).requires_grad
    assert (x + 1).requires_grad


def test_detach_cuts_the_graph_but_shares_memory():
    x = pyseq.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.is_leaf
    with pyseq.no_grad():
        d.add_(1)
    assert y.tolist() == [3.0, 5.0]  # same memory
    (x * d).sum().backward()          # d is a constant here
    assert x.grad.tolist() == [3.0, 5.0]


def test_inplace_change_of_a_saved_tensor_is_detected():
    x = pyseq.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()             # exp saves its output
    y.add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        y.sum().backward()


def test_inplace_on_leaf_requiring_grad_is_an_error_unless_no_grad():
    w = pyseq.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        w.add_(1)
    with pyseq.no_grad():
        w.sub_(pyseq.tensor([0.5, 0.25]))
    assert w.tolist() == [0.5, 0.75] and w.requires_grad


def test_inplace_ops_that_do_not_touch_saved_tensors_are_fine():
    x = pyseq.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2              # mul saves x (a leaf) and the number 2, not y
    y.add_(1)
    y.sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


def test_graph_is_freed_with_the_output():
    # the graph holds exp(x) (4 MB) for exp's backward; deleting the output frees the graph, and
    # the saved tensor's memory comes back to the caching allocator
    if not pyseq.memory_stats()["caching"]:
        pytest.skip("the caching allocator is off (PYSEQ_NO_CACHING)")
    x = pyseq.ones(1_000_000, requires_grad=True)
    y = (x.exp() * 2).sum()
    before = pyseq.memory_stats()["cached_bytes"]
    del y
    after = pyseq.memory_stats()["cached_bytes"]
    assert after - before >= 4_000_000


def test_deep_chain_does_not_overflow_the_stack():
    x = pyseq.tensor([0.5], requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0
    y.sum().backward()
    assert x.grad.tolist() == [1.0]


def test_gradcheck_accepts_a_correct_gradient():
    x = pyseq.randn(3, dtype=pyseq.float64, requires_grad=True)
    assert pyseq.autograd.gradcheck(lambda t: (t * t).sin(), [x])


def test_gradcheck_rejects_a_wrong_gradient():
    # detach() hides x from backward, so the analytical gradient (1) misses the x*x term
    x = pyseq.randn(3, dtype=pyseq.float64, requires_grad=True)
    with pytest.raises(pyseq.autograd.GradcheckError, match="mismatch"):
        pyseq.autograd.gradcheck(lambda t: t * t.detach() + t, [x])
    assert not pyseq.autograd.gradcheck(lambda t: t * t.detach(), [x], raise_exception=False)


def test_gradcheck_requires_float64():
    with pytest.raises(TypeError, match="float64"):
        pyseq.autograd.gradcheck(lambda t: t * 2, [pyseq.ones(2, requires_grad=True)])


def test_leaf_gradients_never_share_memory():
    # A leaf takes the incoming gradient without a copy only when nothing else refers to it.
    a, b = pyseq.ones(3, requires_grad=True), pyseq.ones(3, requires_grad=True)
    g = pyseq.tensor([1.0, 2.0, 3.0])
    (a + b).backward(g)  # add hands the same gradient to both inputs
    a.grad.add_(10.0)
    assert b.grad.tolist() == [1.0, 2.0, 3.0] and g.tolist() == [1.0, 2.0, 3.0]
    c = pyseq.ones(3, requires_grad=True)
    c.backward(g)  # the seed itself reaches the leaf: the caller still holds it
    g.mul_(0.0)
    assert c.grad.tolist() == [1.0, 2.0, 3.0]
    d = pyseq.ones(2, 3, requires_grad=True)
    (d * 2).sum().backward()  # a fresh gradient is taken as it is, and accumulates later
    (d * 3).sum().backward()
    assert d.grad.tolist() == [[5.0] * 3] * 2


# --- nodes with several outputs: var_mean is one node whose two outputs both carry gradients ---

def _var_mean_inputs(rng, dtype):
    x = rng.standard_normal((3, 5))
    return x, pyseq.tensor(x, dtype=dtype, requires_grad=True)


@pytest.mark.parametrize("use", ["both", "var", "mean"])
def test_two_output_node_sends_gradients_from_both_outputs_or_one(rng, use):
    torch = pytest.importorskip("torch")
    x, a = _var_mean_inputs(rng, pyseq.float64)
    t = torch.tensor(x, requires_grad=True)
    (v, m), (tv, tm) = pyseq.var_mean(a, 1), torch.var_mean(t, 1)
    assert v.grad_fn is m.grad_fn and v.grad_fn.name() == "VarMeanBackward"
    gv, gm = rng.standard_normal(3), rng.standard_normal(3)
    if use == "both":
        (v * pyseq.tensor(gv) + m * pyseq.tensor(gm)).sum().backward()
        ((tv * torch.tensor(gv)) + tm * torch.tensor(gm)).sum().backward()
    elif use == "var":
        v.backward(pyseq.tensor(gv))
        tv.backward(torch.tensor(gv))
    else:
        m.backward(pyseq.tensor(gm))
        tm.backward(torch.tensor(gm))
    np.testing.assert_allclose(v.detach().numpy(), tv.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(m.detach().numpy(), tm.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_two_output_node_gradcheck(rng):
    _, a = _var_mean_inputs(rng, pyseq.float64)
    assert pyseq.autograd.gradcheck(lambda x: pyseq.var_mean(x, 1, keepdim=True), [a])
    assert pyseq.autograd.gradcheck(lambda x: pyseq.var_mean(x, None, unbiased=False), [a])


def test_two_output_node_edges_name_the_output():
    a = pyseq.tensor([[1.0, 2.0, 4.0]], requires_grad=True)
    v, m = pyseq.var_mean(a, 1)
    fns = (v + m * 2).grad_fn.next_functions  # AddBackward's inputs: v (output 0), m * 2
    node, output = fns[0]
    assert node.name() == "VarMeanBackward" and output == 0
    mul_node = fns[1][0]
    assert mul_node.next_functions[0][0] is node and mul_node.next_functions[0][1] == 1


def test_two_output_node_retain_graph_runs_twice_and_then_frees(rng):
    x, a = _var_mean_inputs(rng, pyseq.float64)
    v, m = pyseq.var_mean(a, 1)
    loss = (v + 3 * m).sum()
    loss.backward(retain_graph=True)
    first = a.grad.numpy().copy()
    loss.backward()  # the saved values are still there, then freed
    np.testing.assert_allclose(a.grad.numpy(), 2 * first, rtol=1e-12)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()


def test_max_along_dim_is_one_node_whose_indices_carry_no_gradient():
    a = pyseq.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], requires_grad=True)
    values, indices = a.max(1)
    assert values.grad_fn.name() == "MaxBackward" and indices.grad_fn is None and not indices.requires_grad
    values.sum().backward()
    assert a.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]


def test_a_graph_of_200k_ops_frees_without_overflowing_the_stack(tmp_path):
    # In its own process: freeing a long chain node by node down the C stack used to segfault.
    code = ("import pyseq\n"
            "x = pyseq.ones(1, requires_grad=True)\n"
            "y = x\n"
            "for _ in range(200_000): y = y + 1.0\n"
            "del y\n"
            "y = x\n"
            "for _ in range(200_000): y = y * 1.0\n"
            "y.backward()\n"
            "assert x.grad.tolist() == [1.0]\n"
            "del y\n"
            "print('ok')\n")
    run_in_subprocess(code, tmp_path)


def test_backward_in_threads_while_others_clear_the_leaf_grad(tmp_path):
    # Two threads accumulate into x.grad (GIL released) while two set it to None: used to segfault.
    code = ("import threading, time, pyseq\n"
            "x = pyseq.ones(1000, requires_grad=True)\n"
            "stop = threading.Event()\n"
            "def back():\n"
            "    while not stop.is_set(): (x * 2).sum().backward()\n"
            "def clear():\n"
            "    while not stop.is_set(): x.grad = None\n"
            "ts = [threading.Thread(target=f) for f in (back, back, clear, clear)]\n"
            "for t in ts: t.start()\n"
            "time.sleep(2)\n"
            "stop.set()\n"
            "for t in ts: t.join()\n"
            "g = x.grad\n"
            "assert g is None or (len(set(g.tolist())) == 1 and g[0].item() % 2 == 0)  # 2 per backward\n"
            "print('ok')\n")
    run_in_subprocess(code, tmp_path)


def test_threads_recording_ops_on_the_same_leaf(tmp_path):
    # Ops run with the GIL released: two threads recording an op on the same leaf, each graph
    # freed at once, used to race on the leaf's cached gradient accumulator (one thread replacing
    # it while the other read it: a use after free, caught under AddressSanitizer).
    code = ("import threading, pyseq\n"
            "x = pyseq.ones(4, requires_grad=True)\n"
            "start = threading.Barrier(2)\n"
            "def record():\n"
            "    start.wait()\n"
            "    for _ in range(200_000): x * 2\n"
            "ts = [threading.Thread(target=record) for _ in range(2)]\n"
            "for t in ts: t.start()\n"
            "for t in ts: t.join()\n"
            "(x * 2).sum().backward()\n"
            "assert x.grad.tolist() == [2.0] * 4\n"
            "print('ok')\n")
    run_in_subprocess(code, tmp_path)


# --- autograd.grad, autograd.backward, tensor hooks, retain_grad, autograd.Function ---

def _in_both(fn):
    """fn(lib) run with torch and with pyseq: the lists of arrays it returns, (pyseq's, torch's)."""
    torch = pytest.importorskip("torch")
    return fn(pyseq), fn(torch)


A = np.random.default_rng(0).standard_normal((3, 4))
B = np.random.default_rng(1).standard_normal((4, 2))


def test_grad_returns_the_gradients_of_chosen_inputs_and_leaves_grad_alone():
    def run(lib):
        x, w = lib.tensor(A, requires_grad=True), lib.tensor(B, requires_grad=True)
        h = x * 2
        y = ((h @ w).tanh() ** 2).sum()
        gh, gw = lib.autograd.grad(y, [h, w], retain_graph=True)
        assert x.grad is None and w.grad is None
        gx, unused = lib.autograd.grad([y, (x * 3).sum()], [x, lib.tensor(1.0, requires_grad=True)],
                                       allow_unused=True, retain_graph=True)
        assert unused is None
        y.backward()
        return [gh.numpy(), gw.numpy(), gx.numpy(), x.grad.numpy()]
    ours, theirs = _in_both(run)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-12)
    x = pyseq.tensor(A, requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="not have been used"):
        pyseq.autograd.grad(y, pyseq.tensor(1.0, requires_grad=True), retain_graph=True)
    assert pyseq.autograd.grad(y, pyseq.tensor([1.0], requires_grad=True), materialize_grads=True)[0].tolist() == [0.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        pyseq.autograd.grad(y, pyseq.tensor(1.0))
    with pytest.raises(NotImplementedError, match="create_graph"):
        pyseq.autograd.grad(y, x, create_graph=True)


def test_backward_of_several_tensors_and_into_chosen_inputs():
    def run(lib):
        x, w = lib.tensor(A, requires_grad=True), lib.tensor(B, requires_grad=True)
        y1, y2 = (x @ w).sum(), (x ** 2).sum()
        lib.autograd.backward([y1, y2], [lib.tensor(2.0, dtype=lib.float64), None])
        x2, w2 = lib.tensor(A, requires_grad=True), lib.tensor(B, requires_grad=True)
        (x2 @ w2).sum().backward(inputs=[w2])
        assert x2.grad is None
        return [x.grad.numpy(), w.grad.numpy(), w2.grad.numpy()]
    ours, theirs = _in_both(run)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-12)


def test_hooks_and_retain_grad_as_torch():
    def run(lib):
        x = lib.tensor(A, requires_grad=True)
        m = x * 3
        m.retain_grad()  # filled after the tensor's other hooks, as PyTorch does
        m.register_hook(lambda g: g * 2)
        x.register_hook(lambda g: g + 1)
        removed = x.register_hook(lambda g: g * 100)
        removed.remove()
        seen = []
        m.register_hook(lambda g: seen.append(g.sum().item()))  # None: the gradient stays
        (m ** 2).sum().backward()
        assert m.retains_grad and not x.retains_grad
        return [m.grad.numpy(), x.grad.numpy(), np.array(seen)]
    ours, theirs = _in_both(run)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-12)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        pyseq.ones(2).register_hook(lambda g: g)


def test_a_function_with_its_own_backward():
    def run(lib):
        class ScaledExp(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x, k):
                y = x.exp() * k
                ctx.save_for_backward(y)
                return y, x.sum() * 0

            @staticmethod
            def backward(ctx, grad, unused):
                (y,) = ctx.saved_tensors
                return grad * y, None
        x = lib.tensor(A, requires_grad=True)
        y, z = ScaledExp.apply(x * 1.0, 2.0)
        assert y.grad_fn is not None
        (y.sum() + (y * y).sum()).backward()
        return [y.detach().numpy(), x.grad.numpy()]
    ours, theirs = _in_both(run)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-12)

    class Identity(pyseq.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5
    x = pyseq.tensor([1.0, 2.0], requires_grad=True)
    y = Identity.apply(x)
    assert y is not x and y.grad_fn is not None
    y.sum().backward()
    assert x.grad.tolist() == [5.0, 5.0]
    with pytest.raises(RuntimeError, match="second time"):
        y.sum().backward()


def test_grad_through_a_chain_of_200000_ops():
    x = pyseq.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(200_000):
        y = y * 1.0
    assert pyseq.autograd.grad(y, x)[0].item() == 1.0
