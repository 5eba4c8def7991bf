"""Write one benchmark's results into its own section of ``docs/benchmarks.md``.

Each benchmark owns a section between ``<!-- BEGIN name -->`` and
``<!-- END name -->``; rerunning the benchmark replaces only that section, so the
file always shows the latest run of every benchmark with its command.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
BENCHMARKS_MD = DOCS / "benchmarks.md"

_HEADER = """# lrkit benchmarks

Every section below is written by a script in `benchmarks/`, from its latest run,
with the command that produced it. Speed targets are ratios measured side by side
with the peer in the same run, because the machine is shared and noisy.
"""


def machine_line() -> str:
    """One line describing where the benchmark ran."""
    import numpy as np

    parts = [
        f"{_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"{platform.machine()}",
        f"{os.cpu_count()} CPUs",
        f"Python {platform.python_version()}",
        f"numpy {np.__version__}",
    ]
    try:
        import torch

        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    except ImportError:  # pragma: no cover
        pass
    return ", ".join(parts)


def command_line() -> str:
    """The command that is running, as a user would type it from the repo root."""
    return "python " + " ".join([os.path.relpath(sys.argv[0]), *sys.argv[1:]])


def write_section(name: str, body: str, path: Path = BENCHMARKS_MD) -> Path:
    """Replace (or append) the section ``name`` of ``path`` with ``body``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text() if path.exists() else _HEADER
    block = f"<!-- BEGIN {name} -->\n{body.rstrip()}\n<!-- END {name} -->"
    pattern = re.compile(
        rf"<!-- BEGIN {re.escape(name)} -->.*?<!-- END {re.escape(name)} -->", re.S
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
