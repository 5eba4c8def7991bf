"""Run every benchmark in turn; each rewrites its own section of docs/benchmarks.md.

Run: python benchmarks/run_all.py [NAME ...]   (or `make bench`; names without .py)

The quality benchmark of the range test trains a grid search and takes the longest
(minutes to tens of minutes on 2 CPU cores); the others take a minute or two each.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = (
    "schedules_speed",
    "scheduler_overhead",
    "trainer_overhead",
    "batch_loader_throughput",
    "range_test_overhead",
    "range_test_quality",
)


def main(argv: list[str]) -> int:
    names = argv or list(BENCHMARKS)
    unknown = sorted(set(names) - set(BENCHMARKS))
    if unknown:
        print(f"unknown benchmark {unknown[0]!r}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        start = time.monotonic()
        print(f"== {name}", flush=True)
        code = subprocess.call([sys.executable, str(HERE / f"{name}.py")])
        print(f"== {name}: exit {code} after {time.monotonic() - start:.0f} s", flush=True)
        if code:
            failed.append(name)
    print(f"results: {HERE.parent / 'docs' / 'benchmarks.md'}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
