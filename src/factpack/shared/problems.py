"""Problems found in input, and the one error type the CLI turns into a one-line message."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in one input file, reported as ``file:line:col: message; hint``.

    A problem of the whole file (line 0) is reported as ``file: message; hint``.

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
        """Return the one-line form: ``file:line:col: ...``, ``file: ...`` for the whole file."""
        where = self.path
        if self.line:
            where += f":{self.line}:{self.col}" if self.col else f":{self.line}"
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
    """Return ``path`` relative to the working directory when it lies below it.

    The folder is resolved once per folder and working directory (a build shows 200,000
    paths of one folder; resolving each one cost ~0.1 ms of system calls), so a file that is
    itself a symbolic link is shown under the name it was given.
    """
    p = Path(path)
    cwd = os.getcwd()
    try:
        if p.name in ("", ".", ".."):
            return str(p.resolve().relative_to(_resolved(cwd, cwd)))
        return str((_resolved(str(p.parent), cwd) / p.name).relative_to(_resolved(cwd, cwd)))
    except ValueError:
        return str(p)


def display_paths(paths: Iterable[Path]) -> list[str]:
    """:func:`display_path` of each path (files, not ``.`` or ``..``), each folder resolved
    once: ``factpack check`` shows 100,000 paths of one folder."""
    cwd = os.getcwd()
    prefixes: dict[str, str | None] = {}
    out = []
    for p in paths:
        parent = os.path.dirname(p)
        if parent not in prefixes:
            try:
                base = str(_resolved(parent or ".", cwd).relative_to(_resolved(cwd, cwd)))
                prefixes[parent] = "" if base == "." else base + "/"
            except ValueError:
                prefixes[parent] = None
        prefix = prefixes[parent]
        out.append(str(p) if prefix is None else prefix + os.path.basename(p))
    return out


@lru_cache(maxsize=256)
def _resolved(folder: str, cwd: str) -> Path:
    """``folder`` resolved (from ``cwd`` when relative); cached per working directory."""
    return Path(cwd, folder).resolve()
