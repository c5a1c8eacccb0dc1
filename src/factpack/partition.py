"""Write a table as a hive-partitioned Parquet dataset, for releases that outgrow one file.

Layout (docs/scaling.md): ``<out_dir>/year=2023/part-0.parquet``, one directory per year of a
date (or datetime) column, rows without a date under ``year=__HIVE_DEFAULT_PARTITION__`` (the
Hive convention for null, read back as null by DuckDB, Polars, Spark and pyarrow). Each file
holds every column of the table, the partitioning column included, so a single file is usable
on its own. Rows keep their order (the build sorts tables by primary key), a partition is
split into ``part-0``, ``part-1``, ... of at most ``max_rows`` rows, and the writer settings
are fixed: the same table gives the same bytes.

Read it back with DuckDB: ``read_parquet('<out_dir>/*/*.parquet', hive_partitioning = true)``.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from factpack.problems import FactpackError
from factpack.write import PARQUET_OPTIONS

NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"
"""The directory value of rows whose partitioning date is null (the Hive convention)."""

PARTITION_KEY = "year"


def partition_years(table: pa.Table, by: str) -> pa.Array:
    """Return the year of column ``by`` for every row (null where the date is null).

    Raises:
        FactpackError: ``by`` is not a column of the table, or not a date or datetime.
    """
    if by not in table.column_names:
        names = ", ".join(table.column_names)
        raise FactpackError(f"cannot partition by '{by}': no such column; use one of {names}")
    column = table.column(by)
    if not (pa.types.is_date(column.type) or pa.types.is_timestamp(column.type)):
        raise FactpackError(
            f"cannot partition by '{by}': it is {column.type}, not a date; "
            "use a date column such as date_start or published_date"
        )
    return pc.year(column).combine_chunks()


def write_partitioned(
    table: pa.Table, out_dir: Path, by: str, *, max_rows: int = 1_000_000
) -> list[Path]:
    """Write ``table`` under ``out_dir`` partitioned by the year of column ``by``.

    Args:
        table: The rows, in the order they should keep (sorted by primary key).
        out_dir: The dataset directory; created, and must not hold files already.
        by: A date or datetime column.
        max_rows: Most rows per file; a larger partition is split into numbered parts.

    Returns:
        The files written, in order (years ascending, the null partition last).

    Raises:
        FactpackError: a bad column (see :func:`partition_years`), or ``out_dir`` not empty.
    """
    if max_rows < 1:
        raise FactpackError(f"max_rows must be at least 1, not {max_rows}")
    years = partition_years(table, by)
    out_dir.mkdir(parents=True, exist_ok=True)
    if any(out_dir.iterdir()):
        raise FactpackError(f"{out_dir}: not empty; write a partitioned table into a new folder")
    table = table.combine_chunks()
    values = sorted(y.as_py() for y in pc.unique(years.drop_null()))
    groups: list[tuple[str, pa.Array]] = [(str(y), pc.equal(years, y)) for y in values]
    if years.null_count:
        groups.append((NULL_PARTITION, pc.is_null(years)))
    written: list[Path] = []
    for value, mask in groups:
        part = table.filter(mask)
        folder = out_dir / f"{PARTITION_KEY}={value}"
        folder.mkdir()
        for i, start in enumerate(range(0, max(part.num_rows, 1), max_rows)):
            path = folder / f"part-{i}.parquet"
            chunk = part.slice(start, max_rows).combine_chunks()
            pq.write_table(chunk, path, **PARQUET_OPTIONS)
            written.append(path)
    return written
