"""Draw the seed's schedules side by side into ``docs/img/schedules.png``.

Run from the repository root: ``python docs/make_schedules_figure.py``. It is the
same as this command line (also printed by the script)::

    lrkit schedule "constant=constant(lr=0.1)" ... --steps 1000 --grid \\
        --plot docs/img/schedules.png
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from lrkit.cli import main

STEPS = 1000
SCHEDULES = {
    "constant": "constant(lr=0.1)",
    "time-based": "inverse_time(lr=0.1, decay_rate=0.01)",
    "exponential": "exponential(lr=0.1, decay_rate=0.01, decay_steps=1000)",
    "step": "step(lr=0.1, step_size=250, gamma=0.3)",
    "cyclic": "cyclic(base_lr=0.01, max_lr=0.1, step_size=125)",
    "one-cycle": "one_cycle(max_lr=0.1, total_steps=1000)",
    "cosine with warm-up": "warmup(cosine(lr=0.1, total_steps=900), warmup_steps=100)",
}


def main_figure() -> int:
    out = Path(__file__).resolve().parent / "img" / "schedules.png"
    specs = [f"{label}={spec}" for label, spec in SCHEDULES.items()]
    args = ["schedule", *specs, "--steps", str(STEPS), "--grid", "--plot", str(out)]
    print("lrkit " + " ".join(shlex.quote(a) for a in args[:-1]) + " docs/img/schedules.png")
    return main(args)


if __name__ == "__main__":
    sys.exit(main_figure())
