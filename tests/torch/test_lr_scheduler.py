"""lrkit.torch.LRScheduler drives real optimizers along the schedule, step by step."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrkit.schedules import Constant, Schedule  # noqa: E402
from lrkit.torch import LRScheduler  # noqa: E402


@dataclass(frozen=True)
class Wave(Schedule):
    """Test-only, fractional values everywhere: lr * (1.5 + sin(t / 7)) / (1 + t / 50)."""

    config_name = "_test_h2_wave"
    lr: float = 0.1

    def _value(self, t: np.ndarray) -> np.ndarray:
        return self.lr * (1.5 + np.sin(t / 7.0)) / (1.0 + t / 50.0)


@dataclass(frozen=True)
class Ramp(Schedule):
    """A test-only momentum-like schedule in [0.8, 0.95): 0.8 + 0.15 * t / (t + 10)."""

    config_name = "_test_h2_ramp"

    def _value(self, t: np.ndarray) -> np.ndarray:
        return 0.8 + 0.15 * t / (t + 10.0)


def make_model(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))


def train_step(model: torch.nn.Module, opt: torch.optim.Optimizer, i: int) -> None:
    g = torch.Generator().manual_seed(i)
    x = torch.randn(8, 3, generator=g)
    loss = model(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()


def lrs(opt: torch.optim.Optimizer) -> list[float]:
    return [float(g["lr"]) for g in opt.param_groups]


def test_is_a_torch_lr_scheduler_and_sets_the_lr_at_construction():
    opt = torch.optim.SGD(make_model().parameters(), lr=123.0)
    sched = LRScheduler(opt, Wave())
    assert isinstance(sched, torch.optim.lr_scheduler.LRScheduler)
    assert lrs(opt) == [Wave()(0)]
    assert sched.get_last_lr() == [Wave()(0)]
    assert sched.time == sched.last_epoch == 0


def test_trajectory_equals_the_schedule_at_every_step_across_a_resume():
    schedule = Wave(lr=0.05)
    total, cut = 700, 517  # crosses an evaluation block (512 steps), resumes mid-block
    expected = schedule(np.arange(total, dtype=np.float64))
    seen = []
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.9)
    sched = LRScheduler(opt, schedule)
    for i in range(cut):
        seen.append(lrs(opt)[0])
        train_step(model, opt, i)
        sched.step()
    saved = {
        "model": model.state_dict(),
        "opt": opt.state_dict(),
        "sched": sched.state_dict(),
    }
    del model, opt, sched
    # Fresh objects, built as a user would build them, then restored.
    model = make_model(seed=1)
    opt = torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.9)
    sched = LRScheduler(opt, Wave(lr=0.05))
    model.load_state_dict(saved["model"])
    opt.load_state_dict(saved["opt"])
    sched.load_state_dict(saved["sched"])
    assert sched.time == cut
    for i in range(cut, total):
        seen.append(lrs(opt)[0])
        train_step(model, opt, i)
        sched.step()
    np.testing.assert_array_equal(np.array(seen), expected)
    # Every value also equals the scalar call, to the last ulp or one off.
    assert all(math.isclose(v, schedule(i), rel_tol=1e-15) for i, v in enumerate(seen))


def test_resume_gives_the_same_weights_as_an_uninterrupted_run():
    def run(resume_at: int | None) -> torch.Tensor:
        model = make_model()
        opt = torch.optim.Adam(model.parameters(), lr=1.0)
        sched = LRScheduler(opt, Wave(lr=0.01), momentum=Ramp())
        for i in range(40):
            if i == resume_at:
                state = (model.state_dict(), opt.state_dict(), sched.state_dict())
                model = make_model(seed=7)
                opt = torch.optim.Adam(model.parameters(), lr=1.0)
                sched = LRScheduler(opt, Wave(lr=0.01), momentum=Ramp())
                model.load_state_dict(state[0])
                opt.load_state_dict(state[1])
                sched.load_state_dict(state[2])
            train_step(model, opt, i)
            sched.step()
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    assert torch.equal(run(None), run(23))


def test_state_dict_is_tiny_and_survives_torch_save(tmp_path):
    opt = torch.optim.SGD(make_model().parameters(), lr=0.1)
    sched = LRScheduler(opt, Wave())
    for _ in range(5):
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert state["time"] == 5
    assert set(state) == {
        "format",
        "time",
        "unit",
        "ratios",
        "schedule",
        "momentum",
        "configs",
        "hyperparams",
    }
    torch.save(state, tmp_path / "s.pt")
    loaded = torch.load(tmp_path / "s.pt", weights_only=True)
    fresh = LRScheduler(torch.optim.SGD(make_model().parameters(), lr=0.1), Wave())
    fresh.load_state_dict(loaded)
    assert fresh.get_last_lr() == [Wave()(5)]


def test_refuses_a_state_saved_with_another_schedule():
    opt = torch.optim.SGD(make_model().parameters(), lr=0.1)
    state = LRScheduler(opt, Wave(lr=0.1)).state_dict()
    other = LRScheduler(torch.optim.SGD(make_model().parameters(), lr=0.1), Wave(lr=0.2))
    with pytest.raises(ValueError, match=r"saved with schedule _test_h2_wave\(lr=0\.1\)"):
        other.load_state_dict(state)
    assert other.time == 0 and other.get_last_lr() == [Wave(lr=0.2)(0)]


def test_refuses_mismatched_momentum_unit_groups_and_foreign_states():
    def sched(**kw):
        return LRScheduler(torch.optim.SGD(make_model().parameters(), lr=0.1, momentum=0.9), **kw)

    state = sched(schedule=Wave()).state_dict()
    with pytest.raises(ValueError, match="saved with momentum none"):
        sched(schedule=Wave(), momentum=Ramp()).load_state_dict(state)
    with pytest.raises(ValueError, match="unit='step'"):
        sched(schedule=Wave(), unit="epoch").load_state_dict(state)
    torch_state = torch.optim.lr_scheduler.StepLR(
        torch.optim.SGD(make_model().parameters(), lr=0.1), step_size=3
    ).state_dict()
    with pytest.raises(ValueError, match="not a state saved by lrkit"):
        sched(schedule=Wave()).load_state_dict(torch_state)
    model = make_model()
    two = torch.optim.SGD(
        [{"params": model[0].parameters()}, {"params": model[2].parameters()}], lr=0.1
    )
    one_state = sched(schedule=Wave()).state_dict()
    with pytest.raises(ValueError, match="1 param groups"):
        LRScheduler(two, Wave()).load_state_dict(one_state)


def test_param_groups_keep_their_ratio_to_group_zero():
    model = make_model()
    opt = torch.optim.SGD(
        [
            {"params": model[0].parameters(), "lr": 0.2},
            {"params": model[2].parameters(), "lr": 0.05},
        ],
        lr=1.0,
    )
    schedule = Wave()
    sched = LRScheduler(opt, schedule)
    for t in range(30):
        assert lrs(opt) == pytest.approx([schedule(t), schedule(t) * 0.25], rel=1e-15)
        train_step(model, opt, t)
        sched.step()


def test_one_schedule_per_param_group():
    model = make_model()
    opt = torch.optim.SGD(
        [{"params": model[0].parameters()}, {"params": model[2].parameters()}], lr=1.0
    )
    a, b = Wave(lr=0.1), Constant(lr=0.003)
    sched = LRScheduler(opt, [a, b])
    for t in range(20):
        assert lrs(opt) == [a(t), b(t)]
        train_step(model, opt, t)
        sched.step()
    with pytest.raises(ValueError, match="schedule has 3 schedules but the optimizer has 2"):
        LRScheduler(opt, [a, b, a])
    with pytest.raises(TypeError, match=r"schedule\[1\] must be a Schedule"):
        LRScheduler(opt, [a, 0.1])


def test_group_zero_at_zero_cannot_give_ratios():
    model = make_model()
    opt = torch.optim.SGD(
        [{"params": model[0].parameters(), "lr": 0.0}, {"params": model[2].parameters()}], lr=0.1
    )
    with pytest.raises(ValueError, match=r"param group 0 has initial lr 0\.0"):
        LRScheduler(opt, Wave())


def test_momentum_schedule_drives_sgd_momentum():
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.5)
    sched = LRScheduler(opt, Wave(), momentum=Ramp())
    for t in range(15):
        assert opt.param_groups[0]["momentum"] == Ramp()(t)
        train_step(model, opt, t)
        sched.step()


def test_momentum_schedule_drives_adam_beta1_and_keeps_beta2():
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.97))
    sched = LRScheduler(opt, Wave(lr=1e-3), momentum=Ramp())
    for t in range(15):
        assert opt.param_groups[0]["betas"] == (Ramp()(t), 0.97)
        train_step(model, opt, t)
        sched.step()


def test_adam_is_untouched_without_momentum():
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.91, 0.98))
    sched = LRScheduler(opt, Wave(lr=1e-3))
    for t in range(5):
        train_step(model, opt, t)
        sched.step()
    assert opt.param_groups[0]["betas"] == (0.91, 0.98)
    assert lrs(opt) == [Wave(lr=1e-3)(5)]


def test_momentum_needs_an_optimizer_with_momentum_and_values_below_one():
    opt = torch.optim.Adagrad(make_model().parameters(), lr=0.1)
    with pytest.raises(TypeError, match="param group 0 of Adagrad has neither"):
        LRScheduler(opt, Wave(), momentum=Ramp())
    sgd = torch.optim.SGD(make_model().parameters(), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="momentum must be in"):
        LRScheduler(sgd, Wave(), momentum=Constant(lr=1.5))


def test_epoch_unit_with_fractional_time():
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    schedule = Wave()
    sched = LRScheduler(opt, schedule, unit="epoch")
    batches = 4
    for epoch in range(2):
        for b in range(batches):
            sched.set_time(epoch + b / batches)
            assert lrs(opt) == [schedule(epoch + b / batches)]
            train_step(model, opt, b)
    sched.set_time(2)
    sched.step()  # one more epoch
    assert sched.time == 3 and lrs(opt) == [schedule(3)]
    state = sched.state_dict()
    sched.set_time(1.25)
    assert sched.state_dict()["time"] == 1.25
    sched.load_state_dict(state)
    assert lrs(opt) == [schedule(3)]


def test_bad_arguments_name_themselves():
    opt = torch.optim.SGD(make_model().parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"optimizer must be a torch\.optim\.Optimizer"):
        LRScheduler("sgd", Wave())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="schedule must be a Schedule"):
        LRScheduler(opt, 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unit must be one of 'step', 'epoch'; got 'batch'"):
        LRScheduler(opt, Wave(), unit="batch")
    sched = LRScheduler(opt, Wave())
    with pytest.raises(ValueError, match="t must be a finite number >= 0, got -1"):
        sched.set_time(-1)
    with pytest.raises(TypeError, match="t must be a number"):
        sched.set_time("3")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"use set_time\(t\)"):
        sched.step(3)


def test_no_warnings_and_no_patching_even_when_amp_skips_steps():
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    step_before = opt.step
    sched = LRScheduler(opt, Wave())
    assert opt.step == step_before
    assert not hasattr(opt.step, "_wrapped_by_lr_sched")
    # An enabled GradScaler on CPU; an inf in the gradients makes it skip optimizer.step.
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for i in range(6):
            opt.zero_grad()
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = model(torch.randn(8, 3)).float().pow(2).mean()
            if i == 0:
                loss = loss * float("inf")  # the first step is skipped
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            sched.step()
    assert scaler.get_scale() == 2.0**3  # halved once: the first step was skipped
    assert lrs(opt) == [Wave()(6)]


@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_with_momentum_matches_torch_one_cycle_lr(three_phase):
    from lrkit.schedules import OneCycle

    total = 300
    model = make_model()
    ours = torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.5)
    theirs = torch.optim.SGD(make_model().parameters(), lr=1.0, momentum=0.5)
    schedule = OneCycle(max_lr=0.1, total_steps=total, three_phase=three_phase)
    sched = LRScheduler(ours, schedule, momentum=schedule.momentum())
    ref = torch.optim.lr_scheduler.OneCycleLR(
        theirs, max_lr=0.1, total_steps=total, three_phase=three_phase
    )
    for t in range(total):
        for key in ("lr", "momentum"):
            a, b = ours.param_groups[0][key], theirs.param_groups[0][key]
            assert a == pytest.approx(b, rel=1e-12, abs=1e-15), (t, key)
        train_step(model, ours, t)
        theirs.step()
        sched.step()
        if t < total - 1:
            ref.step()


def test_cyclic_momentum_on_adam_drives_beta1():
    # torch's CyclicLR cycles momentum by default and fails on Adam; here it is opt-in.
    from lrkit.schedules import Cyclic

    cyc = Cyclic(base_lr=1e-3, max_lr=1e-2, step_size=5)
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=1.0)
    sched = LRScheduler(opt, cyc, momentum=cyc.momentum(0.85, 0.95))
    for t in range(12):
        beta1 = opt.param_groups[0]["betas"][0]
        assert beta1 == cyc.momentum(0.85, 0.95)(t)
        assert (t % 10 == 0) == (beta1 == 0.95)  # momentum is high where the lr is low
        train_step(model, opt, t)
        sched.step()


def test_last_epoch_moves_the_clock_like_torch():
    opt = torch.optim.SGD(make_model().parameters(), lr=0.1)
    sched = LRScheduler(opt, Wave())
    sched.last_epoch = 41
    assert lrs(opt) == [Wave()(0)]  # nothing written yet
    sched.step()
    assert sched.time == 42 and lrs(opt) == [Wave()(42)]


def test_momentum_out_of_range_is_reported_at_its_time():
    from lrkit.schedules import LinearDecay

    opt = torch.optim.SGD(make_model().parameters(), lr=0.1, momentum=0.9)
    # Starts at 1.01 > 1: refused at construction, naming t=0.
    rising = LinearDecay(lr=1.01, total_steps=10, end_lr=0.5)
    with pytest.raises(ValueError, match=r"gives 1\.01 at t=0\.0; momentum must be in \[0, 1\)"):
        LRScheduler(opt, Wave(), momentum=rising)


def test_tensor_lr_is_filled_in_place():
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=torch.tensor(0.01), foreach=False)
    lr_tensor = opt.param_groups[0]["lr"]
    sched = LRScheduler(opt, Wave(lr=0.01))
    for t in range(3):
        train_step(model, opt, t)
        sched.step()
    assert opt.param_groups[0]["lr"] is lr_tensor
    assert lr_tensor.item() == pytest.approx(Wave(lr=0.01)(3), rel=1e-6)  # float32 tensor
    assert sched.get_last_lr() == [Wave(lr=0.01)(3)]


def test_a_param_group_added_after_construction_is_reported_clearly():
    # add_param_group (e.g. unfreezing layers) after building the scheduler used to fail
    # in step() with "zip() argument 2 is shorter than argument 1".
    model = make_model()
    opt = torch.optim.SGD(model[0].parameters(), lr=0.1)
    sched = LRScheduler(opt, Constant(0.1))
    opt.add_param_group({"params": model[2].parameters(), "lr": 0.01})
    with pytest.raises(ValueError, match="built for 1 param groups, the optimizer now has 2"):
        sched.step()


def test_a_truncated_state_is_refused_with_a_value_error():
    sched = LRScheduler(torch.optim.SGD(make_model().parameters(), lr=0.1), Wave())
    state = sched.state_dict()
    del state["configs"], state["time"]
    with pytest.raises(ValueError, match="missing 'time', 'configs'"):
        sched.load_state_dict(state)
