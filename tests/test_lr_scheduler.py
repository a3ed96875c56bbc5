"""Learning-rate schedules: the lr sequences equal torch.optim.lr_scheduler's (and Hugging Face's
warm-up formulas, computed here by hand); state_dict save/load resumes the same sequence."""

import math

import numpy as np
import pytest

import pyseq
from pyseq import optim
from pyseq.optim import lr_scheduler as sched

torch = pytest.importorskip("torch")

# torch warns when its schedulers step without optimizer steps, which these tests do on purpose
pytestmark = pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")

LRS = (0.1, 0.03)


def _optimizers(lrs=LRS, kind="SGD", **options):
    """A pyseq and a torch optimizer (SGD unless `kind` names another), each with one parameter per
    group and the group lrs `lrs`."""
    ours = getattr(optim, kind)([{"params": [pyseq.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs], lr=1.0,
                                **options)
    theirs = getattr(torch.optim, kind)([{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs],
                                        lr=1.0, **options)
    return ours, theirs


def _sequence(scheduler, steps):
    out = [scheduler.get_last_lr()]
    for _ in range(steps):
        scheduler.step()
        out.append(scheduler.get_last_lr())
    return np.array(out)


def _lrs(opt):
    return [g["lr"] for g in opt.param_groups]


@pytest.mark.parametrize("make", [
    pytest.param(lambda m, o: m.StepLR(o, step_size=3), id="StepLR-3"),
    pytest.param(lambda m, o: m.StepLR(o, step_size=4, gamma=0.5), id="StepLR-4-0.5"),
    pytest.param(lambda m, o: m.ExponentialLR(o, gamma=0.9), id="ExponentialLR-0.9"),
    pytest.param(lambda m, o: m.LambdaLR(o, lambda e: 1.0 / (1 + e)), id="LambdaLR-one"),
    pytest.param(lambda m, o: m.LambdaLR(o, [lambda e: 0.95 ** e, lambda e: 1 + 0.1 * e]), id="LambdaLR-per-group"),
    pytest.param(lambda m, o: m.MultiStepLR(o, milestones=[3, 8, 8, 20], gamma=0.5), id="MultiStepLR"),
    pytest.param(lambda m, o: m.LinearLR(o), id="LinearLR-default"),
    pytest.param(lambda m, o: m.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=10), id="LinearLR-down"),
    pytest.param(lambda m, o: m.CosineAnnealingLR(o, T_max=10), id="CosineAnnealingLR-10"),
    pytest.param(lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01), id="CosineAnnealingLR-eta_min"),
    pytest.param(lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=4), id="WarmRestarts-4"),
    pytest.param(lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=2, eta_min=0.001), id="WarmRestarts-mult"),
])
def test_schedule_matches_torch(make):
    ours, theirs = _optimizers()
    s_ours, s_theirs = make(sched, ours), make(torch.optim.lr_scheduler, theirs)
    seq_ours, seq_theirs = _sequence(s_ours, 25), _sequence(s_theirs, 25)
    np.testing.assert_allclose(seq_ours, seq_theirs, rtol=1e-12, atol=0)
    assert s_ours.last_epoch == s_theirs.last_epoch == 25
    np.testing.assert_allclose(_lrs(ours), _lrs(theirs), rtol=1e-12)
    assert [g["initial_lr"] for g in ours.param_groups] == list(LRS)
    assert s_ours.base_lrs == list(LRS)


