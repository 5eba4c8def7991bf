"""`lrkit schedule`: the table, the CSV and plot files, help and one-line errors."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest

from lrkit.cli import main
from lrkit.cli._schedule import split_label
from lrkit.schedules import parse

SPECS = ["constant(lr=0.1)", "constant(lr=0.025)"]


def test_prints_a_table_with_start_quarters_end_min_max(capsys):
    assert main(["schedule", *SPECS, "--steps", "10"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["#1  constant(lr=0.1)", "#2  constant(lr=0.025)"]
    rows = {line.split()[0]: line.split()[-2:] for line in out[3:]}
    assert list(rows) == ["#1", "start", "1/4", "1/2", "3/4", "end", "min", "max"]
    assert rows["end"] == ["0.1", "0.025"]
    assert "end (t=10)" in "\n".join(out) and "1/4 (t=2)" in "\n".join(out)


def test_writes_csv_and_plot(tmp_path, capsys):
    csv_path, png_path = tmp_path / "out" / "s.csv", tmp_path / "out" / "s.png"
    args = ["schedule", *SPECS, "--steps", "20", "--csv", str(csv_path), "--plot", str(png_path)]
    assert main(args) == 0
    with csv_path.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["step", *SPECS]
    assert len(rows) == 22 and rows[-1][0] == "20"
    for row in rows[1:]:
        assert [float(x) for x in row[1:]] == [parse(s)(int(row[0])) for s in SPECS]
    assert png_path.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in csv_path.parent.iterdir()) == ["s.csv", "s.png"]
    assert f"wrote {csv_path}" in capsys.readouterr().out


def test_bad_spec_is_one_line_and_exit_2(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "lrkit",
            "schedule",
            "nosuch(lr=0.1)",
            "--steps",
            "5",
            "--csv",
            str(tmp_path / "x.csv"),
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr
    assert lines[0].startswith("lrkit schedule: error: unknown name 'nosuch'")
    assert not (tmp_path / "x.csv").exists()


def test_bad_argument_value_is_reported(capsys):
    assert main(["schedule", "constant(lr=-1)", "--steps", "5"]) == 2
    assert "lr must be > 0, got -1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["schedule", SPECS[0], "--steps", "0"])
    assert exc.value.code == 2
    assert "--steps: must be a whole number > 0, got '0'" in capsys.readouterr().err


def test_help_explains_specs_with_examples(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["schedule", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "--steps N" in text and "--plot PATH" in text and "--csv PATH" in text
    assert "examples:" in text and 'lrkit schedule "cosine(lr=0.1, total_steps=1000)"' in text


def test_labels_name_the_columns_and_grid_plots_panels(tmp_path, capsys):
    csv_path, png_path = tmp_path / "s.csv", tmp_path / "s.png"
    args = ["schedule", "fast=constant(lr=0.1)", "slow=constant(lr=0.01)", "--steps", "4"]
    assert main([*args, "--csv", str(csv_path), "--plot", str(png_path), "--grid"]) == 0
    assert csv_path.read_text().splitlines()[0] == "step,fast,slow"
    assert capsys.readouterr().out.startswith("#1  fast: constant(lr=0.1)\n")
    assert png_path.read_bytes()[:4] == b"\x89PNG"
    assert main(["schedule", "a=constant(lr=0.1)", "a=constant(lr=0.2)", "--steps", "4"]) == 2
    assert "each schedule needs its own label" in capsys.readouterr().err


def test_split_label():
    assert split_label("warm=warmup(constant(lr=0.1), warmup_steps=5)") == (
        "warm",
        "warmup(constant(lr=0.1), warmup_steps=5)",
    )
    assert split_label("constant(lr=0.1)") == ("constant(lr=0.1)", "constant(lr=0.1)")


def test_unwritable_or_unknown_outputs_fail_cleanly_before_any_work(tmp_path, capsys):
    csv_path = tmp_path / "s.csv"
    args = ["schedule", SPECS[0], "--steps", "4", "--csv", str(csv_path)]
    assert main([*args, "--plot", str(tmp_path / "s.xyz")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "the suffix must name an image format" in err
    assert not csv_path.exists()
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["schedule", SPECS[0], "--steps", "4", "--csv", str(blocker / "s.csv")]) == 2
    assert f"cannot write {blocker / 's.csv'}" in capsys.readouterr().err
