"""Validation layers 2-4: pandera per table, cross-table checks in DuckDB SQL, the release.

Every failure is collected (not just the first) and reported as table / column / row / value.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from factpack.pipeline.write import (
    DUCKDB_MEMORY_LIMIT,
    duckdb_connection,
    duckdb_source,
    sql_string,
)
from factpack.shared import sums
from factpack.shared.problems import FactpackError
from factpack.shared.schema import Schema, Table, pandera_schema
from factpack.shared.sql import ident as _ident


@dataclass(frozen=True, order=True)
class Failure:
    """One failed check on one cell (or row) of one table.

    Attributes:
        table: Table name.
        column: Column name ("" for a whole-row check).
        row: 0-based row number in the primary-key-sorted table (-1 when unknown).
        key: The row's primary key value(s), for the reader to find the row.
        value: The offending value, as text.
        check: What was checked.
        layer: "table" (pandera), "cross" (DuckDB) or "package".
    """

    table: str
    column: str
    row: int
    key: str
    value: str
    check: str
    layer: str = "table"

    def format(self) -> str:
        """Return the one-line form: ``table.column row N (key): value 'x' fails check``."""
        where = f"{self.table}.{self.column}" if self.column else self.table
        row = f" row {self.row}" if self.row >= 0 else ""
        key = f" ({self.key})" if self.key else ""
        return f"{where}{row}{key}: value {self.value} fails {self.check}"


def _key_of(table: pa.Table, pk: tuple[str, ...], row: int) -> str:
    if row < 0 or row >= table.num_rows:
        return ""
    return ", ".join(str(table.column(k)[row].as_py()) for k in pk)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def validate_table(arrow: pa.Table, table: Table) -> list[Failure]:
    """Validate one Arrow table against its pandera schema; return every failure."""
    import pandas as pd
    import pandera.errors

    frame = arrow.to_pandas(types_mapper=pd.ArrowDtype)
    try:
        pandera_schema(table).validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        out = []
        for rec in exc.failure_cases.to_dict("records"):
            index = rec.get("index")
            row = int(index) if isinstance(index, int) or str(index).isdigit() else -1
            column = rec.get("column")
            column = "" if column is None or pd.isna(column) else str(column)
            value = rec.get("failure_case")
            out.append(
                Failure(
                    table=table.name,
                    column=column,
                    row=row,
                    key=_key_of(arrow, table.primary_key, row),
                    value=_short(None if value is pd.NA else value),
                    check=str(rec.get("check")),
                )
            )
        return sorted(out)
    return []


def validate_tables(tables: Mapping[str, pa.Table], schema: Schema) -> list[Failure]:
    """Layer 2: every table against its pandera schema.

    The pandas frames pandera works on sit in reference cycles; they are collected after each
    table, so no more than one table's frame is alive at a time.
    """
    import gc

    out: list[Failure] = []
    for name, table in schema.tables.items():
        out += validate_table(tables[name], table)
        gc.collect()
    return out


def _fk_queries(schema: Schema) -> list[tuple[str, str, str, str]]:
    out = []
    for table in schema.tables.values():
        pk = table.primary_key[0]
        for fk in table.foreign_keys:
            (col,) = fk.fields
            (ref,) = fk.ref_fields
            sql = (
                f'SELECT c."{pk}", c."{col}" FROM "{table.name}" c '
                f'LEFT JOIN "{fk.ref_table}" p ON c."{col}" = p."{ref}" '
                f'WHERE c."{col}" IS NOT NULL AND p."{ref}" IS NULL ORDER BY 1'
            )
            out.append((table.name, col, f"foreign key → {fk.ref_table}.{ref}", sql))
    return out


EVIDENCE_BATCH_ARTICLES = 8192
"""Articles whose texts the evidence check joins at once (~40 MB of text), so it holds a
batch of texts instead of every text (+300 MB at 100k articles)."""


def _article_batches(con: Any, articles: pa.Table) -> Iterator[tuple[str, str]]:
    """Register consecutive slices of ``articles`` as ``article_batch``; yield each one's
    smallest and largest article id.

    Every article is in exactly one batch, so each row joins its own article once, whatever
    the order of the table (sorted by id, as the build leaves it, the id ranges are
    disjoint and a batch's query skips the other rows at once).
    """
    for start in range(0, articles.num_rows, EVIDENCE_BATCH_ARTICLES):
        batch = articles.select(["article_id", "text"]).slice(start, EVIDENCE_BATCH_ARTICLES)
        bounds = pc.min_max(batch["article_id"]).as_py()
        if bounds["min"] is None:
            continue  # only null ids: no row can join them
        con.register("article_batch", batch)
        yield bounds["min"], bounds["max"]
        con.unregister("article_batch")


def _offsets_query(table: str, pk: str, articles: str) -> tuple[str, str]:
    """The check and query of the evidence offsets of a withheld text (``articles.text``
    null) against its article's ``char_count``: ``0 <= char_start < char_end <= char_count``,
    and the quote as long as its span. Where the text is there, the evidence check compares
    the quote with the text itself (which implies this)."""
    return (
        "0 <= char_start < char_end <= articles.char_count "
        "and length(evidence_text) = char_end - char_start (text withheld)",
        f"SELECT t.\"{pk}\", t.char_start || '..' || t.char_end FROM {table} t "
        f"JOIN {articles} a USING (article_id) WHERE a.text IS NULL "
        "AND (t.char_start < 0 OR t.char_end <= t.char_start OR t.char_end > a.char_count "
        "OR length(t.evidence_text) IS DISTINCT FROM t.char_end - t.char_start) ORDER BY 1",
    )


def _text_queries(articles: str) -> list[tuple[str, str, str]]:
    """Checks of the articles' own text (column, check, query): ``text IS NULL OR
    sha256(text) = text_sha256`` (a withheld text is null; a present one is the one the
    offsets were made on) and ``char_count`` equal to its length."""
    return [
        (
            "text",
            "text IS NULL OR sha256(text) = text_sha256",
            f"SELECT article_id, text_sha256 FROM {articles} "
            "WHERE text IS NOT NULL AND sha256(text) IS DISTINCT FROM text_sha256 ORDER BY 1",
        ),
        (
            "char_count",
            "text IS NULL OR char_count = length(text)",
            f"SELECT article_id, char_count FROM {articles} "
            "WHERE text IS NOT NULL AND char_count IS DISTINCT FROM length(text) ORDER BY 1",
        ),
    ]


def cross_checks(
    tables: Mapping[str, pa.Table],
    schema: Schema,
    *,
    memory_limit: str = DUCKDB_MEMORY_LIMIT,
    threads: int | None = None,
) -> list[Failure]:
    """Layer 3, in DuckDB SQL: keys and references across tables, evidence, dates.

    DuckDB scans the Arrow tables in place, within ``memory_limit`` (spilling beyond it) and
    without keeping row order (every result that is reported is ordered by key).

    - every foreign key of ``schema/`` resolves;
    - primary keys are unique across all articles, and every id starts with its row's
      ``<article_id>:``; a claim's source and event belong to the claim's article;
    - ``evidence_text`` equals the article text between ``char_start`` and ``char_end``
      (code points) and the offsets lie inside the text, wherever the text is present (the
      build checks the tables with every text, before its text policy withholds any);
    - where the text is null (a table as published, its text withheld), the offsets lie
      inside ``char_count`` and each quote is as long as its span;
    - ``text IS NULL OR sha256(text) = text_sha256``, and ``char_count`` is the text's length;
    - an event's ``date_start`` is not after its article's ``published_date`` unless a
      ``date_note`` says why.
    """
    failures: list[Failure] = []
    with duckdb_connection(
        memory_limit=memory_limit, threads=threads, preserve_insertion_order=False
    ) as con:
        for name, arrow in tables.items():
            con.register(name, arrow)

        def run(table: str, column: str, check: str, sql: str) -> None:
            for key, value in con.execute(sql).fetchall():
                failures.append(
                    Failure(table, column, -1, str(key), _short(value), check, layer="cross")
                )

        for name, column, check, sql in _fk_queries(schema):
            run(name, column, check, sql)
        for tab in schema.tables.values():
            pk = tab.primary_key
            cols = ", ".join(f'"{k}"' for k in pk)
            key = " || ', ' || ".join(f'CAST("{k}" AS VARCHAR)' for k in pk)
            run(
                tab.name,
                ", ".join(pk),
                "unique primary key across articles",
                f'SELECT {key}, count(*) FROM "{tab.name}" GROUP BY {cols} HAVING count(*) > 1 '
                "ORDER BY 1",
            )
            if tab.name != "articles" and len(pk) == 1:
                run(
                    tab.name,
                    pk[0],
                    "id starts with '<article_id>:'",
                    f'SELECT "{pk[0]}", "{pk[0]}" FROM "{tab.name}" '
                    f"WHERE NOT starts_with(\"{pk[0]}\", article_id || ':') ORDER BY 1",
                )
            if {"evidence_text", "char_start", "char_end"} <= set(tab.field_names):
                run(tab.name, "char_end", *_offsets_query(tab.name, pk[0], "articles"))
                evidence = len(failures)
                for lo, hi in _article_batches(con, tables["articles"]):
                    run(
                        tab.name,
                        "evidence_text",
                        "evidence_text = articles.text[char_start:char_end]",
                        f'SELECT t."{pk[0]}", t.evidence_text FROM "{tab.name}" t '
                        "JOIN article_batch a USING (article_id) "
                        f"WHERE t.article_id BETWEEN {sql_string(lo)} AND {sql_string(hi)} "
                        "AND a.text IS NOT NULL "
                        "AND (t.char_start < 0 OR t.char_end <= t.char_start "
                        "OR t.char_end > length(a.text) "
                        "OR substring(a.text, t.char_start + 1, t.char_end - t.char_start) "
                        "IS DISTINCT FROM t.evidence_text) ORDER BY 1",
                    )
                failures[evidence:] = sorted(failures[evidence:], key=lambda f: f.key)
        for column, check, sql in _text_queries("articles"):
            run("articles", column, check, sql)
        for col, ref in (("source_id", "sources"), ("event_id", "events")):
            run(
                "claims",
                col,
                f"{col} belongs to the claim's article",
                f"SELECT c.claim_id, c.{col} FROM claims c JOIN {ref} r ON c.{col} = r.{col} "
                "WHERE r.article_id <> c.article_id ORDER BY 1",
            )
        run(
            "claims",
            "responds_to",
            "responds_to belongs to the claim's article and is not the claim itself",
            "SELECT c.claim_id, c.responds_to FROM claims c JOIN claims r "
            "ON c.responds_to = r.claim_id "
            "WHERE r.article_id <> c.article_id OR c.responds_to = c.claim_id ORDER BY 1",
        )
        run(
            "events",
            "date_start",
            "date_start not after articles.published_date unless date_note says why",
            "SELECT e.event_id, e.date_start FROM events e JOIN articles a USING (article_id) "
            "WHERE e.date_start > a.published_date AND (e.date_note IS NULL OR e.date_note = '') "
            "ORDER BY 1",
        )
    return failures


def multiset_differences(con: Any, a: str, b: str, columns: list[str]) -> tuple[int, int]:
    """Count the rows of ``a`` not in ``b`` and of ``b`` not in ``a`` (``EXCEPT ALL``).

    ``a`` and ``b`` are SQL ``FROM`` items with the given ``columns``. First a streaming
    ``POSITIONAL JOIN`` compares them row by row (little memory, no hash tables): when every
    row equals its twin (``IS NOT DISTINCT FROM``) and neither has more rows, the multisets
    are equal. Only otherwise are both ``EXCEPT ALL`` counted, so the answer is theirs.
    """
    left = ", ".join(f"{_ident(c)} AS l{i}" for i, c in enumerate(columns))
    right = ", ".join(f"{_ident(c)} AS r{i}" for i, c in enumerate(columns))
    differ = " OR ".join(f"l{i} IS DISTINCT FROM r{i}" for i in range(len(columns)))
    ((n,),) = con.execute(
        f"SELECT count(*) FROM (SELECT {left}, true AS l_row FROM {a}) "
        f"POSITIONAL JOIN (SELECT {right}, true AS r_row FROM {b}) "
        f"WHERE l_row IS NULL OR r_row IS NULL OR {differ or 'false'}"
    ).fetchall()
    if n == 0:
        return 0, 0
    counts = []
    for x, y in ((a, b), (b, a)):
        ((m,),) = con.execute(
            f"SELECT count(*) FROM (SELECT * FROM {x} EXCEPT ALL SELECT * FROM {y})"
        ).fetchall()
        counts.append(int(m))
    return counts[0], counts[1]


def duckdb_matches(
    db_path: Path,
    tables: Mapping[str, pa.Table | Path],
    *,
    memory_limit: str = DUCKDB_MEMORY_LIMIT,
    threads: int | None = None,
) -> list[Failure]:
    """Check that the release's DuckDB file holds exactly the given tables (rows and types).

    Args:
        db_path: The DuckDB file.
        tables: Each table as Arrow or as the path of its Parquet file (read by DuckDB, never
            loaded in Python).
        memory_limit: DuckDB's memory limit (see :func:`factpack.pipeline.write.duckdb_connection`).
        threads: DuckDB's threads (``None``: its default).
    """
    failures: list[Failure] = []
    with duckdb_connection(
        db_path, read_only=True, memory_limit=memory_limit, threads=threads
    ) as con:
        for name, data in tables.items():
            expected = duckdb_source(con, "expected", data)
            names = [r[0] for r in con.execute(f"DESCRIBE {_ident(name)}").fetchall()]
            wanted = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {expected}").fetchall()]
            if names != wanted:
                failures.append(
                    Failure(
                        name,
                        "",
                        -1,
                        "",
                        _short(names),
                        "columns equal the Parquet file's",
                        layer="package",
                    )
                )
            else:
                table = _ident(name)
                counts = multiset_differences(con, table, expected, names)
                pairs = ((table, "expected"), ("expected", table))
                for n, (a, b) in zip(counts, pairs, strict=True):
                    if n:
                        failures.append(
                            Failure(name, "", -1, "", f"{n} rows", f"{a} ⊆ {b}", layer="package")
                        )
            if not isinstance(data, Path):
                con.unregister("expected")
    return failures


# --------------------------------------------------------------------------- layer 4: package


SAMPLE_THRESHOLD = 100_000
"""Releases with more rows than this (all tables together) get a sampled layer 4 in a routine
build; smaller ones (the seeds, the test fixtures) are always checked in full."""

SAMPLE_ROWS = 1_000
"""Rows per resource in a sampled check: the first :data:`SAMPLE_HEAD` and evenly spaced
others, the last row included."""

SAMPLE_HEAD = 200

PARQUET_SAMPLE_ROWS = 200
"""Rows per Parquet resource that frictionless reads in every check (it reads Parquet at ~1 ms
a row); every Parquet row is compared with its CSV twin in DuckDB instead."""


def sample_indices(num_rows: int, size: int = SAMPLE_ROWS) -> list[int]:
    """Return the rows a sampled check reads: the first ones and evenly spaced others."""
    if num_rows <= size:
        return list(range(num_rows))
    head = min(SAMPLE_HEAD, size // 5)
    spread = size - head
    return list(range(head)) + [
        head + (i * (num_rows - 1 - head)) // (spread - 1) for i in range(spread)
    ]


def should_sample(total_rows: int, full: bool) -> bool:
    """Say whether a build checks a release of ``total_rows`` rows on a sample.

    Only routine builds (``full`` false) of more than :data:`SAMPLE_THRESHOLD` rows do.
    """
    return not full and total_rows > SAMPLE_THRESHOLD


def release_rows(release_dir: Path) -> int:
    """Return the rows of every Parquet table of a release (from the files' footers)."""
    import pyarrow.parquet as pq

    return sum(
        pq.ParquetFile(p).metadata.num_rows
        for p in sorted((release_dir / "data").glob("*.parquet"))
    )


def _report_lines(report: Any, where: str, rows: list[int] | None = None) -> list[str]:
    """Error lines of a frictionless report; sample row numbers mapped back to the file's."""
    out = []
    for task in report.tasks:
        for err in task.errors:
            text = f"{task.name}: {err.type}: {err.message}"
            number = getattr(err, "row_number", None)
            if rows is not None and isinstance(number, int) and 2 <= number < len(rows) + 2:
                text += f" (file row {rows[number - 2] + 2})"
            out.append(text)
    for err in report.errors:
        out.append(f"{where}: {err.type}: {err.message}")
    return out


SAMPLE_BATCH_ROWS = 1_024
"""Rows per batch when a sample is read from a Parquet file (articles' text makes rows big)."""

SAMPLE_CSV_BLOCK = 1 << 20
"""Bytes per block when a sample is read from a CSV file."""


def _csv_reader(path: Path, names: list[str]) -> Any:
    """Open a CSV file as a stream of batches; cells stay text (frictionless parses them)."""
    import pyarrow.csv as pacsv

    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in names},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    parse = pacsv.ParseOptions(newlines_in_values=True)
    read = pacsv.ReadOptions(block_size=SAMPLE_CSV_BLOCK)
    return pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)


