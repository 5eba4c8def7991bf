"""lrkit.torch.range_test: the sweep, and that it leaves nothing changed behind it."""

from __future__ import annotations

import copy
import gc
import os
import random

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

from lrkit.range_test import RangeTestResult, sweep_lrs  # noqa: E402
from lrkit.torch import range_test  # noqa: E402
from lrkit.torch._range_test import _save  # noqa: E402


def _data(n: int = 96, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=g)
    return x, (x[:, 0] + x[:, 1] > 0).long()


def _loader(batch_size: int = 16, **kwargs: object) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(*_data()), batch_size=batch_size, shuffle=True, **kwargs
    )


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Dropout(0.2), nn.Linear(8, 2)
    )


def _mid_training(
    opt_name: str = "adam",
) -> tuple[nn.Module, torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """A model a few steps into training, with two param groups and a scheduler attached."""
    model = _model()
    groups = [
        {"params": model[0].parameters(), "lr": 0.01},
        {"params": [*model[1].parameters(), *model[4].parameters()], "lr": 0.001},
    ]
    if opt_name == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(groups, weight_decay=1e-4)
    else:
        opt = torch.optim.SGD(groups, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    for x, y in _loader():
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        sched.step()
    # leave gradients behind, as in the middle of an accumulation, and an eval-mode module
    nn.functional.cross_entropy(model(_data()[0][:8]), _data()[1][:8]).backward()
    model[3].eval()
    return model, opt, sched


def _snapshot(model: nn.Module, opt: torch.optim.Optimizer, sched: object) -> dict[str, object]:
    return {
        "params": [p.detach().clone() for p in model.parameters()],
        "ids": [id(p) for p in model.parameters()],
        "buffers": [b.clone() for b in model.buffers()],
        "grads": [None if p.grad is None else p.grad.clone() for p in model.parameters()],
        "opt": copy.deepcopy(opt.state_dict()),
        "modes": [m.training for m in model.modules()],
        "sched": copy.deepcopy(sched.state_dict()),  # type: ignore[attr-defined]
        "torch_rng": torch.get_rng_state(),
        "np_rng": np.random.get_state()[1].copy(),  # noqa: NPY002
        "py_rng": random.getstate(),
    }


def _same(a: object, b: object) -> bool:
    if isinstance(a, torch.Tensor):
        return (
            isinstance(b, torch.Tensor)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and bool(torch.equal(a, b))
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    if isinstance(a, np.ndarray):
        return bool(np.array_equal(a, b))
    return a == b


def _assert_restored(
    before: dict[str, object], model: nn.Module, opt: object, sched: object
) -> None:
    after = _snapshot(model, opt, sched)  # type: ignore[arg-type]
    for key in before:
        assert _same(before[key], after[key]), key


@pytest.mark.parametrize("opt_name", ["adam", "sgd"])
def test_restores_everything_bit_for_bit_mid_training(opt_name: str) -> None:
    model, opt, sched = _mid_training(opt_name)
    before = _snapshot(model, opt, sched)
    result = range_test(
        model, opt, nn.functional.cross_entropy, _loader(), num_steps=30, scheduler=sched
    )
    assert isinstance(result, RangeTestResult)
    _assert_restored(before, model, opt, sched)
    # training goes on exactly as it would have without the test
    assert opt.param_groups[1]["lr"] == before["opt"]["param_groups"][1]["lr"]  # type: ignore[index]


class _Boom(Exception):
    pass


@pytest.mark.parametrize("error", [_Boom, KeyboardInterrupt])
@pytest.mark.parametrize("use_file", [False, True])
def test_restores_after_an_error_mid_test(
    error: type[BaseException], use_file: bool, tmp_path: object
) -> None:
    model, opt, sched = _mid_training()
    before = _snapshot(model, opt, sched)
    calls = []

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        if len(calls) == 7:
            raise error()
        return nn.functional.cross_entropy(out, y)

    with pytest.raises(error):
        range_test(
            model,
            opt,
            loss_fn,
            _loader(),
            num_steps=20,
            scheduler=sched,
            state_dir=tmp_path if use_file else None,
        )
    _assert_restored(before, model, opt, sched)
    assert os.listdir(tmp_path) == []  # type: ignore[arg-type]


def test_state_file_is_used_and_removed(tmp_path: object) -> None:
    model, opt, sched = _mid_training()
    before = _snapshot(model, opt, sched)
    seen = []

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        seen.append(os.listdir(tmp_path))  # type: ignore[arg-type]
        return nn.functional.cross_entropy(out, y)

    range_test(model, opt, loss_fn, _loader(), num_steps=10, state_dir=tmp_path)
    assert len(seen[0]) == 1 and seen[0][0].startswith("lrkit-range-test-")
    assert os.listdir(tmp_path) == []  # type: ignore[arg-type]
    _assert_restored(before, model, opt, sched)


def test_saved_state_lives_on_the_host_and_no_tensor_is_left_behind() -> None:
    model, opt, sched = _mid_training()
    saved = _save(model, opt, sched, None, (), None)
    kept = [t for t in saved.bulk["values"] + saved.bulk["grads"] if t is not None]  # type: ignore[index]
    for state in saved.bulk["opt_state"]:  # type: ignore[index]
        kept += [v for v in state.values() if isinstance(v, torch.Tensor)]
    assert kept and all(t.device.type == "cpu" for t in kept)
    # one host copy per parameter and buffer, nothing more
    n_tensors = len(list(model.parameters())) + len(list(model.buffers()))
    assert len(saved.bulk["values"]) == n_tensors  # type: ignore[index]
    del saved, kept
    loader = _loader()

    def count() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if issubclass(type(o), torch.Tensor))

    range_test(model, opt, nn.functional.cross_entropy, loader, num_steps=5)
    n_before = count()
    range_test(model, opt, nn.functional.cross_entropy, loader, num_steps=12)
    assert count() == n_before
    # the parameters are the same tensor objects (restored in place, not replaced)
    ids = [id(p) for p in model.parameters()]
    range_test(model, opt, nn.functional.cross_entropy, loader, num_steps=5)
    assert ids == [id(p) for p in model.parameters()]
    assert all(
        id(p) in {id(q) for g in opt.param_groups for q in g["params"]}
        for p in model[0].parameters()
    )


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_no_extra_device_memory_on_cuda() -> None:  # pragma: no cover - needs a GPU
    model, opt, sched = _mid_training()
    model.cuda()
    opt.load_state_dict(opt.state_dict())
    x, y = _data()
    loader = [(x[i : i + 16].cuda(), y[i : i + 16].cuda()) for i in range(0, 96, 16)]
    range_test(model, opt, nn.functional.cross_entropy, loader, num_steps=5)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    saved = _save(model, opt, sched, None, (), None)
    assert torch.cuda.memory_allocated() == base
    del saved


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_stops_at_a_non_finite_loss(bad: float) -> None:
    model, opt, _ = _mid_training("sgd")
    calls = []

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        calls.append(1)
        loss = nn.functional.cross_entropy(out, y)
        return loss * bad if len(calls) == 9 else loss

    result = range_test(model, opt, loss_fn, _loader(), num_steps=30)
    assert len(calls) == 9 and len(result.losses) == 9
    assert result.stopped_early and "non-finite" in (result.stop_reason or "")
    assert not np.isfinite(result.losses[-1])


def test_stops_when_the_loss_diverges() -> None:
    model, opt, _ = _mid_training("sgd")
    result = range_test(
        model,
        opt,
        nn.functional.cross_entropy,
        _loader(),
        start_lr=1e-3,
        end_lr=1e4,
        num_steps=60,
        smoothing=0.0,
    )
    assert result.stopped_early and len(result.losses) < 60
    assert result.stop_reason is not None


def test_accumulation_one_point_per_optimizer_step_and_mean_loss() -> None:
    model, opt, _ = _mid_training("sgd")
    micro_losses: list[float] = []
    steps: list[float] = []
    opt.register_step_post_hook(lambda o, *_: steps.append(o.param_groups[0]["lr"]))

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        loss = nn.functional.cross_entropy(out, y)
        micro_losses.append(float(loss.detach()))
        return loss

    result = range_test(
        model, opt, loss_fn, _loader(batch_size=8), num_steps=10, accumulation_steps=3, end_lr=1e-2
    )
    assert len(steps) == len(result.losses) == 10
    assert len(micro_losses) == 30
    expected = np.asarray(micro_losses, dtype=np.float32).reshape(10, 3).mean(axis=1)
    np.testing.assert_allclose(result.losses, expected, rtol=1e-6)
    np.testing.assert_allclose(steps, sweep_lrs(1e-7, 1e-2, 10))


def test_accumulation_scales_gradients_like_one_big_batch() -> None:
    x, y = _data(48)
    big = [(x, y)]
    small = [(x[i : i + 16], y[i : i + 16]) for i in range(0, 48, 16)]
    finals = []
    for loader, accum in [(big, 1), (small, 3)]:
        torch.manual_seed(0)
        model = nn.Linear(6, 2)
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        seen = []
        opt.register_step_pre_hook(lambda *_, m=model, s=seen: s.append(m.weight.grad.clone()))
        range_test(
            model, opt, nn.functional.cross_entropy, loader, num_steps=2, accumulation_steps=accum
        )
        finals.append(seen[0])
    torch.testing.assert_close(finals[0], finals[1])


def test_param_group_ratios_are_kept() -> None:
    model, opt, _ = _mid_training("sgd")
    ratio = opt.param_groups[1]["lr"] / opt.param_groups[0]["lr"]
    seen: list[tuple[float, float]] = []
    opt.register_step_pre_hook(
        lambda o, *_: seen.append((o.param_groups[0]["lr"], o.param_groups[1]["lr"]))
    )
    result = range_test(
        model, opt, nn.functional.cross_entropy, _loader(), num_steps=15, start_lr=1e-5, end_lr=1e-1
    )
    lr0 = np.array([s[0] for s in seen])
    lr1 = np.array([s[1] for s in seen])
    np.testing.assert_allclose(lr0, result.lrs)
    np.testing.assert_allclose(lr0, sweep_lrs(1e-5, 1e-1, 15))
    np.testing.assert_allclose(lr1 / lr0, ratio)


def test_linear_mode_and_validation_loss_on_fixed_batches() -> None:
    model, opt, _ = _mid_training("sgd")
    val = _loader(batch_size=8)
    modes: list[bool] = []

    def loss_fn(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        modes.append(model.training)
        return nn.functional.cross_entropy(out, y)

    result = range_test(
        model,
        opt,
        loss_fn,
        _loader(),
        num_steps=6,
        mode="linear",
        end_lr=0.01,
        val_loader=val,
        val_batches=2,
    )
    np.testing.assert_allclose(result.lrs, np.linspace(1e-7, 0.01, 6))
    # per step: one training batch, then two validation batches in eval mode
    assert modes == [True, False, False] * 6


def test_batch_fn_and_other_batch_shapes() -> None:
    model, opt, _ = _mid_training("sgd")
    x, y = _data(32)
    loader = [{"x": x[:16], "y": y[:16]}, {"x": x[16:], "y": y[16:]}]
    with pytest.raises(TypeError, match="batch_fn"):
        range_test(model, opt, nn.functional.cross_entropy, loader, num_steps=3)
    result = range_test(
        model,
        opt,
        nn.functional.cross_entropy,
        loader,
        num_steps=3,
        batch_fn=lambda b: (b["x"], b["y"]),
    )
    assert len(result.losses) == 3


def test_amp_with_a_grad_scaler_is_restored() -> None:
    model, opt, sched = _mid_training("sgd")
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=2)
    before = _snapshot(model, opt, sched)
    scaler_before = copy.deepcopy(scaler.state_dict())
    result = range_test(
        model,
        opt,
        nn.functional.cross_entropy,
        _loader(),
        num_steps=8,
        grad_scaler=scaler,
        amp_dtype=torch.bfloat16,
    )
    assert np.all(np.isfinite(result.losses))
    assert scaler.state_dict() == scaler_before
    _assert_restored(before, model, opt, sched)


def test_loader_generator_is_restored() -> None:
    model, opt, _ = _mid_training("sgd")
    gen = torch.Generator().manual_seed(5)
    loader = _loader(generator=gen)
    state = gen.get_state()
    range_test(model, opt, nn.functional.cross_entropy, loader, num_steps=12)
    assert torch.equal(gen.get_state(), state)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"num_steps": 1}, ValueError, "num_steps"),
        ({"start_lr": 1.0, "end_lr": 0.1}, ValueError, "end_lr"),
        ({"start_lr": 0.0}, ValueError, "start_lr"),
        ({"mode": "log"}, ValueError, "mode"),
        ({"accumulation_steps": 0}, ValueError, "accumulation_steps"),
        ({"accumulation_steps": 1.5}, TypeError, "accumulation_steps"),
        ({"val_batches": 2}, ValueError, "val_loader"),
        ({"stop_factor": 1.0}, ValueError, "stop_factor"),
        ({"smoothing": 1.0}, ValueError, "smoothing"),
        ({"state_dir": "/no/such/dir"}, ValueError, "state_dir"),
        ({"amp_dtype": "bf16"}, TypeError, "amp_dtype"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    model, opt, _ = _mid_training("sgd")
    with pytest.raises(error, match=match):
        range_test(model, opt, nn.functional.cross_entropy, _loader(), **kwargs)  # type: ignore[arg-type]


def test_bad_model_and_optimizer() -> None:
    model, opt, _ = _mid_training("sgd")
    with pytest.raises(TypeError, match="model"):
        range_test(lambda x: x, opt, nn.functional.cross_entropy, _loader())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="optimizer"):
        range_test(model, object(), nn.functional.cross_entropy, _loader())  # type: ignore[arg-type]


