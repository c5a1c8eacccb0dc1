"""Find CSV cells a spreadsheet would run as a formula (CSV injection, OWASP).

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return may be read
as a formula by Excel, LibreOffice or Google Sheets. The data must stay faithful, so such
cells are kept verbatim; the build reports them and the data card warns about them.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

FORMULA_START = r"^[=+\-@\t\r]"
"""A cell matching this regular expression may be run as a formula by a spreadsheet."""

FormulaCell = tuple[str, str, str, str]
"""(table, row id, column, value)."""


def formula_cells(tables: dict[str, pa.Table]) -> list[FormulaCell]:
    """Return every string cell that starts like a spreadsheet formula.

    Args:
        tables: Table name -> Arrow table; a table's first column is its row id.

    Returns:
        ``(table, row_id, column, value)`` per cell, by table name, column order, row order.
    """
    found: list[FormulaCell] = []
    for name in sorted(tables):
        table = tables[name]
        if table.num_columns == 0 or table.num_rows == 0:
            continue
        ids = table.column(0).cast(pa.string())
        for column_name in table.column_names:
            column = table.column(column_name)
            if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
                continue
            mask = pc.fill_null(pc.match_substring_regex(column, FORMULA_START), False)
            if not pc.any(mask).as_py():
                continue
            for row_id, value in zip(
                pc.filter(ids, mask).to_pylist(),
                pc.filter(column, mask).to_pylist(),
                strict=True,
            ):
                found.append((name, str(row_id), column_name, str(value)))
    return found


def describe(cells: list[FormulaCell], limit: int = 20) -> list[str]:
    """Return one warning line per cell (at most ``limit``, then a count of the rest)."""
    lines = [
        f"{table}.csv: {column} of {row_id} starts with {value[:1]!r} ({_short(value)}); "
        "kept verbatim, a spreadsheet may run it as a formula"
        for table, row_id, column, value in cells[:limit]
    ]
    if len(cells) > limit:
        lines.append(f"... and {len(cells) - limit} more cells that start like a formula")
    return lines


def _short(value: str, width: int = 40) -> str:
    flat = " ".join(value.split())
    return repr(flat if len(flat) <= width else flat[: width - 1] + "…")