def _batches(path: Path, fmt: str, names: list[str]) -> Iterator[pa.RecordBatch]:
    """Stream a data file in small batches (see :func:`_csv_reader` for CSV)."""
    import pyarrow.parquet as pq

    if fmt == "parquet":
        with pq.ParquetFile(path, pre_buffer=False, buffer_size=SAMPLE_CSV_BLOCK) as file:
            yield from file.iter_batches(batch_size=SAMPLE_BATCH_ROWS)
    else:
        yield from _csv_reader(path, names)


def _schema_of(path: Path, fmt: str, names: list[str]) -> pa.Schema:
    import pyarrow.parquet as pq

    if fmt == "parquet":
        return pq.ParquetFile(path).schema_arrow
    return _csv_reader(path, names).schema


def _row_count(path: Path, fmt: str, names: list[str]) -> int:
    import pyarrow.parquet as pq

    if fmt == "parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    return sum(batch.num_rows for batch in _batches(path, fmt, names))


def _take(path: Path, fmt: str, names: list[str], rows: list[int]) -> tuple[pa.Table, int]:
    """Read the given rows (sorted) of a data file, streaming it; return them and the rows
    the file has."""
    parts = []
    start = 0
    wanted = pa.array(rows, pa.int64())
    for batch in _batches(path, fmt, names):
        end = start + batch.num_rows
        lo, hi = bisect.bisect_left(rows, start), bisect.bisect_left(rows, end)
        if hi > lo:
            local = pc.subtract(wanted[lo:hi], pa.scalar(start, pa.int64()))
            parts.append(pa.Table.from_batches([batch.take(local)]))
        start = end
    if not parts:
        return pa.Table.from_batches([], schema=_schema_of(path, fmt, names)), start
    return pa.concat_tables(parts), start


