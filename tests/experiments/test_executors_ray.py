"""The Ray backend on one local instance (``ray.init(num_cpus=2)``) for the module.

Starting the instance takes about 4 s here and stopping it about 1.5 s; every test is
bounded by a timeout. Skipped when Ray is not installed (``pip install lrkit[ray]``).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from lrkit.experiments._executors import InlineExecutor, RayExecutor, make_executor

ray = pytest.importorskip("ray")

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def fns():
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    return importlib.import_module("_executor_fns")


@pytest.fixture(scope="module")
def local_ray(fns):
    """One local Ray instance; its workers find lrkit and the test functions by PYTHONPATH."""
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(HERE), str(Path(sys.modules["lrkit"].__file__).parents[1]), saved or ""]
    )
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
        yield ray
    finally:
        ray.shutdown()
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


@pytest.mark.timeout(120)
def test_ray_gives_the_same_bits_as_inline(fns, local_ray):
    seeds = [2, 0, 1, 3]
    inline = {o.item: o.result for o in InlineExecutor(threads=1).map(fns.train_tiny, seeds)}
    with RayExecutor() as ex:  # uses the running instance and leaves it running
        remote = {o.item: o.result for o in ex.map(fns.train_tiny, seeds)}
        (seen,) = ex.map(fns.threads_seen, [None])
    assert remote == inline
    assert seen.result[0] == 1  # each task declared one CPU and runs one torch thread
    assert local_ray.is_initialized()


@pytest.mark.timeout(120)
def test_ray_isolates_a_failure_without_retrying_it(fns, local_ray):
    with make_executor("ray") as ex:
        outcomes = list(ex.map(fns.square_or_raise, range(5)))
    assert sorted(o.index for o in outcomes) == list(range(5))
    assert {o.item: o.result for o in outcomes if o.ok} == {0: 0, 1: 1, 2: 4, 4: 16}
    (failed,) = [o for o in outcomes if not o.ok]
    assert failed.failure.summary == "ValueError: three is refused" and not failed.failure.lost
    assert "square_or_raise" in failed.failure.traceback


@pytest.mark.timeout(120)
def test_kill_9_of_a_ray_worker_mid_task_is_retried_and_nothing_is_lost(fns, local_ray, tmp_path):
    items = [(str(tmp_path), v) for v in (1, 2, 3)]
    killed: list[int] = []

    def killer() -> None:
        marker = tmp_path / "attempt-2"
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        pid = int(marker.read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    # Items 1 and 3 leave a marker too and would hang: give them theirs first.
    for v in (1, 3):
        (tmp_path / f"attempt-{v}").write_text("0")
    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    start = time.monotonic()
    with RayExecutor(max_retries=2) as ex:
        outcomes = list(ex.map(fns.die_once, items))
    thread.join(5)
    assert killed, "the worker was never killed"
    assert time.monotonic() - start < 50  # the retry ran; the 60 s hang did not
    assert sorted((o.item[1], o.result) for o in outcomes) == [(1, 2), (2, 4), (3, 6)]
    assert all(o.ok for o in outcomes)


@pytest.mark.timeout(120)
def test_ray_reports_a_loss_when_the_retries_are_spent(fns, local_ray, tmp_path):
    pid_file = tmp_path / "victim.pid"

    def killer() -> None:
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(int(pid_file.read_text()), signal.SIGKILL)

    thread = threading.Thread(target=killer, daemon=True)
    thread.start()
    with RayExecutor(max_retries=0) as ex:
        items = [("victim", 60.0, str(tmp_path)), ("other", 0.1, str(tmp_path))]
        outcomes = {o.item[0]: o for o in ex.map(fns.sleepy, items)}
    thread.join(5)
    assert outcomes["other"].result == "other"
    lost = outcomes["victim"].failure
    assert lost is not None and lost.lost and "worker process died" in lost.summary


@pytest.mark.timeout(60)
def test_ray_refuses_gpu_trials_on_a_cluster_without_gpus(fns, local_ray):
    with RayExecutor(devices="cuda:0") as ex, pytest.raises(ValueError, match="GPU"):
        list(ex.map(fns.noop_for_gpu, [("cuda", 1)], place=lambda item, dev: item))


@pytest.mark.timeout(120)
def test_ctrl_c_cancels_the_ray_tasks(fns, local_ray, tmp_path):
    import _thread

    pid_file = tmp_path / "w0.pid"

    def interrupt() -> None:
        deadline = time.monotonic() + 60
        while not pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        _thread.interrupt_main()  # what Ctrl-C raises in the driver

    items = [(f"w{i}", 60.0, str(tmp_path)) for i in range(2)]
    threading.Thread(target=interrupt, daemon=True).start()
    start = time.monotonic()
    with RayExecutor() as ex, pytest.raises(KeyboardInterrupt):
        list(ex.map(fns.sleepy, items))
    assert time.monotonic() - start < 45
    worker = int(pid_file.read_text())
    deadline = time.monotonic() + 20
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), "the cancelled task's worker still runs"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")
