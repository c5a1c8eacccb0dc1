"""The review site of a release that withholds its article texts (issue 18).

Every page works without the text: the article page lists each source, event and claim with
its evidence quote and offsets and says how to hydrate; the adjudication page lists each
annotator's items; the index says which texts are withheld. No page holds the text beyond
the quotes.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from adjudication_helpers import seed_agreement, write_agreement
from factpack.researcher import site
from factpack.shared.problems import FactpackError
from factpack.shared.write import null_count
from test_site import A1, A2, TEXT1, fixture_rows, write_release
from withheld_helpers import leaked_stretches, page_readings, withheld_seed_release

TABLES = ("sources", "events", "claims")


def _withheld_rows(*ids: str) -> dict[str, list[dict[str, Any]]]:
    rows = fixture_rows()
    for article in rows["articles"]:
        if article["article_id"] in ids:
            article["text"] = None
    return rows


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """The two-article fixture release with the first article's text withheld."""
    return write_release(tmp_path / "fixture-pack-0.0.1", _withheld_rows(A1))


def _page(release: Path, article_id: str) -> str:
    return (release / "site" / "articles" / f"{article_id}.html").read_text("utf-8")


def test_withheld_article_page_quotes_every_row_with_its_offsets(release: Path) -> None:
    site.build_site(release)
    page = _page(release, A1)
    assert '<div class="text"' not in page
    rows = fixture_rows()
    for table in TABLES:
        id_col = f"{table[:-1]}_id"
        for row in (r for r in rows[table] if r["article_id"] == A1):
            local = row[id_col].split(":")[1]
            quote = re.search(
                rf'<li class="quote quote-{table[:-1]}"><a href="#row-{local}">{local}</a> '
                rf"<small>characters {row['char_start']}–{row['char_end']}</small><br>"
                rf'<q><mark class="hl hl-{table[:-1]}" data-id="{re.escape(row[id_col])}"'
                rf'[^>]* id="span-{local}" tabindex="0"[^>]*>([^<]*)</mark></q></li>',
                page,
            )
            assert quote, row[id_col]
            assert html.unescape(quote.group(1)) == row["evidence_text"]
            assert f'id="row-{local}"' in page and f'href="#span-{local}"' in page
    # In text order, the longer span first at the same start.
    order = re.findall(r'<li class="quote quote-\w+"><a href="#row-(\w+)"', page)
    assert order == ["C1", "S1", "E1", "C2", "S2", "C3"]
    # The metadata stays; the relations and the side list too.
    assert fixture_rows()["articles"][0]["text_sha256"] in page
    assert '<a href="#span-C2">C2</a> (Washington) <strong>denies</strong>' in page
    assert "<dt>factuality</dt><dd>alleged</dd>" in page


def test_withheld_article_page_says_how_to_hydrate(release: Path) -> None:
    site.build_site(release)
    page = _page(release, A1)
    assert "withheld from this release" in page
    assert "factpack hydrate fixture-pack-0.0.1 --texts texts/" in page
    assert f"texts/{A1}.txt" in page


def test_withheld_page_holds_no_text_beyond_the_quotes(tmp_path: Path) -> None:
    rows = _withheld_rows(A1)
    # C3's claim text is its quote verbatim, after "by Washington: " on the page: data, not
    # the article's text, but it would read as a stretch with the space before it.
    rows["claims"][2]["claim_text"] = "it did nothing"
    release = write_release(tmp_path / "fixture-pack-0.0.1", rows)
    site.build_site(release)
    files = [r for p in (release / "site").rglob("*.html") for r in page_readings(p.read_text())]
    quotes = [r["evidence_text"] for t in TABLES for r in fixture_rows()[t]]
    assert leaked_stretches(TEXT1, quotes, files, size=30) == []
    # The check finds a stretch where there is one: the article with its text.
    assert leaked_stretches(TEXT1, quotes, [TEXT1], size=30)


def test_an_article_with_its_text_is_unchanged_beside_a_withheld_one(tmp_path: Path) -> None:
    full = write_release(tmp_path / "full")
    part = write_release(tmp_path / "part", _withheld_rows(A1))
    site.build_site(full)
    site.build_site(part)
    assert _page(full, A2) == _page(part, A2)
    assert _page(full, A1) != _page(part, A1)


def test_withheld_index_says_which_texts_and_how_to_hydrate(release: Path, tmp_path: Path) -> None:
    site.build_site(release)
    index = (release / "site" / "index.html").read_text("utf-8")
    assert "The texts of 1 of these 2 articles are withheld" in index
    assert "factpack hydrate fixture-pack-0.0.1 --texts texts/" in index
    full = write_release(tmp_path / "full")
    site.build_site(full)
    assert "withheld" not in (full / "site" / "index.html").read_text("utf-8")


