"""The scheduled loader's throughput vs a plain DataLoader at the same batch sizes.

Both read the same map-style dataset (per-sample ``__getitem__``, default
collate), shuffled, with 0 and 2 workers (persistent, prefetch 2), alternating
epoch by epoch for several rounds. The machine is shared and its load changes by
the second, so the comparison is made on CPU time (the main process plus its
workers, read from /proc), as the median of the paired epochs' ratios: the work
per sample is what a loaded machine measures reliably, and an idle machine's
throughput is its inverse when loading is CPU-bound. Wall-clock rates of the same
epochs are shown too. Target: scheduled / plain >= 0.95.

It also counts stale batches after a batch-size change mid-epoch: a plain
DataLoader whose ``batch_sampler.batch_size`` is changed keeps handing out the
batches its workers prefetched at the old size; the scheduled loader has none.

Run from the repository root::

    python benchmarks/batch_loader_throughput.py [--samples 20000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import command_line, machine_line, markdown_table, write_section
from lrkit.batch_size import BatchStep
from lrkit.torch import ScheduledBatchSampler, ScheduledLoader

TARGET = 0.95


class Samples(torch.utils.data.Dataset):
    """MNIST-1D-sized samples (40 floats and a label), fetched one at a time."""

    def __init__(self, n: int) -> None:
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 40, generator=gen)
        self.y = torch.randint(0, 10, (n,), generator=gen)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]


def _worker_cpu(loader: object) -> float:
    """CPU seconds used so far by a DataLoader's live worker processes (Linux /proc)."""
    inner = getattr(loader, "loader", loader)  # ScheduledLoader wraps a DataLoader
    iterator = getattr(inner, "_iterator", None)
    total = 0.0
    for worker in getattr(iterator, "_workers", []):
        fields = Path(f"/proc/{worker.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _epoch(loader: object) -> tuple[float, float, int]:
    """One epoch: CPU seconds (this process and the workers), wall seconds, samples."""
    cpu0, wall0, work0 = time.process_time(), time.perf_counter(), _worker_cpu(loader)
    count = 0
    for _, y in loader:  # type: ignore[attr-defined]
        count += len(y)
    wall = time.perf_counter() - wall0
    return time.process_time() - cpu0 + _worker_cpu(loader) - work0, wall, count


def _loaders(data: Samples, batch: int, workers: int) -> tuple[object, object]:
    extra = {"persistent_workers": True, "prefetch_factor": 2} if workers else {}
    plain = torch.utils.data.DataLoader(
        data, batch_size=batch, shuffle=True, num_workers=workers, **extra
    )
    scheduled = ScheduledLoader(data, batch, seed=0, num_workers=workers, **extra)
    return plain, scheduled


def throughput(samples: int, rounds: int) -> list[list[object]]:
    data = Samples(samples)
    rows: list[list[object]] = []
    for workers in (0, 2):
        for batch in (32, 128, 512):
            plain, scheduled = _loaders(data, batch, workers)
            _epoch(plain), _epoch(scheduled)  # start the workers, warm the caches
            cpu = {"plain": 0.0, "scheduled": 0.0}
            wall = {"plain": 0.0, "scheduled": 0.0}
            samples = 0
            paired = []
            for _ in range(rounds):
                got = {}
                for name, loader in (("plain", plain), ("scheduled", scheduled)):
                    c, w, count = _epoch(loader)
                    got[name] = c
                    cpu[name] += c
                    wall[name] += w
                samples += count
                paired.append(got["plain"] / got["scheduled"])
            ratio = statistics.median(paired)
            rows.append(
                [
                    workers,
                    batch,
                    f"{1e6 * cpu['plain'] / samples:.2f}",
                    f"{1e6 * cpu['scheduled'] / samples:.2f}",
                    f"**{ratio:.2f}**",
                    f"{samples / wall['plain']:,.0f}",
                    f"{samples / wall['scheduled']:,.0f}",
                    f"{wall['plain'] / wall['scheduled']:.2f}",
                ]
            )
            del plain, scheduled
    return rows


def sampler_cost(samples: int, rounds: int) -> list[list[object]]:
    """CPU milliseconds per epoch of index lists alone (no fetch): the sampler's own cost."""
    rows: list[list[object]] = []
    for batch in (32, 128, 512):
        plain = torch.utils.data.BatchSampler(
            torch.utils.data.RandomSampler(range(samples)), batch, drop_last=False
        )
        ours = ScheduledBatchSampler(samples, batch)
        cost = {"plain": 0.0, "scheduled": 0.0}
        for _ in range(rounds):
            for name, sampler in (("plain", plain), ("scheduled", ours)):
                tic = time.process_time()
                for _ in sampler:
                    pass
                cost[name] += time.process_time() - tic
        rows.append(
            [
                batch,
                f"{1000 * cost['plain'] / rounds:.2f}",
                f"{1000 * cost['scheduled'] / rounds:.2f}",
            ]
        )
    return rows


def stale_batches() -> tuple[int, int]:
    """Batches of the old size handed out after a change from 8 to 32 at batch 10."""
    data = Samples(2000)
    plain = torch.utils.data.DataLoader(
        data, batch_size=8, shuffle=True, num_workers=2, persistent_workers=True, prefetch_factor=2
    )
    plain_stale = 0
    for i, (_, y) in enumerate(plain):
        if i == 10:
            plain.batch_sampler.batch_size = 32  # type: ignore[union-attr]
        elif i > 10 and len(y) == 8:
            plain_stale += 1
        if i > 30:
            break
    # the scheduled loader: the same change, at batch 10 (80 of 2000 samples = epoch 0.04)
    schedule = BatchStep(batch_size=8, milestones=[0.04], factor=4)
    scheduled = ScheduledLoader(data, schedule, num_workers=2, prefetch_factor=2)
    ours_stale = 0
    for i, (_, y) in enumerate(scheduled):
        if i >= 10 and len(y) == 8:
            ours_stale += 1
        if i > 30:
            break
    return plain_stale, ours_stale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=40_000)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = throughput(args.samples, args.rounds)
    plain_stale, ours_stale = stale_batches()
    costs = sampler_cost(args.samples, args.rounds)
    worst = min(float(str(r[4]).strip("*")) for r in rows)
    table = markdown_table(
        [
            "workers",
            "batch size",
            "plain CPU µs/sample",
            "scheduled CPU µs/sample",
            "throughput ratio (CPU)",
            "plain samples/s (wall)",
            "scheduled samples/s (wall)",
            "ratio (wall)",
        ],
        rows,
    )
    body = "\n".join(
        [
            "## Scheduled batch loader throughput (`batch-loader`)",
            "",
            f"`lrkit.torch.ScheduledLoader` vs `torch.utils.data.DataLoader`, {args.samples} "
            "samples of 40 floats fetched one by one, shuffled, workers persistent with "
            f"prefetch 2; {args.rounds} epochs each, alternating. The ratio is the median "
            "over the rounds of plain / scheduled CPU time of an epoch (main process + "
            "workers), i.e. the scheduled loader's relative throughput when loading is "
            "CPU-bound; wall-clock rates of the "
            "same epochs on this shared machine are shown for reference.",
            "",
            table,
            "",
            f"Worst CPU-time ratio {worst:.2f} (target >= {TARGET}): "
            f"**{'met' if worst >= TARGET else 'missed'}**.",
            "",
            "The index lists alone (no fetch), CPU ms per epoch, mean of the rounds: the "
            "sampler's own cost, immune to the machine's load.",
            "",
            markdown_table(
                ["batch size", "torch BatchSampler(RandomSampler)", "ScheduledBatchSampler"], costs
            ),
            "",
            "Stale batches after a batch-size change mid-epoch (2 workers x prefetch 2): plain "
            f"DataLoader with `batch_sampler.batch_size` changed: {plain_stale}; "
            f"ScheduledLoader with the change in its schedule: {ours_stale}.",
            "",
            f"Machine: {machine_line()}.",
            "",
            f"Command: `{command_line()}`",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("batch-loader", body)


if __name__ == "__main__":
    main()
