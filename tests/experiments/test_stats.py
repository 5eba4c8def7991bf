"""Statistics over seeds on planted data: t-intervals, paired differences, ties, what next."""

from __future__ import annotations

import math

import pytest

scipy_stats = pytest.importorskip("scipy.stats")

from lrkit.experiments import RunResult, mean_ci, summarize, t_quantile_975  # noqa: E402
from lrkit.experiments._runfolder import format_table, what_next  # noqa: E402


@pytest.mark.parametrize("df", [1, 2, 3, 5, 10, 29, 30, 31, 40, 100, 1000])
def test_t_quantile_matches_scipy(df):
    assert t_quantile_975(df) == pytest.approx(scipy_stats.t.ppf(0.975, df), abs=6e-4)


def test_mean_ci_is_the_t_interval():
    values = [0.81, 0.84, 0.80, 0.86, 0.83]
    mean, std, (lo, hi) = mean_ci(values)
    expected = scipy_stats.t.interval(
        0.95, len(values) - 1, loc=mean, scale=scipy_stats.sem(values)
    )
    assert std == pytest.approx(scipy_stats.tstd(values))
    assert (lo, hi) == pytest.approx(expected, abs=1e-4)
    one = mean_ci([0.5])
    assert one[:2] == (0.5, 0.0) and all(math.isnan(v) for v in one[2])


def _run(name, seed, acc):
    row = {"epoch": 1, "updates": 10, "samples": 100, "wall_s": 1.0, "test_acc": acc,
           "test_metric": acc, "val_metric": None}  # fmt: skip
    return RunResult(strategy=name, seed=seed, rows=(row,))


PLANTED = {
    # B leads; A is 0.5 points behind with a spread of 1 point: tied; C is far behind.
    "A": [0.900, 0.910, 0.920],
    "B": [0.905, 0.915, 0.925],
    "C": [0.500, 0.510, 0.520],
}


def test_ties_and_paired_differences_on_planted_data():
    results = [_run(n, s, v) for n, vals in PLANTED.items() for s, v in enumerate(vals)]
    summary = summarize("planted", results)
    a, b, c = (summary["strategies"][n] for n in "ABC")
    assert b["tied_with_leader"] is False and b["diff_to_leader"] == 0.0
    assert a["tied_with_leader"] is True and c["tied_with_leader"] is False
    # paired by seed: A - B is -0.005 on every seed, so its interval is a point
    assert a["diff_to_leader"] == pytest.approx(-0.005)
    assert a["diff_to_leader_ci95"] == pytest.approx([-0.005, -0.005], abs=1e-12)
    assert c["diff_to_leader"] == pytest.approx(-0.405)
    half = scipy_stats.t.ppf(0.975, 2) * 0.01 / math.sqrt(3)
    assert b["final_test_metric_ci95"] == pytest.approx([0.915 - half, 0.915 + half], abs=1e-3)
    table = format_table(summary).splitlines()
    assert [line.split("|")[1:3] for line in table[2:]] == [
        [" 1 ", " B "],
        [" 2= ", " A "],
        [" 3 ", " C "],
    ]
    nxt = what_next(summary)
    assert "Tied with the leader (95% intervals overlap over 3 seeds): A." in nxt
    assert "--seeds" in nxt and "--lr auto" in nxt


def test_a_lower_is_better_metric_ranks_the_smallest_first():
    from lrkit.experiments import METRICS

    results = [_run(n, s, v) for n, vals in PLANTED.items() for s, v in enumerate(vals)]
    summary = summarize("planted", results, metric=METRICS["mse"])
    assert summary["metric"] == {"name": "mse", "higher_is_better": False}
    assert [line.split("|")[2].strip() for line in format_table(summary).splitlines()[2:]] == [
        "C",
        "A",
        "B",
    ]


def test_what_next_gives_the_leader_as_a_toml_line_that_loads_back(tmp_path):
    import tomllib

    from lrkit.experiments import StrategyContext, get_strategy, load_strategies

    leader = get_strategy("one-cycle", StrategyContext(epochs=30))
    results = [_run("one-cycle", s, 0.9 + s / 100) for s in range(3)]
    text = what_next(summarize("planted", results), [leader])
    block = text.split("```toml\n")[1].split("```")[0]
    assert "one-cycle" in tomllib.loads(block)["strategies"]
    path = tmp_path / "pasted.toml"
    path.write_text(block)
    (loaded,) = load_strategies(path)
    assert loaded.lr == leader.lr and loaded.optimizer_kwargs == leader.optimizer_kwargs
    assert loaded.batch_size == leader.batch_size and loaded.clock == leader.clock
