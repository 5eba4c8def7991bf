"""PyTorch integration: the only part of lrkit's core that imports torch.

Install with ``pip install lrkit[torch]``.
"""

from __future__ import annotations

from ._range_test import range_test
from ._scheduler import LRScheduler

__all__: list[str] = ["LRScheduler", "range_test"]