def read_sample(
    path: Path, fmt: str, names: list[str], size: int, rows_hint: int | None = None
) -> tuple[pa.Table, list[int], int]:
    """Read the rows :func:`sample_indices` picks from a data file, streaming it.

    Only one small batch of the file is in memory at a time. A CSV file is read once when
    ``rows_hint`` (e.g. the rows of its Parquet twin) is its number of rows, else twice (the
    rows counted, then taken); a wrong hint costs time, never a wrong sample.

    Returns:
        The sampled rows (in file order), their row numbers and the rows the file has.
    """
    total = rows_hint if rows_hint is not None and fmt == "csv" else None
    if total is None:
        total = _row_count(path, fmt, names)
    rows = sample_indices(total, size)
    sample, read = _take(path, fmt, names, rows)
    if read != total:
        if rows_hint is None or fmt != "csv":
            raise pa.ArrowInvalid(f"{total} rows counted, then {read} read")
        return read_sample(path, fmt, names, size)
    return sample, rows, total


def _twin_rows(release_dir: Path, descriptor: dict[str, Any], res: dict[str, Any]) -> int | None:
    """The rows of the Parquet twin of CSV resource ``res`` (from its footer), if readable."""
    import pyarrow.parquet as pq

    name = str(res.get("name", ""))
    if res.get("format") != "csv" or not name.endswith("_csv"):
        return None
    for twin in descriptor.get("resources") or []:
        if twin.get("name") == name.removesuffix("_csv") and twin.get("format") == "parquet":
            try:
                return int(pq.ParquetFile(release_dir / twin["path"]).metadata.num_rows)
            except (OSError, KeyError, pa.ArrowInvalid):
                return None
    return None


