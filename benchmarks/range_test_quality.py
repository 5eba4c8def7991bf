"""How close do LR finders land to a grid search's best LR, on problems they were not tuned on?

The finder zoo (``lrkit.experiments.tasks._zoo``: 12 tasks, MLPs ReLU/tanh, 1-D and
2-D CNNs with and without BatchNorm, GRU, LSTM, a Transformer, a regression, tables,
two problems at two batch sizes) x {SGD with momentum 0.9, Adam} = 24 cases. For each:

1. two grid searches, 13 LRs a third of a decade apart x 3 training seeds, each run
   with the task's full budget: one at a constant LR, one with cosine decay to 0 from
   the LR (the schedule users train with); the grid-best LR maximises the mean test
   metric (accuracy, or 100 R^2 for the regression: "points" in both);
2. 5 range tests per case (fresh model and batch order per seed; 1e-7 to 10, 100
   steps) read by lrkit's rule, fastai's valley, Lightning's rule, and torch-lr-finder
   0.2.2 itself (its own run, ``plot(suggest_lr=True)``);
3. lrkit's validated mode (``validate=True``) for 3 seeds, racing 5 candidates with
   short runs of each grid's schedule (first rung 12% of the budget, eta 3). The
   cached races predate the ambiguity flag: on an ambiguous curve they raced the
   unwidened interval (a race now starts 0.75 decades below the suggestion).

The regret of a suggested LR is the grid-best mean minus the suggestion's, read off the
grid's per-seed curves by linear interpolation in log10(LR) (clamped at the grid's
ends), paired by training seed (± its standard error); each range test's own
suggestion is scored, and the case's regret is their mean (one range test is what a
user runs). Interpolation lets cross-validation score any constant without training.

Leave-one-family-out cross-validation: lrkit's constants (shift, edge margin, safety
for the constant-LR answer; peak shift and peak margin for the cosine peak) are chosen
to minimise the mean regret on every family but one and scored on that one (the two
batch sizes of one problem are one family). In-sample: chosen and scored on all.

Usage: python benchmarks/range_test_quality.py [--cache FILE] [--jobs N] [--tasks a,b]
       [--no-write]
"""

from __future__ import annotations

import argparse
import itertools
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _loto import argmin_mean, leave_one_group_out
from _report import command_line, machine_line, markdown_table, write_section
from _zoo_trials import GRIDS, SCHEDULES, SWEEP, Cache, Race, Sweep, Trial, run_specs
from lrkit.experiments.tasks._zoo import ZOO, zoo_task
from lrkit.range_test import analyze, lightning, peak_lr, valley
from lrkit.range_test._result import PEAK_MARGIN, PEAK_SHIFT
from lrkit.range_test._suggest import AMBIGUOUS_DROP, AMBIGUOUS_WIDTH, EDGE_MARGIN, SHIFT
from lrkit.torch._range_test import RACE_BACKOFF

OPTIMIZERS = ("sgd", "adam")
GRID_SEEDS = (0, 1, 2)
SWEEP_SEEDS = (0, 1, 2, 3, 4)
RACE_SEEDS = (0, 1, 2)
RACE_FRACTION = 0.12  # first rung of the race, as a fraction of the training budget
PEERS = ("torch-lr-finder", "fastai valley", "lightning")

# Constants cross-validated (the defaults are in the first position of each).
SHIFTS = (SHIFT, 0.0, 0.3, 0.6, 0.9)
EDGE_MARGINS = (EDGE_MARGIN, 0.6, 0.9, 1.5, 1.8)
SAFETIES = (0.7, 0.3, 0.5, 0.9, 1.1)
RACE_BACKOFFS = (RACE_BACKOFF, 0.0, 0.1, 0.2, 0.5)
PEAK_SHIFTS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)
PEAK_MARGINS = (0.0, 0.15, 0.3, 0.5, math.inf)
AMBIGUOUS_DROPS = (AMBIGUOUS_DROP, 0.05, 0.1, 0.2, 0.25, 0.3, 0.4)
AMBIGUOUS_WIDTHS = (AMBIGUOUS_WIDTH, 0.25, 0.5, 1.0, 1.25, 1.5)
BAD = 3.0  # a suggestion more than this many points below the grid's best is bad
COVERAGE = 0.9  # the widened interval should hold the grid-best LR this often


