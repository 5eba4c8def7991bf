"""LRScheduler.prefetch: fractional times evaluated ahead in one array call, same values."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrkit.schedules import CosineDecay, OneCycle, StepDecay  # noqa: E402
from lrkit.torch import LRScheduler  # noqa: E402


def _run(prefetch: bool, times: list[float]) -> list[tuple[float, float, float]]:
    params = [torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)]
    opt = torch.optim.SGD(
        [{"params": params[:1]}, {"params": params[1:], "lr": 0.5}], lr=1.0, momentum=0.9
    )
    sched = LRScheduler(
        opt,
        CosineDecay(0.1, total_steps=3, end_lr=0.001),
        momentum=StepDecay(0.9, step_size=1.3, gamma=0.5),
        unit="epoch",
    )
    if prefetch:
        sched.prefetch(times[: len(times) // 2])  # half predicted: the rest as before
    seen = []
    for t in times:
        sched.set_time(t)
        g0, g1 = opt.param_groups
        seen.append((g0["lr"], g1["lr"], g0["momentum"]))
    return seen


def test_prefetched_times_write_the_same_values_as_the_array_path():
    times = [(64 * k) / 1437 for k in range(70)]  # 3 epochs of batch 64, fractional
    with_cache, without = _run(True, times), _run(False, times)
    assert with_cache == without  # bit for bit, predicted or not
    lr = CosineDecay(0.1, total_steps=3, end_lr=0.001)
    assert [s[0] for s in with_cache] == np.asarray(lr(np.array(times))).tolist()


def test_prefetch_leaves_state_and_resume_alone():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = LRScheduler(opt, OneCycle(0.1, total_steps=4), unit="epoch")
    sched.set_time(0.3)
    before = sched.state_dict()
    sched.prefetch([0.5, 0.75])
    assert sched.state_dict() == before and sched.time == 0.3


@pytest.mark.parametrize(
    ("times", "error", "match"),
    [
        ([[0.1]], TypeError, "one-dimensional"),
        (["a"], TypeError, "sequence of numbers"),
        ([0.1, -1.0], ValueError, "-1.0"),
        ([float("nan")], ValueError, "finite"),
    ],
)
def test_prefetch_validates_times(times, error, match):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    sched = LRScheduler(opt, OneCycle(0.1, total_steps=4), unit="epoch")
    with pytest.raises(error, match=match):
        sched.prefetch(times)