def _write_sample(table: pa.Table, path: Path, fmt: str) -> None:
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
        pacsv.write_csv(table, path, write_options=options)


def sample_failures(
    release_dir: Path, descriptor: dict[str, Any], sizes: Mapping[str, int]
) -> tuple[list[str], int, int]:
    """frictionless on a sample of each resource whose format is in ``sizes`` (rows per
    resource), foreign keys left out.

    Each sample is written to a temporary file of the same format with the resource's schema
    (types, constraints, primary key), without ``foreignKeys``, ``hash`` and ``bytes``.

    Returns:
        The error lines, the rows checked and the rows there are (of the CSV resources, or of
        the only format sampled).
    """
    import tempfile

    import frictionless

    out: list[str] = []
    checked = total = 0
    with tempfile.TemporaryDirectory(prefix="factpack-sample-") as tmp:
        for res in descriptor.get("resources") or []:
            fmt = res.get("format")
            if fmt not in sizes:
                continue
            path = release_dir / res["path"]
            names = [f["name"] for f in res["schema"]["fields"]]
            try:
                sample, rows, num_rows = read_sample(
                    path, fmt, names, sizes[fmt], _twin_rows(release_dir, descriptor, res)
                )
            except (OSError, pa.ArrowInvalid) as exc:
                out.append(f"{res['name']}: cannot read {res['path']}: {exc}")
                continue
            sample_path = Path(tmp) / f"{res['name']}.{fmt}"
            _write_sample(sample, sample_path, fmt)
            if fmt == "csv" or len(sizes) == 1:
                checked, total = checked + len(rows), total + num_rows
            desc = {k: v for k, v in res.items() if k not in ("hash", "bytes", "path")}
            desc["path"] = sample_path.name
            desc["schema"] = {k: v for k, v in res["schema"].items() if k != "foreignKeys"}
            resource = frictionless.Resource.from_descriptor(desc, basepath=tmp)
            report = resource.validate()
            out += _report_lines(report, res["name"], rows)
    pa.default_memory_pool().release_unused()  # the batches read; DuckDB's turn next
    return out, checked, total