@dataclass(frozen=True)
class Case:
    task: str
    optimizer: str

    @property
    def name(self) -> str:
        return f"{self.task} / {self.optimizer}"

    @property
    def family(self) -> str:
        return zoo_task(self.task).family


def specs(cases: list[Case]) -> tuple[list[Any], list[Any]]:
    """The independent units of work: grid trials and sweeps, then races."""
    first: list[Any] = []
    races: list[Any] = []
    for c in cases:
        steps = max(1, round(RACE_FRACTION * zoo_task(c.task).total_steps()))
        first += [Sweep(c.task, c.optimizer, s) for s in SWEEP_SEEDS]
        for sched in SCHEDULES:
            first += [
                Trial(c.task, c.optimizer, sched, lr, s)
                for lr in GRIDS[c.optimizer]
                for s in GRID_SEEDS
            ]
            races += [Race(c.task, c.optimizer, sched, s, steps) for s in RACE_SEEDS]
    return first, races


# -- reading the results ------------------------------------------------------------


@dataclass
class CaseData:
    case: Case
    grid_lrs: np.ndarray  # (13,)
    scores: dict[str, np.ndarray]  # schedule -> (13, seeds)
    sweeps: list[tuple[np.ndarray, np.ndarray]]
    tlf: list[float | None]
    races: dict[str, list[dict[str, Any]]]
    grid_steps: int  # one grid (13 LRs x seeds x budget)

    def best(self, sched: str) -> int:
        return int(np.argmax(self.scores[sched].mean(axis=1)))

    def best_lr(self, sched: str) -> float:
        return float(self.grid_lrs[self.best(sched)])

    def regret(self, sched: str, lr: float) -> tuple[float, float]:
        """Interpolated regret (points) of ``lr`` and its paired standard error."""
        x = np.log10(self.grid_lrs)
        per_seed = self.scores[sched]
        at = np.array(
            [np.interp(math.log10(lr), x, per_seed[:, j]) for j in range(per_seed.shape[1])]
        )
        diff = per_seed[self.best(sched)] - at
        se = float(np.std(diff, ddof=1) / math.sqrt(len(diff))) if len(diff) > 1 else math.nan
        return float(diff.mean()), se


def load(cache: dict[str, Any], cases: list[Case]) -> list[CaseData]:
    out = []
    for c in cases:
        task = zoo_task(c.task)
        lrs = np.array(GRIDS[c.optimizer])
        scores = {
            sched: np.array(
                [
                    [cache[Trial(c.task, c.optimizer, sched, lr, s).key] for s in GRID_SEEDS]
                    for lr in lrs
                ]
            )
            for sched in SCHEDULES
        }
        sweeps, tlf = [], []
        for s in SWEEP_SEEDS:
            d = cache[Sweep(c.task, c.optimizer, s).key]
            sweeps.append((np.array(d["lrs"]), np.array([float(v) for v in d["losses"]])))
            tlf.append(d["tlf"])
        steps = max(1, round(RACE_FRACTION * task.total_steps()))
        races = {
            sched: [
                cache[k]
                for s in RACE_SEEDS
                if (k := Race(c.task, c.optimizer, sched, s, steps).key) in cache
            ]
            for sched in SCHEDULES
        }
        grid_steps = len(lrs) * len(GRID_SEEDS) * task.total_steps()
        out.append(CaseData(c, lrs, scores, sweeps, tlf, races, grid_steps))
    return out


# -- lrkit's rule with given constants -------------------------------------------------


@dataclass(frozen=True)
class Landmarks:
    """What lrkit's rule reads from one sweep, for one set of constants."""

    suggestion: float | None
    interval: tuple[float, float] | None
    edge: float | None


_RULE_CACHE: dict[tuple[int, int, float, float, float], Landmarks] = {}