def test_warm_restarts_at_fractional_epochs_and_step_epoch_as_torch():
    for T_mult in (1, 2):
        ours, theirs = _optimizers()
        s_ours = sched.CosineAnnealingWarmRestarts(ours, T_0=3, T_mult=T_mult, eta_min=0.001)
        s_theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(theirs, T_0=3, T_mult=T_mult, eta_min=0.001)
        for epoch in range(12):  # torch's per-batch idiom: step(epoch + i / iters)
            for i in range(4):
                s_ours.step(epoch + i / 4)
                s_theirs.step(epoch + i / 4)
                np.testing.assert_allclose(_lrs(ours), _lrs(theirs), rtol=1e-12)
                assert s_ours.get_last_lr() == pytest.approx(s_theirs.get_last_lr(), rel=1e-12)
                assert s_ours.last_epoch == s_theirs.last_epoch
        with pytest.raises(ValueError, match="expected an epoch >= 0"):
            s_ours.step(-1)
    ours, theirs = _optimizers()  # step(epoch) of another schedule: deprecated in both, the closed form
    s_ours, s_theirs = sched.StepLR(ours, step_size=3), torch.optim.lr_scheduler.StepLR(theirs, step_size=3)
    with pytest.warns(UserWarning, match="deprecated"):
        s_ours.step(7)
    with pytest.warns(UserWarning):
        s_theirs.step(7)
    np.testing.assert_allclose(_lrs(ours), _lrs(theirs), rtol=1e-12)


def test_loading_the_optimizer_before_building_the_scheduler_keeps_the_loaded_lr():
    ours, theirs = _optimizers()
    s_ours = sched.CosineAnnealingLR(ours, T_max=4, eta_min=0.001)
    for _ in range(3):
        s_ours.step()
    saved_opt, saved_sched = ours.state_dict(), s_ours.state_dict()
    again, _ = _optimizers()
    again.load_state_dict(saved_opt)
    resumed = sched.CosineAnnealingLR(again, T_max=4, eta_min=0.001)  # its constructor sets the start lrs
    resumed.load_state_dict(saved_sched)  # and loading puts the saved ones back
    assert _lrs(again) == resumed.get_last_lr() == s_ours.get_last_lr()


def test_step_and_exponential_values_by_hand():
    opt, _ = _optimizers()
    s = sched.StepLR(opt, step_size=2, gamma=0.5)
    seq = _sequence(s, 6)[:, 0]
    np.testing.assert_allclose(seq, [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125], rtol=1e-12)
    opt, _ = _optimizers()
    seq = _sequence(sched.ExponentialLR(opt, gamma=0.8), 5)[:, 1]
    np.testing.assert_allclose(seq, [0.03 * 0.8 ** k for k in range(6)], rtol=1e-12)


def _linear_by_hand(step, warmup, total):  # transformers' _get_linear_schedule_with_warmup_lr_lambda
    if step < warmup:
        return step / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))


def _cosine_by_hand(step, warmup, total, cycles):
    if step < warmup:
        return step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return max(0.0, 0.5 * (1 + math.cos(2 * math.pi * cycles * progress)))


@pytest.mark.parametrize("warmup,total", [(3, 10), (0, 8), (5, 5)])
def test_linear_warmup_schedule(warmup, total):
    opt, _ = _optimizers()
    s = sched.get_linear_schedule_with_warmup(opt, num_warmup_steps=warmup, num_training_steps=total)
    assert isinstance(s, sched.LambdaLR)
    seq = _sequence(s, total + 3)
    factors = [_linear_by_hand(k, warmup, total) for k in range(total + 4)]
    np.testing.assert_allclose(seq, np.outer(factors, LRS), rtol=1e-12, atol=1e-15)
    if 0 < warmup < total:
        assert seq[0, 0] == 0.0 and seq[warmup, 0] == pytest.approx(LRS[0])
    assert seq[total, 0] == 0.0 and seq[-1, 0] == 0.0  # 0 at the end, never negative


def test_linear_warmup_known_values():
    opt, _ = _optimizers(lrs=(1.0,))
    s = sched.get_linear_schedule_with_warmup(opt, num_warmup_steps=4, num_training_steps=12)
    np.testing.assert_allclose(_sequence(s, 13)[:, 0],
                               [0, .25, .5, .75, 1, .875, .75, .625, .5, .375, .25, .125, 0, 0], rtol=1e-12)


