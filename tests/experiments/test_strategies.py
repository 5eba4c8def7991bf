"""Strategies: built-ins sized by the context, config round trips, user files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lrkit.experiments import (
    SEED_STRATEGIES,
    Strategy,
    StrategyContext,
    get_strategy,
    load_strategies,
    register_strategy,
    registered_strategies,
)
from lrkit.schedules import Constant, parse

CTX = StrategyContext(epochs=30, batch_size=64, train_size=4000)


def test_the_seed_strategies_are_all_registered():
    assert set(SEED_STRATEGIES) <= set(registered_strategies())
    optimizers = {get_strategy(name, CTX).optimizer for name in SEED_STRATEGIES}
    assert optimizers == {"sgd", "adagrad", "adadelta", "rmsprop", "adam"}


@pytest.mark.parametrize(
    ("name", "end"), [("time-decay", 0.1), ("exp-decay", 0.01), ("step-decay", 0.01)]
)
@pytest.mark.parametrize("epochs", [4, 30, 100])
def test_decays_end_at_their_documented_fraction_of_the_start(name, end, epochs):
    strategy = get_strategy(name, CTX.replace(epochs=epochs))
    ratio = strategy.lr(float(epochs) - 1e-9) / strategy.lr(0.0)
    assert ratio == pytest.approx(end, rel=0.02)
    assert np.all(np.diff(strategy.lr(np.linspace(0, epochs, 200))) <= 0)


@pytest.mark.parametrize("epochs", [6, 20, 30, 50])
def test_cyclic_has_a_step_of_a_few_epochs_and_ends_at_its_base(epochs):
    strategy = get_strategy("cyclic", CTX.replace(epochs=epochs))
    assert 2.5 <= strategy.lr.step_size <= 7.5
    assert strategy.lr(float(epochs)) == pytest.approx(strategy.lr.base_lr)
    assert strategy.lr(strategy.lr.step_size) == pytest.approx(strategy.lr.max_lr)


def test_one_cycle_spans_the_budget_and_reaches_its_minimum_at_the_end():
    strategy = get_strategy("one-cycle", CTX)  # 30 epochs
    lr = strategy.lr
    final = lr.max_lr / lr.div_factor / lr.final_div_factor
    assert lr(30.0) == pytest.approx(final)  # the minimum where training ends
    assert lr(29.5) > 100 * final  # the last epoch still trains above it
    assert max(lr(np.linspace(0, 30, 301))) == pytest.approx(lr.max_lr)


def test_one_cycle_keeps_torchs_values_at_integer_steps():
    torch = pytest.importorskip("torch")
    strategy = get_strategy("one-cycle", CTX)
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    total = int(strategy.lr.total_steps)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=strategy.lr.max_lr, total_steps=total, cycle_momentum=False
    )
    theirs = []
    for _ in range(total):
        theirs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    np.testing.assert_allclose(strategy.lr(np.arange(total, dtype=float)), theirs, rtol=1e-9)


def test_ctx_lr_sets_the_base_lr_of_every_builtin():
    for name in SEED_STRATEGIES:
        default = get_strategy(name, CTX)
        chosen = get_strategy(name, CTX.replace(lr=0.0123))
        peak = float(np.max(chosen.lr(np.linspace(0, 30, 601))))
        assert peak in (pytest.approx(0.0123), pytest.approx(2 * 0.0123)), name
        assert chosen.optimizer == default.optimizer


def test_every_builtin_round_trips_through_json():
    for name in SEED_STRATEGIES:
        strategy = get_strategy(name, CTX)
        text = json.dumps(strategy.to_config())
        assert Strategy.from_config(json.loads(text)) == strategy
        assert hash(strategy) == hash(Strategy.from_config(json.loads(text)))


def test_strategy_accepts_specs_and_normalises_kwargs():
    s = Strategy("a", "adam", "constant(lr=0.01)", {"betas": [0.8, 0.99], "eps": 1e-7})
    assert s.lr == Constant(0.01)
    assert s.optimizer_kwargs == (("betas", (0.8, 0.99)), ("eps", 1e-7))
    assert s.optimizer_options == {"betas": (0.8, 0.99), "eps": 1e-7}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"optimizer": "lbgfs"}, ValueError, "optimizer must be a registered name"),
        ({"name": "has space"}, ValueError, "name must be"),
        ({"clock": "minute"}, ValueError, "clock must be 'epoch' or 'step'"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an int"),
        ({"lr": 0.1}, TypeError, "lr must be a Schedule"),
        ({"optimizer_kwargs": {"lr": 0.1}}, ValueError, "must not hold 'lr'"),
        ({"optimizer_kwargs": 3}, TypeError, "optimizer_kwargs must be a dict"),
    ],
)
def test_bad_fields_are_named(kwargs, error, match):
    fields = {"name": "s", "optimizer": "sgd", "lr": Constant(0.1), **kwargs}
    with pytest.raises(error, match=match):
        Strategy(**fields)


def test_unknown_strategy_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown strategy 'warp'; known: constant"):
        get_strategy("warp", CTX)


def test_registry_is_open_and_factories_see_the_context():
    seen = []

    def factory(ctx):
        seen.append(ctx)
        return Strategy("mine", "sgd", Constant(ctx.lr or 0.1), batch_size=ctx.batch_size)

    register_strategy("test-mine", factory, "a test strategy")
    assert registered_strategies()["test-mine"] == "a test strategy"
    strategy = get_strategy("test-mine", CTX.replace(batch_size=32))
    assert strategy.batch_size == 32 and seen[0].steps_per_epoch == 125


def test_strategies_from_toml_and_json(tmp_path):
    toml = tmp_path / "s.toml"
    toml.write_text(
        """
