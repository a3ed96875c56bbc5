"""Optimizers: 20 steps from the same weights on the same loss give the same parameters (and the
same state tensors) as torch.optim, for a grid of each optimizer's options, with two param
groups of different lrs; state_dict save/load resumes training exactly; clear errors."""

import numpy as np
import pytest

import pyseq
from pyseq import optim
from pyseq.nn.utils import l2_penalty

torch = pytest.importorskip("torch")

_data = np.random.default_rng(42)
X = _data.standard_normal((16, 3))
Y = _data.uniform(-0.8, 0.8, (16, 2))
W0 = 0.5 * _data.standard_normal((2, 3))
B0 = 0.5 * _data.standard_normal(2)

# The lrs of the two param groups (weight, bias) for each optimizer.
LRS = {"SGD": (0.1, 0.05), "Adagrad": (0.1, 0.05), "Adadelta": (2.0, 1.0), "RMSprop": (0.01, 0.005),
       "Adam": (0.02, 0.01), "AdamW": (0.02, 0.01), "NAdam": (0.02, 0.01), "RAdam": (0.05, 0.02),
       "Adamax": (0.05, 0.02)}

GRID = {
    "SGD": [dict(), dict(momentum=0.9), dict(momentum=0.9, dampening=0.5), dict(momentum=0.9, nesterov=True),
            dict(momentum=0.9, nesterov=True, weight_decay=0.1), dict(weight_decay=0.1),
            dict(momentum=0.5, dampening=0.3, weight_decay=0.05, maximize=True), dict(maximize=True)],
    "Adagrad": [dict(), dict(lr_decay=0.05), dict(weight_decay=0.1), dict(initial_accumulator_value=0.1),
                dict(eps=1e-3, lr_decay=0.01, maximize=True)],
    "Adadelta": [dict(), dict(rho=0.5), dict(weight_decay=0.1), dict(eps=1e-4, maximize=True)],
    "RMSprop": [dict(), dict(momentum=0.9), dict(centered=True), dict(momentum=0.9, centered=True, weight_decay=0.1),
                dict(alpha=0.9, eps=1e-4, maximize=True)],
    "Adam": [dict(), dict(amsgrad=True), dict(weight_decay=0.1), dict(betas=(0.8, 0.99), eps=1e-6),
             dict(amsgrad=True, weight_decay=0.1, maximize=True)],
    "AdamW": [dict(), dict(weight_decay=0.1), dict(amsgrad=True, weight_decay=0.05), dict(maximize=True, eps=1e-5)],
    "NAdam": [dict(), dict(weight_decay=0.1), dict(weight_decay=0.1, decoupled_weight_decay=True),
              dict(momentum_decay=0.05, betas=(0.8, 0.99)), dict(eps=1e-4, maximize=True)],
    # RAdam's rectified step starts at step 6 with beta2 = 0.999: 20 steps cover both branches
    "RAdam": [dict(), dict(weight_decay=0.1), dict(weight_decay=0.1, decoupled_weight_decay=True),
              dict(betas=(0.8, 0.9), eps=1e-6), dict(maximize=True)],
    "Adamax": [dict(), dict(weight_decay=0.1), dict(betas=(0.8, 0.99), eps=1e-4), dict(maximize=True)],
}
CASES = [pytest.param(name, opts, id=f"{name}-{i}") for name, grid in GRID.items() for i, opts in enumerate(grid)]

# The state each optimizer keeps, under torch's names.
STATE_KEYS = {"SGD": {"momentum_buffer"}, "Adagrad": {"sum"}, "Adadelta": {"square_avg", "acc_delta"},
              "RMSprop": {"square_avg", "momentum_buffer", "grad_avg"},
              "Adam": {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}, "AdamW": {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"},
              "NAdam": {"exp_avg", "exp_avg_sq", "mu_product"}, "RAdam": {"exp_avg", "exp_avg_sq"},
              "Adamax": {"exp_avg", "exp_inf"}}


def loss_fn(W, b, maximize=False):
    """A tiny regression, the same code for both libraries: tanh(X W^T + b) vs Y."""
    lib = pyseq if isinstance(W, pyseq.Tensor) else torch
    Xt = lib.tensor(X, dtype=W.dtype)
    Yt = lib.tensor(Y, dtype=W.dtype)
    out = (Xt @ W.transpose(0, 1) + b).tanh()   # (16, 2)
    loss = ((out - Yt) * (out - Yt)).mean()       # ()
    return -loss if maximize else loss            # maximize climbs -loss: the same well-behaved problem


def make_params(lib, dtype=np.float32):
    return [lib.tensor(W0.astype(dtype), requires_grad=True), lib.tensor(B0.astype(dtype), requires_grad=True)]


def make_optimizer(lib, name, params, options, lrs=None):
    lrs = lrs or LRS[name]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(params, lrs)]
    if lib is torch:
        return getattr(torch.optim, name)(groups, **options, foreach=False)
    return getattr(optim, name)(groups, **options)


