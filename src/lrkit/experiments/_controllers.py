"""Reactive controllers: strategies whose LR or batch size answers what training measures.

A strategy may carry a ``controller``: a frozen, configurable rule (for example
:class:`~lrkit.schedules.ReduceOnPlateau` or :class:`~lrkit.batch_size.BatchOnPlateau`)
that the trainer consults while it trains. This module is the one mechanism by
which the lab runs every such rule. The protocol, for a rule of a new kind:

- **A driver per rule type.** ``register_controller(RuleType, driver)`` where
  ``driver(rule)`` returns an object with the methods below (a
  :class:`ControllerDriver`). Rules stay numpy-only values with an explicit state;
  the driver adapts them to the loop.
- **State is a** :class:`Control`, plain data, kept in each checkpoint
  (:meth:`ControllerDriver.dump` / :meth:`ControllerDriver.load`), so ``--resume``
  continues a run bit for bit.
- **What a control can change**: ``lr_scale`` multiplies the strategy's LR schedule
  (the optimizer gets ``lr(t) * lr_scale``; 1 at the start, so a rule composes with
  any schedule, warm-up included) and ``batch_size`` (an int or a
  :class:`~lrkit.batch_size.BatchSchedule`, ``None`` for the strategy's) is what the
  :class:`~lrkit.torch.ScheduledLoader` follows from the next epoch boundary on
  (:meth:`~lrkit.torch.ScheduledLoader.set_schedule`).
- **Hooks.** ``after_validation(control, val_loss, time)`` after each epoch's
  evaluation, with the *validation* loss only (the task's ``val_set`` or its held-out
  share of train; never test data) and ``time`` the loader's clock
  (fractional epochs, an integer at an epoch's end). When ``driver.every ==
  "update"``, ``after_update(control, report)`` also runs after every optimizer
  update with an :class:`UpdateReport` (the step's loss, batch size, time and the
  :class:`~lrkit.torch.AccumulationResult`, whose gradient norms feed noise-scale
  rules). An LR change applies from the next update, a batch change from the next
  epoch boundary.
- **Decisions are records.** Each hook returns the new control whose ``decision``
  names what it did (``"hold"``, ``"cut_lr"``, ``"grow_batch"``, ``"at_floor"``...);
  the epoch's row in ``metrics.csv`` has a ``decision`` column: the epoch's
  decisions other than ``hold`` joined by ``;`` (``hold`` when there were none;
  empty for a strategy without controller). A decision taken after epoch ``e``'s
  validation shows in row ``e``; its LR and batch size show from row ``e + 1``.

The built-in drivers: :class:`~lrkit.schedules.ReduceOnPlateau` (cut the LR scale
on a plateau of the validation loss: torch's ``ReduceLROnPlateau`` decisions, with
``min_lr`` a floor of the *scale*) and :class:`~lrkit.batch_size.BatchOnPlateau`
(grow the batch on a plateau up to the cap, cut the LR scale past it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from .._config import Configurable
from ..batch_size import BatchOnPlateau, BatchPlateauState, BatchSchedule
from ..schedules import PlateauState, ReduceOnPlateau

if TYPE_CHECKING:
    from ..torch import AccumulationResult

__all__ = [
    "Control",
    "ControllerDriver",
    "UpdateReport",
    "controller_driver",
    "register_controller",
]

EVERY = ("epoch", "update")


@dataclass(frozen=True)
class Control:
    """A controller's state in the loop: what it changes, its last decision, its rule's state.

    Attributes:
        lr_scale: multiplies the strategy's LR schedule (> 0).
        batch_size: the batch size (int or BatchSchedule) the loader follows, or
            ``None`` for the strategy's own.
        decision: the last decision's name (``"hold"`` before any).
        state: the rule's own state (plain data once dumped).
    """

    lr_scale: float = 1.0
    batch_size: int | BatchSchedule | None = None
    decision: str = "hold"
    state: Any = None


@dataclass(frozen=True)
class UpdateReport:
    """What an ``every == "update"`` controller sees after each optimizer update.

    Attributes:
        updates: updates done (this one included).
        samples: samples seen (this batch included).
        time: the loader's clock after the batch (fractional epochs).
        batch_size: this batch's size.
        loss: this batch's mean training loss.
        step: the :class:`~lrkit.torch.AccumulationResult` of the batch (``None`` for
            a dict batch or a task with its own forward).
    """

    updates: int
    samples: int
    time: float
    batch_size: int
    loss: float
    step: AccumulationResult | None = None


class ControllerDriver(Protocol):
    """How the trainer runs one rule (see the module docstring)."""

    every: str

    def check(self, batch_size: Any) -> None:
        """Refuse a strategy batch size this rule cannot start from (ValueError)."""

    def start(self, batch_size: Any) -> Control:
        """The control before the first update."""

    def after_validation(self, control: Control, val_loss: float, time: float) -> Control:
        """The control after an epoch whose validation loss is ``val_loss``."""

    def after_update(self, control: Control, report: UpdateReport) -> Control:
        """The control after one update (only called when ``every == "update"``)."""

    def dump(self, control: Control) -> dict[str, Any]:
        """``control`` as plain data (JSON-friendly) for a checkpoint."""

    def load(self, data: dict[str, Any]) -> Control:
        """The control saved by :meth:`dump`."""


_DRIVERS: dict[type, Callable[[Any], ControllerDriver]] = {}


def register_controller(rule_type: type, driver: Callable[[Any], ControllerDriver]) -> None:
    """Let strategies carry rules of ``rule_type``: ``driver(rule)`` runs one in the loop.

    ``rule_type`` must be a :class:`~lrkit._config.Configurable` (a frozen value with a
    config), so a strategy with the rule round-trips through TOML and JSON.

    Raises:
        TypeError: ``rule_type`` is not a Configurable class or ``driver`` not callable.
    """
    if not (isinstance(rule_type, type) and issubclass(rule_type, Configurable)):
        raise TypeError(f"rule_type must be a Configurable class, got {rule_type!r}")
    if not callable(driver):
        raise TypeError(f"driver must be callable, got {driver!r}")
    _DRIVERS[rule_type] = driver


def controller_driver(rule: Any) -> ControllerDriver:
    """The driver that runs ``rule`` in the trainer.

    Raises:
        TypeError: no driver is registered for the rule's type.
    """
    driver = _DRIVERS.get(type(rule))
    if driver is None:
        known = ", ".join(sorted(t.__name__ for t in _DRIVERS))
        raise TypeError(f"controller must be one of {known} (or registered), got {rule!r}")
    made = driver(rule)
    if made.every not in EVERY:
        raise ValueError(f"a controller driver's every must be 'epoch' or 'update', got {made!r}")
    return made


class _ReducePlateauDriver:
    """ReduceOnPlateau on the LR scale: the rule's single "rate" is the scale, from 1."""

    every = "epoch"

    def __init__(self, rule: ReduceOnPlateau) -> None:
        self.rule = rule

    def check(self, batch_size: Any) -> None:
        if isinstance(self.rule.min_lr, tuple) and len(self.rule.min_lr) != 1:
            raise ValueError(
                f"controller min_lr must be one floor of the LR scale, got {self.rule.min_lr!r}"
            )

    def start(self, batch_size: Any) -> Control:
        return Control(state=self.rule.init(1.0))

    def after_validation(self, control: Control, val_loss: float, time: float) -> Control:
        state, decision = self.rule.update(control.state, val_loss)
        return replace(control, lr_scale=state.lrs[0], decision=decision.value, state=state)

    def after_update(self, control: Control, report: UpdateReport) -> Control:
        return control

    def dump(self, control: Control) -> dict[str, Any]:
        return {"decision": control.decision, "state": control.state.to_dict()}

    def load(self, data: dict[str, Any]) -> Control:
        state = PlateauState.from_dict(data["state"])
        return Control(lr_scale=state.lrs[0], decision=data["decision"], state=state)


