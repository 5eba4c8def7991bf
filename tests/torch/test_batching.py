"""The scheduled sampler/loader: exact sizes with workers, coverage, seeding, resume."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
import torch

from lrkit.batch_size import BatchStep, epoch_batch_sizes
from lrkit.torch import ScheduledBatchSampler, ScheduledLoader


def _flat(parts: object) -> list[int]:
    return sorted(itertools.chain.from_iterable(parts))  # type: ignore[call-overload]


SCHEDULE = BatchStep(batch_size=3, milestones=[0.5, 1, 2.25], factor=2)


class _Indexed(torch.utils.data.Dataset):
    """Sample i is (i, pid of the process that fetched it)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.tensor([i, os.getpid()])


def test_zero_stale_batches_with_persistent_prefetching_workers() -> None:
    n = 40
    loader = ScheduledLoader(_Indexed(n), SCHEDULE, num_workers=2, prefetch_factor=2, seed=3)
    pids: set[int] = set()
    for epoch in range(3):
        expected = epoch_batch_sizes(SCHEDULE, n, epoch).tolist()
        assert len(loader) == len(expected)
        batches = list(loader)
        # every batch has the size scheduled at its start, including right after a change
        assert [len(b) for b in batches] == expected
        seen = torch.cat(batches)
        assert sorted(seen[:, 0].tolist()) == list(range(n))  # every sample once per epoch
        pids |= set(seen[:, 1].tolist())
    assert len(pids) == 2 and os.getpid() not in pids  # the same two workers, never restarted
    assert loader.epoch == 3


def test_shuffling_is_seeded_by_seed_and_epoch_and_leaves_global_rng_alone() -> None:
    state = np.random.get_state()  # noqa: NPY002
    a = ScheduledBatchSampler(30, 4, seed=1)
    b = ScheduledBatchSampler(30, 4, seed=1)
    first, second = list(a), list(a)
    assert first == list(b) and second == list(b)
    assert first != second  # a new permutation each epoch
    assert list(ScheduledBatchSampler(30, 4, seed=2)) != first
    assert np.array_equal(np.random.get_state()[1], state[1])  # noqa: NPY002


def test_drop_gives_exact_sizes_only() -> None:
    s = ScheduledBatchSampler(10, 4, shuffle=False, last_batch="drop")
    assert list(s) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_ranks_split_each_global_batch_and_take_the_same_steps() -> None:
    n, world = 23, 3
    per_rank = [
        list(ScheduledBatchSampler(n, SCHEDULE, rank=r, world_size=world, seed=5))
        for r in range(world)
    ]
    single = list(ScheduledBatchSampler(n, SCHEDULE, seed=5))
    assert len({len(p) for p in per_rank}) == 1
    for step, whole in enumerate(single):
        parts = [p[step] for p in per_rank]
        assert all(parts) and _flat(parts) == sorted(whole)
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
    # a remainder smaller than the world size is skipped so that no rank gets nothing
    assert sum(map(len, single)) == n
    assert epoch_batch_sizes(SCHEDULE, n, 0, min_last=world).sum() <= n


@pytest.mark.parametrize("new_world", [1, 2, 3])
def test_mid_epoch_resume_across_a_batch_change_and_a_world_size_change(new_world: int) -> None:
    n, data = 50, list(range(50))
    reference = ScheduledLoader(data, SCHEDULE, seed=7)
    stream = [b.tolist() for _ in range(2) for b in reference]
    # two ranks read 10 batches (crossing the change at epoch 0.5), then stop
    first = [ScheduledLoader(data, SCHEDULE, seed=7, rank=r, world_size=2) for r in range(2)]
    iters = [iter(ld) for ld in first]
    for step in range(10):
        got = _flat(next(it).tolist() for it in iters)
        assert got == sorted(stream[step])
    state = first[0].state_dict()
    assert state == first[1].state_dict()
    assert state["position"] == sum(len(b) for b in stream[:10]) and state["position"] > n / 2
    # resume on a different number of ranks: the next sample is the right one
    resumed = [
        ScheduledLoader(data, SCHEDULE, seed=7, rank=r, world_size=new_world)
        for r in range(new_world)
    ]
    for ld in resumed:
        ld.load_state_dict(state)
    rest = []
    for _ in range(2):  # the rest of epoch 0, then epoch 1
        for parts in zip(*resumed, strict=True):
            rest.append(_flat(p.tolist() for p in parts))
    # (a last remainder smaller than the world size is skipped: only a short tail can be)
    assert rest == [sorted(b) for b in stream[10:] if len(b) >= new_world]


def test_state_dict_refuses_another_schedule_or_seed() -> None:
    state = ScheduledLoader(list(range(10)), 2, seed=0).state_dict()
    with pytest.raises(ValueError, match="schedule"):
        ScheduledLoader(list(range(10)), 3, seed=0).load_state_dict(state)
    with pytest.raises(ValueError, match="seed"):
        ScheduledLoader(list(range(10)), 2, seed=1).load_state_dict(state)


def test_clock_values_for_the_lr() -> None:
    loader = ScheduledLoader(list(range(12)), SCHEDULE, shuffle=False)
    times, sizes = [], []
    for _ in loader:
        times.append(loader.batch_time)
        sizes.append(loader.batch_size)
    assert times == [0.0, 0.25, 0.5] and sizes == [3, 3, 6]
    assert loader.time == 1.0


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="rank"):
        ScheduledBatchSampler(10, 2, rank=2, world_size=2)
    with pytest.raises(TypeError, match="batch_size"):
        ScheduledBatchSampler(10, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="last_batch"):
        ScheduledBatchSampler(10, 2, last_batch="pad")


def test_a_truncated_state_is_refused_with_a_value_error() -> None:
    loader = ScheduledLoader(list(range(10)), 2)
    state = loader.state_dict()
    del state["position"]
    with pytest.raises(ValueError, match="missing 'position'"):
        ScheduledLoader(list(range(10)), 2).load_state_dict(state)


def test_set_schedule_applies_from_the_next_epoch_and_resumes() -> None:
    loader = ScheduledLoader(list(range(12)), 3, shuffle=False)
    assert [len(b) for b in loader] == [3, 3, 3, 3]
    grown = BatchStep(3, milestones=[1], factor=2)
    loader.set_schedule(grown)
    assert loader.schedule == grown
    it = iter(loader)
    assert len(next(it)) == 6
    with pytest.raises(ValueError, match="epoch boundary"):
        loader.set_schedule(3)
    saved = loader.state_dict()
    fresh = ScheduledLoader(list(range(12)), 3, shuffle=False)
    with pytest.raises(ValueError, match="schedule"):
        fresh.load_state_dict(saved)
    fresh.set_schedule(grown)  # the schedule in force first, then the progress
    fresh.load_state_dict(saved)
    assert [b.tolist() for b in fresh] == [list(range(6, 12))]
    with pytest.raises(TypeError, match="batch_size must be"):
        fresh.set_schedule("big")  # type: ignore[arg-type]
