"""lrkit schedules against PyTorch's own schedulers, driven step by step for 10,000 steps.

Each test builds a real optimizer, steps it together with the PyTorch scheduler, and
reads the learning rate (and momentum or Adam's beta1) that PyTorch wrote into the
param group before every step. lrkit's closed form must agree to 1e-12 relative.
Deliberate differences are tested as such: past the end we hold the end value where
PyTorch's cosine climbs back up and its one-cycle extrapolates (or raises).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from lrkit.schedules import (
    CosineDecay,
    CosineRestarts,
    Cyclic,
    ExponentialDecay,
    LinearDecay,
    MultiStepDecay,
    OneCycle,
    PolynomialDecay,
    Schedule,
    StepDecay,
)

torch = pytest.importorskip("torch")
lr_scheduler = torch.optim.lr_scheduler

N = 10_000
LR = 0.1


def drive(
    make: Callable[[torch.optim.Optimizer], object], steps: int, *, adam: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """The (lr, momentum) PyTorch's scheduler sets before each of ``steps`` steps."""
    params = [torch.nn.Parameter(torch.zeros(2))]
    if adam:
        opt: torch.optim.Optimizer = torch.optim.Adam(params, lr=LR)
    else:
        opt = torch.optim.SGD(params, lr=LR, momentum=0.9)
    scheduler = make(opt)
    group = opt.param_groups[0]
    lrs, moms = np.empty(steps), np.empty(steps)
    for i in range(steps):
        lrs[i] = group["lr"]
        moms[i] = group["betas"][0] if adam else group["momentum"]
        opt.step()
        scheduler.step()  # type: ignore[attr-defined]
    return lrs, moms


def assert_agrees(schedule: Schedule, torch_values: np.ndarray) -> None:
    ours = schedule(np.arange(len(torch_values)))
    np.testing.assert_allclose(ours, torch_values, rtol=1e-12, atol=1e-300)


def test_step_lr() -> None:
    lrs, _ = drive(lambda o: lr_scheduler.StepLR(o, step_size=300, gamma=0.9), N)
    assert_agrees(StepDecay(LR, step_size=300, gamma=0.9), lrs)


def test_multistep_lr() -> None:
    milestones = [1, 100, 2_000, 7_000, 9_999]
    lrs, _ = drive(lambda o: lr_scheduler.MultiStepLR(o, milestones, gamma=0.5), N)
    assert_agrees(MultiStepDecay(LR, milestones, gamma=0.5), lrs)


def test_exponential_lr() -> None:
    lrs, _ = drive(lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9995), N)
    assert_agrees(ExponentialDecay(LR, decay_rate=0.9995), lrs)


@pytest.mark.parametrize("end_lr", [0.0, 1e-3])
def test_cosine_annealing_lr_up_to_its_end(end_lr: float) -> None:
    lrs, _ = drive(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=N, eta_min=end_lr), N + 1)
    assert_agrees(CosineDecay(LR, total_steps=N, end_lr=end_lr), lrs)


def test_cosine_annealing_lr_climbs_back_past_its_end_where_we_hold() -> None:
    lrs, _ = drive(lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=100, eta_min=0.0), 200)
    ours = CosineDecay(LR, total_steps=100)(np.arange(200))
    assert lrs[150] > 0.04  # PyTorch: back half-way up
    assert np.all(ours[100:] == 0.0)  # lrkit: holds end_lr


@pytest.mark.parametrize(("period", "mult", "end_lr"), [(77, 1, 0.0), (100, 2, 1e-3), (13, 3, 0.0)])
def test_cosine_annealing_warm_restarts(period: int, mult: int, end_lr: float) -> None:
    lrs, _ = drive(
        lambda o: lr_scheduler.CosineAnnealingWarmRestarts(
            o, T_0=period, T_mult=mult, eta_min=end_lr
        ),
        N,
    )
    assert_agrees(CosineRestarts(LR, period=period, period_mult=mult, end_lr=end_lr), lrs)


@pytest.mark.parametrize(
    ("mode", "gamma", "down"),
    [
        ("triangular", 1.0, None),
        ("triangular2", 1.0, 300),
        ("exp_range", 0.9997, None),
        ("exp_range", 0.999, 123),
    ],
)
def test_cyclic_lr_and_its_momentum(mode: str, gamma: float, down: int | None) -> None:
    lrs, moms = drive(
        lambda o: lr_scheduler.CyclicLR(
            o,
            base_lr=0.01,
            max_lr=LR,
            step_size_up=700,
            step_size_down=down,
            mode=mode,
            gamma=gamma,
        ),
        N,
    )
    cyclic = Cyclic(0.01, LR, 700, mode=mode, gamma=gamma, step_size_down=down)
    assert_agrees(cyclic, lrs)
    assert_agrees(cyclic.momentum(base_momentum=0.8, max_momentum=0.9), moms)


@pytest.mark.parametrize("three_phase", [False, True])
@pytest.mark.parametrize("anneal", ["cos", "linear"])
def test_one_cycle_lr_and_its_momentum(three_phase: bool, anneal: str) -> None:
    lrs, moms = drive(
        lambda o: lr_scheduler.OneCycleLR(
            o,
            max_lr=LR,
            total_steps=N,
            pct_start=0.3,
            anneal_strategy=anneal,
            three_phase=three_phase,
        ),
        N,
    )
    one_cycle = OneCycle(LR, N, pct_start=0.3, anneal=anneal, three_phase=three_phase)
    assert_agrees(one_cycle, lrs)
    assert_agrees(one_cycle.momentum(), moms)


def test_one_cycle_momentum_drives_adam_beta1() -> None:
    lrs, betas = drive(
        lambda o: lr_scheduler.OneCycleLR(
            o, max_lr=LR, total_steps=1_000, pct_start=0.25, base_momentum=0.8, max_momentum=0.99
        ),
        1_000,
        adam=True,
    )
    one_cycle = OneCycle(LR, 1_000, pct_start=0.25)
    assert_agrees(one_cycle, lrs)
    assert_agrees(one_cycle.momentum(base_momentum=0.8, max_momentum=0.99), betas)


def test_one_cycle_holds_its_end_where_torch_extrapolates_below_zero() -> None:
    # Linear anneal, short run: PyTorch's value at step total_steps is negative.
    total = 10
    params = [torch.nn.Parameter(torch.zeros(1))]
    opt = torch.optim.SGD(params, lr=LR)
    sched = lr_scheduler.OneCycleLR(opt, max_lr=LR, total_steps=total, anneal_strategy="linear")
    for _ in range(total):
        opt.step()
        sched.step()
    assert opt.param_groups[0]["lr"] < 0.0
    ours = OneCycle(LR, total, anneal="linear")
    assert ours(total) == ours(total - 1) == ours(10 * total) > 0.0


def test_polynomial_lr() -> None:
    lrs, _ = drive(lambda o: lr_scheduler.PolynomialLR(o, total_iters=N, power=2.0), N + 10)
    assert_agrees(PolynomialDecay(LR, total_steps=N, power=2.0), lrs)


@pytest.mark.parametrize(("start", "end"), [(1 / 3, 1.0), (1.0, 0.05)])
def test_linear_lr(start: float, end: float) -> None:
    lrs, _ = drive(
        lambda o: lr_scheduler.LinearLR(o, start_factor=start, end_factor=end, total_iters=N),
        N + 10,
    )
    assert_agrees(LinearDecay(LR * start, total_steps=N, end_lr=LR * end), lrs)
