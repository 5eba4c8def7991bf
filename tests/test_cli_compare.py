"""`lrkit compare` and `lrkit reproduce`: end to end on tiny runs; user errors are one line."""

from __future__ import annotations

import csv
import json

import pytest

pytest.importorskip("torch")

from lrkit.cli import main

TINY = ["--task", "digits", "--num-samples", "150", "--epochs", "1", "--seeds", "1", "--quiet"]
TINY += ["--jobs", "1"]  # in this process; tests/test_cli_compare_parallel.py runs --jobs 2


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    return err


def test_compare_prints_the_ranked_table_and_the_report(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["compare", *TINY, "--strategies", "constant,adam", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.splitlines()[0].split()[:3] == ["rank", "strategy", "final"]
    assert f"report: {out / 'report.md'}" in printed
    config = json.loads((out / "config.json").read_text())
    assert config["command"].startswith("lrkit compare --task digits --strategies constant,adam")
    assert config["command"] in (out / "report.md").read_text()


def test_compare_refuses_an_existing_folder_then_resumes_and_overwrites(tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["compare", *TINY, "--strategies", "adam", "--out", out]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    assert "already exists; use --resume" in _error_line(capsys)
    assert main([*args, "--resume"]) == 0
    assert main([*args, "--overwrite"]) == 0
    with pytest.raises(SystemExit):  # argparse: not allowed together
        main([*args, "--resume", "--overwrite"])


def test_compare_reads_strategies_from_a_toml_file(tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text(
        '[strategies.my-adam]\noptimizer = "adam"\nlr = "constant(lr=0.01)"\nbatch_size = 32\n'
    )
    out = tmp_path / "run"
    assert main(["compare", *TINY, "--strategies", f"constant,{path}", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["strategies"]) == ["constant", "my-adam"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--strategies", "constant,warp"], "unknown strategy 'warp'; known: constant"),
        (["--strategies", "nope.toml"], "no such file 'nope.toml'"),
        (["--strategies", ","], "must name at least one strategy"),
        (["--task", "mnist2d"], "unknown task 'mnist2d'"),
        (["--task", "no_such_pkg_xyz:make"], "applies to built-in tasks only"),
        (["--lr", "-1"], "--lr must be a number > 0 or 'auto'"),
        (["--lr", "nosuchfinder"], "--lr 'nosuchfinder': no such LR finder"),
        (["--label-noise", "1.5"], "--label-noise must be in [0, 1)"),
    ],
)
def test_compare_user_errors_are_one_line_and_exit_2(tmp_path, capsys, extra, message):
    assert main(["compare", *TINY, "--out", str(tmp_path / "r"), *extra]) == 2
    err = _error_line(capsys)
    assert err.startswith("lrkit compare: error: ") and message in err
    assert not (tmp_path / "r").exists()


def test_compare_help_lists_the_strategies(capsys):
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = capsys.readouterr().out
    for name in ("constant", "time-decay", "step-decay", "one-cycle", "adadelta", "adam"):
        assert f"  {name} " in text
    # the tasks and optimizers come from their registries too
    for name in ("mnist1d", "digits", "nadam", "schedulefree-adamw", "prodigy"):
        assert f"  {name} " in text


def test_reproduce_unknown_name_is_one_line(tmp_path, capsys):
    assert main(["reproduce", "nobody2020", "--out", str(tmp_path / "r")]) == 2
    assert "unknown reproduction 'nobody2020'; known: " in _error_line(capsys)


def test_reproduce_you2019_quick_writes_a_report_with_a_verdict(tmp_path, capsys, monkeypatch):
    from lrkit.experiments import _you2019

    tiny = {**_you2019.SETTINGS["quick"], "num_samples": 200, "epochs": 2, "channels": 8}
    monkeypatch.setitem(_you2019.SETTINGS, "quick", tiny)
    out = tmp_path / "you"
    assert main(["reproduce", "you2019", "--quick", "--seeds", "2", "--out", str(out)]) == 0
    assert f"report: {out / 'report.md'}" in capsys.readouterr().out
    report = (out / "report.md").read_text()
    assert "## Verdict (from this run's numbers)" in report
    assert "A large initial LR memorises less noise: " in report
    assert "lrkit reproduce you2019 --quick --out" in report
    assert (out / "you2019.png").is_file() and (out / "noisy_fit_vs_epoch.png").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["strategies"]) == ["small-constant", "large-constant", "large-then-decayed"]
    assert all(s["seeds"] == 2 for s in summary["strategies"].values())


@pytest.mark.slow
def test_ctrl_c_leaves_a_resumable_folder_and_resume_loses_no_row(tmp_path):
    """A real SIGINT to the command: exit 130 with one line, no temporary files, and
    --resume finishes with exactly one row per (strategy, seed, epoch)."""
    import csv
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "run"
    epochs = 150
    args = [sys.executable, "-m", "lrkit", "compare", "--task", "digits", "--quiet"]
    args += ["--strategies", "constant", "--epochs", str(epochs), "--seeds", "1", "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not any((out / "checkpoints").glob("*.pt")) and proc.poll() is None:
            assert time.monotonic() < deadline, "no checkpoint within 60 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    if proc.returncode == 0:  # pragma: no cover - the run beat the signal; nothing to test
        pytest.skip("the run finished before the interrupt arrived")
    assert proc.returncode == 130
    assert err.strip().splitlines() == [
        f"lrkit compare: interrupted; rerun with --resume to continue {out}"
    ]
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]

    done = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with (out / "metrics.csv").open() as fh:
        keys = [(r["strategy"], r["seed"], int(r["epoch"])) for r in csv.DictReader(fh)]
    assert sorted(keys) == [("constant", "0", e) for e in range(1, epochs + 1)]


def test_compare_prints_a_line_per_finished_trial_when_stderr_is_a_log(tmp_path, capsys):
    # capsys' stderr is not a terminal, as in CI or `2> log`.
    loud = [a for a in TINY if a != "--quiet"] + ["--seeds", "2"]
    out = tmp_path / "run"
    assert main(["compare", *loud, "--strategies", "constant,adam", "--out", str(out)]) == 0
    lines = capsys.readouterr().err.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "constant seed 0",
        "adam seed 0",
        "constant seed 1",
        "adam seed 1",
    ]
    with open(out / "metrics.csv", newline="") as fh:
        rows = {(r["strategy"], r["seed"]): r for r in csv.DictReader(fh)}
    first = rows[("constant", "0")]
    assert lines[0] == (
        f"constant seed 0: test_acc {float(first['test_acc']):.4f} after 1 epochs, "
        f"{float(first['wall_s']):.1f} s"
    )
    assert main(["compare", *TINY, "--strategies", "adam", "--out", str(tmp_path / "q")]) == 0
    assert capsys.readouterr().err == ""  # --quiet


def test_config_records_the_threads_training_used_and_the_cpu(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["compare", *TINY, "--strategies", "adam", "--threads", "2", "--out", str(out)]
    assert main(args) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["torch_threads"] == 2
    assert "torch_threads" not in config["versions"]
    assert (
        config["versions"]["cpu"] and config["versions"]["cpu"] in (out / "report.md").read_text()
    )


def test_the_trial_line_names_the_metric_when_there_is_no_accuracy(capsys):
    from lrkit.cli._compare import trial_reporter
    from lrkit.experiments import RunResult

    row = {"epoch": 3, "wall_s": 1.25, "test_acc": None, "test_metric": 0.4567891}
    trial_reporter(quiet=False)(RunResult("adam", 2, (row,)))
    assert capsys.readouterr().err == "adam seed 2: test metric 0.4568 after 3 epochs, 1.2 s\n"
