"""Top-level functions the executor tests run in workers (importable by spawn and Ray).

Each is deterministic from its argument; none touches global state it does not set.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path


def train_tiny(seed: int) -> tuple[float, ...]:
    """Train a small MLP for 40 SGD steps on synthetic data; its final weights, exactly."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(128, 8, generator=gen)
    y = (x[:, :2].sum(dim=1) > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(40):
        idx = torch.randint(0, 128, (32,), generator=gen)
        loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        del step
    return tuple(float(v) for p in model.parameters() for v in p.detach().flatten().tolist())


def square_or_raise(x: int) -> int:
    """``x * x``, but 3 is refused."""
    if x == 3:
        raise ValueError(f"three is refused\nsecond line of the message for {x}")
    return x * x


def sleepy(spec: tuple[str, float, str]) -> str:
    """Write ``<dir>/<name>.pid`` with this process's id, sleep, return the name.

    It first makes a (disabled) tqdm bar, as the lab's trainer does: tqdm's lock must not
    outlive a worker ended mid-item."""
    from tqdm.auto import tqdm

    name, seconds, folder = spec
    tqdm(total=1, disable=True).close()
    tmp = Path(folder) / f"{name}.pid.tmp"
    tmp.write_text(str(os.getpid()))
    tmp.replace(Path(folder) / f"{name}.pid")
    time.sleep(seconds)
    return name


def die_once(spec: tuple[str, int]) -> int:
    """First call: leave a marker with this pid and hang (the test kills us); then ``2 * x``."""
    folder, value = spec
    marker = Path(folder) / f"attempt-{value}"
    if not marker.exists():
        tmp = marker.with_suffix(".tmp")
        tmp.write_text(str(os.getpid()))
        tmp.replace(marker)
        time.sleep(60)
    return 2 * value


def hold(spec: tuple[str, float]) -> tuple[str, float, float]:
    """Hold a (pretend) device for a while: ``(device, start, end)`` in wall-clock seconds."""
    device, seconds = spec
    start = time.time()
    time.sleep(seconds)
    return device, start, time.time()


def threads_seen(_: object) -> tuple[int, str | None]:
    """The torch threads and OMP_NUM_THREADS in the worker."""
    import torch

    return torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")


def maybe_unpicklable(x: int) -> object:
    """``x``, except 2 gives a result that cannot travel back (a lambda)."""
    return (lambda: x) if x == 2 else x


def noop_for_gpu(spec: tuple[str, int]) -> int:
    """A trial that would run on a GPU (never called where none is)."""
    return spec[1]


@dataclass(frozen=True)
class FakeTrial:
    """Stands in for the lab's Trial: a picklable dataclass with a device field."""

    x: int
    device: str = "cpu"

    @property
    def label(self) -> str:
        return f"trial {self.x}"


def run_fake(trial: FakeTrial) -> tuple[int, str]:
    """``(x * x, device)``; trial 3 fails."""
    return square_or_raise(trial.x), trial.device


def pid_of(_: object) -> int:
    """The id of the process that ran the item."""
    return os.getpid()
