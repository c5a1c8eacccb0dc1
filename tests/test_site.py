"""The review site: built from a release's own tables, spans highlighted, deterministic."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner

from factpack.cli import cli
from factpack.researcher import site
from factpack.shared.problems import FactpackError

ROOT = Path(__file__).resolve().parents[1]
ARROW_TYPES = {
    "string": pa.string(),
    "integer": pa.int64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("s", tz="UTC"),
    "number": pa.float64(),
}
A1 = "aaaa000000000001"
A2 = "bbbb000000000002"
# Curly quotes, a non-BMP emoji before the spans (code points != UTF-16 units), an event that
# overlaps a claim without nesting, two claims that overlap each other, a claim that denies.
TEXT1 = (
    "Kremlin 🚀 row\n"
    "Moscow claimed the “US” was behind the attack on the Kremlin on Wednesday.\n"
    "Washington denies this, saying it “did nothing”.\n"
)
TEXT2 = "Quiet day\nNothing happened in Kyiv, residents said.\n"


def _fields() -> dict[str, list[dict[str, Any]]]:
    """The table schemas as the release's descriptor carries them (enums from vocabularies)."""
    vocab = yaml.safe_load((ROOT / "schema" / "vocabularies.yaml").read_text(encoding="utf-8"))
    out = {}
    for table in site.TABLES:
        doc = yaml.safe_load((ROOT / "schema" / "tables" / f"{table}.yaml").read_text("utf-8"))
        fields = []
        for f in doc["fields"]:
            field = {k: v for k, v in f.items() if k != "vocabulary"}
            if "vocabulary" in f:
                enum = list(vocab[f["vocabulary"]]["values"])
                field["constraints"] = {**field.get("constraints", {}), "enum": enum}
            fields.append(field)
        out[table] = fields
    return out


def _span(text: str, exact: str, nth: int = 0) -> dict[str, Any]:
    start = -1
    for _ in range(nth + 1):
        start = text.index(exact, start + 1)
    return {"evidence_text": exact, "char_start": start, "char_end": start + len(exact)}


def fixture_rows() -> dict[str, list[dict[str, Any]]]:
    """Rows of a two-article release (article 1 has every hard case)."""
    import hashlib

    def article(aid: str, text: str, title: str, date: dt.date | None) -> dict[str, Any]:
        return {
            "article_id": aid,
            "title": title,
            "publisher": "The Daily Fixture",
            "url": None,
            "published_date": date,
            "published_date_basis": "stated" if date else "unknown",
            "published_date_note": None,
            "language": "en",
            "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "text": text,
            "char_count": len(text),
        }

    def source(aid: str, n: int, name: str, kind: str, text: str, exact: str) -> dict[str, Any]:
        return {
            "source_id": f"{aid}:S{n}",
            "article_id": aid,
            "name": name,
            "source_kind": kind,
            "role": None,
            "affiliation": None,
            "country": None,
            "is_named": True,
            "wikidata_qid": None,
            **_span(text, exact),
        }

    def event(aid: str, n: int, text: str, exact: str, **kw: Any) -> dict[str, Any]:
        row = {
            "event_id": f"{aid}:E{n}",
            "article_id": aid,
            "event_type": "Explosions/Remote violence",
            "sub_event_type": "Air/drone strike",
            "summary": "A drone attack on the Kremlin",
            "factuality": "alleged",
            "date_start": None,
            "date_end": None,
            "date_precision": "unknown",
            "date_basis": "unknown",
            "date_note": None,
            "time_local": None,
            "timezone": None,
            "start_utc": None,
            "location_name": "Kremlin, Moscow",
            "country": "RU",
            "latitude": None,
            "longitude": None,
            "geo_precision": "site",
            "actor": None,
            "target": "Kremlin",
            **_span(text, exact),
        }
        row.update(kw)
        return row

    def claim(aid: str, n: int, src: int, text: str, exact: str, **kw: Any) -> dict[str, Any]:
        row = {
            "claim_id": f"{aid}:C{n}",
            "article_id": aid,
            "source_id": f"{aid}:S{src}",
            "event_id": None,
            "claim_text": exact,
            "is_direct_quote": False,
            "cue": "said",
            "claim_kind": "assertion",
            "certainty": "certain",
            "responds_to": None,
            "relation": None,
            **_span(text, exact),
        }
        row.update(kw)
        return row

    return {
        "articles": [
            article(A1, TEXT1, "Kremlin 🚀 row", dt.date(2023, 5, 4)),
            article(A2, TEXT2, "Quiet day", None),
        ],
        "sources": [
            source(A1, 1, "Moscow", "government", TEXT1, "Moscow"),
            source(A1, 2, "Washington", "government", TEXT1, "Washington"),
            source(A2, 1, "residents", "group", TEXT2, "residents"),
        ],
        "events": [
            event(
                A1,
                1,
                TEXT1,
                "the attack on the Kremlin on Wednesday",
                date_start=dt.date(2023, 5, 3),
                date_end=dt.date(2023, 5, 3),
                date_precision="day",
                date_basis="inferred",
                date_note="Wednesday before publication",
                time_local="02:30",
                timezone="Europe/Moscow",
                start_utc=dt.datetime(2023, 5, 2, 23, 30, tzinfo=dt.UTC),
            ),
            event(A2, 1, TEXT2, "Nothing happened in Kyiv", summary="Nothing", factuality="denied"),
        ],
        "claims": [
            claim(
                A1,
                1,
                1,
                TEXT1,
                "Moscow claimed the “US” was behind the attack",
                claim_kind="accusation",
                cue="claimed",
                event_id=f"{A1}:E1",
                claim_text="the US was behind the attack",
            ),
            claim(
                A1,
                2,
                2,
                TEXT1,
                "Washington denies this",
                claim_kind="denial",
                cue="denies",
                responds_to=f"{A1}:C1",
                relation="denies",
            ),
            claim(A1, 3, 2, TEXT1, "denies this, saying it “did nothing”", cue="saying"),
        ],
    }


