"""SQL quoting in one place: identifiers and string literals for DuckDB statements."""

from __future__ import annotations


def ident(name: str) -> str:
    """Return ``name`` as a double-quoted SQL identifier (inner quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: str) -> str:
    """Return ``value`` as a single-quoted SQL string literal (inner quotes doubled)."""
    return "'" + value.replace("'", "''") + "'"
