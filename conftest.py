"""Settings every pytest run needs before any test or doctest module is imported."""

from __future__ import annotations

import os

# Keras reads its backend once, when first imported; lrkit's Keras adapter is tested on the
# torch backend (no TensorFlow here). A backend the caller set is kept.
os.environ.setdefault("KERAS_BACKEND", "torch")

# Importing keras (any backend: it imports jax when installed) or jax starts JAX's threads and
# an at-fork hook that warns, so every later fork of a DataLoader worker in this process would
# fail under warnings-as-errors. These modules' doctests run in a child process instead
# (tests/test_keras.py, tests/test_jax.py), and no test imports them in this process.
collect_ignore = ["src/lrkit/keras.py", "src/lrkit/jax.py"]
