"""The tiny-lm and diabetes builders: offline, deterministic, leak-free, and trainable."""

from __future__ import annotations

import math
import pickle
import re
import socket

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lrkit.experiments.tasks import _diabetes as diabetes  # noqa: E402
from lrkit.experiments.tasks import _tiny_lm as tiny_lm  # noqa: E402

SMALL_LM = {"train_sequences": 96, "val_sequences": 32, "test_sequences": 32}


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any attempt to resolve a name or open a connection is recorded and refused."""
    attempts: list[str] = []

    def refuse(name: str):
        def _refused(*args, **kwargs):
            attempts.append(name)
            raise OSError(f"network access attempted: {name}")

        return _refused

    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    return attempts


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


# -- tiny-lm --------------------------------------------------------------------------


def test_vocabulary_maps_known_characters_one_to_one_and_the_rest_to_one_id():
    expected = "\n" + "".join(chr(c) for c in range(32, 127))
    assert expected == tiny_lm.VOCAB
    assert tiny_lm.VOCAB_SIZE == 97
    ids = tiny_lm.encode(expected)
    assert ids.tolist() == list(range(1, 97))
    assert tiny_lm.decode(ids) == expected
    assert tiny_lm.encode("\té€😀").tolist() == [tiny_lm.UNKNOWN_ID] * 4


def test_generated_text_is_fixed_by_seed_and_length_and_stays_in_the_vocabulary():
    a = tiny_lm.generated_text(5000, seed=1)
    assert len(a) == 5000
    assert a == tiny_lm.generated_text(5000, seed=1)
    assert a != tiny_lm.generated_text(5000, seed=2)
    assert tiny_lm.generated_text(6000, seed=1).startswith(a)
    assert set(a) <= set(tiny_lm.VOCAB)
    # the arithmetic sentences are right: the model has something real to learn
    sums = re.findall(r"(\d+) plus (\d+) is (\d+)\.", a)
    assert len(sums) > 10
    assert all(int(x) + int(y) == int(total) for x, y, total in sums)


def test_tiny_lm_is_deterministic_in_data_and_initial_weights():
    a = tiny_lm.make_tiny_lm(seed=3, **SMALL_LM)
    b = tiny_lm.make_tiny_lm(seed=3, **SMALL_LM)
    c = tiny_lm.make_tiny_lm(seed=4, **SMALL_LM)
    for split in ("train_set", "val_set", "test_set"):
        for ta, tb in zip(getattr(a, split).tensors, getattr(b, split).tensors, strict=True):
            assert torch.equal(ta, tb)
    assert a.fingerprint == b.fingerprint != c.fingerprint
    assert not torch.equal(a.train_set.tensors[0], c.train_set.tensors[0])
    torch.manual_seed(7)
    m1 = a.model_fn()
    torch.manual_seed(7)
    m2 = b.model_fn()
    assert _same_weights(m1, m2)
    assert not _same_weights(m1, a.model_fn())  # the global stream moved on
    before = torch.get_rng_state()
    assert _same_weights(tiny_lm.tiny_lm_model(seed=5), tiny_lm.tiny_lm_model(seed=5))
    assert torch.equal(before, torch.get_rng_state())  # a seeded model leaves it alone


def test_tiny_lm_needs_no_network(no_network):
    parts = tiny_lm.make_tiny_lm(seed=0, **SMALL_LM)
    parts.model_fn()
    stdlib = tiny_lm.make_tiny_lm(seed=0, source="stdlib", **SMALL_LM)
    assert len(stdlib.train_set) == SMALL_LM["train_sequences"]
    assert no_network == []


def test_tiny_lm_shapes_and_shifted_targets():
    parts = tiny_lm.make_tiny_lm(seed=0, context=32, **SMALL_LM)
    assert (len(parts.train_set), len(parts.val_set), len(parts.test_set)) == (96, 32, 32)
    x, y = parts.train_set[0]
    assert x.dtype == y.dtype == torch.int64
    assert x.shape == y.shape == (32,)
    xs, ys = parts.train_set[:]
    assert torch.equal(xs[:, 1:], ys[:, :-1])
    logits = parts.model_fn()(xs[:5])
    assert logits.shape == (5, 32, tiny_lm.VOCAB_SIZE)
    # windows are the text itself: each window (plus its last target) is in the text
    block_len = 8 * 32 + 1
    blocks = sum(math.ceil(n / 8) for n in SMALL_LM.values())
    text = tiny_lm.generated_text(blocks * block_len, seed=0)
    assert parts.fingerprint == tiny_lm.text_fingerprint(text)
    for split in (parts.train_set, parts.val_set, parts.test_set):
        for i in (0, len(split) // 2, len(split) - 1):
            x, y = split[i]
            assert tiny_lm.decode(torch.cat([x, y[-1:]])) in text


def test_splits_are_disjoint_contiguous_blocks():
    # ids that are their own positions show exactly which characters each window took
    positions = np.arange(20_000)
    splits = tiny_lm._split_windows(positions, 16, (40, 12, 9), 4, seed=0)
    taken = []
    for (x, y), n in zip(splits, (40, 12, 9), strict=True):
        assert x.shape == y.shape == (n, 16)
        assert np.array_equal(x, x[:, :1] + np.arange(16))  # contiguous windows
        assert np.array_equal(y, x + 1)
        taken.append({int(v) for v in np.concatenate([x.ravel(), y[:, -1]])})
    assert not taken[0] & taken[1]
    assert not taken[0] & taken[2]
    assert not taken[1] & taken[2]
    # no block (4 * 16 + 1 characters) is shared either: the splits are whole blocks
    block_of = [{v // 65 for v in t} for t in taken]
    assert not block_of[0] & block_of[1] and not block_of[0] & block_of[2]
    assert not block_of[1] & block_of[2]
    with pytest.raises(ValueError, match="blocks"):
        tiny_lm._split_windows(np.arange(500), 16, (40, 12, 9), 4, seed=0)


def test_model_is_causal():
    model = tiny_lm.tiny_lm_model(context=16, seed=0).eval()
    x = torch.randint(0, tiny_lm.VOCAB_SIZE, (2, 16), generator=torch.Generator().manual_seed(0))
    changed = x.clone()
    changed[:, 9:] = (changed[:, 9:] + 1) % tiny_lm.VOCAB_SIZE
    with torch.no_grad():
        a, b = model(x), model(changed)
    torch.testing.assert_close(a[:, :9], b[:, :9])
    assert not torch.allclose(a[:, 9:], b[:, 9:])
    with pytest.raises(ValueError, match="context"):
        model(torch.zeros(1, 17, dtype=torch.long))


def test_model_survives_a_pickle_round_trip():
    model = tiny_lm.tiny_lm_model(context=8, seed=0)
    copy = pickle.loads(pickle.dumps(model))
    x = torch.arange(16).reshape(2, 8)
    torch.testing.assert_close(copy(x), model(x), rtol=0, atol=0)


def test_lm_loss_is_token_cross_entropy():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 5, 11, generator=g)
    targets = torch.randint(0, 11, (3, 5), generator=g)
    z = logits.double().numpy()
    log_softmax = z - np.log(np.exp(z).sum(-1, keepdims=True))
    expected = -np.mean(np.take_along_axis(log_softmax, targets.numpy()[..., None], -1))
    assert float(tiny_lm.lm_loss(logits, targets)) == pytest.approx(expected, rel=1e-5)
    with pytest.raises(ValueError, match="match"):
        tiny_lm.lm_loss(logits, targets[:, :4])


def test_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    class Uniform(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.zeros(*x.shape, tiny_lm.VOCAB_SIZE)

    parts = tiny_lm.make_tiny_lm(seed=0, **SMALL_LM)
    assert tiny_lm.perplexity(Uniform(), parts.val_set, batch_size=7) == pytest.approx(97, rel=1e-5)


def test_a_short_adamw_run_lowers_the_validation_perplexity():
    parts = tiny_lm.make_tiny_lm(seed=0, **SMALL_LM)
    torch.manual_seed(0)
    model = parts.model_fn()
    start = tiny_lm.perplexity(model, parts.val_set)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    x_all, y_all = parts.train_set[:]
    for step in range(40):
        rows = torch.arange(step * 16, step * 16 + 16) % len(x_all)
        loss = parts.loss_fn(model(x_all[rows]), y_all[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    end = tiny_lm.perplexity(model, parts.val_set)
    assert start > 60  # about the vocabulary size at initialisation
    assert end < 20


def test_stdlib_source_reads_the_named_modules_and_fingerprints_them():
    text = tiny_lm.stdlib_text()
    assert "def dedent(" in text  # textwrap comes first
    parts = tiny_lm.make_tiny_lm(seed=0, source="stdlib", **SMALL_LM)
    assert parts.fingerprint == tiny_lm.text_fingerprint(text)
    with pytest.raises(ValueError, match="sys"):
        tiny_lm.stdlib_text(["sys"])  # built in: no source file


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"source": "web"}, ValueError, "source"),
        ({"context": 0}, ValueError, "context"),
        ({"train_sequences": 2.0}, TypeError, "train_sequences"),
        ({"heads": 5}, ValueError, "heads"),
        ({"width": True}, TypeError, "width"),
    ],
)
def test_make_tiny_lm_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        tiny_lm.make_tiny_lm(**kwargs)


# -- diabetes -------------------------------------------------------------------------


def test_diabetes_is_deterministic_and_its_splits_partition_the_rows():
    from sklearn.datasets import load_diabetes

    a, b = diabetes.make_diabetes(seed=1), diabetes.make_diabetes(seed=1)
    c = diabetes.make_diabetes(seed=2)
    for split in ("train_set", "val_set", "test_set"):
        for ta, tb in zip(getattr(a, split).tensors, getattr(b, split).tensors, strict=True):
            assert torch.equal(ta, tb)
    assert not torch.equal(a.val_set.tensors[1], c.val_set.tensors[1])
    torch.manual_seed(3)
    m1 = a.model_fn()
    torch.manual_seed(3)
    assert _same_weights(m1, b.model_fn())
    before = torch.get_rng_state()
    assert _same_weights(diabetes.diabetes_mlp(seed=5), diabetes.diabetes_mlp(seed=5))
    assert not _same_weights(diabetes.diabetes_mlp(seed=5), diabetes.diabetes_mlp(seed=6))
    assert torch.equal(before, torch.get_rng_state())
    # undo the standardisation and find every row of the raw data exactly once
    _, raw_y = load_diabetes(return_X_y=True, scaled=False)
    ys = [s.tensors[1].double().numpy() * a.target_std + a.target_mean for s in
          (a.train_set, a.val_set, a.test_set)]  # fmt: skip
    assert [len(y) for y in ys] == [266, 88, 88]
    np.testing.assert_allclose(np.sort(np.concatenate(ys)), np.sort(raw_y), atol=1e-3)


def test_diabetes_standardises_with_train_statistics_only():
    from sklearn.datasets import load_diabetes

    parts = diabetes.make_diabetes(seed=0)
    x_train, y_train = parts.train_set[:]
    np.testing.assert_allclose(x_train.double().mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(x_train.double().std(0, correction=0), 1, atol=1e-5)
    assert abs(float(y_train.double().mean())) < 1e-5
    raw_x, raw_y = load_diabetes(return_X_y=True, scaled=False)
    order = np.random.default_rng([0, 442]).permutation(442)
    train = order[:266]
    assert parts.target_mean == pytest.approx(raw_y[train].mean())
    assert parts.target_std == pytest.approx(raw_y[train].std())
    x_val, _ = parts.val_set[:]
    expected = (raw_x[order[266:354]] - raw_x[train].mean(0)) / raw_x[train].std(0)
    np.testing.assert_allclose(x_val.double().numpy(), expected, atol=1e-5)


def test_diabetes_shapes_and_no_network(no_network):
    parts = diabetes.make_diabetes(seed=0)
    x, y = parts.train_set[0]
    assert x.shape == (10,) and y.shape == () and x.dtype == y.dtype == torch.float32
    out = parts.model_fn()(parts.train_set[:4][0])
    assert out.shape == (4,)
    assert no_network == []


def test_r2_matches_sklearn():
    from sklearn.metrics import r2_score

    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    for p in (y + rng.normal(scale=0.3, size=50), rng.normal(size=50), np.full(50, y.mean())):
        assert diabetes.r2(p, y) == pytest.approx(r2_score(y, p), abs=1e-12)
    assert diabetes.r2(torch.tensor(p)[:, None], torch.tensor(y)) == pytest.approx(r2_score(y, p))
    with pytest.raises(ValueError, match="constant"):
        diabetes.r2([1.0, 2.0], [3.0, 3.0])
    with pytest.raises(ValueError, match="match"):
        diabetes.r2([1.0, 2.0], [1.0, 2.0, 3.0])


def test_a_short_adam_run_reaches_a_modest_r2():
    from sklearn.metrics import r2_score

    parts = diabetes.make_diabetes(seed=0)
    torch.manual_seed(0)
    model = parts.model_fn()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = parts.train_set[:]
    g = torch.Generator().manual_seed(0)
    for _ in range(50):
        for rows in torch.randperm(len(x), generator=g).split(32):
            loss = parts.loss_fn(model(x[rows]), y[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    val = diabetes.evaluate_r2(model, parts.val_set, batch_size=10)
    with torch.no_grad():
        xv, yv = parts.val_set[:]
        assert val == pytest.approx(r2_score(yv.numpy(), model(xv).numpy()), abs=1e-6)
    assert val > 0.4
    assert diabetes.evaluate_r2(model, parts.test_set) > 0.25


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"val_fraction": 0.0}, ValueError, "val_fraction"),
        ({"test_fraction": "0.2"}, TypeError, "test_fraction"),
        ({"val_fraction": 0.5, "test_fraction": 0.49}, ValueError, "train rows"),
        ({"hidden": 0}, ValueError, "hidden"),
    ],
)
def test_make_diabetes_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        diabetes.make_diabetes(**kwargs)
