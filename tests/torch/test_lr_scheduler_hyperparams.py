"""LRScheduler(hyperparams=...): any param-group key follows a schedule, with exact resume."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrkit.schedules import Constant, CosineDecay, LinearDecay, WarmupStableDecay  # noqa: E402
from lrkit.torch import LRScheduler  # noqa: E402

STEPS = 60


def _adamw() -> torch.optim.Optimizer:
    torch.manual_seed(0)
    a, b = torch.nn.Linear(3, 2), torch.nn.Linear(2, 1)
    return torch.optim.AdamW(
        [{"params": a.parameters(), "lr": 1e-3}, {"params": b.parameters(), "lr": 1e-3}],
        weight_decay=0.01,
        betas=(0.9, 0.95),
    )


def _cosine(t: int, lr: float, total: int, end: float = 0.0) -> float:
    return end + (lr - end) * (1 + math.cos(math.pi * min(t, total) / total)) / 2


def _build(opt: torch.optim.Optimizer) -> LRScheduler:
    return LRScheduler(
        opt,
        CosineDecay(1e-3, STEPS),
        hyperparams={
            "weight_decay": LinearDecay(0.01, STEPS, 0.1),
            "betas[1]": [LinearDecay(0.95, STEPS // 2, 0.99), None],  # group 1 left alone
        },
    )


def _train(opt: torch.optim.Optimizer, sched: LRScheduler, steps: range) -> list[tuple]:
    seen = []
    for t in steps:
        g0, g1 = opt.param_groups
        seen.append((t, g0["lr"], g0["weight_decay"], g1["weight_decay"], g0["betas"], g1["betas"]))
        for p in (p for g in opt.param_groups for p in g["params"]):
            p.grad = torch.ones_like(p)
        opt.step()
        sched.step()
    return seen


def test_weight_decay_and_beta2_follow_their_schedules_at_every_step() -> None:
    opt = _adamw()
    for t, lr, wd0, wd1, betas0, betas1 in _train(opt, _build(opt), range(STEPS + 5)):
        assert lr == pytest.approx(_cosine(t, 1e-3, STEPS), rel=1e-12, abs=1e-18)
        wd = 0.01 + (0.1 - 0.01) * min(t, STEPS) / STEPS
        assert wd0 == pytest.approx(wd, rel=1e-12) and wd1 == pytest.approx(wd, rel=1e-12)
        beta2 = 0.95 + (0.99 - 0.95) * min(t, STEPS // 2) / (STEPS // 2)
        assert betas0[0] == 0.9 and betas0[1] == pytest.approx(beta2, rel=1e-12)
        assert betas1 == (0.9, 0.95)


def test_a_resume_into_fresh_objects_continues_exactly() -> None:
    opt = _adamw()
    straight = _train(opt, _build(opt), range(STEPS))
    opt_a = _adamw()
    sched_a = _build(opt_a)
    first = _train(opt_a, sched_a, range(25))
    state, opt_state = sched_a.state_dict(), opt_a.state_dict()
    opt_b = _adamw()
    params_a = [p for g in opt_a.param_groups for p in g["params"]]
    params_b = [p for g in opt_b.param_groups for p in g["params"]]
    with torch.no_grad():
        for pa, pb in zip(params_a, params_b, strict=True):
            pb.copy_(pa)  # the model's checkpoint
    opt_b.load_state_dict(opt_state)
    sched_b = _build(opt_b)
    sched_b.load_state_dict(state)
    rest = _train(opt_b, sched_b, range(25, STEPS))
    assert first + rest == straight
    weights = [p.detach().clone() for g in opt_b.param_groups for p in g["params"]]
    expected = [p.detach().clone() for g in opt.param_groups for p in g["params"]]
    assert all(torch.equal(a, b) for a, b in zip(weights, expected, strict=True))


def test_a_state_with_other_hyperparameter_schedules_is_refused() -> None:
    opt = _adamw()
    state = _build(opt).state_dict()
    other = LRScheduler(opt, CosineDecay(1e-3, STEPS))
    with pytest.raises(ValueError, match="saved with hyperparams"):
        other.load_state_dict(state)


def test_a_second_learning_rate_for_some_groups() -> None:
    # e.g. an optimizer that keeps a second rate under its own key in some groups
    w1, w2 = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([{"params": [w1]}, {"params": [w2]}], lr=0.1)
    opt.param_groups[1]["aux_lr"] = 0.5
    wsd = WarmupStableDecay(0.5, 100, warmup_steps=10, decay_steps=20)
    sched = LRScheduler(opt, Constant(0.1), hyperparams={"aux_lr": [None, wsd]})
    values = []
    for _ in range(120):
        values.append(opt.param_groups[1]["aux_lr"])
        sched.step()
    t = np.arange(120)
    expected = np.where(
        t < 10, 0.5 * t / 10, np.where(t < 80, 0.5, 0.5 * (1 - np.clip((t - 80) / 20, 0, 1)))
    )
    np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-15)
    assert "aux_lr" not in opt.param_groups[0]


def test_tensor_hyperparameters_are_filled_in_place() -> None:
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.Adam([w], lr=0.1, weight_decay=torch.tensor(0.0))
    wd = opt.param_groups[0]["weight_decay"]
    sched = LRScheduler(opt, Constant(0.1), hyperparams={"weight_decay": LinearDecay(0.2, 4)})
    sched.step()
    assert opt.param_groups[0]["weight_decay"] is wd and float(wd) == pytest.approx(0.15)


@pytest.mark.parametrize(
    ("hyperparams", "error", "match"),
    [
        ({"weight_decy": Constant(0.1)}, ValueError, "has no key 'weight_decy'.*weight_decay"),
        ({"betas[2]": Constant(0.5)}, ValueError, r"has no element \[2\]"),
        ({"lr": Constant(0.1)}, ValueError, "must not hold 'lr'"),
        ({"betas[0]": Constant(0.5)}, ValueError, "already written by momentum="),
        ({"amsgrad": Constant(0.5)}, ValueError, "not a number"),
        ({"weight decay": Constant(0.5)}, ValueError, "param-group keys such as"),
        ({"weight_decay": [Constant(0.5)]}, ValueError, "has 1 entries but the optimizer has 2"),
        ({"weight_decay": 0.1}, TypeError, "must be a Schedule"),
        ({"betas[1]": Constant(1.5)}, ValueError, r"betas\[1\] must be in \[0, 1\)"),
    ],
)
def test_bad_keys_are_clear_errors_at_construction(hyperparams, error, match) -> None:
    opt = _adamw()
    with pytest.raises(error, match=match):
        LRScheduler(opt, Constant(1e-3), momentum=Constant(0.9), hyperparams=hyperparams)
