"""Write Arrow tables as Parquet, CSV and a DuckDB database, byte-for-byte reproducibly.

Parquet: fixed writer settings on ``combine_chunks()``-ed tables (identical input gives
identical bytes). CSV: pyarrow's writer from the explicit Arrow schema (UTF-8 without BOM,
header row, LF, empty cell = null, dates ``YYYY-MM-DD``, datetimes ``YYYY-MM-DDTHH:MM:SSZ``,
integers as integers). DuckDB: the DDL derived from ``schema/`` with column comments; its file
is not byte-reproducible and is checked against the Parquet tables instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from factpack.schema import Schema, duckdb_ddl

PARQUET_OPTIONS: Mapping[str, object] = {
    "compression": "zstd",
    "compression_level": 9,
    "version": "2.6",
    "data_page_version": "1.0",
    "use_dictionary": True,
    "write_statistics": True,
    "row_group_size": 1_000_000,
    "store_schema": True,
}
"""Fixed Parquet writer settings (part of the byte-identity promise)."""


def write_parquet(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` as Parquet with :data:`PARQUET_OPTIONS`."""
    pq.write_table(table.combine_chunks(), path, **PARQUET_OPTIONS)


def csv_ready(table: pa.Table) -> pa.Table:
    """Return ``table`` with datetimes as ISO 8601 UTC text ending in ``Z`` (other types kept)."""
    columns = []
    fields = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            seconds = pc.cast(column, pa.timestamp("s", tz="UTC"), safe=False)
            column = pc.strftime(seconds, format="%Y-%m-%dT%H:%M:%SZ")
            field = pa.field(field.name, pa.string(), field.nullable)
        columns.append(column)
        fields.append(field)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def write_csv(table: pa.Table, path: Path) -> None:
    """Write ``table`` to ``path`` as CSV (see the module docstring for the dialect)."""
    options = pacsv.WriteOptions(include_header=True, delimiter=",", quoting_style="needed")
    pacsv.write_csv(csv_ready(table.combine_chunks()), path, write_options=options)


def write_duckdb(tables: Mapping[str, pa.Table], schema: Schema, path: Path) -> None:
    """Create a DuckDB database at ``path`` holding ``tables`` with the derived DDL and comments."""
    import duckdb

    if path.exists():
        path.unlink()
    con = duckdb.connect(str(path))
    try:
        for name, table in schema.tables.items():
            for stmt in duckdb_ddl(table):
                con.execute(stmt)
            con.register("incoming", tables[name])
            cols = ", ".join(f'"{c}"' for c in table.field_names)
            con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM incoming')
            con.unregister("incoming")
        con.execute("CHECKPOINT")
    finally:
        con.close()
