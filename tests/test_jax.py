"""lrkit.jax.as_optax: jitted, inside optax, equal to the numpy schedule at integer steps.

Everything that imports jax runs in a child process (see tests/_isolated.py).
"""

from __future__ import annotations

import numpy as np

import reference as ref
from _isolated import require, run

CHECKS = r"""
import doctest, json
import jax, jax.numpy as jnp, numpy as np, optax
import lrkit.jax
from lrkit.jax import as_optax
from lrkit.schedules import (
    Constant, CosineDecay, InverseSqrt, OneCycle, Warmup, WarmupStableDecay, cooldown,
)

out = {"exports": lrkit.jax.__all__}
schedules = {
    "wsd": WarmupStableDecay(3e-4, 2000, 100, decay_fraction=0.2, decay_shape="1-sqrt"),
    "warmup_cosine": Warmup(CosineDecay(1e-3, 1500, 1e-5), 200),
    "one_cycle": OneCycle(0.1, 1000),
    "cooldown": cooldown(Constant(1e-3), 700, 300, "square"),
}
steps = np.arange(2500)
for name, schedule in schedules.items():
    fn = jax.jit(as_optax(schedule))
    expected = schedule(steps).astype(np.float32)
    assert np.array_equal(np.asarray(fn(jnp.asarray(steps))), expected), name
    one_by_one = np.float32([float(fn(jnp.int32(k))) for k in range(0, 2500, 97)])
    assert np.array_equal(one_by_one, expected[::97]), name

# optax under jit: plain SGD on a gradient of 1 moves by -lr at every step
tx = optax.inject_hyperparams(optax.sgd)(learning_rate=as_optax(schedules["wsd"]))
params = jnp.zeros(())
state = tx.init(params)

@jax.jit
def step(params, state):
    updates, state = tx.update(jnp.ones(()), state, params)
    return optax.apply_updates(params, updates), state, updates

moves = []
for _ in range(2100):
    params, state, updates = step(params, state)
    moves.append(-float(updates))
out["moves"] = moves

try:
    as_optax(InverseSqrt(1e-3, 100))
    out["never_ending"] = "accepted"
except ValueError as exc:
    out["never_ending"] = str(exc)
out["held"] = float(as_optax(InverseSqrt(1e-3, 100), steps=10_000)(20_000))
out["doctest"] = doctest.testmod(lrkit.jax).failed
print(json.dumps(out))
"""


def test_as_optax_under_jit_and_in_optax() -> None:
    require("jax", "optax")
    out = run(CHECKS)
    assert out["exports"] == ["as_optax"]
    wsd = ref.wsd(3e-4, 2000, 100, 400, 0.0, 0.0, "linear", "1-sqrt")
    expected = np.array([wsd(k) for k in range(2100)], dtype=np.float32)
    np.testing.assert_allclose(out["moves"], expected, rtol=1e-6, atol=1e-12)
    assert "give steps=" in out["never_ending"]
    assert out["held"] == np.float32(1e-3 * np.sqrt(100 / 9_999))
    assert out["doctest"] == 0