def rule(
    data: CaseData, seed_index: int, shift: float, edge_margin: float, safety: float
) -> Landmarks:
    key = (id(data), seed_index, shift, edge_margin, safety)
    if key not in _RULE_CACHE:
        lrs, losses = data.sweeps[seed_index]
        r = analyze(
            lrs,
            losses,
            num_steps=SWEEP["num_steps"],
            safety=safety,
            shift=shift,
            edge_margin=edge_margin,
        )
        found = Landmarks(r.suggestion, r.interval, r.edge)
        _RULE_CACHE[key] = found
    return _RULE_CACHE[key]


Theta = tuple[float, float, float]  # shift, edge_margin, safety
Peak = tuple[float, float]  # peak shift, peak margin


def lrkit_lrs(data: CaseData, theta: Theta, peak: Peak | None) -> list[float | None]:
    """lrkit's suggestion per sweep: constant LR (``peak=None``) or the cosine peak."""
    out: list[float | None] = []
    for i in range(len(data.sweeps)):
        lm = rule(data, i, *theta)
        if lm.suggestion is None:
            out.append(None)
        elif peak is None:
            out.append(lm.suggestion)
        else:
            out.append(peak_lr(lm.suggestion, lm.edge, shift=peak[0], margin=peak[1]))
    return out


def mean_regret(data: CaseData, sched: str, lrs: list[float | None]) -> float:
    found = [data.regret(sched, lr)[0] for lr in lrs if lr is not None]
    # an unreliable sweep costs what the user would lose by falling back to a peer's
    # guess; for choosing constants count it as the case's median regret
    return float(np.mean(found)) if found else 50.0


def fit_theta(datas: list[CaseData], cases: list[int]) -> Theta:
    """The shift, edge margin and safety with the least mean constant-LR regret."""
    return argmin_mean(
        list(itertools.product(SHIFTS, EDGE_MARGINS, SAFETIES)),
        cases,
        lambda theta, i: mean_regret(datas[i], "constant", lrkit_lrs(datas[i], theta, None)),
    )


def fit_peak(datas: list[CaseData], cases: list[int], theta: Theta) -> Peak:
    """The peak shift and margin with the least mean cosine regret, given ``theta``."""
    return argmin_mean(
        list(itertools.product(PEAK_SHIFTS, PEAK_MARGINS)),
        cases,
        lambda peak, i: mean_regret(datas[i], "cosine", lrkit_lrs(datas[i], theta, peak)),
    )


def loto(datas: list[CaseData]) -> dict[str, Any]:
    """Leave-one-family-out: each family scored with constants fitted on the others."""

    def fit(cases: list[int]) -> tuple[Theta, Peak, float]:
        theta = fit_theta(datas, cases)
        return theta, fit_peak(datas, cases, theta), fit_backoff(datas, cases)

    folds = leave_one_group_out([d.case.family for d in datas], fit)
    out_const: dict[int, list[float | None]] = {}
    out_peak: dict[int, list[float | None]] = {}
    out_race: dict[tuple[int, str], list[float | None]] = {}
    for (theta, peak, backoff), held in folds.values():
        for i in held:
            out_const[id(datas[i])] = lrkit_lrs(datas[i], theta, None)
            out_peak[id(datas[i])] = lrkit_lrs(datas[i], theta, peak)
            for sched in SCHEDULES:
                out_race[id(datas[i]), sched] = race_lrs(datas[i], sched, backoff)
    theta_all, peak_all, backoff_all = fit(list(range(len(datas))))
    return {
        "chosen": {fam: params for fam, (params, _) in folds.items()},
        "theta_all": theta_all,
        "peak_all": peak_all,
        "backoff_all": backoff_all,
        "out_const": out_const,
        "out_peak": out_peak,
        "out_race": out_race,
    }


def race_lrs(data: CaseData, sched: str, backoff: float) -> list[float | None]:
    """The validated answers (winner backed off by ``backoff`` decades) per race seed."""
    return [r["winner"] * 10**-backoff for r in data.races[sched] if r["winner"] is not None]