def test_lrkit_scheduler_attached_is_restored_and_training_continues_identically() -> None:
    from lrkit.schedules import parse
    from lrkit.torch import LRScheduler

    def run(with_test: bool) -> list[torch.Tensor]:
        torch.manual_seed(0)
        model = nn.Linear(6, 2)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        sched = LRScheduler(opt, parse("cosine(lr=0.1, total_steps=20)"))
        x, y = _data(64)
        for step in range(10):
            if with_test and step == 5:
                range_test(
                    model, opt, nn.functional.cross_entropy, _loader(), num_steps=8, scheduler=sched
                )
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
            sched.step()
        return [p.detach().clone() for p in model.parameters()]

    assert all(torch.equal(a, b) for a, b in zip(run(False), run(True), strict=True))


def test_public_api() -> None:
    import lrkit.range_test as rt
    import lrkit.torch

    assert sorted(rt.__all__) == sorted(
        [
            "METHODS",
            "NoSuggestionError",
            "Race",
            "Rung",
            "SCHEDULES",
            "Verdict",
            "lightning",
            "peak_lr",
            "race",
            "race_candidates",
            "schedule_shape",
            "RangeTestResult",
            "StopRule",
            "StopState",
            "analyze",
            "fastai_curve",
            "local_fit",
            "minimum",
            "plot_range_test",
            "running_median",
            "steepest",
            "sweep_lrs",
            "valley",
        ]
    )
    assert "range_test" in lrkit.torch.__all__
