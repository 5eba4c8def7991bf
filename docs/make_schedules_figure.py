"""Draw the seed's schedules side by side into ``docs/img/schedules.png``, and the WSD
cooldown shapes into ``docs/img/wsd_cooldowns.png``.

Run from the repository root: ``python docs/make_schedules_figure.py``. It is the
same as these command lines (also printed by the script)::

    lrkit schedule "constant=constant(lr=0.1)" ... --steps 1000 --grid \\
        --plot docs/img/schedules.png
    lrkit schedule "linear=wsd(lr=0.1, total_steps=1000, ...)" ... --steps 1100 \\
        --plot docs/img/wsd_cooldowns.png
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


WSD_STEPS = 1100
WSD = (
    "wsd(lr=0.1, total_steps=1000, warmup_steps=50, decay_steps=250, end_lr={end}, "
    "decay_shape={shape!r})"
)
# "exp" is geometric and cannot reach 0: it cools down to 1% of the peak.
WSD_SHAPES = {
    shape: WSD.format(end=0.001 if shape == "exp" else 0.0, shape=shape)
    for shape in ("linear", "cosine", "1-sqrt", "square", "exp")
}


def wsd_figure() -> int:
    out = Path(__file__).resolve().parent / "img" / "wsd_cooldowns.png"
    specs = [f"{label}={spec}" for label, spec in WSD_SHAPES.items()]
    args = ["schedule", *specs, "--steps", str(WSD_STEPS), "--plot", str(out)]
    print("lrkit " + " ".join(shlex.quote(a) for a in args[:-1]) + " docs/img/wsd_cooldowns.png")
    return main(args)


def main_figure() -> int:
    out = Path(__file__).resolve().parent / "img" / "schedules.png"
    specs = [f"{label}={spec}" for label, spec in SCHEDULES.items()]
    args = ["schedule", *specs, "--steps", str(STEPS), "--grid", "--plot", str(out)]
    print("lrkit " + " ".join(shlex.quote(a) for a in args[:-1]) + " docs/img/schedules.png")
    return main(args)


if __name__ == "__main__":
    sys.exit(main_figure() or wsd_figure())
