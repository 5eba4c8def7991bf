"""PyTorch integration: the only part of lrkit's core that imports torch.

Install with ``pip install lrkit[torch]``.
"""

from __future__ import annotations

from ._accumulate import AccumulationResult, accumulate_gradients, grad_sq_norm
from ._adaptive_batch import AdaptiveBatchSize
from ._batching import ScheduledBatchSampler, ScheduledLoader
from ._noise_scale import GradientNoiseScale, NoiseScaleState
from ._plateau import PlateauScheduler
from ._range_test import range_test
from ._scheduler import LRScheduler

__all__: list[str] = [
    "AccumulationResult",
    "AdaptiveBatchSize",
    "GradientNoiseScale",
    "LRScheduler",
    "NoiseScaleState",
    "PlateauScheduler",
    "ScheduledBatchSampler",
    "ScheduledLoader",
    "accumulate_gradients",
    "grad_sq_norm",
    "range_test",
]
