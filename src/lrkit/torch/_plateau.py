"""Drive a PyTorch optimizer with :class:`lrkit.schedules.ReduceOnPlateau`."""

from __future__ import annotations

from typing import Any

import torch
from torch.optim import Optimizer

from .._config import fingerprint
from ..schedules import PlateauDecision, PlateauState, ReduceOnPlateau

__all__ = ["PlateauScheduler"]

_STATE_FORMAT = "lrkit.torch.PlateauScheduler/1"


class PlateauScheduler:
    """Cut an optimizer's learning rates when a metric plateaus, as torch's ``ReduceLROnPlateau``.

    ``step(metric)`` feeds the metric to ``plateau`` and writes the state's rates into
    the param groups; on any metric trace, with any options, the rates are those
    PyTorch's ``ReduceLROnPlateau(optimizer, **options)`` sets, bit for bit. Unlike
    torch's, it keeps its rates in its state instead of reading them back from the
    optimizer, its state is plain data tied to the controller's config, and each
    step returns its decision (record it, e.g. in ``metrics.csv``).

    Args:
        optimizer: the optimizer to drive; its groups' current ``lr`` are the start.
        plateau: the controller (a :class:`~lrkit.schedules.ReduceOnPlateau`).

    Raises:
        TypeError: ``optimizer`` or ``plateau`` of the wrong type.
        ValueError: a list of ``min_lr`` of another length than the param groups.

    Example:
        >>> import torch
        >>> from lrkit.schedules import ReduceOnPlateau
        >>> w = torch.nn.Parameter(torch.zeros(1))
        >>> opt = torch.optim.SGD([w], lr=0.1)
        >>> sched = PlateauScheduler(opt, ReduceOnPlateau(factor=0.5, patience=0))
        >>> [sched.step(loss).value for loss in (1.0, 1.0, 0.5)]
        ['hold', 'cut_lr', 'hold']
        >>> opt.param_groups[0]["lr"]
        0.05
    """

    def __init__(self, optimizer: Optimizer, plateau: ReduceOnPlateau) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {optimizer!r}")
        if not isinstance(plateau, ReduceOnPlateau):
            raise TypeError(f"plateau must be a lrkit.schedules.ReduceOnPlateau, got {plateau!r}")
        self.optimizer = optimizer
        self.plateau = plateau
        self.state = plateau.init([float(g["lr"]) for g in optimizer.param_groups])
        self.decision = PlateauDecision.HOLD

    @property
    def lrs(self) -> tuple[float, ...]:
        """The learning rates of the param groups now."""
        return self.state.lrs

    def get_last_lr(self) -> list[float]:
        """The learning rates last written (torch's name)."""
        return list(self.state.lrs)

    def step(self, metric: float | torch.Tensor) -> PlateauDecision:
        """Feed one metric (a float or one-element tensor); write the rates; return the decision."""
        value = float(metric.item() if isinstance(metric, torch.Tensor) else metric)
        self.state, self.decision = self.plateau.update(self.state, value)
        self._apply()
        return self.decision

    def _apply(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.state.lrs):
            raise ValueError(
                f"this scheduler was built for {len(self.state.lrs)} param groups, the optimizer "
                f"now has {len(groups)}; build the scheduler after add_param_group"
            )
        for group, lr in zip(groups, self.state.lrs, strict=True):
            if isinstance(group["lr"], torch.Tensor):
                group["lr"].fill_(lr)
            else:
                group["lr"] = lr

    def state_dict(self) -> dict[str, Any]:
        """The controller's state as plain data, with the config it belongs to."""
        return {
            "format": _STATE_FORMAT,
            "plateau": fingerprint(self.plateau),
            "config": self.plateau.to_config(),
            "state": self.state.to_dict(),
            "decision": self.decision.value,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict` and write its rates into the optimizer.

        Raises:
            ValueError: not a state of this class, saved with another controller config,
                or for another number of param groups.
        """
        state = state_dict
        if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
            raise ValueError(
                f"not a state saved by lrkit.torch.PlateauScheduler (format {_STATE_FORMAT!r})"
            )
        if state.get("plateau") != fingerprint(self.plateau):
            raise ValueError(
                f"the state was saved with {state.get('config')!r}, this scheduler has "
                f"{self.plateau.to_config()!r}; resume with the controller it was saved with"
            )
        restored = PlateauState.from_dict(state["state"])
        if len(restored.lrs) != len(self.optimizer.param_groups):
            raise ValueError(
                f"the state was saved for {len(restored.lrs)} param groups, this optimizer has "
                f"{len(self.optimizer.param_groups)}"
            )
        self.state = restored
        self.decision = PlateauDecision(state.get("decision", "hold"))
        self._apply()

    def __repr__(self) -> str:
        return f"PlateauScheduler({self.plateau.to_spec()}, lrs={list(self.state.lrs)!r})"
