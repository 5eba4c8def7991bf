"""What a task is measured by: a name, a function over the evaluation set, a direction.

A :class:`Metric` is ``fn(outputs, targets) -> float`` called once on the whole
evaluation set (the batches' outputs and targets concatenated), so that metrics
that are not means of per-batch values (R², RMSE) come out exact. Two built-ins
are read from the loss instead: ``loss`` (the mean of the task's ``loss_fn``) and
``perplexity`` (``exp`` of it, for a mean per-token cross-entropy).

Built-ins (:data:`METRICS`):

=============  ==========================================================  ======
name           value                                                        better
=============  ==========================================================  ======
``accuracy``   ``mean(argmax(outputs, 1) == targets)``                      higher
``loss``       mean ``loss_fn`` over the samples                            lower
``perplexity`` ``exp(loss)``                                                lower
``mse``        ``mean((outputs - targets)^2)``                              lower
``rmse``       ``sqrt(mse)``                                                lower
``r2``         ``1 - sum((y - f)^2) / sum((y - mean(y))^2)`` (sklearn's)    higher
=============  ==========================================================  ======
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["METRICS", "Metric", "as_metric"]

FROM_LOSS = ("loss", "perplexity")


@dataclass(frozen=True)
class Metric:
    """A named evaluation metric with a direction.

    Args:
        name: a short word for tables and columns (``"f1"``).
        fn: ``fn(outputs, targets) -> float`` over the whole evaluation set (torch
            tensors, concatenated along the first dimension). Unused (``None``) for
            ``loss`` and ``perplexity``, which come from the loss.
        higher_is_better: the direction used to rank strategies.

    Raises:
        TypeError, ValueError: a bad field (named).

    Example:
        >>> import torch
        >>> mae = Metric("mae", lambda out, y: float((out - y).abs().mean()), False)
        >>> mae.fn(torch.tensor([1.0, 2.0]), torch.tensor([1.5, 2.0]))
        0.25
    """

    name: str
    fn: Callable[[Any, Any], float] | None
    higher_is_better: bool

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise ValueError(f"name must be a word (letters, digits, _), got {self.name!r}")
        if self.fn is None and self.name not in FROM_LOSS:
            raise TypeError(f"metric {self.name!r}: fn must be callable, got None")
        if self.fn is not None and not callable(self.fn):
            raise TypeError(f"fn must be callable, got {self.fn!r}")
        if not isinstance(self.higher_is_better, bool):
            raise TypeError(
                f"higher_is_better must be True or False, got {self.higher_is_better!r}"
            )

    @property
    def from_loss(self) -> bool:
        """Whether the value is read from the loss (``loss``, ``perplexity``)."""
        return self.fn is None

    def value(self, mean_loss: float, outputs: Any = None, targets: Any = None) -> float:
        """The metric over an evaluation set, given its mean loss (and outputs/targets)."""
        if self.name == "loss" and self.fn is None:
            return mean_loss
        if self.name == "perplexity" and self.fn is None:
            return math.exp(mean_loss) if mean_loss < 700 else math.inf
        assert self.fn is not None
        return float(self.fn(outputs, targets))


def _accuracy(outputs: Any, targets: Any) -> float:
    return float((outputs.argmax(dim=1) == targets).double().mean())


def _sq_errors(outputs: Any, targets: Any) -> Any:
    return (outputs.double().reshape(targets.shape) - targets.double()) ** 2


def _mse(outputs: Any, targets: Any) -> float:
    return float(_sq_errors(outputs, targets).mean())


def _rmse(outputs: Any, targets: Any) -> float:
    return math.sqrt(_mse(outputs, targets))


def _r2(outputs: Any, targets: Any) -> float:
    y = targets.double()
    total = float(((y - y.mean()) ** 2).sum())
    residual = float(_sq_errors(outputs, targets).sum())
    return 1.0 - residual / total if total > 0 else (1.0 if residual == 0 else -math.inf)


METRICS: dict[str, Metric] = {
    "accuracy": Metric("accuracy", _accuracy, True),
    "loss": Metric("loss", None, False),
    "perplexity": Metric("perplexity", None, False),
    "mse": Metric("mse", _mse, False),
    "rmse": Metric("rmse", _rmse, False),
    "r2": Metric("r2", _r2, True),
}


def as_metric(value: str | Metric) -> Metric:
    """A built-in metric by name, or a :class:`Metric` as is.

    Raises:
        ValueError: an unknown name (the message lists the built-ins).
    """
    if isinstance(value, Metric):
        return value
    if isinstance(value, str) and value in METRICS:
        return METRICS[value]
    raise ValueError(f"metric must be a Metric or one of {', '.join(METRICS)}, got {value!r}")
