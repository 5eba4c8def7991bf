"""The finder's task zoo: twelve small problems of different kinds, to measure LR finders.

Each :class:`ZooTask` is a model factory, a train / validation / test split and a
metric, small enough that one training run takes about a second on one CPU core:

======================  ==============================================  =====  ======  =====
name                    model and data                                  batch  epochs  steps
======================  ==============================================  =====  ======  =====
``spirals-relu``        MLP 2-64-64-3 (ReLU), 3 noisy spiral arms        32     8       400
``spirals-relu-b256``   the same at batch 256 (a second batch size)      256    40      280
``digits-tanh``         MLP 64-64-64-10 (tanh), sklearn digits           32     8       288
``digits-tanh-b128``    the same at batch 128                            128    30      270
``digits-cnn``          2-D CNN (no BatchNorm), sklearn digits 8x8       32     8       288
``mnist1d-cnn``         1-D CNN (no BatchNorm), MNIST-1D                 64     6       264
``mnist1d-bn``          1-D CNN with BatchNorm, MNIST-1D                 64     6       264
``mnist1d-gru``         GRU (hidden 32), MNIST-1D as 10 steps of 4       64     6       264
``waves-lstm``          LSTM (hidden 24), noisy sine waves, 4 freqs      32     8       376
``tokens-transformer``  1-layer Transformer encoder, token sequences     32     6       282
``friedman-mlp``        MLP 10-64-64-1, sklearn Friedman #1 (regression) 32     6       282
``cancer-mlp``          MLP 30-32-2, sklearn breast-cancer table         16     11      275
======================  ==============================================  =====  ======  =====

The metric is accuracy, except ``friedman-mlp`` (``100 R^2``). Every training run has at
least 256 optimizer steps, so a 100-step range test costs under 1% of a 13-LR x 3-seed
grid search.

All data are generated offline from fixed seeds (MNIST-1D by
``mnist1d.data.make_dataset``, the others by scikit-learn's bundled sets and
generators, or numpy). ``family`` groups the tasks that share data and model (the
two batch sizes of one problem), so that leave-one-task-out cross-validation leaves
the whole family out. The metric is in percent: accuracy, or ``100 R^2`` for the
regression, so that a "point" means the same in both.

Every task (but the batch-size variants) is also registered as a lab task named
``zoo-<name>`` (for ``lrkit find`` and ``lrkit compare``), the regression with the
lab's ``r2`` metric.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["ZOO", "ZooData", "ZooTask", "zoo_task"]


@dataclass(frozen=True)
class ZooData:
    """Float32 inputs and int64 labels (float32 targets for a regression), as numpy arrays."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class ZooTask:
    """One problem of the zoo.

    Attributes:
        name: unique name.
        family: tasks sharing data and model (several batch sizes) share a family.
        kind: one line for tables ("MLP ReLU", "GRU"...).
        data_fn: builds the :class:`ZooData` (cached; deterministic).
        model_fn: a fresh model (uses torch's global RNG: seed it first).
        batch_size: the training batch size.
        epochs: the training budget of one run.
        metric: ``"acc"`` (cross-entropy loss) or ``"r2"`` (mean squared error).
    """

    name: str
    family: str
    kind: str
    data_fn: Callable[[], ZooData]
    model_fn: Callable[[], torch.nn.Module]
    batch_size: int
    epochs: int
    metric: str = "acc"

    def data(self) -> ZooData:
        """The task's data (built once per process)."""
        return _cached_data(self.data_fn)

    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.data().y_train) / self.batch_size)

    def total_steps(self) -> int:
        """Optimizer steps of one training run."""
        return self.epochs * self.steps_per_epoch()

    def loss_fn(self) -> Callable[[Any, Any], Any]:
        import torch

        if self.metric == "r2":
            return lambda out, y: torch.nn.functional.mse_loss(out.squeeze(-1), y)
        return torch.nn.functional.cross_entropy

    def score(self, outputs: Any, targets: Any) -> float:
        """The metric in percent: accuracy, or ``100 R^2`` (``1 - SSE / SST``)."""
        if self.metric == "r2":
            pred = outputs.squeeze(-1).double()
            y = targets.double()
            sst = float(((y - y.mean()) ** 2).sum())
            return 100.0 * (1.0 - float(((pred - y) ** 2).sum()) / sst)
        return 100.0 * float((outputs.argmax(-1) == targets).double().mean())


@functools.cache
def _cached_data(data_fn: Callable[[], ZooData]) -> ZooData:
    return data_fn()


def _split(x: np.ndarray, y: np.ndarray, n_val: int, n_test: int, regression: bool) -> ZooData:
    """The first rows for training, then ``n_val`` validation and ``n_test`` test rows."""
    n_train = len(y) - n_val - n_test
    if n_train < 1:
        raise ValueError(f"too few rows ({len(y)}) for {n_val} validation and {n_test} test")
    x = x.astype(np.float32)
    y = y.astype(np.float32 if regression else np.int64)
    a, b = n_train, n_train + n_val
    return ZooData(x[:a], y[:a], x[a:b], y[a:b], x[b:], y[b:])