class _BatchPlateauDriver:
    """BatchOnPlateau: the batch grows on a plateau (from the next epoch); past the cap, the LR."""

    every = "epoch"

    def __init__(self, rule: BatchOnPlateau) -> None:
        self.rule = rule

    def check(self, batch_size: Any) -> None:
        if batch_size != self.rule.batch_size:
            raise ValueError(
                f"batch_size must be the controller's starting batch {self.rule.batch_size}, "
                f"got {batch_size!r}"
            )
        if self.rule.clock != "epoch":
            raise ValueError(f"controller clock must be 'epoch', got {self.rule.clock!r}")

    def _control(self, state: BatchPlateauState, decision: str) -> Control:
        return Control(
            lr_scale=state.plateau.lrs[0],
            batch_size=self.rule.batch_schedule(state),
            decision=decision,
            state=state,
        )

    def start(self, batch_size: Any) -> Control:
        return self._control(self.rule.init(1.0), "hold")

    def after_validation(self, control: Control, val_loss: float, time: float) -> Control:
        state, decision = self.rule.update(control.state, val_loss, time=time)
        return self._control(state, decision.value)

    def after_update(self, control: Control, report: UpdateReport) -> Control:
        return control

    def dump(self, control: Control) -> dict[str, Any]:
        return {"decision": control.decision, "state": control.state.to_dict()}

    def load(self, data: dict[str, Any]) -> Control:
        return self._control(BatchPlateauState.from_dict(data["state"]), data["decision"])


register_controller(ReduceOnPlateau, _ReducePlateauDriver)
register_controller(BatchOnPlateau, _BatchPlateauDriver)