def descriptor_failures(descriptor: dict[str, Any], release_dir: Path) -> list[str]:
    """frictionless on the datapackage.json descriptor alone (always in full)."""
    import frictionless

    report = frictionless.Package.validate_descriptor(descriptor, basepath=str(release_dir))
    return _report_lines(report, "datapackage.json")


def csv_package_failures(release_dir: Path, descriptor: dict[str, Any]) -> list[str]:
    """frictionless on every CSV resource in full: types, constraints, keys, foreign keys,
    ``hash`` and ``bytes``."""
    import frictionless

    csv_only = dict(descriptor)
    csv_only["resources"] = [r for r in descriptor.get("resources") or [] if r["format"] == "csv"]
    package = frictionless.Package.from_descriptor(csv_only, basepath=str(release_dir))
    return _report_lines(package.validate(), "datapackage.json")


def parquet_csv_failures(
    release_dir: Path,
    descriptor: dict[str, Any],
    *,
    memory_limit: str = DUCKDB_MEMORY_LIMIT,
    threads: int | None = None,
) -> list[str]:
    """Every Parquet resource holds the same rows and values as its CSV twin (DuckDB).

    The CSV is read with the Parquet file's column types; both directions of ``EXCEPT ALL``
    must be empty, so the two files hold the same multiset of rows (compared row by row first,
    see :func:`multiset_differences`).
    """
    import duckdb

    out = []
    by_name = {r["name"]: r for r in descriptor.get("resources") or []}
    with duckdb_connection(memory_limit=memory_limit, threads=threads) as con:
        for name, res in by_name.items():
            twin = by_name.get(f"{name}_csv")
            if res.get("format") != "parquet" or twin is None:
                continue
            pq_sql = f"read_parquet({sql_string(str(release_dir / res['path']))})"
            try:
                types = con.execute(f"DESCRIBE SELECT * FROM {pq_sql}").fetchall()
                columns = ", ".join(f"{sql_string(n)}: {sql_string(t)}" for n, t, *_ in types)
                csv_sql = (
                    f"read_csv({sql_string(str(release_dir / twin['path']))}, header = true, "
                    f"auto_detect = false, delim = ',', quote = '\"', escape = '\"', "
                    f"columns = {{{columns}}})"
                )
                counts = multiset_differences(con, pq_sql, csv_sql, [n for n, *_ in types])
                for n, what in zip(counts, ("Parquet", "CSV"), strict=True):
                    if n:
                        out.append(
                            f"{name}: {n} row(s) of the {what} file differ from the other file "
                            f"({res['path']} vs {twin['path']})"
                        )
            except duckdb.Error as exc:
                out.append(f"{twin['name']}: cannot compare with {res['path']}: {exc}")
    return out


