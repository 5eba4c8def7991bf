"""The command line never prints a traceback for a user's mistake or an environment fault.

Each fault is made for real where a test can make it: a path under a regular file;
a folder without write permission for a child process that has no permission override
(we may run as root: the child runs under ``setpriv`` without ``CAP_DAC_OVERRIDE``); ``/sys``
and ``/proc``; a real write failure (``RLIMIT_FSIZE``: the kernel refuses to grow the
file, EFBIG); a missing optional package (a meta-path blocker in ``sitecustomize``).
A full disk is a monkeypatched ``OSError(ENOSPC)``. Every case: one line on stderr,
exit status 2, no traceback, nothing half-written, and (for output paths) no work.
"""

from __future__ import annotations

import errno
import os
import resource
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import lrkit._io
from lrkit.cli import main

SRC = Path(__file__).resolve().parents[1] / "src"
SPEC = "cosine(lr=0.1, total_steps=100)"


def _run(*argv: str, cwd: Path | None = None, env: dict | None = None, **kwargs):
    """``python -m lrkit *argv`` in a child process; returns the CompletedProcess."""
    base = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    base.pop("LRKIT_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "lrkit", *argv],
        cwd=cwd,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def _one_line(err: str) -> str:
    err = err.strip()
    assert err and "\n" not in err and "Traceback" not in err, err
    return err


def _no_temporaries(folder: Path) -> None:
    leftovers = [p.name for p in folder.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == [], leftovers


# -- output paths are checked before any work --------------------------------------------


def test_outputs_under_a_regular_file_fail_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    cases = [
        ["schedule", SPEC, "--steps", "4", "--csv", str(blocker / "s.csv")],
        ["schedule", SPEC, "--steps", "4", "--plot", str(blocker / "sub" / "s.png")],
        ["find", "--task", "digits", "--json", str(blocker / "f.json")],
        ["find", "--task", "digits", "--plot", str(blocker / "f.png")],
        ["compare", "--task", "digits", "--out", str(blocker / "run")],
        ["compare", "--task", "digits", "--out", str(blocker)],  # --out is a file
        ["reproduce", "you2019", "--quick", "--out", str(blocker / "run")],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        out, err = capsys.readouterr()
        assert out == "", argv  # no table, no sweep, no training: nothing ran
        line = _one_line(err)
        assert line.startswith(f"lrkit {argv[0]}: error: cannot write "), line
        assert str(blocker) in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_a_folder_given_for_a_file_is_refused(tmp_path, capsys):
    assert main(["schedule", SPEC, "--steps", "4", "--csv", str(tmp_path)]) == 2
    assert "it is a folder" in _one_line(capsys.readouterr().err)


def test_sys_and_proc_are_refused_before_any_work(tmp_path):
    for path in ("/sys/lrkit-test.csv", "/proc/lrkit-test/x.csv"):
        done = _run("schedule", SPEC, "--steps", "4", "--csv", path)
        assert done.returncode == 2 and done.stdout == ""
        assert f"cannot write {path} (--csv): " in _one_line(done.stderr)


# root ignores permission bits through CAP_DAC_OVERRIDE; a child without it does not
_NO_OVERRIDE = ["--bounding-set=-dac_override,-dac_read_search"]
_NO_OVERRIDE += ["--inh-caps=-dac_override,-dac_read_search", "--"]


def _unprivileged() -> list[str]:
    """A command prefix that runs a child for which permission bits hold."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: permission bits cannot be enforced")
    return ["setpriv", *_NO_OVERRIDE]


def test_a_folder_without_write_permission_is_refused_before_any_work(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    os.chmod(folder, 0o555)
    prefix = _unprivileged()
    probe = subprocess.run([*prefix, "touch", str(folder / "probe")], capture_output=True)
    assert probe.returncode != 0, "the child could write: the test would test nothing"
    base = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    try:
        for argv in (
            ["schedule", SPEC, "--steps", "4", "--csv", str(folder / "s.csv")],
            ["schedule", SPEC, "--steps", "4", "--plot", str(folder / "new" / "s.png")],
            ["compare", "--task", "digits", "--out", str(folder / "run")],
        ):
            done = subprocess.run(
                [*prefix, sys.executable, "-m", "lrkit", *argv],
                env=base, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert done.returncode == 2 and done.stdout == "", done.stderr
            line = _one_line(done.stderr)
            assert f"cannot write {argv[-1]} ({argv[-2]}): Permission denied" in line, line
        assert list(folder.iterdir()) == []
    finally:
        os.chmod(folder, 0o755)


# -- failures while writing ----------------------------------------------------------------


class _Failing:
    """A file whose writes fail with ``code`` (a full disk, a read-only remount...)."""

    def __init__(self, fh, code: int) -> None:
        self._fh, self._code = fh, code

    def write(self, data):
        raise OSError(self._code, os.strerror(self._code))

    def __getattr__(self, name):
        return getattr(self._fh, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._fh.close()


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_an_os_error_while_writing_is_one_line_naming_the_path(tmp_path, capsys, monkeypatch, code):
    csv_path = tmp_path / "s.csv"
    csv_path.write_text("old\n")
    real = os.fdopen
    monkeypatch.setattr(lrkit._io.os, "fdopen", lambda *a, **k: _Failing(real(*a, **k), code))
    assert main(["schedule", SPEC, "--steps", "4", "--csv", str(csv_path)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line == f"lrkit schedule: error: cannot write {csv_path}: {os.strerror(code)}"
    assert csv_path.read_text() == "old\n"  # the old file, whole
    _no_temporaries(tmp_path)


def test_a_full_disk_during_compare_is_one_line_and_leaves_nothing_half_written(
    tmp_path, capsys, monkeypatch
):
    pytest.importorskip("torch")
    out = tmp_path / "run"
    real, writes = os.fdopen, []

    def fdopen(*a, **k):  # the disk fills up after the first few files
        writes.append(1)
        fh = real(*a, **k)
        return _Failing(fh, errno.ENOSPC) if len(writes) > 2 else fh

    monkeypatch.setattr(lrkit._io.os, "fdopen", fdopen)
    argv = ["compare", "--task", "digits", "--num-samples", "150", "--epochs", "1"]
    argv += ["--seeds", "1", "--strategies", "constant", "--quiet", "--out", str(out)]
    assert main(argv) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"lrkit compare: error: cannot write {out}"), line
    assert line.endswith(os.strerror(errno.ENOSPC))
    _no_temporaries(tmp_path)


def _limit_file_size() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))  # SIGXFSZ is ignored by Python


def test_a_real_write_failure_is_one_line_and_keeps_the_old_file(tmp_path):
    csv_path = tmp_path / "s.csv"
    csv_path.write_text("old\n")
    done = _run(
        "schedule", SPEC, "--steps", "5000", "--csv", str(csv_path), preexec_fn=_limit_file_size
    )
    assert done.returncode == 2, done.stderr
    assert _one_line(done.stderr) == (
        f"lrkit schedule: error: cannot write {csv_path}: {os.strerror(errno.EFBIG)}"
    )
    assert csv_path.read_text() == "old\n"
    _no_temporaries(tmp_path)


# -- missing optional packages -------------------------------------------------------------

_BLOCKER = '''
import importlib.abc, sys

class _Block(importlib.abc.MetaPathFinder):
    """As if these packages were not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {BLOCKED!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, _Block())
'''


def _without(tmp_path: Path, *packages: str) -> dict[str, str]:
    site = tmp_path / f"site-{'-'.join(packages)}"
    site.mkdir()
    (site / "sitecustomize.py").write_text(textwrap.dedent(_BLOCKER.format(BLOCKED=set(packages))))
    return {"PYTHONPATH": os.pathsep.join([str(site), str(SRC)])}


def test_a_missing_optional_package_is_one_line_with_the_extra_to_install(tmp_path):
    no_torch = _without(tmp_path, "torch")
    for argv, line in (
        (["compare", "--task", "digits", "--out", str(tmp_path / "run")], "compare needs torch"),
        (["find", "--task", "digits"], "find needs torch"),
        (
            ["reproduce", "you2019", "--quick", "--out", str(tmp_path / "r")],
            "reproduce needs torch",
        ),
    ):
        done = _run(*argv, env=no_torch)
        assert done.returncode == 2 and done.stdout == "", done.stderr
        assert _one_line(done.stderr) == f"lrkit {line}: pip install 'lrkit[lab]'"
    no_plot = _without(tmp_path, "matplotlib")
    done = _run("schedule", SPEC, "--steps", "4", "--plot", str(tmp_path / "s.png"), env=no_plot)
    assert done.returncode == 2 and done.stdout == ""
    assert _one_line(done.stderr) == "lrkit schedule needs matplotlib: pip install 'lrkit[plot]'"
    # numpy alone is enough for the table and the CSV
    done = _run("schedule", SPEC, "--steps", "4", "--csv", str(tmp_path / "s.csv"), env=no_plot)
    assert done.returncode == 0 and "start (t=0)" in done.stdout, done.stderr
    assert not (tmp_path / "run").exists() and not (tmp_path / "s.png").exists()


# -- --task package.module:function from the current folder --------------------------------


def test_a_task_module_in_the_current_folder_is_found_without_pythonpath(tmp_path):
    pytest.importorskip("torch")
    pkg = tmp_path / "project" / "mypackage"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "tasks.py").write_text(
        textwrap.dedent(
            """
            import torch
            from lrkit.experiments import Task

            def make_task():
                g = torch.Generator().manual_seed(0)
                x = torch.randn(64, 4, generator=g)
                y = (x[:, 0] > 0).long()
                data = torch.utils.data.TensorDataset(x, y)
                return Task("blobs", lambda: torch.nn.Linear(4, 2), data, data,
                            torch.nn.functional.cross_entropy, num_classes=2)
            """
        )
    )
    # the `lrkit` console script: sys.path[0] is the script's folder, not the current one
    launcher = tmp_path / "bin" / "lrkit"
    launcher.parent.mkdir()
    launcher.write_text("import sys\nfrom lrkit.cli import main\nsys.exit(main())\n")
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, str(launcher), "find", "--task", "mypackage.tasks:make_task",
         "--num-steps", "10", "--batch-size", "16"],
        cwd=pkg.parent, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert "cannot import" not in done.stderr, done.stderr
    assert done.returncode in (0, 1), done.stderr  # 1: a 10-step sweep may give no suggestion
    assert done.stdout.startswith("range test: blobs, sgd"), done.stdout