@pytest.mark.parametrize("cycles", [0.5, 1.0, 2.0])
def test_cosine_warmup_schedule(cycles):
    opt, _ = _optimizers()
    s = sched.get_cosine_schedule_with_warmup(opt, num_warmup_steps=4, num_training_steps=20, num_cycles=cycles)
    seq = _sequence(s, 24)
    factors = [_cosine_by_hand(k, 4, 20, cycles) for k in range(25)]
    np.testing.assert_allclose(seq, np.outer(factors, LRS), rtol=1e-12, atol=1e-15)
    if cycles == 0.5:  # half a cosine wave: 1 after warm-up, 1/2 halfway through the decay, 0 at the end
        assert seq[4, 0] == pytest.approx(0.1) and seq[12, 0] == pytest.approx(0.05) and seq[20, 0] == pytest.approx(0)


def test_cosine_default_is_half_wave():
    opt, _ = _optimizers(lrs=(2.0,))
    s = sched.get_cosine_schedule_with_warmup(opt, 2, 6)
    np.testing.assert_allclose(_sequence(s, 6)[:, 0],
                               [0, 1, 2, 2 * (0.5 + 0.5 * math.cos(math.pi / 4)), 1,
                                2 * (0.5 - 0.5 * math.cos(math.pi / 4)), 0], rtol=1e-12, atol=1e-15)


PLATEAU = [
    dict(),
    dict(mode="min", factor=0.5, patience=2),
    dict(mode="max", factor=0.5, patience=1, threshold=0.1),
    dict(mode="min", factor=0.5, patience=1, threshold=0.05, threshold_mode="abs", cooldown=2),
    dict(mode="max", factor=0.3, patience=0, threshold_mode="abs", min_lr=0.005),
    dict(mode="min", factor=0.1, patience=0, min_lr=[0.01, 0.0]),
    dict(mode="min", factor=0.5, patience=0, eps=0.02),
]


@pytest.mark.parametrize("options", PLATEAU, ids=[str(i) for i in range(len(PLATEAU))])
def test_reduce_on_plateau_matches_torch(options):
    rng = np.random.default_rng(7)
    # a noisy metric that improves, stalls, improves a little, then stalls for good
    metrics = np.concatenate([np.linspace(1.0, 0.6, 6), np.full(5, 0.6), np.linspace(0.6, 0.55, 4),
                              0.55 + 0.01 * rng.standard_normal(25)])
    ours, theirs = _optimizers()
    s_ours = sched.ReduceLROnPlateau(ours, **options)
    s_theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, **options)
    for k, m in enumerate(metrics):
        # our step accepts a one-element tensor, like torch's
        s_ours.step(pyseq.tensor(float(m), dtype=pyseq.float64) if k % 2 else float(m))
        s_theirs.step(float(m))
        np.testing.assert_allclose(s_ours.get_last_lr(), s_theirs.get_last_lr(), rtol=1e-12, err_msg=f"step {k}")
        assert s_ours.num_bad_epochs == s_theirs.num_bad_epochs
        assert s_ours.cooldown_counter == s_theirs.cooldown_counter
        assert s_ours.best == pytest.approx(s_theirs.best)
    assert s_ours.last_epoch == len(metrics)
    np.testing.assert_allclose(_lrs(ours), _lrs(theirs), rtol=1e-12)


def test_reduce_on_plateau_reduces():
    opt, _ = _optimizers()
    s = sched.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    for m in [1.0, 1.0, 1.0]:
        s.step(m)
    assert s.get_last_lr() == list(LRS)
    s.step(1.0)  # a third bad step in a row: more than patience
    np.testing.assert_allclose(s.get_last_lr(), [0.05, 0.015], rtol=1e-12)


