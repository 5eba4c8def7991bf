"""Hugging Face ``transformers.get_scheduler`` names as lrkit schedules: :func:`from_hf`.

Each name maps to a composition of lrkit schedules equal to the Hugging Face
``LambdaLR`` at every step ``0 .. num_training_steps`` (to rounding), including its
off-by-one choices (table in ``docs/schedules.md``). Past the end, lrkit holds the
value it reached; Hugging Face's cosines climb back up and its inverse square root
never ends (that one never ends here either).
"""

from __future__ import annotations

import numbers
from typing import Any

from ._base import Schedule, check_positive
from ._combinators import Join, Shift, Warmup
from ._constant import Constant
from ._decay import CosineDecay, LinearDecay, PolynomialDecay
from ._restarts import CosineCycles
from ._rsqrt import InverseSqrt
from ._wsd import WarmupStableDecay

__all__ = ["HF_NAMES", "REACTIVE_HF_NAMES", "from_hf"]

# name -> the scheduler-specific keyword arguments it takes, with Hugging Face's defaults
_KWARGS: dict[str, dict[str, Any]] = {
    "linear": {},
    "cosine": {"num_cycles": 0.5},
    "cosine_with_restarts": {"num_cycles": 1},
    "polynomial": {"lr_end": 1e-7, "power": 1.0},
    "constant": {},
    "constant_with_warmup": {},
    "inverse_sqrt": {"timescale": None},
    "cosine_with_min_lr": {"num_cycles": 0.5, "min_lr": None, "min_lr_rate": None},
    "cosine_warmup_with_min_lr": {
        "num_cycles": 0.5,
        "min_lr": None,
        "min_lr_rate": None,
        "warmup_lr_rate": None,
    },
    "warmup_stable_decay": {
        "num_decay_steps": None,
        "num_stable_steps": None,
        "warmup_type": "linear",
        "decay_type": "cosine",
        "min_lr_ratio": 0.0,
        "num_cycles": 0.5,
    },
}
HF_NAMES: tuple[str, ...] = tuple(_KWARGS)
REACTIVE_HF_NAMES = ("reduce_lr_on_plateau", "greedy")


