"""Drive a PyTorch optimizer with lrkit schedules.

:class:`LRScheduler` writes ``schedule(t)`` into the optimizer's param groups in
closed form from one counter ``t``. It never reads the optimizer's current LR
back, never chains updates and never patches ``optimizer.step``; its state is the
counter plus a fingerprint of the schedule.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler as _TorchLRScheduler

from .._config import _config_to_spec, fingerprint
from ..schedules import Schedule
from ._hyperparams import (
    describe_hyper,
    hyperparams_arg,
    parse_key,
    per_group_or_none,
    set_key,
)

__all__ = ["LRScheduler"]

_STATE_FORMAT = "lrkit.torch.LRScheduler/1"
_UNITS = ("step", "epoch")
_STATE_KEYS = ("time", "unit", "ratios", "schedule", "momentum", "configs")
# Integer times are served from blocks of this many values, evaluated vectorised.
_BLOCK = 512


class _Track:
    """Values of one schedule at integer times, evaluated a block at a time.

    The block goes through the schedule's array path (the reference), so a value
    read here is exactly ``float(schedule(np.array([t])))``.
    """

    __slots__ = ("ahead", "kind", "schedule", "start", "values")

    def __init__(self, schedule: Schedule, kind: str) -> None:
        self.schedule = schedule
        self.kind = kind
        self.start = 0
        self.values: list[float] = []
        self.ahead: dict[float, float] = {}  # fractional times given to prefetch()

    def at(self, t: int | float) -> float:
        if type(t) is int:
            i = t - self.start
            if 0 <= i < len(self.values):
                return self.values[i]
            times = np.arange(t, t + _BLOCK, dtype=np.float64)
            block = np.asarray(self.schedule(times))
            self._check(times, block)
            self.start = t
            self.values = block.tolist()
            return self.values[0]
        known = self.ahead.get(t)
        if known is not None:
            return known
        value = float(self.schedule(t))
        if self.kind != "lr":
            self._check(np.array([t], dtype=np.float64), np.array([value]))
        return value

    def prefetch(self, times: np.ndarray) -> None:
        """Evaluate the schedule at ``times`` in one array call; :meth:`at` reads them."""
        block = np.asarray(self.schedule(times), dtype=np.float64)
        self._check(times, block)
        self.ahead = dict(zip(times.tolist(), block.tolist(), strict=True))

    def _check(self, times: np.ndarray, values: np.ndarray) -> None:
        if self.kind == "lr":
            return
        bad = ~((values >= 0.0) & (values < 1.0))
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"{self.kind} schedule {self.schedule.to_spec()} gives {float(values[i])!r} at "
                f"t={float(times[i])!r}; {self.kind} must be in [0, 1)"
            )


_NO_SEQUENTIAL_LR = (
    "torch's SequentialLR cannot drive lrkit's LRScheduler (it rewinds and restarts each "
    "scheduler, and an lrkit schedule is a value of t): chain the schedules with "
    "lrkit.schedules.Join(schedules, boundaries) and give LRScheduler the result"
)


class LRScheduler(_TorchLRScheduler):
    """Set an optimizer's learning rate (and optionally its momentum) from lrkit schedules.

    After construction and after every :meth:`step`, param group ``i`` has::

        lr_i = schedule(t) * initial_lr_i / initial_lr_0      (one schedule, the default)
        lr_i = schedules[i](t)                                 (one schedule per group)
        momentum_i = momentum(t)   (SGD/RMSprop ``momentum``, or ``betas[0]`` of Adam & co.)

    where ``t`` starts at 0 and each :meth:`step` adds 1 (one optimizer step with
    ``unit="step"``, one epoch with ``unit="epoch"``). :meth:`set_time` jumps to any
    time, fractional epochs included. With one schedule, group 0 follows the
    schedule exactly and every other group keeps its ratio to group 0's initial lr
    (``group["initial_lr"]`` if an earlier scheduler set it, else ``group["lr"]``
    when this scheduler is built), so per-layer learning rates stay proportional.

    Momentum is only written when ``momentum=`` is given: Adam works out of the box.
    It goes into ``betas[0]`` when the group has ``betas``, else into ``momentum``.

    Any other hyperparameter of the param groups follows a schedule through
    ``hyperparams=``, a mapping from a param-group key to a schedule (or one per
    group, ``None`` leaving a group alone): ``{"weight_decay": s}``, Adam's
    ``{"betas[1]": s}`` (an index into a tuple), or a second learning rate that some
    optimizers keep under another key. Like optax's ``inject_hyperparams``, with the
    same exact resume as the learning rate. ``momentum``, ``betas[*]`` and keys
    named ``beta*`` must stay in ``[0, 1)``.

    It is a real :class:`torch.optim.lr_scheduler.LRScheduler`, so PyTorch
    Lightning's ``configure_optimizers`` and other code that checks for one accept
    it. Unlike PyTorch's schedulers it does not patch ``optimizer.step`` and issues
    no call-order warnings (steps that AMP's ``GradScaler`` skips are fine: the
    schedule follows the counter). Call ``step()`` after ``optimizer.step()``. With
    Lightning, return ``{"scheduler": sched, "interval": "step"}`` (or ``"epoch"``)
    as the ``lr_scheduler`` of ``configure_optimizers``.

    Resuming: :meth:`state_dict` is the counter, the unit, the group ratios and a
    fingerprint (and config) of each schedule. Build a fresh scheduler with the same
    schedules and call :meth:`load_state_dict`; the trajectory continues exactly,
    and a state saved with a different schedule is refused.

    Args:
        optimizer: the optimizer to drive.
        schedule: a :class:`~lrkit.schedules.Schedule`, or a sequence with one
            schedule per param group.
        momentum: ``None`` (leave momentum alone), a schedule with values in
            ``[0, 1)``, or a sequence with one per param group.
        hyperparams: ``None``, or ``{key: schedule or [schedule or None per group]}``
            for other param-group keys (``"weight_decay"``, ``"betas[1]"``, ...).
        unit: ``"step"`` or ``"epoch"``: what one :meth:`step` call means. Recorded
            in :meth:`state_dict` so a state is never resumed on another clock.

    Raises:
        TypeError: ``optimizer`` is not a torch optimizer, a schedule is not a
            :class:`~lrkit.schedules.Schedule`, or ``momentum=`` is given for an
            optimizer whose groups have neither ``momentum`` nor ``betas``.
        ValueError: a sequence whose length differs from the number of param
            groups, an unknown ``unit``, or several groups sharing one schedule
            while group 0's initial lr is 0 (no ratio can be formed); a
            ``hyperparams`` key that a scheduled group lacks or that is not a number
            (the message lists the group's keys), ``"lr"``, or a key that
            ``momentum=`` already writes.

    Example:
        >>> import torch
        >>> from lrkit.schedules import Constant
        >>> from lrkit.torch import LRScheduler
        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> opt = torch.optim.SGD([w], lr=1.0)
        >>> sched = LRScheduler(opt, Constant(lr=0.05))
        >>> opt.param_groups[0]["lr"]
        0.05
        >>> opt.step(); sched.step()
        >>> sched.time, sched.get_last_lr()
        (1, [0.05])
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedule: Schedule | Sequence[Schedule],
        *,
        momentum: Schedule | Sequence[Schedule] | None = None,
        hyperparams: Mapping[str, Schedule | Sequence[Schedule | None]] | None = None,
        unit: str = "step",
    ) -> None:
        # torch's __init__ is deliberately not called: it patches optimizer.step and
        # steps once. Everything its public methods read is set here instead.
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {optimizer!r}")
        if unit not in _UNITS:
            raise ValueError(f"unit must be one of {', '.join(map(repr, _UNITS))}; got {unit!r}")
        self.optimizer = optimizer
        self.unit = unit
        groups = optimizer.param_groups
        self.schedule: Schedule | tuple[Schedule, ...] = _schedule_arg(
            "schedule", schedule, len(groups)
        )
        self.momentum: Schedule | tuple[Schedule, ...] | None = (
            None if momentum is None else _schedule_arg("momentum", momentum, len(groups))
        )
        self._shared = isinstance(self.schedule, Schedule)
        for group in groups:
            lr = group["lr"]
            group.setdefault("initial_lr", lr.clone() if isinstance(lr, torch.Tensor) else lr)
        self.base_lrs: list[float | torch.Tensor] = [g["initial_lr"] for g in groups]
        self._ratios = self._initial_ratios()
        self._momentum_keys = [] if self.momentum is None else _momentum_keys(optimizer)
        self._several = len(groups) > 1
        self._tracks = _tracks(_listed(self.schedule), "lr")
        self._momentum_tracks = (
            None
            if self.momentum is None
            else _tracks(_per_group(self.momentum, len(groups)), "momentum")
        )
        self.hyperparams: dict[str, Schedule | tuple[Schedule | None, ...]] = hyperparams_arg(
            hyperparams, optimizer, self._momentum_keys
        )
        self._hyper_tracks = {
            key: _hyper_tracks(value, len(groups), key) for key, value in self.hyperparams.items()
        }
        self._t: int | float = 0
        self._step_count = 1
        self._last_lr: list[float | torch.Tensor] = []
        self._apply()

    # -- the clock ---------------------------------------------------------------------

    @property
    def time(self) -> int | float:
        """The current time ``t`` on the scheduler's clock (an int unless set fractionally)."""
        return self._t

    @property  # type: ignore[override]
    def last_epoch(self) -> int | float:
        """PyTorch's name for :attr:`time`.

        Setting it moves the clock without writing values, as in PyTorch: the next
        :meth:`step` writes the values for ``last_epoch + 1``.
        """
        return self._t

    @last_epoch.setter
    def last_epoch(self, value: int | float) -> None:
        if isinstance(value, (int, float)) and value < 0 and value == self._t - 1:
            # torch's SequentialLR "undoes" each scheduler's first step this way
            raise TypeError(_NO_SEQUENTIAL_LR)
        self._t = _check_time(value, "last_epoch")

    def _initial_step(self) -> None:
        """Refuse torch's restart protocol (``SequentialLR`` calls it at construction)."""
        raise TypeError(_NO_SEQUENTIAL_LR)

    def step(self, epoch: int | None = None) -> None:
        """Advance the clock by one unit and write the new values into the optimizer.

        Raises:
            TypeError: ``epoch`` is given; PyTorch deprecated ``step(epoch)``, use
                :meth:`set_time` instead. Wrapping it in torch's ``SequentialLR``
                also raises this ``TypeError``: chain schedules with
                :class:`~lrkit.schedules.Join`.
        """
        if epoch is not None:
            raise TypeError(
                f"step() takes no epoch (got epoch={epoch!r}): use set_time(t) to jump to a "
                "time, and lrkit.schedules.Join rather than torch's SequentialLR to chain schedules"
            )
        self._t += 1
        self._step_count += 1
        self._apply()

    def set_time(self, t: float) -> None:
        """Jump to time ``t`` (e.g. a fractional epoch) and write the values for it.

        A following :meth:`step` continues from ``t + 1``.

        Raises:
            TypeError: ``t`` is not a real number.
            ValueError: ``t`` is negative, NaN or infinite.
        """
        self._t = _check_time(t, "t")
        self._apply()

    def prefetch(self, times: Sequence[float] | np.ndarray) -> None:
        """Evaluate every schedule at the upcoming fractional ``times`` in one array call.

        A later :meth:`set_time` with one of these times (the same float) reads its
        values from this cache instead of calling the schedules once per update; the
        values are those of the schedules' array path, as for integer times (which
        are always served from blocks). Times not given are computed as before, so
        prefetching never changes what is written, only how fast. Each call replaces
        the previous cache (keep it to about one epoch of updates). State and resume
        are unaffected: the cache is not part of :meth:`state_dict`.

        Raises:
            TypeError: ``times`` is not one-dimensional numbers.
            ValueError: a time is negative, NaN or infinite.

        Example:
            >>> import torch
            >>> from lrkit.schedules import CosineDecay
            >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
            >>> sched = LRScheduler(opt, CosineDecay(0.1, total_steps=2), unit="epoch")
            >>> sched.prefetch([0.25, 0.5, 0.75])
            >>> sched.set_time(0.5)
            >>> round(opt.param_groups[0]["lr"], 6)
            0.085355
        """
        try:
            array = np.asarray(times, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"times must be a sequence of numbers, got {times!r}") from None
        if array.ndim != 1:
            raise TypeError(f"times must be one-dimensional, got shape {array.shape}")
        bad = ~(np.isfinite(array) & (array >= 0.0))
        if bad.any():
            raise ValueError(
                f"times must be finite numbers >= 0, got {float(array[np.argmax(bad)])!r}"
            )
        tracks: list[_Track] = list(self._tracks)
        tracks += self._momentum_tracks or []
        for hyper in self._hyper_tracks.values():
            tracks += [track for track in hyper if track is not None]
        for track in {id(track): track for track in tracks}.values():
            track.prefetch(array)

    # -- values ------------------------------------------------------------------------

    def get_lr(self) -> list[float | torch.Tensor]:
        """The learning rates of the param groups at the current time."""
        return list(self._lrs())

    def get_last_lr(self) -> list[float | torch.Tensor]:
        """The learning rates last written into the param groups."""
        return list(self._last_lr)

    def _lrs(self) -> list[float]:
        t = self._t
        if self._shared:
            value = self._tracks[0].at(t)
            return [value * r for r in self._ratios] if self._several else [value]
        return [track.at(t) for track in self._tracks]

    def _apply(self) -> None:
        lrs = self._lrs()
        groups = self.optimizer.param_groups
        if len(groups) != len(lrs):
            raise ValueError(
                f"this scheduler was built for {len(lrs)} param groups, the optimizer now has "
                f"{len(groups)}; build the scheduler after add_param_group"
            )
        for group, lr in zip(groups, lrs, strict=True):
            if type(group["lr"]) is float:
                group["lr"] = lr
            else:
                _set_value(group, "lr", lr)
        if self._momentum_tracks is not None:
            t = self._t
            for group, key, track in zip(
                groups, self._momentum_keys, self._momentum_tracks, strict=True
            ):
                _set_value(group, key, track.at(t))
        for key, tracks in self._hyper_tracks.items():
            name, index = parse_key(key)
            for group, hyper in zip(groups, tracks, strict=True):
                if hyper is not None:
                    set_key(group, name, index, hyper.at(self._t))
        self._last_lr = lrs  # type: ignore[assignment]

    def _initial_ratios(self) -> list[float]:
        n = len(self.base_lrs)
        if not self._shared or n == 1:
            return [1.0] * n
        lrs = [float(lr) for lr in self.base_lrs]
        if lrs[0] <= 0.0:
            raise ValueError(
                f"param group 0 has initial lr {lrs[0]!r}; with one schedule for "
                f"{n} groups the others keep their ratio to it, so it must be > 0 "
                "(or pass one schedule per group)"
            )
        return [lr / lrs[0] for lr in lrs]

    # -- state -------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The counter, the unit, the group ratios and fingerprints (+ configs) of the schedules."""
        return {
            "format": _STATE_FORMAT,
            "time": self._t,
            "unit": self.unit,
            "ratios": list(self._ratios),
            "schedule": _fingerprints(self.schedule),
            "momentum": _fingerprints(self.momentum),
            "configs": {"schedule": _configs(self.schedule), "momentum": _configs(self.momentum)},
            "hyperparams": self._hyper_state(),
        }

    def _hyper_state(self) -> dict[str, dict[str, Any]]:
        """Per key: the fingerprint and config of each group's schedule (None: left alone)."""
        out = {}
        for key, value in self.hyperparams.items():
            items = per_group_or_none(value, len(self.optimizer.param_groups))
            out[key] = {
                "fingerprints": [None if s is None else fingerprint(s) for s in items],
                "configs": [None if s is None else s.to_config() for s in items],
            }
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`: restore the counter and write its values.

        Raises:
            ValueError: the state was not saved by this class, or with a different
                schedule, momentum schedule, unit or number of param groups.
        """
        state = state_dict
        if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
            raise ValueError(
                f"not a state saved by lrkit.torch.LRScheduler (expected format {_STATE_FORMAT!r})"
            )
        missing = [k for k in _STATE_KEYS if k not in state]
        if missing:
            raise ValueError(
                "a truncated lrkit.torch.LRScheduler state: missing "
                + ", ".join(map(repr, missing))
            )
        for key, mine in (("schedule", self.schedule), ("momentum", self.momentum)):
            if state[key] != _fingerprints(mine):
                was = _describe(state["configs"][key])
                raise ValueError(
                    f"the state was saved with {key} {was} but this scheduler has {key} "
                    f"{_describe(_configs(mine))}; resume with the schedule it was saved with"
                )
        saved_hyper = state.get("hyperparams", {})  # states from before hyperparams= had none
        mine_hyper = self._hyper_state()
        if {k: v["fingerprints"] for k, v in saved_hyper.items()} != {
            k: v["fingerprints"] for k, v in mine_hyper.items()
        }:
            raise ValueError(
                f"the state was saved with hyperparams {describe_hyper(saved_hyper)} but this "
                f"scheduler has {describe_hyper(mine_hyper)}; resume with the schedules it was "
                "saved with"
            )
        if state["unit"] != self.unit:
            raise ValueError(
                f"the state was saved with unit={state['unit']!r}, this scheduler has "
                f"unit={self.unit!r}"
            )
        if len(state["ratios"]) != len(self.optimizer.param_groups):
            raise ValueError(
                f"the state was saved for {len(state['ratios'])} param groups, this optimizer "
                f"has {len(self.optimizer.param_groups)}"
            )
        self._t = _check_time(state["time"], "time")
        self._ratios = [float(r) for r in state["ratios"]]
        self._apply()

    def __repr__(self) -> str:
        extra = "" if self.momentum is None else f", momentum={_describe(_configs(self.momentum))}"
        if self.hyperparams:
            extra += f", hyperparams={describe_hyper(self._hyper_state())}"
        return (
            f"LRScheduler({_describe(_configs(self.schedule))}{extra}, unit={self.unit!r}, "
            f"time={self._t!r})"
        )


def _schedule_arg(name: str, value: Any, n: int) -> Schedule | tuple[Schedule, ...]:
    """Check a schedule argument: one Schedule, or a sequence with one per param group."""
    if isinstance(value, Schedule):
        return value
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a Schedule or a sequence of Schedules, got {value!r}")
    items = tuple(value)
    if len(items) != n:
        raise ValueError(
            f"{name} has {len(items)} schedules but the optimizer has {n} param groups"
        )
    for i, item in enumerate(items):
        if not isinstance(item, Schedule):
            raise TypeError(f"{name}[{i}] must be a Schedule, got {item!r}")
    return items


def _tracks(schedules: list[Schedule], kind: str) -> list[_Track]:
    """One track per schedule; a schedule given for several groups is evaluated once."""
    shared: dict[int, _Track] = {}
    for s in schedules:
        if id(s) not in shared:
            shared[id(s)] = _Track(s, kind)
    return [shared[id(s)] for s in schedules]


def _listed(value: Schedule | tuple[Schedule, ...]) -> list[Schedule]:
    return [value] if isinstance(value, Schedule) else list(value)


def _per_group(value: Schedule | tuple[Schedule, ...], n: int) -> list[Schedule]:
    return [value] * n if isinstance(value, Schedule) else list(value)


def _fingerprints(value: Schedule | tuple[Schedule, ...] | None) -> list[str] | None:
    return None if value is None else [fingerprint(s) for s in _listed(value)]


def _configs(value: Schedule | tuple[Schedule, ...] | None) -> list[dict[str, Any]] | None:
    return None if value is None else [s.to_config() for s in _listed(value)]


def _describe(configs: list[dict[str, Any]] | None) -> str:
    if configs is None:
        return "none"
    specs = [_config_to_spec(c) for c in configs]
    return specs[0] if len(specs) == 1 else "[" + ", ".join(specs) + "]"


def _momentum_keys(optimizer: Optimizer) -> list[str]:
    keys = []
    for i, group in enumerate(optimizer.param_groups):
        if "betas" in group:
            keys.append("betas")
        elif "momentum" in group:
            keys.append("momentum")
        else:
            raise TypeError(
                f"momentum= needs param groups with 'momentum' or 'betas', but param group {i} "
                f"of {type(optimizer).__name__} has neither"
            )
    return keys


def _set_value(group: dict[str, Any], key: str, value: float) -> None:
    """Write ``value`` into ``group[key]``: in place for tensors, into ``betas[0]`` for betas."""
    if key == "betas":
        betas = group["betas"]
        if isinstance(betas[0], torch.Tensor):
            betas[0].fill_(value)
        else:
            group["betas"] = (value, *tuple(betas)[1:])
    elif isinstance(group[key], torch.Tensor):
        group[key].fill_(value)
    else:
        group[key] = value


def _hyper_tracks(
    value: Schedule | tuple[Schedule | None, ...], n: int, key: str
) -> list[_Track | None]:
    """One track per group (None where left alone); a shared schedule is evaluated once."""
    name, index = parse_key(key)
    kind = key if (index is not None and name == "betas") or name.startswith("beta") else "lr"
    kind = "momentum" if name == "momentum" else kind
    shared: dict[int, _Track] = {}
    out: list[_Track | None] = []
    for s in per_group_or_none(value, n):
        if s is None:
            out.append(None)
            continue
        if id(s) not in shared:
            shared[id(s)] = _Track(s, kind)
        out.append(shared[id(s)])
    return out


def _check_time(t: Any, name: str) -> int | float:
    if isinstance(t, bool) or not isinstance(t, numbers.Real):
        raise TypeError(f"{name} must be a number, got {t!r}")
    value = float(t)
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"{name} must be a finite number >= 0, got {t!r}")
    return int(value) if value.is_integer() else value