def fit_backoff(datas: list[CaseData], cases: list[int]) -> float:
    """The race back-off with the least mean regret over both grids."""
    with_races = [i for i in cases if all(datas[i].races[s] for s in SCHEDULES)]
    if not with_races:
        return RACE_BACKOFF
    return argmin_mean(
        list(RACE_BACKOFFS),
        with_races,
        lambda b, i: float(
            np.mean([mean_regret(datas[i], s, race_lrs(datas[i], s, b)) for s in SCHEDULES])
        ),
    )


# -- per-case summaries ------------------------------------------------------------------


def summarise(data: CaseData, sched: str, lrs: list[float | None], cost: float) -> dict[str, Any]:
    found = [lr for lr in lrs if lr is not None]
    best = data.best_lr(sched)
    if not found:
        return {"lr": None, "failures": len(lrs), "cost": cost}
    regrets = [data.regret(sched, lr) for lr in found]
    logs = np.log10(found)
    return {
        "lr": float(10 ** np.median(logs)),
        "regret": float(np.mean([r for r, _ in regrets])),
        "se": float(np.median([s for _, s in regrets])),
        "worst_seed": float(max(r for r, _ in regrets)),
        "distance": float(np.median(np.abs(logs - math.log10(best)))),
        "spread": float(np.std(logs)),
        "failures": len(lrs) - len(found),
        "cost": cost,
    }


def peer_lrs(data: CaseData, name: str) -> list[float | None]:
    out: list[float | None] = []
    for (lrs, losses), tlf in zip(data.sweeps, data.tlf, strict=True):
        try:
            if name == "torch-lr-finder":
                out.append(tlf)
            elif name == "fastai valley":
                out.append(valley(lrs, losses, SWEEP["num_steps"]))
            else:
                out.append(lightning(lrs, losses))
        except ValueError:
            out.append(None)
    return out


def sweep_cost(data: CaseData) -> float:
    # each rule's own stop: lrkit's default stop rule (the sweep a user runs)
    n = max(
        len(analyze(lrs, losses, num_steps=SWEEP["num_steps"]).lrs) for lrs, losses in data.sweeps
    )
    return n / data.grid_steps


def evaluate(datas: list[CaseData], cv: dict[str, Any]) -> dict[str, Any]:
    """Every finder's per-case summary, for both grids."""
    theta_all, peak_all = cv["theta_all"], cv["peak_all"]
    default: Theta = (SHIFT, EDGE_MARGIN, 0.7)
    rows: dict[str, dict[str, list[dict[str, Any]]]] = {}

    def add(name: str, sched: str, summary: dict[str, Any]) -> None:
        rows.setdefault(name, {}).setdefault(sched, []).append(summary)

    for d in datas:
        cost = sweep_cost(d)
        add(
            "lrkit (out of sample)",
            "constant",
            summarise(d, "constant", cv["out_const"][id(d)], cost),
        )
        add("lrkit (out of sample)", "cosine", summarise(d, "cosine", cv["out_peak"][id(d)], cost))
        add(
            "lrkit (in sample)",
            "constant",
            summarise(d, "constant", lrkit_lrs(d, theta_all, None), cost),
        )
        add(
            "lrkit (in sample)",
            "cosine",
            summarise(d, "cosine", lrkit_lrs(d, theta_all, peak_all), cost),
        )
        add(
            "lrkit (shipped rule)",
            "constant",
            summarise(d, "constant", lrkit_lrs(d, default, None), cost),
        )
        shipped_peak = lrkit_lrs(d, default, (PEAK_SHIFT, PEAK_MARGIN))
        add("lrkit (shipped rule)", "cosine", summarise(d, "cosine", shipped_peak, cost))
        for name in PEERS:
            lrs = peer_lrs(d, name)
            for sched in SCHEDULES:
                add(name, sched, summarise(d, sched, lrs, cost))
        for sched in SCHEDULES:
            races = d.races[sched]
            if not races:  # not run (yet): kept out of the summaries
                for kind in ("shipped", "out of sample", "in sample"):
                    add(f"lrkit --validate ({kind})", sched, {"lr": None, "not_run": True})
            else:
                steps = max(r["steps"] for r in races) / d.grid_steps
                shipped = race_lrs(d, sched, RACE_BACKOFF)
                add("lrkit --validate (shipped)", sched, summarise(d, sched, shipped, steps))
                oos = cv["out_race"][id(d), sched]
                add("lrkit --validate (out of sample)", sched, summarise(d, sched, oos, steps))
                ins = race_lrs(d, sched, cv["backoff_all"])
                add("lrkit --validate (in sample)", sched, summarise(d, sched, ins, steps))
    return rows


