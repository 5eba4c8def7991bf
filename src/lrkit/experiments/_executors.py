"""Map a function over independent items: inline, in local processes, or as Ray tasks.

A comparison is a set of independent trials, so running it is
``executor.map(run_trial, trials)``. Every executor yields an :class:`Outcome` per item
*as it finishes*, holding the function's result or a :class:`Failure`; the caller (the
driver) alone writes files, so a crash loses at most the items in flight.

Contract for the function and the items:

- ``fn`` is a top-level function and the items are small picklable values (specs,
  not tensors): they are pickled to reach a worker. Data reaches workers by
  *reference*: a worker rebuilds large objects from the item's spec and keeps them in
  a per-process cache, e.g. a ``functools.lru_cache``'d task builder, so each worker
  builds a dataset once however many trials it runs.
- ``fn(item)`` is deterministic from its argument: it seeds what it uses (a local
  generator, or ``torch.manual_seed`` at its start). Workers seed nothing and only set
  their torch thread count, so a result does not depend on which worker ran the item,
  nor in what order: the same bits as ``jobs=1`` on the same machine.

Failures are isolated: an item whose function raises yields a ``Failure`` with a
one-line summary and the worker's traceback, and the other items finish. A worker
process that dies (``kill -9``, out of memory) fails the items it held: local processes
report every item in flight as lost and carry on with a fresh pool; Ray reruns the task
(``max_retries``) and reports a loss only when the retries are spent. Ctrl-C
(``KeyboardInterrupt`` in the driver) ends the workers before it propagates.
"""

from __future__ import annotations

import importlib
import importlib.util
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

from ._devices import (
    available_cores,
    default_jobs,
    device_slots,
    first_free_slot,
    parse_devices,
    ray_resources,
    threads_per_job,
)

__all__ = [
    "BACKENDS",
    "Executor",
    "Failure",
    "InlineExecutor",
    "Outcome",
    "ProcessExecutor",
    "RayExecutor",
    "ResultStream",
    "make_executor",
]

T = TypeVar("T")
R = TypeVar("R")

BACKENDS = ("auto", "inline", "processes", "ray")

# place(item, device) -> the item to run on that device, e.g.
# ``lambda trial, device: dataclasses.replace(trial, device=device)``.
Place = Callable[[Any, str], Any]


@dataclass(frozen=True)
class Failure:
    """Why an item has no result.

    Attributes:
        summary: one line, ``"ValueError: lr must be > 0"`` or
            ``"worker process died (...)"``: what a progress line or a table shows.
        traceback: the worker's formatted traceback (empty when the worker died), for
            ``LRKIT_DEBUG=1``/``--debug``.
        lost: ``True`` when the worker died under the item rather than the function
            raising: rerunning it may well succeed.
    """

    summary: str
    traceback: str = ""
    lost: bool = False


@dataclass(frozen=True)
class Outcome(Generic[T, R]):
    """One finished item: ``index`` in the input order, the item as it ran (placed on
    its device), and the result or the failure; ``seconds`` is the function's own time
    in the worker (0 for a lost item)."""

    index: int
    item: T
    result: R | None = None
    failure: Failure | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether the function returned (its result may be ``None``)."""
        return self.failure is None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def _set_threads(threads: int | None) -> None:
    if threads is None:
        return
    try:
        import torch
    except ImportError:  # a function that does not use torch
        return
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _set_worker_threads(threads: int | None) -> None:
    """In a worker: torch's threads now if torch is loaded, else when ``fn`` loads it."""
    if threads is None:
        return
    if "torch" in sys.modules:
        _set_threads(threads)
    else:  # torch sizes its thread pool from this when it loads
        os.environ["OMP_NUM_THREADS"] = str(threads)


def _call(fn: Callable[[Any], Any], item: Any, threads: int | None) -> tuple[Any, Any, float]:
    """Run ``fn(item)``: ``(result, None, s)`` or ``(None, Failure, s)``; ``threads`` is
    set first in a worker (``None``: leave them, as the inline executor does)."""
    _set_worker_threads(threads)
    start = time.perf_counter()
    try:
        result = fn(item)
    except Exception as exc:  # the item fails, the worker lives on
        return None, Failure(_one_line(exc), traceback.format_exc()), time.perf_counter() - start
    return result, None, time.perf_counter() - start


