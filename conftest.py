"""Settings every pytest run needs before any test or doctest module is imported."""

from __future__ import annotations

import os

# Keras reads its backend once, when first imported; lrkit's Keras adapter is tested on the
# torch backend (no TensorFlow here). A backend the caller set is kept.
os.environ.setdefault("KERAS_BACKEND", "torch")
