"""Registry[T], the optimizer registry, and third-party entries through entry points."""

from __future__ import annotations

import inspect
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrkit.experiments import (  # noqa: E402
    OPTIMIZERS,
    STRATEGIES,
    TASKS,
    Registry,
    Strategy,
    StrategyContext,
    compare,
    get_strategy,
    get_task,
    make_optimizer,
    optimizer_entry,
    registered_optimizers,
)
from lrkit.schedules import Constant  # noqa: E402


def test_a_registry_registers_lists_and_refuses_unknown_names():
    numbers: Registry[int] = Registry("number")
    numbers.register("one", 1, "the first")
    numbers.register("two", 2)
    assert numbers.get("two") == 2 and "one" in numbers and "three" not in numbers
    assert numbers.help() == {"one": "the first", "two": ""}
    assert list(numbers) == ["one", "two"] and len(numbers) == 2
    with pytest.raises(ValueError, match="unknown number 'three'; known: one, two"):
        numbers.get("three")
    with pytest.raises(ValueError, match="number name must be a lower-case word, got 'Bad Name'"):
        numbers.register("Bad Name", 3)


def test_a_registry_checks_its_entries():
    def only_ints(entry):
        if not isinstance(entry, int):
            raise TypeError(f"not an int: {entry!r}")

    numbers: Registry[int] = Registry("number", check=only_ints)
    with pytest.raises(TypeError, match="not an int: 'x'"):
        numbers.register("x", "x")  # type: ignore[arg-type]


def _torch_optimizers():
    """Every optimizer class torch.optim exports, found independently of lrkit."""
    return {
        name.lower(): cls
        for name, cls in vars(torch.optim).items()
        if inspect.isclass(cls)
        and issubclass(cls, torch.optim.Optimizer)
        and cls is not torch.optim.Optimizer
    }


def test_every_torch_optimizer_is_registered_by_its_lower_case_name():
    assert set(_torch_optimizers()) <= set(registered_optimizers())


@pytest.mark.parametrize("name", sorted(_torch_optimizers()))
def test_each_torch_entry_builds_its_class_and_names_its_momentum_key(name):
    entry = optimizer_entry(name)
    if entry.refuse:
        with pytest.raises(ValueError, match="cannot be used by the lab"):
            make_optimizer(name, [torch.nn.Parameter(torch.zeros(2, 2))], lr=0.1)
        return
    optimizer = make_optimizer(name, [torch.nn.Parameter(torch.zeros(2, 2))], lr=0.1)
    assert type(optimizer) is _torch_optimizers()[name]
    group = optimizer.param_groups[0]
    expected = "betas" if "betas" in group else "momentum" if "momentum" in group else None
    if name in ("adagrad", "adadelta", "asgd", "rprop", "adafactor"):
        expected = None  # no momentum (Adafactor's beta2_decay is not a momentum)
    assert entry.momentum_key == expected
    assert not entry.lr_is_multiplier and not entry.train_eval


_LRFREE = {
    # name: (module, class, momentum key, lr is a multiplier, train/eval)
    "schedulefree-adamw": ("schedulefree", "AdamWScheduleFree", "betas", False, True),
    "schedulefree-sgd": ("schedulefree", "SGDScheduleFree", "momentum", False, True),
    "prodigy": ("prodigyopt", "Prodigy", "betas", True, False),
    "dadapt-adam": ("dadaptation", "DAdaptAdam", "betas", True, False),
    "dadapt-sgd": ("dadaptation", "DAdaptSGD", "momentum", True, False),
}


@pytest.mark.parametrize("name", sorted(_LRFREE))
def test_the_lr_free_entries_build_their_packages_classes_with_their_facts(name):
    module_name, class_name, key, multiplier, train_eval = _LRFREE[name]
    module = pytest.importorskip(module_name)
    entry = optimizer_entry(name)
    assert (entry.momentum_key, entry.lr_is_multiplier, entry.train_eval) == (
        key,
        multiplier,
        train_eval,
    )
    optimizer = make_optimizer(name, [torch.nn.Parameter(torch.zeros(3))], lr=1.0)
    assert type(optimizer) is getattr(module, class_name)
    assert key in optimizer.param_groups[0]


def test_a_class_path_reads_its_facts_from_the_class():
    pytest.importorskip("schedulefree")
    entry = optimizer_entry("schedulefree:SGDScheduleFree")
    assert (entry.momentum_key, entry.train_eval, entry.lr_is_multiplier) == (
        "momentum",
        True,
        False,
    )
    assert optimizer_entry("torch.optim:Adam").momentum_key == "betas"
    assert optimizer_entry("torch.optim:Adagrad").momentum_key is None
    with pytest.raises(ValueError, match="has no class 'Nope'"):
        optimizer_entry("torch.optim:Nope")
    with pytest.raises(ValueError, match=r"cannot import 'no_such_pkg\.mod'"):
        optimizer_entry("no_such_pkg.mod:Opt")


