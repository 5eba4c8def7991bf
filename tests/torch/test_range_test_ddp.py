"""The range test under DDP (gloo, 1 and 2 processes): every rank records the mean loss.

Each rank runs in its own process with a hard timeout: a process group torn down in
the test process itself can hang in gloo's destructor, which no test timeout can stop.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

WORKER = Path(__file__).with_name("_range_test_ddp_worker.py")
TIMEOUT = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.timeout(2 * TIMEOUT)
@pytest.mark.parametrize("world", [1, 2])
def test_every_rank_gets_the_same_curve_the_mean_of_their_losses(
    tmp_path: Path, world: int
) -> None:
    port = _free_port()
    procs = []
    for rank in range(world):
        env = {
            **os.environ,
            "RANK": str(rank),
            "WORLD_SIZE": str(world),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "OMP_NUM_THREADS": "1",
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), "--out", str(tmp_path)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        )
    try:
        for p in procs:
            output, _ = p.communicate(timeout=TIMEOUT)
            assert p.returncode == 0, output.decode()[-3000:]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(world)]
    assert all(r["losses"] == ranks[0]["losses"] for r in ranks)
    assert len(ranks[0]["losses"]) == 12
    assert all(r["restored"] for r in ranks)
    # per step: 2 micro-batches on each rank; the point is the mean over all of them
    local = np.array([np.reshape(r["local"], (-1, 2)).mean(axis=1) for r in ranks])
    np.testing.assert_allclose(ranks[0]["losses"], local.mean(axis=0), rtol=1e-6)
    if world == 2:
        assert not np.allclose(local[0], local[1])  # the ranks did see different data
