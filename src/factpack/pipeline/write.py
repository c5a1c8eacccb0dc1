"""The build's writer: Parquet, CSV and DuckDB with the release's fixed settings.

The settings and writers live in :mod:`factpack.shared.write`, shared with the researcher's
``factpack hydrate`` (which may not import the build side), so a hydrated copy is written
exactly as the build writes; they are re-exported here for the build's modules.
"""

from __future__ import annotations

from factpack.shared.write import (
    DUCKDB_CHUNK_BYTES,
    DUCKDB_MEMORY_LIMIT,
    DUCKDB_ROW_GROUP_SIZE,
    DUCKDB_STORAGE_VERSION,
    PARQUET_OPTIONS,
    arrow_chunks,
    chunk_rows,
    csv_ready,
    duckdb_connection,
    duckdb_source,
    sql_string,
    write_csv,
    write_duckdb,
    write_parquet,
)

__all__ = [
    "DUCKDB_CHUNK_BYTES",
    "DUCKDB_MEMORY_LIMIT",
    "DUCKDB_ROW_GROUP_SIZE",
    "DUCKDB_STORAGE_VERSION",
    "PARQUET_OPTIONS",
    "arrow_chunks",
    "chunk_rows",
    "csv_ready",
    "duckdb_connection",
    "duckdb_source",
    "sql_string",
    "write_csv",
    "write_duckdb",
    "write_parquet",
]
