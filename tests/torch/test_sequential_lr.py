"""torch's SequentialLR around lrkit's LRScheduler fails with the TypeError that points to Join."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from lrkit.schedules import Constant, Join  # noqa: E402
from lrkit.torch import LRScheduler  # noqa: E402


def _opt() -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)


@pytest.mark.parametrize("steps_before", [0, 3])
def test_sequential_lr_is_refused_with_a_pointer_to_join(steps_before: int) -> None:
    opt = _opt()
    first = LRScheduler(opt, Constant(lr=0.1))
    second = LRScheduler(opt, Constant(lr=0.01))
    for _ in range(steps_before):  # schedulers already stepped are rewound to t >= 0,
        first.step()  # then restarted: the restart is refused
        second.step()
    with pytest.raises(TypeError, match=r"SequentialLR.*lrkit\.schedules\.Join"):
        torch.optim.lr_scheduler.SequentialLR(opt, [first, second], milestones=[5])


def test_sequential_lr_is_refused_next_to_a_torch_scheduler() -> None:
    opt = _opt()
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=5)
    ours = LRScheduler(opt, Constant(lr=0.01))
    with pytest.raises(TypeError, match="Join"):
        torch.optim.lr_scheduler.SequentialLR(opt, [warm, ours], milestones=[5])


def test_a_negative_last_epoch_set_by_hand_is_still_a_value_error() -> None:
    sched = LRScheduler(_opt(), Constant(lr=0.1))
    with pytest.raises(ValueError, match="last_epoch"):
        sched.last_epoch = -5
    sched.last_epoch = 4  # moving the clock is fine
    sched.step()
    assert sched.time == 5


def test_join_is_the_way_to_chain() -> None:
    opt = _opt()
    sched = LRScheduler(opt, Join([Constant(lr=0.1), Constant(lr=0.01)], boundaries=[2]))
    lrs = []
    for _ in range(4):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == [0.1, 0.1, 0.01, 0.01]
