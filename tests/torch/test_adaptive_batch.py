"""AdaptiveBatchSize with ScheduledLoader: decisions followed with zero stale batches,
exact resume into fresh objects, and the same decisions on 2 gloo ranks."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lrkit.batch_size import AdaptiveBatch
from lrkit.torch import AccumulationResult, AdaptiveBatchSize, GradientNoiseScale, ScheduledLoader

WORKER = Path(__file__).with_name("_adaptive_worker.py")
TIMEOUT = 90
_spec = importlib.util.spec_from_file_location("_adaptive_worker", WORKER)
assert _spec is not None and _spec.loader is not None
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)


class _Scripted:
    """A batch source driven by the numpy controller with a scripted B_simple trace."""

    def __init__(self, controller: AdaptiveBatch, trace: dict[int, float]) -> None:
        self.controller, self.trace = controller, trace
        self.state = controller.init()
        self.schedule = controller.schedule(self.state)

    def step(self, time: float) -> None:
        b = self.trace.get(self.state.updates + 1, math.nan)
        self.state = self.controller.update(self.state, b, time)
        self.schedule = self.controller.schedule(self.state)


@pytest.mark.parametrize(("num_workers", "persistent"), [(0, None), (2, True), (2, False)])
def test_loader_follows_decisions_with_zero_stale_batches(num_workers, persistent):
    n = 200
    ctl = AdaptiveBatch(batch_size=4, max_batch_size=64, warmup_updates=0, cooldown_updates=1)
    # decisions after updates 3 (-> 16), 7 (-> 32) and 9 (-> 64), mid-epoch each time
    source = _Scripted(ctl, {3: 16.0, 7: 32.0, 9: 64.0})
    loader = ScheduledLoader(
        torch.arange(n),
        source,
        shuffle=True,
        seed=1,
        num_workers=num_workers,
        prefetch_factor=2 if num_workers else None,
        persistent_workers=persistent,
    )
    assert len(loader) == 50  # 200 / 4 before any decision
    seen, lengths, in_force = [], [], []
    for epoch in range(2):
        for batch in loader:
            lengths.append(len(batch))
            in_force.append(source.state.batch_size)
            seen.extend(batch.tolist())
            source.step(loader.time)
        assert loader.epoch == epoch + 1
        if epoch == 0:
            assert len(loader) == 4  # the next epoch at the batch in force: 3 x 64 + 8
    # every batch has the size in force when it was handed out (a short last batch aside)
    # by hand: 3 x 4 = 12, 4 x 16 = 64, 2 x 32 = 64, then 64 in force but 60 left: short
    assert lengths[:10] == [4, 4, 4, 16, 16, 16, 16, 32, 32, 60]
    assert lengths[10:] == [64, 64, 64, 8]  # epoch 1: 3 x 64 + the 8 left
    assert in_force[:10] == [4, 4, 4, 16, 16, 16, 16, 32, 32, 64]
    assert all(a == b for a, b in zip(lengths[:9], in_force[:9], strict=True))
    # no sample lost or repeated across the restarts: each epoch is a permutation
    assert sorted(seen[:n]) == list(range(n)) and sorted(seen[n:]) == list(range(n))


def _fresh_parts():
    return worker.parts()


def test_training_resumes_exactly_mid_run_into_fresh_objects():
    whole = _fresh_parts()
    unbroken: list[dict] = []
    worker.train(whole, 3, unbroken)
    decided = [r["decision"]["update"] for r in unbroken if r["decision"]]
    assert len(decided) >= 2  # the run really grows the batch
    assert all(r["global"] == r["scheduled"] for r in unbroken)

    stop = decided[0] + 2  # after the first decision, mid-epoch
    first = _fresh_parts()
    part1: list[dict] = []
    assert not worker.train(first, 3, part1, stop_after=stop)
    saved = {k: first[k].state_dict() for k in ("model", "opt", "sizer", "loader")}
    saved = (
        json.loads(json.dumps({"sizer": saved.pop("sizer"), "loader": saved.pop("loader")})) | saved
    )
    second = _fresh_parts()
    for key in ("model", "opt", "sizer", "loader"):  # the sizer before the loader
        second[key].load_state_dict(saved[key])
    part2: list[dict] = []
    assert worker.train(second, 3, part2)
    assert part1 + part2 == unbroken
    for a, b in zip(whole["model"].parameters(), second["model"].parameters(), strict=True):
        assert torch.equal(a, b)


def test_loader_refuses_a_resume_before_the_decisions_are_restored():
    p = _fresh_parts()
    record: list[dict] = []
    worker.train(p, 3, record)
    fresh = _fresh_parts()
    with pytest.raises(ValueError, match="schedule"):
        fresh["loader"].load_state_dict(p["loader"].state_dict())
    with pytest.raises(ValueError, match="another AdaptiveBatch"):
        other = AdaptiveBatchSize(AdaptiveBatch(batch_size=8, max_batch_size=16))
        other.load_state_dict(p["sizer"].state_dict())


def test_step_folds_norms_into_the_ema_and_the_controller():
    sizer = AdaptiveBatchSize(
        AdaptiveBatch(batch_size=8, max_batch_size=64, warmup_updates=0),
        noise=GradientNoiseScale(beta=0.0),
    )
    # |G|^2 = (8*3 - 4*5) / 4 = 1, tr = (5 - 3) / (1/4 - 1/8) = 16: B_simple = 16 (by hand)
    r = AccumulationResult(
        1.0, 8, 2, small_sq_norm=5.0, small_batch=4, big_sq_norm=3.0, big_batch=8
    )
    d = sizer.step(r, time=0.5)
    assert sizer.b_simple == pytest.approx(16.0)
    assert d is not None and (d.old_batch_size, d.new_batch_size, d.time) == (8, 16, 0.5)
    assert sizer.step(r, time=0.6) is None  # cool-down
    with pytest.raises(TypeError, match="result"):
        sizer.step({"loss": 1.0}, time=0.7)  # type: ignore[arg-type]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.timeout(2 * TIMEOUT)
def test_two_gloo_ranks_take_the_same_decisions(tmp_path: Path) -> None:
    port, procs = _free_port(), []
    for rank in range(2):
        env = {
            **os.environ,
            "RANK": str(rank),
            "LOCAL_RANK": str(rank),
            "WORLD_SIZE": "2",
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": str(port),
            "OMP_NUM_THREADS": "1",
        }
        cmd = [sys.executable, str(WORKER), "--out", str(tmp_path)]
        procs.append(
            subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
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
    rank0, rank1 = (json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1))
    assert rank0["pid"] != rank1["pid"]
    r0, r1 = rank0["record"], rank1["record"]
    assert len(r0) == len(r1)
    decisions = [r["decision"] for r in r0 if r["decision"]]
    assert len(decisions) >= 1
    assert [r["decision"] for r in r1 if r["decision"]] == decisions
    # the same smoothed B_simple, bit for bit, at every update (NaN before the first)
    same = [
        a["b_simple"] == b["b_simple"] or (math.isnan(a["b_simple"]) and math.isnan(b["b_simple"]))
        for a, b in zip(r0, r1, strict=True)
    ]
    assert all(same)
    # every update's global batch (summed over ranks) is the size the decisions set
    assert all(r["global"] == r["scheduled"] for r in r0)
    assert rank0["params"] == rank1["params"]
