"""Shared test set-up: fixed seeds, one torch thread per test process."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _seeded() -> None:
    random.seed(0)
    np.random.seed(0)  # noqa: NPY002 - pins any library that still reads the global RNG


def pytest_configure(config: pytest.Config) -> None:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dev dependency
        return
    torch.set_num_threads(1)


try:
    from hypothesis import settings as _hypothesis_settings
except ImportError:  # pragma: no cover - hypothesis is a dev dependency
    pass
else:
    # CI explores the same examples on every run, so main stays green or red for a
    # reason; locally hypothesis keeps exploring new ones (and replays its failures).
    _hypothesis_settings.register_profile("ci", derandomize=True, deadline=None)
    if os.environ.get("CI"):
        _hypothesis_settings.load_profile("ci")