@pytest.mark.parametrize("make", [
    pytest.param(lambda m, o: m.StepLR(o, step_size=3, gamma=0.5), id="StepLR"),
    pytest.param(lambda m, o: m.ExponentialLR(o, gamma=0.9), id="ExponentialLR"),
    pytest.param(lambda m, o: m.MultiStepLR(o, milestones=[5, 9]), id="MultiStepLR"),
    pytest.param(lambda m, o: m.CosineAnnealingLR(o, T_max=12), id="CosineAnnealingLR"),
    pytest.param(lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2), id="WarmRestarts"),
    pytest.param(lambda m, o: m.get_linear_schedule_with_warmup(o, 4, 30), id="linear-warmup"),
    pytest.param(lambda m, o: m.get_cosine_schedule_with_warmup(o, 4, 30, num_cycles=0.75), id="cosine-warmup"),
])
def test_state_dict_resumes_the_schedule(make):
    opt, _ = _optimizers()
    s = make(sched, opt)
    for _ in range(7):
        s.step()
    saved_opt, saved_sched = opt.state_dict(), s.state_dict()
    uninterrupted = _sequence(s, 10)

    fresh, _ = _optimizers(lrs=(5.0, 6.0))  # other lrs: all of them must come from the state dicts
    fresh.load_state_dict(saved_opt)
    s2 = make(sched, fresh)
    s2.load_state_dict(saved_sched)
    assert s2.last_epoch == 7
    np.testing.assert_allclose(_sequence(s2, 10), uninterrupted, rtol=1e-12)


def test_lambda_state_dict_restores_warmup_settings():
    opt, _ = _optimizers()
    s = sched.get_linear_schedule_with_warmup(opt, 2, 10)
    state = s.state_dict()
    assert state["lr_lambdas"] == [{"num_warmup_steps": 2, "num_training_steps": 10}] * 2
    other = sched.get_linear_schedule_with_warmup(_optimizers()[0], 5, 50)
    other.load_state_dict(state)
    assert other.lr_lambdas[0].num_warmup_steps == 2 and other.lr_lambdas[1].num_training_steps == 10
    assert state["lr_lambdas"] is not None  # loading did not consume the saved dict
    plain = sched.LambdaLR(_optimizers()[0], lambda e: 0.5)
    assert plain.state_dict()["lr_lambdas"] == [None, None]


def test_reduce_on_plateau_state_dict():
    opt, _ = _optimizers()
    s = sched.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1)
    for m in [1.0, 0.9, 0.95, 0.95]:
        s.step(m)
    state = s.state_dict()
    assert "optimizer" not in state
    other = sched.ReduceLROnPlateau(_optimizers()[0])
    other.load_state_dict(state)
    assert (other.best, other.num_bad_epochs, other.cooldown_counter, other.patience, other.factor) == \
        (s.best, s.num_bad_epochs, s.cooldown_counter, 1, 0.5)


def test_resume_with_last_epoch():
    opt, theirs = _optimizers()
    s = sched.StepLR(opt, step_size=2, gamma=0.5)
    t = torch.optim.lr_scheduler.StepLR(theirs, step_size=2, gamma=0.5)
    for _ in range(3):
        s.step()
        t.step()
    # rebuild both schedulers over the same optimizers, resuming at epoch 3
    s = sched.StepLR(opt, step_size=2, gamma=0.5, last_epoch=3)
    t = torch.optim.lr_scheduler.StepLR(theirs, step_size=2, gamma=0.5, last_epoch=3)
    np.testing.assert_allclose(_sequence(s, 6), _sequence(t, 6), rtol=1e-12)


def test_manual_lr_change_carries_on_like_torch():
    ours, theirs = _optimizers()
    s, t = sched.StepLR(ours, step_size=2), torch.optim.lr_scheduler.StepLR(theirs, step_size=2)
    for k in range(6):
        if k == 3:
            ours.param_groups[0]["lr"] = theirs.param_groups[0]["lr"] = 0.7
        s.step()
        t.step()
        np.testing.assert_allclose(s.get_last_lr(), t.get_last_lr(), rtol=1e-12)


def test_get_last_lr_is_a_copy():
    opt, _ = _optimizers()
    s = sched.ExponentialLR(opt, 0.5)
    s.get_last_lr()[0] = 123.0
    assert s.get_last_lr()[0] == 0.1