def _standardise(x: np.ndarray, n_train: int) -> np.ndarray:
    mean, std = x[:n_train].mean(axis=0), x[:n_train].std(axis=0) + 1e-12
    return (x - mean) / std


# -- data ----------------------------------------------------------------------------


def _spirals() -> ZooData:
    rng = np.random.default_rng(2024)
    n = 2500
    arm = rng.integers(0, 3, n)
    r = rng.uniform(0.05, 1.0, n)
    angle = 2 * np.pi * arm / 3 + 3 * np.pi * r + rng.normal(0.0, 0.15, n)
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    return _split(x / x.std(axis=0), arm, 300, 600, False)


def _digits() -> ZooData:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = np.random.default_rng(1797).permutation(len(y))
    return _split(x[order] / 16.0, y[order], 250, 400, False)


def _mnist1d() -> ZooData:
    from .._tasks import _mnist1d_arrays

    arrays = _mnist1d_arrays(4000)
    x = np.concatenate([arrays["x"], arrays["x_test"]])
    y = np.concatenate([arrays["y"], arrays["y_test"]])
    return _split(x, y, 400, 800, False)


def _waves() -> ZooData:
    """Noisy sine waves of 32 steps, one of 4 frequencies, random phase and amplitude."""
    rng = np.random.default_rng(31)
    n = 2400
    label = rng.integers(0, 4, n)
    freq = np.array([1.0, 1.5, 2.0, 2.5])[label] / 8.0
    t = np.arange(32)
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    amp = rng.uniform(0.5, 1.5, (n, 1))
    x = amp * np.sin(2 * np.pi * freq[:, None] * t + phase) + rng.normal(0.0, 0.4, (n, 32))
    return _split(x[:, :, None], label, 300, 600, False)


def _tokens() -> ZooData:
    """Sequences of 16 tokens (vocabulary 10); the label: which of tokens 0 to 3 is commonest.

    Each sequence holds distinct counts (1 to 5) of tokens 0 to 3 (so the label is unique);
    the other positions are filled with tokens 4..9.
    """
    rng = np.random.default_rng(16)
    n = 2400
    x = np.empty((n, 16), dtype=np.int64)
    y = np.empty(n, dtype=np.int64)
    for i in range(n):
        counts = rng.choice(np.arange(1, 6), size=4, replace=False)
        seq = np.concatenate([np.full(c, k) for k, c in enumerate(counts)])
        seq = np.concatenate([seq, rng.integers(4, 10, 16 - len(seq))])
        x[i] = rng.permutation(seq)
        y[i] = int(np.argmax(counts))
    data = _split(x.astype(np.float32), y, 300, 600, False)
    return data


def _friedman() -> ZooData:
    from sklearn.datasets import make_friedman1

    x, y = make_friedman1(n_samples=2400, n_features=10, noise=1.0, random_state=5)
    n_train = 2400 - 300 - 600
    y = (y - y[:n_train].mean()) / y[:n_train].std()
    return _split(_standardise(x, n_train), y, 300, 600, True)


def _cancer() -> ZooData:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    order = np.random.default_rng(569).permutation(len(y))
    x, y = x[order], y[order]
    return _split(_standardise(x, 569 - 60 - 120), y, 60, 120, False)


# -- models --------------------------------------------------------------------------


def _mlp(sizes: tuple[int, ...], act: str) -> torch.nn.Module:
    from torch import nn

    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU() if act == "relu" else nn.Tanh())
    return nn.Sequential(*layers)


def _digits_cnn() -> torch.nn.Module:
    from torch import nn

    return nn.Sequential(
        nn.Unflatten(1, (1, 8, 8)),
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 4, 10),
    )


