"""from_hf against transformers.get_scheduler: stepped on a real optimizer, every step 0..N."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from lrkit.schedules import HF_NAMES, from_hf

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

LR = 3e-4

# (name, num_warmup_steps, num_training_steps, scheduler_specific_kwargs)
CASES: list[tuple[str, int | None, int | None, dict[str, Any]]] = (
    [
        ("linear", 0, 500, {}),
        ("linear", 37, 500, {}),
        ("cosine", 0, 400, {}),
        ("cosine", 25, 400, {}),
        ("cosine", 25, 400, {"num_cycles": 1.5}),
        ("cosine", 1, 401, {"num_cycles": 0.25}),
        ("cosine_with_restarts", 0, 300, {}),
        ("cosine_with_restarts", 20, 320, {"num_cycles": 3}),
        ("cosine_with_restarts", 7, 307, {"num_cycles": 4}),
        ("cosine_with_restarts", 10, 109, {"num_cycles": 3}),
        ("polynomial", 0, 300, {}),
        ("polynomial", 30, 300, {"lr_end": 1e-6, "power": 2.0}),
        ("polynomial", 30, 300, {"lr_end": 0.0, "power": 0.5}),
        ("constant", None, None, {}),
        ("constant_with_warmup", 0, None, {}),
        ("constant_with_warmup", 40, None, {}),
        ("inverse_sqrt", 0, None, {}),
        ("inverse_sqrt", 50, None, {}),
        ("inverse_sqrt", 50, None, {"timescale": 200}),
        ("cosine_with_min_lr", 0, 400, {"min_lr": 1e-5}),
        ("cosine_with_min_lr", 30, 400, {"min_lr_rate": 0.1}),
        ("cosine_with_min_lr", 30, 400, {"min_lr_rate": 0.0, "num_cycles": 1.0}),
        ("cosine_warmup_with_min_lr", 0, 400, {"min_lr_rate": 0.1}),
        ("cosine_warmup_with_min_lr", 1, 400, {"min_lr_rate": 0.1}),
        ("cosine_warmup_with_min_lr", 2, 400, {"min_lr": 3e-5}),
        ("cosine_warmup_with_min_lr", 30, 400, {"min_lr_rate": 0.05}),
        ("cosine_warmup_with_min_lr", 30, 400, {"min_lr_rate": 0.05, "warmup_lr_rate": 0.1}),
        ("cosine_warmup_with_min_lr", 1, 400, {"min_lr_rate": 0.05, "warmup_lr_rate": 0.2}),
        ("cosine_warmup_with_min_lr", 30, 400, {"min_lr_rate": 0.0, "num_cycles": 0.75}),
    ]
    + [
        (
            "warmup_stable_decay",
            w,
            1000,
            {"num_decay_steps": 200, "warmup_type": wt, "decay_type": dt, "min_lr_ratio": r},
        )
        for w in (0, 50)
        for wt in ("linear", "cosine", "1-sqrt")
        for dt in ("linear", "cosine", "1-sqrt")
        for r in (0.0, 0.1)
    ]
    + [
        ("warmup_stable_decay", 20, None, {"num_decay_steps": 30, "num_stable_steps": 100}),
        ("warmup_stable_decay", 20, 500, {"num_decay_steps": 0}),
    ]
)


def _hf_trajectory(name: str, w: int | None, n: int | None, kw: dict[str, Any], steps: int):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=LR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's "step() before optimizer.step()" notice
        sched = transformers.get_scheduler(
            name,
            opt,
            num_warmup_steps=w,
            num_training_steps=n,
            scheduler_specific_kwargs=kw,
        )
        out = [opt.param_groups[0]["lr"]]
        for _ in range(steps):
            opt.step()
            sched.step()
            out.append(opt.param_groups[0]["lr"])
    return np.array(out)


@pytest.mark.parametrize(("name", "w", "n", "kw"), CASES, ids=lambda v: str(v))
def test_equals_hugging_face_at_every_step(name: str, w: Any, n: Any, kw: dict[str, Any]) -> None:
    steps = n if n is not None else 1_000
    if name == "warmup_stable_decay" and n is None:
        steps = w + kw["num_decay_steps"] + kw["num_stable_steps"]
    expected = _hf_trajectory(name, w, n, kw, steps)
    got = from_hf(name, LR, w, n, **kw)(np.arange(steps + 1))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15 * LR)
    assert np.all(got >= 0.0)


def test_every_non_reactive_scheduler_type_is_covered() -> None:
    names = {t.value for t in transformers.SchedulerType}
    assert names - set(HF_NAMES) == {"reduce_lr_on_plateau", "greedy"}
    assert {c[0] for c in CASES} == set(HF_NAMES)


def test_past_the_end_the_value_at_the_end_is_held() -> None:
    s = from_hf("cosine", LR, 10, 100, num_cycles=1.5)
    assert np.all(s(np.arange(100, 300)) == s(100))


@pytest.mark.parametrize("name", ["reduce_lr_on_plateau", "greedy"])
def test_reactive_names_say_what_to_use(name: str) -> None:
    with pytest.raises(ValueError, match="reacts to a metric"):
        from_hf(name, LR)


@pytest.mark.parametrize(
    ("args", "kw", "error", "match"),
    [
        (("nope", LR, 0, 10), {}, ValueError, "name must be one of"),
        (("linear", LR, None, 10), {}, ValueError, "requires num_warmup_steps"),
        (("linear", LR, 0, None), {}, ValueError, "requires num_training_steps"),
        (("linear", LR, 10, 10), {}, ValueError, "num_training_steps must be >= 11"),
        (("linear", LR, 1.5, 10), {}, TypeError, "num_warmup_steps must be an integer"),
        (("linear", LR, 0, 10), {"num_cycles": 2}, TypeError, "takes no argument 'num_cycles'"),
        (("polynomial", LR, 0, 10), {"lr_end": 1.0}, ValueError, "lr_end must be < lr"),
        (("cosine_with_min_lr", LR, 0, 10), {}, ValueError, "min_lr or min_lr_rate"),
        (("cosine_with_min_lr", LR, 0, 10), {"min_lr_rate": 2.0}, ValueError, "min_lr_rate"),
        (
            ("warmup_stable_decay", LR, 0, 10),
            {"num_decay_steps": 20},
            ValueError,
            "must be <= num_training_steps",
        ),
        (
            ("warmup_stable_decay", LR, 0, 10),
            {"num_decay_steps": 2, "num_cycles": 1.0},
            ValueError,
            "num_cycles",
        ),
        (("linear", -1.0, 0, 10), {}, ValueError, "lr must be > 0"),
    ],
)
def test_bad_arguments_are_named(args: Any, kw: Any, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        from_hf(*args, **kw)
