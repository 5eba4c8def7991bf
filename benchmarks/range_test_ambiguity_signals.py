"""Which curve signal tells an ambiguous range test apart? (exploratory, from the cache)

Reads the finder zoo's sweeps and constant-LR grids from the quality benchmark's cache
(``benchmarks/range_test_quality.py --cache FILE``; nothing is trained), reads every
sweep with lrkit's shipped rule (ambiguity off), and cross-validates, leaving one family
out, a threshold for each candidate signal: flag the sweep when the signal says so;
the threshold minimises the mean of the regret of a confident sweep and 3 points for a
flagged one. Prints one line per signal (docs/range_test.md quotes them).

Usage: python benchmarks/range_test_ambiguity_signals.py --cache FILE
"""

from __future__ import annotations

import argparse
import itertools
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import range_test_quality as q
from _loto import argmin_mean, leave_one_group_out
from _zoo_trials import Cache
from lrkit.experiments.tasks._zoo import ZOO


def features(datas: list[q.CaseData]) -> list[dict[str, Any]]:
    rows = []
    for d in datas:
        results = [
            q.analyze(lrs, losses, num_steps=q.SWEEP["num_steps"], ambiguous_drop=0.0)
            for lrs, losses in d.sweeps
        ]
        xs = [math.log10(r.suggestion) for r in results if r.suggestion]
        spread = float(np.std(xs)) if len(xs) > 1 else math.nan
        for r in results:
            if r.suggestion is None:
                continue
            x, f = np.log10(r.lrs), r.smoothed
            ok = np.isfinite(f)
            x, f = x[ok], f[ok]
            end = len(f) if r.edge is None else int(np.searchsorted(x, math.log10(r.edge))) + 1
            i_min = int(np.argmin(f[:end]))
            drop = float(np.max(f[: i_min + 1]) - f[i_min])
            after = f[(x > x[i_min]) & (x <= x[i_min] + 0.5)]
            rows.append(
                {
                    "family": d.case.family,
                    "regret": d.regret("constant", r.suggestion)[0],
                    "fell": drop / float(np.max(np.abs(f[: i_min + 1]))),
                    "verdict": r.verdict.value,
                    "cliff": float((after.max() - f[i_min]) / max(drop, 1e-12))
                    if after.size
                    else math.nan,
                    "spread": spread,
                }
            )
    return rows


def judge(
    rows: list[dict[str, Any]],
    name: str,
    candidates: Sequence[Any],
    flag: Callable[[Any, dict[str, Any]], bool],
) -> str:
    def cost(p: Any, i: int) -> float:
        return q.BAD if flag(p, rows[i]) else rows[i]["regret"]

    folds = leave_one_group_out(
        [r["family"] for r in rows], lambda train: argmin_mean(candidates, train, cost)
    )
    flagged = {i: flag(p, rows[i]) for p, held in folds.values() for i in held}
    sure = np.array([rows[i]["regret"] for i in flagged if not flagged[i]] or [math.nan])
    bad = [i for i in flagged if rows[i]["regret"] > q.BAD]
    good = [i for i in flagged if rows[i]["regret"] <= q.BAD]
    mean_cost = np.mean([q.BAD if flagged[i] else rows[i]["regret"] for i in flagged])
    return (
        f"{name}: confident {int(np.sum(~np.isnan(sure)))}, worst {np.nanmax(sure):.1f}, "
        f"median {np.nanmedian(sure):.2f}; bad flagged {sum(flagged[i] for i in bad)}/"
        f"{len(bad)}, good flagged {sum(flagged[i] for i in good)}/{len(good)}; "
        f"cost {mean_cost:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, required=True, help="the quality benchmark's cache")
    args = parser.parse_args()
    cases = [q.Case(t.name, o) for t in ZOO for o in q.OPTIMIZERS]
    rows = features(q.load(Cache(args.cache).data, cases))
    fell = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5]
    cliffs = [1.0, 2.0, 3.0, 5.0, 8.0, math.inf]
    spreads = [0.1, 0.15, 0.2, 0.25, 0.3, math.inf]
    signals: list[tuple[str, Sequence[Any], Callable[[Any, dict[str, Any]], bool]]] = [
        ("fell < t", fell, lambda p, r: r["fell"] < p),
        ("verdict is not descent", [None], lambda p, r: r["verdict"] != "descent"),
        ("cliff > c", cliffs[:-1], lambda p, r: not r["cliff"] <= p),
        ("seed spread > s", spreads[:-1], lambda p, r: r["spread"] > p),
        (
            "fell < t or cliff > c",
            list(itertools.product(fell, cliffs)),
            lambda p, r: r["fell"] < p[0] or not r["cliff"] <= p[1],
        ),
        (
            "fell < t or seed spread > s",
            list(itertools.product(fell, spreads)),
            lambda p, r: r["fell"] < p[0] or r["spread"] > p[1],
        ),
        (
            "fell < t or not descent",
            fell,
            lambda p, r: r["fell"] < p or r["verdict"] != "descent",
        ),
    ]
    for name, candidates, flag in signals:
        print(judge(rows, name, candidates, flag))


if __name__ == "__main__":
    main()
