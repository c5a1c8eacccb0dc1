"""Problems found in input, and the one error type the CLI turns into a one-line message."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in one input file, reported as ``file:line:col: message; hint``.

    Attributes:
        path: The file the problem is in.
        line: 1-based line (0 when the problem concerns the whole file).
        col: 1-based column (0 when unknown).
        message: What is wrong.
        hint: How to fix it.
        code: Stable identifier of the rule (documented in docs/errors.md).
    """

    path: str
    line: int
    col: int
    message: str
    hint: str = ""
    code: str = ""

    def format(self) -> str:
        """Return the one-line form printed to the user."""
        where = f"{self.path}:{self.line}:{self.col}"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f"; {self.hint}"
        return text


class FactpackError(Exception):
    """An error the user can fix; the CLI prints ``str(error)`` on one line and exits 1."""

    exit_code = 1


class UsageError(FactpackError):
    """Bad usage (arguments, options); exit code 2."""

    exit_code = 2


def display_path(path: Path | str) -> str:
    """Return ``path`` relative to the working directory when it lies below it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)
