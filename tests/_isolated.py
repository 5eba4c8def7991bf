"""Run a script in a child Python, for libraries that must stay out of the test process.

keras and jax start threads and an at-fork hook when imported; in the pytest process that
would break every later test that forks DataLoader workers.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def require(*modules: str) -> None:
    """Skip unless every module is installed, without importing any of them here."""
    for name in modules:
        if importlib.util.find_spec(name) is None:
            pytest.skip(f"{name} is not installed")


def run(script: str, *args: str, backend: str = "torch", timeout: float = 300) -> Any:
    """Run ``script`` with ``args``; return the JSON its last stdout line holds."""
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).parent,
        timeout=timeout,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])
