"""lrkit.keras.LearningRateSchedule: a real Keras 3 fit on the torch backend follows it."""

from __future__ import annotations

import numpy as np

import reference as ref
from _isolated import require, run

# The fit runs in a child process, so the backend is chosen before keras is imported there and
# this process is left as it was.
FIT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "torch"
import keras, numpy as np
from lrkit.keras import LearningRateSchedule
from lrkit.schedules import parse

schedule = LearningRateSchedule(parse(sys.argv[1]))
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
model.layers[0].kernel.assign(np.zeros((1, 1), dtype="float32"))
opt = keras.optimizers.SGD(learning_rate=schedule)
# loss = mean(prediction) on inputs of 1: the kernel's gradient is 1, so each update moves it by -lr
model.compile(optimizer=opt, loss=lambda y, p: keras.ops.mean(p))
lrs, kernels = [], []

class Record(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        lrs.append(float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)))
    def on_train_batch_end(self, batch, logs=None):
        kernels.append(float(keras.ops.convert_to_numpy(self.model.layers[0].kernel)[0, 0]))

x = np.ones((int(sys.argv[2]), 1), dtype="float32")
model.fit(x, x, batch_size=1, epochs=1, shuffle=False, verbose=0, callbacks=[Record()])
config = keras.optimizers.schedules.serialize(schedule)
again = keras.optimizers.schedules.deserialize(json.loads(json.dumps(config)))
import doctest
import lrkit.keras

def value(s, step):
    return float(keras.ops.convert_to_numpy(s(step)))

from lrkit.schedules import InverseSqrt, WarmupStableDecay
try:
    LearningRateSchedule(InverseSqrt(0.1, 100))
    never_ending = "accepted"
except ValueError as exc:
    never_ending = str(exc)
print(json.dumps({
    "exports": lrkit.keras.__all__,
    "doctest": doctest.testmod(lrkit.keras).failed,
    "never_ending": never_ending,
    "held": value(LearningRateSchedule(InverseSqrt(0.1, 100), steps=1000), 5000),
    "end": value(LearningRateSchedule(WarmupStableDecay(0.1, 100, decay_steps=10)), 10**6),
    "from_config": LearningRateSchedule.from_config(
        json.loads(json.dumps(schedule.get_config()))
    ).schedule == schedule.schedule,
    "backend": keras.backend.backend(),
    "lrs": lrs,
    "kernels": kernels,
    "iterations": int(keras.ops.convert_to_numpy(opt.iterations)),
    "round_trip": again.schedule == schedule.schedule
    and again.get_config() == schedule.get_config(),
}))
"""

SPEC = "wsd(lr=0.1, total_steps=120, warmup_steps=20, decay_steps=40, decay_shape='1-sqrt')"


def test_a_keras_fit_on_torch_follows_the_schedule_at_every_step() -> None:
    require("keras")
    steps = 150
    result = run(FIT, SPEC, str(steps), backend="torch")
    assert result["backend"] == "torch" and result["iterations"] == steps
    wsd = ref.wsd(0.1, 120, 20, 40, 0.0, 0.0, "linear", "1-sqrt")
    expected = np.array([wsd(k) for k in range(steps)])
    # the rate Keras reports before each update is the schedule at that step, to float32
    np.testing.assert_array_equal(
        np.array(result["lrs"], dtype=np.float32), expected.astype(np.float32)
    )
    # and it is the rate the update used: the kernel moved by -lr at every step
    moves = -np.diff(np.concatenate([[0.0], result["kernels"]]))
    np.testing.assert_allclose(moves, expected, rtol=1e-5, atol=3e-6)  # float32 kernel near 10
    assert result["round_trip"] and result["from_config"]
    assert result["exports"] == ["LearningRateSchedule"] and result["doctest"] == 0
    assert "never stops changing: give steps=" in result["never_ending"]
    assert result["held"] == np.float32(0.1 * np.sqrt(100 / 999))
    assert result["end"] == 0.0


# The same schedule under XLA: the JAX backend with jit_compile=True traces __call__, so the
# lookup must be pure keras.ops. One sample per epoch: the JAX trainer syncs the weights to
# the callbacks at each epoch's end.
FIT_JIT = r"""
import json, os, sys
os.environ["KERAS_BACKEND"] = "jax"
import keras, numpy as np
from lrkit.keras import LearningRateSchedule
from lrkit.schedules import parse

model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, use_bias=False)])
model.layers[0].kernel.assign(np.zeros((1, 1), dtype="float32"))
opt = keras.optimizers.SGD(learning_rate=LearningRateSchedule(parse(sys.argv[1])))
model.compile(optimizer=opt, loss=lambda y, p: keras.ops.mean(p), jit_compile=True)
kernels = []

class Record(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        kernels.append(float(keras.ops.convert_to_numpy(self.model.layers[0].kernel)[0, 0]))

x = np.ones((1, 1), dtype="float32")
model.fit(x, x, batch_size=1, epochs=int(sys.argv[2]), verbose=0, callbacks=[Record()])
print(json.dumps({"backend": keras.backend.backend(), "kernels": kernels}))
"""


def test_a_jit_compiled_fit_on_jax_follows_the_schedule_at_every_step() -> None:
    require("keras", "jax")
    spec = "wsd(lr=0.1, total_steps=40, warmup_steps=5, decay_steps=20, decay_shape='1-sqrt')"
    steps = 50
    result = run(FIT_JIT, spec, str(steps), backend="jax")
    assert result["backend"] == "jax"
    wsd = ref.wsd(0.1, 40, 5, 20, 0.0, 0.0, "linear", "1-sqrt")
    expected = [wsd(k) for k in range(steps)]
    moves = -np.diff(np.concatenate([[0.0], result["kernels"]]))
    np.testing.assert_allclose(moves, expected, rtol=1e-5, atol=1e-6)
