"""The LR range test, framework-agnostic: stop rule, lag-free fit and suggestions (numpy only).

Sweep the learning rate from tiny to huge over one short run, record the loss, stop
when it diverges, and read off a learning rate (Smith 2017). The PyTorch runner is
:func:`lrkit.torch.range_test`; this package only reads the numbers.

Example:
    >>> import numpy as np
    >>> from lrkit.range_test import analyze
    >>> lrs = np.logspace(-6, 1, 71)
    >>> x = np.log10(lrs)
    >>> result = analyze(lrs, 2.3 - 2.0 / (1 + np.exp(-3 * (x + 3))) + np.exp(4 * (x + 0.5)))
    >>> result.reliable, f"{result.suggestion:.0e}"
    (True, '1e-03')
"""

from __future__ import annotations

from ._fit import local_fit, running_median
from ._plot import plot_range_test
from ._race import SCHEDULES, Race, Rung, race, race_candidates, schedule_shape
from ._result import METHODS, NoSuggestionError, RangeTestResult, analyze, peak_lr
from ._stop import StopRule, StopState
from ._suggest import fastai_curve, lightning, minimum, steepest, valley
from ._sweep import sweep_lrs
from ._verdict import Verdict

__all__ = [
    "METHODS",
    "SCHEDULES",
    "NoSuggestionError",
    "Race",
    "RangeTestResult",
    "Rung",
    "StopRule",
    "StopState",
    "Verdict",
    "analyze",
    "fastai_curve",
    "lightning",
    "local_fit",
    "minimum",
    "peak_lr",
    "plot_range_test",
    "race",
    "race_candidates",
    "running_median",
    "schedule_shape",
    "steepest",
    "sweep_lrs",
    "valley",
]
