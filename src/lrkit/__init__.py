"""lrkit: take the guesswork out of a neural network's learning rate.

``import lrkit`` needs numpy only. The numpy-only parts are imported here:

- :mod:`lrkit.schedules`: learning-rate schedules as immutable values;
- :mod:`lrkit.range_test`: the analysis of an LR range test;
- :mod:`lrkit.batch_size`: batch-size schedules and the exact conversion of an LR
  schedule into a batch schedule (Smith et al. 2018).

PyTorch integration lives in :mod:`lrkit.torch`, plots in :mod:`lrkit.plotting`
and the training lab in :mod:`lrkit.experiments`; import them explicitly, they
bring torch or matplotlib with them.

Example:
    >>> import lrkit
    >>> s = lrkit.schedules.parse("warmup(cosine(lr=0.1, total_steps=900), warmup_steps=100)")
    >>> round(s(50), 4), s(100), s(1000)
    (0.05, 0.1, 0.0)
"""

from __future__ import annotations

from . import batch_size, range_test, schedules
from .schedules import Schedule

__version__ = "0.1.0"

__all__ = ["Schedule", "__version__", "batch_size", "range_test", "schedules"]
