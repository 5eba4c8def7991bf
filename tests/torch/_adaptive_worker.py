"""Training with AdaptiveBatchSize, for tests/torch/test_adaptive_batch.py (also under DDP).

A noisy linear regression: the gradient noise dominates as the fit improves, so
``B_simple`` rises and the controller grows the batch. Run as a script (one process
per rank, env like torchrun) it writes ``rank{r}.json`` with every update's numbers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
from pathlib import Path
from typing import Any

N, MICRO, DIM = 384, 4, 6


def dataset() -> Any:
    import torch

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(N, DIM, generator=gen)
    w = torch.arange(1.0, DIM + 1)
    y = x @ w + 2.0 * torch.randn(N, generator=gen)
    return torch.utils.data.TensorDataset(x, y[:, None])


def parts(world: int = 1, distributed: bool = False) -> dict[str, Any]:
    import torch

    from lrkit.batch_size import AdaptiveBatch
    from lrkit.schedules import Constant
    from lrkit.torch import AdaptiveBatchSize, GradientNoiseScale, ScheduledLoader

    torch.manual_seed(0)
    model: Any = torch.nn.Linear(DIM, 1)
    if distributed:
        model = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    controller = AdaptiveBatch(
        batch_size=2 * MICRO * world,
        max_batch_size=16 * MICRO * world,
        granularity=MICRO * world,
        warmup_updates=4,
        cooldown_updates=4,
        lr_coupling="sqrt",
        lr=Constant(lr=0.1),
    )
    sizer = AdaptiveBatchSize(controller, noise=GradientNoiseScale(beta=0.8))
    loader = ScheduledLoader(dataset(), sizer, seed=3)
    return {"model": model, "opt": opt, "sizer": sizer, "loader": loader}


def train(
    p: dict[str, Any], epochs: int, record: list[dict[str, Any]], stop_after: int = -1
) -> bool:
    """Train until ``epochs`` (True) or until ``stop_after`` updates in this call (False)."""
    import torch
    import torch.distributed as dist

    from lrkit.torch import accumulate_gradients

    model, opt, sizer, loader = p["model"], p["opt"], p["sizer"], p["loader"]
    done = 0
    while loader.epoch < epochs:
        for x, y in loader:
            for g in opt.param_groups:
                g["lr"] = 0.1 * sizer.lr_factor
            count = torch.tensor([len(x)])
            if dist.is_initialized():
                dist.all_reduce(count)
            opt.zero_grad()
            r = accumulate_gradients(
                model,
                torch.nn.functional.mse_loss,
                x,
                y,
                micro_batch_size=MICRO,
                global_batch_size=loader.batch_size,
                measure_noise=True,
            )
            opt.step()
            decision = sizer.step(r, time=loader.time)
            record.append(
                {
                    "global": int(count),
                    "scheduled": loader.batch_size,
                    "in_force": sizer.batch_size,
                    "b_simple": sizer.b_simple,
                    "decision": None if decision is None else decision.as_row(),
                    "lr": opt.param_groups[0]["lr"],
                }
            )
            done += 1
            if done == stop_after:
                return False
    return True


def main() -> None:
    import torch
    import torch.distributed as dist

    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=60))
    rank, world = dist.get_rank(), dist.get_world_size()
    p = parts(world, distributed=True)
    record: list[dict[str, Any]] = []
    train(p, 3, record)
    params = [float(v) for v in torch.nn.utils.parameters_to_vector(p["model"].parameters())]
    (args.out / f"rank{rank}.json").write_text(
        json.dumps({"record": record, "params": params, "pid": os.getpid()})
    )
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
