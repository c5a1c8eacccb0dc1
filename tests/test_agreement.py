"""pipeline/agreement.py on small hand-made annotations with hand-computed answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from factpack.pipeline import agreement as ag
from factpack.pipeline.article import Article
from factpack.shared.schema import load_schema

SCHEMA = load_schema()
ID_KEYS = dict(ag.TABLES)


def article(**tables: list[dict[str, Any]]) -> Article:
    """An annotation in memory: each item gives its id, ``span`` and any fields."""
    doc: dict[str, Any] = {}
    spans = {}
    for table, items in tables.items():
        doc[table] = []
        for item in items:
            raw = {k: v for k, v in item.items() if k != "span"}
            doc[table].append(raw)
            spans[(table, raw[ID_KEYS[table]])] = item["span"]
    return Article("x", "001_x", "", doc, spans)


def source(sid: str, span: tuple[int, int], kind: str = "person", named: bool = True) -> dict:
    return {"source_id": sid, "span": span, "source_kind": kind, "is_named": named}


def claim(cid: str, span: tuple[int, int], sid: str, eid: str | None = None, **kw: Any) -> dict:
    base = {"claim_id": cid, "span": span, "source_id": sid, "event_id": eid}
    base.update({"claim_kind": "assertion", "certainty": "certain", "is_direct_quote": False})
    return {**base, **kw}


def item(i: str, start: int, end: int) -> ag.Item:
    return ag.Item(i, start, end)


def test_coded_fields_come_from_the_schema() -> None:
    assert ag.coded_fields(SCHEMA, "sources") == ["source_kind", "is_named"]
    assert set(ag.coded_fields(SCHEMA, "events")) >= {
        "event_type",
        "sub_event_type",
        "factuality",
        "date_precision",
    }
    assert ag.coded_fields(SCHEMA, "claims") == [
        "is_direct_quote",
        "claim_kind",
        "certainty",
        "relation",
    ]


def test_matching_is_one_to_one_by_greatest_overlap() -> None:
    a = [item("A1", 0, 10), item("A2", 8, 12)]
    b = [item("B1", 5, 20), item("B2", 0, 8)]
    # A1 overlaps B1 by 5 and B2 by 8: B2 wins; A2 then takes B1 (overlap 4).
    assert ag.match(a, b) == [(0, 1), (1, 0)]
    # One-to-one: A2 overlaps B1 too, but B1 is taken by the larger overlap with A1.
    assert ag.match(a, [item("B1", 0, 10)]) == [(0, 0)]
    # Touching spans (half-open) do not overlap.
    assert ag.match([item("A", 0, 5)], [item("B", 5, 9)]) == []


def test_matching_ties_go_to_the_closer_span_then_document_order() -> None:
    a = [item("A1", 0, 10)]
    b = [item("B1", 2, 6), item("B2", 4, 8)]  # both overlap 4; B1 is closer (2+4 vs 4+2)
    assert ag.match(a, b) == [(0, 0)]
    b = [item("B1", 2, 6), item("B2", 2, 6)]
    assert ag.match(a, b) == [(0, 0)]


def test_perfect_agreement() -> None:
    ann = article(
        sources=[source("S1", (0, 5)), source("S2", (10, 15), "group", False)],
        claims=[claim("C1", (0, 30), "S1"), claim("C2", (10, 40), "S2")],
    )
    result = ag.agreement({"001_x": {"ann": ann, "bob": ann}}, SCHEMA)
    assert result["pairs"] == 1
    for table in ("sources", "claims"):
        for kind in ("exact", "overlap"):
            spans = result["tables"][table]["spans"][kind]
            assert (spans["precision"], spans["recall"], spans["f1"]) == (1.0, 1.0, 1.0)
    kind = result["tables"]["sources"]["codes"]["source_kind"]
    assert kind == {
        "alpha": None,
        "alpha_undefined": "fewer than 10 items",
        "agreement": 1.0,
        "items": 2,
        "categories": 2,
    }
    refs = result["tables"]["claims"]["references"]
    assert refs["claim -> source"] == {"field": "source_id", "agreement": 1.0, "items": 2}
    assert refs["claim -> event"]["agreement"] == 1.0  # both empty agree


def test_no_agreement() -> None:
    a = article(sources=[source("S1", (0, 5))])
    b = article(sources=[source("S1", (20, 25))])
    result = ag.agreement({"001_x": {"a": a, "b": b}}, SCHEMA)
    spans = result["tables"]["sources"]["spans"]["overlap"]
    assert (spans["precision"], spans["recall"], spans["f1"], spans["matched"]) == (0, 0, 0, 0)
    codes = result["tables"]["sources"]["codes"]["is_named"]
    assert (codes["alpha"], codes["agreement"], codes["items"]) == (None, None, 0)
    # A table nobody annotated has no figures at all.
    events = result["tables"]["events"]["spans"]["exact"]
    assert (events["precision"], events["recall"], events["f1"]) == (None, None, None)


def test_partial_overlap_counts_for_overlap_not_exact() -> None:
    a = article(sources=[source("S1", (0, 10)), source("S2", (20, 30))])
    b = article(sources=[source("S1", (2, 10)), source("S2", (20, 30))])
    spans = ag.agreement({"001_x": {"a": a, "b": b}}, SCHEMA)["tables"]["sources"]["spans"]
    assert spans["exact"]["matched"] == 1 and spans["exact"]["f1"] == 0.5
    assert spans["overlap"]["matched"] == 2 and spans["overlap"]["f1"] == 1.0


def test_one_annotator_missing_an_item() -> None:
    a = article(sources=[source("S1", (0, 5)), source("S2", (10, 15))])
    b = article(sources=[source("S7", (0, 5))])
    spans = ag.agreement({"001_x": {"a": a, "b": b}}, SCHEMA)["tables"]["sources"]["spans"]
    overlap = spans["overlap"]
    # a is the reference: precision 1/1, recall 1/2, F1 2*1/(2+1)
    assert overlap["precision"] == 1.0
    assert overlap["recall"] == 0.5
    assert overlap["f1"] == pytest.approx(2 / 3)
    assert (overlap["items_a"], overlap["items_b"]) == (2, 1)


def test_alpha_matches_the_hand_computed_value() -> None:
    # is_named of 10 matched sources; coder b differs on the fifth only.
    # n = 20 values: 9 false, 11 true. Observed disagreement Do = 2/20 (one unit, both orders);
    # expected De = 2*9*11 / (20*19) = 198/380; alpha = 1 - Do/De = 1 - 38/198 = 160/198.
    named_a = [False] * 5 + [True] * 5
    named_b = [False] * 4 + [True] * 6
    a = article(
        sources=[source(f"S{i}", (i * 10, i * 10 + 5), named=v) for i, v in enumerate(named_a)]
    )
    b = article(
        sources=[source(f"S{i}", (i * 10, i * 10 + 5), named=v) for i, v in enumerate(named_b)]
    )
    codes = ag.agreement({"001_x": {"a": a, "b": b}}, SCHEMA)["tables"]["sources"]["codes"]
    assert codes["is_named"]["alpha"] == pytest.approx(160 / 198)
    assert codes["is_named"]["agreement"] == pytest.approx(0.9)
    assert codes["is_named"]["items"] == 10
    # Every source is a person: one category, alpha undefined though agreement is perfect.
    assert codes["source_kind"]["alpha"] is None
    assert codes["source_kind"]["alpha_undefined"] == "one category only"
    assert codes["source_kind"]["agreement"] == 1.0


def test_alpha_of_four_categories_by_hand() -> None:
    pairs = list(zip("aaabbbcccddd", "abacbbcdcdad", strict=True))
    got = ag.code_figures(pairs)
    # 12 units, 4 disagree: Do = 2*4/24. Category totals a, b, c, d: 6 each, so
    # De = (24*24 - 4*36) / (24*23) = 432/552; alpha = 1 - (8/24)/(432/552) = 0.574...
    assert got["alpha"] == pytest.approx(1 - (8 / 24) / (432 / 552))
    assert got["alpha"] == pytest.approx(0.574074, abs=1e-6)
    assert got["agreement"] == pytest.approx(8 / 12)
    assert (got["items"], got["categories"]) == (12, 4)


def test_empty_values_are_a_category() -> None:
    pairs = [(None, None)] * 9 + [("denies", None)]
    got = ag.code_figures(pairs)
    assert got["categories"] == 2 and got["agreement"] == pytest.approx(0.9)
    assert got["alpha"] is not None


def test_display_of_missing_figures() -> None:
    assert ag.display(None, 3) == "n/a (3 items)"
    assert ag.display(None, 1) == "n/a (1 item)"
    assert ag.display(None) == "n/a"
    assert ag.display(0.80808) == "0.808"


def test_references_agree_only_through_matched_items() -> None:
    a = article(
        sources=[source("S1", (0, 5)), source("S2", (10, 15))],
        events=[{"event_id": "E1", "span": (50, 60)}],
        claims=[
            claim("C1", (0, 30), "S1", "E1"),
            claim("C2", (10, 40), "S2", None, responds_to="C1", relation="denies"),
        ],
    )
    b = article(
        sources=[source("S2", (0, 5)), source("S1", (10, 15))],  # other ids, same spans
        events=[{"event_id": "E1", "span": (50, 60)}],
        claims=[
            claim("C1", (0, 30), "S2", None),  # right source, event missing
            claim("C2", (10, 40), "S2", None, responds_to="C1", relation="disputes"),
        ],
    )
    result = ag.agreement({"001_x": {"a": a, "b": b}}, SCHEMA)
    refs = result["tables"]["claims"]["references"]
    # C1: S1~S2 (matched) agree; C2: S2 vs S2, but a's S2 matches b's S1: disagree.
    assert refs["claim -> source"]["agreement"] == 0.5
    assert refs["claim -> event"]["agreement"] == 0.5  # C1 E1 vs none; C2 none vs none
    assert refs["responds_to"]["agreement"] == 1.0
    relation = result["tables"]["claims"]["codes"]["relation"]
    assert (relation["agreement"], relation["items"]) == (0.5, 2)


def test_articles_with_one_annotation_are_not_compared() -> None:
    ann = article(sources=[source("S1", (0, 5))])
    result = ag.agreement({"001_x": {"a": ann}, "002_y": {"a": ann, "b": ann}}, SCHEMA)
    assert result["articles"] == [{"stem": "002_y", "annotators": ["a", "b"]}]
    assert result["tables"]["sources"]["spans"]["exact"]["matched"] == 1


def test_three_annotators_compare_every_pair() -> None:
    ann = article(sources=[source("S1", (0, 5))])
    result = ag.agreement({"001_x": {"c": ann, "a": ann, "b": ann}}, SCHEMA)
    assert result["pairs"] == 3
    assert result["tables"]["sources"]["codes"]["is_named"]["items"] == 3


def test_agreement_report_carries_each_annotators_items_and_the_disagreements() -> None:
    a = article(sources=[source("S1", (0, 5)), source("S2", (10, 15))])
    b = article(sources=[source("S1", (0, 6), "group")])
    report = ag.agreement_report({"001_x": {"ann": a, "bob": b}}, SCHEMA)
    assert json.loads(json.dumps(report)) == report  # JSON-able as it is
    assert report["format"] == "factpack-agreement/1"
    assert report["tables"]["sources"]["spans"]["overlap"]["matched"] == 1
    (entry,) = report["annotations"]
    assert entry["stem"] == "001_x" and entry["article_id"] == "x"
    assert entry["annotators"]["bob"]["sources"] == [
        {
            "id": "S1",
            "char_start": 0,
            "char_end": 6,
            "codes": {"source_kind": "group", "is_named": True},
        }
    ]
    (comparison,) = report["comparisons"]
    assert comparison["a"] == "ann" and comparison["b"] == "bob"
    assert comparison["tables"]["sources"] == {
        "matched": [{"a": "S1", "b": "S1", "exact": False, "differ": ["source_kind"]}],
        "only_a": ["S2"],
        "only_b": [],
    }


def test_render_text_and_markdown() -> None:
    a = article(sources=[source("S1", (0, 5)), source("S2", (10, 15))])
    b = article(sources=[source("S1", (0, 6))])
    figures = ag.agreement({"001_x": {"ann": a, "bob": b}}, SCHEMA)
    text = ag.render_text(figures)
    assert "== sources ==" in text and "n/a (1 item)" in text
    assert max(len(line) for line in text.splitlines() if not line.startswith("-")) <= 100
    overlap = next(line for line in text.splitlines() if line.startswith("overlap"))
    assert overlap.split() == ["overlap", "1.000", "0.500", "0.667", "1", "2", "1"]
    md = ag.render_text(figures, markdown=True)
    assert "### claims" in md and "| overlap " in md and "|---" in md.replace(":", "-")
