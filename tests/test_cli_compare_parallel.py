"""`lrkit compare --jobs N`: the same rows as one job, failed trials give a non-zero
exit and are all that --resume reruns, and kill -9 of a worker or of the driver loses
nothing a --resume cannot redo."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")

from lrkit.cli import main

RUN = ["--task", "digits", "--num-samples", "300", "--strategies", "constant,adam,step-decay"]
RUN += ["--seeds", "2", "--quiet"]


def rows(out: Path) -> list[tuple[str, ...]]:
    """metrics.csv without the wall-clock column, sorted."""
    with (out / "metrics.csv").open() as fh:
        return sorted(tuple(v for k, v in r.items() if k != "wall_s") for r in csv.DictReader(fh))


def keys(out: Path) -> list[tuple[str, str, str]]:
    with (out / "metrics.csv").open() as fh:
        return sorted((r["strategy"], r["seed"], r["epoch"]) for r in csv.DictReader(fh))


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("ref") / "run"
    assert main(["compare", *RUN, "--epochs", "30", "--jobs", "1", "--out", str(out)]) == 0
    return out


@pytest.mark.timeout(300)
def test_two_jobs_write_the_same_rows_as_one(reference, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["compare", *RUN, "--epochs", "30", "--jobs", "2", "--out", str(out)]) == 0
    assert rows(out) == rows(reference)
    assert len(keys(out)) == len(set(keys(out))) == 3 * 2 * 30


def _start(out: Path) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "lrkit", "compare", *RUN, "--epochs", "30", "--jobs", "2"]
    return subprocess.Popen(
        [*args, "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _workers(driver: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(driver), "-f", "spawn_main"], capture_output=True)
    return [int(p) for p in found.stdout.split()]


def _wait_for_a_checkpoint(out: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while not any((out / "checkpoints").glob("*.pt")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.05)


def _resume(out: Path) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "lrkit", "compare", *RUN, "--epochs", "30", "--jobs", "2"]
    return subprocess.run(
        [*args, "--out", str(out), "--resume"], capture_output=True, text=True, timeout=240
    )


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_kill_9_of_a_worker_fails_its_trials_and_resume_reruns_them(reference, tmp_path):
    out = tmp_path / "run"
    proc = _start(out)
    try:
        _wait_for_a_checkpoint(out, proc)
        victims = _workers(proc.pid)
        assert victims, "no worker process found"
        os.kill(victims[0], signal.SIGKILL)
        _, err = proc.communicate(timeout=240)
    finally:
        proc.kill()
    assert proc.returncode == 1, err
    failed = [line for line in err.splitlines() if " failed: worker process died" in line]
    assert failed, err
    assert err.splitlines()[-1].endswith("trial(s) failed; --resume reruns only those")
    done = _resume(out)
    assert done.returncode == 0, done.stderr
    assert rows(out) == rows(reference)


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_kill_9_of_the_driver_then_resume_gives_the_same_rows(reference, tmp_path):
    out = tmp_path / "run"
    proc = _start(out)
    try:
        _wait_for_a_checkpoint(out, proc)
        workers = _workers(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    deadline = time.monotonic() + 20  # the orphans end themselves
    while any(Path(f"/proc/{w}").exists() for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    done = _resume(out)
    assert done.returncode == 0, done.stderr
    assert rows(out) == rows(reference)
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_a_reproduction_whose_task_cannot_travel_says_so(tmp_path, capsys):
    # you2019 builds its task object in this process (a closure): no worker can get it.
    out = tmp_path / "you"
    assert main(["reproduce", "you2019", "--quick", "--jobs", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("lrkit reproduce: error: items must be picklable")
    assert "jobs=1" in err


@pytest.mark.timeout(300)
def test_two_jobs_off_a_terminal_print_one_line_per_trial_with_its_metric(tmp_path, capsys):
    out = tmp_path / "run"
    run = [a for a in RUN if a != "--quiet"]
    assert main(["compare", *run, "--epochs", "2", "--jobs", "2", "--out", str(out)]) == 0
    lines = [ln for ln in capsys.readouterr().err.splitlines() if " seed " in ln]
    found = sorted(
        re.findall(r"^(\S+) seed (\d): test_acc ([\d.]+) after 2 epochs", "\n".join(lines), re.M)
    )
    assert [(s, int(k)) for s, k, _ in found] == sorted(
        (s, k) for s in ("constant", "adam", "step-decay") for k in (0, 1)
    ), lines
    assert len(lines) == 6, lines  # no second, metric-less line from the progress
