"""Throughput of lrkit's trainer against a minimal hand-written PyTorch loop.

Same task (MNIST-1D, 3,600 training samples, 400 held out as val, the default 1-D
CNN), same optimizer (SGD momentum 0.9, constant LR 0.05), same batch size, same number of epochs.
The methods run interleaved, round after round, so that load from other
processes hits all of them alike; the median samples/s over rounds is reported.

- ``lrkit train``: ``lrkit.experiments.train`` (ScheduledLoader, LRScheduler and
  accumulate_gradients, the optimizer from the registry); samples/s from its own training
  clock (``wall_s``, evaluation excluded) and end to end (the whole call,
  including the per-epoch test evaluation and the model set-up).
- ``hand loop``: index the tensors with a ``randperm`` per epoch, zero_grad,
  forward, loss, backward, step: the least a loop can do.
- ``hand loop + DataLoader``: the same with ``DataLoader(TensorDataset, shuffle=True)``,
  as most PyTorch tutorials write it.

Target: trainer / hand loop >= 0.95 (training clock; issue 9). Writes section
``trainer-overhead`` of docs/benchmarks.md.

Run: python benchmarks/trainer_overhead.py [--rounds 15] [--epochs 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch

from _report import command_line, machine_line, markdown_table, write_section
from lrkit.experiments import Strategy, get_task, train
from lrkit.schedules import Constant

LR = 0.05


def hand_loop(
    task, batch_size: int, epochs: int, seed: int, loader: bool, cpu: bool = False
) -> float:
    """Samples/s of a minimal loop (training only).

    With ``cpu``: per process CPU second, and with the trainer's per-epoch test
    evaluation, to compare with :func:`lrkit_cpu` (CPU time excludes the time spent
    waiting for a core, which dominates wall time on a loaded machine).
    """
    torch.manual_seed(seed)
    model = task.model_fn()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=0.9)
    loss_fn = task.loss_fn
    x, y = task.train_set.tensors
    n = len(y)
    data = (
        torch.utils.data.DataLoader(task.train_set, batch_size=batch_size, shuffle=True)
        if loader
        else None
    )
    model.train()
    clock = time.process_time if cpu else time.perf_counter
    held = [task.test_set.tensors] + ([task.val_set.tensors] if task.val_set is not None else [])
    tic = clock()
    for _ in range(epochs):
        if data is not None:
            batches = iter(data)
        else:
            perm = torch.randperm(n)
            batches = ((x[idx], y[idx]) for idx in perm.split(batch_size))
        for xb, yb in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
        if cpu:
            model.eval()
            with torch.no_grad():  # test and val, as the trainer evaluates both
                for xt, yt in held:
                    for start in range(0, len(yt), 1024):
                        out = model(xt[start : start + 1024])
                        float(loss_fn(out, yt[start : start + 1024]))
                        int((out.argmax(1) == yt[start : start + 1024]).sum())
            model.train()
    return epochs * n / (clock() - tic)


def lrkit_cpu(task, batch_size: int, epochs: int, seed: int) -> float:
    """Samples per process CPU second of lrkit's trainer, evaluation included."""
    strategy = Strategy("bench", "sgd", Constant(LR), {"momentum": 0.9}, batch_size=batch_size)
    tic = time.process_time()
    result = train(task, strategy, epochs=epochs, seed=seed)
    return result.final["samples"] / (time.process_time() - tic)


def lrkit_train(task, batch_size: int, epochs: int, seed: int) -> tuple[float, float]:
    """Samples/s of lrkit's trainer: (training clock, end to end)."""
    strategy = Strategy("bench", "sgd", Constant(LR), {"momentum": 0.9}, batch_size=batch_size)
    tic = time.perf_counter()
    result = train(task, strategy, epochs=epochs, seed=seed)
    total = time.perf_counter() - tic
    samples = result.final["samples"]
    return samples / result.final["wall_s"], samples / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-sizes", default="32,64,128")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    task = get_task("mnist1d")
    sizes = [int(b) for b in args.batch_sizes.split(",")]
    rows = []
    for batch_size in sizes:
        speeds: dict[str, list[float]] = {
            "train": [],
            "e2e": [],
            "hand": [],
            "loader": [],
            "cpu": [],
            "hand_cpu": [],
        }
        lrkit_train(task, batch_size, 1, 0)  # warm-up
        hand_loop(task, batch_size, 1, 0, loader=False)
        for r in range(args.rounds):
            tr, e2e = lrkit_train(task, batch_size, args.epochs, r)
            speeds["train"].append(tr)
            speeds["e2e"].append(e2e)
            speeds["hand"].append(hand_loop(task, batch_size, args.epochs, r, loader=False))
            speeds["loader"].append(hand_loop(task, batch_size, args.epochs, r, loader=True))
            speeds["cpu"].append(lrkit_cpu(task, batch_size, args.epochs, r))
            speeds["hand_cpu"].append(
                hand_loop(task, batch_size, args.epochs, r, loader=False, cpu=True)
            )
        med = {k: statistics.median(v) for k, v in speeds.items()}
        ratios = [a / b for a, b in zip(speeds["train"], speeds["hand"], strict=True)]
        rows.append(
            [
                batch_size,
                f"{med['hand']:,.0f}",
                f"{med['loader']:,.0f}",
                f"{med['train']:,.0f}",
                f"{med['e2e']:,.0f}",
                f"**{med['train'] / med['hand']:.2f}** "
                f"(rounds: {min(ratios):.2f}-{max(ratios):.2f})",
                f"{med['e2e'] / med['hand']:.2f}",
                f"{med['train'] / med['loader']:.2f}",
                f"**{med['cpu'] / med['hand_cpu']:.2f}**",
            ]
        )
        print(rows[-1], flush=True)
    table = markdown_table(
        [
            "batch",
            "hand loop samples/s",
            "hand + DataLoader",
            "lrkit train (training clock)",
            "lrkit train (end to end)",
            "ratio train / hand (target >= 0.95)",
            "ratio end-to-end / hand",
            "ratio train / DataLoader loop",
            "CPU-time ratio, both evaluating (target >= 0.95)",
        ],
        rows,
    )
    body = f"""## Trainer overhead: `lrkit.experiments.train` vs a hand-written loop

The trainer is built on `lrkit.torch` (a `ScheduledLoader` reads the batches, an
`LRScheduler` writes the LR before every update, `accumulate_gradients` computes
the gradient); the hand loop indexes tensors and steps SGD, nothing else.

MNIST-1D ({task.train_size:,} training samples; {len(task.val_set):,} held out as val),
the default 1-D CNN, SGD momentum 0.9 at a constant LR, {args.epochs} epochs per
measurement, {args.rounds} interleaved rounds, median samples/s; {args.threads} torch
thread(s). The training clock excludes the per-epoch val and test evaluation (which
the hand loop does not do); end to end includes it and the model set-up. The last
column divides samples per *process CPU second*, the hand loop then evaluating on val
and test every epoch as the trainer does: on a loaded machine wall-clock rounds swing
by 2x (the ranges shown), CPU time does not count the waits for a core.

{table}

Measured on: {machine_line()}.
Command: `{command_line()}`
"""
    write_section("trainer-overhead", body)
    print(body)


if __name__ == "__main__":
    main()
