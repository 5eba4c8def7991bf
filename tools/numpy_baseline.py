"""Run a command with numpy's run-time SIMD dispatch limited to its baseline.

numpy picks SIMD kernels for ``power``, ``exp``, ``log``, ``cos``... when it is
imported, from the features the CPU reports, so the last bit of such a result can
differ between two machines. This script sets ``NPY_DISABLE_CPU_FEATURES`` to every
dispatchable feature that this machine has (those numpy would otherwise use), checks
in a fresh interpreter that numpy really turned them off, then runs the command
under that environment: what would pass here but fail on a CPU without AVX-512
(or without AVX2, or on an aarch64 without the extensions numpy dispatches to)
fails here too. Usage::

    python tools/numpy_baseline.py python -m pytest -q tests/schedules

Features that the CPU lacks are left out of the variable (numpy 1.20-1.24 warn
about them, and pytest turns that warning into an error). A numpy too old for the
variable (< 1.20, or one built without dispatch) cannot be limited: the script then
says so on stderr and runs the command unchanged, so that ``make test`` still passes
(the pass then checks nothing more than the first one).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

_PROBE = """
import json
import numpy
try:
    from numpy._core import _multiarray_umath as m
except ImportError:  # numpy < 2
    from numpy.core import _multiarray_umath as m
print(json.dumps({
    "version": numpy.__version__,
    "dispatch": list(getattr(m, "__cpu_dispatch__", [])),
    "features": {k: bool(v) for k, v in getattr(m, "__cpu_features__", {}).items()},
}))
"""


def _probe(env: dict[str, str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE], env=env, check=True, capture_output=True, text=True
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


def baseline_env() -> tuple[dict[str, str], str]:
    """The environment that limits numpy to its baseline, and a line saying what it does."""
    env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    native = _probe(env)
    dispatch = native["dispatch"]
    features = native["features"]
    assert isinstance(dispatch, list) and isinstance(features, dict)
    present = [name for name in dispatch if features.get(name)]
    if not present:
        return env, (
            f"numpy {native['version']} dispatches to no SIMD extension on this CPU "
            "(or cannot be limited): the baseline pass runs the native kernels"
        )
    env["NPY_DISABLE_CPU_FEATURES"] = " ".join(present)
    limited = _probe(env)["features"]
    assert isinstance(limited, dict)
    still_on = [name for name in present if limited.get(name)]
    if still_on:
        return env, (
            f"WARNING: numpy {native['version']} ignored NPY_DISABLE_CPU_FEATURES "
            f"({' '.join(still_on)} still enabled): the baseline pass runs the native kernels"
        )
    return env, (
        f"numpy {native['version']} limited to its baseline: "
        f"NPY_DISABLE_CPU_FEATURES={env['NPY_DISABLE_CPU_FEATURES']!r}"
    )


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    env, note = baseline_env()
    print(note, file=sys.stderr, flush=True)
    return subprocess.call(argv, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
