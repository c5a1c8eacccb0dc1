"""checks.py: pandera per table (every failure collected) and the DuckDB cross-table checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from factpack.annotations import load_article
from factpack.checks import Failure, cross_checks, duckdb_matches, validate_tables
from factpack.schema import Schema, load_schema
from factpack.tables import article_rows, assemble
from factpack.write import write_duckdb

SEEDS = Path(__file__).parent / "fixtures" / "build" / "seeds"


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


@pytest.fixture(scope="module")
def tables(schema: Schema) -> dict[str, pa.Table]:
    rows = []
    for path in sorted(SEEDS.glob("*.yaml")):
        article, problems = load_article(path)
        assert article is not None, [p.format() for p in problems]
        rows.append(article_rows(article, schema))
    return assemble(rows, schema)


def _with(tables: dict[str, pa.Table], name: str, column: str, values: list[Any]) -> dict:
    table = tables[name]
    i = table.column_names.index(column)
    out = dict(tables)
    out[name] = table.set_column(
        i, table.schema.field(i), pa.array(values, table.schema.field(i).type)
    )
    return out


def test_fixture_tables_pass_every_check(tables: dict[str, pa.Table], schema: Schema) -> None:
    assert validate_tables(tables, schema) == []
    assert cross_checks(tables, schema) == []


def test_pandera_collects_every_failure_with_table_column_row_value(
    tables: dict[str, pa.Table], schema: Schema
) -> None:
    bad = _with(tables, "claims", "certainty", ["sure", "certain", "maybe", "certain"])
    bad = _with(bad, "claims", "cue", ["", "said", None, "doubt"])
    failures = validate_tables(bad, schema)
    lines = [f.format() for f in failures]
    assert any(
        line.startswith("claims.certainty row 0 (alpha:C1): value 'sure' fails isin")
        for line in lines
    )
    got = {(f.table, f.column, f.row) for f in failures}
    assert {("claims", "certainty", 0), ("claims", "certainty", 2)} <= got
    assert {("claims", "cue", 0), ("claims", "cue", 2)} <= got


def test_pandera_checks_ranges_patterns_and_uniqueness(
    tables: dict[str, pa.Table], schema: Schema
) -> None:
    bad = _with(tables, "events", "latitude", [95.0, None])
    bad = _with(bad, "sources", "country", ["gb", None, None, None])
    bad = _with(bad, "articles", "article_id", ["same", "same"])
    got = {(f.table, f.column) for f in validate_tables(bad, schema)}
    assert {("events", "latitude"), ("sources", "country"), ("articles", "article_id")} <= got


def test_foreign_key_failure(tables: dict[str, pa.Table], schema: Schema) -> None:
    bad = _with(tables, "claims", "event_id", ["alpha:E9", "alpha:E1", "beta:E1", None])
    failures = cross_checks(bad, schema)
    assert [(f.table, f.column, f.key, f.value) for f in failures] == [
        ("claims", "event_id", "alpha:C1", "'alpha:E9'")
    ]
    assert "foreign key" in failures[0].check


def test_reference_into_another_article_fails(tables: dict[str, pa.Table], schema: Schema) -> None:
    bad = _with(tables, "claims", "source_id", ["beta:S1", "alpha:S2", "beta:S1", "beta:S2"])
    failures = cross_checks(bad, schema)
    assert [(f.column, f.key) for f in failures] == [("source_id", "alpha:C1")]


def test_evidence_must_equal_the_text_in_code_points(
    tables: dict[str, pa.Table], schema: Schema
) -> None:
    claims = tables["claims"]
    # alpha:C2's evidence contains an emoji (one code point, two UTF-16 units): it passes as is
    assert "🚀" in claims.column("evidence_text")[1].as_py()
    starts = claims.column("char_start").to_pylist()
    bad = _with(tables, "claims", "char_start", [starts[0] + 1, *starts[1:]])
    failures = cross_checks(bad, schema)
    assert [(f.table, f.column, f.key) for f in failures] == [
        ("claims", "evidence_text", "alpha:C1")
    ]


def test_evidence_offsets_past_the_text_fail(tables: dict[str, pa.Table], schema: Schema) -> None:
    ends = tables["sources"].column("char_end").to_pylist()
    bad = _with(tables, "sources", "char_end", [*ends[:-1], 10_000])
    assert [f.key for f in cross_checks(bad, schema)] == ["beta:S2"]


def test_date_after_publication_needs_a_note(tables: dict[str, pa.Table], schema: Schema) -> None:
    # beta:E1 (2024-03-08) is after beta's publication (2024-03-06) and has a date_note
    bad = _with(tables, "events", "date_note", ["x", None])
    failures = cross_checks(bad, schema)
    assert [(f.table, f.column, f.key) for f in failures] == [("events", "date_start", "beta:E1")]
    assert failures[0].value == repr(dt.date(2024, 3, 8))


def test_ids_must_carry_their_article_prefix(tables: dict[str, pa.Table], schema: Schema) -> None:
    bad = _with(tables, "events", "article_id", ["beta", "beta"])
    checks = {f.check for f in cross_checks(bad, schema) if f.table == "events"}
    assert "id starts with '<article_id>:'" in checks


def test_duplicate_primary_key_across_articles(tables: dict[str, pa.Table], schema: Schema) -> None:
    bad = _with(tables, "sources", "source_id", ["alpha:S1", "alpha:S1", "beta:S1", "beta:S2"])
    failures = [f for f in cross_checks(bad, schema) if "unique" in f.check]
    assert [f.key for f in failures] == ["alpha:S1"]


def test_self_reference_fails(tables: dict[str, pa.Table], schema: Schema) -> None:
    bad = _with(tables, "claims", "responds_to", [None, "alpha:C2", None, "beta:C1"])
    assert [f.key for f in cross_checks(bad, schema)] == ["alpha:C2"]


def test_duckdb_file_matches_tables(
    tables: dict[str, pa.Table], schema: Schema, tmp_path: Path
) -> None:
    db = tmp_path / "x.duckdb"
    write_duckdb(tables, schema, db)
    assert duckdb_matches(db, tables) == []
    changed = _with(tables, "claims", "cue", ["says", "denied", "said", "doubt"])
    failures = duckdb_matches(db, changed)
    assert failures and all(f.table == "claims" for f in failures)


def test_failure_format() -> None:
    f = Failure("claims", "cue", 3, "a:C4", "''", "str_length(1, None)")
    assert f.format() == "claims.cue row 3 (a:C4): value '' fails str_length(1, None)"
