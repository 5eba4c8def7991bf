"""Adaptive batch growth vs the decaying-LR schedule on MNIST-1D (the smith2018 set-up).

The plain loop a user writes with lrkit: ``ScheduledLoader`` reading its batch size
from ``AdaptiveBatchSize``, ``accumulate_gradients(measure_noise=True)`` (two
micro-batches per update: the first half of the batch against all of it), SGD with
momentum 0.9. Rows, each over ``--seeds`` seeds, the same epochs:

- ``decaying-lr``: batch ``B0``, the LR divided by 5 at 30/60/80% of the epochs;
- ``increasing-batch``: ``increase_batch_instead`` of it (the paper's milestones);
- ``adaptive-batch-m<margin>``: constant LR, the batch grows x2 whenever the smoothed
  ``B_simple`` reaches ``margin`` x the next batch (no milestones set by hand),
  ``lr_coupling="none"`` so that the growth does the decay, cap ``"auto"``
  (``B_simple / margin``, at most N/10);
- ``constant-lr``: the control, batch ``B0`` and the LR never decayed.

Target (issue 13): adaptive-batch at least 2x fewer updates than decaying-lr, within
0.5 points of its accuracy (mean of the seeds).

Run from the repository root::

    python benchmarks/adaptive_batch_mnist1d.py [--epochs 15] [--seeds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import command_line, machine_line, markdown_table, write_section
from ddp_batch_growth import GAMMA, MILESTONES, MOMENTUM, _data, _model
from lrkit.batch_size import AdaptiveBatch, BatchConstant, increase_batch_instead
from lrkit.schedules import Constant, MultiStepDecay
from lrkit.torch import AdaptiveBatchSize, GradientNoiseScale, ScheduledLoader, accumulate_gradients

HERE = Path(__file__).resolve().parent
ROWS = (
    "decaying-lr",
    "increasing-batch",
    "adaptive-batch",
    "constant-lr",
)  # one adaptive per margin


def run(row: str, data: dict[str, np.ndarray], args: argparse.Namespace, seed: int) -> dict:
    torch.manual_seed(seed)
    train = torch.utils.data.TensorDataset(torch.from_numpy(data["x"]), torch.from_numpy(data["y"]))
    n = len(train)
    b0, epochs = args.batch_size, args.epochs
    ref = MultiStepDecay(lr=args.lr, milestones=[m * epochs for m in MILESTONES], gamma=GAMMA)
    sizer = None
    if row == "decaying-lr":
        lr_schedule: Any = ref
        source: Any = BatchConstant(batch_size=b0)
    elif row == "constant-lr":
        lr_schedule, source = Constant(lr=args.lr), BatchConstant(batch_size=b0)
    elif row == "increasing-batch":
        plan = increase_batch_instead(ref, b0, max(b0, n // 10), momentum=MOMENTUM)
        lr_schedule, source = plan.lr, plan.batch_size
    else:  # adaptive-batch-m<margin>
        lr_schedule = Constant(lr=args.lr)
        margin = float(row.rsplit("-m", 1)[1])
        controller = AdaptiveBatch(
            batch_size=b0,
            max_batch_size="auto",
            dataset_size=n,
            granularity=2,
            factor=2,
            margin=margin,
            warmup_updates=args.warmup,
            cooldown_updates=args.cooldown,
            lr_coupling="none",
            lr=lr_schedule,
        )
        sizer = source = AdaptiveBatchSize(controller, noise=GradientNoiseScale(beta=args.beta))
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=MOMENTUM)
    loader = ScheduledLoader(train, source, seed=seed)
    loss_fn = torch.nn.functional.cross_entropy
    updates, losses = 0, []
    t0 = time.process_time()
    while loader.epoch < epochs:
        epoch_loss, seen = 0.0, 0
        for x, y in loader:
            factor = 1.0 if sizer is None else sizer.lr_factor
            for g in opt.param_groups:
                g["lr"] = float(lr_schedule(loader.batch_time)) * factor
            opt.zero_grad()
            r = accumulate_gradients(
                model,
                loss_fn,
                x,
                y,
                micro_batch_size=max(1, len(x) // 2) if sizer is not None else None,
                measure_noise=sizer is not None,
            )
            opt.step()
            if sizer is not None:
                sizer.step(r, time=loader.time)
            updates += 1
            epoch_loss += r.loss * len(x)
            seen += len(x)
        losses.append(epoch_loss / seen)
    with torch.no_grad():
        xt, yt = torch.from_numpy(data["x_test"]), torch.from_numpy(data["y_test"])
        acc = float((model(xt).argmax(1) == yt).float().mean())
    return {
        "updates": updates,
        "acc": acc,
        "losses": losses,
        "cpu": time.process_time() - t0,
        "decisions": [] if sizer is None else [d.as_row() for d in sizer.decisions],
        "b_simple_early": math_nan() if sizer is None else sizer.state.b_simple_early,
    }


def math_nan() -> float:
    return float("nan")


def _ci(values: list[float]) -> float:
    """Half-width of a 95% t interval of the mean (t for n - 1 degrees of freedom)."""
    t = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57}
    if len(values) < 2:
        return float("nan")
    return t.get(len(values) - 1, 2.0) * statistics.stdev(values) / len(values) ** 0.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--margins", default="1,0.5", help="one adaptive row per margin")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--cooldown", type=int, default=100)
    parser.add_argument("--beta", type=float, default=0.995)
    parser.add_argument("--rows", default=",".join(ROWS))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    torch.set_num_threads(1)
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"lrkit-mnist1d-{args.samples}.npz"
    if not path.exists():
        _data(path, args.samples)
    data = dict(np.load(path))
    up0 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    rows = [r for r in args.rows.split(",") if r and r != "adaptive-batch"]
    if "adaptive-batch" in args.rows.split(","):
        rows[2:2] = [f"adaptive-batch-m{m}" for m in args.margins.split(",")]
    results: dict[str, list[dict]] = {r: [] for r in rows}
    for seed in range(args.seeds):
        for row in rows:
            res = run(row, data, args, seed)
            results[row].append(res)
            steps = [(d["update"], d["new_batch_size"]) for d in res["decisions"]]
            print(
                f"{row} seed {seed}: {res['updates']} updates, acc {100 * res['acc']:.1f}%,"
                f" {res['cpu']:.0f} s CPU, decisions {steps}",
                flush=True,
            )
    up1 = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    table = []
    for row in rows:
        rs = results[row]
        accs = [100 * r["acc"] for r in rs]
        table.append(
            [
                row,
                f"{statistics.mean(r['updates'] for r in rs):.0f}",
                f"{statistics.mean(accs):.2f} ± {_ci(accs):.2f}",
                f"{statistics.mean(r['losses'][-1] for r in rs):.4f}",
            ]
        )
    body = [
        "## Adaptive batch growth on MNIST-1D (single process)",
        "",
        f"Command: `{command_line()}`; {machine_line()}.",
        f"Load: before `{up0}`; after `{up1}`.",
        "",
        f"MNIST-1D ({len(data['y'])} train / {len(data['y_test'])} test), the smith2018 CNN, "
        f"SGD momentum {MOMENTUM}, lr {args.lr}, batch {args.batch_size}, {args.epochs} epochs, "
        f"{args.seeds} seeds (mean ± 95% CI). adaptive-batch-m<margin>: factor 2, margin as named, "
        f"warm-up {args.warmup} and cool-down {args.cooldown} updates, EMA beta {args.beta}, "
        "cap auto, lr_coupling none.",
        "",
        markdown_table(["row", "updates", "test acc %", "final train loss"], table),
        "",
    ]
    for row in (r for r in rows if r.startswith("adaptive")):
        r0 = results[row][0]
        body.append(f"{row}, seed 0: `B_simple` measured after warm-up (what `auto` "
                    f"started from) {r0['b_simple_early']:.0f}; decisions:")  # fmt: skip
        body.append("")
        for d in r0["decisions"]:
            body.append(
                f"- update {d['update']}, epoch {d['time']:.2f}: B_simple {d['b_simple']:.0f}, "
                f"{d['old_batch_size']} -> {d['new_batch_size']} (cap {d['max_batch_size']})"
            )
        body.append("")
    text = "\n".join(body)
    print(text)
    if not args.no_write:
        write_section("adaptive_batch_mnist1d", text, HERE.parent / "docs" / "batch_size.md")


if __name__ == "__main__":
    main()
