"""lrkit.jax.as_optax: jitted, inside optax, equal to the numpy schedule at integer steps."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")
import jax.numpy as jnp  # noqa: E402

import reference as ref  # noqa: E402
from lrkit.jax import as_optax  # noqa: E402
from lrkit.schedules import (  # noqa: E402
    Constant,
    CosineDecay,
    InverseSqrt,
    OneCycle,
    Warmup,
    WarmupStableDecay,
    cooldown,
)

SCHEDULES = {
    "wsd": WarmupStableDecay(
        3e-4, 2000, warmup_steps=100, decay_fraction=0.2, decay_shape="1-sqrt"
    ),
    "warmup_cosine": Warmup(CosineDecay(1e-3, 1500, 1e-5), 200),
    "one_cycle": OneCycle(0.1, 1000),
    "cooldown": cooldown(Constant(1e-3), 700, 300, "square"),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_jitted_values_equal_the_numpy_schedule_to_float32(name: str) -> None:
    schedule = SCHEDULES[name]
    fn = jax.jit(as_optax(schedule))
    steps = np.arange(2500)
    expected = schedule(steps).astype(np.float32)
    np.testing.assert_array_equal(np.asarray(fn(jnp.asarray(steps))), expected)
    one_by_one = [float(fn(jnp.int32(k))) for k in range(0, 2500, 97)]
    np.testing.assert_array_equal(np.float32(one_by_one), expected[::97])


def test_optax_follows_it_under_jit() -> None:
    schedule = SCHEDULES["wsd"]
    tx = optax.inject_hyperparams(optax.sgd)(learning_rate=as_optax(schedule))
    params = jnp.zeros(())
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        updates, state = tx.update(jnp.ones(()), state, params)  # the gradient is 1
        return optax.apply_updates(params, updates), state, updates

    moves = []
    for _ in range(2100):
        params, state, updates = step(params, state)
        moves.append(-float(updates))  # plain SGD: the update is -lr * 1
    wsd = ref.wsd(3e-4, 2000, 100, 400, 0.0, 0.0, "linear", "1-sqrt")
    expected = np.array([wsd(k) for k in range(2100)])
    np.testing.assert_allclose(moves, expected.astype(np.float32), rtol=1e-6, atol=1e-12)


def test_a_never_ending_schedule_needs_steps() -> None:
    with pytest.raises(ValueError, match="give steps="):
        as_optax(InverseSqrt(1e-3, 100))
    fn = as_optax(InverseSqrt(1e-3, 100), steps=10_000)
    assert float(fn(20_000)) == pytest.approx(1e-3 * np.sqrt(100 / 9_999), rel=1e-6)
