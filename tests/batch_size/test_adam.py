"""The Adam-aware conversion keeps lr(t)**2 / B(t) == lr_ref(t)**2 / B0 (Malladi et al. 2022)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrkit.batch_size import (
    AdamBatchFromLR,
    adam_equivalent_batch_size,
    from_config,
    increase_batch_instead,
    increase_batch_instead_adam,
)
from lrkit.schedules import CosineDecay, MultiStepDecay, StepDecay


def _round_cap(raw: float, g: int, cap: int) -> set[int]:
    """Nearest multiple of g (ties up), at least g, at most cap; both sides near a tie."""
    out = set()
    for r in (raw * (1 - 1e-12), raw * (1 + 1e-12)):
        out.add(int(min(max(g * math.floor(min(r, cap) / g + 0.5), g), cap)))
    return out


@settings(max_examples=60, deadline=None)
@given(
    lr=st.floats(1e-5, 1e-1),
    milestones=st.sets(st.integers(1, 30), min_size=1, max_size=3),
    gamma=st.floats(0.1, 1.0),
    b0=st.integers(1, 256),
    granularity=st.sampled_from([1, 2, 8]),
    cap_units=st.integers(1, 2000),
)
def test_adam_noise_is_kept_exactly_with_rounding_and_cap(
    lr, milestones, gamma, b0, granularity, cap_units
):
    ref = MultiStepDecay(lr=lr, milestones=sorted(milestones), gamma=gamma)
    cap = max(cap_units * granularity, granularity * math.ceil(b0 / granularity))
    plan = increase_batch_instead_adam(ref, b0, cap, granularity=granularity)
    times = np.linspace(0.0, 35.0, 71)
    batches, lrs = plan.batch_size(times).tolist(), plan.lr(times).tolist()
    for t, batch, got_lr in zip(times.tolist(), batches, lrs, strict=True):
        k = sum(1 for m in milestones if t >= m)
        ref_lr = lr * gamma**k  # independent of the implementation
        assert batch in _round_cap(b0 * (1.0 / gamma**k) ** 2, granularity, cap)
        assert got_lr == pytest.approx(ref_lr * math.sqrt(batch / b0), rel=1e-9)
        assert got_lr**2 / batch == pytest.approx(ref_lr**2 / b0, rel=1e-9)


def test_a_cut_by_a_is_a_batch_a_squared_larger_and_the_sgd_rule_gives_a():
    ref = StepDecay(lr=1e-3, step_size=10, gamma=1 / 3)
    adam = increase_batch_instead_adam(ref, 16, 10_000)
    sgd = increase_batch_instead(ref, 16, 10_000)
    assert adam.batch_size([0, 10, 20]).tolist() == [16, 144, 1296]
    assert sgd.batch_size([0, 10, 20]).tolist() == [16, 48, 144]
    # below the cap Adam's LR stays put; past it (t=30: 16 * 3**6 = 11664 > 10000) it decays
    assert adam.lr(25.0) == pytest.approx(1e-3)
    assert adam.lr(30.0) == pytest.approx(1e-3 / 27 * math.sqrt(10_000 / 16))


def test_zero_lr_goes_to_the_cap_and_configs_round_trip():
    plan = increase_batch_instead_adam(CosineDecay(lr=1e-3, total_steps=10), 32, 512)
    assert plan.batch_size(10.0) == 512
    assert from_config(plan.to_config()) == plan
    assert from_config(plan.batch_size.to_config()) == plan.batch_size


@pytest.mark.parametrize(
    ("b", "lr", "new_lr", "expected"), [(64, 1e-3, 5e-4, 256.0), (100, 0.1, 0.01, 10_000.0)]
)
def test_adam_equivalent_batch_size(b, lr, new_lr, expected):
    assert adam_equivalent_batch_size(b, lr=lr, new_lr=new_lr) == pytest.approx(expected)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="new_lr"):
        adam_equivalent_batch_size(8, lr=0.1, new_lr=0.0)
    with pytest.raises(ValueError, match="max_batch_size"):
        AdamBatchFromLR(StepDecay(lr=1e-3, step_size=1), 64, 32)
    with pytest.raises(ValueError, match="clock"):
        increase_batch_instead_adam(StepDecay(lr=1e-3, step_size=1), 8, 64, clock="step")