def _steps(name: str, value: Any, *, low: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")
    return int(value)


def _ratio(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    out = float(value)
    if not 0.0 <= out <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return out


def _warmup(inner: Schedule, warmup_steps: int) -> Schedule:
    """Hugging Face's ``t / W`` ramp from 0, the inner schedule from ``t = W`` on local time."""
    return inner if warmup_steps == 0 else Warmup(inner, warmup_steps)


def _min_lr_rate(lr: float, kwargs: dict[str, Any]) -> float:
    min_lr, rate = kwargs["min_lr"], kwargs["min_lr_rate"]
    if min_lr is not None and rate is not None:
        raise ValueError("give min_lr or min_lr_rate, not both (as Hugging Face)")
    if min_lr is None and rate is None:
        raise ValueError("cosine_with_min_lr needs min_lr or min_lr_rate (as Hugging Face)")
    return _ratio("min_lr / lr", min_lr / lr) if rate is None else _ratio("min_lr_rate", rate)


def from_hf(
    name: str,
    lr: float,
    num_warmup_steps: int | None = None,
    num_training_steps: int | None = None,
    **scheduler_specific_kwargs: Any,
) -> Schedule:
    """The lrkit schedule equal to ``transformers.get_scheduler(name, ...)`` on a base rate ``lr``.

    ``from_hf(name, lr, W, N, **kw)(t)`` equals the learning rate that Hugging Face's
    scheduler (built on an optimizer whose rate is ``lr``, with the same arguments)
    gives after ``t`` calls of ``step()``, for every ``t`` in ``0 .. N``, to rounding
    (1e-12 of ``lr``). Past ``N`` lrkit holds its value at ``N`` (Hugging Face's
    cosines oscillate back up; ``inverse_sqrt`` never ends, in both). Hugging Face's
    off-by-one choices are kept, e.g. ``cosine_warmup_with_min_lr`` starts at
    ``lr / W`` and reaches its floor at ``N - 1``. Needs no ``transformers``.

    Args:
        name: a non-reactive ``transformers.SchedulerType`` value, one of :data:`HF_NAMES`.
        lr: the optimizer's initial learning rate, > 0.
        num_warmup_steps: ``W``, an integer >= 0 (required, as in Hugging Face, except
            for ``constant``).
        num_training_steps: ``N``, an integer > ``W`` (required except for ``constant``,
            ``constant_with_warmup``, ``inverse_sqrt`` and a ``warmup_stable_decay``
            given ``num_stable_steps``).
        **scheduler_specific_kwargs: Hugging Face's ``scheduler_specific_kwargs`` for
            ``name`` (``num_cycles``, ``lr_end``, ``power``, ``timescale``, ``min_lr``,
            ``min_lr_rate``, ``warmup_lr_rate``, ``num_decay_steps``, ``num_stable_steps``,
            ``warmup_type``, ``decay_type``, ``min_lr_ratio``).

    Returns:
        A :class:`~lrkit.schedules.Schedule` (a composition of lrkit's own schedules).

    Raises:
        ValueError: an unknown or reactive name (``reduce_lr_on_plateau`` points to
            :class:`~lrkit.schedules.ReduceOnPlateau`), a missing or bad step count,
            ``N <= W`` (a decay of no length), or a degenerate case lrkit cannot
            express (``cosine_warmup_with_min_lr`` with ``W = 1`` and
            ``warmup_lr_rate = 0``; ``warmup_stable_decay`` with ``num_cycles != 0.5``).
        TypeError: an argument that ``name`` does not take, or a non-number.

    Example:
        >>> s = from_hf("linear", lr=1.0, num_warmup_steps=10, num_training_steps=110)
        >>> s(0), s(5), s(10), s(60), s(110)
        (0.0, 0.5, 1.0, 0.5, 0.0)
    """
    if name == "reduce_lr_on_plateau":
        raise ValueError(
            "'reduce_lr_on_plateau' reacts to a metric and is no schedule: use "
            "lrkit.schedules.ReduceOnPlateau(...) with lrkit.torch.PlateauScheduler(optimizer, "
            "plateau), which take torch's ReduceLROnPlateau arguments and decisions"
        )
    if name == "greedy":
        raise ValueError(
            "'greedy' (Hugging Face's GreedyLR) reacts to a metric and has no lrkit equivalent; "
            "lrkit.schedules.ReduceOnPlateau is the reactive controller lrkit has"
        )
    if name not in _KWARGS:
        raise ValueError(
            f"name must be one of {', '.join(map(repr, HF_NAMES))} (Hugging Face scheduler "
            f"names), got {name!r}"
        )
    lr = check_positive("lr", lr)
    unknown = sorted(set(scheduler_specific_kwargs) - set(_KWARGS[name]))
    if unknown:
        raise TypeError(
            f"{name!r} takes no argument {unknown[0]!r}; it takes "
            f"{sorted(_KWARGS[name]) or 'no scheduler-specific arguments'}"
        )
    kw = {**_KWARGS[name], **scheduler_specific_kwargs}
    if name == "constant":
        return Constant(lr)
    if num_warmup_steps is None:
        raise ValueError(f"{name} requires num_warmup_steps (as in Hugging Face)")
    w = _steps("num_warmup_steps", num_warmup_steps)
    if name == "constant_with_warmup":
        return _warmup(Constant(lr), w)
    if name == "inverse_sqrt":
        timescale = kw["timescale"]
        if timescale is None:
            timescale = w or 10_000  # Hugging Face's default
        return InverseSqrt(lr, w, timescale)
    if name == "warmup_stable_decay":
        return _wsd(lr, w, num_training_steps, kw)
    if num_training_steps is None:
        raise ValueError(f"{name} requires num_training_steps (as in Hugging Face)")
    n = _steps("num_training_steps", num_training_steps, low=w + 1)
    span = n - w
    if name == "linear":
        return _warmup(LinearDecay(lr, span), w)
    if name == "cosine":
        return _warmup(CosineDecay(lr, span, num_cycles=kw["num_cycles"]), w)
    if name == "cosine_with_restarts":
        return _warmup(CosineCycles(lr, span, num_cycles=kw["num_cycles"]), w)
    if name == "polynomial":
        lr_end = kw["lr_end"]
        if not lr > lr_end:
            raise ValueError(f"lr_end must be < lr={lr!r} (as in Hugging Face), got {lr_end!r}")
        return _warmup(PolynomialDecay(lr, span, lr_end, kw["power"]), w)
    rate = _min_lr_rate(lr, kw)
    if name == "cosine_with_min_lr":
        return _warmup(CosineDecay(lr, span, rate * lr, kw["num_cycles"]), w)
    return _cosine_warmup_with_min_lr(lr, w, n, rate, kw)


def _cosine_warmup_with_min_lr(
    lr: float, w: int, n: int, rate: float, kw: dict[str, Any]
) -> Schedule:
    """Hugging Face's ``cosine_warmup_with_min_lr``: everything one step early.

    Its ramp is ``(t + 1) / W`` (or ``r + (1 - r) t / (W - 1)``), peaking at ``W - 1``, and
    its cosine runs on ``(t - W + 1) / (N - W)``, so it reaches the floor at ``N - 1``
    and is one step up the climb back at ``N``. The cosine below lasts ``N - W + 1``
    local steps at the same frequency, so it holds Hugging Face's value at ``N``.
    """
    span = n - w
    cosine = CosineDecay(lr, span + 1, rate * lr, kw["num_cycles"] * (span + 1) / span)
    warmup_rate = kw["warmup_lr_rate"]
    start = lr / max(w, 1) if warmup_rate is None else _ratio("warmup_lr_rate", warmup_rate) * lr
    if w == 0:
        return Shift(cosine, 1)
    if w >= 2:
        return Warmup(cosine, w - 1, start_lr=start)
    if warmup_rate is None:
        return cosine
    if start <= 0.0:
        raise ValueError(
            "cosine_warmup_with_min_lr with num_warmup_steps=1 and warmup_lr_rate=0 holds a rate "
            "of 0 for one step, which an lrkit schedule cannot express"
        )
    return Join((Constant(start), Shift(cosine, 1)), (1,))


def _wsd(lr: float, w: int, num_training_steps: int | None, kw: dict[str, Any]) -> Schedule:
    if kw["num_decay_steps"] is None:
        raise ValueError("warmup_stable_decay needs num_decay_steps (as in Hugging Face)")
    d = _steps("num_decay_steps", kw["num_decay_steps"])
    if kw["num_stable_steps"] is not None:
        stable = _steps("num_stable_steps", kw["num_stable_steps"])
    elif num_training_steps is not None:
        n = _steps("num_training_steps", num_training_steps)
        stable = n - w - d
        if stable < 0:
            raise ValueError(
                f"num_warmup_steps + num_decay_steps = {w + d} must be <= num_training_steps={n}"
            )
    else:
        raise ValueError(
            "warmup_stable_decay needs num_training_steps or num_stable_steps (as in Hugging Face)"
        )
    if kw["num_cycles"] != 0.5:
        raise ValueError(
            f"lrkit's wsd decays along a half cosine (num_cycles=0.5); got num_cycles="
            f"{kw['num_cycles']!r}"
        )
    total = w + stable + d
    if total == 0:
        raise ValueError("warmup_stable_decay with no warm-up, stable or decay steps is empty")
    floor = _ratio("min_lr_ratio", kw["min_lr_ratio"]) * lr
    return WarmupStableDecay(
        lr,
        total,
        warmup_steps=w,
        decay_steps=d,
        end_lr=floor,
        start_lr=floor,
        warmup_shape=kw["warmup_type"],
        decay_shape=kw["decay_type"],
    )