def published_text_failures(
    release_dir: Path,
    descriptor: dict[str, Any],
    *,
    memory_limit: str = DUCKDB_MEMORY_LIMIT,
    threads: int | None = None,
) -> list[str]:
    """What a release publishes of its texts, read back from its Parquet files (DuckDB).

    Every article's text is null or has the sha256 ``text_sha256`` and ``char_count`` code
    points; every evidence row's offsets lie inside its article's ``char_count`` and its quote
    is as long as its span, and cuts the text where the text is published; the nulls of
    ``articles.text`` are the ``text_policy.withheld`` datapackage.json states.
    """
    import duckdb

    data = release_dir / "data"
    articles = f"read_parquet({sql_string(str(data / 'articles.parquet'))})"
    queries: list[tuple[str, str, str]] = [
        ("articles", f"{column}: {check}", sql) for column, check, sql in _text_queries(articles)
    ]
    for name, pk in (("sources", "source_id"), ("events", "event_id"), ("claims", "claim_id")):
        path = data / f"{name}.parquet"
        if not path.is_file():
            continue
        table = f"read_parquet({sql_string(str(path))})"
        check, sql = _offsets_query(table, pk, articles)
        queries.append((name, check, sql))
        queries.append(
            (
                name,
                "evidence_text = articles.text[char_start:char_end] where the text is published",
                f"SELECT t.{pk}, t.evidence_text FROM {table} t JOIN {articles} a "
                "USING (article_id) WHERE a.text IS NOT NULL "
                "AND (t.char_start < 0 OR t.char_end <= t.char_start "
                "OR t.char_end > length(a.text) OR substring(a.text, t.char_start + 1, "
                "t.char_end - t.char_start) IS DISTINCT FROM t.evidence_text) ORDER BY 1",
            )
        )
    out: list[str] = []
    with duckdb_connection(memory_limit=memory_limit, threads=threads) as con:
        try:
            for name, check, sql in queries:
                for key, value in con.execute(sql).fetchall():
                    out.append(f"data/{name}.parquet: {key}: value {_short(value)} fails {check}")
            stated = (descriptor.get("text_policy") or {}).get("withheld")
            ((nulls,),) = con.execute(
                f"SELECT count(*) FILTER (WHERE text IS NULL) FROM {articles}"
            ).fetchall()
        except duckdb.Error as exc:
            return [*out, f"data/articles.parquet: cannot check the texts: {exc}"]
    if stated is not None and stated != nulls:
        out.append(
            f"datapackage.json: text_policy.withheld is {stated} but {nulls} article(s) of "
            "data/articles.parquet have no text; rebuild the release"
        )
    return out


