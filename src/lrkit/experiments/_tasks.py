"""Tasks for the lab: a model factory, train/val/test data, a loss; generated offline.

Built-ins (see :func:`register_task` to add more):

- ``mnist1d``: MNIST-1D (Greydanus 2020) made by ``mnist1d.data.make_dataset``
  (never its downloading ``get_dataset``), cached under ``$XDG_CACHE_HOME/lrkit``
  (or ``~/.cache/lrkit``); a small 1-D CNN.
- ``digits``: scikit-learn's bundled 8x8 digits (1,797 images); a small MLP.

Every task has a validation set: its own, or a seeded 10% held out of train
(:func:`hold_out`). What the lab chooses (``--lr auto``, tuning, plateau
decisions) is scored on val; test is reported, never used to choose.

Any task can get label noise: a fixed, seeded fraction of the training labels
is replaced by a random *wrong* class, and ``Task.noisy`` remembers which.

torch is imported inside the functions that need it, so importing this module
stays cheap.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
import random
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._io import atomic_file
from ._metrics import as_metric
from ._registry import Registry

if TYPE_CHECKING:
    import torch

__all__ = [
    "TASKS",
    "Task",
    "TaskFactory",
    "cache_dir",
    "get_task",
    "hold_out",
    "register_task",
    "registered_tasks",
    "with_label_noise",
]


@dataclass(frozen=True, eq=False)
class Task:
    """A learning problem for the lab.

    Args:
        name: short name, used in reports (``"mnist1d"``).
        model_fn: builds a fresh, randomly initialised model (uses torch's global
            RNG, which the trainer seeds).
        train_set: a map-style torch Dataset whose items are ``(input, target)``
            tuples, or dicts (Hugging Face style, ``{"input_ids": ..., "labels":
            ...}``: the model gets the other keys as keyword arguments, the loss
            ``labels``); a ``TensorDataset`` is indexed directly by the trainer.
        test_set: same, for evaluation (never noised); reported, never used to choose.
        loss_fn: ``loss_fn(model_output, target)`` returning the mean loss.
        num_classes: number of classes for classification, or ``None``.
        noisy: boolean mask over ``train_set``: which labels were replaced by label
            noise; ``None`` when there is no label noise.
        description: one line for reports.
        metric: a built-in metric's name (``accuracy``, ``loss``, ``perplexity``,
            ``mse``, ``rmse``, ``r2``) or a :class:`Metric`; default: accuracy when
            ``num_classes`` is given, loss otherwise.
        val_set: the validation set, evaluated every epoch (``val_loss``,
            ``val_metric``): what the lab chooses by. Optional: without it, a seeded
            10% of ``train_set`` is held out as the validation set (see
            :func:`hold_out`; the same split for every strategy and training seed)
            and ``val_held_out`` is ``True``.
        forward: optional ``forward(model, batch) -> (loss, outputs, targets)`` for
            models that compute their own loss; default ``loss_fn(model(x), y)``.

        val_held_out: set by construction: ``True`` when ``val_set`` was held out
            of the given ``train_set`` (do not pass it).

    Test data is reported, never used to choose: ``lrkit compare --lr auto`` and
    any tuning run on ``train_set`` and score their choices on ``val_set``.

    Tasks compare by identity (they hold datasets and models factories).
    """

    name: str
    model_fn: Callable[[], torch.nn.Module]
    train_set: Any
    test_set: Any
    loss_fn: Callable[[Any, Any], Any]
    num_classes: int | None = None
    noisy: np.ndarray | None = None
    description: str = ""
    metric: Any = None  # a Metric after construction (a name or None is resolved)
    val_set: Any = None
    forward: Callable[[Any, Any], tuple[Any, Any, Any]] | None = None
    val_held_out: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise TypeError(f"name must be a non-empty string, got {self.name!r}")
        if not callable(self.model_fn):
            raise TypeError(f"model_fn must be callable, got {self.model_fn!r}")
        if not callable(self.loss_fn):
            raise TypeError(f"loss_fn must be callable, got {self.loss_fn!r}")
        if self.num_classes is not None:
            if isinstance(self.num_classes, bool) or not isinstance(self.num_classes, int):
                raise TypeError(f"num_classes must be an int or None, got {self.num_classes!r}")
            if self.num_classes < 2:
                raise ValueError(f"num_classes must be >= 2, got {self.num_classes!r}")
        default = "accuracy" if self.num_classes is not None else "loss"
        object.__setattr__(
            self, "metric", as_metric(default if self.metric is None else self.metric)
        )
        if self.forward is not None and not callable(self.forward):
            raise TypeError(f"forward must be callable, got {self.forward!r}")
        for attr in ("train_set", "test_set", "val_set"):
            data = getattr(self, attr)
            if data is None and attr == "val_set":
                continue
            if not (hasattr(data, "__len__") and hasattr(data, "__getitem__")):
                raise TypeError(f"{attr} must be a map-style Dataset, got {data!r}")
        if self.noisy is not None:
            mask = np.asarray(self.noisy)
            if mask.dtype != np.bool_ or mask.shape != (len(self.train_set),):
                raise ValueError(
                    f"noisy must be a bool array of shape ({len(self.train_set)},), "
                    f"got {mask.dtype} {mask.shape}"
                )
        if self.val_set is None:
            if self.noisy is not None:
                raise ValueError(
                    "noisy needs a val_set: label noise is added after the validation split"
                )
            train, val = hold_out(self.train_set, VAL_FRACTION)
            object.__setattr__(self, "train_set", train)
            object.__setattr__(self, "val_set", val)
            object.__setattr__(self, "val_held_out", True)

    @property
    def train_size(self) -> int:
        """Number of training examples."""
        return len(self.train_set)

    @property
    def split_note(self) -> str:
        """One line for reports: the train/val/test sizes and where val came from."""
        sizes = f"{len(self.train_set)} train / {len(self.val_set)} val / {len(self.test_set)} test"
        if self.val_held_out:
            return (
                f"{sizes}; val is a seeded {VAL_FRACTION:.0%} of the given training set "
                f"(held out, seed {VAL_SEED}, the same for every strategy and seed)"
            )
        return f"{sizes}; val given by the task"


# The share of train held out as validation when a task gives no val_set, and its seed
# (a constant: independent of the training seed, so every strategy and seed see one split).
VAL_FRACTION = 0.1
VAL_SEED = 20261201


def hold_out(dataset: Any, fraction: float = VAL_FRACTION) -> tuple[Any, Any]:
    """Split ``dataset`` into (train, val): ``max(1, round(fraction * n))`` examples to val.

    The val examples are drawn by ``numpy.random.default_rng([VAL_SEED, n])`` (global
    RNG untouched; independent of any training seed); both parts keep the dataset's
    order. A ``TensorDataset`` gives ``TensorDataset`` parts (indexed directly by the
    trainer), anything else ``torch.utils.data.Subset`` parts.

    Raises:
        ValueError: ``fraction`` not in ``(0, 1)`` or fewer than 2 examples.

    Example:
        >>> import torch
        >>> data = torch.utils.data.TensorDataset(torch.arange(20.0), torch.arange(20))
        >>> train, val = hold_out(data)
        >>> len(train), len(val), sorted(set(train[:][1].tolist()) | set(val[:][1].tolist()))[-1]
        (18, 2, 19)
    """
    import torch

    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)):
        raise TypeError(f"fraction must be a number, got {fraction!r}")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must be in (0, 1), got {fraction!r}")
    n = len(dataset)
    if n < 2:
        raise ValueError(f"train_set needs >= 2 examples to hold out a val_set, got {n}")
    count = min(n - 1, max(1, round(fraction * n)))
    chosen = np.zeros(n, dtype=bool)
    chosen[np.random.default_rng([VAL_SEED, n]).choice(n, size=count, replace=False)] = True
    train_idx, val_idx = np.flatnonzero(~chosen), np.flatnonzero(chosen)
    if isinstance(dataset, torch.utils.data.TensorDataset):
        parts = []
        for idx in (train_idx, val_idx):
            index = torch.from_numpy(idx)
            parts.append(torch.utils.data.TensorDataset(*(t[index] for t in dataset.tensors)))
        return parts[0], parts[1]
    return (
        torch.utils.data.Subset(dataset, train_idx.tolist()),
        torch.utils.data.Subset(dataset, val_idx.tolist()),
    )


# A factory builds a task: factory(num_samples=..., seed=...) -> Task.
TaskFactory = Callable[..., Task]


def _check_factory(factory: object) -> None:
    if not callable(factory):
        raise TypeError(f"factory must be callable, got {factory!r}")


TASKS: Registry[TaskFactory] = Registry("task", group="lrkit.tasks", check=_check_factory)


def register_task(name: str, factory: TaskFactory, help: str = "") -> None:
    """Add a built-in task: ``get_task(name)`` calls ``factory(num_samples=..., seed=...)``.

    ``num_samples`` is ``None`` for the task's default size. Registering a name again
    replaces it (so a module can be reloaded). Plug-in packages register tasks under
    the entry-point group ``lrkit.tasks``.

    Raises:
        ValueError: ``name`` is not a lower-case word (letters, digits, ``-``, ``_``).
    """
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_\-]*", name):
        raise ValueError(f"task name must be a lower-case word, got {name!r}")
    TASKS.register(name, factory, help)


def registered_tasks() -> dict[str, str]:
    """Names of the registered tasks and their one-line help, sorted by name."""
    known = TASKS.help()
    return {name: known[name] for name in sorted(known)}


def get_task(
    spec: str, *, num_samples: int | None = None, label_noise: float = 0.0, seed: int = 0
) -> Task:
    """Build a task by name (``"mnist1d"``, ``"digits"``) or ``"package.module:function"``.

    A user's function is called without arguments and must return a :class:`Task`.

    Args:
        spec: built-in name or ``package.module:function``.
        num_samples: dataset size for built-ins (``None``: the task's default).
        label_noise: fraction in ``[0, 1)`` of training labels to replace by a
            random wrong class (exactly ``round(label_noise * n_train)`` of them).
        seed: chooses the noisy examples and their wrong labels.

    Returns:
        The task, with ``noisy`` set when ``label_noise > 0``.

    Raises:
        ValueError: unknown name, malformed path, import error, a function that is
            missing or does not return a Task, or bad ``num_samples``/``label_noise``.

    Example:
        >>> task = get_task("digits", num_samples=200, label_noise=0.25)
        >>> task.name, task.train_size, len(task.val_set), int(task.noisy.sum())
        ('digits', 144, 16, 36)
    """
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"task must be a name or 'package.module:function', got {spec!r}")
    if num_samples is not None and (
        isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 10
    ):
        raise ValueError(f"num_samples must be an int >= 10, got {num_samples!r}")
    if isinstance(label_noise, bool) or not isinstance(label_noise, (int, float)):
        raise TypeError(f"label_noise must be a number, got {label_noise!r}")
    if not 0.0 <= float(label_noise) < 1.0:
        raise ValueError(f"label_noise must be in [0, 1), got {label_noise!r}")
    if ":" in spec:
        if num_samples is not None:
            raise ValueError(
                f"num_samples={num_samples} applies to built-in tasks only, not {spec!r}"
            )
        task = _load_user_task(spec)
    elif spec in TASKS:
        task = TASKS.get(spec)(num_samples=num_samples, seed=seed)
    else:
        known = ", ".join(sorted(TASKS))
        raise ValueError(f"unknown task {spec!r}; known: {known}, or 'package.module:function'")
    if label_noise > 0:
        task = with_label_noise(task, float(label_noise), seed=seed)
    return task


def _load_user_task(spec: str) -> Task:
    module_name, _, func_name = spec.partition(":")
    ident = r"[A-Za-z_][A-Za-z0-9_]*"
    if not re.fullmatch(rf"{ident}(\.{ident})*", module_name) or not re.fullmatch(ident, func_name):
        raise ValueError(f"task {spec!r} must look like 'package.module:function'")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m` does: modules in the current folder
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import-time failure is the user's to fix
        raise ValueError(
            f"task {spec!r}: cannot import {module_name!r}: {type(exc).__name__}: {exc}"
        ) from None
    func = getattr(module, func_name, None)
    if func is None or not callable(func):
        raise ValueError(f"task {spec!r}: module {module_name!r} has no function {func_name!r}")
    try:
        task = func()
    except Exception as exc:  # the user's code failed: one line, as for an import error
        raise ValueError(
            f"task {spec!r}: {func_name}() failed: {type(exc).__name__}: {exc}"
        ) from None
    if not isinstance(task, Task):
        raise ValueError(
            f"task {spec!r}: {func_name}() must return lrkit.experiments.Task, "
            f"got {type(task).__name__}"
        )
    return task


# -- label noise ---------------------------------------------------------------------


def with_label_noise(task: Task, fraction: float, *, seed: int = 0) -> Task:
    """Replace exactly ``round(fraction * n)`` training labels by a random wrong class.

    The noisy examples and their labels come from ``numpy.random.default_rng([seed, 20190805])``
    (global RNG untouched); the new label is ``(y + k) % num_classes`` with ``k``
    uniform in ``1..num_classes-1``, so it is always wrong.

    Raises:
        ValueError: ``fraction`` not in ``[0, 1)`` or the task already has label noise.
    """
    import torch

    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"label_noise must be in [0, 1), got {fraction!r}")
    if task.noisy is not None:
        raise ValueError(f"task {task.name!r} already has label noise")
    if task.num_classes is None:
        raise ValueError(f"label noise needs a classification task; {task.name!r} has no classes")
    labels = _labels_of(task.train_set)
    n = len(labels)
    rng = np.random.default_rng([int(seed), 20190805])
    count = round(fraction * n)
    noisy = np.zeros(n, dtype=bool)
    noisy[rng.choice(n, size=count, replace=False)] = True
    shift = rng.integers(1, task.num_classes, size=n)
    new_labels = np.where(noisy, (labels + shift) % task.num_classes, labels)
    if isinstance(task.train_set, torch.utils.data.TensorDataset):
        x, *_ = task.train_set.tensors
        train_set: Any = torch.utils.data.TensorDataset(x, torch.as_tensor(new_labels))
    else:
        train_set = _Relabelled(task.train_set, new_labels)
    description = f"{task.description} with {fraction:.0%} label noise".strip()
    return dataclasses.replace(task, train_set=train_set, noisy=noisy, description=description)


def _labels_of(dataset: Any) -> np.ndarray:
    import torch

    if isinstance(dataset, torch.utils.data.TensorDataset):
        return dataset.tensors[1].numpy().astype(np.int64)
    return np.array([int(dataset[i][1]) for i in range(len(dataset))], dtype=np.int64)


class _Relabelled:
    """A dataset with the same inputs as ``base`` and the given labels."""

    def __init__(self, base: Any, labels: np.ndarray) -> None:
        self.base = base
        self.labels = labels

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        return self.base[index][0], int(self.labels[index])


# -- built-ins ------------------------------------------------------------------------


def cache_dir() -> Path:
    """lrkit's cache folder: ``$XDG_CACHE_HOME/lrkit`` or ``~/.cache/lrkit``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lrkit"


def _mnist1d_arrays(num_samples: int) -> dict[str, np.ndarray]:
    """MNIST-1D generated once per size and cached; global RNG state left as it was."""
    path = cache_dir() / f"mnist1d-n{num_samples}-seed42-v1.npz"
    if path.exists():
        try:
            with np.load(path) as data:
                return {k: data[k] for k in ("x", "y", "x_test", "y_test")}
        except (OSError, ValueError, KeyError):
            pass  # a corrupt cache is regenerated below
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples = num_samples
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        data = make_dataset(args)
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
    arrays = {
        "x": data["x"].astype(np.float32),
        "y": data["y"].astype(np.int64),
        "x_test": data["x_test"].astype(np.float32),
        "y_test": data["y_test"].astype(np.int64),
    }
    try:
        with atomic_file(path, "wb") as fh:
            np.savez(fh, **arrays)
    except OSError:
        pass  # an unwritable cache only costs regeneration time
    return arrays


def _cross_entropy() -> Callable[[Any, Any], Any]:
    import torch

    return torch.nn.CrossEntropyLoss()


def mnist1d_task(*, num_samples: int | None = None, seed: int = 0) -> Task:
    """MNIST-1D (default 5,000 samples: 4,000 train / 1,000 test) with a small 1-D CNN."""
    import torch

    n = 5000 if num_samples is None else num_samples
    arrays = _mnist1d_arrays(n)
    train = torch.utils.data.TensorDataset(
        torch.from_numpy(arrays["x"]), torch.from_numpy(arrays["y"])
    )
    test = torch.utils.data.TensorDataset(
        torch.from_numpy(arrays["x_test"]), torch.from_numpy(arrays["y_test"])
    )
    return Task(
        name="mnist1d",
        model_fn=_mnist1d_cnn,
        train_set=train,
        test_set=test,
        loss_fn=_cross_entropy(),
        num_classes=10,
        description=f"MNIST-1D, {len(train)} train+val / {len(test)} test, 1-D CNN",
    )


def _mnist1d_cnn() -> torch.nn.Module:
    """Three stride-2 1-D convolutions (25 channels) and a linear head: about 5k weights."""
    from torch import nn

    return nn.Sequential(
        nn.Unflatten(1, (1, 40)),
        nn.Conv1d(1, 25, 5, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Conv1d(25, 25, 3, stride=2, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(25 * 5, 10),
    )


def _tensor_split(
    x: np.ndarray, y: np.ndarray, train_fraction: float
) -> tuple[torch.utils.data.TensorDataset, torch.utils.data.TensorDataset]:
    """The first ``floor(train_fraction * n)`` rows for training, the rest for testing."""
    import torch

    split = math.floor(train_fraction * len(y))
    xt, yt = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))
    train = torch.utils.data.TensorDataset(xt[:split], yt[:split])
    test = torch.utils.data.TensorDataset(xt[split:], yt[split:])
    return train, test


def digits_task(*, num_samples: int | None = None, seed: int = 0) -> Task:
    """scikit-learn's 8x8 digits (1,797 images, 80/20 split, fixed order) with an MLP."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    if num_samples is not None and num_samples > len(y):
        raise ValueError(f"num_samples must be <= {len(y)} for digits, got {num_samples}")
    order = np.random.default_rng(1797).permutation(len(y))[: num_samples or len(y)]
    train, test = _tensor_split(x[order] / 16.0, y[order], 0.8)
    return Task(
        name="digits",
        model_fn=_digits_mlp,
        train_set=train,
        test_set=test,
        loss_fn=_cross_entropy(),
        num_classes=10,
        description=(
            f"sklearn digits 8x8, {len(train)} train+val / {len(test)} test, MLP 64-128-10"
        ),
    )


def _digits_mlp() -> torch.nn.Module:
    from torch import nn

    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


register_task("mnist1d", mnist1d_task, "MNIST-1D (generated offline, cached), small 1-D CNN")
register_task("digits", digits_task, "scikit-learn 8x8 digits (bundled), MLP 64-128-10")
