"""Every snippet in README.md runs as written.

Python blocks run in order in one namespace, in a temporary folder, after a prelude
that defines only the names the prose leaves to the reader (``model``, ``loader``,
``optimizer``, ``loss_fn``, ``train_loader``), so a missing import in a snippet fails
here. Shell blocks: every ``lrkit`` command must parse with the real argument parser;
``lrkit schedule`` commands also run (they are fast), ``compare``/``find``/
``reproduce`` are not run here (minutes of training; tests/test_cli_*.py run them small).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"^```(\w*)\n(.*?)^```", README.read_text(), flags=re.M | re.S)

PRELUDE = """
import torch
torch.manual_seed(0)
model = torch.nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = torch.nn.functional.mse_loss  # a regression: SGD diverges past lr ~ 0.1
_x = 2 * torch.randn(512, 4)
loader = train_loader = torch.utils.data.DataLoader(
    torch.utils.data.TensorDataset(_x, _x @ torch.randn(4, 2)), batch_size=16, shuffle=True
)
"""


def _python_blocks() -> list[str]:
    return [code for lang, code in BLOCKS if lang == "python"]


def _lrkit_commands() -> list[list[str]]:
    commands = []
    for lang, code in BLOCKS:
        if lang:
            continue
        for line in code.replace("\\\n", " ").splitlines():
            words = shlex.split(line)
            if words[:1] == ["lrkit"]:
                commands.append(words[1:])
    return commands


def test_the_readme_has_snippets_of_both_kinds() -> None:
    assert len(_python_blocks()) >= 4 and len(_lrkit_commands()) >= 4


def test_python_snippets_run_as_written(tmp_path, monkeypatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.chdir(tmp_path)  # snippets may save files (sched.pt)
    namespace: dict[str, object] = {}
    exec(compile(PRELUDE, "<prelude>", "exec"), namespace)
    for k, code in enumerate(_python_blocks()):
        exec(compile(code, f"README.md python block {k + 1}", "exec"), namespace)


def test_shell_commands_parse_and_schedule_commands_run(tmp_path, monkeypatch, capsys) -> None:
    from lrkit.cli import build_parser, main

    monkeypatch.chdir(tmp_path)
    parser = build_parser()
    for argv in _lrkit_commands():
        parser.parse_args(argv)  # SystemExit (a test failure) on an unknown flag or value
        if argv[0] == "schedule":
            assert main(argv) == 0, argv
    capsys.readouterr()
