"""The conversion invariant lr(t)/B(t) == lr_ref(t)/B0, the paper's knobs and scaling rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrkit.batch_size import (
    BatchPlan,
    count_updates,
    equivalent_batch_size,
    from_config,
    higher_lr_batch,
    higher_momentum,
    increase_batch_instead,
    linear_scaling,
    noise_scale,
    sqrt_scaling,
)
from lrkit.schedules import (
    CosineDecay,
    ExponentialDecay,
    MultiStepDecay,
    PolynomialDecay,
    Schedule,
    StepDecay,
    Warmup,
)

PAPER = MultiStepDecay(lr=0.1, milestones=[60, 120, 160], gamma=0.2)


@st.composite
def lr_schedules(draw: st.DrawFn) -> Schedule:
    lr = draw(st.floats(1e-4, 10.0))
    kind = draw(st.sampled_from(["multistep", "step", "exp", "cosine", "poly"]))
    if kind == "multistep":
        ms = sorted(draw(st.sets(st.integers(1, 50), min_size=1, max_size=4)))
        return MultiStepDecay(lr=lr, milestones=ms, gamma=draw(st.floats(0.05, 1.0)))
    if kind == "step":
        return StepDecay(
            lr=lr, step_size=draw(st.integers(1, 20)), gamma=draw(st.floats(0.05, 1.0))
        )
    if kind == "exp":
        return ExponentialDecay(lr=lr, decay_rate=draw(st.floats(0.01, 0.99)), decay_steps=10)
    if kind == "cosine":
        end = draw(st.sampled_from([0.0, lr / 100]))
        return CosineDecay(lr=lr, total_steps=draw(st.integers(1, 60)), end_lr=end)
    return PolynomialDecay(lr=lr, total_steps=40, end_lr=lr / 50, power=draw(st.floats(0.5, 3)))


@settings(max_examples=150, deadline=None)
@given(
    ref=lr_schedules(),
    b0=st.integers(1, 512),
    granularity=st.sampled_from([1, 2, 3, 8, 32]),
    cap_units=st.integers(1, 400),
    momentum=st.sampled_from([None, 0.0, 0.9]),
    times=st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=30),
)
def test_invariant_holds_everywhere_with_rounding_and_cap(
    ref: Schedule, b0: int, granularity: int, cap_units: int, momentum: float | None, times: list
) -> None:
    cap = granularity * cap_units
    if cap < b0:
        cap = granularity * -(-b0 // granularity)
    plan = increase_batch_instead(ref, b0, cap, momentum=momentum, granularity=granularity)
    t = np.asarray([*times, 0.0, 60.0, 100.0])
    lr, batch = plan.lr(t), plan.batch_size(t)
    np.testing.assert_allclose(lr / batch, ref(t) / b0, rtol=1e-12, atol=0)
    assert np.all(batch % granularity == 0) and np.all(batch <= cap) and np.all(batch >= 1)
    # the batch takes the decay: the ideal size rounded to the granularity, or the cap
    with np.errstate(divide="ignore"):
        ideal = b0 * ref(0) / ref(t)
    inside = ideal <= cap
    assert np.all(np.abs(batch[inside] - np.maximum(ideal[inside], granularity)) <= granularity / 2)
    assert np.all(batch[~inside] == cap)
    assert from_config(plan.to_config()) == plan


def test_paper_schedule_gives_increasing_batch_then_hybrid() -> None:
    plan = increase_batch_instead(PAPER, 128, 5120, momentum=0.9)
    t = np.array([0, 59.99, 60, 120, 160, 199])
    assert plan.batch_size(t).tolist() == [128, 128, 640, 3200, 5120, 5120]
    np.testing.assert_allclose(plan.lr(t), [0.1, 0.1, 0.1, 0.1, 0.032, 0.032])
    np.testing.assert_allclose(plan.noise_scale(t, 50_000), noise_scale(PAPER(t), 50_000, 128, 0.9))
    uncapped = increase_batch_instead(PAPER, 128, 16_000)
    assert count_updates(uncapped.batch_size, 50_000, 200) == 29_000
    assert count_updates(128, 50_000, 200) == 78_200


def test_step_clock_is_refused() -> None:
    with pytest.raises(ValueError, match="steps per epoch shrinks"):
        increase_batch_instead(PAPER, 128, 5120, clock="step")


def test_sample_clock_is_carried_by_both_schedules() -> None:
    ref = MultiStepDecay(lr=0.1, milestones=[1000], gamma=0.5)
    plan = increase_batch_instead(ref, 10, 100, clock="sample")
    assert plan.clock == "sample"
    assert plan.batch_size(999) == 10 and plan.batch_size(1000) == 20


def test_higher_lr_and_higher_momentum_rows_of_section_5_2() -> None:
    hl = higher_lr_batch(PAPER, 128, 5120, factor=5, momentum=0.9)
    assert hl.batch_size(0) == 640 and hl.lr(0) == pytest.approx(0.5)
    hm = higher_momentum(PAPER, 128, 5120, 0.9, 0.98, factor=5)
    assert hm.batch_size(0) == 3200 and hm.lr(0) == pytest.approx(0.5) and hm.momentum == 0.98
    t = np.linspace(0, 200, 401)
    for plan in (hl, hm):
        np.testing.assert_allclose(
            plan.noise_scale(t, 50_000), noise_scale(PAPER(t), 50_000, 128, 0.9), rtol=1e-12
        )
    assert count_updates(hm.batch_size, 50_000, 200) < 2_500
    assert count_updates(hl.batch_size, 50_000, 200) <= 6_500


def test_plan_validates() -> None:
    plan = increase_batch_instead(PAPER, 128, 5120)
    with pytest.raises(TypeError, match="batch_size"):
        BatchPlan(lr=plan.lr, batch_size=128)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="momentum"):
        BatchPlan(lr=plan.lr, batch_size=plan.batch_size, momentum=1.0)
    with pytest.raises(TypeError, match="lr_schedule"):
        increase_batch_instead(0.1, 128, 5120)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_batch_size"):
        increase_batch_instead(PAPER, 128, 100)


def test_scaling_rules() -> None:
    assert linear_scaling(0.1, 256, 8192) == pytest.approx(3.2)
    assert sqrt_scaling(1e-3, 256, 4096) == pytest.approx(4e-3)
    assert equivalent_batch_size(128, lr=0.1, new_lr=0.5) == pytest.approx(640)
    assert equivalent_batch_size(128, momentum=0.9, new_momentum=0.98) == pytest.approx(640)
    with pytest.raises(ValueError, match="new_batch_size"):
        linear_scaling(0.1, 256, 0)
    with pytest.raises(ValueError, match="momentum"):
        noise_scale(0.1, 100, 10, momentum=1.0)


@pytest.mark.parametrize("cap", [256, np.int64(256), 256.0], ids=["int", "np.int64", "float"])
def test_a_knobs_start_batch_is_capped_whatever_the_caps_number_type(cap: object) -> None:
    # The start batch 5 * 128 = 640 is above the cap: it is capped and the LR starts
    # lower to match, as documented. A numpy or float cap used to raise instead.
    plan = higher_lr_batch(StepDecay(0.1, 30, 0.2), 128, cap, factor=5)  # type: ignore[arg-type]
    assert plan.batch_size(0) == 256
    assert plan.lr(0) == pytest.approx(0.1 * 256 / 128)


def test_count_updates_refuses_a_fractional_or_negative_number_of_epochs() -> None:
    with pytest.raises(ValueError, match=r"epochs must be an integer >= 0, got 2\.5"):
        count_updates(32, 100, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="epochs must be an integer >= 0, got -1"):
        count_updates(32, 100, -1)
    assert count_updates(32, 100, np.int64(2)) == 8  # type: ignore[arg-type]


def test_a_schedule_at_zero_at_t0_is_refused_naming_lr_schedule() -> None:
    # The message used to come from BatchFromLR ("lr must be > 0 ...; pass reference_lr"),
    # naming an argument and advising a parameter that increase_batch_instead lacks.
    with pytest.raises(ValueError, match=r"lr_schedule must be > 0 at t=0.*got lr_schedule\(0\)"):
        increase_batch_instead(Warmup(CosineDecay(0.1, 100), 10), 128, 1024)