def write_release(directory: Path, rows: dict[str, list[dict[str, Any]]] | None = None) -> Path:
    """Write a release (datapackage.json + data/<table>.parquet) the way the build lays it out."""
    rows = fixture_rows() if rows is None else rows
    fields = _fields()
    (directory / "data").mkdir(parents=True, exist_ok=True)
    resources = []
    for table in site.TABLES:
        schema = pa.schema([(f["name"], ARROW_TYPES[f["type"]]) for f in fields[table]])
        data = pa.Table.from_pylist(rows[table], schema=schema).combine_chunks()
        pq.write_table(data, directory / "data" / f"{table}.parquet")
        resources.append(
            {
                "name": table,
                "title": table.title(),
                "description": f"Fixture description of the {table} table.",
                "path": f"data/{table}.parquet",
                "format": "parquet",
                "schema": {"fields": fields[table], "primaryKey": [fields[table][0]["name"]]},
            }
        )
    descriptor = {
        "name": "fixture-pack",
        "title": "Fixture pack",
        "description": "A fixture release for the site tests.",
        "version": "0.0.1",
        "created": "2026-01-01T00:00:00Z",
        "licenses": [{"name": "CC-BY-4.0", "path": "https://example.org/cc-by"}],
        "contributors": [{"title": "fixture authors"}],
        "resources": resources,
    }
    (directory / "datapackage.json").write_text(json.dumps(descriptor, indent=2), "utf-8")
    return directory


