"""``diabetes``: scikit-learn's bundled regression set (no download), an MLP, R².

The data is ``sklearn.datasets.load_diabetes(scaled=False)``: 442 patients, 10
baseline features (age, sex, BMI, blood pressure, six blood serum measurements) and
a measure of disease progression one year later (25 to 346). The unscaled features
are used because ``scaled=True`` standardises with statistics of all 442 rows, the
test rows included.

- **Splits**: a permutation from ``numpy.random.default_rng([seed, 442])`` deals the
  rows to train, val and test (60/20/20 by default: 266/88/88).
- **Features** are standardised with the mean and standard deviation of the train
  split only, so nothing about val or test leaks into training.
- **The target is standardised too** (train mean and std): the initial MSE is then
  about 1 whatever the units, so learning rates mean the same as on the other tasks
  (on the raw target, the loss is about 29,000 at the start and the gradients
  scale with it, which moves every good LR by orders of magnitude). R² is unchanged
  by the same affine map applied to predictions and targets, so R² in standard units
  is R² in the original units; ``target_mean`` and ``target_std`` convert
  predictions back.
- **Model**: ``Linear(10, hidden) - ReLU - Linear(hidden, hidden) - ReLU -
  Linear(hidden, 1)``, flattened to ``[B]`` so that ``torch.nn.MSELoss`` sees
  matching shapes.
- **Metric**: :func:`r2`, the coefficient of determination of
  ``sklearn.metrics.r2_score``; :func:`evaluate_r2` computes it over a dataset.

torch is imported inside the functions that need it, so importing this module is cheap.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["DiabetesParts", "diabetes_mlp", "evaluate_r2", "make_diabetes", "r2"]

NUM_FEATURES = 10


def r2(predictions: Any, targets: Any) -> float:
    """Coefficient of determination ``1 - sum((y - p)**2) / sum((y - mean(y))**2)``.

    As ``sklearn.metrics.r2_score(targets, predictions)`` for one output: 1 is a
    perfect fit, 0 is as good as predicting the mean, and it is negative when worse.

    Args:
        predictions, targets: equal-length 1-D arrays or tensors (``[N]`` or ``[N, 1]``).

    Raises:
        ValueError: shapes differ, fewer than two targets, or the targets are constant
            (R² is undefined).

    Example:
        >>> r2([2.5, 0.0, 2.0, 8.0], [3.0, -0.5, 2.0, 7.0])
        0.9486081370449679
    """
    p = _as_vector(predictions, "predictions")
    y = _as_vector(targets, "targets")
    if p.shape != y.shape:
        raise ValueError(f"predictions and targets must match, got {p.shape} and {y.shape}")
    if len(y) < 2:
        raise ValueError(f"R² needs at least 2 targets, got {len(y)}")
    total = float(np.sum((y - y.mean()) ** 2))
    if total == 0.0:
        raise ValueError("R² is undefined when the targets are constant")
    return 1.0 - float(np.sum((y - p) ** 2)) / total


def _as_vector(values: Any, name: str) -> np.ndarray:
    if hasattr(values, "detach"):  # a torch tensor
        values = values.detach().cpu().numpy()
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(f"{name} must be 1-D (or [N, 1]), got shape {array.shape}")
    return array


def evaluate_r2(model: torch.nn.Module, dataset: Any, *, batch_size: int = 512) -> float:
    """:func:`r2` of ``model`` over a ``TensorDataset`` of ``(x, y)`` (eval mode, no grad).

    R² is not a mean over examples, so it is computed once over all predictions of the
    set, never averaged over batches.
    """
    import torch

    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    was_training = model.training
    model.eval()
    predictions, targets = [], []
    try:
        with torch.no_grad():
            for start in range(0, len(dataset), batch_size):
                x, y = dataset[start : start + batch_size]
                predictions.append(model(x).reshape(-1))
                targets.append(y.reshape(-1))
    finally:
        model.train(was_training)
    return r2(torch.cat(predictions), torch.cat(targets))


def diabetes_mlp(hidden: int = 16, *, seed: int | None = None) -> torch.nn.Module:
    """A fresh MLP ``10 -> hidden -> hidden -> 1`` (ReLU), output flattened to ``[B]``.

    Args:
        hidden: width of both hidden layers.
        seed: initialise from ``torch.manual_seed(seed)`` inside a forked RNG (global
            RNG untouched); ``None`` draws from torch's global RNG (the lab seeds it).

    Example:
        >>> import torch
        >>> diabetes_mlp(seed=0)(torch.zeros(5, 10)).shape
        torch.Size([5])
    """
    import torch
    from torch import nn

    _check_hidden(hidden)

    def build() -> nn.Module:
        return nn.Sequential(
            nn.Linear(NUM_FEATURES, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
            nn.Flatten(0),
        )

    if seed is None:
        return build()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def _check_hidden(hidden: object) -> None:
    if isinstance(hidden, bool) or not isinstance(hidden, int):
        raise TypeError(f"hidden must be an int, got {hidden!r}")
    if hidden < 1:
        raise ValueError(f"hidden must be >= 1, got {hidden!r}")


@dataclass(frozen=True, eq=False)
class DiabetesParts:
    """What :func:`make_diabetes` builds; the field names follow the lab's ``Task``.

    Attributes:
        train_set, val_set, test_set: ``TensorDataset`` of float32 ``(x [10], y [])``,
            standardised with train statistics.
        model_fn: builds a fresh :func:`diabetes_mlp` from torch's global RNG.
        loss_fn: ``torch.nn.MSELoss()`` (mean over the batch).
        target_mean, target_std: the train target's statistics: a prediction ``p``
            in the original units is ``target_mean + target_std * p``.
        description: one line for reports.
    """

    train_set: Any
    val_set: Any
    test_set: Any
    model_fn: Callable[[], torch.nn.Module]
    loss_fn: Callable[[Any, Any], Any]
    target_mean: float
    target_std: float
    description: str


def make_diabetes(
    *, seed: int = 0, val_fraction: float = 0.2, test_fraction: float = 0.2, hidden: int = 16
) -> DiabetesParts:
    """Build the ``diabetes`` splits, model factory and loss.

    Args:
        seed: the permutation that deals the rows to train/val/test.
        val_fraction, test_fraction: shares of the 442 rows (each rounded to a whole
            row count); the rest is train.
        hidden: width of the MLP's hidden layers.

    Returns:
        A :class:`DiabetesParts`.

    Raises:
        ValueError: fractions outside ``(0, 1)`` or leaving fewer than 10 train rows.

    Example:
        >>> parts = make_diabetes(seed=0)
        >>> len(parts.train_set), len(parts.val_set), len(parts.test_set)
        (266, 88, 88)
        >>> x, _ = parts.train_set[:]
        >>> bool(abs(x.mean()) < 1e-6), round(float(x.std(0, correction=0).mean()), 4)
        (True, 1.0)
    """
    import torch
    from sklearn.datasets import load_diabetes

    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError(f"{name} must be a number, got {value!r}")
        if not 0.0 < value < 1.0:
            raise ValueError(f"{name} must be in (0, 1), got {value!r}")
    x, y = load_diabetes(return_X_y=True, scaled=False)
    n = len(y)
    n_val, n_test = round(val_fraction * n), round(test_fraction * n)
    n_train = n - n_val - n_test
    if n_train < 10:
        raise ValueError(
            f"val_fraction={val_fraction} and test_fraction={test_fraction} leave "
            f"{n_train} train rows; at least 10 are needed"
        )
    order = np.random.default_rng([int(seed), n]).permutation(n)
    parts = np.split(order, [n_train, n_train + n_val])
    mean, std = x[parts[0]].mean(axis=0), x[parts[0]].std(axis=0)
    y_mean, y_std = float(y[parts[0]].mean()), float(y[parts[0]].std())
    x_std = ((x - mean) / std).astype(np.float32)
    y_std_units = ((y - y_mean) / y_std).astype(np.float32)
    train_set, val_set, test_set = (
        torch.utils.data.TensorDataset(torch.from_numpy(x_std[i]), torch.from_numpy(y_std_units[i]))
        for i in parts
    )
    _check_hidden(hidden)
    return DiabetesParts(
        train_set=train_set,
        val_set=val_set,
        test_set=test_set,
        model_fn=functools.partial(diabetes_mlp, hidden),
        loss_fn=torch.nn.MSELoss(),
        target_mean=y_mean,
        target_std=y_std,
        description=(
            f"sklearn diabetes regression, {n_train}/{n_val}/{n_test} train/val/test, "
            f"standardised, MLP 10-{hidden}-{hidden}-1"
        ),
    )
