"""Progress of long commands: a counter on a terminal, silence in CI and in logs.

A `\\r` line is shown only when the stream is a terminal and `CI` is not set to
a true value, so CI logs and redirected output hold just the final summary.
"""

import os
import sys
import time
from typing import TextIO

_TRUE = {"1", "true", "yes", "on"}


def progress_wanted(stream: TextIO) -> bool:
    if os.environ.get("CI", "").strip().lower() in _TRUE:
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    """`update(done)` redraws "label: done/total (rate/s)" at most ten times a second."""

    def __init__(self, label: str, total: int, stream: TextIO | None = None, unit: str = ""):
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.enabled = progress_wanted(self.stream)
        self.started = time.monotonic()
        self._drawn_at = 0.0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._drawn_at < 0.1 and done < self.total:
            return
        self._drawn_at = now
        elapsed = max(now - self.started, 1e-9)
        percent = 100 * done / self.total if self.total else 100
        self.stream.write(
            f"\r{self.label}: {done:,}/{self.total:,}{self.unit} ({percent:3.0f} %, "
            f"{done / elapsed:,.0f}/s, {elapsed:,.0f} s) "
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