def test_errors():
    opt, _ = _optimizers()
    with pytest.raises(TypeError, match="Optimizer"):
        sched.StepLR("not an optimizer", step_size=2)
    with pytest.raises(ValueError, match="step_size"):
        sched.StepLR(opt, step_size=0)
    with pytest.raises(TypeError, match="step_size"):
        sched.StepLR(opt, step_size=2.5)
    with pytest.raises(ValueError, match="expected 2 lr_lambdas"):
        sched.LambdaLR(opt, [lambda e: 1.0])
    with pytest.raises(TypeError, match="callable"):
        sched.LambdaLR(opt, 0.5)
    with pytest.raises(ValueError, match="initial_lr"):
        sched.ExponentialLR(_optimizers()[0], gamma=0.9, last_epoch=4)
    with pytest.raises(ValueError, match="num_warmup_steps"):
        sched.get_linear_schedule_with_warmup(opt, -1, 10)
    with pytest.raises(ValueError, match="T_max must be >= 1, got 0"):
        sched.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(ValueError, match="start_factor=0"):
        sched.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="each milestone must be >= 0"):
        sched.MultiStepLR(opt, milestones=[2, -1])
    with pytest.raises(TypeError, match="T_mult must be an int"):
        sched.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=1.5)
    with pytest.raises(ValueError, match="factor"):
        sched.ReduceLROnPlateau(opt, factor=1.0)
    with pytest.raises(ValueError, match="mode"):
        sched.ReduceLROnPlateau(opt, mode="maximum")
    with pytest.raises(ValueError, match="threshold_mode"):
        sched.ReduceLROnPlateau(opt, threshold_mode="relative")
    with pytest.raises(ValueError, match="expected 2 min_lrs"):
        sched.ReduceLROnPlateau(opt, min_lr=[0.1])
    with pytest.raises(TypeError, match="one-element tensor"):
        sched.ReduceLROnPlateau(opt).step(None)
    with pytest.raises(ValueError, match="one-element"):
        sched.ReduceLROnPlateau(opt).step(pyseq.tensor([1.0, 2.0]))


# --- ConstantLR, PolynomialLR, MultiplicativeLR, OneCycleLR, CyclicLR, SequentialLR, ChainedScheduler ---

