"""The executors: same results whichever backend or worker runs an item, failures
isolated, Ctrl-C and kill -9 handled without hanging; and the pure placement rules.

Ray has its own module (test_executors_ray.py) with one module-scoped instance.
"""

from __future__ import annotations

import importlib
import itertools
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from lrkit.experiments._devices import (
    available_cores,
    default_jobs,
    device_slots,
    first_free_slot,
    parse_devices,
    ray_resources,
    threads_per_job,
)
from lrkit.experiments._executors import (
    InlineExecutor,
    ProcessExecutor,
    RayExecutor,
    ResultStream,
    make_executor,
)

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def fns():
    """The worker functions, importable by name in spawned workers (they get sys.path)."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    return importlib.import_module("_executor_fns")


def alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


# -- placement rules (pure) ---------------------------------------------------------


def test_parse_devices_reads_lists_and_refuses_bad_ones():
    assert parse_devices("cpu") == ("cpu",)
    assert parse_devices(" cuda:0,cuda:1 ") == ("cuda:0", "cuda:1")
    assert parse_devices(["cuda:3"]) == ("cuda:3",)
    for bad in ("", "gpu0", "cuda:0,cuda:0", "cpu,cuda:0", "cuda:x", ","):
        with pytest.raises(ValueError, match="devices"):
            parse_devices(bad)


@pytest.mark.parametrize("cores", [1, 2, 3, 8, 16])
@pytest.mark.parametrize("jobs", [1, 2, 3, 5, 16])
def test_threads_times_jobs_never_exceed_the_cores(jobs, cores):
    threads = threads_per_job(jobs, cores)
    assert threads >= 1
    if jobs <= cores:
        assert jobs * threads <= cores
        assert jobs * (threads + 1) > cores  # and no core is left idle needlessly
    else:
        assert threads == 1


def test_default_jobs_uses_every_core_or_one_per_device():
    assert default_jobs(("cpu",), cores=6) == 6
    assert default_jobs(("cuda:0", "cuda:1", "cuda:2"), cores=6) == 3
    assert default_jobs() == available_cores() == len(os.sched_getaffinity(0))


def test_device_slots_round_robin_over_the_devices():
    assert device_slots(("cuda:0", "cuda:1"), 2) == ("cuda:0", "cuda:1")
    assert device_slots(("cuda:0", "cuda:1"), 3) == ("cuda:0", "cuda:1", "cuda:0")
    assert device_slots(("cuda:1",), 1) == ("cuda:1",)
    with pytest.raises(ValueError, match="jobs"):
        device_slots(("cpu",), 0)


def test_first_free_slot_is_the_lowest_idle_one():
    assert first_free_slot((), 2) == 0
    assert first_free_slot({0}, 2) == 1
    assert first_free_slot([1, 2], 4) == 0
    with pytest.raises(ValueError, match="busy"):
        first_free_slot({0, 1}, 2)


def test_ray_resources_ask_one_gpu_per_cuda_trial():
    assert ray_resources(("cpu",), 2) == (2, 0, "cpu")
    assert ray_resources(("cuda:0", "cuda:1"), 1) == (1, 1, "cuda")
    with pytest.raises(ValueError, match="cpu or cuda"):
        ray_resources(("mps",), 1)
    with pytest.raises(ValueError, match="cpus_per_task"):
        ray_resources(("cpu",), 0)


def test_make_executor_picks_and_validates_backends():
    assert isinstance(make_executor(jobs=1), InlineExecutor)
    with make_executor(jobs=2) as ex:
        assert isinstance(ex, ProcessExecutor) and ex.threads == max(1, available_cores() // 2)
    assert isinstance(make_executor("ray", jobs=2), RayExecutor)  # lazy: ray starts on map
    with pytest.raises(ValueError, match="backend"):
        make_executor("threads")
    with pytest.raises(ValueError, match="address"):
        make_executor("processes", address="auto")
    with pytest.raises(ValueError, match="jobs x threads"):
        ProcessExecutor(2, threads=available_cores())
    with pytest.raises(ValueError, match="threads"):
        InlineExecutor(threads=0)
    with pytest.raises(ValueError, match="place"):
        list(ProcessExecutor(1, devices="cuda:0").map(abs, [1]))
    with pytest.raises(ValueError, match="preload"):
        ProcessExecutor(1, preload=("no_such_module_here",))


# -- inline -------------------------------------------------------------------------


def test_inline_yields_in_order_and_isolates_a_failure(fns):
    outcomes = list(InlineExecutor().map(fns.square_or_raise, [1, 2, 3, 4]))
    assert [o.index for o in outcomes] == [0, 1, 2, 3]
    assert [o.result for o in outcomes if o.ok] == [1, 4, 16]
    (failed,) = [o for o in outcomes if not o.ok]
    assert failed.item == 3 and not failed.failure.lost
    assert failed.failure.summary == "ValueError: three is refused"
    assert "square_or_raise" in failed.failure.traceback
    assert "second line" in failed.failure.traceback


def test_inline_restores_the_torch_threads(fns):
    import torch

    before = torch.get_num_threads()
    (outcome,) = InlineExecutor(threads=2).map(fns.threads_seen, [None])
    assert outcome.result[0] == 2
    assert torch.get_num_threads() == before


# -- local processes ----------------------------------------------------------------


@pytest.mark.timeout(120)
def test_processes_give_the_same_bits_as_inline_whatever_the_order(fns):
    seeds = [3, 0, 2, 1, 5, 4]
    inline = {o.item: o.result for o in InlineExecutor(threads=1).map(fns.train_tiny, seeds)}
    # An independent check that the function is worth testing: seeds differ.
    assert len({inline[s] for s in seeds}) == len(seeds)
    with ProcessExecutor(2, threads=1) as ex:
        first = {o.item: o.result for o in ex.map(fns.train_tiny, seeds)}
        again = {o.item: o.result for o in ex.map(fns.train_tiny, seeds[::-1])}  # warm workers
    assert first == inline
    assert again == inline


@pytest.mark.timeout(120)
def test_processes_isolate_a_failure_and_set_threads(fns):
    with ProcessExecutor(2, threads=1, preload=()) as ex:
        outcomes = list(ex.map(fns.square_or_raise, range(6)))
    threads = min(2, available_cores())
    with ProcessExecutor(1, threads=threads, preload=()) as ex:  # torch loads in the item
        (late,) = ex.map(fns.threads_seen, [None])
    with ProcessExecutor(1, threads=threads) as ex:  # torch loads as the worker starts
        (early,) = ex.map(fns.threads_seen, [None])
    assert sorted(o.index for o in outcomes) == list(range(6))
    assert {o.item: o.result for o in outcomes if o.ok} == {x: x * x for x in (0, 1, 2, 4, 5)}
    (failed,) = [o for o in outcomes if not o.ok]
    assert failed.item == 3 and failed.failure.summary == "ValueError: three is refused"
    assert "square_or_raise" in failed.failure.traceback
    assert late.result == early.result == (threads, str(threads))


@pytest.mark.timeout(120)
def test_processes_run_one_item_per_device_at_a_time(fns):
    # The functions never touch the devices, so the placement runs without a GPU.
    items = [("?", 0.4)] * 6
    with ProcessExecutor(devices="cuda:0,cuda:1", preload=()) as ex:
        assert ex.jobs == 2
        outcomes = list(ex.map(fns.hold, items, place=lambda item, dev: (dev, item[1])))
    spans: dict[str, list[tuple[float, float]]] = {}
    for o in outcomes:
        device, start, end = o.result
        assert o.item[0] == device  # the outcome reports where it ran
        spans.setdefault(device, []).append((start, end))
    assert sorted(spans) == ["cuda:0", "cuda:1"]
    for device, held in spans.items():
        held.sort()
        for (_, end), (start, _) in itertools.pairwise(held):
            assert start >= end, f"two items overlapped on {device}"


@pytest.mark.timeout(120)
def test_kill_9_of_a_worker_fails_the_items_in_flight_and_the_rest_finish(fns, tmp_path):
    items = [("victim", 60.0, str(tmp_path))] + [(f"q{i}", 0.3, str(tmp_path)) for i in range(6)]
    pid_file = tmp_path / "victim.pid"

    def killer() -> None:
        wait_for(pid_file.exists, 60, "the victim to start")
        os.kill(int(pid_file.read_text()), signal.SIGKILL)

    thread = threading.Thread(target=killer, daemon=True)
    start = time.monotonic()
    thread.start()
    with ProcessExecutor(2, threads=1, preload=()) as ex:
        outcomes = list(ex.map(fns.sleepy, items))
    thread.join(5)
    assert time.monotonic() - start < 50  # the map did not wait out the victim's sleep
    assert sorted(o.index for o in outcomes) == list(range(len(items)))
    lost = [o for o in outcomes if not o.ok]
    assert lost[0].item[0] == "victim" or "victim" in [o.item[0] for o in lost]
    assert all(o.failure.lost and "worker process died" in o.failure.summary for o in lost)
    assert len(lost) <= 2  # the victim and at most the one item beside it
    assert sorted(o.result for o in outcomes if o.ok) == sorted(
        name for name, _, _ in items if name not in {o.item[0] for o in lost}
    )


_DRIVER = """
import sys
sys.path[:0] = [{here!r}]
import _executor_fns
from lrkit.experiments._executors import ProcessExecutor

