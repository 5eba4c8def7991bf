"""Probe smith2018's higher-momentum collapse and the paper's base LR 0.1 (issue 13).

Usage: ``python benchmarks/smith2018_momentum_probe.py BASE_LR SEEDS OUT``, e.g.
``0.05 2 runs/probe005`` (the seed where momentum 0.98 at 5x collapsed) and
``0.1 0 runs/probe01``. Rows: the 5x higher-momentum row as is, with a 5-epoch
linear warm-up (Goyal et al. 2017), and with a 2x factor; at base LR 0.1 the 2x
higher-momentum row and higher-lr-batch with and without the warm-up (seed list
cut to its first seed). Prints the final test accuracy per row and seed; the
numbers are quoted in smith2018's report (Choices).
"""

import sys
from dataclasses import replace

from lrkit.batch_size import higher_lr_batch, higher_momentum
from lrkit.experiments._batch_strategies import milestones
from lrkit.experiments._compare import plan_compare, run_compare
from lrkit.experiments._smith2018 import _sgd
from lrkit.experiments._tasks import get_task
from lrkit.schedules import Constant, Join, MultiStepDecay, Shift, Warmup


def warm(plan_lr, w, lr0):
    return Join(
        [Warmup(Constant(lr0), warmup_steps=w, start_lr=0.0), Shift(plan_lr, w)], boundaries=[w]
    )


base_lr = float(sys.argv[1])
seeds = [int(s) for s in sys.argv[2].split(",")]
out = sys.argv[3]
task = get_task("mnist1d", num_samples=40_000)
n = task.train_size
cap = n // 10
E = 50
ref = MultiStepDecay(lr=base_lr, milestones=milestones(E), gamma=0.2)
strats = []
hm = higher_momentum(ref, 128, cap, 0.9, 0.98, factor=5)
strats.append(_sgd("hm", hm, ref, 128, "as is"))
strats.append(
    _sgd(
        "hm-warmup5", replace(hm, lr=warm(hm.lr, 5.0, hm.lr(0))), ref, 128, "5-epoch linear warm-up"
    )
)
hm2 = higher_momentum(ref, 128, cap, 0.9, 0.98, factor=2)
strats.append(_sgd("hm-factor2", hm2, ref, 128, "factor 2"))
if base_lr > 0.05:
    seeds = seeds[:1]
    strats = [strats[2]]
    hl = higher_lr_batch(ref, 128, cap, 5, momentum=0.9)
    strats.append(_sgd("hlb", hl, ref, 128, "higher lr batch"))
    strats.append(_sgd("hlb-warmup5", replace(hl, lr=warm(hl.lr, 5.0, hl.lr(0))), ref, 128, "warm"))
plan = plan_compare(
    task, strats, epochs=E, seeds=seeds, out=out, overwrite=True, batch_size=128, lr=base_lr
)
res = run_compare(plan, out)
for r in res:
    accs = [round(100 * row["test_acc"], 1) for row in r.rows]
    print(
        r.strategy,
        r.seed,
        "final %.2f" % (100 * r.final["test_acc"]),
        "ep1-5",
        accs[:5],
        flush=True,
    )
