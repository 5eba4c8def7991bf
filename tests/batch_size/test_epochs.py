"""Batch boundaries inside an epoch: coverage, the last batch, mid-epoch changes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrkit.batch_size import BatchStep, clock_time, epoch_batch_sizes


def test_short_last_batch_covers_the_epoch_and_drop_keeps_exact_sizes() -> None:
    s = BatchStep(batch_size=3, milestones=[1.5], factor=2)
    short = epoch_batch_sizes(s, 20, 1, last_batch="short")
    assert short.sum() == 20
    # positions 0..9 are before t = 1.5 (3 each), then 6 from position 12
    assert short.tolist() == [3, 3, 3, 3, 6, 2]
    drop = epoch_batch_sizes(s, 20, 1, last_batch="drop")
    assert drop.tolist() == [3, 3, 3, 3, 6]


def test_each_batch_has_the_size_scheduled_at_its_start() -> None:
    s = BatchStep(batch_size=4, milestones=[0.3, 0.7, 2.2], factor=3, clock="epoch")
    n = 101
    for epoch in range(3):
        sizes = epoch_batch_sizes(s, n, epoch, last_batch="drop")
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        for size, start in zip(sizes, starts, strict=True):
            assert size == s(epoch + start / n)


def test_resume_from_a_boundary_gives_the_rest_of_the_epoch() -> None:
    s = BatchStep(batch_size=5, milestones=[0.5], factor=3, clock="epoch")
    full = epoch_batch_sizes(s, 60, 0)
    for k in range(len(full)):
        start = int(full[:k].sum())
        assert epoch_batch_sizes(s, 60, 0, start=start).tolist() == full[k:].tolist()


def test_sample_clock_and_min_last() -> None:
    s = BatchStep(batch_size=4, milestones=[30], factor=2, clock="sample")
    assert clock_time("sample", 1, 10, 25) == 35.0
    assert epoch_batch_sizes(s, 25, 1).tolist() == [4, 4, 8, 8, 1]
    assert epoch_batch_sizes(s, 25, 1, min_last=2).tolist() == [4, 4, 8, 8]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="last_batch"):
        epoch_batch_sizes(4, 10, 0, last_batch="pad")
    with pytest.raises(ValueError, match="epoch"):
        epoch_batch_sizes(4, 10, -1)
    with pytest.raises(TypeError, match="batch_size"):
        epoch_batch_sizes("4", 10, 0)  # type: ignore[arg-type]


def _naive(schedule: BatchStep, n: int, epoch: int, last_batch: str, min_last: int) -> list[int]:
    sizes, pos = [], 0
    while pos < n:
        t = epoch + pos / n if schedule.clock == "epoch" else epoch * n + pos
        b = schedule(t)
        if pos + b > n:
            if last_batch == "short" and n - pos >= min_last:
                sizes.append(n - pos)
            break
        sizes.append(b)
        pos += b
    return sizes


@settings(max_examples=100, deadline=None)
@given(
    b0=st.integers(1, 20),
    factor=st.floats(0.3, 4.0),
    ms=st.lists(st.floats(0.0, 3.0), min_size=1, max_size=4, unique=True),
    clock=st.sampled_from(["epoch", "sample"]),
    n=st.integers(1, 300),
    epoch=st.integers(0, 3),
    last_batch=st.sampled_from(["short", "drop"]),
    min_last=st.integers(1, 4),
)
def test_matches_a_batch_by_batch_walk(
    b0: int,
    factor: float,
    ms: list[float],
    clock: str,
    n: int,
    epoch: int,
    last_batch: str,
    min_last: int,
) -> None:
    scale = 1.0 if clock == "epoch" else float(n)
    s = BatchStep(b0, milestones=sorted(m * scale for m in ms), factor=factor, clock=clock)
    got = epoch_batch_sizes(s, n, epoch, last_batch=last_batch, min_last=min_last).tolist()
    assert got == _naive(s, n, epoch, last_batch, min_last)
