"""The adaptive batch controller on synthetic noise-scale traces with known answers."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrkit.batch_size import (
    AdaptiveBatch,
    AdaptiveBatchState,
    BatchPiecewise,
    epoch_batch_sizes,
    from_config,
)
from lrkit.schedules import Constant


def _run(ctl: AdaptiveBatch, trace, state=None, start: int = 0):
    state = ctl.init() if state is None else state
    for u, b in enumerate(trace, start=start + 1):
        state = ctl.update(state, b, time=u / 100)
    return state


def _changes(state: AdaptiveBatchState) -> list[tuple[int, int, int]]:
    return [(d.update, d.old_batch_size, d.new_batch_size) for d in state.decisions]


def test_linear_ramp_known_answer():
    # B_simple(u) = 10 u. Worked by hand with warm-up 10, cool-down 5, factor 2, margin 1:
    # u=10: 100 >= 64 -> largest 32 * 2**j <= 100 is 64; u=15: 150 >= 128 -> 128;
    # u=20..25: 200..250 < 256 no change; u=26: 260 >= 256 -> 256; u=31: 310 < 512;
    # u=52: 520 >= 512 -> 512 = the cap, so nothing after.
    ctl = AdaptiveBatch(batch_size=32, max_batch_size=512, warmup_updates=10, cooldown_updates=5)
    state = _run(ctl, [10.0 * u for u in range(1, 80)])
    assert _changes(state) == [(10, 32, 64), (15, 64, 128), (26, 128, 256), (52, 256, 512)]
    assert state.batch_size == 512 and state.updates == 79
    assert [d.time for d in state.decisions] == [0.10, 0.15, 0.26, 0.52]


def test_jump_grows_by_several_factors_at_once_and_respects_margin():
    # margin 2: grow once B_simple >= 2 * next batch. 1000 >= 2*16*2**j for j <= 4 -> 256.
    ctl = AdaptiveBatch(batch_size=16, max_batch_size=4096, margin=2.0, warmup_updates=0)
    state = _run(ctl, [1000.0])
    assert _changes(state) == [(1, 16, 256)]


def test_cap_cuts_to_an_integer_factor_of_the_batch():
    # 48 * 2**j <= 1000 -> 768, but the cap 200 allows only 48 * (200 // 48) = 192 (k = 4)
    ctl = AdaptiveBatch(batch_size=48, max_batch_size=200, granularity=8, warmup_updates=0)
    state = _run(ctl, [1000.0, 1000.0])
    assert _changes(state) == [(1, 48, 192)]
    # below twice the batch no change is possible: the cap 300 // 192 = 1
    ctl2 = AdaptiveBatch(batch_size=192, max_batch_size=376, granularity=8, warmup_updates=0)
    assert _run(ctl2, [5000.0] * 3).decisions == ()


def test_granularity_holds_for_every_batch():
    ctl = AdaptiveBatch(
        batch_size=24,
        max_batch_size=24 * 50,
        granularity=12,
        factor=3,
        warmup_updates=0,
        cooldown_updates=1,
    )
    state = _run(ctl, [30.0 * u for u in range(1, 60)])
    sizes = [d.new_batch_size for d in state.decisions]
    assert sizes and all(s % 12 == 0 and s % 24 == 0 for s in sizes)
    assert all(
        b // a in (3, 9, 27) or b == 24 * 50 for a, b in zip([24, *sizes], sizes, strict=False)
    )


def test_never_shrinks_by_default_and_shrinks_when_asked():
    up_down = [800.0] * 5 + [5.0] * 20
    ctl = AdaptiveBatch(batch_size=8, max_batch_size=1024, warmup_updates=1, cooldown_updates=2)
    state = _run(ctl, up_down)
    assert _changes(state) == [(1, 8, 512)]
    # 512 -> shrink while B_simple=5 < B / 2: 512 -> ... -> 16 (5 < 16/2), 8 = the floor
    shrink = AdaptiveBatch(
        batch_size=8, max_batch_size=1024, warmup_updates=1, cooldown_updates=2, allow_shrink=True
    )
    state = _run(shrink, up_down)
    assert _changes(state) == [(1, 8, 512), (6, 512, 8)]


def test_no_decision_without_a_usable_estimate():
    ctl = AdaptiveBatch(batch_size=8, max_batch_size=64, warmup_updates=0)
    state = _run(ctl, [math.nan, -3.0, math.inf, 0.0])
    assert state.decisions == () and state.updates == 4
    with pytest.raises(TypeError, match="b_simple"):
        ctl.update(state, "big", time=1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="time"):
        ctl.update(state, 10.0, time=-1.0)


def test_lr_coupling_keeps_what_the_docs_say():
    n = 10_000
    trace = [40.0 * u for u in range(1, 40)]
    for coupling, kept in (("linear", "sgd"), ("sqrt", "adam"), ("none", None)):
        ctl = AdaptiveBatch(
            batch_size=16,
            max_batch_size=1024,
            warmup_updates=2,
            cooldown_updates=3,
            lr_coupling=coupling,
            lr=Constant(lr=0.1),
        )
        state = _run(ctl, trace)
        assert len(state.decisions) >= 3
        for d in state.decisions:
            sgd_noise = d.lr * n / d.new_batch_size  # lr N / B (Smith et al. 2018)
            adam_noise = d.lr**2 / d.new_batch_size  # lr^2 / B (Malladi et al. 2022)
            if kept == "sgd":
                assert sgd_noise == pytest.approx(0.1 * n / 16, rel=1e-12)
            elif kept == "adam":
                assert adam_noise == pytest.approx(0.01 / 16, rel=1e-12)
            else:
                assert d.lr == 0.1 and sgd_noise < 0.1 * n / 16
        assert ctl.lr_at(state, 0.3) == pytest.approx(state.decisions[-1].lr)


def test_auto_cap_is_the_measured_noise_scale_bounded_by_a_tenth_of_the_data():
    ctl = AdaptiveBatch(
        batch_size=16,
        max_batch_size="auto",
        granularity=8,
        dataset_size=4000,
        warmup_updates=3,
        cooldown_updates=2,
    )
    trace = [1.0, 2.0, 101.0, 101.0, 101.0, 350.0, 350.0, 350.0, 2000.0, 2000.0]
    state = ctl.init()
    caps = []
    for u, b in enumerate(trace, start=1):
        state = ctl.update(state, b, time=u / 10)
        caps.append(state.max_batch_size)
    # measured at u=3 (first after warm-up): floor_8(101) = 96; rises to floor_8(350) = 344,
    # then min(2000, 0.1 * 4000) = 400.
    assert state.b_simple_early == 101.0
    assert caps == [None, None, 96, 96, 96, 344, 344, 344, 400, 400]
    # 16 -> 64 (64 <= 101 < 128, cap 96 allows it);
    # 64 -> 256 at u=6 (256 <= 350 < 512, 344 // 64 = 5)
    assert _changes(state)[:2] == [(3, 16, 64), (6, 64, 256)]
    assert [d.max_batch_size for d in state.decisions][:2] == [96, 344]
    assert all(d.new_batch_size <= d.max_batch_size for d in state.decisions)


def test_auto_cap_follows_the_margin():
    # margin 0.5: the rule allows batches up to 2 x B_simple, and so does the cap
    ctl = AdaptiveBatch(
        batch_size=10, max_batch_size="auto", dataset_size=10_000, margin=0.5, warmup_updates=0
    )
    state = ctl.update(ctl.init(), 64.0, time=0.1)
    assert state.max_batch_size == 128
    assert _changes(state) == [(1, 10, 80)]  # 0.5 * 10 * 2**3 = 40 <= 64 < 80; cap 128 // 10 = 12


def _reference_target(b0, batch, b_simple, cap, factor, margin):
    """Brute force: every integer k >= 2 that is a power of factor or the cap's quotient."""
    best = batch
    for j in range(1, 40):
        if margin * batch * factor**j <= b_simple:
            best = batch * factor**j
    if best > cap:
        best = batch * (cap // batch)
    return best if best >= 2 * batch else batch


@settings(max_examples=80, deadline=None)
@given(
    b0_units=st.integers(1, 8),
    granularity=st.sampled_from([1, 4, 12]),
    cap_units=st.integers(1, 300),
    factor=st.integers(2, 4),
    margin=st.floats(0.5, 3.0),
    warmup=st.integers(0, 5),
    cooldown=st.integers(1, 5),
    trace=st.lists(st.floats(-10.0, 5000.0), min_size=1, max_size=40),
)
def test_random_traces_match_a_brute_force_reference(
    b0_units, granularity, cap_units, factor, margin, warmup, cooldown, trace
):
    b0 = b0_units * granularity
    cap = max(b0, cap_units * granularity)
    ctl = AdaptiveBatch(
        batch_size=b0,
        max_batch_size=cap,
        granularity=granularity,
        factor=factor,
        margin=margin,
        warmup_updates=warmup,
        cooldown_updates=cooldown,
    )
    state = _run(ctl, trace)
    batch, last, expected = b0, None, []
    for u, b in enumerate(trace, start=1):
        if u < warmup or not b > 0 or (last is not None and u - last < cooldown):
            continue
        new = _reference_target(b0, batch, b, cap, factor, margin)
        if new != batch:
            expected.append((u, batch, new))
            batch, last = new, u
    assert _changes(state) == expected
    sizes = [b0] + [d.new_batch_size for d in state.decisions]
    assert all(s % granularity == 0 and s <= cap for s in sizes)
    assert all(b > a and b % a == 0 for a, b in itertools.pairwise(sizes))


def test_state_round_trip_mid_run_into_fresh_objects():
    config = AdaptiveBatch(
        batch_size=16,
        max_batch_size="auto",
        dataset_size=50_000,
        warmup_updates=4,
        cooldown_updates=3,
        lr_coupling="sqrt",
        lr=Constant(lr=1e-3),
    )
    rng = np.random.default_rng(0)
    trace = list(np.cumsum(rng.uniform(0, 30, size=60)))
    whole = _run(config, trace)
    half = _run(config, trace[:27])
    saved = json.dumps({"controller": config.to_config(), "state": half.to_dict()})
    loaded = json.loads(saved)
    fresh = from_config(loaded["controller"])
    resumed = _run(fresh, trace[27:], AdaptiveBatchState.from_dict(loaded["state"]), start=27)
    assert fresh == config
    assert resumed == whole
    assert len(whole.decisions) >= 3
    assert fresh.schedule(resumed) == config.schedule(whole)
    with pytest.raises(ValueError, match="missing"):
        AdaptiveBatchState.from_dict({"batch_size": 4})


def test_decisions_as_rows_and_as_a_schedule():
    ctl = AdaptiveBatch(batch_size=10, max_batch_size=80, warmup_updates=0, dataset_size=100)
    state = ctl.init()
    state = ctl.update(state, 25.0, time=0.3)
    state = ctl.update(state, 25.0, time=0.5)
    row = state.decisions[0].as_row()
    assert row["old_batch_size"] == 10 and row["new_batch_size"] == 20 and row["time"] == 0.3
    assert math.isnan(row["lr"]) and row["b_simple"] == 25.0
    sched = ctl.schedule(state)
    # the loader's view: 3 batches of 10 up to sample 30, then batches of 20
    assert epoch_batch_sizes(sched, 100, 0).tolist() == [10, 10, 10, 20, 20, 20, 10]
    assert sched(1.7) == 20


def test_piecewise_schedule_against_a_loop_and_its_config():
    s = BatchPiecewise(4, boundaries=[0.5, 2, 2.25], batch_sizes=[8, 32, 16], clock="sample")
    for t in np.linspace(0, 3, 61):
        expected = 4
        for b, v in zip([0.5, 2, 2.25], [8, 32, 16], strict=False):
            if t >= b:
                expected = v
        assert s(float(t)) == expected
    assert from_config(s.to_config()) == s
    with pytest.raises(ValueError, match="boundaries"):
        BatchPiecewise(4, boundaries=[1.0, 1.0], batch_sizes=[8, 16])
    with pytest.raises(ValueError, match="batch_sizes"):
        BatchPiecewise(4, boundaries=[1.0], batch_sizes=[])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 10, "granularity": 4}, "multiple of granularity"),
        ({"max_batch_size": 6}, "max_batch_size"),
        ({"max_batch_size": "big"}, "auto"),
        ({"max_batch_size": "auto"}, "dataset_size"),
        ({"factor": 1}, "factor"),
        ({"margin": 0.0}, "margin"),
        ({"cooldown_updates": 0}, "cooldown_updates"),
        ({"warmup_updates": -1}, "warmup_updates"),
        ({"lr_coupling": "cubic"}, "lr_coupling"),
        ({"min_batch_size": 16}, "min_batch_size"),
        ({"max_fraction": 0.0}, "max_fraction"),
        ({"clock": "step"}, "clock"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    args = {"batch_size": 8, "max_batch_size": 64, **kwargs}
    with pytest.raises((TypeError, ValueError), match=match):
        AdaptiveBatch(**args)