def descriptor_hash_failures(descriptor: dict[str, Any], digests: Mapping[str, str]) -> list[str]:
    """Every resource's ``hash`` equals the sha256 of its file (frictionless skips Parquet)."""
    out = []
    for res in descriptor.get("resources") or []:
        declared = str(res.get("hash", ""))
        actual = digests.get(res.get("path", ""))
        if declared and actual and declared.removeprefix("sha256:") != actual:
            out.append(f"{res['name']}: hash in datapackage.json differs from {res['path']}")
    return out


def frictionless_failures(descriptor_path: Path) -> list[str]:
    """Run ``frictionless validate`` in-process on a whole datapackage.json; return error lines.

    Every resource in full, Parquet included (slow: frictionless reads Parquet at ~2.5k
    rows/s); :func:`check_release` uses the faster equivalent described there.
    """
    import frictionless

    report = frictionless.validate(str(descriptor_path))
    if report.valid:
        return []
    out = _report_lines(report, descriptor_path.name)
    return out or [f"{descriptor_path}: frictionless reports the package invalid"]


def zip_failures(zip_path: Path, release_dir: Path) -> list[str]:
    """Open the finished zip and check every entry against the release's SHA256SUMS.

    The zip must hold exactly ``<folder>/SHA256SUMS`` (equal to the release's) and every file
    it lists, each entry's bytes (decompressed, CRC-checked by :mod:`zipfile`) with the
    listed sha256.
    """
    where = zip_path.name
    try:
        listed = sums.read(release_dir / sums.FILE)
    except FactpackError as exc:
        return [str(exc)]
    top = release_dir.name
    expected = {f"{top}/{rel}" for rel in listed} | {f"{top}/{sums.FILE}"}
    out = []
    try:
        with zipfile.ZipFile(zip_path) as zf:
            names = zf.namelist()
            if len(names) != len(set(names)):
                out.append(f"{where}: an entry appears twice")
            for name in sorted(set(names) - expected):
                out.append(f"{where}: {name} is not listed in {sums.FILE}")
            for name in sorted(expected - set(names)):
                out.append(f"{where}: {name} is missing")
            for name in sorted(expected & set(names)):
                digest = hashlib.sha256()
                with zf.open(name) as member:
                    while chunk := member.read(1 << 20):
                        digest.update(chunk)
                rel = name.removeprefix(f"{top}/")
                if rel == sums.FILE:
                    ok = digest.hexdigest() == sums.sha256_file(release_dir / sums.FILE)
                else:
                    ok = digest.hexdigest() == listed[rel]
                if not ok:
                    out.append(f"{where}: {name} differs from {sums.FILE}")
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        out.append(f"{where}: cannot read the zip ({exc})")
    return out