class Decay:
    """A callable object (its attributes are saved by state_dict, unlike a lambda's)."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, x):
        return self.rate ** x


NEW = [
    pytest.param(lambda m, o: m.ConstantLR(o), id="ConstantLR-default"),
    pytest.param(lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=12), id="ConstantLR-0.5-12"),
    pytest.param(lambda m, o: m.PolynomialLR(o), id="PolynomialLR-default"),
    pytest.param(lambda m, o: m.PolynomialLR(o, total_iters=30, power=2.0), id="PolynomialLR-30-2"),
    pytest.param(lambda m, o: m.PolynomialLR(o, total_iters=25, power=0.5), id="PolynomialLR-25-0.5"),
    pytest.param(lambda m, o: m.MultiplicativeLR(o, lambda e: 0.95), id="MultiplicativeLR"),
    pytest.param(lambda m, o: m.MultiplicativeLR(o, [lambda e: 0.9 if e % 4 else 1.2, lambda e: 1 - 0.01 * e]),
                 id="MultiplicativeLR-per-group"),
    pytest.param(lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=40), id="OneCycleLR-cos"),
    pytest.param(lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.2], epochs=4, steps_per_epoch=10, pct_start=0.25,
                                           anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0),
                 id="OneCycleLR-linear"),
    pytest.param(lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=40, three_phase=True, base_momentum=[0.8, 0.7],
                                           max_momentum=0.9), id="OneCycleLR-three-phase"),
    pytest.param(lambda m, o: m.OneCycleLR(o, max_lr=0.3, total_steps=45, pct_start=0.4, cycle_momentum=False),
                 id="OneCycleLR-no-momentum"),
    pytest.param(lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=5), id="CyclicLR-triangular"),
    pytest.param(lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=[0.1, 0.3], step_size_up=4, step_size_down=7,
                                         mode="triangular2"), id="CyclicLR-triangular2"),
    pytest.param(lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=3, mode="exp_range", gamma=0.97,
                                         base_momentum=0.7, max_momentum=0.95), id="CyclicLR-exp_range"),
    pytest.param(lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=6, scale_fn=lambda c: 1 / c),
                 id="CyclicLR-scale_fn-cycle"),
    pytest.param(lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=2, step_size_down=5,
                                         scale_fn=Decay(0.98), scale_mode="iterations", cycle_momentum=False),
                 id="CyclicLR-scale_fn-iterations"),
    pytest.param(lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=5),
                                                 m.CosineAnnealingLR(o, T_max=20)], milestones=[5]),
                 id="SequentialLR-warmup-cosine"),
    pytest.param(lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, factor=0.3, total_iters=4), m.ExponentialLR(o, 0.9),
                                                 m.StepLR(o, 3, gamma=0.5), m.MultiStepLR(o, [2, 6, 6], gamma=0.7),
                                                 m.PolynomialLR(o, 8, 1.5)], milestones=[3, 10, 18, 28]),
                 id="SequentialLR-chained-restarts"),
    pytest.param(lambda m, o: m.SequentialLR(o, [m.MultiplicativeLR(o, lambda e: 0.9), m.ConstantLR(o, 0.5, 3)],
                                             milestones=[6]), id="SequentialLR-multiplicative"),
    pytest.param(lambda m, o: m.ChainedScheduler([m.ConstantLR(o, factor=0.1, total_iters=2), m.ExponentialLR(o, 0.9)]),
                 id="ChainedScheduler-constant-exponential"),
    pytest.param(lambda m, o: m.ChainedScheduler([m.PolynomialLR(o, 30, 2.0), m.StepLR(o, 4, 0.5),
                                                  m.MultiplicativeLR(o, lambda e: 1.02)], optimizer=o),
                 id="ChainedScheduler-three"),
]


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def _sequence_with_momenta(scheduler, steps):
    """(steps + 1, 2 * groups): each step's lrs, then the optimizer's momenta (beta1 for Adam)."""
    out = [scheduler.get_last_lr() + _momenta(scheduler.optimizer)]
    for _ in range(steps):
        scheduler.step()
        out.append(scheduler.get_last_lr() + _momenta(scheduler.optimizer))
    return np.array(out)


@pytest.mark.parametrize("kind,options", [("SGD", dict(momentum=0.9)), ("Adam", {})], ids=["SGD", "Adam"])
@pytest.mark.parametrize("make", NEW)
def test_new_schedule_matches_torch(make, kind, options):
    ours, theirs = _optimizers(kind=kind, **options)
    s_ours, s_theirs = make(sched, ours), make(torch.optim.lr_scheduler, theirs)
    steps = getattr(s_ours, "total_steps", 41) - 1  # OneCycleLR stops at total_steps
    seq_ours, seq_theirs = _sequence_with_momenta(s_ours, steps), _sequence_with_momenta(s_theirs, steps)
    assert steps >= 39 and seq_ours.shape == seq_theirs.shape
    np.testing.assert_allclose(seq_ours, seq_theirs, rtol=1e-12, atol=0)
    # torch's ChainedScheduler has no last_epoch; ours is its last scheduler's
    theirs_epoch = s_theirs.last_epoch if hasattr(s_theirs, "last_epoch") else s_theirs._schedulers[-1].last_epoch
    assert s_ours.last_epoch == theirs_epoch
    np.testing.assert_allclose(_lrs(ours), _lrs(theirs), rtol=1e-12)
    assert len(np.unique(seq_ours[:, 0])) > 1  # the lr does change


def test_new_schedules_by_hand():
    opt, _ = _optimizers(lrs=(1.0,))
    np.testing.assert_allclose(_sequence(sched.ConstantLR(opt, factor=0.25, total_iters=3), 5)[:, 0],
                               [0.25, 0.25, 0.25, 1, 1, 1], rtol=1e-12)
    opt, _ = _optimizers(lrs=(1.0,))
    np.testing.assert_allclose(_sequence(sched.PolynomialLR(opt, total_iters=4, power=2.0), 6)[:, 0],
                               [1, 0.5625, 0.25, 0.0625, 0, 0, 0], rtol=1e-12, atol=1e-15)
    opt, _ = _optimizers(lrs=(1.0,))
    np.testing.assert_allclose(_sequence(sched.MultiplicativeLR(opt, lambda e: 0.5), 3)[:, 0], [1, 0.5, 0.25, 0.125])
    opt, _ = _optimizers(lrs=(1.0,), momentum=0.5)
    s = sched.CyclicLR(opt, base_lr=0.1, max_lr=0.5, step_size_up=2)  # 0.1 -> 0.5 in 2 steps, back in 2
    np.testing.assert_allclose(_sequence_with_momenta(s, 5),
                               [[0.1, 0.9], [0.3, 0.85], [0.5, 0.8], [0.3, 0.85], [0.1, 0.9], [0.3, 0.85]], rtol=1e-12)
    opt, _ = _optimizers(lrs=(1.0,), momentum=0.5)
    s = sched.OneCycleLR(opt, max_lr=1.0, total_steps=11, pct_start=5 / 11, anneal_strategy="linear",
                         div_factor=10.0, final_div_factor=10.0)  # up 0.1 -> 1 over steps 0..4, down to 0.01 at 10
    seq = _sequence_with_momenta(s, 10)
    np.testing.assert_allclose(seq[[0, 2, 4, 10], 0], [0.1, 0.55, 1.0, 0.01], rtol=1e-12)
    np.testing.assert_allclose(seq[[0, 4, 10], 1], [0.95, 0.85, 0.95], rtol=1e-12)
    assert opt.param_groups[0]["max_lr"] == 1.0 and opt.param_groups[0]["min_lr"] == pytest.approx(0.01)
    s.step()  # step 11, as torch allows
    with pytest.raises(ValueError, match="tried to step 12 times, but total_steps is 11"):
        s.step()


def test_sequential_lr_restarts_each_schedule():
    """At a milestone the next schedule starts at its step 0 from the initial lr, as in PyTorch."""
    opt, _ = _optimizers(lrs=(1.0,))
    s = sched.SequentialLR(opt, [sched.ConstantLR(opt, factor=0.1, total_iters=10), sched.ExponentialLR(opt, 0.5)],
                           milestones=[3])
    np.testing.assert_allclose(_sequence(s, 5)[:, 0], [0.1, 0.1, 0.1, 1.0, 0.5, 0.25], rtol=1e-12)
    assert s.last_epoch == 5 and s._schedulers[1].last_epoch == 2


def _resume(make, steps_before, kind="SGD", **options):
    """Runs `make` for steps_before steps, saves both state dicts, and returns (the next 12 steps
    uninterrupted, the next 12 steps of a scheduler rebuilt for a new run over a new optimizer
    with other lrs, then both state dicts loaded, as torch recommends)."""
    opt, _ = _optimizers(kind=kind, **options)
    s = make(sched, opt)
    for _ in range(steps_before):
        s.step()
    saved_opt, saved_sched = opt.state_dict(), s.state_dict()
    uninterrupted = _sequence_with_momenta(s, 12)
    fresh, _ = _optimizers(lrs=(5.0, 6.0), kind=kind, **options)
    s2 = make(sched, fresh)
    fresh.load_state_dict(saved_opt)
    s2.load_state_dict(saved_sched)
    assert s2.last_epoch == steps_before
    return uninterrupted, _sequence_with_momenta(s2, 12), s2


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("make", NEW)
def test_new_schedule_resumes_from_state_dict(make, kind):
    uninterrupted, resumed, _ = _resume(make, 9, kind, **(dict(momentum=0.9) if kind == "SGD" else {}))
    np.testing.assert_allclose(resumed, uninterrupted, rtol=1e-12)


def test_state_dict_saves_callable_objects():
    opt, _ = _optimizers(momentum=0.9)
    s = sched.CyclicLR(opt, 0.01, 0.1, step_size_up=3, scale_fn=Decay(0.9), scale_mode="iterations")
    state = s.state_dict()
    assert state["_scale_fn_custom"] == {"rate": 0.9} and "optimizer" not in state
    other = sched.CyclicLR(_optimizers(momentum=0.9)[0], 0.01, 0.1, step_size_up=3, scale_fn=Decay(0.5))
    other.load_state_dict(state)
    assert other._scale_fn_custom.rate == 0.9 and other.scale_mode == "iterations"
    mult = sched.MultiplicativeLR(opt, Decay(0.8))
    assert mult.state_dict()["lr_lambdas"] == [{"rate": 0.8}, {"rate": 0.8}]
    chained = sched.ChainedScheduler([sched.MultiplicativeLR(opt, lambda e: 0.5), sched.ConstantLR(opt)])
    saved = chained.state_dict()
    assert "_schedulers" in saved and "optimizer" not in saved
    assert [x["last_epoch"] for x in saved["_schedulers"]] == [0, 0]
    assert all("optimizer" not in x for x in saved["_schedulers"])
    assert saved["_schedulers"][0]["lr_lambdas"] == [None, None]


def test_new_schedule_errors():
    opt, _ = _optimizers()
    with pytest.raises(ValueError, match="factor must be in \\(0, 1\\]"):
        sched.ConstantLR(opt, factor=1.5)
    with pytest.raises(ValueError, match="factor must be in"):
        sched.ConstantLR(opt, factor=0)
    with pytest.raises(ValueError, match="total_iters must be >= 1"):
        sched.PolynomialLR(opt, total_iters=0)
    with pytest.raises(TypeError, match="callable"):
        sched.MultiplicativeLR(opt, 0.9)
    with pytest.raises(ValueError, match="MultiplicativeLR: expected 2 lr_lambdas"):
        sched.MultiplicativeLR(opt, [lambda e: 1.0])
    with pytest.raises(ValueError, match="either total_steps, or epochs and steps_per_epoch"):
        sched.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="total_steps must be >= 1"):
        sched.OneCycleLR(opt, max_lr=0.1, total_steps=0)
    with pytest.raises(ValueError, match="pct_start"):
        sched.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy"):
        sched.OneCycleLR(opt, max_lr=0.1, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="expected 2 values of max_lr"):
        sched.OneCycleLR(opt, max_lr=[0.1, 0.2, 0.3], total_steps=10)
    with pytest.raises(ValueError, match="cycle_momentum"):
        sched.OneCycleLR(optim.Adagrad([pyseq.zeros(2, requires_grad=True)]), max_lr=0.1, total_steps=10)
    with pytest.raises(ValueError, match="mode"):
        sched.CyclicLR(opt, 0.01, 0.1, mode="triangle")
    with pytest.raises(ValueError, match="scale_mode"):
        sched.CyclicLR(opt, 0.01, 0.1, scale_fn=lambda x: 1.0, scale_mode="epochs")
    with pytest.raises(ValueError, match="step_size_up"):
        sched.CyclicLR(opt, 0.01, 0.1, step_size_up=0)
    with pytest.raises(ValueError, match="expected 1 milestones"):
        sched.SequentialLR(opt, [sched.ConstantLR(opt), sched.ExponentialLR(opt, 0.9)], milestones=[2, 5])
    with pytest.raises(ValueError, match="at least one scheduler"):
        sched.SequentialLR(opt, [], milestones=[])
    with pytest.raises(ValueError, match="same optimizer"):
        sched.ChainedScheduler([sched.ConstantLR(opt), sched.ExponentialLR(_optimizers()[0], 0.9)])
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        sched.ChainedScheduler([sched.ReduceLROnPlateau(opt)])
    with pytest.raises(TypeError, match="scheduler 1 must be a learning-rate scheduler"):
        sched.ChainedScheduler([sched.ConstantLR(opt), "step"])
    with pytest.raises(ValueError, match="the state dict has 1 schedulers, this one has 2"):
        chained = sched.ChainedScheduler([sched.ConstantLR(opt), sched.ExponentialLR(opt, 0.9)])
        chained.load_state_dict({"_schedulers": [{}]})


def test_new_schedulers_exported_like_torch():
    for name in ("ConstantLR", "PolynomialLR", "MultiplicativeLR", "OneCycleLR", "CyclicLR", "SequentialLR",
                 "ChainedScheduler"):
        assert name in sched.__all__ and hasattr(torch.optim.lr_scheduler, name)