def calibration(datas: list[CaseData], theta: Theta) -> dict[str, Any]:
    """How often the grid-best LR lies in the result's interval (constant grid), or in
    [interval low, edge] (cosine grid)."""
    inside = {"constant": [0, 0], "cosine": [0, 0]}
    for d in datas:
        for i in range(len(d.sweeps)):
            lm = rule(d, i, *theta)
            if lm.interval is None:
                continue
            low, high = lm.interval
            top = lm.edge if lm.edge is not None else high
            for sched, hi in (("constant", high), ("cosine", top)):
                b = d.best_lr(sched)
                inside[sched][0] += int(low * 10**-1e-9 <= b <= hi * 10**1e-9)
                inside[sched][1] += 1
    return inside


# -- ambiguity: which curves the rule should not be trusted on ------------------------


_AMB_CACHE: dict[tuple[int, int, float, float], Any] = {}


def judged(data: CaseData, seed_index: int, drop: float, width: float) -> Any:
    """The shipped rule's result on one sweep with the given ambiguity constants."""
    key = (id(data), seed_index, drop, width)
    if key not in _AMB_CACHE:
        lrs, losses = data.sweeps[seed_index]
        _AMB_CACHE[key] = analyze(
            lrs, losses, num_steps=SWEEP["num_steps"], ambiguous_drop=drop, ambiguous_width=width
        )
    return _AMB_CACHE[key]


def _inside(result: Any, best: float) -> bool:
    low, high = result.interval
    return bool(low * 10**-1e-9 <= best <= high * 10**1e-9)


def ambiguity(datas: list[CaseData]) -> dict[str, Any]:
    """Leave-one-family-out choice of the ambiguity threshold and width, per sweep.

    Units are the sweeps with a suggestion (constant grid, the shipped rule's other
    constants, which were not chosen on the zoo). The threshold minimises the mean of
    ``regret`` for a sweep left unflagged and ``BAD`` for a flagged one (flagging pays
    off when the suggestion would be worse than the target); the width is the smallest
    whose widened intervals hold the grid-best LR in ``COVERAGE`` of the flagged sweeps.
    """
    units = [
        (d, i)
        for d in datas
        for i in range(len(d.sweeps))
        if judged(d, i, AMBIGUOUS_DROP, AMBIGUOUS_WIDTH).suggestion is not None
    ]
    regret = [d.regret("constant", judged(d, i, 0.0, 0.0).suggestion)[0] for d, i in units]

    def flagged(drop: float, j: int) -> bool:
        d, i = units[j]
        return bool(judged(d, i, drop, AMBIGUOUS_WIDTH).ambiguous)

    def fit(train: list[int]) -> tuple[float, float]:
        drop = argmin_mean(
            list(AMBIGUOUS_DROPS), train, lambda t, j: BAD if flagged(t, j) else regret[j]
        )
        held = [j for j in train if flagged(drop, j)]
        width = max(AMBIGUOUS_WIDTHS)
        for w in sorted(AMBIGUOUS_WIDTHS):
            inside = [
                _inside(judged(*units[j], drop, w), units[j][0].best_lr("constant")) for j in held
            ]
            if not held or np.mean(inside) >= COVERAGE:
                width = w
                break
        return drop, width

    folds = leave_one_group_out([d.case.family for d, _ in units], fit)
    out: dict[int, Any] = {}
    for (drop, width), held in folds.values():
        for j in held:
            out[j] = judged(*units[j], drop, width)
    rows = []
    for j, (d, _) in enumerate(units):
        r = out[j]
        plain = judged(*units[j], 0.0, 0.0)
        best = d.best_lr("constant")
        rows.append(
            {
                "case": d.case.name,
                "ambiguous": r.ambiguous,
                "regret": regret[j],
                "inside": _inside(r, best),
                "inside_plain": _inside(plain, best),
            }
        )
    return {
        "rows": rows,
        "chosen": {f: p for f, (p, _) in folds.items()},
        "all": fit(list(range(len(units)))),
    }


