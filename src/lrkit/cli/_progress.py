"""How the CLI shows parallel trials finishing; the library itself never prints.

The lab's drivers take a ``progress`` callback and call it with each finished
:class:`~lrkit.experiments._executors.Outcome`; the CLI decides what that shows:

- on a terminal, one tqdm bar over all items, and a line for each failure;
- elsewhere (a log file, CI), one line per finished item: ``[3/12] adam seed 1: 4.2 s``;
- with ``--quiet``, nothing.

With ``LRKIT_DEBUG=1`` a failure's line is followed by the worker's traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

__all__ = ["ProgressReporter"]


class ProgressReporter:
    """A progress callback over ``total`` items; use as a context manager.

    Args:
        total: the number of items the run will finish (``None``: not known ahead).
        describe: the label of an item in a line (default ``str``).
        stream: where to write (default ``sys.stderr``); a bar only if it is a terminal.
        quiet: write nothing.
        debug: print a failure's traceback (default: ``LRKIT_DEBUG`` is set).
        unit: what an item is called on the bar.
        lines: off a terminal, a line per finished item; ``False`` writes only the
            failures (for a caller that prints its own richer line per item).
    """

    def __init__(
        self,
        total: int | None,
        *,
        describe: Callable[[Any], str] = str,
        stream: TextIO | None = None,
        quiet: bool = False,
        debug: bool | None = None,
        unit: str = "trial",
        lines: bool = True,
    ) -> None:
        if total is not None and (
            isinstance(total, bool) or not isinstance(total, int) or total < 0
        ):
            raise ValueError(f"total must be an int >= 0, got {total!r}")
        self.total = total
        self.describe = describe
        self.stream = sys.stderr if stream is None else stream
        self.quiet = quiet
        self.lines = lines
        self.debug = bool(os.environ.get("LRKIT_DEBUG")) if debug is None else debug
        self.done = 0
        self.failed = 0
        self._bar: Any = None
        if not quiet and _is_terminal(self.stream):
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, unit=unit, file=self.stream, dynamic_ncols=True)

    def __call__(self, outcome: Any) -> None:
        """Report one finished item (an ``Outcome``: ``item``, ``failure``, ``seconds``)."""
        self.done += 1
        failure = outcome.failure
        self.failed += failure is not None
        if self.quiet:
            return
        count = f"{self.done}" if self.total is None else f"{self.done}/{self.total}"
        label = f"[{count}] {self.describe(outcome.item)}"
        if failure is None:
            line = f"{label}: {outcome.seconds:.1f} s"
        else:
            line = f"{label}: FAILED: {failure.summary}"
            if self.debug and failure.traceback:
                line += "\n" + failure.traceback.rstrip()
        if self._bar is not None:
            if failure is not None:
                self._bar.write(line, file=self.stream)
            self._bar.set_postfix_str(f"{self.failed} failed" if self.failed else "", refresh=False)
            self._bar.update(1)
        elif self.lines or failure is not None:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        """Close the bar (idempotent)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressReporter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or odd stream
        return False
