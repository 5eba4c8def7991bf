"""lrkit: take the guesswork out of a neural network's learning rate.

``import lrkit`` needs numpy only. PyTorch integration lives in ``lrkit.torch``,
plots in ``lrkit.plotting``, the training lab in ``lrkit.experiments``; each
imports its heavy dependencies itself.
"""

from __future__ import annotations

from . import schedules
from .schedules import Schedule

__version__ = "0.1.0"

__all__ = ["Schedule", "__version__", "schedules"]