class Executor(ABC):
    """Runs ``fn`` over items; use as a context manager so workers end with the block."""

    jobs: int
    devices: tuple[str, ...]

    @abstractmethod
    def map(
        self, fn: Callable[[T], R], items: Iterable[T], *, place: Place | None = None
    ) -> Iterator[Outcome[T, R]]:
        """Yield an :class:`Outcome` for every item, in the order they finish.

        Args:
            fn: a picklable top-level function of one item.
            items: picklable items.
            place: ``place(item, device)`` returns the item set to run on ``device``;
                required when the executor has devices other than ``cpu``.

        Raises:
            KeyboardInterrupt: the driver was interrupted; the workers have been ended.
        """

    def start(self) -> Executor:
        """Start the workers now (they import torch meanwhile), instead of on the first
        ``map``: a driver calls it before its own set-up to overlap the two."""
        return self

    @abstractmethod
    def close(self) -> None:
        """End the workers (idempotent)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _placer(self, place: Place | None) -> Place:
        if place is not None:
            return place
        if self.devices != ("cpu",):
            raise ValueError(f"place is required to run items on devices {self.devices}")
        return lambda item, device: item


class InlineExecutor(Executor):
    """Runs the items one after another in this process (tests, ``--jobs 1``).

    Args:
        threads: torch threads while running (restored afterwards); ``None`` keeps them.
        device: the device every item is placed on.
    """

    def __init__(self, *, threads: int | None = 1, device: str = "cpu") -> None:
        _check_threads(threads)
        self.jobs = 1
        self.threads = threads
        self.devices = parse_devices(device)[:1]

    def map(
        self, fn: Callable[[T], R], items: Iterable[T], *, place: Place | None = None
    ) -> Iterator[Outcome[T, R]]:
        placer = self._placer(place)
        saved = _get_threads() if self.threads is not None else None
        try:
            _set_threads(self.threads)
            for index, item in enumerate(items):
                placed = placer(item, self.devices[0])
                result, failure, seconds = _call(fn, placed, None)
                yield Outcome(index, placed, result, failure, seconds)
        finally:
            _set_threads(saved)

    def close(self) -> None:
        """Nothing to end: the items ran in this process."""


def _get_threads() -> int | None:
    if "torch" not in sys.modules:
        return None
    import torch

    return int(torch.get_num_threads())


def _worker_init(threads: int | None, preload: tuple[str, ...]) -> None:
    # The driver alone handles Ctrl-C (a terminal sends SIGINT to the whole process
    # group); it then ends the workers, so none dies half-way through a reply.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A driver killed with -9 cannot end its workers: each worker ends itself when its
    # parent goes, instead of finishing an hour-long trial nobody will read.
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()
    # tqdm's first bar creates a multiprocessing lock, registered with the driver's
    # resource tracker; a worker ended mid-trial would leave it behind ("leaked
    # semaphore" on the driver's stderr). A worker's bars need only a thread lock.
    try:
        from tqdm import tqdm
    except ImportError:
        pass
    else:
        tqdm.set_lock(threading.RLock())
    _set_worker_threads(threads)
    for module in preload:
        importlib.import_module(module)


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


class ProcessExecutor(Executor):
    """Runs the items in ``jobs`` local worker processes (``concurrent.futures``, spawn).

    At most ``jobs`` items are in flight, each on its own slot's device (see
    :func:`~lrkit.experiments._devices.device_slots`). The pool starts on the first
    ``map`` and its workers are reused (with their per-process caches) until
    :meth:`close`. A worker that dies breaks a ``ProcessPoolExecutor``: every item then
    in flight is reported lost (``Failure.lost``) and the remaining items go to a fresh
    pool, so the map never hangs and a resume reruns exactly the lost items.

    Args:
        jobs: worker processes (default: every core, or one per device).
        threads: torch threads per worker (default ``cores // jobs``); ``jobs * threads``
            may not exceed the cores.
        devices: where items run; ``cuda:0,cuda:1`` runs one item per device at a time.
        preload: modules each worker imports as it starts (torch by default, which
            takes seconds: with :meth:`start`, while the driver sets up).
    """

    def __init__(
        self,
        jobs: int | None = None,
        *,
        threads: int | None = None,
        devices: str | Sequence[str] = "cpu",
        preload: Sequence[str] = ("torch",),
    ) -> None:
        missing = [m for m in preload if importlib.util.find_spec(m) is None]
        if missing:
            raise ValueError(f"preload: no module named {missing[0]!r}")
        self.preload = tuple(preload)
        self.devices = parse_devices(devices)
        self.jobs = default_jobs(self.devices) if jobs is None else jobs
        cores = available_cores()
        self.threads = threads_per_job(self.jobs, cores) if threads is None else threads
        _check_threads(self.threads)
        if self.devices == ("cpu",) and self.jobs * self.threads > cores:
            raise ValueError(
                f"jobs x threads must be <= the {cores} cores, got jobs={self.jobs}, "
                f"threads={self.threads}"
            )
        self._slots = device_slots(self.devices, self.jobs)
        self._pool: ProcessPoolExecutor | None = None

    def _start(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_worker_init,
                initargs=(self.threads, self.preload),
            )
        return self._pool

    def start(self) -> ProcessExecutor:
        """Spawn every worker now (the pool spawns one per submitted item otherwise)."""
        pool = self._start()
        for _ in range(self.jobs):
            pool.submit(int)
        return self

    def map(
        self, fn: Callable[[T], R], items: Iterable[T], *, place: Place | None = None
    ) -> Iterator[Outcome[T, R]]:
        placer = self._placer(place)
        _check_picklable(fn)
        todo = enumerate(items)
        running: dict[Future[Any], tuple[int, Any, int]] = {}
        exhausted = False
        try:
            while True:
                pool = self._start()
                while not exhausted and len(running) < self.jobs:
                    nxt = next(todo, None)
                    if nxt is None:
                        exhausted = True
                        break
                    slot = first_free_slot((s for _, _, s in running.values()), self.jobs)
                    placed = placer(nxt[1], self._slots[slot])
                    if not running and nxt[0] == 0:  # items alike: the first one tells
                        _check_picklable(placed, "items must be picklable specs")
                    running[pool.submit(_call, fn, placed, self.threads)] = (nxt[0], placed, slot)
                if not running:
                    return
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                broken = False
                for future in sorted(done, key=lambda f: running[f][0]):
                    index, placed, _ = running.pop(future)
                    exc = future.exception()
                    if isinstance(exc, BrokenProcessPool):
                        broken = True
                        yield Outcome(index, placed, failure=_lost(exc))
                    elif exc is not None:  # e.g. a result that does not pickle
                        text = "".join(traceback.format_exception(exc))
                        yield Outcome(index, placed, failure=Failure(_one_line(exc), text))
                    else:
                        result, failure, seconds = future.result()
                        yield Outcome(index, placed, result, failure, seconds)
                if broken:  # every other item in flight died with the pool
                    for index, placed, _ in sorted(running.values(), key=lambda r: r[0]):
                        yield Outcome(index, placed, failure=_lost(None))
                    running.clear()
                    self._terminate()
        except BaseException:  # Ctrl-C, or the caller closed the generator
            self._terminate()
            raise

    def _terminate(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # The pool's processes have no public handle before Python 3.14's
        # terminate_workers(); shutdown() alone would wait for the running items.
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _check_picklable(value: Any, what: str = "fn must be a picklable top-level function") -> None:
    try:
        pickle.dumps(value)
    except Exception as exc:  # PicklingError, AttributeError (a local function), ...
        raise TypeError(
            f"{what} to reach worker processes ({_one_line(exc)}); "
            "run in this process (jobs=1) instead"
        ) from None


def _lost(exc: BaseException | None) -> Failure:
    why = f" ({_one_line(exc)})" if exc is not None else ""
    return Failure(f"worker process died while running this item{why}", "", lost=True)


class RayExecutor(Executor):
    """Runs every item as a Ray task (``pip install lrkit[ray]``).

    Args:
        address: the cluster: ``"auto"`` (the one ``ray start --head`` made on this
            machine), ``"ray://host:10001"`` or ``"host:6379"``; ``None`` starts a local
            instance with ``num_cpus`` CPUs (ended by :meth:`close`), unless Ray is
            already initialised in this process, which is then used as it is.
        num_cpus: CPUs of the local instance (default: every core); ignored with an
            address.
        cpus_per_task: the CPUs each task declares, and its torch threads.
        devices: ``cpu``, or CUDA devices: each task then declares one GPU and runs
            on ``cuda`` (the GPU Ray gave it).
        max_retries: how often Ray reruns a task whose worker died; a function that
            raises is not retried.
        init_kwargs: more ``ray.init`` arguments (``runtime_env``, ...).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        cpus_per_task: int = 1,
        devices: str | Sequence[str] = "cpu",
        max_retries: int = 3,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.devices = parse_devices(devices)
        self.num_cpus, self.num_gpus, self.device = ray_resources(self.devices, cpus_per_task)
        if num_cpus is not None and (isinstance(num_cpus, bool) or num_cpus < 1):
            raise ValueError(f"num_cpus must be an int >= 1, got {num_cpus!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
        self.address = address
        self.local_cpus = num_cpus
        self.max_retries = max_retries
        self.init_kwargs = dict(init_kwargs or {})
        self.jobs = num_cpus or available_cores()
        self._started = False

    def _ray(self) -> Any:
        import ray

        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"logging_level": "ERROR", "log_to_driver": False}
            kwargs["include_dashboard"] = False
            if self.address is None:
                kwargs["num_cpus"] = self.jobs
            kwargs.update(self.init_kwargs)
            ray.init(address=self.address, **kwargs)
            self._started = True
        have = ray.cluster_resources()
        for key, need in (("CPU", self.num_cpus), ("GPU", self.num_gpus)):
            if need and have.get(key, 0) < need:  # the tasks would wait forever
                raise ValueError(
                    f"each trial asks for {need} {key}(s) but the Ray cluster has "
                    f"{have.get(key, 0):g}"
                )
        return ray

    def start(self) -> RayExecutor:
        """Connect to (or start) Ray now."""
        self._ray()
        return self

    def map(
        self, fn: Callable[[T], R], items: Iterable[T], *, place: Place | None = None
    ) -> Iterator[Outcome[T, R]]:
        placer = self._placer(place)
        ray = self._ray()
        from ray.exceptions import RayError, TaskCancelledError

        task = ray.remote(_call).options(
            num_cpus=self.num_cpus,
            num_gpus=self.num_gpus,
            max_retries=self.max_retries,
            retry_exceptions=False,
        )
        fn_ref = ray.put(fn)
        pending: dict[Any, tuple[int, Any]] = {}
        try:
            for index, item in enumerate(items):
                placed = placer(item, self.device)
                pending[task.remote(fn_ref, placed, self.num_cpus)] = (index, placed)
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    index, placed = pending.pop(ref)
                    try:
                        result, failure, seconds = ray.get(ref)
                    except TaskCancelledError:
                        raise
                    except RayError as exc:  # the worker died and the retries are spent
                        yield Outcome(index, placed, failure=_lost(exc))
                    else:
                        yield Outcome(index, placed, result, failure, seconds)
        except BaseException:
            for ref in pending:
                ray.cancel(ref, force=True)
            raise

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
            self._started = False


class ResultStream:
    """An executor in the lab's form ``stream(fn, items) -> results``, keeping the failures.

    The lab's drivers consume bare results as they finish; this adapter maps with
    ``executor``, passes every :class:`Outcome` to ``progress`` (the CLI's callback),
    yields the results of the items that succeeded and keeps the others in
    :attr:`failures`, so the driver writes what finished and the caller decides the
    exit status (a ``--resume`` then reruns only the failed items).

    Example:
        >>> import math
        >>> stream = ResultStream(InlineExecutor())
        >>> list(stream(math.sqrt, [4.0, -1.0, 9.0]))
        [2.0, 3.0]
        >>> [(o.item, o.failure.summary) for o in stream.failures]
        [(-1.0, 'ValueError: math domain error')]
    """

    def __init__(
        self,
        executor: Executor,
        *,
        place: Place | None = None,
        progress: Callable[[Outcome[Any, Any]], None] | None = None,
    ) -> None:
        self.executor = executor
        self.place = place
        self.progress = progress
        self.failures: list[Outcome[Any, Any]] = []

    def __call__(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        for outcome in self.executor.map(fn, items, place=self.place):
            if self.progress is not None:
                self.progress(outcome)
            if outcome.failure is None:
                yield outcome.result  # type: ignore[misc]
            else:
                self.failures.append(outcome)


def make_executor(
    backend: str = "auto",
    *,
    jobs: int | None = None,
    threads: int | None = None,
    devices: str | Sequence[str] = "cpu",
    address: str | None = None,
    max_retries: int = 3,
) -> Executor:
    """The executor for ``--jobs``, ``--devices`` and ``--backend``/``--ray``.

    ``auto`` runs inline for one job and in local processes otherwise; ``jobs``
    defaults to every core on CPU and one per device on accelerators. On Ray,
    ``jobs`` is the local instance's CPU count (without ``address``) and
    ``threads`` each task's CPUs.

    Example:
        >>> executor = make_executor(jobs=1)
        >>> [o.result for o in executor.map(abs, [-1, 2, -3])]
        [1, 2, 3]

    Raises:
        ValueError: an unknown backend, bad counts or devices.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    parsed = parse_devices(devices)
    if backend == "ray":
        return RayExecutor(
            address,
            num_cpus=jobs,
            cpus_per_task=threads or 1,
            devices=parsed,
            max_retries=max_retries,
        )
    if address is not None:
        raise ValueError(f"address is for the ray backend only, got backend={backend!r}")
    count = default_jobs(parsed) if jobs is None else jobs
    if backend == "inline" or (backend == "auto" and count == 1):
        if count != 1 or len(parsed) > 1:
            raise ValueError(f"the inline backend runs one job on one device, got jobs={count}")
        return InlineExecutor(threads=threads or 1, device=parsed[0])
    return ProcessExecutor(count, threads=threads, devices=parsed)


def _check_threads(threads: int | None) -> None:
    if threads is None:
        return
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an int >= 1, got {threads!r}")