def ambiguity_lines(amb: dict[str, Any]) -> list[str]:
    rows = amb["rows"]
    sure = [r for r in rows if not r["ambiguous"]]
    flagged = [r for r in rows if r["ambiguous"]]
    bad = [r for r in rows if r["regret"] > BAD]
    good = [r for r in rows if r["regret"] <= BAD]
    per_case: dict[str, list[float]] = {}
    for r in sure:
        per_case.setdefault(r["case"], []).append(r["regret"])
    case_means = sorted(((float(np.mean(v)), k) for k, v in per_case.items()), reverse=True)
    sure_regret = np.array([r["regret"] for r in sure]) if sure else np.array([math.nan])
    drop, width = amb["all"]
    chosen = "; ".join(f"{f}: ({p[0]:g}, {p[1]:g})" for f, p in amb["chosen"].items())
    table = [
        ["sweeps with a suggestion", f"{len(rows)}"],
        [
            "not flagged (confident)",
            f"{len(sure)}: regret median {np.median(sure_regret):.1f}, worst sweep "
            f"{sure_regret.max():.1f}, worst case (mean of its confident sweeps) "
            f"{case_means[0][0]:.1f} ({case_means[0][1]}); "
            f"{sum(r['regret'] <= BAD for r in sure)}/{len(sure)} within {BAD:g} points",
        ],
        [
            "bad sweeps (regret > 3) flagged ambiguous",
            f"{sum(r['ambiguous'] for r in bad)}/{len(bad)}",
        ],
        ["good sweeps wrongly flagged", f"{sum(r['ambiguous'] for r in good)}/{len(good)}"],
        [
            "calibration, confident sweeps: grid-best LR inside result.interval",
            f"{sum(r['inside'] for r in sure)}/{len(sure)}",
        ],
        [
            "calibration, ambiguous sweeps: inside the widened interval (before widening)",
            f"{sum(r['inside'] for r in flagged)}/{len(flagged)} "
            f"({sum(r['inside_plain'] for r in flagged)}/{len(flagged)})",
        ],
        [
            "calibration, all sweeps (before widening)",
            f"{sum(r['inside'] for r in rows)}/{len(rows)} "
            f"({sum(r['inside_plain'] for r in rows)}/{len(rows)})",
        ],
    ]
    return [
        "### Ambiguous curves (out of sample)",
        "",
        "A suggestion is flagged ambiguous (`result.ambiguous`) when the fitted loss fell by "
        "less than a fraction `ambiguous_drop` of itself during the sweep; its interval is "
        "then widened to `ambiguous_width` decades below the suggestion and up to the edge. "
        "Per sweep (constant grid; the rule's other constants are the shipped ones, chosen "
        "off the zoo), each family is judged with the threshold and width chosen on the "
        f"others: the threshold minimises the mean of the regret (unflagged) or {BAD:g} "
        "points (flagged); the width is the smallest whose widened intervals hold the "
        f"grid-best LR in {100 * COVERAGE:.0f}% of the flagged training sweeps.",
        "",
        markdown_table(["out of sample", "sweeps"], table),
        "",
        f"Chosen on all families: ambiguous_drop {drop:g}, ambiguous_width {width:g} "
        f"(shipped {AMBIGUOUS_DROP:g}, {AMBIGUOUS_WIDTH:g}); without each held-out family "
        f"(drop, width): {chosen}.",
        "",
    ]


# -- the report ------------------------------------------------------------------------