def _mnist1d_cnn(bn: bool) -> torch.nn.Module:
    from torch import nn

    def block(a: int, b: int, k: int) -> list[nn.Module]:
        conv = nn.Conv1d(a, b, k, stride=2, padding=k // 2)
        return [conv, nn.BatchNorm1d(b), nn.ReLU()] if bn else [conv, nn.ReLU()]

    return nn.Sequential(
        nn.Unflatten(1, (1, 40)),
        *block(1, 8, 5),
        *block(8, 16, 3),
        *block(16, 16, 3),
        nn.Flatten(),
        nn.Linear(16 * 5, 10),
    )


class _Recurrent:
    """Factories for the recurrent nets (classes defined lazily: torch is optional)."""

    @staticmethod
    def gru() -> torch.nn.Module:
        from torch import nn

        class GRUClassifier(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.rnn = nn.GRU(4, 32, batch_first=True)
                self.head = nn.Linear(32, 10)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                out, _ = self.rnn(x.reshape(x.shape[0], 10, 4))
                return self.head(out[:, -1])

        return GRUClassifier()

    @staticmethod
    def lstm() -> torch.nn.Module:
        from torch import nn

        class LSTMClassifier(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.rnn = nn.LSTM(1, 24, batch_first=True)
                self.head = nn.Linear(24, 4)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                out, _ = self.rnn(x)
                return self.head(out[:, -1])

        return LSTMClassifier()

    @staticmethod
    def transformer() -> torch.nn.Module:
        import torch
        from torch import nn

        class TokenTransformer(nn.Module):
            """Embedding 32 + learned positions, one encoder layer (2 heads), mean pooling."""

            def __init__(self) -> None:
                super().__init__()
                self.embed = nn.Embedding(10, 32)
                self.pos = nn.Parameter(0.02 * torch.randn(16, 32))
                self.encoder = nn.TransformerEncoderLayer(
                    32, 2, dim_feedforward=64, dropout=0.0, batch_first=True
                )
                self.head = nn.Linear(32, 4)

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                h = self.embed(x.long()) + self.pos
                return self.head(self.encoder(h).mean(dim=1))

        return TokenTransformer()


def _task(
    name: str,
    family: str,
    kind: str,
    data_fn: Callable[[], ZooData],
    model_fn: Callable[[], torch.nn.Module],
    batch_size: int,
    epochs: int,
    metric: str = "acc",
) -> ZooTask:
    return ZooTask(name, family, kind, data_fn, model_fn, batch_size, epochs, metric)


_spirals_model = functools.partial(_mlp, (2, 64, 64, 3), "relu")
_digits_model = functools.partial(_mlp, (64, 64, 64, 10), "tanh")

ZOO: tuple[ZooTask, ...] = (
    _task("spirals-relu", "spirals", "MLP ReLU", _spirals, _spirals_model, 32, 8),
    _task("spirals-relu-b256", "spirals", "MLP ReLU, batch 256", _spirals, _spirals_model, 256, 40),
    _task("digits-tanh", "digits-tanh", "MLP tanh", _digits, _digits_model, 32, 8),
    _task(
        "digits-tanh-b128", "digits-tanh", "MLP tanh, batch 128", _digits, _digits_model, 128, 30
    ),
    _task("digits-cnn", "digits-cnn", "2-D CNN", _digits, _digits_cnn, 32, 8),
    _task(
        "mnist1d-cnn",
        "mnist1d-cnn",
        "1-D CNN",
        _mnist1d,
        functools.partial(_mnist1d_cnn, False),
        64,
        6,
    ),
    _task(
        "mnist1d-bn",
        "mnist1d-bn",
        "1-D CNN + BatchNorm",
        _mnist1d,
        functools.partial(_mnist1d_cnn, True),
        64,
        6,
    ),
    _task("mnist1d-gru", "mnist1d-gru", "GRU", _mnist1d, _Recurrent.gru, 64, 6),
    _task("waves-lstm", "waves-lstm", "LSTM", _waves, _Recurrent.lstm, 32, 8),
    _task(
        "tokens-transformer",
        "tokens-transformer",
        "Transformer encoder",
        _tokens,
        _Recurrent.transformer,
        32,
        6,
    ),
    _task(
        "friedman-mlp",
        "friedman",
        "MLP regression",
        _friedman,
        functools.partial(_mlp, (10, 64, 64, 1), "relu"),
        32,
        6,
        "r2",
    ),
    _task(
        "cancer-mlp",
        "cancer",
        "MLP, tabular",
        _cancer,
        functools.partial(_mlp, (30, 32, 2), "relu"),
        16,
        11,
    ),
)

_BY_NAME = {t.name: t for t in ZOO}


def zoo_task(name: str) -> ZooTask:
    """The zoo task called ``name``.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
    """
    if name not in _BY_NAME:
        raise ValueError(f"unknown zoo task {name!r}; known: {', '.join(_BY_NAME)}")
    return _BY_NAME[name]


def _as_lab_task(zoo: ZooTask) -> Callable[..., Any]:
    """A lab task factory: the zoo's train, validation and test splits and its metric."""

    def factory(*, num_samples: int | None = None, seed: int = 0) -> Any:
        import torch

        from .._tasks import Task

        if num_samples is not None:
            raise ValueError(f"zoo-{zoo.name} has a fixed size; do not pass num_samples")
        d = zoo.data()

        def tensors(x: np.ndarray, y: np.ndarray) -> Any:
            return torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y))

        regression = zoo.metric == "r2"
        return Task(
            name=f"zoo-{zoo.name}",
            model_fn=zoo.model_fn,
            train_set=tensors(d.x_train, d.y_train),
            val_set=tensors(d.x_val, d.y_val),
            test_set=tensors(d.x_test, d.y_test),
            loss_fn=zoo.loss_fn(),
            num_classes=None if regression else int(d.y_train.max()) + 1,
            metric="r2" if regression else "accuracy",
            description=f"finder zoo: {zoo.kind}, batch {zoo.batch_size}",
        )

    return factory


def _register() -> None:
    from .._tasks import register_task

    for zoo in ZOO:
        if not re.search(r"-b[0-9]+$", zoo.name):  # a batch-size variant is the same task
            register_task(f"zoo-{zoo.name}", _as_lab_task(zoo), f"finder zoo: {zoo.kind}")


_register()
