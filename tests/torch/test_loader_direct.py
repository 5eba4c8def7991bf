"""ScheduledLoader without workers reads batches directly: the DataLoader's batches and RNG."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from lrkit.batch_size import BatchStep  # noqa: E402
from lrkit.torch import ScheduledLoader  # noqa: E402


class _Items(torch.utils.data.Dataset):
    """A dataset without __getitems__: items one by one, collated."""

    def __init__(self, n):
        self.x = torch.arange(n, dtype=torch.float32)[:, None]

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], int(i) % 3


@pytest.mark.parametrize(
    "dataset",
    [
        torch.utils.data.TensorDataset(torch.arange(37.0)[:, None], torch.arange(37) % 3),
        _Items(37),
    ],
)
def test_direct_reading_gives_the_dataloaders_batches_and_rng_stream(dataset):
    def run(direct):
        loader = ScheduledLoader(dataset, BatchStep(4, milestones=[1], factor=2), seed=5)
        loader._direct = direct
        torch.manual_seed(0)
        batches = [b for _ in range(3) for b in loader]
        return batches, torch.rand(3)  # what a dropout layer would draw next

    (fast, after_fast), (slow, after_slow) = run(True), run(False)
    assert len(fast) == len(slow) == 10 + 5 + 5
    for a, b in zip(fast, slow, strict=True):
        assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert torch.equal(after_fast, after_slow)


def test_workers_or_pinning_keep_the_dataloader():
    data = list(range(8))
    assert ScheduledLoader(data, 2)._direct
    assert not ScheduledLoader(data, 2, num_workers=1)._direct
