"""Validation layers 2 and 3: pandera per table, then cross-table checks in DuckDB SQL.

Every failure is collected (not just the first) and reported as table / column / row / value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from factpack.schema import Schema, Table, pandera_schema


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
    """Layer 2: every table against its pandera schema."""
    out: list[Failure] = []
    for name, table in schema.tables.items():
        out += validate_table(tables[name], table)
    return out


def _connect(tables: Mapping[str, pa.Table]) -> Any:
    import duckdb

    con = duckdb.connect(":memory:")
    for name, arrow in tables.items():
        con.register(name, arrow)
    return con


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


def cross_checks(tables: Mapping[str, pa.Table], schema: Schema) -> list[Failure]:
    """Layer 3, in DuckDB SQL: keys and references across tables, evidence, dates.

    - every foreign key of ``schema/`` resolves;
    - primary keys are unique across all articles, and every id starts with its row's
      ``<article_id>:``; a claim's source and event belong to the claim's article;
    - ``evidence_text`` equals the article text between ``char_start`` and ``char_end``
      (code points) and the offsets lie inside the text;
    - an event's ``date_start`` is not after its article's ``published_date`` unless a
      ``date_note`` says why.
    """
    con = _connect(tables)
    failures: list[Failure] = []

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
            f'SELECT {key}, count(*) FROM "{tab.name}" GROUP BY {cols} HAVING count(*) > 1',
        )
        if tab.name != "articles" and len(pk) == 1:
            run(
                tab.name,
                pk[0],
                "id starts with '<article_id>:'",
                f'SELECT "{pk[0]}", "{pk[0]}" FROM "{tab.name}" '
                f"WHERE NOT starts_with(\"{pk[0]}\", article_id || ':')",
            )
        if {"evidence_text", "char_start", "char_end"} <= set(tab.field_names):
            run(
                tab.name,
                "evidence_text",
                "evidence_text = articles.text[char_start:char_end]",
                f'SELECT t."{pk[0]}", t.evidence_text FROM "{tab.name}" t '
                "JOIN articles a USING (article_id) "
                "WHERE t.char_start < 0 OR t.char_end <= t.char_start "
                "OR t.char_end > length(a.text) "
                "OR substring(a.text, t.char_start + 1, t.char_end - t.char_start) "
                "IS DISTINCT FROM t.evidence_text ORDER BY 1",
            )
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
    con.close()
    return failures


def duckdb_matches(db_path: Path, tables: Mapping[str, pa.Table]) -> list[Failure]:
    """Check that the release's DuckDB file holds exactly the given tables (rows and types)."""
    import duckdb

    failures: list[Failure] = []
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        for name, arrow in tables.items():
            con.register("expected", arrow)
            names = [r[0] for r in con.execute(f'DESCRIBE "{name}"').fetchall()]
            if names != arrow.column_names:
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
                continue
            for a, b in ((f'"{name}"', "expected"), ("expected", f'"{name}"')):
                ((n,),) = con.execute(
                    f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})"
                ).fetchall()
                if n:
                    failures.append(
                        Failure(name, "", -1, "", f"{n} rows", f"{a} ⊆ {b}", layer="package")
                    )
            con.unregister("expected")
    finally:
        con.close()
    return failures


# --------------------------------------------------------------------------- layer 4: package


def frictionless_failures(descriptor_path: Path) -> list[str]:
    """Run ``frictionless validate`` in-process on a datapackage.json; return error lines.

    Every resource is validated in full (CSV and Parquet; see
    :data:`factpack.package.PARQUET_MISSING_VALUES` for the Parquet null workaround),
    including foreign keys.
    """
    import frictionless

    report = frictionless.validate(str(descriptor_path))
    if report.valid:
        return []
    out = []
    for task in report.tasks:
        for err in task.errors:
            out.append(f"{task.name}: {err.type}: {err.message}")
    for err in report.errors:
        out.append(f"{descriptor_path.name}: {err.type}: {err.message}")
    return out or [f"{descriptor_path}: frictionless reports the package invalid"]


def parse_sums(text: str) -> list[tuple[str, str]]:
    """Parse SHA256SUMS (``<hex>  <path>`` lines) into ``(hex, path)`` pairs."""
    out = []
    for line in text.splitlines():
        if line.strip():
            digest, _, rel = line.partition("  ")
            out.append((digest.strip().lower(), rel.lstrip("*")))
    return out


def sums_failures(release_dir: Path) -> list[str]:
    """Check SHA256SUMS: every listed file's sha256, and that every file is listed."""
    from factpack.package import SUMS_FILE, release_files, sha256_file

    sums_path = release_dir / SUMS_FILE
    if not sums_path.is_file():
        return [f"{sums_path}: missing"]
    out = []
    listed = parse_sums(sums_path.read_text(encoding="utf-8"))
    for digest, rel in listed:
        path = release_dir / rel
        if not path.is_file():
            out.append(f"{rel}: listed in {SUMS_FILE} but missing")
        elif sha256_file(path) != digest:
            out.append(f"{rel}: sha256 differs from {SUMS_FILE}; the file was changed")
    names = {rel for _, rel in listed}
    for rel in release_files(release_dir):
        if rel not in names:
            out.append(f"{rel}: not listed in {SUMS_FILE}")
    return out


def check_release(release_dir: Path) -> list[str]:
    """Layer 4 on a finished release (also ``factpack validate``): return every problem.

    frictionless on datapackage.json, every file's sha256 against SHA256SUMS, and the DuckDB
    file (when present) holding exactly the Parquet tables. Reads the release only.
    """
    import pyarrow.parquet as pq

    descriptor = release_dir / "datapackage.json"
    if not descriptor.is_file():
        return [f"{descriptor}: missing; is {release_dir} a factpack release?"]
    problems = sums_failures(release_dir)
    problems += frictionless_failures(descriptor)
    dbs = sorted(release_dir.glob("*.duckdb"))
    if dbs:
        tables = {
            p.stem: pq.read_table(p) for p in sorted((release_dir / "data").glob("*.parquet"))
        }
        problems += [f"{dbs[0].name}: {f.format()}" for f in duckdb_matches(dbs[0], tables)]
    return problems
