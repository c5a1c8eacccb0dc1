"""tables.py: one article's rows and the assembled Arrow tables."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pyarrow as pa
import pytest

from factpack.pipeline.article import Article
from factpack.pipeline.tables import (
    POLICY_COLUMN,
    article_rows,
    assemble,
    sort_rows,
    start_utc,
)
from factpack.shared.problems import FactpackError
from factpack.shared.schema import Schema, arrow_schema, load_schema

TEXT = "Headline\nSpokesman Ann Lee said a drone 🚀 hit Kyiv at 20:00.\n"


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


def make_article(article_id: str = "abc", **event: Any) -> Article:
    ev = {
        "event_id": "E1",
        "event_type": "Explosions/Remote violence",
        "sub_event_type": "Air/drone strike",
        "summary": "A drone hit Kyiv.",
        "factuality": "reported",
        "date_start": "2023-05-03",
        "date_end": "2023-05-03",
        "date_precision": "day",
        "date_basis": "stated",
        "time_local": "20:00",
        "timezone": "Europe/Kyiv",
        "geo_precision": "town",
        "quote": {"exact": "a drone 🚀 hit Kyiv at 20:00"},
    }
    ev.update(event)
    doc = {
        "format": "factpack-annotation/1",
        "article": {
            "text_sha256": "0" * 64,
            "title": "Headline",
            "publisher": "P",
            "published_date": "2023-05-04",
            "published_date_basis": "stated",
            "language": "en",
            "note": "not a column",
        },
        "sources": [
            {
                "source_id": "S1",
                "name": "Ann Lee",
                "source_kind": "person",
                "is_named": True,
                "quote": {"exact": "Ann Lee"},
            }
        ],
        "events": [ev],
        "claims": [
            {
                "claim_id": "C2",
                "source_id": "S1",
                "event_id": "E1",
                "claim_text": "a drone hit Kyiv",
                "is_direct_quote": False,
                "cue": "said",
                "claim_kind": "assertion",
                "certainty": "certain",
                "responds_to": None,
                "relation": None,
                "quote": {"exact": "x"},
            },
            {
                "claim_id": "C1",
                "source_id": "S1",
                "event_id": None,
                "claim_text": "c",
                "is_direct_quote": False,
                "cue": "said",
                "claim_kind": "assertion",
                "certainty": "certain",
                "responds_to": "C2",
                "relation": "supports",
                "quote": {"exact": "x"},
            },
        ],
    }
    s = TEXT.index("Spokesman")
    return Article(
        article_id=article_id,
        stem=f"001_{article_id}",
        text=TEXT,
        doc=doc,
        spans={
            ("sources", "S1"): (s + 10, s + 17),
            ("events", "E1"): (TEXT.index("a drone"), TEXT.index(".\n")),
            ("claims", "C1"): (s, TEXT.index(".\n") + 1),
            ("claims", "C2"): (s, TEXT.index(".\n") + 1),
        },
    )


def test_rows_have_the_schema_columns_in_order(schema: Schema) -> None:
    rows = article_rows(make_article(), schema)
    for name, table_rows in rows.items():
        for row in table_rows:
            # the articles row carries the build-only text policy override last
            extra = [POLICY_COLUMN] if name == "articles" else []
            assert list(row) == [*schema.table(name).field_names, *extra]


def test_global_ids_and_references(schema: Schema) -> None:
    rows = article_rows(make_article(), schema)
    claim = {r["claim_id"]: r for r in rows["claims"]}
    assert set(claim) == {"abc:C1", "abc:C2"}
    assert claim["abc:C1"]["source_id"] == "abc:S1"
    assert claim["abc:C1"]["responds_to"] == "abc:C2"
    assert claim["abc:C1"]["event_id"] is None
    assert claim["abc:C2"]["event_id"] == "abc:E1"
    assert all(r["article_id"] == "abc" for r in rows["sources"] + rows["events"])


def test_evidence_columns_come_from_spans_in_code_points(schema: Schema) -> None:
    rows = article_rows(make_article(), schema)
    ev = rows["events"][0]
    assert ev["evidence_text"] == "a drone 🚀 hit Kyiv at 20:00"
    assert TEXT[ev["char_start"] : ev["char_end"]] == ev["evidence_text"]
    assert rows["sources"][0]["evidence_text"] == "Ann Lee"


def test_article_row_derives_text_count_and_sha(schema: Schema) -> None:
    (row,) = article_rows(make_article(), schema)["articles"]
    assert row["text"] == TEXT
    assert row["char_count"] == len(TEXT)
    assert row["text_sha256"] == hashlib.sha256(TEXT.encode()).hexdigest()
    assert row["published_date"] == dt.date(2023, 5, 4)
    assert row["published_date_note"] is None
    assert "note" not in row


def test_start_utc_from_local_time_and_zone(schema: Schema) -> None:
    (ev,) = article_rows(make_article(), schema)["events"]
    # Kyiv is UTC+3 in May (summer time)
    assert ev["start_utc"] == dt.datetime(2023, 5, 3, 17, 0, tzinfo=dt.UTC)
    assert ev["date_start"] == dt.date(2023, 5, 3)


def test_start_utc_follows_winter_time() -> None:
    assert start_utc("2023-01-10", "20:00", "Europe/Kyiv") == dt.datetime(
        2023, 1, 10, 18, 0, tzinfo=dt.UTC
    )


@pytest.mark.parametrize(
    "missing", [{"time_local": None}, {"timezone": None}, {"date_start": None}]
)
def test_start_utc_empty_when_any_part_missing(schema: Schema, missing: dict[str, Any]) -> None:
    (ev,) = article_rows(make_article(**missing), schema)["events"]
    assert ev["start_utc"] is None


def test_unknown_timezone_is_an_error() -> None:
    with pytest.raises(FactpackError, match="Mars/Base"):
        start_utc("2023-01-10", "20:00", "Mars/Base")


def test_assemble_sorts_by_primary_key_and_uses_arrow_schema(schema: Schema) -> None:
    tables = assemble(
        [article_rows(make_article("b"), schema), article_rows(make_article("a"), schema)],
        schema,
    )
    assert tables["claims"].column("claim_id").to_pylist() == ["a:C1", "a:C2", "b:C1", "b:C2"]
    assert tables["articles"].column("article_id").to_pylist() == ["a", "b"]
    for name, table in tables.items():
        assert table.schema.equals(arrow_schema(schema.table(name)), check_metadata=True)
        assert all(col.num_chunks == 1 for col in table.columns)
    assert tables["events"].schema.field("start_utc").type == pa.timestamp("us", tz="UTC")


def test_assemble_of_nothing_gives_empty_tables(schema: Schema) -> None:
    tables = assemble([], schema)
    assert {t.num_rows for t in tables.values()} == {0}


def test_assemble_reports_a_value_of_the_wrong_type(schema: Schema) -> None:
    rows = article_rows(make_article(), schema)
    rows["events"][0]["latitude"] = "north"
    with pytest.raises(FactpackError, match="events"):
        assemble([rows], schema)


def test_rows_sort_in_reading_order_by_article_then_number() -> None:
    ids = ["b:C10", "a:C2", "b:C9", "a:C10", "a:C1"]
    table = pa.table({"claim_id": ids, "n": list(range(len(ids)))})
    ordered = sort_rows(table, ["claim_id"]).column("claim_id").to_pylist()
    assert ordered == ["a:C1", "a:C2", "a:C10", "b:C9", "b:C10"]


def test_combining_a_table_holds_at_most_two_copies_of_it() -> None:
    """combine_table lets its pieces go before putting the rows in order, a column at a time:
    Arrow's memory peaks at about two copies of the table, not three (run in a fresh process:
    the pool's peak is per process)."""
    import subprocess
    import sys

    code = """
import pyarrow as pa
from factpack.pipeline.tables import combine_table
from factpack.shared.schema import load_schema
table = load_schema(None).tables["articles"]
from factpack.pipeline.tables import build_arrow_schema
schema = build_arrow_schema(table)
def pieces():
    for p in range(20):
        rows = [{f.name: None for f in schema} for _ in range(200)]
        for i, row in enumerate(rows):
            row.update(article_id=f"a{(p * 7919 + i * 104729) % 100000:05d}x{p}_{i}",
                       text="t" * 20000)
        yield pa.Table.from_pylist(rows, schema=schema)
pool = pa.default_memory_pool()
out = combine_table(pieces(), table)
print(pool.max_memory() / out.nbytes)
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert float(run.stdout) < 2.5, run.stdout
