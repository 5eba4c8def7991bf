"""Grow the batch instead of decaying the LR, in a Hugging Face ``Trainer`` run (Smith et al. 2018).

    python examples/hf_trainer_increase_batch.py --epochs 4

A step decay that halves the LR every epoch is converted by
``lrkit.batch_size.increase_batch_instead`` into a batch that doubles every epoch
(and, past ``--max-batch-size``, the LR decay that is left). The ``Trainer`` gets
``ScheduledLoader`` from an overridden ``get_train_dataloader``; it takes
``len(loader)`` batches in the first epoch, and the later, shorter epochs end
when the loader's iterator does. The LR follows ``plan.lr`` through
``lrkit.torch.LRScheduler`` and a small callback that sets the scheduler's time
to the loader's clock after every step (the Trainer's own ``step()`` counts
optimizer steps, which is not the plan's clock). A tiny torch model, no hub
downloads, no logging integrations; the output folder is a temporary directory
unless ``--output-dir`` is given. One line per epoch, then the final loss.
"""

from __future__ import annotations

import argparse
import tempfile

import torch
import transformers

from lrkit.batch_size import increase_batch_instead
from lrkit.schedules import MultiStepDecay
from lrkit.torch import LRScheduler, ScheduledLoader


class Pairs(torch.utils.data.Dataset):
    """A noisy linear regression in 8 dimensions, as the Trainer's keyword dicts."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, 8, generator=g)
        w = torch.randn(8, 1, generator=g)
        self.y = self.x @ w + 0.1 * torch.randn(n, 1, generator=g)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> dict[str, object]:
        return {"x": self.x[i], "labels": self.y[i], "idx": i}


class Regressor(torch.nn.Module):
    """Keyword inputs in, ``{"loss": ...}`` out: all the Trainer needs of a model."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Linear(8, 1)
        self.batches: list[list[int]] = []

    def forward(self, x, labels, idx):
        self.batches.append(idx.tolist())
        return {"loss": torch.nn.functional.mse_loss(self.net(x), labels)}


class FollowTheLoader(transformers.TrainerCallback):
    """Put the scheduler on the loader's clock after every optimizer step."""

    def __init__(self, loader: ScheduledLoader, scheduler: LRScheduler) -> None:
        self.loader, self.scheduler = loader, scheduler
        self.lrs: list[float] = []
        self.epoch_starts: list[int] = []  # optimizer steps taken before each epoch

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.epoch_starts.append(state.global_step)

    def on_step_begin(self, args, state, control, **kwargs):
        self.lrs.append(self.scheduler.get_last_lr()[0])

    def on_step_end(self, args, state, control, **kwargs):
        # the Trainer has just called scheduler.step(); the next batch starts at loader.time
        self.scheduler.set_time(self.loader.time)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--num-samples", type=int, default=512)
    p.add_argument("--lr", type=float, default=0.05, help="the reference LR at --batch-size")
    p.add_argument("--batch-size", type=int, default=16, help="the first batch")
    p.add_argument("--max-batch-size", type=int, default=64, help="past it, decay the LR")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--output-dir", default=None, help="the Trainer's folder (default: a temp dir)")
    args = p.parse_args()
    if args.epochs < 1:
        p.error(f"--epochs must be >= 1, got {args.epochs}")

    ref = MultiStepDecay(lr=args.lr, milestones=list(range(1, args.epochs)) or [1], gamma=0.5)
    plan = increase_batch_instead(ref, args.batch_size, args.max_batch_size)
    data = Pairs(args.num_samples, args.seed)
    loader = ScheduledLoader(data, plan.batch_size, seed=args.seed)
    model = Regressor()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = LRScheduler(opt, plan.lr)
    follow = FollowTheLoader(loader, sched)

    class Trainer(transformers.Trainer):
        def get_train_dataloader(self):
            return loader

    with tempfile.TemporaryDirectory() as tmp:
        targs = transformers.TrainingArguments(
            output_dir=args.output_dir or tmp,
            num_train_epochs=args.epochs,
            report_to="none",
            use_cpu=True,
            save_strategy="no",
            logging_strategy="no",
            disable_tqdm=True,
            remove_unused_columns=False,
            seed=args.seed,
        )
        trainer = Trainer(model=model, args=targs, optimizers=(opt, sched), callbacks=[follow])
        trainer.train()

    print(f"reference {ref.to_spec()}")
    ends = [*follow.epoch_starts[1:], len(model.batches)]
    for epoch, (first, end) in enumerate(zip(follow.epoch_starts, ends, strict=True)):
        batches = model.batches[first:end]
        seen = [i for b in batches for i in b]
        print(
            f"epoch {epoch}: batch {max(map(len, batches))} steps {len(batches)} "
            f"lr {follow.lrs[first]:.6g} samples {len(seen)} distinct {len(set(seen))}"
        )
    print(f"steps {trainer.state.global_step} of {len(model.batches)} batches")
    with torch.no_grad():
        loss = torch.nn.functional.mse_loss(model.net(data.x), data.y).item()
    print(f"final train loss {loss:.4f}")


if __name__ == "__main__":
    main()