def _targets(summaries: list[dict[str, Any]], worst_limit: float, peers: list[float] | None) -> str:
    if peers is not None:
        peers = [p for s, p in zip(summaries, peers, strict=True) if not s.get("not_run")]
    not_run = sum(bool(s.get("not_run")) for s in summaries)
    summaries = [s for s in summaries if not s.get("not_run")]
    found = [s for s in summaries if s["lr"] is not None]
    n = len(summaries)
    if not found:
        return "no suggestion"
    regrets = np.array([s["regret"] for s in found])
    ses = np.array([s["se"] for s in found])
    parts = [
        f"median regret {np.median(regrets):.1f}, worst {regrets.max():.1f} points "
        f"({'holds' if regrets.max() <= worst_limit else 'MISSED'} <= {worst_limit:g})",
        f"{int((regrets <= 1.0).sum())}/{n} within 1 point, "
        f"{int((regrets - 2 * ses <= 1.0).sum())}/{n} within 2 se of 1",
        f"median distance {np.median([s['distance'] for s in found]):.2f} decades",
        f"max spread {max(s['spread'] for s in found):.2f} decades",
        f"max cost {100 * max(s['cost'] for s in found):.2f}%",
    ]
    if len(found) < n:
        parts.append(f"{n - len(found)} cases without a suggestion")
    if not_run:
        parts.append(f"{not_run} cases not run")
    if peers is not None:
        ok = sum(
            s["lr"] is not None and s["regret"] <= p + 1.0
            for s, p in zip(summaries, peers, strict=True)
        )
        parts.append(f"{ok}/{n} cases no more than 1 point worse than the best peer")
    return "; ".join(parts)


