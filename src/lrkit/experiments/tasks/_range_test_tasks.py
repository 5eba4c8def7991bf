"""Extra built-in tasks, chosen to make LR finders' lives hard (a lab plugin).

The range-test quality benchmark needs diverse cases: a convolutional net with
BatchNorm, a plain MLP on a hard synthetic problem, a recurrent net and a small
tabular set. Each is small enough for a full short training run in a few seconds
on a CPU, and needs no download (MNIST-1D is generated, the others are synthetic or
bundled with scikit-learn).
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np

from .._tasks import Task, _tensor_split, mnist1d_task, register_task

if TYPE_CHECKING:
    import torch

__all__ = [
    "cancer_task",
    "mnist1d_bn_task",
    "mnist1d_gru_task",
    "spirals_task",
    "tabular_task",
]


def _cross_entropy() -> torch.nn.Module:
    import torch

    return torch.nn.CrossEntropyLoss()


# -- MNIST-1D with a BatchNorm CNN, and with a GRU -----------------------------------


def _cnn_bn() -> torch.nn.Module:
    """Three stride-2 convolutions (8, 16, 16 channels), each with BatchNorm, and a head."""
    from torch import nn

    return nn.Sequential(
        nn.Unflatten(1, (1, 40)),
        nn.Conv1d(1, 8, 5, stride=2, padding=2),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Conv1d(8, 16, 3, stride=2, padding=1),
        nn.BatchNorm1d(16),
        nn.ReLU(),
        nn.Conv1d(16, 16, 3, stride=2, padding=1),
        nn.BatchNorm1d(16),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(16 * 5, 10),
    )


def mnist1d_bn_task(*, num_samples: int | None = None, seed: int = 0) -> Task:
    """MNIST-1D with a small 1-D CNN using BatchNorm (BN makes the loss scale-free)."""
    base = mnist1d_task(num_samples=num_samples, seed=seed)
    return dataclasses.replace(
        base,
        name="mnist1d-bn",
        model_fn=_cnn_bn,
        description=base.description.replace("1-D CNN", "1-D CNN with BatchNorm"),
    )


def _gru() -> torch.nn.Module:
    from torch import nn

    class GRUClassifier(nn.Module):
        """A GRU (hidden 32) reading the 40-point signal as 10 steps of 4 values."""

        def __init__(self) -> None:
            super().__init__()
            self.gru = nn.GRU(4, 32, batch_first=True)
            self.head = nn.Linear(32, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out, _ = self.gru(x.reshape(x.shape[0], 10, 4))
            return self.head(out[:, -1])

    return GRUClassifier()


def mnist1d_gru_task(*, num_samples: int | None = None, seed: int = 0) -> Task:
    """MNIST-1D read by a recurrent net (GRU, 10 steps of 4 values)."""
    base = mnist1d_task(num_samples=num_samples, seed=seed)
    return dataclasses.replace(
        base,
        name="mnist1d-gru",
        model_fn=_gru,
        description=base.description.replace("1-D CNN", "GRU (hidden 32, 10 steps)"),
    )


# -- spirals: a plain MLP on a hard synthetic problem ---------------------------------


def _spirals_mlp() -> torch.nn.Module:
    from torch import nn

    return nn.Sequential(
        nn.Linear(2, 64),
        nn.ReLU(),
        nn.Linear(64, 64),
        nn.ReLU(),
        nn.Linear(64, 64),
        nn.ReLU(),
        nn.Linear(64, 3),
    )


def spirals_task(*, num_samples: int | None = None, seed: int = 0) -> Task:
    """Three interleaved spiral arms (1.5 turns each, noisy), 75/25 split, MLP 2-64-64-64-3.

    Point ``i`` of arm ``k``: radius ``r ~ U(0.05, 1)``, angle
    ``2 pi k / 3 + 3 pi r + N(0, 0.15)``; inputs are ``r (cos, sin)`` scaled to unit
    variance. Generated from a fixed seed (the ``seed`` argument is not used: the data
    is the same for every run).
    """
    n = 4000 if num_samples is None else int(num_samples)
    if n < 30:
        raise ValueError(f"num_samples must be >= 30 for spirals, got {num_samples}")
    rng = np.random.default_rng(2024)
    arm = rng.integers(0, 3, n)
    r = rng.uniform(0.05, 1.0, n)
    angle = 2 * np.pi * arm / 3 + 3 * np.pi * r + rng.normal(0.0, 0.15, n)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    x = x / x.std(axis=0)
    train, test = _tensor_split(x, arm, 0.75)
    return Task(
        name="spirals",
        model_fn=_spirals_mlp,
        train_set=train,
        test_set=test,
        loss_fn=_cross_entropy(),
        num_classes=3,
        description=f"3 noisy spiral arms, {len(train)} train / {len(test)} test, MLP 2-64-64-64-3",
    )


# -- a small tabular set ---------------------------------------------------------------


def _cancer_mlp() -> torch.nn.Module:
    from torch import nn

    return nn.Sequential(nn.Linear(30, 32), nn.ReLU(), nn.Linear(32, 2))


def cancer_task(*, num_samples: int | None = None, seed: int = 0) -> Task:
    """scikit-learn's breast-cancer table (569 x 30, bundled), standardised, 80/20 split, MLP.

    The features are standardised with the training split's mean and deviation.
    """
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    if num_samples is not None and not 30 <= num_samples <= len(y):
        raise ValueError(f"num_samples must be in [30, {len(y)}] for cancer, got {num_samples}")
    order = np.random.default_rng(569).permutation(len(y))[: num_samples or len(y)]
    x, y = x[order], y[order]
    split = math.floor(0.8 * len(y))
    mean, std = x[:split].mean(axis=0), x[:split].std(axis=0) + 1e-12
    train, test = _tensor_split((x - mean) / std, y, 0.8)
    return Task(
        name="cancer",
        model_fn=_cancer_mlp,
        train_set=train,
        test_set=test,
        loss_fn=_cross_entropy(),
        num_classes=2,
        description=f"breast-cancer table, {len(train)} train / {len(test)} test, MLP 30-32-2",
    )


# -- a synthetic tabular problem (held out from the range-test rule's tuning) ---------


def _tabular_mlp() -> torch.nn.Module:
    from torch import nn

    return nn.Sequential(
        nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4)
    )


def tabular_task(*, num_samples: int | None = None, seed: int = 0) -> Task:
    """A synthetic 4-class table (scikit-learn ``make_classification``), 75/25 split, MLP.

    20 features (10 informative, 5 redundant), 2 clusters per class, class separation 1,
    2% flipped labels, generated from a fixed seed (the ``seed`` argument is not used).
    Added as a held-out case of the range-test quality benchmark: it played no part in
    choosing the constants of lrkit's suggestion rule.
    """
    from sklearn.datasets import make_classification

    n = 4000 if num_samples is None else int(num_samples)
    if n < 40:
        raise ValueError(f"num_samples must be >= 40 for tabular, got {num_samples}")
    x, y = make_classification(
        n_samples=n,
        n_features=20,
        n_informative=10,
        n_redundant=5,
        n_classes=4,
        n_clusters_per_class=2,
        class_sep=1.0,
        flip_y=0.02,
        random_state=7,
    )
    split = math.floor(0.75 * n)
    mean, std = x[:split].mean(axis=0), x[:split].std(axis=0) + 1e-12
    train, test = _tensor_split((x - mean) / std, y, 0.75)
    return Task(
        name="tabular",
        model_fn=_tabular_mlp,
        train_set=train,
        test_set=test,
        loss_fn=_cross_entropy(),
        num_classes=4,
        description=f"synthetic 4-class table, {len(train)} train / {len(test)} test, "
        "MLP 20-64-64-4",
    )


register_task("mnist1d-bn", mnist1d_bn_task, "MNIST-1D, 1-D CNN with BatchNorm")
register_task("mnist1d-gru", mnist1d_gru_task, "MNIST-1D read by a GRU (recurrent net)")
register_task("spirals", spirals_task, "3 noisy spiral arms (synthetic, hard), plain MLP")
register_task("cancer", cancer_task, "breast-cancer table (bundled with sklearn), small MLP")
register_task("tabular", tabular_task, "synthetic 4-class table (sklearn generator), MLP")