[strategies.my-step]
optimizer = "sgd"
optimizer_kwargs = { momentum = 0.9, nesterov = true }
lr = "step(lr=0.1, step_size=10, gamma=0.1)"
batch_size = 32

[strategies.my-adam]
optimizer = "adam"
lr = { name = "constant", lr = 0.001 }
clock = "step"
"""
    )
    first, second = load_strategies(toml)
    assert first.name == "my-step" and first.lr == parse("step(lr=0.1, step_size=10)")
    assert first.optimizer_options == {"momentum": 0.9, "nesterov": True}
    assert second.clock == "step" and second.batch_size == 64
    js = tmp_path / "s.json"
    js.write_text(json.dumps({"strategies": [first.to_config(), second.to_config()]}))
    assert load_strategies(js) == [first, second]


@pytest.mark.parametrize(
    ("name", "text", "match"),
    [
        ("a.yaml", "x", "must end in .toml or .json"),
        ("a.toml", "strategies = [", "invalid TOML"),
        ("a.json", "{", "invalid JSON"),
        ("a.json", '{"other": 1}', "expected a 'strategies' table"),
        ("a.toml", "[strategies.x]\noptimizer='sgd'\n", "missing key 'lr'"),
        ("a.toml", "[strategies.x]\noptimizer='sgd'\nlr='constant(0.1)'\nfoo=1\n", "'foo'"),
        ("a.toml", "[strategies.x]\noptimizer='sgd'\nlr='warp(0.1)'\n", "unknown name 'warp'"),
    ],
)
def test_bad_strategy_files_say_what_is_wrong(tmp_path, name, text, match):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_strategies(path)


@pytest.mark.parametrize(
    ("name", "optimizer"),
    [
        ("adamw-warmup-cosine", "adamw"),
        ("schedule-free-adamw", "schedulefree-adamw"),
        ("prodigy", "prodigy"),
        ("dadapt-adam", "dadapt-adam"),
    ],
)
def test_the_modern_strategies_use_their_optimizers(name, optimizer):
    strategy = get_strategy(name, CTX)
    assert strategy.optimizer == optimizer
    if name == "adamw-warmup-cosine":
        lr = strategy.lr
        assert lr(0.0) == 0.0 and lr(30.0) == pytest.approx(0.0, abs=1e-12)
        assert max(lr(np.linspace(0, 30, 601))) == pytest.approx(3e-3)
    elif name != "schedule-free-adamw":
        assert strategy.lr(0.0) == 1.0  # a multiplier, kept at 1


@pytest.mark.parametrize("name", ["schedule-free-adamw", "prodigy", "dadapt-adam"])
def test_each_lr_free_strategy_trains_through_compare(tmp_path, name):
    pytest.importorskip("torch")
    pytest.importorskip(
        {"prodigy": "prodigyopt", "dadapt-adam": "dadaptation"}.get(name, "schedulefree")
    )
    from lrkit.experiments import compare

    result = compare(
        "digits", [name], epochs=3, seeds=1, out=tmp_path / "r", num_samples=600, batch_size=32,
        plots=False,
    )  # fmt: skip
    (run,) = result.results
    # 45 updates: each learns digits well past chance (10%); plain Adam reaches 0.89 here
    assert run.diverged_epoch is None and run.final["test_acc"] > 0.6


def test_lr_auto_keeps_1_for_multiplier_optimizers_and_says_so(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("prodigyopt")
    from lrkit.experiments import compare

    result = compare(
        "digits", ["prodigy"], epochs=1, seeds=1, out=tmp_path / "r", num_samples=150,
        lr_finder="auto", plots=False,
    )  # fmt: skip
    assert result.strategies[0].lr(0.0) == 1.0
    assert "keeps lr = 1 for prodigy" in result.report.read_text()
