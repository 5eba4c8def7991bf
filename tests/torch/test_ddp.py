"""DDP with a batch schedule on gloo, 1 and 2 processes on 127.0.0.1 (launched like torchrun).

Invariants: per step the global sample count equals the schedule's, every rank takes
the same number of steps (batches not divisible by the world size), and training
on 2 processes, shrunk to 1 process (a new gloo group of size 1) mid-epoch after a
batch change and resumed from a checkpoint, ends at the same parameters as
training in one process without torch.distributed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

WORKER = Path(__file__).with_name("_ddp_worker.py")
TIMEOUT = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _launch(world: int, out: Path, *extra: str) -> list[subprocess.Popen[bytes]]:
    out.mkdir()
    port = _free_port()
    procs = []
    for rank in range(world):
        env = {
            **os.environ,
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "OMP_NUM_THREADS": "1",
        }
        cmd = [sys.executable, str(WORKER), "--out", str(out), *extra]
        procs.append(
            subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        )
    return procs


def _wait(procs: list[subprocess.Popen[bytes]]) -> None:
    try:
        for p in procs:
            output, _ = p.communicate(timeout=TIMEOUT)
            assert p.returncode == 0, output.decode()[-3000:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()


@pytest.mark.slow
@pytest.mark.timeout(2 * TIMEOUT)
def test_ddp_on_gloo_one_and_two_processes_with_a_world_size_change(tmp_path: Path) -> None:
    from lrkit.batch_size import BatchStep, epoch_batch_sizes

    split = 5  # after the change from 5 to 10 samples at epoch 0.5, mid-epoch
    two = _launch(2, tmp_path / "two", "--split-at", str(split), "--resume-port", str(_free_port()))
    try:
        spec = importlib.util.spec_from_file_location("_ddp_worker", WORKER)
        assert spec is not None and spec.loader is not None
        worker = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(worker)
        single = worker.reference()  # one process, no torch.distributed, while the others run
    finally:
        _wait(two)

    schedule = BatchStep(batch_size=5, milestones=[0.5, 1.0], factor=2)
    expected = [int(b) for e in range(2) for b in epoch_batch_sizes(schedule, 37, e, min_last=2)]
    assert expected[:6] == [5, 5, 5, 5, 10, 7] and len(set(expected)) > 2

    assert single["steps"] == len(expected)
    assert [c for c, _ in single["counts"]] == expected  # global samples per step
    assert all(c == b for c, b in single["counts"])

    rank0, rank1 = (json.loads((tmp_path / "two" / f"rank{r}.json").read_text()) for r in (0, 1))
    assert rank0["steps_before_resize"] == rank1["steps_before_resize"] == split
    assert rank1["counts"] == rank0["counts"][:split]
    # the resumed rank picks up at the next sample: every step's global count matches
    assert [c for c, _ in rank0["counts"]] == expected
    assert rank0["steps"] == len(expected)
    diffs = [abs(a - b) for a, b in zip(rank0["params"], single["params"], strict=True)]
    assert max(diffs) < 1e-5