def train(opt, params, steps, maximize=False):
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(*params, maximize=maximize).backward()
        opt.step()


def to_numpy(t):
    return t.detach().numpy()


def run_both(name, options, steps=20, dtype=np.float32):
    ours, theirs = make_params(pyseq, dtype), make_params(torch, dtype)
    opt, ref = make_optimizer(pyseq, name, ours, options), make_optimizer(torch, name, theirs, options)
    maximize = options.get("maximize", False)
    train(opt, ours, steps, maximize)
    train(ref, theirs, steps, maximize)
    return ours, theirs, opt, ref


@pytest.mark.parametrize("name,options", CASES)
def test_matches_torch_after_20_steps(name, options):
    ours, theirs, opt, ref = run_both(name, options)
    for p, t, p0 in zip(ours, theirs, (W0, B0)):
        np.testing.assert_allclose(to_numpy(p), to_numpy(t), rtol=1e-5, atol=1e-6)
        moved = to_numpy(t) - p0.astype(np.float32)
        assert np.abs(moved).max() > 1e-2  # the test means something: the parameters did move
        np.testing.assert_allclose(to_numpy(p) - p0.astype(np.float32), moved, rtol=1e-3, atol=2e-6)
    # the state tensors, under torch's names, hold torch's values
    for p, t in zip(ours, theirs):
        state, ref_state = opt.state[p], ref.state[t]
        assert state["step"] == 20
        tensors = {k for k, v in ref_state.items() if isinstance(v, torch.Tensor) and k != "step"}
        assert set(state) - {"step"} == tensors
        assert tensors <= STATE_KEYS[name]
        for key in tensors:
            if not isinstance(state[key], pyseq.Tensor):  # NAdam's mu_product: a float, torch's float32 to the bit
                assert state[key] == ref_state[key].item()
                continue
            np.testing.assert_allclose(to_numpy(state[key]), to_numpy(ref_state[key]), rtol=1e-4, atol=1e-6,
                                       err_msg=key)
            assert state[key].is_contiguous() and state[key].dtype == p.dtype


