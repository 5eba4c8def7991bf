"""The scripts in examples/ run as a user would run them, with tiny settings.

``range_test_then_train.py`` as a plain subprocess; ``ddp_increase_batch.py`` under
torchrun (``python -m torch.distributed.run --standalone``, 2 processes on gloo, the
rendezvous on localhost). Checked: exit code 0, and what they print: the one-cycle
peak is the top of the range test's interval and training learns; the per-epoch
batch sizes and update counts follow the plan (growing at the milestones, then the
LR decays past the cap) and are the same on both ranks. The Lightning and Hugging Face
examples run in this process (``runpy``, with ``sys.argv`` set as the shell would) to
share the framework imports: every epoch reads every sample once at the doubling
batch, and the LR follows the plan.
"""

from __future__ import annotations

import math
import os
import re
import runpy
import signal
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TIMEOUT = 90


def _run(*cmd: str) -> str:
    """Run ``python *cmd`` in its own session; on timeout kill it and its workers."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    proc = subprocess.Popen(
        [sys.executable, *cmd],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"timed out after {TIMEOUT} s:\n{out[-3000:]}{err[-3000:]}")
    assert proc.returncode == 0, out[-3000:] + err[-3000:]
    return out


@pytest.mark.timeout(2 * TIMEOUT)
def test_range_test_then_train_uses_the_interval_top_and_learns() -> None:
    out = _run(
        str(EXAMPLES / "range_test_then_train.py"), "--task", "digits", "--epochs", "3",
        "--sweep-steps", "60",
    )  # fmt: skip
    interval = re.search(r"interval \[([\d.e+-]+), ([\d.e+-]+)\]", out)
    peak = re.search(r"one-cycle max_lr ([\d.e+-]+)", out)
    final = re.search(r"final test accuracy ([\d.]+)", out)
    assert interval and peak and final, out
    assert float(interval[1]) < float(interval[2])
    assert math.isclose(float(peak[1]), float(interval[2]), rel_tol=1e-2)  # printed to 3 digits
    assert len(re.findall(r"^epoch ", out, flags=re.M)) == 3
    assert float(final[1]) > 0.5, out  # ten classes: chance is 0.1


@pytest.mark.slow
@pytest.mark.timeout(2 * TIMEOUT)
def test_ddp_example_under_torchrun_follows_the_batch_plan_on_both_ranks(tmp_path: Path) -> None:
    from lrkit.batch_size import increase_batch_instead
    from lrkit.schedules import MultiStepDecay

    n_train, epochs = 360, 4  # --num-samples 500: 400 train (360 + a 10% val hold-out) / 100 test
    # Each rank's stdout goes to a file of its own (torchrun --redirects): through one
    # shared pipe the two ranks' lines can interleave mid-line and break the parsing.
    _run(
        "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "--log-dir", str(tmp_path), "--redirects", "1",
        str(EXAMPLES / "ddp_increase_batch.py"), "--epochs", str(epochs),
        "--num-samples", "500", "--batch-size", "16", "--max-batch-size", "48",
        "--milestones", "2,3", "--gamma", "0.5", "--micro-batch-size", "8", "--noise-scale",
    )  # fmt: skip
    logs = {p.parent.name: p.read_text() for p in tmp_path.glob("**/stdout.log")}
    assert sorted(logs) == ["0", "1"], sorted(tmp_path.glob("**/*"))
    out = logs["0"] + logs["1"]
    ref = MultiStepDecay(lr=0.1, milestones=[2, 3], gamma=0.5)
    plan = increase_batch_instead(ref, 16, 48, momentum=0.9, granularity=2)
    expected = [int(plan.batch_size(e)) for e in range(epochs)]
    assert expected == [16, 16, 32, 48]  # grows at the milestones, capped at 48
    expected_updates = [math.ceil(n_train / b) for b in expected]

    assert "world size 2" in out, out
    rows = re.findall(r"^\s*(\d+)\s+(\d+)\s+([\d.]+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)", out, re.M)
    assert [int(r[0]) for r in rows] == list(range(epochs)), out  # rank 0 only: once per epoch
    assert [int(r[1]) for r in rows] == expected
    assert [int(r[3]) for r in rows] == expected_updates
    lrs = [float(r[2]) for r in rows]
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.075], abs=1e-4)  # the hybrid part past the cap
    losses = [float(r[4]) for r in rows]
    assert losses[-1] < losses[0], out

    finals = dict(re.findall(r"^rank (\d): (.*)$", out, re.M))
    assert sorted(finals) == ["0", "1"], out
    assert finals["0"] == finals["1"] == f"batch sizes {expected}, updates {expected_updates}"


@pytest.mark.timeout(2 * TIMEOUT)
@pytest.mark.filterwarnings(
    # Lightning 2.6 still uses torch's LeafSpec, deprecated in recent torch; not about us.
    "ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning",
    "ignore:The number of training batches:UserWarning",
)
@pytest.mark.parametrize("script", ["lightning_increase_batch.py", "hf_trainer_increase_batch.py"])
def test_framework_examples_read_every_epoch_at_the_doubling_batch(
    script: str, capsys, monkeypatch
) -> None:
    # run in this process (runpy, as `python script.py` would): the framework imports,
    # most of the cost of a subprocess, are shared with the other tests
    pytest.importorskip("lightning" if script.startswith("lightning") else "transformers")
    n, b0, cap, lr0, epochs = 200, 16, 64, 0.08, 4
    argv = [str(EXAMPLES / script), "--epochs", str(epochs), "--num-samples", str(n)]
    argv += ["--batch-size", str(b0), "--max-batch-size", str(cap), "--lr", str(lr0)]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(argv[0], run_name="__main__")
    out = capsys.readouterr().out
    rows = re.findall(
        r"^epoch (\d+): batch (\d+) steps (\d+) lr ([\d.e+-]+) samples (\d+) distinct (\d+)$",
        out,
        flags=re.M,
    )
    assert [int(r[0]) for r in rows] == list(range(epochs)), out
    # independent: the batch doubles where the reference LR halves, capped; past the cap
    # the LR takes the rest of the decay (lr_ref(e) * B(e) / B0)
    batches = [min(b0 * 2**e, cap) for e in range(epochs)]
    assert [int(r[1]) for r in rows] == batches
    assert [int(r[2]) for r in rows] == [math.ceil(n / b) for b in batches]
    lrs = [lr0 * 0.5**e * b / b0 for e, b in enumerate(batches)]
    assert [float(r[3]) for r in rows] == pytest.approx(lrs, rel=1e-5)
    assert all(int(r[4]) == int(r[5]) == n for r in rows), out  # every sample once an epoch
