"""Wall time of a 100-step range test vs 100 plain training steps, side by side.

Same model, optimizer, loss and DataLoader; the plain loop is the usual
``zero_grad / forward / backward / step`` (no ``.item()``, no logging). The range test
adds what it needs: saving and restoring every piece of state (host copies), one
``float(loss)`` per step for the stop rule, and the analysis at the end. Its sweep
(1e-5 to 1e-2) does not diverge, so both run exactly 100 steps. Repetitions
alternate between the two and the ratio of medians is reported (the machine is
shared and noisy). Target: ratio <= 1.15.

Usage: python benchmarks/range_test_overhead.py [--repeats N]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("TQDM_DISABLE", "1")

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import command_line, machine_line, markdown_table, write_section
from lrkit.experiments import get_task
from lrkit.torch import range_test

STEPS = 100


def _plain(model: Any, optimizer: Any, loss_fn: Any, loader: Any) -> None:
    model.train()
    done = 0
    while done < STEPS:
        for x, y in loader:
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(x), y).backward()
            optimizer.step()
            done += 1
            if done == STEPS:
                return


def _range(model: Any, optimizer: Any, loss_fn: Any, loader: Any) -> None:
    result = range_test(
        model, optimizer, loss_fn, loader, start_lr=1e-5, end_lr=1e-2, num_steps=STEPS
    )
    if len(result.lrs) != STEPS:
        raise RuntimeError(f"the range test stopped after {len(result.lrs)} steps")


def measure(task_name: str, optimizer_name: str, batch_size: int, repeats: int) -> dict[str, Any]:
    task = get_task(task_name)
    torch.manual_seed(0)
    model = task.model_fn()
    if optimizer_name == "sgd":
        optimizer: Any = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    else:
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(task.train_set, batch_size=batch_size, shuffle=True)
    _plain(model, optimizer, task.loss_fn, loader)  # warm up: allocations, optimizer state
    _range(model, optimizer, task.loss_fn, loader)
    # the plain steps train the model: put it back (untimed) so every run starts alike
    start = copy.deepcopy((model.state_dict(), optimizer.state_dict()))
    wall: dict[str, list[float]] = {"plain": [], "range": []}
    cpu: dict[str, list[float]] = {"plain": [], "range": []}
    for i in range(repeats):
        order = ("plain", "range") if i % 2 == 0 else ("range", "plain")
        for what in order:
            fn = _plain if what == "plain" else _range
            tic, cpu_tic = time.perf_counter(), time.process_time()
            fn(model, optimizer, task.loss_fn, loader)
            wall[what].append(time.perf_counter() - tic)
            cpu[what].append(time.process_time() - cpu_tic)
            model.load_state_dict(start[0])
            optimizer.load_state_dict(start[1])
    # each repetition runs the two back to back: the ratio of a pair sees the same load
    pairs = [r / p for r, p in zip(wall["range"], wall["plain"], strict=True)]
    cpu_pairs = [r / p for r, p in zip(cpu["range"], cpu["plain"], strict=True)]
    plain, rng = statistics.median(wall["plain"]), statistics.median(wall["range"])
    params = sum(p.numel() for p in model.parameters())
    return {
        "case": f"{task_name} ({params:,} weights), {optimizer_name}, batch {batch_size}",
        "plain": plain,
        "range": rng,
        "ratio": statistics.median(pairs),
        "cpu_ratio": statistics.median(cpu_pairs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cases = [("mnist1d", "sgd", 64), ("mnist1d-bn", "adam", 64), ("digits", "sgd", 32)]
    tic = time.perf_counter()
    results = [measure(*case, args.repeats) for case in cases]
    for r in results:
        print(
            f"{r['case']}: plain {r['plain']:.3f} s, range test {r['range']:.3f} s, "
            f"ratio {r['ratio']:.3f}"
        )
    worst = max(r["ratio"] for r in results)
    verdict = "holds" if worst <= 1.15 else "MISSED"
    body = "\n".join(
        [
            "## LR range test: overhead",
            "",
            f"Run: {machine_line()}; took {time.perf_counter() - tic:.0f} s.",
            f"Command: `{command_line()}`",
            "",
            f"A {STEPS}-step range test (`lrkit.torch.range_test`, state saved and restored, "
            "stop rule, analysis) against the same number of plain training steps on the same "
            "model, optimizer and DataLoader. Each of "
            f"{args.repeats} repetitions runs both back to back (alternating which goes "
            "first); the ratio is the median of the per-repetition ratios, so that both sides "
            "of a ratio see the same load on this shared machine. The CPU-time ratio (this "
            "process only) is shown too, as a check that is blind to other processes.",
            "",
            f"Target range test <= 1.15x plain steps: {verdict} (worst {worst:.3f}x).",
            "",
            markdown_table(
                ["case", "100 plain steps", "100-step range test", "ratio", "CPU-time ratio"],
                [
                    [
                        r["case"],
                        f"{r['plain'] * 1e3:.0f} ms",
                        f"{r['range'] * 1e3:.0f} ms",
                        f"{r['ratio']:.3f}",
                        f"{r['cpu_ratio']:.3f}",
                    ]
                    for r in results
                ],
            ),
        ]
    )
    print(body)
    if not args.no_write:
        write_section("range_test_overhead", body)


if __name__ == "__main__":
    main()
