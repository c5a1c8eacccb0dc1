"""Write Arrow tables as Parquet, CSV and a DuckDB database, byte-for-byte reproducibly.

Parquet: fixed writer settings on ``combine_chunks()``-ed tables (identical input gives
identical bytes). CSV: pyarrow's writer from the explicit Arrow schema (UTF-8 without BOM,
header row, LF, empty cell = null, dates ``YYYY-MM-DD``, datetimes ``YYYY-MM-DDTHH:MM:SSZ``,
integers as integers). DuckDB: the DDL derived from ``schema/`` with column comments, in
storage format :data:`DUCKDB_STORAGE_VERSION` so DuckDB 1.x opens it too; one thread and zstd
string compression (:data:`DUCKDB_WRITE_THREADS`, :data:`DUCKDB_STRING_COMPRESSION`) make two
writes of the same tables byte-identical with the same DuckDB (so a hydrated copy's file equals
an ``include`` build's). The file is still checked against the Parquet tables and stays out of
the zip, whose ``load.sql`` rebuilds it (``factpack.pipeline.loadsql``).

Shared by the build (through :mod:`factpack.pipeline.write`) and the researcher's ``factpack
hydrate``: the one place the release's writer settings live.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from factpack.shared.problems import FactpackError, display_path
from factpack.shared.schema import Schema, duckdb_ddl

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


DUCKDB_MEMORY_LIMIT = "256MB"
"""DuckDB's buffer memory in a build (writing the database file and every check): past it,
DuckDB spills to a temporary directory, so its memory does not grow with the release."""


@contextmanager
def duckdb_connection(
    path: Path | str = ":memory:",
    *,
    read_only: bool = False,
    memory_limit: str = DUCKDB_MEMORY_LIMIT,
    threads: int | None = None,
    preserve_insertion_order: bool = True,
) -> Iterator[Any]:
    """Open a DuckDB connection with bounded memory; close it (and its spill folder) on exit.

    Args:
        path: The database file, or ``":memory:"``.
        read_only: Open the file read-only.
        memory_limit: DuckDB's ``memory_limit`` (e.g. ``"256MB"``); it spills to a
            temporary folder of its own beyond that (never beside ``path``).
        threads: DuckDB's ``threads``; ``None`` keeps its default (the machine's cores).
        preserve_insertion_order: ``False`` only where no result depends on row order.
    """
    import duckdb

    with tempfile.TemporaryDirectory(prefix="factpack-duckdb-") as spill:
        config: dict[str, Any] = {
            "memory_limit": memory_limit,
            "temp_directory": spill,
            "preserve_insertion_order": preserve_insertion_order,
        }
        if threads is not None:
            config["threads"] = threads
        con = duckdb.connect(str(path), read_only=read_only, config=config)
        try:
            yield con
        finally:
            con.close()


def sql_string(value: str) -> str:
    """Return ``value`` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


DUCKDB_ROW_GROUP_SIZE = 16_384
"""Rows per row group of the release's DuckDB file (DuckDB's default is 122,880). DuckDB
writes a transaction's full row groups to the file as it goes, so a small row group keeps a
table of long texts (articles) out of memory."""

DUCKDB_STORAGE_VERSION = "v1.2.0"
"""Storage format of the release's DuckDB file. DuckDB 2.x writes its own format by default,
which DuckDB 1.x (the newest CLI on PyPI is 1.5.6) refuses ("can only read versions between 64
and 68"); a file written as ``v1.2.0`` opens in both, comments and keys included."""

DUCKDB_CHUNK_BYTES = 128 << 20
"""About this many bytes of values (:func:`value_bytes`) go into the DuckDB file per
transaction, in whole row groups (a transaction's primary- and foreign-key checks need memory
for all its rows)."""


