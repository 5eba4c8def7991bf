"""Tasks: offline, deterministic generation; global RNG untouched; exact label noise."""

from __future__ import annotations

import random
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("mnist1d")

from lrkit.experiments import Task, get_task, registered_tasks, with_label_noise  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "lrkit"


def _labels(dataset) -> np.ndarray:
    return dataset.tensors[1].numpy()


def test_mnist1d_is_generated_offline_cached_and_leaves_global_rng_alone(cache, monkeypatch):
    import mnist1d.data

    def no_download(*args, **kwargs):
        raise AssertionError("get_dataset downloads; it must never be called")

    monkeypatch.setattr(mnist1d.data, "get_dataset", no_download)
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    np_before, py_before = np.random.get_state(), random.getstate()  # noqa: NPY002
    first = get_task("mnist1d", num_samples=200)
    np_after = np.random.get_state()  # noqa: NPY002
    assert np_after[0] == np_before[0] and np.array_equal(np_after[1], np_before[1])
    assert np_after[2:] == np_before[2:]
    assert random.getstate() == py_before
    assert [p.name for p in cache.iterdir()] == ["mnist1d-n200-seed42-v1.npz"]
    assert (first.train_size, len(first.val_set), len(first.test_set)) == (144, 16, 40)

    second = get_task("mnist1d", num_samples=200)  # from the cache
    for a, b in zip(first.train_set.tensors, second.train_set.tensors, strict=True):
        assert torch.equal(a, b)
    (cache / "mnist1d-n200-seed42-v1.npz").unlink()
    third = get_task("mnist1d", num_samples=200)  # regenerated: same data
    assert torch.equal(first.test_set.tensors[0], third.test_set.tensors[0])


def test_mnist1d_default_model_takes_a_batch(cache):
    task = get_task("mnist1d", num_samples=100)
    x, y = task.train_set[:8]
    out = task.model_fn()(x)
    assert out.shape == (8, 10)
    assert task.loss_fn(out, y).ndim == 0


@pytest.mark.parametrize("fraction", [0.2, 0.35])
def test_label_noise_replaces_an_exact_fraction_by_wrong_classes(fraction):
    clean = get_task("digits", num_samples=400)
    noisy = get_task("digits", num_samples=400, label_noise=fraction, seed=3)
    n = clean.train_size
    assert noisy.noisy is not None and noisy.noisy.dtype == bool
    assert noisy.noisy.sum() == round(fraction * n)
    changed = _labels(noisy.train_set) != _labels(clean.train_set)
    assert np.array_equal(changed, noisy.noisy)  # every noisy label is wrong, no other changed
    assert torch.equal(noisy.test_set.tensors[1], clean.test_set.tensors[1])
    assert torch.equal(noisy.train_set.tensors[0], clean.train_set.tensors[0])
    again = get_task("digits", num_samples=400, label_noise=fraction, seed=3)
    assert np.array_equal(again.noisy, noisy.noisy)
    other = get_task("digits", num_samples=400, label_noise=fraction, seed=4)
    assert not np.array_equal(other.noisy, noisy.noisy)


def test_label_noise_works_on_a_map_style_dataset():
    base = get_task("digits", num_samples=100)

    class Plain(torch.utils.data.Dataset):
        def __init__(self, inner):
            self.inner = inner

        def __len__(self):
            return len(self.inner)

        def __getitem__(self, i):
            return self.inner[i]

    import dataclasses

    task = dataclasses.replace(base, train_set=Plain(base.train_set))
    noisy = with_label_noise(task, 0.5, seed=0)
    labels = np.array([noisy.train_set[i][1] for i in range(len(noisy.train_set))])
    assert np.array_equal(labels != _labels(base.train_set), noisy.noisy)
    with pytest.raises(ValueError, match="already has label noise"):
        with_label_noise(noisy, 0.1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"label_noise": 1.0}, "label_noise must be in"),
        ({"label_noise": -0.1}, "label_noise must be in"),
        ({"num_samples": 3}, "num_samples must be an int >= 10"),
        ({"num_samples": 5000}, "num_samples must be <= 1797"),
    ],
)
def test_bad_task_arguments_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        get_task("digits", **kwargs)


def test_unknown_task_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown task 'mnist2d'; known: .*digits.*mnist1d"):
        get_task("mnist2d")
    assert {"digits", "mnist1d"} <= set(registered_tasks())


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    (tmp_path / "my_tasks.py").write_text(
        textwrap.dedent(
            """
            import torch
            from lrkit.experiments import Task

            def good():
                x = torch.randn(40, 3)
                y = (x[:, 0] > 0).long()
                ds = torch.utils.data.TensorDataset(x, y)
                return Task("mine", lambda: torch.nn.Linear(3, 2), ds, ds,
                            torch.nn.CrossEntropyLoss(), 2)

            def not_a_task():
                return 42

            def raises():
                raise RuntimeError("kaput")
            """
        )
    )
    (tmp_path / "broken_tasks.py").write_text("import not_a_real_module_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("my_tasks", "broken_tasks"):
        sys.modules.pop(name, None)


def test_user_task_by_path(user_module):
    task = get_task("my_tasks:good", label_noise=0.25)
    assert isinstance(task, Task) and task.name == "mine"
    assert task.noisy.sum() == 9  # 25% of the 36 left when 4 of 40 are held out as val


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("my_tasks:", "must look like 'package.module:function'"),
        ("my tasks:good", "must look like 'package.module:function'"),
        ("no_such_module_abc:make", "cannot import 'no_such_module_abc'"),
        ("broken_tasks:make", "cannot import 'broken_tasks': ModuleNotFoundError"),
        ("my_tasks:missing", "has no function 'missing'"),
        ("my_tasks:not_a_task", "must return lrkit.experiments.Task, got int"),
        ("my_tasks:raises", r"my_tasks:raises.*raises\(\) failed: RuntimeError: kaput"),
    ],
)
def test_user_task_errors_are_one_clear_line(user_module, spec, match):
    with pytest.raises(ValueError, match=match) as info:
        get_task(spec)
    assert "\n" not in str(info.value)


def test_task_validates_its_fields():
    ds = get_task("digits", num_samples=50).train_set
    with pytest.raises(ValueError, match="num_classes must be >= 2"):
        Task("t", lambda: None, ds, ds, lambda a, b: 0, 1)
    with pytest.raises(ValueError, match="noisy must be a bool array"):
        Task("t", lambda: None, ds, ds, lambda a, b: 0, 10, noisy=np.zeros(3, dtype=bool))
