"""BatchOnPlateau: torch's plateau decisions, answered by a batch a ScheduledLoader follows."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrkit.batch_size import BatchOnPlateau, BatchPlateauState
from lrkit.schedules import PlateauDecision, ReduceOnPlateau

torch = pytest.importorskip("torch")
from lrkit.torch import ScheduledLoader  # noqa: E402

options = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(["min", "max"]),
        "factor": st.sampled_from([0.5, 0.25]),
        "patience": st.integers(0, 3),
        "threshold": st.sampled_from([0.0, 1e-4, 0.05]),
        "threshold_mode": st.sampled_from(["rel", "abs"]),
        "cooldown": st.integers(0, 2),
    }
)
traces = st.lists(st.sampled_from([1.0, 0.9, 0.5, 2.0, 0.0, math.nan]), min_size=1, max_size=40)


def _torch_lrs(options: dict[str, Any], trace: list[float], **extra: Any) -> list[float]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **options, **extra)
    out = []
    for m in trace:
        ref.step(m)
        out.append(opt.param_groups[0]["lr"])
    return out


@settings(max_examples=150, deadline=None)
@given(options, traces)
def test_with_no_room_to_grow_it_is_torchs_reduce_on_plateau(options: dict, trace: list) -> None:
    rule = BatchOnPlateau(ReduceOnPlateau(**options, min_lr=1e-4), 32, max_batch_size=32)
    state = rule.init(0.1)
    got = []
    for epoch, m in enumerate(trace, start=1):
        state, decision = rule.update(state, m, time=epoch)
        assert decision is not PlateauDecision.GROW_BATCH
        got.append(state.plateau.lrs[0])
    assert got == _torch_lrs(options, trace, min_lr=1e-4)


@settings(max_examples=150, deadline=None)
@given(options, traces, st.sampled_from([32, 48, 512, 4096]))
def test_the_noise_scale_lr_over_batch_falls_as_torchs_lr(
    options: dict, trace: list, cap: int
) -> None:
    rule = BatchOnPlateau(ReduceOnPlateau(**options, min_lr=0.0, eps=0.0), 16, cap, granularity=16)
    state = rule.init(0.1)
    expected = _torch_lrs(options, trace, min_lr=0.0, eps=0.0)
    for epoch, (m, torch_lr) in enumerate(zip(trace, expected, strict=True), start=1):
        state, _ = rule.update(state, m, time=epoch)
        batch = rule.batch_size_at(state, epoch)
        assert 16 <= batch <= cap and batch % 16 == 0
        assert state.plateau.lrs[0] / batch == pytest.approx(torch_lr / 16, rel=1e-12)


def test_a_scheduled_loader_follows_the_decisions_and_a_resume_continues() -> None:
    rule = BatchOnPlateau(ReduceOnPlateau(factor=0.5, patience=0), 4, 16)
    losses = [1.0, 0.5, 0.5, 0.4, 0.4, 0.4, 0.3]
    state = rule.init(0.1)
    loader = ScheduledLoader(list(range(64)), rule.batch_schedule(state), shuffle=False)
    expected_batch, seen, log = 4, [], []
    for epoch, loss in enumerate(losses):
        sizes = {len(b) for b in loader}
        seen.append(sizes)
        assert sizes == {expected_batch}, (epoch, sizes)
        state, decision = rule.update(state, loss, time=loader.time)
        log.append(decision)
        if decision is PlateauDecision.GROW_BATCH:
            expected_batch *= 2
        # the hook a loader needs: follow the decided schedule from the next epoch
        loader.set_schedule(rule.batch_schedule(state))
        if epoch == 3:  # save and resume mid-run, into a fresh controller, through JSON
            saved = json.dumps(state.to_dict())
            rule = BatchOnPlateau(ReduceOnPlateau(factor=0.5, patience=0), 4, 16)
            state = BatchPlateauState.from_dict(json.loads(saved))
    assert log == [
        PlateauDecision.HOLD,
        PlateauDecision.HOLD,
        PlateauDecision.GROW_BATCH,
        PlateauDecision.HOLD,
        PlateauDecision.GROW_BATCH,
        PlateauDecision.CUT_LR,
        PlateauDecision.HOLD,
    ]
    assert seen[-1] == {16} and state.plateau.lrs == (0.05,)


def test_bad_arguments_are_named() -> None:
    plateau = ReduceOnPlateau()
    with pytest.raises(ValueError, match="max_batch_size must be >= batch_size"):
        BatchOnPlateau(plateau, 64, 32)
    with pytest.raises(ValueError, match="multiple of granularity"):
        BatchOnPlateau(plateau, 64, 100, granularity=8)
    with pytest.raises(TypeError, match="plateau must be a ReduceOnPlateau"):
        BatchOnPlateau(0.1, 64, 128)  # type: ignore[arg-type]
    rule = BatchOnPlateau(ReduceOnPlateau(patience=0), 8, 64)
    state, _ = rule.update(rule.init(0.1), 1.0, time=1)
    state, decision = rule.update(state, 1.0, time=2)
    assert decision is PlateauDecision.GROW_BATCH
    with pytest.raises(ValueError, match="after the last growth"):
        rule.update(state, 1.0, time=2)


def test_config_and_spec_round_trip() -> None:
    from lrkit._config import from_config, parse_spec

    rule = BatchOnPlateau(ReduceOnPlateau(factor=0.2, patience=2), 32, 800, granularity=16)
    assert from_config(json.loads(json.dumps(rule.to_config()))) == rule
    assert parse_spec(rule.to_spec()) == rule
