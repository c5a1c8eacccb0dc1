"""checks.py: pandera per table (every failure collected) and the DuckDB cross-table checks."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from factpack.pipeline import checks
from factpack.pipeline.annotations import load_article
from factpack.pipeline.checks import (
    Failure,
    cross_checks,
    duckdb_matches,
    multiset_differences,
    validate_tables,
)
from factpack.pipeline.tables import article_rows, assemble
from factpack.pipeline.write import arrow_chunks, chunk_rows, duckdb_connection, write_duckdb
from factpack.shared.schema import Schema, load_schema

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


def test_evidence_is_checked_a_batch_of_articles_at_a_time(
    tables: dict[str, pa.Table], schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One article per batch, and the articles in reverse key order: every row is still checked
    # against its own article's text, once, and the failures come in key order.
    monkeypatch.setattr(checks, "EVIDENCE_BATCH_ARTICLES", 1)
    starts = tables["claims"].column("char_start").to_pylist()
    bad = _with(tables, "claims", "char_start", [s + 1 for s in starts])
    articles = bad["articles"]
    bad["articles"] = articles.take(list(reversed(range(articles.num_rows))))
    keys = tables["claims"].column("claim_id").to_pylist()
    assert len({k.split(":")[0] for k in keys}) > 1
    failures = cross_checks(bad, schema)
    assert [(f.table, f.column, f.key) for f in failures] == [
        ("claims", "evidence_text", k) for k in sorted(keys)
    ]
    assert cross_checks({**tables, "articles": bad["articles"]}, schema) == []


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


def test_duckdb_connection_bounds_memory_and_spills_to_its_own_folder(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    with duckdb_connection(db, memory_limit="64MB", threads=1) as con:
        limit, spill, threads, order = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory'), "
            "current_setting('threads'), current_setting('preserve_insertion_order')"
        ).fetchone()
        assert limit.startswith("61.0 MiB") and threads == 1 and order is True
        assert Path(spill).is_dir() and Path(spill).parent != tmp_path
    assert not Path(spill).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.duckdb"]


def test_chunks_are_whole_row_groups_of_about_the_bytes_asked() -> None:
    assert chunk_rows(num_rows=1_000, nbytes=10_000, chunk_bytes=1_000, align=16) == 96
    assert chunk_rows(num_rows=1_000, nbytes=10_000, chunk_bytes=1, align=16) == 16
    table = pa.table({"x": list(range(100))})
    chunks = list(arrow_chunks(table, chunk_bytes=1, align=16))
    assert [c.num_rows for c in chunks] == [16] * 6 + [4]
    assert pa.concat_tables(chunks).equals(table)
    assert [c.num_rows for c in arrow_chunks(table.slice(0, 0))] == [0]


def test_duckdb_file_written_in_small_transactions_and_row_groups(
    tables: dict[str, pa.Table], schema: Schema, tmp_path: Path
) -> None:
    # 2048 rows (the least row group DuckDB allows) per transaction and row group
    claims = tables["claims"]
    many = dict(tables)
    many["claims"] = pa.concat_tables([claims] * 1_100).combine_chunks()
    ids = [
        f"{a}{i // claims.num_rows}" for i, a in enumerate(many["claims"]["claim_id"].to_pylist())
    ]
    many["claims"] = many["claims"].set_column(0, "claim_id", pa.array(ids, pa.string()))
    db = tmp_path / "x.duckdb"
    write_duckdb(many, schema, db, chunk_bytes=1, row_group_size=2_048)
    assert duckdb_matches(db, many) == []
    con = duckdb.connect(str(db), read_only=True)
    try:
        groups = con.execute(
            "SELECT count(DISTINCT row_group_id) FROM pragma_storage_info('claims')"
        ).fetchone()
        comment = con.execute(
            "SELECT comment FROM duckdb_columns() WHERE table_name = 'claims' "
            "AND column_name = 'cue'"
        ).fetchone()
    finally:
        con.close()
    assert groups == (-(-many["claims"].num_rows // 2_048),)
    assert comment and comment[0]


def test_duckdb_file_matches_parquet_files(
    tables: dict[str, pa.Table], schema: Schema, tmp_path: Path
) -> None:
    db = tmp_path / "x.duckdb"
    write_duckdb(tables, schema, db)
    files = {}
    for name, table in tables.items():
        files[name] = tmp_path / f"{name}.parquet"
        pq.write_table(table, files[name])
    assert duckdb_matches(db, files) == []
    changed = _with(tables, "claims", "cue", ["says", "denied", "said", "doubt"])
    pq.write_table(changed["claims"], files["claims"])
    assert [(f.table, f.value) for f in duckdb_matches(db, files)] == [
        ("claims", "1 rows"),
        ("claims", "1 rows"),
    ]


def test_multiset_differences_compare_rows_not_their_order() -> None:
    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE a AS SELECT * FROM (VALUES (1, 'x'), (2, NULL), (2, NULL)) t(i, s)")
    con.execute("CREATE TABLE b AS SELECT * FROM (VALUES (2, NULL), (1, 'x'), (2, NULL)) t(i, s)")
    con.execute("CREATE TABLE c AS SELECT * FROM (VALUES (1, 'x'), (2, NULL)) t(i, s)")
    con.execute("CREATE TABLE d AS SELECT * FROM (VALUES (1, 'y'), (2, NULL), (2, NULL)) t(i, s)")
    assert multiset_differences(con, "a", "a", ["i", "s"]) == (0, 0)
    assert multiset_differences(con, "a", "b", ["i", "s"]) == (0, 0)
    assert multiset_differences(con, "a", "c", ["i", "s"]) == (1, 0)
    assert multiset_differences(con, "c", "a", ["i", "s"]) == (0, 1)
    assert multiset_differences(con, "a", "d", ["i", "s"]) == (1, 1)
