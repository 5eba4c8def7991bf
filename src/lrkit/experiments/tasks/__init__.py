"""The lab's task builders as registered tasks: ``tiny-lm`` and ``diabetes``.

The builders (``_tiny_lm.py``, ``_diabetes.py``) return plain parts; this package
turns them into :class:`~lrkit.experiments.Task` values and registers them. The
range-test tasks (``spirals``, ``mnist1d-bn``, ...) are in ``_range_test_tasks.py``
and the finder zoo in ``_zoo.py``. The ``Task`` type, the registry and the older
built-ins (``mnist1d``, ``digits``) still live in ``lrkit.experiments``.
"""

from __future__ import annotations

from typing import Any

from .._tasks import Task, register_task

__all__ = ["diabetes_task", "tiny_lm_task"]


def tiny_lm_task(*, num_samples: int | None = None, seed: int = 0) -> Task:
    """``tiny-lm``: a 2-layer character Transformer (width 64, context 64), perplexity.

    ``num_samples`` is the number of training windows (default 1,024; validation and
    test get 128 each, or an eighth of it when given); ``seed`` deals the text blocks.
    """
    from ._tiny_lm import make_tiny_lm

    sizes: dict[str, Any] = {}
    if num_samples is not None:
        side = max(8, num_samples // 8)
        sizes = {"train_sequences": num_samples, "val_sequences": side, "test_sequences": side}
    parts = make_tiny_lm(seed=seed, **sizes)
    return Task(
        name="tiny-lm",
        model_fn=parts.model_fn,
        train_set=parts.train_set,
        val_set=parts.val_set,
        test_set=parts.test_set,
        loss_fn=parts.loss_fn,
        metric="perplexity",
        description=parts.description,
    )


def diabetes_task(*, num_samples: int | None = None, seed: int = 0) -> Task:
    """``diabetes``: scikit-learn's bundled regression set, an MLP 10-16-16-1, R².

    The 442 rows are fixed: ``num_samples`` is refused. ``seed`` deals them to
    train/val/test (60/20/20).
    """
    from ._diabetes import make_diabetes

    if num_samples is not None:
        raise ValueError(f"diabetes has 442 rows; num_samples must be None, got {num_samples}")
    parts = make_diabetes(seed=seed)
    return Task(
        name="diabetes",
        model_fn=parts.model_fn,
        train_set=parts.train_set,
        val_set=parts.val_set,
        test_set=parts.test_set,
        loss_fn=parts.loss_fn,
        metric="r2",
        description=parts.description,
    )


register_task("tiny-lm", tiny_lm_task, "character Transformer LM (offline text), perplexity")
register_task("diabetes", diabetes_task, "sklearn diabetes regression (bundled), MLP, R²")

from . import _zoo  # noqa: E402, F401  (the finder zoo registers its tasks)
