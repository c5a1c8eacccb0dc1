"""SQL over a release: a DuckDB connection with one view per table, results as Arrow tables.

Every table of the release (articles, sources, events, claims) is a view over its Parquet file,
so a downloaded release needs nothing but its ``data/`` directory and ``datapackage.json``.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from factpack.researcher.releases import Release
from factpack.shared.problems import FactpackError, UsageError, display_path
from factpack.shared.sql import ident as quote_identifier
from factpack.shared.sql import literal as quote_literal

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

FORMATS = ("table", "csv", "json", "markdown")
OUTPUT_SUFFIXES = (".parquet", ".csv")


def connect(release: Release) -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB connection with a view per table of ``release``.

    Raises:
        FactpackError: A table's Parquet file is missing.
    """
    import duckdb

    con = duckdb.connect()
    for table, file in release.tables.items():
        if not file.is_file():
            raise FactpackError(
                f"{display_path(file)}: table {table!r} is missing its Parquet file"
            )
        con.execute(
            f"CREATE VIEW {quote_identifier(table)} AS "
            f"SELECT * FROM read_parquet({quote_literal(str(file))})"
        )
    return con


def run(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """Run one SQL query and return its result as an Arrow table.

    Raises:
        FactpackError: DuckDB rejected the query; the message is DuckDB's.
    """
    import duckdb
    import pyarrow as pa

    try:
        relation = con.sql(sql)
        if relation is None:
            return pa.table({})
        return relation.to_arrow_table()
    except duckdb.Error as error:
        raise FactpackError(str(error).strip()) from None


def _cell(value: Any) -> str:
    """Render one value for the terminal and Markdown (null as empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _is_number(t: pa.DataType) -> bool:
    import pyarrow.types as pt

    return bool(pt.is_integer(t) or pt.is_floating(t) or pt.is_decimal(t))


def render_table(table: pa.Table) -> str:
    """Render as an aligned text table: numbers right-aligned, nulls empty.

    >>> import pyarrow as pa
    >>> print(render_table(pa.table({"kind": ["person", "government"], "n": [3, 12]})))
    kind        n
    ----------  --
    person       3
    government  12
    (2 rows)
    """
    names = table.column_names
    rows = [[_cell(v).replace("\n", " ") for v in row.values()] for row in table.to_pylist()]
    widths = [max([len(n)] + [len(r[i]) for r in rows]) for i, n in enumerate(names)]
    right = [_is_number(f.type) for f in table.schema]

    def line(cells: list[str]) -> str:
        out = [
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(cells, widths, right, strict=True)
        ]
        return "  ".join(out).rstrip()

    lines = [line(names), "  ".join("-" * w for w in widths)]
    lines += [line(r) for r in rows]
    lines.append(f"({table.num_rows} row{'' if table.num_rows == 1 else 's'})")
    return "\n".join(lines)


def render_markdown(table: pa.Table) -> str:
    """Render as a Markdown pipe table (``|`` escaped, newlines as spaces).

    >>> import pyarrow as pa
    >>> print(render_markdown(pa.table({"a": ["x|y"], "n": [1]})))
    | a | n |
    | --- | ---: |
    | x\\|y | 1 |
    """

    def esc(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    head = "| " + " | ".join(esc(n) for n in table.column_names) + " |"
    rule = "| " + " | ".join("---:" if _is_number(f.type) else "---" for f in table.schema) + " |"
    body = [
        "| " + " | ".join(esc(_cell(v)) for v in row.values()) + " |" for row in table.to_pylist()
    ]
    return "\n".join([head, rule, *body])


def render_json(table: pa.Table) -> str:
    """Render as a JSON array of objects (dates as ISO 8601 strings, nulls as null).

    >>> import pyarrow as pa
    >>> print(render_json(pa.table({"a": ["x", None]})))
    [
      {"a": "x"},
      {"a": null}
    ]
    """
    rows = [json.dumps(jsonable(r), ensure_ascii=False) for r in table.to_pylist()]
    if not rows:
        return "[]"
    return "[\n" + ",\n".join("  " + r for r in rows) + "\n]"


def render_csv(table: pa.Table) -> str:
    """Render as CSV with a header (empty cell = null), as the release's own CSV files."""
    import pyarrow.csv as pcsv

    sink = io.BytesIO()
    pcsv.write_csv(table, sink)
    return sink.getvalue().decode("utf-8")


def render(table: pa.Table, fmt: str) -> str:
    """Render ``table`` in one of :data:`FORMATS`."""
    renderers = {
        "table": render_table,
        "csv": render_csv,
        "json": render_json,
        "markdown": render_markdown,
    }
    if fmt not in renderers:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return renderers[fmt](table).rstrip("\n")


def write(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path``: Parquet or CSV, chosen by the file's suffix.

    Raises:
        UsageError: Another suffix.
    """
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise UsageError(f"{path}: --output must end in .parquet or .csv")
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    else:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