def test_withheld_offsets_past_char_count_are_an_error(tmp_path: Path) -> None:
    rows = _withheld_rows(A1)
    rows["articles"][0]["char_count"] = 20
    write_release(tmp_path, rows)
    with pytest.raises(FactpackError, match=r"within the article's char_count \(20\)"):
        site.build_site(tmp_path)


def test_withheld_quote_longer_than_its_span_is_an_error(tmp_path: Path) -> None:
    rows = _withheld_rows(A1)
    rows["claims"][0]["char_end"] -= 1
    write_release(tmp_path, rows)
    with pytest.raises(FactpackError, match=r"claims\.parquet: .*:C1: char_start\.\.char_end"):
        site.build_site(tmp_path)


def test_quote_cutter_knows_only_what_a_quote_covers() -> None:
    cut = site.quote_cutter([(10, 20, "0123456789", "S1"), (15, 30, "abcdefghijklmno", "C1")])
    assert cut(10, 20) == "0123456789"
    assert cut(12, 14) == "23"
    assert cut(16, 30) == "bcdefghijklmno"
    assert cut(5, 12) is None  # starts before every quote
    assert cut(18, 31) is None  # ends past every quote that covers its start


def test_null_count_reads_the_statistics(tmp_path: Path) -> None:
    write_release(tmp_path, _withheld_rows(A1, A2))
    assert null_count(tmp_path / "data" / "articles.parquet", "text") == 2
    assert null_count(tmp_path / "data" / "articles.parquet", "no_such_column") == 0


# --- the seed's release, withheld, with its agreement.json -----------------------------------


@pytest.fixture(scope="module")
def seed_withheld(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, Any]]:
    """The seed's release with agreement.json and its text withheld, its site built.

    Returns (release, the seed's text, the agreement report).
    """
    release, text = withheld_seed_release(tmp_path_factory.mktemp("seed-withheld"))
    assert pq.read_table(release / "data" / "articles.parquet").column("text").null_count == 1
    report = seed_agreement()
    write_agreement(release, report)
    site.build_site(release)
    return release, text, report


def test_withheld_adjudication_page_lists_each_annotators_items(seed_withheld: Any) -> None:
    release, text, report = seed_withheld
    (entry,) = report["annotations"]
    page = (release / "site" / "adjudication" / f"{entry['article_id']}.html").read_text("utf-8")
    assert '<div class="text"' not in page
    assert "The text of this article is withheld" in page
    quotes = {
        (r["char_start"], r["char_end"])
        for t in TABLES
        for r in pq.read_table(release / "data" / f"{t}.parquet").to_pylist()
    }
    quoted = unquoted = 0
    for name, tables in entry["annotators"].items():
        for table in TABLES:
            for item in tables[table]:
                start, end = item["char_start"], item["char_end"]
                found = re.search(
                    rf'<li>(<q>)?<mark [^>]*data-id="{name}:{item["id"]}"[^>]* id="{name}-'
                    rf'{item["id"]}"[^>]*>([^<]*)</mark>(</q>)? <small>characters {start}–{end}',
                    page,
                )
                assert found, (name, item["id"])
                if found.group(1):
                    assert html.unescape(found.group(2)) == text[start:end]
                    quoted += 1
                else:
                    assert found.group(2) == "…"
                    assert not any(s <= start and end <= e for s, e in quotes)
                    unquoted += 1
    assert quoted > 0
    # The pair's lists still link every disagreement to its item.
    assert 'href="#first-' in page and 'href="#second-' in page


def test_no_page_of_the_withheld_seed_holds_its_text_beyond_a_quote(seed_withheld: Any) -> None:
    release, text, _ = seed_withheld
    files = [r for p in (release / "site").rglob("*.html") for r in page_readings(p.read_text())]
    quotes = [
        str(r["evidence_text"])
        for t in TABLES
        for r in pq.read_table(release / "data" / f"{t}.parquet").to_pylist()
    ]
    body = text.split("\n", 1)[1]  # past the title line, as issue 18 asks
    assert leaked_stretches(body, quotes, files) == []


def test_withheld_article_page_of_the_seed_quotes_every_row(seed_withheld: Any) -> None:
    release, _, _ = seed_withheld
    (row,) = pq.read_table(release / "data" / "articles.parquet").to_pylist()
    page = _page(release, row["article_id"])
    rows = [r for t in TABLES for r in pq.read_table(release / "data" / f"{t}.parquet").to_pylist()]
    assert page.count('<li class="quote quote-') == len(rows)
    unescaped = html.unescape(page)
    assert all("<q>" in page and r["evidence_text"] in unescaped for r in rows)