@pytest.mark.parametrize("name,options", [
    ("SGD", dict(momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("Adagrad", dict(lr_decay=0.01, weight_decay=0.1)),
    ("Adadelta", dict(rho=0.8, weight_decay=0.05)),
    ("RMSprop", dict(momentum=0.5, centered=True, weight_decay=0.1)),
    ("Adam", dict(amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(amsgrad=True, weight_decay=0.1)),
    ("NAdam", dict(weight_decay=0.1)),
    ("NAdam", dict(weight_decay=0.1, decoupled_weight_decay=True, momentum_decay=0.01, maximize=True)),
    ("RAdam", dict(weight_decay=0.1)),
    ("RAdam", dict(weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("Adamax", dict(weight_decay=0.1)),
    ("Adamax", dict(maximize=True, betas=(0.7, 0.9))),
])
def test_matches_torch_float64(name, options):
    ours, theirs, _, _ = run_both(name, options, dtype=np.float64)
    for p, t in zip(ours, theirs):
        assert p.dtype == pyseq.float64
        np.testing.assert_allclose(to_numpy(p), to_numpy(t), rtol=1e-10, atol=1e-12)


def test_groups_with_different_hyperparameters():
    ours, theirs = make_params(pyseq), make_params(torch)

    def groups(ps):
        return [{"params": [ps[0]], "lr": 0.1, "momentum": 0.9, "nesterov": True},
                {"params": [ps[1]], "weight_decay": 0.2, "dampening": 0.5}]
    opt = optim.SGD(groups(ours), lr=0.03, momentum=0.5)
    ref = torch.optim.SGD(groups(theirs), lr=0.03, momentum=0.5, foreach=False)
    assert opt.param_groups[1]["lr"] == 0.03 and opt.param_groups[0]["dampening"] == 0.0
    train(opt, ours, 20)
    train(ref, theirs, 20)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(to_numpy(p), to_numpy(t), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,options", [
    ("SGD", dict(momentum=0.9, dampening=0.1, weight_decay=0.01)),
    ("Adagrad", dict(lr_decay=0.01, initial_accumulator_value=0.2)),
    ("Adadelta", dict(rho=0.8)),
    ("RMSprop", dict(momentum=0.5, centered=True)),
    ("Adam", dict(amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(weight_decay=0.1)),
    ("NAdam", dict(weight_decay=0.1, decoupled_weight_decay=True, momentum_decay=0.01)),
    ("RAdam", dict(weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adamax", dict(weight_decay=0.1, betas=(0.8, 0.99))),
])
def test_state_dict_resumes_training_exactly(name, options):
    ours = make_params(pyseq)
    opt = make_optimizer(pyseq, name, ours, options)
    train(opt, ours, 7)
    saved = opt.state_dict()

    # torch's layout: state keyed by parameter index, groups listing indices
    assert sorted(saved["state"]) == [0, 1]
    assert [g["params"] for g in saved["param_groups"]] == [[0], [1]]
    assert [g["lr"] for g in saved["param_groups"]] == list(LRS[name])
    assert all(s["step"] == 7 for s in saved["state"].values())
    assert set(saved["state"][0]) - {"step"} <= STATE_KEYS[name]
    theirs = make_params(torch)
    ref = make_optimizer(torch, name, theirs, options)
    train(ref, theirs, 1)
    ref_saved = ref.state_dict()
    assert set(saved["state"][0]) - {"step"} == set(ref_saved["state"][0]) - {"step"}  # torch's SGD keeps no step
    assert set(saved["param_groups"][0]) <= set(ref_saved["param_groups"][0])

    # a fresh optimizer (other lrs and options: the state dict must bring them) over copies of the weights
    copies = [pyseq.tensor(to_numpy(p), requires_grad=True) for p in ours]
    fresh = make_optimizer(pyseq, name, copies, {}, lrs=(0.5, 0.7))
    fresh.load_state_dict(saved)
    assert [g["lr"] for g in fresh.param_groups] == list(LRS[name])
    assert all(fresh.param_groups[0][k] == v for k, v in options.items())

    train(opt, ours, 8)     # uninterrupted
    train(fresh, copies, 8)  # resumed
    for p, c in zip(ours, copies):
        np.testing.assert_array_equal(to_numpy(p), to_numpy(c))
    assert fresh.state[copies[0]]["step"] == 15
    # loading copied the tensors: the original optimizer's later steps did not leak into `fresh`
    for key in set(fresh.state[copies[1]]) - {"step"}:
        value, other = fresh.state[copies[1]][key], opt.state[ours[1]][key]
        if not isinstance(value, pyseq.Tensor):  # NAdam's mu_product, a float
            assert value == other
            continue
        np.testing.assert_array_equal(to_numpy(value), to_numpy(other))
        assert value.data_ptr() != other.data_ptr()


def test_state_dict_through_json_like_values():
    """Checkpoint files keep the non-tensor part as JSON: string keys, lists for tuples, float steps."""
    ours = make_params(pyseq)
    opt = optim.Adam([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.01}], lr=0.02, betas=(0.8, 0.9))
    train(opt, ours, 3)
    saved = opt.state_dict()
    jsonish = {"state": {str(k): {n: (float(v) if n == "step" else v.detach().clone()) for n, v in s.items()}
                         for k, s in saved["state"].items()},
               "param_groups": [dict(g, betas=list(g["betas"])) for g in saved["param_groups"]]}
    copies = [pyseq.tensor(to_numpy(p), requires_grad=True) for p in ours]
    fresh = optim.Adam([{"params": [copies[0]]}, {"params": [copies[1]]}])
    fresh.load_state_dict(jsonish)
    assert fresh.state[copies[0]]["step"] == 3 and isinstance(fresh.state[copies[0]]["step"], int)
    train(opt, ours, 4)
    train(fresh, copies, 4)
    for p, c in zip(ours, copies):
        np.testing.assert_array_equal(to_numpy(p), to_numpy(c))


def test_a_torch_state_dict_loads_without_its_implementation_switches():
    theirs = torch.optim.AdamW([torch.nn.Parameter(torch.tensor(W0))], lr=0.01, foreach=False)
    theirs.param_groups[0]["params"][0].grad = torch.ones(2, 3, dtype=torch.float64)
    theirs.step()
    saved = theirs.state_dict()
    assert {"foreach", "fused", "capturable", "differentiable"} <= set(saved["param_groups"][0])
    saved = {"state": {k: {n: pyseq.tensor(v.numpy()) if v.dim() else v.item() for n, v in st.items()}
                       for k, st in saved["state"].items()}, "param_groups": saved["param_groups"]}
    p = pyseq.tensor(W0, requires_grad=True)
    ours = optim.AdamW([p], lr=0.01)
    ours.load_state_dict(saved)
    assert "foreach" not in ours.param_groups[0] and ours.state[p]["step"] == 1


def test_load_state_dict_casts_to_parameter_dtype():
    p32 = pyseq.tensor(W0.astype(np.float32), requires_grad=True)
    opt = optim.SGD([p32], lr=0.1, momentum=0.9)
    buf = pyseq.tensor(np.ones((2, 3)), dtype=pyseq.float64)
    opt.load_state_dict({"state": {0: {"step": 2, "momentum_buffer": buf}},
                         "param_groups": [dict(opt.state_dict()["param_groups"][0])]})
    assert opt.state[p32]["momentum_buffer"].dtype == pyseq.float32
    p32.grad = pyseq.zeros(2, 3)
    opt.step()  # buf = 0.9 * 1 + 0 -> p -= 0.1 * 0.9
    np.testing.assert_allclose(to_numpy(p32), W0.astype(np.float32) - 0.09, rtol=1e-6)


def test_scheduler_drives_the_optimizer_like_torch():
    ours, theirs = make_params(pyseq), make_params(torch)
    opt = optim.SGD([{"params": [ours[0]]}, {"params": [ours[1]], "lr": 0.05}], lr=0.2, momentum=0.9)
    ref = torch.optim.SGD([{"params": [theirs[0]]}, {"params": [theirs[1]], "lr": 0.05}], lr=0.2, momentum=0.9,
                          foreach=False)
    sched = optim.lr_scheduler.get_cosine_schedule_with_warmup(opt, 5, 20)
    ref_sched = torch.optim.lr_scheduler.LambdaLR(ref, sched.lr_lambdas[0])
    for _ in range(20):
        train(opt, ours, 1)
        train(ref, theirs, 1)
        sched.step()
        ref_sched.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(to_numpy(p), to_numpy(t), rtol=1e-5, atol=1e-6)


def test_l2_penalty_is_sgd_weight_decay():
    """SGD(weight_decay=wd) on a loss == plain SGD on loss + wd / 2 * l2_penalty(params)."""
    a, b = make_params(pyseq), make_params(pyseq)
    decayed = optim.SGD(a, lr=0.1, momentum=0.9, weight_decay=0.05)
    penalised = optim.SGD(b, lr=0.1, momentum=0.9)
    for _ in range(20):
        train(decayed, a, 1)
        penalised.zero_grad()
        (loss_fn(*b) + 0.025 * l2_penalty(b)).backward()
        penalised.step()
    for p, q in zip(a, b):
        np.testing.assert_allclose(to_numpy(p), to_numpy(q), rtol=1e-5, atol=1e-6)


def test_closure_and_return_value():
    ours, theirs = make_params(pyseq), make_params(torch)
    opt, ref = optim.Adam(ours, lr=0.05), torch.optim.Adam(theirs, lr=0.05, foreach=False)

    def closure(o, ps):
        def run():
            o.zero_grad()
            loss = loss_fn(*ps)
            loss.backward()
            return loss
        return run
    for _ in range(5):
        with pyseq.no_grad():  # the closure runs with gradients enabled all the same
            loss = opt.step(closure(opt, ours))
        ref_loss = ref.step(closure(ref, theirs))
        np.testing.assert_allclose(loss.item(), ref_loss.item(), rtol=1e-5)
    assert opt.step() is None
    ref.step()
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(to_numpy(p), to_numpy(t), rtol=1e-5, atol=1e-6)


def test_parameters_without_grad_are_skipped():
    w, b = make_params(pyseq)
    frozen = pyseq.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([w, b, frozen], lr=0.1)
    train(opt, [w, b], 3)
    assert frozen.grad is None and frozen not in opt.state
    np.testing.assert_array_equal(to_numpy(frozen), [1.0, 2.0])
    assert opt.state[w]["step"] == 3
    assert sorted(opt.state_dict()["state"]) == [0, 1]


def test_add_param_group_later_matches_torch():
    ours, theirs = make_params(pyseq), make_params(torch)
    opt = optim.RMSprop([ours[0]], lr=0.01, momentum=0.5)
    ref = torch.optim.RMSprop([theirs[0]], lr=0.01, momentum=0.5, foreach=False)
    train(opt, ours, 5)
    train(ref, theirs, 5)
    opt.add_param_group({"params": ours[1], "lr": 0.02, "centered": True})
    ref.add_param_group({"params": theirs[1], "lr": 0.02, "centered": True})
    assert opt.param_groups[1]["momentum"] == 0.5
    train(opt, ours, 10)
    train(ref, theirs, 10)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(to_numpy(p), to_numpy(t), rtol=1e-5, atol=1e-6)
    assert opt.state[ours[0]]["step"] == 15 and opt.state[ours[1]]["step"] == 10


def test_zero_grad():
    w, b = make_params(pyseq)
    opt = optim.SGD([w, b], lr=0.1)
    loss_fn(w, b).backward()
    opt.zero_grad(set_to_none=False)
    for p in (w, b):
        assert p.grad is not None and p.grad.shape == p.shape
        np.testing.assert_array_equal(p.grad.numpy(), np.zeros(p.shape))
    opt.zero_grad()
    assert w.grad is None and b.grad is None
    opt.zero_grad()  # no grads: nothing to do


def test_same_parameter_through_another_handle():
    """The state is keyed by the tensor itself, not by the Python object holding it."""
    w = pyseq.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    w.grad = pyseq.ones(2)
    opt.step()
    handle = opt.param_groups[0]["params"][0]
    assert handle in opt.state and opt.state[handle] is opt.state[w]
    with pytest.raises(ValueError, match="already in group 0"):
        opt.add_param_group({"params": [w]})


def test_repr():
    text = repr(optim.AdamW(make_params(pyseq), lr=0.01))
    assert text.startswith("AdamW (") and "Parameter Group 0" in text and "lr: 0.01" in text
    assert "decoupled_weight_decay: True" in text and "weight_decay: 0.01" in text


# --- errors ---

def test_param_errors():
    w = pyseq.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="unknown keys \\['momentun'\\]"):
        optim.SGD([{"params": [w], "momentun": 0.9}], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(TypeError, match="floating point.*int64"):
        optim.Adam([pyseq.zeros(3, dtype=pyseq.int64)])
    with pytest.raises(TypeError, match="Tensors.*ndarray"):
        optim.Adam([np.zeros(3)])
    with pytest.raises(TypeError, match="single Tensor"):
        optim.Adam(w)
    with pytest.raises(TypeError, match="not a set"):
        optim.Adam({w})
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(ValueError, match="same tensor as parameter 0"):
        optim.SGD([w, w], lr=0.1)
    with pytest.raises(ValueError, match="already in group 0"):
        optim.SGD([{"params": [w]}, {"params": [w]}], lr=0.1)
    with pytest.raises(ValueError, match="no 'params'"):
        optim.SGD([{"lr": 0.1}])
    with pytest.raises(ValueError, match="contiguous"):
        optim.SGD([pyseq.zeros(2, 3).transpose(0, 1).requires_grad_()], lr=0.1)
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="unknown keys \\['betas'\\]"):
        opt.add_param_group({"params": [pyseq.zeros(2, requires_grad=True)], "betas": (0.9, 0.99)})
    assert len(opt.param_groups) == 1


@pytest.mark.parametrize("make,error,match", [
    (lambda p: optim.SGD(p, lr=-0.1), ValueError, "lr"),
    (lambda p: optim.SGD(p, lr="fast"), TypeError, "lr"),
    (lambda p: optim.SGD(p, momentum=-0.5), ValueError, "momentum"),
    (lambda p: optim.SGD(p, nesterov=True), ValueError, "Nesterov"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), ValueError, "Nesterov"),
    (lambda p: optim.SGD(p, maximize="yes"), TypeError, "maximize"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), ValueError, "beta parameter at index 0"),
    (lambda p: optim.Adam(p, betas=(0.9, -0.1)), ValueError, "beta parameter at index 1"),
    (lambda p: optim.Adam(p, betas=0.9), TypeError, "betas"),
    (lambda p: optim.AdamW(p, eps=-1e-8), ValueError, "eps"),
    (lambda p: optim.AdamW(p, weight_decay=float("nan")), ValueError, "weight_decay"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), ValueError, "lr_decay"),
    (lambda p: optim.Adadelta(p, rho=1.5), ValueError, "rho"),
    (lambda p: optim.RMSprop(p, alpha=-0.1), ValueError, "alpha"),
    (lambda p: optim.RMSprop([{"params": p, "momentum": -1}]), ValueError, "momentum"),
    (lambda p: optim.NAdam(p, momentum_decay=-0.1), ValueError, "NAdam: invalid momentum_decay"),
    (lambda p: optim.NAdam(p, decoupled_weight_decay="yes"), TypeError, "decoupled_weight_decay"),
    (lambda p: optim.NAdam(p, betas=(0.9, 1.0)), ValueError, "NAdam: invalid beta parameter at index 1"),
    (lambda p: optim.RAdam(p, lr=-1e-3), ValueError, "RAdam: invalid lr"),
    (lambda p: optim.RAdam(p, eps="small"), TypeError, "RAdam: eps must be a number"),
    (lambda p: optim.Adamax(p, weight_decay=-0.1), ValueError, "Adamax: invalid weight_decay"),
    (lambda p: optim.Adamax(p, betas=(0.9,)), TypeError, "Adamax: betas must be a pair"),
    (lambda p: optim.Adamax(p, maximize=1), TypeError, "maximize"),
])
def test_hyperparameter_errors(make, error, match):
    with pytest.raises(error, match=match):
        make([pyseq.zeros(2, requires_grad=True)])


def test_load_state_dict_errors():
    w, b = make_params(pyseq)
    opt = optim.Adam([{"params": [w]}, {"params": [b], "lr": 0.1}])
    good = opt.state_dict()

    def bad(**changes):
        sd = {"state": {}, "param_groups": [dict(g) for g in good["param_groups"]]}
        sd.update(changes)
        return sd

    first, second = good["param_groups"]
    with pytest.raises(ValueError, match="state dict has 1 parameter groups, this optimizer has 2"):
        opt.load_state_dict(bad(param_groups=[dict(first)]))
    with pytest.raises(ValueError, match="group 1 of the state dict has 2 parameters"):
        opt.load_state_dict(bad(param_groups=[dict(first), dict(second, params=[1, 2])]))
    with pytest.raises(ValueError, match="shape \\(3,\\).*parameter has shape \\(2, 3\\)"):
        opt.load_state_dict(bad(state={0: {"step": 1, "exp_avg": pyseq.zeros(3), "exp_avg_sq": pyseq.zeros(2, 3)}}))
    with pytest.raises(ValueError, match="parameter 5"):
        opt.load_state_dict(bad(state={5: {"step": 1}}))
    with pytest.raises(ValueError, match="no 'state' entry"):
        opt.load_state_dict({"param_groups": good["param_groups"]})
    with pytest.raises(ValueError, match="unknown keys \\['momentum'\\]"):
        opt.load_state_dict(bad(param_groups=[dict(g, momentum=0.9) for g in good["param_groups"]]))
    with pytest.raises(ValueError, match="invalid lr"):
        opt.load_state_dict(bad(param_groups=[dict(g, lr=-1.0) for g in good["param_groups"]]))
    with pytest.raises(TypeError, match="step"):
        opt.load_state_dict(bad(state={0: {"step": "three"}}))
    with pytest.raises(TypeError, match="expected a dict"):
        opt.load_state_dict([good])
    # a failed load changes nothing
    assert opt.state_dict()["param_groups"] == good["param_groups"] and len(opt.state) == 0


def test_non_contiguous_gradient():
    a = pyseq.tensor(W0.astype(np.float32), requires_grad=True)
    b = pyseq.tensor(W0.astype(np.float32), requires_grad=True)
    g = np.arange(6, dtype=np.float32).reshape(3, 2)
    a.grad = pyseq.tensor(g).transpose(0, 1)  # (2, 3), not contiguous
    b.grad = pyseq.tensor(np.ascontiguousarray(g.T))
    assert not a.grad.is_contiguous()
    opt_a, opt_b = optim.Adam([a], lr=0.1), optim.Adam([b], lr=0.1)
    for _ in range(3):
        opt_a.step()
        opt_b.step()
    np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    assert np.abs(to_numpy(a) - W0.astype(np.float32)).max() > 0.1


# --- one C++ call per parameter group (the multi-tensor step) ---

# Sizes from empty to one larger than a thread's share of elements (so it is cut into pieces).
GROUP_SHAPES = [(0,), (1,), (3, 4), (64,), (64, 64), (2, 0, 3), (5,), (256, 64), (70000,), (1, 1), (7, 3, 2)]

MULTI_CASES = [
    ("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.3, maximize=True)),
    ("Adagrad", dict(lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.1)),
    ("Adadelta", dict(rho=0.8, weight_decay=0.05, maximize=True)),
    ("RMSprop", dict(momentum=0.9, centered=True, weight_decay=0.1)), ("RMSprop", dict(alpha=0.9)),
    ("Adam", dict(lr=0.01)), ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("AdamW", dict(lr=0.01, amsgrad=True, weight_decay=0.05)),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("RAdam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adamax", dict(lr=0.01, weight_decay=0.05)),
]


def _group_run(lib, name, options, dtype, per_parameter, steps=4):
    """Steps a group of GROUP_SHAPES parameters with the same random gradients in every library:
    one optimizer over the group, or (per_parameter) one optimizer per parameter. Some steps leave
    a parameter without a gradient, so the parameters' step counts differ."""
    rng = np.random.default_rng(7)
    params = [lib.tensor(rng.standard_normal(s).astype(dtype), requires_grad=True) for s in GROUP_SHAPES]
    if lib is torch:
        opts = [getattr(torch.optim, name)([p] if per_parameter else params, **options, foreach=False)
                for p in (params if per_parameter else params[:1])]
    else:
        opts = [getattr(optim, name)([p] if per_parameter else params, **options)
                for p in (params if per_parameter else params[:1])]
    for step in range(steps):
        for i, p in enumerate(params):
            g = rng.standard_normal(p.shape).astype(dtype)
            p.grad = None if (step == 1 and i % 3 == 0) else lib.tensor(g)
        for opt in opts:
            opt.step()
    return [to_numpy(p) for p in params], opts


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name,options", MULTI_CASES)
def test_group_step_equals_one_parameter_at_a_time_and_torch(name, options, dtype):
    group, opts = _group_run(pyseq, name, options, dtype, per_parameter=False)
    one_by_one, _ = _group_run(pyseq, name, options, dtype, per_parameter=True)
    ref, _ = _group_run(torch, name, options, dtype, per_parameter=False)
    for i, (a, b, r) in enumerate(zip(group, one_by_one, ref)):
        assert a.dtype == dtype and a.shape == GROUP_SHAPES[i]
        np.testing.assert_array_equal(a, b, err_msg=f"parameter {i}")  # bit for bit
        np.testing.assert_allclose(a, r, rtol=1e-5 if dtype == np.float32 else 1e-12, atol=1e-6, err_msg=str(i))
    assert opts[0].state[opts[0].param_groups[0]["params"][0]]["step"] == 3  # skipped once


def test_group_step_same_with_one_thread_and_mixed_dtypes():
    """The split across threads does not change a bit; a group may mix float32 and float64."""
    def run(threads):
        before = pyseq.get_num_threads()
        pyseq.set_num_threads(threads)
        try:
            rng = np.random.default_rng(3)
            params = [pyseq.tensor(rng.standard_normal(s).astype(np.float64 if i % 2 else np.float32),
                                   requires_grad=True) for i, s in enumerate(GROUP_SHAPES)]
            opt = optim.AdamW(params, lr=0.01)
            for _ in range(3):
                for p in params:
                    p.grad = pyseq.tensor(rng.standard_normal(p.shape)).to(p.dtype)
                opt.step()
            return [to_numpy(p) for p in params]
        finally:
            pyseq.set_num_threads(before)
    for a, b in zip(run(1), run(4)):
        np.testing.assert_array_equal(a, b)


def test_group_step_bumps_versions():
    params = [pyseq.zeros(3, requires_grad=True), pyseq.zeros(0, requires_grad=True)]
    opt = optim.Adam(params)
    for p in params:
        p.grad = pyseq.ones(p.shape)
    versions = [p._version for p in params]
    opt.step()
    assert all(p._version > v for p, v in zip(params, versions))


def _adam_lists(shapes=((2, 3), (4,)), dtype=pyseq.float32):
    params = [pyseq.zeros(s, dtype=dtype) for s in shapes]
    return params, [pyseq.ones(s, dtype=dtype) for s in shapes], [pyseq.zeros(s, dtype=dtype) for s in shapes], \
        [pyseq.zeros(s, dtype=dtype) for s in shapes]


def _adam_multi(params, grads, m, v, max_sq=None, steps=None, amsgrad=False):
    steps = [1] * len(params) if steps is None else steps
    pyseq._core.adam_step_multi(params, grads, m, v, max_sq, steps, 0.1, 0.9, 0.999, 1e-8, 0.0, amsgrad, False)


@pytest.mark.parametrize("change,error,match", [
    (lambda a: a.update(grads=a["grads"][:1]), ValueError, "got 2 parameters but 1 gradients"),
    (lambda a: a.update(m=a["m"] + [pyseq.zeros(1)]), ValueError, "got 2 parameters but 3 exp_avg tensors"),
    (lambda a: a.update(steps=[1]), ValueError, "got 2 parameters but 1 steps"),
    (lambda a: a.update(amsgrad=True), ValueError, "got 2 parameters but 0 max_exp_avg_sq tensors"),
    (lambda a: a["grads"].__setitem__(1, pyseq.ones(5)), ValueError,
     "parameter 1: grad has shape \\[5\\] but the parameter has shape \\[4\\]"),
    (lambda a: a["v"].__setitem__(1, pyseq.zeros(4, dtype=pyseq.float64)), TypeError,
     "parameter 1: exp_avg_sq has dtype float64 but the parameter has dtype float32"),
    (lambda a: a["params"].__setitem__(1, pyseq.zeros(4, dtype=pyseq.int64)), TypeError,
     "parameter 1: parameters must be floating point"),
    (lambda a: a["params"].__setitem__(0, pyseq.zeros(3, 2).transpose(0, 1)), ValueError,
     "parameter 0: the parameter must be contiguous"),
    (lambda a: a["grads"].__setitem__(0, pyseq.ones(3, 2).transpose(0, 1)), ValueError,
     "parameter 0: grad must be contiguous"),
    (lambda a: a.update(steps=[1, 0]), ValueError, "parameter 1: step counts from 1, got 0"),
    (lambda a: a["m"].__setitem__(1, None), TypeError, "exp_avgs must hold Tensors, but item 1 is a NoneType"),
    (lambda a: a.update(grads=None), TypeError, "grads must be a list of Tensors, got NoneType"),
    (lambda a: a.update(steps=[1, "2"]), TypeError, "int"),
])
def test_group_step_errors(change, error, match):
    params, grads, m, v = _adam_lists()
    args = dict(params=params, grads=grads, m=m, v=v, steps=None, amsgrad=False)
    change(args)
    with pytest.raises(error, match=match):
        _adam_multi(args["params"], args["grads"], args["m"], args["v"], steps=args["steps"], amsgrad=args["amsgrad"])
    # everything is checked before anything is written
    for p in params:
        np.testing.assert_array_equal(p.numpy(), np.zeros(p.shape))


def test_group_step_errors_of_each_optimizer():
    p, g = [pyseq.zeros(2), pyseq.zeros(3)], [pyseq.ones(2), pyseq.ones(3)]
    with pytest.raises(ValueError, match="sgd_step_multi: parameter 1: momentum_buffer has shape \\[2\\]"):
        pyseq._core.sgd_step_multi(p, g, [pyseq.zeros(2), pyseq.zeros(2)], [1, 1], 0.1, 0.9, 0.0, 0.0, False)
    pyseq._core.sgd_step_multi(p, g, None, [1, 1], 0.1, 0.0, 0.0, 0.0, False)  # no momentum: no buffers
    np.testing.assert_allclose(p[1].numpy(), [-0.1] * 3)
    with pytest.raises(ValueError, match="adagrad_step_multi: got 2 parameters but 1 state_sum tensors"):
        pyseq._core.adagrad_step_multi(p, g, [pyseq.zeros(2)], [1, 1], 0.1, 0.0, 0.0, 1e-10)
    with pytest.raises(TypeError, match="adadelta_step_multi: parameter 0: acc_delta has dtype float64"):
        pyseq._core.adadelta_step_multi(p, g, [pyseq.zeros(2), pyseq.zeros(3)],
                                        [pyseq.zeros(2, dtype=pyseq.float64), pyseq.zeros(3)], 1.0, 0.9, 1e-6, 0.0)
    with pytest.raises(ValueError, match="rmsprop_step_multi: got 2 parameters but 0 grad_avg tensors"):
        pyseq._core.rmsprop_step_multi(p, g, [pyseq.zeros(2), pyseq.zeros(3)], None, None, 0.01, 0.99, 1e-8, 0.0,
                                       0.0, True)
    with pytest.raises(RuntimeError, match="parameter 0: the parameter's memory is read-only"):
        frozen = np.zeros(2, dtype=np.float32)
        frozen.flags.writeable = False
        pyseq._core.sgd_step_multi([pyseq.from_numpy(frozen)], [pyseq.ones(2)], None, [1], 0.1, 0.0, 0.0, 0.0, False)


# --- NAdam, RAdam and Adamax (Python updates from tensor ops) ---

def test_nadam_mu_product_is_a_float32_product_and_loads_from_a_tensor():
    """torch keeps mu_product in a float32 scalar tensor; ours is a float with the same value, and
    a saved 0-d tensor (torch's layout) loads as a float."""
    ours, theirs, opt, ref = run_both("NAdam", dict(momentum_decay=0.02), steps=5, dtype=np.float64)
    mu = opt.state[ours[0]]["mu_product"]
    assert isinstance(mu, float) and mu == ref.state[theirs[0]]["mu_product"].item() == float(np.float32(mu))
    saved = opt.state_dict()
    saved["state"][0]["mu_product"] = pyseq.tensor(mu)
    fresh = make_optimizer(pyseq, "NAdam", [pyseq.tensor(to_numpy(p), requires_grad=True) for p in ours], {})
    fresh.load_state_dict(saved)
    assert fresh.state[fresh.param_groups[0]["params"][0]]["mu_product"] == mu
    saved["state"][0]["mu_product"] = "one"
    with pytest.raises(TypeError, match="mu_product.* of parameter 0 must be a number"):
        fresh.load_state_dict(saved)


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "Adamax"])
def test_python_optimizers_keep_parameters_and_record_no_graph(name):
    ours = make_params(pyseq)
    ptrs = [p.data_ptr() for p in ours]
    opt = make_optimizer(pyseq, name, ours, dict(weight_decay=0.1))
    train(opt, ours, 3)
    assert [p.data_ptr() for p in ours] == ptrs  # updated in place
    for p in ours:
        assert p.is_leaf and p.grad_fn is None and p.requires_grad
        assert all(v.grad_fn is None and not v.requires_grad for v in opt.state[p].values()
                   if isinstance(v, pyseq.Tensor))


def test_exported_like_torch():
    for name in ("NAdam", "RAdam", "Adamax"):
        assert name in optim.__all__ and getattr(optim, name).__name__ == name
