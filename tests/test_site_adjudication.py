"""The review site's adjudication pages (from agreement.json) and its schema.org JSON-LD."""

from __future__ import annotations

import copy
import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from adjudication_helpers import build_seed_release, seed_agreement, write_agreement
from factpack.cli import cli
from factpack.researcher import site
from factpack.shared.problems import FactpackError
from factpack.shared.schemaorg import dataset_jsonld, read_coverage
from test_site import parse_text, write_release

TABLES = ("sources", "events", "claims")


@pytest.fixture(scope="module")
def seed_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed's release without agreement.json (its site built from the tables alone)."""
    release = build_seed_release(tmp_path_factory.mktemp("seed"))
    if (release / "agreement.json").exists():  # a build that ships it: the baseline lacks it
        (release / "agreement.json").unlink()
        site.build_site(release)
    return release


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return seed_agreement()


@pytest.fixture
def release(seed_release: Path, tmp_path: Path) -> Path:
    """A copy of the seed's release, to change."""
    return Path(shutil.copytree(seed_release, tmp_path / seed_release.name))


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def _adjudicated(release: Path, report: dict[str, Any]) -> tuple[str, str]:
    """Write agreement.json, build the site; return (article id, its adjudication page)."""
    write_agreement(release, report)
    site.build_site(release)
    article_id = report["annotations"][0]["article_id"]
    page = release / "site" / "adjudication" / f"{article_id}.html"
    return article_id, page.read_text(encoding="utf-8")


def _text(release: Path, article_id: str) -> str:
    rows = pq.read_table(release / "data" / "articles.parquet").to_pylist()
    return next(str(r["text"]) for r in rows if r["article_id"] == article_id)


def test_without_agreement_json_the_site_does_not_change(release: Path, report: Any) -> None:
    before = _files(release / "site")
    assert not any("adjudication" in name for name in before)
    article_id, _ = _adjudicated(release, report)
    with_it = _files(release / "site")
    page = f"articles/{article_id}.html"
    assert set(with_it) == set(before) | {
        "adjudication.css",
        f"adjudication/{article_id}.html",
    }
    # Only the article page and the index gain their links; style.css is untouched.
    for name in before:
        if name not in (page, "index.html"):
            assert with_it[name] == before[name], name
    (release / "agreement.json").unlink()
    site.build_site(release)
    assert _files(release / "site") == before


def test_article_page_and_index_link_to_the_adjudication_page(release: Path, report: Any) -> None:
    article_id, _ = _adjudicated(release, report)
    index = (release / "site" / "index.html").read_text("utf-8")
    assert re.findall(r'href="(adjudication/[^"]+)"', index) == [f"adjudication/{article_id}.html"]
    article = (release / "site" / "articles" / f"{article_id}.html").read_text("utf-8")
    hrefs = re.findall(r'href="(\.\./adjudication/[^"]+)"', article)
    assert hrefs == [f"../adjudication/{article_id}.html"]
    assert (release / "site" / "articles" / hrefs[0]).resolve().is_file()


def test_each_annotator_spans_are_highlighted_side_by_side(release: Path, report: Any) -> None:
    article_id, page = _adjudicated(release, report)
    text = _text(release, article_id)
    marks = parse_text(page)
    annotators = report["annotations"][0]["annotators"]
    assert sorted(annotators) == ["first", "second"]
    expected = {
        f"{name}:{item['id']}": text[item["char_start"] : item["char_end"]]
        for name, tables in annotators.items()
        for table in TABLES
        for item in tables[table]
    }
    assert marks.text == expected
    # One copy of the text per annotator and table, each the whole text.
    assert page.count('<div class="text"') == len(annotators) * len(TABLES)
    for name in annotators:
        for table, kind in zip(TABLES, ("source", "event", "claim"), strict=True):
            for item in annotators[name][table]:
                (first, *_) = marks.attrs[f"{name}:{item['id']}"]
                assert first["id"] == f"{name}-{item['id']}"
                assert f"hl-{kind}" in str(first["class"])


