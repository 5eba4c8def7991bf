"""Where parallel trials run: worker counts, torch threads and device slots.

Pure functions of their arguments (and, for the defaults, of the CPUs this process
may use), so the placement rules are unit-tested without a GPU:

- ``--jobs N`` on CPU runs N trials at once, each with ``cores // N`` torch threads,
  so ``jobs * threads <= cores``;
- ``--devices cuda:0,cuda:1`` gives each device one *slot*: a trial runs on a slot's
  device and holds it until it finishes, so one trial runs per device at a time
  (``jobs`` above the device count shares devices round-robin, on request only);
- on Ray, a trial asks for one GPU (``num_gpus=1``) and Ray picks it: the task sees
  only that GPU (``CUDA_VISIBLE_DEVICES``), as ``cuda``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence

__all__ = [
    "available_cores",
    "default_jobs",
    "device_slots",
    "first_free_slot",
    "parse_devices",
    "ray_resources",
    "threads_per_job",
]

_DEVICE = re.compile(r"(cpu|mps|cuda(:\d+)?|xpu(:\d+)?)")


def available_cores() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def parse_devices(text: str | Sequence[str]) -> tuple[str, ...]:
    """The devices of ``--devices``: ``"cpu"`` or ``"cuda:0,cuda:1"`` (a list works too).

    Example:
        >>> parse_devices("cuda:0, cuda:1")
        ('cuda:0', 'cuda:1')

    Raises:
        ValueError: an empty list, a name torch does not spell that way, a repeat, or
            ``cpu`` mixed with accelerators.
    """
    items = [p.strip() for p in text.split(",")] if isinstance(text, str) else list(text)
    items = [p for p in items if p]
    if not items:
        raise ValueError(f"devices must name at least one device, got {text!r}")
    for item in items:
        if not isinstance(item, str) or not _DEVICE.fullmatch(item):
            raise ValueError(
                f"devices: {item!r} is not a device (cpu, cuda, cuda:N, mps, xpu:N) in {text!r}"
            )
    if len(set(items)) != len(items):
        raise ValueError(f"devices must be distinct, got {text!r}")
    if "cpu" in items and len(items) > 1:
        raise ValueError(f"devices: cpu cannot be mixed with accelerators, got {text!r}")
    return tuple(items)


def _on_cpu(devices: Sequence[str]) -> bool:
    return tuple(devices) == ("cpu",)


def default_jobs(devices: Sequence[str] = ("cpu",), cores: int | None = None) -> int:
    """Trials run at once by default: every core on CPU, one per accelerator otherwise.

    Example:
        >>> default_jobs(("cpu",), cores=8), default_jobs(("cuda:0", "cuda:1"), cores=8)
        (8, 2)
    """
    return (cores or available_cores()) if _on_cpu(devices) else len(devices)


def threads_per_job(jobs: int, cores: int | None = None) -> int:
    """Torch threads per worker so that ``jobs * threads <= cores`` (at least 1).

    Example:
        >>> threads_per_job(2, cores=2), threads_per_job(3, cores=8), threads_per_job(4, cores=2)
        (1, 2, 1)
    """
    _check_jobs(jobs)
    return max(1, (cores or available_cores()) // jobs)


def device_slots(devices: Sequence[str], jobs: int) -> tuple[str, ...]:
    """The device of each of ``jobs`` slots: slot ``i`` runs on ``devices[i % len(devices)]``.

    A trial holds its slot until it finishes, so with ``jobs == len(devices)`` (the
    default for accelerators) each device runs one trial at a time.

    Example:
        >>> device_slots(("cuda:0", "cuda:1"), 2)
        ('cuda:0', 'cuda:1')
        >>> device_slots(("cpu",), 3)
        ('cpu', 'cpu', 'cpu')
    """
    _check_jobs(jobs)
    if not devices:
        raise ValueError("devices must name at least one device, got ()")
    return tuple(devices[i % len(devices)] for i in range(jobs))


def first_free_slot(busy: Iterable[int], slots: int) -> int:
    """The lowest slot not in ``busy``: where the next trial goes.

    Example:
        >>> first_free_slot({0, 2}, 3)
        1

    Raises:
        ValueError: every slot is busy (the caller waits for a trial to finish first).
    """
    taken = set(busy)
    for slot in range(slots):
        if slot not in taken:
            return slot
    raise ValueError(f"all {slots} slots are busy: wait for a trial to finish first")


def ray_resources(devices: Sequence[str], cpus_per_task: int) -> tuple[int, int, str]:
    """``(num_cpus, num_gpus, device)`` for each Ray task running a trial on ``devices``.

    On CPU a task asks for ``cpus_per_task`` CPUs. With CUDA devices it also asks for
    one GPU; Ray chooses which, and the task sees it as ``cuda`` (Ray sets
    ``CUDA_VISIBLE_DEVICES``), so the listed device numbers do not pin tasks there.

    Example:
        >>> ray_resources(("cuda:0", "cuda:1"), 1)
        (1, 1, 'cuda')
    """
    if isinstance(cpus_per_task, bool) or not isinstance(cpus_per_task, int) or cpus_per_task < 1:
        raise ValueError(f"cpus_per_task must be an int >= 1, got {cpus_per_task!r}")
    if _on_cpu(devices):
        return cpus_per_task, 0, "cpu"
    if all(d.startswith("cuda") for d in devices):
        return cpus_per_task, 1, "cuda"
    raise ValueError(f"the Ray backend places trials on cpu or cuda only, got {tuple(devices)}")


def _check_jobs(jobs: int) -> None:
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
