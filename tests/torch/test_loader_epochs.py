"""ScheduledLoader under loops that take ``len(loader)`` batches and never exhaust it.

Lightning's fit loop, Hugging Face's Trainer and Accelerate stop after ``len(loader)``
batches. Checked here with the real loops, on a plan that doubles the batch every
epoch: each epoch sees every sample once, at the planned sizes, and the LR follows
``plan.lr``. The expected sizes are computed here from the batch schedule and the
dataset size (ceil division), not from the loader.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch

from lrkit.batch_size import BatchPlan, BatchStep, increase_batch_instead
from lrkit.schedules import MultiStepDecay, Schedule
from lrkit.torch import LRScheduler, ScheduledBatchSampler, ScheduledLoader

N = 24
# lr 0.1 halving at epochs 1 and 2 becomes a batch of 4, 8, 16 at a constant lr
PLAN = increase_batch_instead(
    MultiStepDecay(lr=0.1, milestones=[1, 2], gamma=0.5), batch_size=4, max_batch_size=64
)
SIZES = [[4] * 6, [8] * 3, [16, 8]]  # 24 samples; the last batch of epoch 2 is short


def _cat(lists: list[list[int]]) -> list[int]:
    return list(itertools.chain.from_iterable(lists))


def _expected_sizes(epoch: int, plan: BatchPlan = PLAN) -> list[int]:
    b = int(plan.batch_size(epoch))
    return [min(b, N - p) for p in range(0, N, b)]


def test_expected_sizes_are_what_the_plan_says() -> None:
    assert [_expected_sizes(e) for e in range(3)] == SIZES


class _Indexed(torch.utils.data.Dataset):
    """Sample i is (features, target, i)."""

    def __init__(self, n: int) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 3, generator=g)
        self.y = self.x.sum(1, keepdim=True)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor, int]:
        return self.x[i], self.y[i], i


def _take_len(loader: ScheduledLoader) -> list[list[int]]:
    """Take exactly len(loader) batches from a fresh iterator, as Lightning does."""
    it = iter(loader)
    return [next(it).tolist() for _ in range(len(loader))]


def test_taking_len_batches_moves_to_the_next_epoch() -> None:
    loader = ScheduledLoader(list(range(N)), PLAN.batch_size, seed=3)
    for epoch, sizes in enumerate(SIZES):
        assert loader.epoch == epoch and len(loader) == len(sizes)
        batches = _take_len(loader)
        assert [len(b) for b in batches] == sizes
        assert sorted(_cat(batches)) == list(range(N))
        assert (loader.epoch, loader.position) == (epoch + 1, 0)
    # the orders differ between epochs (seeded by (seed, epoch))
    a = ScheduledLoader(list(range(N)), 4, seed=3)
    assert _take_len(a) != _take_len(a)


def test_the_sampler_alone_under_a_plain_dataloader_moves_on_too() -> None:
    sampler = ScheduledBatchSampler(N, PLAN.batch_size, seed=1)
    loader = torch.utils.data.DataLoader(list(range(N)), batch_sampler=sampler)
    for sizes in SIZES:
        assert len(loader) == len(sizes)
        it = iter(loader)
        batches = [next(it).tolist() for _ in range(len(loader))]
        assert [len(b) for b in batches] == sizes
        assert sorted(_cat(batches)) == list(range(N))


def test_len_is_the_next_iteration_and_a_half_read_epoch_continues() -> None:
    loader = ScheduledLoader(list(range(N)), PLAN.batch_size, shuffle=False)
    it = iter(loader)
    first = [next(it).tolist() for _ in range(2)]
    assert len(loader) == 6  # epoch 0, all of it, as a DataLoader's length
    rest = [b.tolist() for b in loader]  # a new iteration continues epoch 0
    assert len(rest) == 4
    assert _cat(first + rest) == list(range(N))
    with pytest.raises(RuntimeError, match="stale"):
        next(it)  # the first iterator may not move the progress any more
    assert len(loader) == 3 and loader.epoch == 1


def test_set_epoch_works_as_distributed_samplers() -> None:
    data = list(range(N))
    reference = ScheduledLoader(data, PLAN.batch_size, seed=5)
    epochs = [[b.tolist() for b in reference] for _ in range(3)]
    loader = ScheduledLoader(data, PLAN.batch_size, seed=5)
    loader.set_epoch(2)
    assert len(loader) == 2 and [b.tolist() for b in loader] == epochs[2]
    loader.set_epoch(1)  # an epoch already read is read again, the same way
    assert [b.tolist() for b in loader] == epochs[1]
    # setting the epoch in progress keeps the position (a mid-epoch resume)
    it = iter(loader)
    assert loader.epoch == 2
    next(it)
    loader.set_epoch(2)
    assert [b.tolist() for b in loader] == epochs[2][1:]
    with pytest.raises(ValueError, match="epoch"):
        loader.set_epoch(-1)
    with pytest.raises(TypeError, match="epoch"):
        loader.set_epoch(1.0)  # type: ignore[arg-type]


def test_a_finished_epoch_in_an_old_state_resumes_at_the_next_epoch() -> None:
    # a state saved at the very end of an epoch (position N) starts the next one
    loader = ScheduledLoader(list(range(N)), PLAN.batch_size, shuffle=False)
    state = {**loader.state_dict(), "epoch": 0, "position": N}
    loader.load_state_dict(state)
    assert len(loader) == 3
    assert [len(b) for b in loader] == SIZES[1]


def test_drop_rolls_over_past_the_remainder_and_keeps_empty_epochs() -> None:
    loader = ScheduledLoader(
        list(range(10)), BatchStep(4, milestones=[1], factor=4), last_batch="drop"
    )
    assert [len(b) for b in loader] == [4, 4]
    assert (loader.epoch, loader.position) == (1, 0)
    assert len(loader) == 0 and list(loader) == []  # a batch of 16 > 10 samples: empty epoch
    assert loader.epoch == 2


# -- real training loops ------------------------------------------------------------------

pl = pytest.importorskip("lightning.pytorch")


class _Recorder(pl.LightningModule):
    def __init__(self, lr: Schedule | None) -> None:
        super().__init__()
        self.net = torch.nn.Linear(3, 1)
        self.lr = lr
        self.seen: list[tuple[int, list[int], float]] = []

    def training_step(self, batch, batch_idx):
        x, y, idx = batch
        lr = self.trainer.optimizers[0].param_groups[0]["lr"]
        self.seen.append((self.current_epoch, idx.tolist(), lr))
        return torch.nn.functional.mse_loss(self.net(x), y)

    def configure_optimizers(self):
        opt = torch.optim.SGD(self.parameters(), lr=1.0)
        if self.lr is None:
            return opt
        sched = LRScheduler(opt, self.lr, unit="epoch")
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}


def _fit(tmp_path, module: _Recorder, loader: ScheduledLoader, **kwargs) -> None:
    trainer = pl.Trainer(
        max_epochs=3,
        accelerator="cpu",
        devices=1,
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        enable_checkpointing=False,
        default_root_dir=tmp_path,
        **kwargs,
    )
    trainer.fit(module, loader)


LIGHTNING_WARNINGS = [
    # Lightning 2.6 still uses torch's LeafSpec, deprecated in recent torch; not about us.
    "ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated:FutureWarning",
    # a 24-sample toy: no workers, few batches; Lightning's advice, not a fault
    "ignore:The '?train_dataloader'? does not have many workers",
    "ignore:The number of training batches",
]


def _check_epochs(seen: list[tuple[int, list[int], float]], plan: BatchPlan = PLAN) -> None:
    for epoch in range(3):
        batches = [idx for e, idx, _ in seen if e == epoch]
        assert [len(b) for b in batches] == _expected_sizes(epoch, plan), epoch
        assert sorted(_cat(batches)) == list(range(N)), epoch


@pytest.mark.filterwarnings(*LIGHTNING_WARNINGS)
@pytest.mark.parametrize("reload", [0, 1], ids=["len-read-once", "reload-every-epoch"])
def test_lightning_fit_reads_every_epoch_at_the_planned_sizes(tmp_path, reload: int) -> None:
    module = _Recorder(lr=None)
    loader = ScheduledLoader(_Indexed(N), PLAN.batch_size, seed=0)
    _fit(tmp_path, module, loader, reload_dataloaders_every_n_epochs=reload)
    _check_epochs(module.seen)
    assert len(module.seen) == sum(map(len, SIZES)) and loader.epoch == 3


@pytest.mark.filterwarnings(*LIGHTNING_WARNINGS)
def test_lightning_fit_with_the_lr_on_the_epoch_clock_follows_plan_lr(tmp_path) -> None:
    hybrid = increase_batch_instead(
        MultiStepDecay(lr=0.1, milestones=[1, 2], gamma=0.5), batch_size=4, max_batch_size=8
    )  # capped at 8: epoch 2 decays the LR instead
    module = _Recorder(lr=hybrid.lr)
    loader = ScheduledLoader(_Indexed(N), hybrid.batch_size, seed=0)
    _fit(tmp_path, module, loader)
    _check_epochs(module.seen, hybrid)
    # independent: the reference decay times the batch ratio, at the start of each batch
    ref = [0.1, 0.05, 0.025]
    for epoch, _, lr in module.seen:
        assert lr == pytest.approx(ref[epoch] * int(hybrid.batch_size(epoch)) / 4, rel=1e-12)
    assert [lr for _, _, lr in module.seen][-1] == pytest.approx(0.05)  # 0.025 * 8 / 4


class _SaveAt(pl.Callback):
    def __init__(self, step: int, path) -> None:
        self.step, self.path = step, path

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if trainer.global_step == self.step:
            trainer.save_checkpoint(self.path)


@pytest.mark.filterwarnings(*LIGHTNING_WARNINGS)
@pytest.mark.parametrize("step", [3, 8], ids=["epoch-0", "epoch-1-after-the-batch-doubled"])
def test_lightning_resumes_from_a_mid_epoch_checkpoint_exactly(tmp_path, step: int) -> None:
    ckpt = tmp_path / "mid.ckpt"
    reference = _Recorder(lr=None)
    loader = ScheduledLoader(_Indexed(N), PLAN.batch_size, seed=0)
    _fit(tmp_path, reference, loader, callbacks=[_SaveAt(step, ckpt)])
    resumed = _Recorder(lr=None)
    trainer = pl.Trainer(
        max_epochs=3,
        accelerator="cpu",
        enable_progress_bar=False,
        enable_model_summary=False,
        logger=False,
        enable_checkpointing=False,
        default_root_dir=tmp_path,
    )
    trainer.fit(resumed, ScheduledLoader(_Indexed(N), PLAN.batch_size, seed=0), ckpt_path=ckpt)
    # the resumed fit reads exactly the batches the first one read after the checkpoint
    assert [(e, idx) for e, idx, _ in resumed.seen] == [
        (e, idx) for e, idx, _ in reference.seen[step:]
    ]
    _check_epochs(reference.seen)


# -- Hugging Face Trainer -------------------------------------------------------------------


class _Regressor(torch.nn.Module):
    """A tiny model in the Trainer's terms: keyword inputs in, ``{"loss": ...}`` out."""

    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Linear(3, 1)
        self.seen: list[list[int]] = []

    def forward(self, x, labels, idx):
        self.seen.append(idx.tolist())
        return {"loss": torch.nn.functional.mse_loss(self.net(x), labels)}