def test_disagreements_are_marked_and_listed(release: Path, report: Any) -> None:
    _, page = _adjudicated(release, report)
    marks = parse_text(page)
    (comparison,) = report["comparisons"]
    a, b = comparison["a"], comparison["b"]
    items = {
        name: {i["id"]: i for t in TABLES for i in tables[t]}
        for name, tables in report["annotations"][0]["annotators"].items()
    }
    for table in TABLES:
        part = comparison["tables"][table]
        for name, lone in ((a, part["only_a"]), (b, part["only_b"])):
            for local in lone:
                assert all(m["data-status"] == "only" for m in marks.attrs[f"{name}:{local}"])
                assert f'<a href="#{name}-{local}">{local}</a> (characters' in page
        for m in part["matched"]:
            status = "agree" if m["exact"] and not m["differ"] else "differ"
            assert {x["data-status"] for x in marks.attrs[f"{a}:{m['a']}"]} == {status}
            for field in m["differ"]:
                x = _shown(items[a][m["a"]], field, a, b, comparison)
                y = _shown(items[b][m["b"]], field, b, a, comparison)
                assert f"<code>{field}</code>: {x} / {y}" in page, (m, field)
    # The seed's annotators disagree on event dates: listed with both values.
    assert "<code>date_basis</code>:" in page


REFERENCED = {"source_id": "sources", "event_id": "events", "responds_to": "claims"}


def _shown(item: dict[str, Any], field: str, own: str, other: str, comparison: Any) -> str:
    """The expected HTML of a differing value: a code as text; a reference linked to its
    item's highlight, with the item the other annotator has for it (ids are per annotator)."""
    refs = item.get("references") or {}
    value = item["codes"].get(field, refs.get(field))
    if value is None:
        return "(none)"
    if field not in refs:
        return html.escape(str(value).lower() if isinstance(value, bool) else str(value))
    side, other_side = ("a", "b") if own == comparison["a"] else ("b", "a")
    matched = comparison["tables"][REFERENCED[field]]["matched"]
    pair = [m[other_side] for m in matched if m[side] == value]
    counterpart = f"{other}&#39;s {pair[0]}" if pair else "unmatched"
    return f'<a href="#{own}-{value}">{value}</a> <small>({counterpart})</small>'


def test_figures_of_the_article_and_of_the_release(release: Path, report: Any) -> None:
    _, page = _adjudicated(release, report)
    for table in TABLES:
        spans = report["tables"][table]["spans"]
        o = spans["overlap"]
        # One article, one pair: the article's figures are the release's.
        row = (
            f'<td class="num">{o["items_a"]} / {o["items_b"]}</td><td class="num">'
            f"{o['matched']}</td>"
        )
        assert row in page
        assert f'<td class="num">{o["f1"]:.3f}</td>' in page
        assert f"{table}: span F1 {o['f1']:.3f} (overlap), {spans['exact']['f1']:.3f} (exact)" in (
            page
        )
        for field, c in report["tables"][table]["codes"].items():
            alpha = f"{c['alpha']:.3f}" if c["alpha"] is not None else f"n/a ({c['items']} items"
            assert f'<tr><td><code>{field}</code></td><td class="num">{alpha}' in page


def test_adjudication_notes_are_shown_when_present(release: Path, report: Any) -> None:
    _, page = _adjudicated(release, report)
    notes = report["annotations"][0]["adjudication"]
    assert notes, "the seed's published annotation carries adjudication notes"
    for note in notes:
        assert " ".join(note["decision"].split()) in " ".join(html.unescape(page).split())
        for e in note.get("evidence") or []:
            if e.get("url"):
                assert f'href="{html.escape(e["url"])}"' in page
    plain = copy.deepcopy(report)
    del plain["annotations"][0]["adjudication"]
    _, page = _adjudicated(release, plain)
    assert "agreement.json carries no adjudication notes for this article." in page