@dataclass
class ReleaseCheck:
    """The result of layer 4: problems, and how much of the data frictionless read."""

    problems: list[str]
    sampled: bool
    rows_checked: int
    rows: int

    def summary(self) -> str:
        """One line for the build's output."""
        if not self.sampled:
            return f"layer 4: checked all {self.rows} rows"
        return (
            f"layer 4: sampled {self.rows_checked} of {self.rows} rows; run "
            "`make release` / `factpack validate` for the full check"
        )


def check_release_detail(release_dir: Path, sample: bool = False) -> ReleaseCheck:
    """Layer 4 on a finished release; see :func:`check_release`.

    Always: every file hashed here (no digest taken from a writer or a cache) and compared with
    SHA256SUMS (and ``site/`` with ``site/SHA256SUMS``), every resource's ``hash`` compared
    with those digests, the descriptor (frictionless), and the DuckDB file (when present)
    holding exactly the Parquet tables, and the published texts, offsets and quotes
    (:func:`published_text_failures`). Full (``sample=False``): frictionless on every CSV
    resource in full (types, constraints, primary and foreign keys, hash, bytes), every
    Parquet file equal to its CSV twin row for row (DuckDB), and frictionless on a sample of
    each Parquet file (its types and header as frictionless reads them). Sampled: the same,
    but frictionless reads a sample of each CSV resource too, foreign keys left out (layer 3
    checked every one of them in the build); every Parquet row is still compared with its
    CSV twin.
    """
    path = release_dir / "datapackage.json"
    if not path.is_file():
        return ReleaseCheck(
            [f"{path}: missing; is {release_dir} a factpack release?"], sample, 0, 0
        )
    first, digests = sums.verify(release_dir)
    if (release_dir / sums.SITE_DIR).is_dir():
        first += sums.verify(release_dir / sums.SITE_DIR, top=False)[0]
    try:
        descriptor = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        return ReleaseCheck([*first, f"{path.name}: not JSON: {exc}"], sample, 0, 0)
    described = descriptor_failures(descriptor, release_dir)
    problems: list[str] = []
    if sample:
        sizes = {"csv": SAMPLE_ROWS, "parquet": PARQUET_SAMPLE_ROWS}
        found, checked, rows = sample_failures(release_dir, descriptor, sizes)
    else:
        problems += csv_package_failures(release_dir, descriptor)
        found, _, rows = sample_failures(release_dir, descriptor, {"parquet": PARQUET_SAMPLE_ROWS})
        checked = rows = release_rows(release_dir)
    problems += found
    problems += parquet_csv_failures(release_dir, descriptor)
    if (release_dir / "data" / "articles.parquet").is_file():
        problems += published_text_failures(release_dir, descriptor)
    dbs = sorted(release_dir.glob("*.duckdb"))
    if dbs:
        files = {p.stem: p for p in sorted((release_dir / "data").glob("*.parquet"))}
        problems += [f"{dbs[0].name}: {f.format()}" for f in duckdb_matches(dbs[0], files)]
    hashes = descriptor_hash_failures(descriptor, digests)
    return ReleaseCheck(first + described + hashes + problems, sample, checked, rows)


def check_release(release_dir: Path) -> list[str]:
    """Layer 4 in full on a finished release (also ``factpack validate``): every problem.

    Reads the release only; see :func:`check_release_detail`.
    """
    return check_release_detail(release_dir).problems
