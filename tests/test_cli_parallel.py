"""``--jobs``, ``--backend``, ``--ray`` and ``--devices`` become the right executor."""

from __future__ import annotations

import argparse
import importlib
import io
import sys
from pathlib import Path

import pytest

from lrkit.cli._common import CLIError
from lrkit.cli._parallel import ParallelRun, add_parallel_arguments, executor_from_args
from lrkit.experiments._devices import available_cores
from lrkit.experiments._executors import InlineExecutor, ProcessExecutor, RayExecutor


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=None)
    add_parallel_arguments(parser)
    return parser.parse_args(list(argv))


def test_jobs_picks_inline_or_processes():
    assert isinstance(executor_from_args(parse("--jobs", "1")), InlineExecutor)
    with executor_from_args(parse("--jobs", "2")) as ex:
        assert isinstance(ex, ProcessExecutor)
        assert (ex.jobs, ex.threads) == (2, max(1, available_cores() // 2))
    default = executor_from_args(parse())
    assert default.jobs == available_cores()


def test_devices_default_to_one_job_per_device():
    with executor_from_args(parse("--devices", "cuda:0,cuda:1")) as ex:
        assert isinstance(ex, ProcessExecutor) and ex.jobs == 2
        assert ex.devices == ("cuda:0", "cuda:1")


def test_ray_flag_with_and_without_an_address():
    local = executor_from_args(parse("--ray", "--jobs", "2"))
    assert isinstance(local, RayExecutor) and local.address is None and local.jobs == 2
    cluster = executor_from_args(parse("--ray", "auto"))
    assert isinstance(cluster, RayExecutor) and cluster.address == "auto"
    assert isinstance(executor_from_args(parse("--backend", "ray")), RayExecutor)
    gpu = executor_from_args(parse("--ray", "--devices", "cuda:0"))
    assert (gpu.num_gpus, gpu.device) == (1, "cuda")


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (("--ray", "--backend", "processes"), "contradicts"),
        (("--devices", "gpu"), "devices"),
        (("--backend", "inline", "--jobs", "2"), "inline"),
        (("--jobs", "2", "--threads", str(available_cores())), "jobs x threads"),
    ],
)
def test_contradictions_are_one_line_errors(argv, match):
    with pytest.raises(CLIError, match=match):
        executor_from_args(parse(*argv))


@pytest.fixture
def fns():
    here = Path(__file__).resolve().parent / "experiments"
    if str(here) not in sys.path:
        sys.path.insert(0, str(here))
    return importlib.import_module("_executor_fns")


def test_one_job_leaves_the_run_to_the_commands_own_loop():
    with ParallelRun(parse("--jobs", "1"), 4, stream=io.StringIO()) as run:
        assert run.inline and run.stream is None and run.threads == 1
        assert run.exit_status("compare") == 0


@pytest.mark.timeout(120)
def test_parallel_run_places_trials_reports_them_and_fails_the_exit_status(fns):
    err = io.StringIO()
    args = parse("--jobs", "2", "--devices", "cuda:0,cuda:1")
    args.quiet = False
    trials = [fns.FakeTrial(x) for x in range(5)]
    with ParallelRun(args, len(trials), describe=lambda t: t.label, stream=err) as run:
        assert run.threads == max(1, available_cores() // 2)
        results = sorted(run.stream(fns.run_fake, trials))
        status = run.exit_status("compare")
    assert [r[0] for r in results] == [0, 1, 4, 16]
    assert {r[1] for r in results} <= {"cuda:0", "cuda:1"}  # placed by the slots, not "cpu"
    assert status == 1
    lines = err.getvalue().splitlines()
    assert len([line for line in lines if line.startswith("[")]) == 5  # one per trial
    assert "lrkit compare: trial 3 failed: ValueError: three is refused" in lines
    assert lines[-1] == "lrkit compare: 1 trial(s) failed; --resume reruns only those"
