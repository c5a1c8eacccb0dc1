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

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from factpack.pipeline.write import PARQUET_OPTIONS
from factpack.shared.problems import FactpackError
from factpack.shared.sql import ident as _ident
from factpack.shared.sql import literal as _sql_string

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
    table: pa.Table,
    out_dir: Path,
    by: str | None = None,
    *,
    max_rows: int = 1_000_000,
    years: pa.Array | None = None,
) -> list[Path]:
    """Write ``table`` under ``out_dir`` partitioned by the year of column ``by``.

    Args:
        table: The rows, in the order they should keep (sorted by primary key).
        out_dir: The dataset directory; created, and must not hold files already.
        by: A date or datetime column.
        max_rows: Most rows per file; a larger partition is split into numbered parts.
        years: Instead of ``by``: each row's year (integers, null for no year), for a table
            whose year comes from another table (sources and claims: their article's). The
            files hold the table's own columns only.

    Returns:
        The files written, in order (years ascending, the null partition last).

    Raises:
        FactpackError: a bad column (see :func:`partition_years`), neither or both of ``by``
            and ``years``, ``years`` not one integer per row, or ``out_dir`` not empty.
    """
    if max_rows < 1:
        raise FactpackError(f"max_rows must be at least 1, not {max_rows}")
    if (by is None) == (years is None):
        raise FactpackError("give the partitioning column (by) or the years, not both or neither")
    if years is None:
        assert by is not None  # for mypy: checked just above
        years = partition_years(table, by)
    elif len(years) != table.num_rows or not pa.types.is_integer(years.type):
        raise FactpackError(
            f"years: {len(years)} values of type {years.type} for {table.num_rows} rows; "
            "give one integer (or null) per row"
        )
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


# ------------------------------------------------------------------ the release's partitioned copy

PARTITIONED_DIR = "data/partitioned"
"""Where a release built with ``--partition-by-year`` keeps its partitioned copy."""

DATE_COLUMNS: dict[str, str] = {"articles": "published_date", "events": "date_start"}
"""The tables partitioned by a date of their own; the others by their article's date."""

ARTICLE_DATE = ("articles", "article_id", "published_date")
"""(table, key, date column) whose year partitions the tables without a date of their own."""


def release_years(tables: Mapping[str, pa.Table]) -> dict[str, pa.Array]:
    """Return the partition year of every row of every table (null: no date).

    ``articles`` by ``published_date``, ``events`` by ``date_start``, every other table (sources,
    claims) by the ``published_date`` of the article its ``article_id`` names (null when there is
    no such article; layer 3 has checked that there is).

    Raises:
        FactpackError: a table lacks its date column, or its ``article_id``.
    """
    articles, key, date = ARTICLE_DATE
    article_table = tables[articles]
    article_years = partition_years(article_table, date)
    out: dict[str, pa.Array] = {}
    for name, table in tables.items():
        if name in DATE_COLUMNS:
            out[name] = partition_years(table, DATE_COLUMNS[name])
            continue
        if key not in table.column_names:
            raise FactpackError(
                f"cannot partition '{name}' by year: it has no date column and no {key}"
            )
        index = pc.index_in(table.column(key), value_set=article_table.column(key))
        out[name] = article_years.take(index.combine_chunks())
    return out


def write_release_partitions(
    tables: Mapping[str, pa.Table], release_dir: Path, *, max_rows: int = 1_000_000
) -> list[str]:
    """Write every table as ``data/partitioned/<table>/year=YYYY/part-N.parquet``.

    The single files (``data/<table>.parquet`` and ``.csv``) are written apart; this is an
    additional copy for readers who read by period. Same tables, same bytes.

    Returns:
        The files written, relative to ``release_dir`` (POSIX), table by table.
    """
    years = release_years(tables)
    written: list[str] = []
    for name, table in tables.items():
        out_dir = release_dir / PARTITIONED_DIR / name
        for path in write_partitioned(table, out_dir, max_rows=max_rows, years=years[name]):
            written.append(path.relative_to(release_dir).as_posix())
    return written


def partition_files(release_dir: Path) -> dict[str, list[str]]:
    """Return the partition files of a release by table (relative POSIX paths, sorted)."""
    root = release_dir / PARTITIONED_DIR
    if not root.is_dir():
        return {}
    out: dict[str, list[str]] = {}
    for table_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        files = sorted(table_dir.glob("*/*.parquet"))
        out[table_dir.name] = [p.relative_to(release_dir).as_posix() for p in files]
    return out


PARTITION_CHECK_MEMORY = "256MB"
"""DuckDB's memory in :func:`partition_failures`; it spills to a temporary folder past it."""

_FOLDER_RE = r"/year=([^/]+)/part-[0-9]+\.parquet$"