if __name__ == "__main__":  # spawned workers import this file as __mp_main__
    items = [(f"w{{i}}", 60.0, {folder!r}) for i in range(4)]
    try:
        with ProcessExecutor(2, threads=1, preload=()) as ex:
            for outcome in ex.map(_executor_fns.sleepy, items):
                print("finished", outcome.item[0], flush=True)
    except KeyboardInterrupt:
        print("interrupted", flush=True)
        sys.exit(130)
"""


def start_driver(tmp_path: Path) -> tuple[subprocess.Popen[str], list[int]]:
    """A driver running four 60 s items on two workers; returns it and the workers' pids."""
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(_DRIVER.format(here=str(HERE), folder=str(tmp_path))))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,  # its own process group, as a terminal's foreground job
    )
    pid_files = [tmp_path / "w0.pid", tmp_path / "w1.pid"]
    try:
        wait_for(lambda: all(p.exists() for p in pid_files), 60, "both workers to start")
    except AssertionError:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    return proc, [int(p.read_text()) for p in pid_files]


@pytest.mark.timeout(120)
def test_ctrl_c_ends_the_workers_and_raises_in_the_driver(tmp_path):
    proc, workers = start_driver(tmp_path)
    try:
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C does: the whole group gets it
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err
    assert out.split() == ["interrupted"], (out, err)
    assert err == ""  # no traceback, and no "leaked semaphore" from an ended worker
    assert time.monotonic() - sent < 15  # promptly, not after the 60 s items
    wait_for(lambda: not any(alive(pid) for pid in workers), 10, "the workers to end")
    assert not (tmp_path / "w2.pid").exists()  # nothing new started after Ctrl-C