def report(
    datas: list[CaseData],
    rows: dict[str, Any],
    cv: dict[str, Any],
    amb: dict[str, Any],
    elapsed: float,
    note: str,
) -> str:
    lines = [
        "## LR range test: quality against a grid search, out of sample (the finder zoo)",
        "",
        f"Run: {machine_line()}; took {elapsed / 60:.1f} min. {note}",
        f"Command: `{command_line()}`",
        "",
        __doc__.split("\n\n", 1)[1].split("Usage:")[0].strip(),
        "",
    ]
    best_peer = {
        sched: [
            min(
                (rows[p][sched][i]["regret"] for p in PEERS if rows[p][sched][i]["lr"] is not None),
                default=math.inf,
            )
            for i in range(len(datas))
        ]
        for sched in SCHEDULES
    }
    lines += ["### Targets", ""]
    table = []
    for name in (
        "lrkit (out of sample)",
        "lrkit (in sample)",
        "lrkit (shipped rule)",
        "lrkit --validate (out of sample)",
        "lrkit --validate (in sample)",
        "lrkit --validate (shipped)",
        *PEERS,
    ):
        for sched in SCHEDULES:
            if name not in rows or sched not in rows[name]:
                continue
            summ = rows[name][sched]
            limit = 1.0 if name.startswith("lrkit --validate") else 3.0
            peers = best_peer[sched] if name.startswith("lrkit") else None
            table.append(
                [
                    name,
                    "constant LR" if sched == "constant" else "cosine peak",
                    _targets(summ, limit, peers),
                ]
            )
    lines += [markdown_table(["finder", "answers for", "summary over the cases"], table), ""]
    th, pk = cv["theta_all"], cv["peak_all"]
    lines += [
        f"Constants chosen on all families (in sample): shift {th[0]:g}, edge margin {th[1]:g}, "
        f"safety {th[2]:g}; peak shift {pk[0]:g}, peak margin {pk[1]:g}; race back-off "
        f"{cv['backoff_all']:g}. Shipped: shift {SHIFT:g}, edge margin {EDGE_MARGIN:g}, "
        f"safety 0.7; peak shift {PEAK_SHIFT:g}, peak margin {PEAK_MARGIN:g}; back-off "
        f"{RACE_BACKOFF:g}. Chosen without each held-out family (shift, edge margin, safety; "
        "peak shift, peak margin; back-off): "
        + "; ".join(
            f"{fam}: ({t[0]:g}, {t[1]:g}, {t[2]:g}; {p[0]:g}, {p[1]:g}; {b:g})"
            for fam, (t, p, b) in cv["chosen"].items()
        )
        + ".",
        "",
    ]
    cal = calibration(datas, (SHIFT, EDGE_MARGIN, 0.7))
    lines += [
        "Calibration (shipped rule, every sweep with a suggestion): the constant grid's best "
        "LR lies "
        f"inside `result.interval` in {cal['constant'][0]}/{cal['constant'][1]} sweeps; the cosine "
        f"grid's best inside [interval low, edge] in {cal['cosine'][0]}/{cal['cosine'][1]}.",
        "",
    ]
    lines += ambiguity_lines(amb)
    rel = np.array([math.log10(d.best_lr("cosine") / d.best_lr("constant")) for d in datas])
    lines += [
        "Best cosine peak over best constant LR (decades, per case): median "
        f"{np.median(rel):+.2f}, quartiles {np.percentile(rel, 25):+.2f} / "
        f"{np.percentile(rel, 75):+.2f}, "
        f"range {rel.min():+.2f} to {rel.max():+.2f} (grid spacing 0.33).",
        "",
        "### Per case",
        "",
    ]
    per = []
    for i, d in enumerate(datas):
        for sched in SCHEDULES:
            cells = [
                d.case.name,
                "const" if sched == "constant" else "cosine",
                f"{d.best_lr(sched):.2g}",
                f"{d.scores[sched].mean(axis=1).max():.1f}",
            ]
            for name in ("lrkit (out of sample)", "lrkit --validate (out of sample)", *PEERS):
                s = rows.get(name, {}).get(sched, [None] * len(datas))[i]
                if s is None or s.get("not_run"):
                    cells.append("")
                elif s["lr"] is None:
                    cells.append("none")
                else:
                    fail = f", {s['failures']} none" if s["failures"] else ""
                    cells.append(
                        f"{s['lr']:.2g}: {s['regret']:+.1f} ± {s['se']:.1f} "
                        f"(sd {s['spread']:.2f}{fail})"
                    )
            per.append(cells)
    lines += [
        "Each finder cell: median suggested LR: mean regret ± se (points), sd of log10 over seeds.",
        "",
        markdown_table(
            [
                "case",
                "grid",
                "grid-best LR",
                "best",
                "lrkit (out of sample)",
                "lrkit --validate (out of sample)",
                *PEERS,
            ],
            per,
        ),
        "",
        "Grid accuracies (low to high LR, mean of the seeds):",
        "",
        markdown_table(
            ["case", "grid", "LRs", "scores"],
            [
                [
                    d.case.name,
                    sched,
                    f"{d.grid_lrs[0]:.2g} .. {d.grid_lrs[-1]:.2g}",
                    " ".join(f"{v:.0f}" for v in d.scores[sched].mean(axis=1)),
                ]
                for d in datas
                for sched in SCHEDULES
            ],
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=None, help="JSON cache of trial results")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--tasks", default="all", help="comma-separated zoo tasks (default all)")
    parser.add_argument("--no-write", action="store_true", help="print, do not write docs")
    args = parser.parse_args()
    names = [t.name for t in ZOO] if args.tasks == "all" else args.tasks.split(",")
    cases = [Case(n, o) for n in names for o in OPTIMIZERS]
    cache = Cache(args.cache)
    tic = time.perf_counter()
    first, races = specs(cases)
    cached_before = sum(s.key in cache.data for s in dict.fromkeys([*first, *races]))
    run_specs(first, cache, args.jobs)
    run_specs(races, cache, args.jobs)
    datas = load(cache.data, cases)
    cv = loto(datas)
    rows = evaluate(datas, cv)
    amb = ambiguity(datas)
    elapsed = time.perf_counter() - tic
    note = (
        f"{cached_before} of {len(first) + len(races)} results read from a cache made by the "
        "same code "
        f"(the time is of this run only; load average {os.getloadavg()[0]:.1f})."
        if cached_before
        else ""
    )
    body = report(datas, rows, cv, amb, elapsed, note)
    print(body)
    if not args.no_write and args.tasks == "all":
        write_section("range_test_quality", body)


if __name__ == "__main__":
    main()
