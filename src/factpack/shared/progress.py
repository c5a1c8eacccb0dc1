"""A one-line progress display for long builds; silent when the stream is not a terminal."""

from __future__ import annotations

import sys
from typing import TextIO


class Progress:
    """Shows ``label [n/total] item`` on one terminal line, rewritten in place.

    Args:
        total: How many steps are expected.
        label: What is being counted.
        stream: Where to write (default stderr).
        enabled: Force on or off; default: only when ``stream`` is a terminal.
    """

    def __init__(
        self,
        total: int,
        label: str = "articles",
        stream: TextIO | None = None,
        enabled: bool | None = None,
    ) -> None:
        self.total = total
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", lambda: False)
        self.enabled = bool(isatty()) if enabled is None else enabled
        self.done = 0
        self._width = 0

    def __call__(self, item: str) -> None:
        """Count one finished step named ``item``."""
        self.done += 1
        if not self.enabled:
            return
        text = f"{self.label} [{self.done}/{self.total}] {item}"[:100]
        pad = max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + " " * pad)
        self.stream.flush()

    def close(self) -> None:
        """End the progress line."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
