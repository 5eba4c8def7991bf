"""One DDP training process for tests/torch/test_ddp.py; also runs under torchrun.

    torchrun --nproc_per_node=2 tests/torch/_ddp_worker.py --out /tmp/ddp

Trains a tiny classifier with a growing batch (5 -> 10 -> 20 of 37 samples:
batches not divisible by the world size, ragged micro-batches of 3) and records,
per step, the global sample count (all-reduced) next to the schedule's. With
``--split-at K`` it stops after K steps, checkpoints, shrinks to one process
(rank 0 re-joins a new group of size 1 on ``--resume-port``) and finishes there.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
from pathlib import Path
from typing import Any

N, EPOCHS, MICRO = 37, 2, 3


def _parts() -> tuple[Any, Any, Any]:
    import torch

    from lrkit.batch_size import BatchStep

    gen = torch.Generator().manual_seed(0)
    x, y = torch.randn(N, 5, generator=gen), torch.randint(0, 3, (N,), generator=gen)
    schedule = BatchStep(batch_size=5, milestones=[0.5, 1.0], factor=2)
    return torch.utils.data.TensorDataset(x, y), schedule, gen


def _model_and_optimizer(distributed: bool = True) -> tuple[Any, Any]:
    import torch

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    if distributed:
        model = torch.nn.parallel.DistributedDataParallel(model)
    return model, torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)


def _train(loader: Any, ddp: Any, opt: Any, record: dict[str, Any], stop_at: int | None) -> None:
    import torch
    import torch.distributed as dist

    from lrkit.torch import accumulate_gradients

    while loader.epoch < EPOCHS:
        for x, y in loader:
            count = torch.tensor([len(x)])
            if dist.is_initialized():
                dist.all_reduce(count)
            record["counts"].append([int(count), loader.batch_size])
            opt.zero_grad()
            accumulate_gradients(
                ddp,
                torch.nn.functional.cross_entropy,
                x,
                y,
                micro_batch_size=MICRO,
                global_batch_size=loader.batch_size,
            )
            opt.step()
            record["steps"] += 1
            if stop_at is not None and record["steps"] == stop_at:
                return


def reference() -> dict[str, Any]:
    """The same training in this process, without torch.distributed."""
    import torch

    from lrkit.torch import ScheduledLoader

    dataset, schedule, _ = _parts()
    with torch.random.fork_rng():
        model, opt = _model_and_optimizer(distributed=False)
    loader = ScheduledLoader(dataset, schedule, seed=1, rank=0, world_size=1)
    record: dict[str, Any] = {"steps": 0, "counts": []}
    _train(loader, model, opt, record, None)
    record["params"] = torch.cat([p.detach().flatten() for p in model.parameters()]).tolist()
    return record


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--split-at", type=int, default=None)
    parser.add_argument("--resume-port", type=int, default=None)
    args = parser.parse_args()

    import torch
    import torch.distributed as dist

    from lrkit.torch import ScheduledLoader

    torch.set_num_threads(1)
    timeout = datetime.timedelta(seconds=30)
    dist.init_process_group("gloo", timeout=timeout)
    rank, world = dist.get_rank(), dist.get_world_size()
    dataset, schedule, _ = _parts()
    ddp, opt = _model_and_optimizer()
    loader = ScheduledLoader(dataset, schedule, seed=1)
    record: dict[str, Any] = {"rank": rank, "world_size": world, "steps": 0, "counts": []}
    _train(loader, ddp, opt, record, args.split_at)
    out = Path(args.out)
    if args.split_at is not None:
        checkpoint = out / "checkpoint.pt"
        if rank == 0:
            state = {"model": ddp.module.state_dict(), "opt": opt.state_dict()}
            torch.save({**state, "loader": loader.state_dict()}, checkpoint)
        record["steps_before_resize"] = record["steps"]
        dist.barrier()
        del ddp, opt  # free DDP's reducer before its process group goes (gloo can hang)
        dist.destroy_process_group()
        if rank == 0:  # carry on alone: a smaller world
            dist.init_process_group(
                "gloo",
                init_method=f"tcp://127.0.0.1:{args.resume_port}",
                rank=0,
                world_size=1,
                timeout=timeout,
            )
            saved = torch.load(checkpoint, weights_only=True)
            ddp, opt = _model_and_optimizer()
            ddp.module.load_state_dict(saved["model"])
            opt.load_state_dict(saved["opt"])
            loader = ScheduledLoader(dataset, schedule, seed=1)
            loader.load_state_dict(saved["loader"])
            _train(loader, ddp, opt, record, None)
    if dist.is_initialized():
        params = torch.cat([p.detach().flatten() for p in ddp.parameters()])
        record["params"] = params.tolist()
        del ddp, opt
        dist.destroy_process_group()
    (out / f"rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