def test_bad_optimizer_options_are_named():
    with pytest.raises(ValueError, match="optimizer 'adam': bad optimizer_kwargs"):
        make_optimizer("adam", [torch.nn.Parameter(torch.zeros(1))], lr=0.1, options={"mom": 1})


def test_a_class_path_optimizer_trains_through_compare(tmp_path):
    task = get_task("digits", num_samples=120)
    strategy = Strategy("nadam-path", "torch.optim:NAdam", Constant(0.01), batch_size=32)
    result = compare(task, [strategy], epochs=1, seeds=1, out=tmp_path / "run", plots=False)
    (run,) = result.results
    assert len(run.rows) == 1 and run.final["test_acc"] > 0.1


# -- entry points -----------------------------------------------------------------------

_PLUGIN = '''
"""A third-party lrkit plug-in, installed for the test."""

import torch

from lrkit.experiments import OptimizerEntry, Strategy
from lrkit.schedules import Constant


def tiny_task(*, num_samples=None, seed=0):
    """digits, as a plug-in task."""
    from lrkit.experiments import get_task

    return get_task("digits", num_samples=num_samples or 100, seed=seed)


def half_lr(ctx):
    """SGD at half the baseline LR."""
    return Strategy("half-lr", "sgd", Constant(0.025), batch_size=ctx.batch_size)


class Signum(torch.optim.SGD):
    """SGD under another name, registered by its class."""


ENTRY = OptimizerEntry(torch.optim.SGD, momentum_key="momentum")
'''

_ENTRY_POINTS = """
[lrkit.tasks]
plugin-task = lrkit_test_plugin:tiny_task

[lrkit.strategies]
half-lr = lrkit_test_plugin:half_lr

[lrkit.optimizers]
plugin-signum = lrkit_test_plugin:Signum
plugin-entry = lrkit_test_plugin:ENTRY
"""


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    """Install a test distribution with lrkit entry points on sys.path; undo it after."""
    (tmp_path / "lrkit_test_plugin.py").write_text(_PLUGIN)
    info = tmp_path / "lrkit_test_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lrkit-test-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(_ENTRY_POINTS))
    monkeypatch.syspath_prepend(str(tmp_path))
    for registry in (TASKS, STRATEGIES, OPTIMIZERS):
        registry.help()  # the built-ins first
        monkeypatch.setattr(registry, "_entries", dict(registry._entries))
        monkeypatch.setattr(registry, "_plugins_loaded", False)
    yield
    monkeypatch.delitem(__import__("sys").modules, "lrkit_test_plugin", raising=False)


def test_entry_points_add_tasks_strategies_and_optimizers(plugin):
    assert TASKS.help()["plugin-task"] == "digits, as a plug-in task."
    assert get_task("plugin-task").train_size == 72  # 80 train+val, 8 held out as val
    strategy = get_strategy("half-lr", StrategyContext(epochs=1, batch_size=16))
    assert strategy.lr == Constant(0.025) and strategy.batch_size == 16
    signum = optimizer_entry("plugin-signum")
    assert signum.momentum_key == "momentum" and not signum.train_eval
    assert optimizer_entry("plugin-entry").build is torch.optim.SGD
    opt = make_optimizer("plugin-signum", [torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    assert type(opt).__name__ == "Signum"


def test_a_broken_plugin_raises_naming_its_entry_point(plugin, tmp_path):
    info = tmp_path / "lrkit_test_plugin-0.1.dist-info" / "entry_points.txt"
    info.write_text("[lrkit.tasks]\nbroken = lrkit_test_plugin:no_such_function\n")
    with pytest.raises(ImportError, match=r"task plug-in 'broken'.*failed to load"):
        TASKS.help()


@pytest.mark.parametrize("name", sorted(_LRFREE))
def test_each_lr_free_optimizer_runs_the_range_test(name):
    pytest.importorskip(_LRFREE[name][0])
    from lrkit.experiments._lr_finder import finder_strategy, task_range_test

    task = get_task("digits", num_samples=200)
    # Schedule-Free refuses a step outside train mode: the lab calls optimizer.train() first
    result = task_range_test(task, finder_strategy(name, 32), num_steps=12)
    assert len(result.lrs) >= 2 and np.all(np.isfinite(result.losses[:2]))