def chunk_rows(num_rows: int, nbytes: int, chunk_bytes: int, align: int) -> int:
    """Return the rows per chunk: a multiple of ``align`` of about ``chunk_bytes`` (at least
    ``align``), for ``num_rows`` rows of ``nbytes`` bytes."""
    per_row = max(1, nbytes // max(1, num_rows))
    return max(1, chunk_bytes // (per_row * align)) * align


def value_bytes(data: pa.Table) -> int:
    """Return the bytes of ``data``'s values, whatever Arrow's layout: per column, a fixed-width
    type's width per row, a string's (or binary's) bytes plus its offset per row. Unlike
    ``nbytes`` it does not count validity bitmaps, which the build's in-memory tables carry on
    columns without a null and tables read from Parquet do not."""
    total = 0
    for column in data.columns:
        kind = column.type
        if pa.types.is_string(kind) or pa.types.is_binary(kind):
            total += (pc.sum(pc.binary_length(column)).as_py() or 0) + 4 * len(column)
        elif pa.types.is_large_string(kind) or pa.types.is_large_binary(kind):
            total += (pc.sum(pc.binary_length(column)).as_py() or 0) + 8 * len(column)
        else:
            try:
                total += (kind.bit_width * len(column) + 7) // 8
            except ValueError:  # not fixed-width (no column of a release): Arrow's own size
                total += column.nbytes
    return total


def arrow_chunks(
    data: pa.Table, chunk_bytes: int = DUCKDB_CHUNK_BYTES, align: int = DUCKDB_ROW_GROUP_SIZE
) -> Iterator[pa.Table]:
    """Yield ``data`` as consecutive zero-copy row slices of :func:`chunk_rows` rows (the last
    one shorter; one empty one for no rows), sized by :func:`value_bytes`, so a table and its
    copy read back from Parquet are cut at the same rows (and written in the same
    transactions)."""
    if data.num_rows == 0:
        yield data
        return
    step = chunk_rows(data.num_rows, value_bytes(data), chunk_bytes, align)
    for start in range(0, data.num_rows, step):
        yield data.slice(start, step)


def duckdb_source(con: Any, name: str, data: pa.Table | Path) -> str:
    """Make ``data`` readable by ``con`` and return the SQL that reads it.

    An Arrow table is registered as view ``name`` (DuckDB scans it without a copy); a Parquet
    file is read by DuckDB itself (nothing of it goes through Python).
    """
    if isinstance(data, Path):
        return f"read_parquet({sql_string(str(data))})"
    con.register(name, data)
    return f'"{name}"'


DUCKDB_WRITE_THREADS = 1
"""DuckDB's threads while writing the release's file. With more, under the memory limit, two
writes of the same tables may differ (20,000 texts of 4,000 characters, 2 threads: from byte
128 MB on); one thread writes them identically and no slower (1.1-1.8 s against 2.0 s)."""

DUCKDB_STRING_COMPRESSION = "zstd"
"""DuckDB's compression of the release file's strings (``force_compression``; numbers keep
DuckDB's choice). Its default for text, FSST, builds its symbol table from a random sample, so
two writes of the same texts differed (5,000 short texts: from byte 12,288). Measured on the
bench corpus of 3,000 articles: FSST 19.1 MB and not reproducible, FSST disabled 27.8 MB,
zstd 18.4 MB, reproducible and no slower. ZSTD is a storage v1.2.0 method, so DuckDB 1.2+
reads it (see :data:`DUCKDB_STORAGE_VERSION`)."""


def write_duckdb(
    tables: Mapping[str, pa.Table],
    schema: Schema,
    path: Path,
    *,
    memory_limit: str = DUCKDB_MEMORY_LIMIT,
    threads: int | None = DUCKDB_WRITE_THREADS,
    chunk_bytes: int = DUCKDB_CHUNK_BYTES,
    row_group_size: int = DUCKDB_ROW_GROUP_SIZE,
) -> None:
    """Create a DuckDB database at ``path`` holding ``tables`` with the derived DDL and comments.

    Args:
        tables: Each table as Arrow (DuckDB reads it in place, a slice at a time).
        schema: The schema the DDL comes from.
        path: The database file (replaced).
        memory_limit: DuckDB's memory limit (see :func:`duckdb_connection`).
        threads: DuckDB's threads (``None``: its default; see :data:`DUCKDB_WRITE_THREADS`).
        chunk_bytes: About this many bytes per transaction (see :data:`DUCKDB_CHUNK_BYTES`).
        row_group_size: Rows per row group of the file (see :data:`DUCKDB_ROW_GROUP_SIZE`).
    """
    if path.exists():
        path.unlink()
    with duckdb_connection(memory_limit=memory_limit, threads=threads) as con:
        con.execute(f"SET force_compression = {sql_string(DUCKDB_STRING_COMPRESSION)}")
        con.execute(
            f"ATTACH {sql_string(str(path))} AS release "
            f"(ROW_GROUP_SIZE {row_group_size}, "
            f"STORAGE_VERSION {sql_string(DUCKDB_STORAGE_VERSION)})"
        )
        con.execute("USE release")
        for name, table in schema.tables.items():
            for stmt in duckdb_ddl(table):
                con.execute(stmt)
            cols = ", ".join(f'"{c}"' for c in table.field_names)
            for chunk in arrow_chunks(tables[name], chunk_bytes, row_group_size):
                con.register("incoming", chunk)
                con.execute(f'INSERT INTO "{name}" ({cols}) SELECT {cols} FROM incoming')
                con.unregister("incoming")
        con.execute("CHECKPOINT")
        con.execute("USE memory")
        con.execute("DETACH release")


def null_count(path: Path, column: str) -> int:
    """Return the nulls of ``column`` in the Parquet file ``path`` (0 without the column),
    from the row groups' statistics; a row group without them has its column read."""
    import pyarrow.parquet as pq

    try:
        file = pq.ParquetFile(path)
        if column not in file.schema_arrow.names:
            return 0
        meta = file.metadata
        leaf = [meta.schema.column(i).path for i in range(meta.num_columns)].index(column)
        total = 0
        for group in range(meta.num_row_groups):
            stats = meta.row_group(group).column(leaf).statistics
            if stats is not None and stats.has_null_count:
                total += stats.null_count
            else:
                total += file.read_row_group(group, columns=[column]).column(0).null_count
        return total
    except (OSError, ValueError) as error:
        raise FactpackError(
            f"{display_path(path)}: cannot read it ({error}); is the release complete?"
        ) from None
