"""Progress of long steps: a rich bar on a terminal, plain log lines otherwise.

Library functions accept an optional ``progress`` callback and stay silent without one (so a notebook
shows nothing but its own output); the CLI passes :meth:`Progress.stage` or :meth:`Progress.update`.

>>> with Progress("demo", total=2, stream=None) as p:   # no stream: silent
...     p.stage("first"); p.stage("second")
>>> p.done
2
"""

from __future__ import annotations

import sys
import time
from typing import IO


class Progress:
    """Announce the stages (or counted steps) of a long command.

    Parameters
    ----------
    label : str
        Name of the command (``train``, ``report``, ``features``).
    total : int or None
        Number of stages or steps when known.
    stream : file or None
        Where to write (default ``sys.stderr``); ``None`` disables output. A terminal gets a rich
        progress bar, anything else (a log file, a scheduler, CI) one plain line per stage.
    """

    def __init__(self, label: str, total: int | None = None, *, stream: IO[str] | None | bool = True) -> None:
        self.label = label
        self.total = total
        self.stream = sys.stderr if stream is True else (stream or None)
        self.done = 0
        self._start = time.monotonic()
        self._rich = None
        self._task = None
        self._last_line = 0.0

    def __enter__(self) -> Progress:
        if self.stream is not None and getattr(self.stream, "isatty", lambda: False)():
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._rich = __import__("rich.progress", fromlist=["Progress"]).Progress(
                SpinnerColumn(), TextColumn(f"{self.label}: {{task.description}}"), BarColumn(),
                MofNCompleteColumn(), TimeElapsedColumn(), console=Console(file=self.stream), transient=True)
            self._rich.__enter__()
            self._task = self._rich.add_task("starting", total=self.total)
        return self

    def __exit__(self, *exc) -> None:
        if self._rich is not None:
            self._rich.__exit__(*exc)
        elif self.stream is not None and exc[0] is None:
            self._line(f"done in {time.monotonic() - self._start:.1f} s")

    def _line(self, text: str) -> None:
        print(f"{self.label}: {text}", file=self.stream, flush=True)

    def stage(self, description: str) -> None:
        """Start the next named stage."""
        self.done += 1
        if self._rich is not None:
            self._rich.update(self._task, description=description, completed=self.done - 1)
        elif self.stream is not None:
            of = f"/{self.total}" if self.total else ""
            self._line(f"[{self.done}{of}] {description} ({time.monotonic() - self._start:.1f} s)")

    def update(self, done: int, total: int | None = None) -> None:
        """Counted steps (``progress(done, total)`` callbacks of the library); plain lines at most every 5 s."""
        self.done = done
        self.total = total if total is not None else self.total
        if self._rich is not None:
            self._rich.update(self._task, description="working", completed=done, total=self.total)
        elif self.stream is not None:
            now = time.monotonic()
            if now - self._last_line >= 5 or (self.total and done >= self.total):
                self._last_line = now
                of = f"/{self.total}" if self.total else ""
                self._line(f"{done}{of} steps ({now - self._start:.1f} s)")
