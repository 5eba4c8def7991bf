"""`import lrkit` needs numpy only: torch and matplotlib load only when asked for."""

from __future__ import annotations

import subprocess
import sys


def test_import_lrkit_loads_neither_torch_nor_matplotlib():
    code = (
        "import sys, lrkit, lrkit.schedules, lrkit.cli\n"
        "lrkit.cli.build_parser()\n"
        "import lrkit.batch_size\n"
        "heavy = ('torch', 'matplotlib', 'keras', 'jax', 'optax', 'transformers')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_ray_loads_only_for_the_ray_backend():
    code = (
        "import sys, lrkit, lrkit.experiments, lrkit.cli\n"
        "from lrkit.experiments._executors import make_executor\n"
        "from lrkit.cli._progress import ProgressReporter\n"
        "lrkit.cli.build_parser()\n"
        "with make_executor('processes', jobs=2) as ex:\n"
        "    pass\n"
        "make_executor('ray', jobs=2)\n"  # built, not started: ray loads on map
        "print(sorted(m for m in ('ray', 'torch', 'tqdm') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
