"""PlateauScheduler against torch.optim.lr_scheduler.ReduceLROnPlateau on random metric traces."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrkit.schedules import PlateauDecision, ReduceOnPlateau

torch = pytest.importorskip("torch")
from lrkit.torch import PlateauScheduler  # noqa: E402

LRS = (0.1, 0.03)

options = st.fixed_dictionaries(
    {
        "mode": st.sampled_from(["min", "max"]),
        "factor": st.sampled_from([0.1, 0.5, 0.9, 0.333]),
        "patience": st.integers(0, 4),
        "threshold": st.sampled_from([0.0, 1e-4, 0.05, 0.5]),
        "threshold_mode": st.sampled_from(["rel", "abs"]),
        "cooldown": st.integers(0, 3),
        "min_lr": st.one_of(
            st.sampled_from([0.0, 1e-3, 0.02]),
            st.tuples(st.sampled_from([0.0, 1e-3]), st.sampled_from([0.0, 5e-3])),
        ),
        "eps": st.sampled_from([0.0, 1e-8, 1e-3]),
    }
)
# Metrics from a small set (ties and exact repeats happen), plus rare non-finite values.
metrics = st.one_of(
    st.sampled_from([1.0, 0.9, 0.5, 0.5001, 2.0, -1.0, 0.0]),
    st.floats(-3.0, 3.0),
    st.sampled_from([math.nan, math.inf, -math.inf]),
)
traces = st.lists(metrics, min_size=1, max_size=60)


def _pair(options: dict[str, Any]) -> tuple[Any, Any, Any, PlateauScheduler]:
    def optimizer() -> Any:
        params = [torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))]
        return torch.optim.SGD(
            [{"params": [p], "lr": lr} for p, lr in zip(params, LRS, strict=True)]
        )

    torch_kw = dict(options)
    if isinstance(torch_kw.get("min_lr"), tuple):
        torch_kw["min_lr"] = list(torch_kw["min_lr"])
    ref_opt, opt = optimizer(), optimizer()
    ref = torch.optim.lr_scheduler.ReduceLROnPlateau(ref_opt, **torch_kw)
    return ref_opt, ref, opt, PlateauScheduler(opt, ReduceOnPlateau(**options))


def _lrs(opt: Any) -> list[float]:
    return [g["lr"] for g in opt.param_groups]


@settings(max_examples=300, deadline=None)
@given(options, traces)
def test_same_rates_as_torch_at_every_step(options: dict[str, Any], trace: list[float]) -> None:
    ref_opt, ref, opt, sched = _pair(options)
    for metric in trace:
        before = _lrs(opt)
        ref.step(metric)
        decision = sched.step(metric)
        assert _lrs(opt) == _lrs(ref_opt)  # bit for bit
        assert (decision is PlateauDecision.CUT_LR) == (_lrs(opt) != before)
        assert sched.state.num_bad == ref.num_bad_epochs
        assert sched.state.cooldown_left == ref.cooldown_counter


@settings(max_examples=100, deadline=None)
@given(options, traces, st.integers(0, 60))
def test_a_mid_trace_save_and_load_into_fresh_objects_continues_exactly(
    options: dict[str, Any], trace: list[float], cut: int
) -> None:
    ref_opt, ref, _, sched = _pair(options)
    cut = min(cut, len(trace))
    for metric in trace[:cut]:
        ref.step(metric)
        sched.step(metric)
    saved = json.loads(json.dumps(sched.state_dict()))  # plain data, through JSON
    ref_saved = copy.deepcopy(ref.state_dict())
    fresh_ref_opt, fresh_ref, fresh_opt, fresh = _pair(options)
    fresh_ref.load_state_dict(ref_saved)
    for g, lr in zip(fresh_ref_opt.param_groups, _lrs(ref_opt), strict=True):
        g["lr"] = lr  # torch keeps its rates in the optimizer, not in its state
    fresh.load_state_dict(saved)
    assert _lrs(fresh_opt) == _lrs(ref_opt)
    for metric in trace[cut:]:
        fresh_ref.step(metric)
        fresh.step(metric)
        assert _lrs(fresh_opt) == _lrs(fresh_ref_opt)


def test_a_state_of_another_controller_is_refused() -> None:
    _, _, opt, sched = _pair({"patience": 2})
    assert sched.optimizer is opt
    other = PlateauScheduler(opt, ReduceOnPlateau(patience=3))
    with pytest.raises(ValueError, match="resume with the controller it was saved with"):
        other.load_state_dict(sched.state_dict())
    with pytest.raises(ValueError, match="not a state saved by"):
        other.load_state_dict({"format": "x"})


def test_decisions_at_the_floor_and_tensor_metrics() -> None:
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=0.1)
    sched = PlateauScheduler(opt, ReduceOnPlateau(factor=0.5, patience=0, min_lr=0.05))
    decisions = [sched.step(torch.tensor(1.0)) for _ in range(4)]
    assert decisions == [
        PlateauDecision.HOLD,
        PlateauDecision.CUT_LR,
        PlateauDecision.AT_FLOOR,
        PlateauDecision.AT_FLOOR,
    ]
    assert opt.param_groups[0]["lr"] == 0.05


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"factor": 1.0}, "factor must be in"),
        ({"factor": 0.0}, "factor must be in"),
        ({"mode": "mean"}, "mode must be one of"),
        ({"threshold_mode": "pct"}, "threshold_mode must be one of"),
        ({"patience": -1}, "patience must be >= 0"),
        ({"patience": 1.5}, "patience must be an integer"),
        ({"cooldown": -2}, "cooldown must be >= 0"),
        ({"threshold": -0.1}, "threshold must be >= 0"),
        ({"min_lr": -1.0}, "min_lr must be >= 0"),
        ({"min_lr": [0.0, -1.0]}, r"min_lr\[1\] must be >= 0"),
        ({"eps": math.nan}, "eps must be finite"),
    ],
)
def test_bad_options_are_named(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises((ValueError, TypeError), match=match):
        ReduceOnPlateau(**kwargs)


def test_a_floor_list_of_the_wrong_length_is_refused() -> None:
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=0.1)
    with pytest.raises(ValueError, match="min_lr has 2 floors for 1 param groups"):
        PlateauScheduler(opt, ReduceOnPlateau(min_lr=[0.0, 0.1]))


def test_config_and_spec_round_trip() -> None:
    from lrkit._config import from_config, parse_spec

    p = ReduceOnPlateau(mode="max", factor=0.5, patience=3, min_lr=[0.0, 1e-3], cooldown=2)
    assert from_config(json.loads(json.dumps(p.to_config()))) == p
    assert parse_spec(p.to_spec()) == p