class _Dicts(_Indexed):
    def __getitem__(self, i: int) -> dict[str, object]:  # type: ignore[override]
        x, y, i = super().__getitem__(i)
        return {"x": x, "labels": y, "idx": i}


@pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning")
def test_hf_trainer_reads_every_epoch_at_the_planned_sizes(tmp_path) -> None:
    transformers = pytest.importorskip("transformers")

    loader = ScheduledLoader(_Dicts(N), PLAN.batch_size, seed=0)
    model = _Regressor()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    sched = LRScheduler(opt, PLAN.lr)
    lrs: list[float] = []

    class FollowTheLoader(transformers.TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            lrs.append(opt.param_groups[0]["lr"])

        def on_step_end(self, args, state, control, **kwargs):
            sched.set_time(loader.time)  # the clock at the start of the next batch

    class Trainer(transformers.Trainer):
        def get_train_dataloader(self):
            return loader

    args = transformers.TrainingArguments(
        output_dir=str(tmp_path),
        num_train_epochs=3,
        report_to="none",
        use_cpu=True,
        save_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        remove_unused_columns=False,
    )
    trainer = Trainer(
        model=model, args=args, optimizers=(opt, sched), callbacks=[FollowTheLoader()]
    )
    trainer.train()
    steps = sum(map(len, SIZES))
    assert [len(b) for b in model.seen] == _cat(SIZES)
    for epoch in range(3):
        start = sum(len(s) for s in SIZES[:epoch])
        batches = model.seen[start : start + len(SIZES[epoch])]
        assert sorted(_cat(batches)) == list(range(N)), epoch
    assert trainer.state.global_step == steps and loader.epoch == 3
    # the plan keeps lr / batch at the reference 0.1 / 4 halving per epoch: lr stays 0.1
    times = [e + p / N for e, s in enumerate(SIZES) for p in np.cumsum([0, *s[:-1]])]
    assert lrs == pytest.approx(PLAN.lr(np.array(times)).tolist(), rel=1e-12)
    assert lrs == pytest.approx([0.1] * steps)
    assert math.isclose(sched.time, 3.0)