class Marks(HTMLParser):
    """Collect, per data-id, the text inside its <mark> pieces; check the nesting is proper."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str | None] = []
        self.text: dict[str, str] = {}
        self.attrs: dict[str, list[dict[str, str | None]]] = {}
        self.plain: list[str] = []
        self.in_text = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "div" and a.get("class") == "text":
            self.in_text = 1
            self.stack = []
            return
        if not self.in_text:
            return
        self.stack.append(a.get("data-id") if tag == "mark" else tag)
        if tag == "mark":
            self.attrs.setdefault(str(a["data-id"]), []).append(a)
        if tag == "div":
            self.in_text += 1

    def handle_endtag(self, tag: str) -> None:
        if not self.in_text:
            return
        if not self.stack:
            self.in_text = 0
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not self.in_text:
            return
        self.plain.append(data)
        for mark_id in {m for m in self.stack if m}:
            self.text[mark_id] = self.text.get(mark_id, "") + data


def parse_text(page: str) -> Marks:
    parser = Marks()
    parser.feed(page)
    assert parser.stack == [], "marks are not properly nested"
    return parser


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return write_release(tmp_path / "fixture-pack-0.0.1")


def test_highlight_keeps_the_text_and_every_span_exact() -> None:
    text = "ab😀cdefgh"
    spans = [
        site.Span(1, 6, "claim", "x:C1", "C1", "t"),  # b😀cde
        site.Span(3, 8, "event", "x:E1", "E1", "t"),  # cdefg: overlaps C1, not nested
        site.Span(2, 4, "source", "x:S1", "S1", "t"),  # 😀c: nested in C1, overlaps E1
        site.Span(1, 6, "source", "x:S2", "S2", "t"),  # same extent as C1: nested inside it
    ]
    out = site.highlight(text, spans)
    parsed = parse_text(f'<div class="text">{out}</div>')
    assert "".join(parsed.plain) == text
    for s in spans:
        assert parsed.text[s.row_id] == text[s.start : s.end]
        firsts = [a for a in parsed.attrs[s.row_id] if a.get("id")]
        assert len(firsts) == 1 and firsts[0]["id"] == f"span-{s.local}"
        assert firsts[0]["tabindex"] == "0"
    # The claim is outer at equal extent; the overlapping event is split, not the claim.
    assert out.startswith('a<mark class="hl hl-claim"')
    assert len(parsed.attrs["x:C1"]) == 1
    assert len(parsed.attrs["x:E1"]) == 3  # reopened after S1 ends and after C1 ends


def test_build_site_writes_index_articles_and_css(release: Path) -> None:
    written = site.build_site(release)
    rel = sorted(p.relative_to(release).as_posix() for p in written)
    assert rel == [
        f"site/articles/{A1}.html",
        f"site/articles/{A2}.html",
        "site/index.html",
        "site/style.css",
    ]
    assert all(p.is_file() for p in written)


def test_article_page_highlights_every_row_with_its_evidence(release: Path) -> None:
    site.build_site(release)
    page = (release / "site" / "articles" / f"{A1}.html").read_text("utf-8")
    parsed = parse_text(page)
    assert "".join(parsed.plain) == TEXT1
    rows = fixture_rows()
    for table, col in (("sources", "source_id"), ("events", "event_id"), ("claims", "claim_id")):
        for row in rows[table]:
            if row["article_id"] != A1:
                continue
            assert parsed.text[row[col]] == row["evidence_text"]
            local = row[col].split(":")[1]
            kind = table[:-1]
            assert all(a["class"] == f"hl hl-{kind}" for a in parsed.attrs[row[col]])
            assert f'id="row-{local}"' in page  # its entry in the side list
            assert f'href="#span-{local}"' in page  # which links to the span
    # The non-BMP emoji does not shift the offsets: the claim after it is cut exactly.
    assert parsed.text[f"{A1}:C3"] == "denies this, saying it “did nothing”"


def test_article_page_shows_rows_relations_and_works_without_script(release: Path) -> None:
    site.build_site(release)
    page = (release / "site" / "articles" / f"{A1}.html").read_text("utf-8")
    assert re.search(
        r'<a href="#span-C2">C2</a> \(Washington\) <strong>denies</strong> '
        r'<a href="#span-C1">C1</a>',
        page,
    )
    # The row of C2 names what it answers, linked; the fields come from the descriptor.
    row = page[page.index('id="row-C2"') :]
    row = row[: row.index("</li>")]
    assert '<dt>responds_to</dt><dd><a href="#row-C1">C1</a> Moscow: the US was behind' in row
    assert "<dt>relation</dt><dd>denies</dd>" in row
    assert "<dt>factuality</dt><dd>alleged</dd>" in page
    assert "<dt>start_utc</dt><dd>2023-05-02T23:30:00Z</dd>" in page
    # Without JavaScript each span still carries its row as a tooltip and a description.
    assert 'title="Claim C2 (denial) by Washington: Washington denies this"' in page
    assert 'aria-describedby="row-C2"' in page
    # The script is inline (no network, no extra file) and the page loads no remote resource.
    assert "<script>" in page and "src=" not in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_index_page_counts_charts_dictionary_and_links(release: Path) -> None:
    site.build_site(release)
    page = (release / "site" / "index.html").read_text("utf-8")
    assert '<td class="num">3</td>' in page  # claims rows
    assert f'href="articles/{A1}.html"' in page and f'href="articles/{A2}.html"' in page
    assert page.count("<svg ") == 4
    # Events per day: 2023-05-03 has one, the undated one is shown apart.
    assert '<tr><td>2023-05-03</td><td class="num">1</td></tr>' in page
    assert '<tr><td>no date</td><td class="num">1</td></tr>' in page
    # Claims by kind lists every declared kind, zeros included, in the declared order.
    chart = page[page.index('id="chart-claim-kind"') :]
    assert chart.index(">accusation<") < chart.index(">denial<") < chart.index(">demand<")
    # The dictionary comes from the descriptor.
    assert "Fixture description of the claims table." in page
    assert "How the article presents the event" in page
    assert "denies, disputes, supports" in page
    assert "sha256sum -c SHA256SUMS" in page and "CITATION.cff" in page


def test_build_is_deterministic_and_replaces_stale_pages(release: Path) -> None:
    first = {p: p.read_bytes() for p in site.build_site(release)}
    stale = release / "site" / "articles" / "gone.html"
    stale.write_text("old", "utf-8")
    second = {p: p.read_bytes() for p in site.build_site(release)}
    assert first == second
    assert not stale.exists()


def test_events_per_month_when_the_range_is_long() -> None:
    events = [{"date_start": dt.date(2023, 1, 5)}, {"date_start": dt.date(2023, 6, 1)}]
    caption, items = site.events_per_day(events)
    assert caption.startswith("Events per month")
    assert items == [("2023-01", 1), ("2023-06", 1)]
    caption, items = site.events_per_day(
        [{"date_start": dt.date(2023, 5, 1)}, {"date_start": dt.date(2023, 5, 3)}]
    )
    assert items == [("2023-05-01", 1), ("2023-05-02", 0), ("2023-05-03", 1)]


def test_mismatched_offsets_are_an_error_not_a_wrong_highlight(tmp_path: Path) -> None:
    rows = fixture_rows()
    rows["claims"][0]["char_start"] += 1
    write_release(tmp_path, rows)
    with pytest.raises(FactpackError, match=r"claims\.parquet: .*:C1: char_start\.\.char_end"):
        site.build_site(tmp_path)


def test_unsafe_article_id_is_an_error(tmp_path: Path) -> None:
    rows = fixture_rows()
    rows = {t: [r for r in rows[t] if r["article_id"] == A2] for t in rows}
    for table in rows.values():
        for r in table:
            r["article_id"] = "../evil"
    write_release(tmp_path, rows)
    with pytest.raises(FactpackError, match="not a safe file name"):
        site.build_site(tmp_path)


def test_not_a_release_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(FactpackError, match="not a release"):
        site.build_site(tmp_path)


def test_site_module_does_not_import_the_build_side() -> None:
    code = (
        "import sys, factpack.researcher.site\n"
        "print(sorted(m for m in sys.modules if m.startswith('factpack.pipeline')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_cli_site_regenerates_a_release(release: Path) -> None:
    result = CliRunner().invoke(cli, ["site", str(release)])
    assert result.exit_code == 0, result.output
    assert (release / "site" / "index.html").is_file()
    assert "index.html" in result.output


def test_cli_site_on_a_non_release_exits_1_with_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["site", str(tmp_path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_query_examples_on_the_index_run_against_the_release(
    release: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import duckdb

    site.build_site(release)
    page = (release / "site" / "index.html").read_text("utf-8")
    shown = html.unescape(page)  # what a browser shows, whichever way a quote was escaped
    assert site.EXAMPLE_SQL in shown and site.EXAMPLE_PY_SQL in shown
    monkeypatch.chdir(release)
    joined, counted = duckdb.sql(site.EXAMPLE_SQL), duckdb.sql(site.EXAMPLE_PY_SQL)
    assert joined is not None and counted is not None
    assert len(joined.fetchall()) == 3
    assert sorted(counted.fetchall()) == [("alleged", 1), ("denied", 1)]


def test_rows_in_any_file_order_give_the_same_site(tmp_path: Path) -> None:
    """Rows are grouped by article with Arrow: interleaved articles render as grouped ones."""
    import random

    grouped = write_release(tmp_path / "grouped")
    rows = fixture_rows()
    for table in rows.values():
        random.Random(3).shuffle(table)  # sources: A1, A2, A1 (not adjacent)
    shuffled = write_release(tmp_path / "shuffled", rows)
    first = {p.relative_to(grouped): p.read_bytes() for p in site.build_site(grouped)}
    second = {p.relative_to(shuffled): p.read_bytes() for p in site.build_site(shuffled)}
    assert first == second


def test_a_failed_build_keeps_the_previous_site(tmp_path: Path) -> None:
    release = write_release(tmp_path / "r")
    before = {p: p.read_bytes() for p in site.build_site(release)}
    rows = fixture_rows()
    rows["claims"][0]["char_start"] += 1
    write_release(release, rows)
    with pytest.raises(FactpackError, match="char_start"):
        site.build_site(release)
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in release.iterdir()) == ["data", "datapackage.json", "site"]


def test_pages_rendered_by_two_processes_are_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = write_release(tmp_path / "one")
    two = write_release(tmp_path / "two")
    first = {p.relative_to(one): p.read_bytes() for p in site.build_site(one, jobs=1)}
    monkeypatch.setattr(site, "PARALLEL_MIN_ARTICLES", 1)
    second = {p.relative_to(two): p.read_bytes() for p in site.build_site(two, jobs=2)}
    assert first == second


def test_streaming_workers_are_spawned_not_forked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forked worker would share, and count in its resident memory, everything the
    building process still holds; a spawned one starts with only what it is given."""
    import multiprocessing

    methods: list[str | None] = []
    real = multiprocessing.get_context

    def get_context(method: str | None = None) -> Any:
        methods.append(method)
        return real(method)

    monkeypatch.setattr(multiprocessing, "get_context", get_context)
    monkeypatch.setattr(site, "PARALLEL_MIN_ARTICLES", 1)
    site.build_site(write_release(tmp_path / "r"), jobs=2)
    assert methods == ["spawn"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_build_site_gives_the_sha256_of_every_page_it_rendered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """SHA256SUMS takes the pages' sha256 from here instead of reading them back."""
    import hashlib

    monkeypatch.setattr(site, "PARALLEL_MIN_ARTICLES", 1)
    release = write_release(tmp_path / "r")
    digests: dict[str, str] = {}
    written = site.build_site(release, jobs=jobs, digests=digests)
    pages = {
        p.relative_to(release).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in written
        if p.parent.name == "articles"
    }
    assert len(pages) == 2
    assert digests == pages


def _offsets_broken() -> dict[str, list[dict[str, Any]]]:
    """The fixture rows with every source and claim offset moved by one (both articles bad)."""
    rows = fixture_rows()
    for table in ("sources", "claims"):
        for row in rows[table]:
            row["char_start"] += 1
    return rows


def test_two_processes_report_the_first_bad_article(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both articles are broken; the one first in key order is reported, as in one process."""
    release = write_release(tmp_path / "r", _offsets_broken())
    with pytest.raises(FactpackError) as alone:
        site.build_site(release, jobs=1)
    monkeypatch.setattr(site, "PARALLEL_MIN_ARTICLES", 1)
    with pytest.raises(FactpackError) as forked:
        site.build_site(release, jobs=2)
    assert str(forked.value) == str(alone.value)
    assert f"{A1}:S1" in str(alone.value)
    assert not (release / "site").exists()


@pytest.mark.parametrize(
    "ids",
    [
        # The fast path: every id is <article_id>:<local id not starting with a digit>.
        [f"{A1}:{x}" for x in ("C10", "C2", "C1", "C01", "S3", "E12", "", "C2b", "C2a")],
        # The general one: a local id starting with a digit, an id of another article.
        [f"{A1}:{x}" for x in ("C10", "10", "9x", "C2", "x")] + ["other:C1"],
    ],
)
def test_rows_sort_in_natural_key_order_of_the_whole_id(ids: list[str]) -> None:
    rows = [{"claim_id": row_id, "n": i} for i, row_id in enumerate(ids)]
    expected = sorted(rows, key=lambda r: site.natural_key(str(r["claim_id"])))
    site._sort_rows(rows, ["claim_id"], A1)
    assert rows == expected


def test_streaming_in_small_windows_and_batches_gives_the_same_pages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = write_release(tmp_path / "one")
    first = {p.relative_to(one): p.read_bytes() for p in site.build_site(one, jobs=1)}
    for window, batch in ((1, 1), (1, 3), (2, 1)):
        monkeypatch.setattr(site, "PARALLEL_MIN_ARTICLES", 1)
        monkeypatch.setattr(site, "CHUNK_ARTICLES", window)
        monkeypatch.setattr(site, "STREAM_BATCH_ROWS", batch)
        two = write_release(tmp_path / f"two-{window}-{batch}")
        second = {p.relative_to(two): p.read_bytes() for p in site.build_site(two, jobs=2)}
        assert first == second


def test_streaming_needs_each_articles_rows_together_in_article_order(tmp_path: Path) -> None:
    release = write_release(tmp_path / "r")
    overview = site.read_release_data(release, site.INDEX_READ)
    plan = site.stream_plan(overview)
    assert plan is not None and plan.starts["claims"][-1] == len(fixture_rows()["claims"])
    rows = fixture_rows()
    rows["sources"].reverse()  # A2's source first: the articles' order is not kept
    shuffled = site.read_release_data(write_release(tmp_path / "s", rows), site.INDEX_READ)
    assert site.stream_plan(shuffled) is None


def test_windows_in_two_processes_report_the_first_bad_article_in_key_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = {t: list(reversed(rs)) for t, rs in _offsets_broken().items()}  # A2 first
    release = write_release(tmp_path / "r", rows)
    monkeypatch.setattr(site, "PARALLEL_MIN_ARTICLES", 1)
    monkeypatch.setattr(site, "CHUNK_ARTICLES", 1)
    with pytest.raises(FactpackError, match=f"{A1}:S"):
        site.build_site(release, jobs=2)
    assert not (release / "site").exists()


@pytest.mark.parametrize("batch", [1, 2, 1024])
def test_row_stream_reads_runs_across_batches_and_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    monkeypatch.setattr(site, "STREAM_BATCH_ROWS", batch)
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table({"n": list(range(10))}), path, row_group_size=3)
    stream = site._RowStream(path)
    for start, count in ((0, 2), (2, 0), (5, 3), (9, 1)):
        assert stream.rows(start, count).column("n").to_pylist() == list(
            range(start, start + count)
        )


def test_index_streamed_in_parts_is_the_same_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = write_release(tmp_path / "one")
    site.build_site(one)
    whole = (one / "site" / "index.html").read_bytes()
    monkeypatch.setattr(site, "INDEX_ROWS_PER_PART", 1)
    two = write_release(tmp_path / "two")
    site.build_site(two)
    assert (two / "site" / "index.html").read_bytes() == whole
    # Whatever the descriptor holds, the rows go where they belong, once.
    descriptor = json.loads((two / "datapackage.json").read_text("utf-8"))
    descriptor["description"] = "odd \x00 \x01 text"
    (two / "datapackage.json").write_text(json.dumps(descriptor), "utf-8")
    page = site.index_page(site.read_release_data(two, site.INDEX_READ))
    assert page.count(f'href="articles/{A1}.html"') == 1
    assert "<p>odd \x00 \x01 text</p>" in page
    assert page.index('<h2 id="articles">') < page.index(f"articles/{A1}.html")


def test_markup_in_the_data_is_escaped_by_the_templates(tmp_path: Path) -> None:
    """Autoescape is on: a title, a publisher or a cell holding markup is shown as text."""
    rows = fixture_rows()
    rows["articles"][0]["title"] = 'Evil <script>alert("t")</script> & co'
    rows["articles"][0]["publisher"] = "<b>bold</b>"
    rows["sources"][0]["name"] = "<i>who</i>"
    release = write_release(tmp_path / "r", rows)
    site.build_site(release)
    for page in (release / "site" / "index.html", release / "site" / "articles" / f"{A1}.html"):
        text = page.read_text("utf-8")
        assert "<script>alert" not in text and "<b>bold</b>" not in text
        assert "Evil &lt;script&gt;alert(&#34;t&#34;)&lt;/script&gt; &amp; co" in text
    article = (release / "site" / "articles" / f"{A1}.html").read_text("utf-8")
    assert "&lt;i&gt;who&lt;/i&gt;" in article and "<i>who</i>" not in article


def test_templates_are_package_data() -> None:
    """The templates ship inside the package (the wheel packs src/factpack whole)."""
    from importlib import resources

    folder = resources.files("factpack.researcher") / "templates"
    names = {p.name for p in folder.iterdir()}
    assert {"base.html.j2", "article.html.j2", "index.html.j2", "macros.html.j2"} <= names
    assert site.environment().autoescape is True