def _expected_folder_sql(name: str, articles_sql: str) -> tuple[str, str]:
    """Return (join clause, SQL of the folder value a row of ``name`` belongs in)."""
    if name in DATE_COLUMNS:
        year = f"year(p.{_ident(DATE_COLUMNS[name])})"
        join = ""
    else:
        _, key, date = ARTICLE_DATE
        year = f"year(a.{_ident(date)})"
        join = (
            f"LEFT JOIN (SELECT {_ident(key)}, {_ident(date)} FROM {articles_sql}) a "
            f"ON a.{_ident(key)} = p.{_ident(key)}"
        )
    return join, f"coalesce(CAST({year} AS VARCHAR), {_sql_string(NULL_PARTITION)})"


def _table_failures(con: Any, release_dir: Path, name: str, files: list[str]) -> list[str]:
    """The checks of :func:`partition_failures` for one table."""
    single = release_dir / "data" / f"{name}.parquet"
    single_sql = f"read_parquet({_sql_string(str(single))})"
    where = f"{PARTITIONED_DIR}/{name}"
    if not files:
        ((rows,),) = con.execute(f"SELECT count(*) FROM {single_sql}").fetchall()
        return [f"{where}: no partition files for {rows} rows"] if rows else []
    listed = ", ".join(_sql_string(str(release_dir / f)) for f in files)
    parts_sql = f"read_parquet([{listed}], hive_partitioning = false, filename = true)"
    single_cols = con.execute(f"DESCRIBE SELECT * FROM {single_sql}").fetchall()
    part_cols = con.execute(f"DESCRIBE SELECT * EXCLUDE (filename) FROM {parts_sql}").fetchall()
    if [c[:2] for c in single_cols] != [c[:2] for c in part_cols]:
        return [f"{where}: columns differ from data/{name}.parquet"]
    columns = ", ".join(_ident(c[0]) for c in single_cols)
    out = []
    # The multiset of rows: a count and a sum of row hashes first (streaming, no hash table);
    # only when they differ are the rows counted exactly with EXCEPT ALL both ways.
    fingerprint = "SELECT count(*), sum(hash({cols})::HUGEINT) FROM {src}"
    a = con.execute(fingerprint.format(cols=columns, src=single_sql)).fetchall()
    b = con.execute(fingerprint.format(cols=columns, src=parts_sql)).fetchall()
    if a != b:
        for x, y, what in (
            (single_sql, parts_sql, f"data/{name}.parquet not in the partitioned copy"),
            (parts_sql, single_sql, f"the partitioned copy not in data/{name}.parquet"),
        ):
            ((n,),) = con.execute(
                f"SELECT count(*) FROM (SELECT {columns} FROM {x} "
                f"EXCEPT ALL SELECT {columns} FROM {y})"
            ).fetchall()
            if n:
                out.append(f"{where}: {n} row(s) of {what}")
        if not out:
            out.append(f"{where}: rows differ from data/{name}.parquet")
    articles_sql = f"read_parquet({_sql_string(str(release_dir / 'data' / 'articles.parquet'))})"
    join, expected = _expected_folder_sql(name, articles_sql)
    ((misplaced,),) = con.execute(
        f"SELECT count(*) FROM {parts_sql} p {join} "
        f"WHERE regexp_extract(p.filename, {_sql_string(_FOLDER_RE)}, 1) IS DISTINCT FROM "
        f"{expected}"
    ).fetchall()
    if misplaced:
        out.append(f"{where}: {misplaced} row(s) in the wrong year=... folder")
    return out


def partition_failures(release_dir: Path, tables: Sequence[str] | None = None) -> list[str]:
    """Check a release's partitioned copy (layer 4); no copy, no problem.

    For every table: the partition files hold exactly the rows of ``data/<table>.parquet``
    (same columns and types, same multiset of rows) and every row sits in the ``year=``
    folder of its year (see :func:`release_years`). With a copy, every table of ``tables``
    (default: every ``data/<table>.parquet``) must have one.

    Returns:
        One line per problem.
    """
    import duckdb

    found = partition_files(release_dir)
    if not found:
        return []
    names = (
        list(tables)
        if tables is not None
        else sorted(p.stem for p in (release_dir / "data").glob("*.parquet"))
    )
    out = [f"{PARTITIONED_DIR}/{n}: missing" for n in names if n not in found]
    out += [
        f"{PARTITIONED_DIR}/{n}: no data/{n}.parquet for this partitioned table"
        for n in found
        if n not in names
    ]
    with tempfile.TemporaryDirectory(prefix="factpack-partition-") as spill:
        config: dict[str, Any] = {"memory_limit": PARTITION_CHECK_MEMORY, "temp_directory": spill}
        con = duckdb.connect(":memory:", config=config)
        try:
            for name in names:
                if name not in found:
                    continue
                try:
                    out += _table_failures(con, release_dir, name, found[name])
                except duckdb.Error as exc:
                    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    out.append(f"{PARTITIONED_DIR}/{name}: cannot read: {first}")
        finally:
            con.close()
    return out