@pytest.mark.timeout(120)
def test_kill_9_of_the_driver_ends_its_workers(tmp_path):
    proc, workers = start_driver(tmp_path)
    try:
        os.kill(proc.pid, signal.SIGKILL)  # the driver only: it cannot clean up
        proc.communicate(timeout=30)
        # Orphans would run their 60 s items to the end, competing with a --resume.
        wait_for(lambda: not any(alive(pid) for pid in workers), 15, "the orphans to end")
    finally:
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_processes_refuse_a_function_workers_cannot_import(fns):
    def local(x: int) -> int:
        return x

    with ProcessExecutor(1, threads=1) as ex, pytest.raises(TypeError, match="picklable"):
        list(ex.map(local, [1]))
    with ProcessExecutor(1, threads=1) as ex, pytest.raises(TypeError, match="items must be"):
        list(ex.map(fns.square_or_raise, [local]))  # e.g. a task object holding a closure


@pytest.mark.timeout(120)
def test_a_result_that_does_not_pickle_fails_only_its_item(fns):
    with ProcessExecutor(1, threads=1, preload=()) as ex:
        outcomes = {o.item: o for o in ex.map(fns.maybe_unpicklable, [1, 2, 3])}
    assert {k: o.result for k, o in outcomes.items() if o.ok} == {1: 1, 3: 3}
    assert not outcomes[2].ok and not outcomes[2].failure.lost
    assert "pickle" in outcomes[2].failure.summary.lower()


@pytest.mark.timeout(120)
def test_leaving_the_loop_early_ends_the_workers(fns, tmp_path):
    # w0 is taken first and sleeps; w1 finishes first and the caller stops there.
    items = [("w0", 60.0, str(tmp_path)), ("w1", 0.2, str(tmp_path)), ("w2", 60.0, str(tmp_path))]
    start = time.monotonic()
    with ProcessExecutor(2, threads=1, preload=()) as ex:
        for outcome in ex.map(fns.sleepy, items):
            assert outcome.result == "w1"
            break  # the generator closes: w0, still sleeping, must not be waited for
    assert time.monotonic() - start < 45
    sleeper = int((tmp_path / "w0.pid").read_text())
    wait_for(lambda: not alive(sleeper), 10, "w0's worker to end")
    assert not (tmp_path / "w2.pid").exists()


@pytest.mark.timeout(120)
def test_result_stream_yields_results_reports_every_outcome_and_keeps_failures(fns):
    seen = []
    with ProcessExecutor(2, threads=1, preload=()) as ex:
        stream = ResultStream(ex, progress=seen.append)
        results = sorted(stream(fns.square_or_raise, range(6)))
    assert results == [0, 1, 4, 16, 25]
    assert sorted(o.index for o in seen) == list(range(6))
    assert [(o.item, o.failure.summary) for o in stream.failures] == [
        (3, "ValueError: three is refused")
    ]


def test_result_stream_places_items_on_their_device():
    stream = ResultStream(InlineExecutor(device="cuda:1"), place=lambda x, dev: f"{x}@{dev}")
    assert list(stream(str.upper, ["a", "b"])) == ["A@CUDA:1", "B@CUDA:1"]


@pytest.mark.timeout(120)
def test_start_spawns_every_worker_before_the_first_map(fns):
    import multiprocessing

    before = {p.pid for p in multiprocessing.active_children()}
    with ProcessExecutor(2, threads=1, preload=()).start() as ex:
        spawned = {p.pid for p in multiprocessing.active_children()} - before
        assert len(spawned) == 2
        pids = {o.result for o in ex.map(fns.pid_of, range(6))}
        assert pids <= spawned
    wait_for(lambda: not any(alive(pid) for pid in spawned), 10, "the workers to end")