def test_agreement_json_is_read_once_per_build(
    release: Path, report: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_agreement(release, report)
    calls = []
    real = site.read_agreement
    monkeypatch.setattr(site, "read_agreement", lambda d: calls.append(d) or real(d))
    site.build_site(release)
    assert calls == [release]


def test_names_and_notes_are_escaped(release: Path, report: Any) -> None:
    bad = copy.deepcopy(report)
    entry = bad["annotations"][0]
    entry["annotators"] = {
        "<b>x</b>" if k == "first" else k: v for k, v in entry["annotators"].items()
    }
    bad["comparisons"][0]["a"] = "<b>x</b>"
    entry["adjudication"] = [
        {"items": ["E1"], "decision": "<script>alert(1)</script>", "reason": "r"}
    ]
    _, page = _adjudicated(release, bad)
    assert "<b>x</b>" not in page and "<script>alert" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    assert 'id="-b-x--b--S1"' in page  # an HTML id without markup characters


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r, p: p.write_text("{not json", "utf-8"), "line 1: not JSON"),
        (lambda r, p: write_agreement(p.parent, {**r, "format": "x/9"}), "format 'x/9' is not"),
        (
            lambda r, p: write_agreement(
                p.parent, {**r, "annotations": [{**r["annotations"][0], "article_id": "zz9"}]}
            ),
            "article zz9 (000_a4c96cb10ee97359) is not in data/articles.parquet",
        ),
        (
            lambda r, p: write_agreement(
                p.parent, {**r, "comparisons": [{"stem": "x", "a": "first"}]}
            ),
            "not the shape factpack writes (KeyError: 'b')",
        ),
        (lambda r, p: _far_offsets(r, p), "first claims C1: offsets 0..999999 lie outside"),
    ],
)
def test_bad_agreement_json_is_a_one_line_error(
    release: Path, report: Any, change: Any, message: str
) -> None:
    path = release / "agreement.json"
    change(report, path)
    with pytest.raises(FactpackError) as info:
        site.build_site(release)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert "agreement.json" in str(info.value)
    result = CliRunner().invoke(cli, ["site", str(release)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert message in result.output


def _far_offsets(report: dict[str, Any], path: Path) -> None:
    bad = copy.deepcopy(report)
    claim = bad["annotations"][0]["annotators"]["first"]["claims"][0]
    claim["char_start"], claim["char_end"] = 0, 999999
    write_agreement(path.parent, bad)


# --- schema.org JSON-LD ----------------------------------------------------------------------

LD = re.compile(r'<script type="application/ld\+json">\n(.*?)\n</script>', re.S)


def test_index_embeds_the_schema_org_dataset(seed_release: Path) -> None:
    index = (seed_release / "site" / "index.html").read_text("utf-8")
    (found,) = LD.findall(index)
    doc = json.loads(found)
    descriptor = json.loads((seed_release / "datapackage.json").read_text("utf-8"))
    files = ["datapackage.json"] + [r["path"] for r in descriptor["resources"]]
    cover = read_coverage(seed_release, site.TABLES)
    assert doc == dataset_jsonld(descriptor, cover, files)
    assert doc["@type"] == "Dataset" and doc["temporalCoverage"]
    assert {d["contentUrl"] for d in doc["distribution"]} >= {"data/claims.parquet"}


def test_json_ld_cannot_close_its_script(tmp_path: Path) -> None:
    release = write_release(tmp_path / "fixture-pack-0.0.1")
    descriptor = json.loads((release / "datapackage.json").read_text("utf-8"))
    hostile = "A </script><script>alert(1)</script> <!-- & end"
    descriptor["description"] = hostile
    (release / "datapackage.json").write_text(json.dumps(descriptor), "utf-8")
    site.build_site(release)
    index = (release / "site" / "index.html").read_text("utf-8")
    (found,) = LD.findall(index)
    assert "<" not in found and ">" not in found and "&" not in found
    assert json.loads(found)["description"] == hostile
    assert index.count("</script>") == 1  # the JSON-LD's own


def test_json_for_script_round_trips() -> None:
    doc = {"a": "</script>", "b": ["<!--", "&amp;", "é"], "c": 1}
    text = site.json_for_script(doc)
    assert "</" not in text and json.loads(text) == doc
