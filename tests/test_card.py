"""The data card (README.md of a release): rendered from pipeline/templates/card.md.j2."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from pathlib import Path

import jinja2
import pyarrow as pa
import pytest
import yaml

from factpack.pipeline import card, datafacts, extras, release, versions
from factpack.shared.schema import Schema, SchemaFileError, default_root, load_schema

COUNTS = {"articles": 2, "sources": 3, "events": 4, "claims": 5}
CREATED = "2024-05-06T07:08:09Z"
VERSIONS = {"pyarrow": "9.9", "duckdb": "8.8"}


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema()


def render(schema: Schema, **kw: object) -> str:
    return card.data_card(schema, COUNTS, CREATED, VERSIONS, **kw)  # type: ignore[arg-type]


def test_card_has_counts_built_query_dictionary_site_and_citation(schema: Schema) -> None:
    text = render(schema)
    pkg = schema.package
    assert text.startswith(f"# {pkg['title']} — version {pkg['version']}\n\n")
    assert "| `claims` | 5 | `data/claims.parquet` | `data/claims.csv` |" in text
    assert (
        "Created 2024-05-06T07:08:09Z by factpack" in text and "(duckdb 8.8, pyarrow 9.9)" in text
    )
    assert "the finished package (in full: `frictionless validate`" in text
    for _, sql in card.EXAMPLE_QUERIES:
        assert f"```sql\n{sql}\n```" in text
    assert "| `evidence_text` | string | yes |" in text
    assert f"({CREATED[:4]}). *{pkg['title']}*" in text
    assert text.endswith(f"Release: `{pkg['name']}-{pkg['version']}`.\n")
    # Markdown: nothing is HTML-escaped (apostrophes of the descriptions stay as they are).
    assert "&#39;" not in text and "&amp;" not in text and "'" in text
    # No optional section without its data.
    assert "Spreadsheet warning" not in text and "Partitioned copy" not in text


def test_card_says_the_site_is_a_folder_beside_the_data_rebuilt_by_factpack_site(
    schema: Schema,
) -> None:
    text = render(schema)
    section = text[text.index("## Review site") : text.index("## How to cite")]
    assert "published as a folder beside the data" in section
    assert "not in the zip" in section
    assert "`factpack site <release folder>`" in section


def test_a_sampled_build_says_so(schema: Schema) -> None:
    assert "a routine build: `frictionless validate` on a sample" in render(schema, sampled=True)


def test_spreadsheet_warning_counts_cells_per_column(schema: Schema) -> None:
    one = render(schema, formulas=[("claims", "a:C1", "claim_text", "=1")])
    assert "**Spreadsheet warning:** 1 CSV cell starts with `=`" in one
    assert "`claims.claim_text` (1)" in one
    many = render(
        schema,
        formulas=[
            ("claims", "a:C1", "claim_text", "=1"),
            ("claims", "a:C2", "claim_text", "+1"),
            ("sources", "a:S1", "name", "@x"),
        ],
    )
    assert "**Spreadsheet warning:** 3 CSV cells start with" in many
    assert "`claims.claim_text` (2), `sources.name` (1)" in many


def test_partitioned_copy_lists_years_and_files(schema: Schema) -> None:
    files = {
        "events": [
            "data/partitioned/events/year=2023/part-0.parquet",
            "data/partitioned/events/year=__HIVE_DEFAULT_PARTITION__/part-0.parquet",
        ],
        "claims": [],
    }
    text = render(schema, partitions=files)
    assert "**Partitioned copy** (`data/partitioned/`)" in text
    assert "| `events` | 2023, none | 2 |" in text
    assert "| `claims` | - | 0 |" in text


def test_an_added_section_sees_the_context_and_extra(
    schema: Schema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other parts of the build extend the card by filling a file of templates/card/."""
    changes = "## Changes\n\n{{ extra.changes }} ({{ release }})\n\n"
    base = card.environment()
    env = base.overlay(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.DictLoader({"card/changelog.md.j2": changes}),
                base.loader,  # type: ignore[list-item]
            ]
        )
    )
    monkeypatch.setattr(card, "environment", lambda: env)
    text = render(schema, extra={"changes": "2 claims added"})
    release = f"{schema.package['name']}-{schema.package['version']}"
    assert f"## Changes\n\n2 claims added ({release})\n\n## How to cite" in text


def test_empty_section_files_add_nothing(schema: Schema) -> None:
    text = render(schema)
    assert "\n\n\n" not in text
    assert "## Review site" in text and "\n## How to cite" in text


# ------------------------------------------------------------ the datasheet of the seed release

SEEDS = Path(__file__).parent.parent / "seeds"
FIXTURE_SEEDS = Path(__file__).parent / "fixtures" / "build" / "seeds"
TEST_NAME = "factpack-test-card"


@pytest.fixture(scope="module")
def seed_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build of the repository's seeds/ (two annotators, adjudicated) under our own name."""
    root = tmp_path_factory.mktemp("card")
    schema_dir = versions.own_schema(root / "schema", TEST_NAME)
    shutil.copytree(SEEDS, root / "seeds")
    return release.build(root / "seeds", root / "dist", root / "build", schema_dir).release_dir


def section(text: str, title: str) -> str:
    """The body of ``## title`` up to the next ``## `` heading."""
    start = text.index(f"\n## {title}\n") + len(title) + 5
    end = text.find("\n## ", start)
    return text[start : end if end >= 0 else len(text)]


def test_seed_card_has_every_datasheet_section_in_order(seed_release: Path) -> None:
    text = (seed_release / "README.md").read_text(encoding="utf-8")
    titles = [
        "Motivation",
        "Composition",
        "Collection",
        "Annotation",
        "Preprocessing",
        "Uses and out-of-scope uses",
        "Bias, risks and limitations",
        "Distribution and licences",
        "Maintenance",
        "Changelog",
        "How to cite",
    ]
    places = [text.index(f"\n## {t}\n") for t in titles]
    assert places == sorted(places)


def test_seed_card_sections_say_what_package_yaml_and_the_data_give(seed_release: Path) -> None:
    text = (seed_release / "README.md").read_text(encoding="utf-8")
    sheet = card.datasheet(load_schema().package)
    assert sheet["motivation"] in section(text, "Motivation")
    assert "Funding: " + card.NOTHING in section(text, "Motivation")  # empty: says so
    composition = section(text, "Composition")
    assert "Covers events from 2023-05-03 to 2023-05-05, in RU, UA, from 1 article" in composition
    assert "Publishers (articles): The Sun (1)." in composition
    assert "| `claims` | 21 | `data/claims.parquet` |" in composition
    assert "- `claims` (Claims): Attributed statements" in composition
    assert sheet["collection"] in section(text, "Collection")
    assert sheet["preprocessing"] in section(text, "Preprocessing")
    uses = section(text, "Uses and out-of-scope uses")
    assert sheet["uses"] in uses and sheet["out_of_scope_uses"] in uses
    risks = section(text, "Bias, risks and limitations")
    assert sheet["limitations"] in risks and "1 article from 1 outlet in en" in risks
    licences = section(text, "Distribution and licences")
    assert "Annotations (every column but the article texts): CC-BY-4.0" in licences
    assert "remain their publishers'" in licences
    maintenance = section(text, "Maintenance")
    for key in ("contact", "errata", "versioning"):
        assert sheet[key] in maintenance
    assert section(text, "Changelog").strip()
    cite = text[text.index("\n## How to cite\n") :]
    assert (
        "```bibtex\n@misc{factpack_test_card_0_1_0,\n  author = {{factpack contributors}}" in cite
    )


def test_seed_card_annotation_gives_agreement_before_adjudication(seed_release: Path) -> None:
    text = (seed_release / "README.md").read_text(encoding="utf-8")
    part = section(text, "Annotation")
    assert "1 article annotated independently by first, second" in part
    assert "Agreement **before adjudication**" in part
    assert "| claim -> source" in part and "| overlap |" in part
    notes = yaml.safe_load((SEEDS / "000_a4c96cb10ee97359.yaml").read_text())["adjudication"]
    cited = sum(len(n.get("evidence") or []) for n in notes)
    assert f"Adjudication: {len(notes)} notes" in part
    assert f"{cited} dated outside reports are cited as evidence (Al Jazeera" in part
    assert "Single annotation" not in part


def test_the_card_sends_no_reader_to_a_database_the_zip_lacks(seed_release: Path) -> None:
    text = (seed_release / "README.md").read_text(encoding="utf-8")
    assert f"`duckdb {TEST_NAME}.duckdb`" not in text
    assert "`duckdb my.duckdb < load.sql`" in text
    # the Hugging Face header is the template's own, once
    assert text.startswith("---\nlicense: cc-by-4.0\n") and text.count("\nconfigs:\n") == 1
    header = yaml.safe_load(text.split("---\n")[1])
    assert "Explosions/Remote violence" in header["tags"]  # event types present, as keywords


def test_make_interop_fails_on_a_card_naming_a_file_the_zip_lacks() -> None:
    makefile = (Path(__file__).parent.parent / "Makefile").read_text(encoding="utf-8")
    line = next(x for x in makefile.splitlines() if "interop/run.py" in x)
    assert "--strict-card" in line


def test_agreement_json_is_in_the_release_its_sums_and_the_zip(seed_release: Path) -> None:
    report = json.loads((seed_release / "agreement.json").read_text(encoding="utf-8"))
    assert report["articles"] == [
        {"stem": "000_a4c96cb10ee97359", "annotators": ["first", "second"]}
    ]
    assert set(report["annotations"][0]["annotators"]) == {"first", "second"}
    notes = report["annotations"][0]["adjudication"]  # the published file's notes travel along
    assert any(e["publisher"] == "Al Jazeera" for n in notes for e in n.get("evidence") or [])
    page = seed_release / "site" / "adjudication" / f"{report['annotations'][0]['article_id']}.html"
    assert "Al Jazeera" in page.read_text(encoding="utf-8")
    assert "  agreement.json\n" in (seed_release / "SHA256SUMS").read_text()
    with zipfile.ZipFile(seed_release.parent / f"{seed_release.name}.zip") as zf:
        assert any(n.endswith("/agreement.json") for n in zf.namelist())


def test_datapackage_and_citation_take_coverage_and_sources_from_the_data(
    seed_release: Path,
) -> None:
    desc = json.loads((seed_release / "datapackage.json").read_text(encoding="utf-8"))
    assert desc["temporalCoverage"] == {"start": "2023-05-03", "end": "2023-05-05"}
    assert desc["spatialCoverage"] == ["RU", "UA"] and desc["languages"] == ["en"]
    assert desc["sources"] == [{"title": "The Sun", "description": "1 article"}]
    assert desc["rowCounts"]["claims"] == 21
    data = [seed_release / r["path"] for r in desc["resources"]]
    assert desc["dataBytes"] == sum(p.stat().st_size for p in data)
    card_text = (seed_release / "README.md").read_text(encoding="utf-8")
    assert f"{desc['dataBytes']:,} bytes" in section(card_text, "Composition")
    assert "Explosions/Remote violence" in desc["keywords"]  # an event type present
    assert "Russia" not in desc["keywords"]  # no hand-kept coverage keyword
    cff = yaml.safe_load((seed_release / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["abstract"].endswith(
        "Covers events from 2023-05-03 to 2023-05-05, in RU, UA, "
        "from 1 article of 1 outlet, in language en."
    )
    assert "Explosions/Remote violence" in cff["keywords"]


def test_one_annotation_per_article_says_no_agreement_was_measured(
    tmp_path: Path,
) -> None:
    schema_dir = versions.own_schema(tmp_path / "schema", TEST_NAME)
    shutil.copytree(FIXTURE_SEEDS, tmp_path / "seeds")
    out = release.build(tmp_path / "seeds", tmp_path / "dist", tmp_path / "build", schema_dir)
    text = (out.release_dir / "README.md").read_text(encoding="utf-8")
    assert "Single annotation; no agreement measured." in section(text, "Annotation")
    assert not (out.release_dir / "agreement.json").exists()
    assert "`agreement.json`" not in text


# ------------------------------------------------------------------ pure parts, small fixtures


def _tables(**columns: dict[str, list[object]]) -> dict[str, pa.Table]:
    return {name: pa.table(cols) for name, cols in columns.items()}


def test_data_facts_count_publishers_and_cover_dates_countries_languages() -> None:
    tables = _tables(
        articles={"language": ["en", "de", "en"], "publisher": ["B", "A", "B"]},
        events={
            "date_start": pa.array([dt.date(2024, 1, 2), None, dt.date(2023, 5, 1)]),
            "date_end": pa.array([dt.date(2024, 2, 1), None, None]),
            "country": ["UA", None, "RU"],
            "event_type": ["Battles", "Protests", "Battles"],
        },
    )
    facts = datafacts.data_facts(tables)
    assert facts.publishers == (("B", 2), ("A", 1))
    assert datafacts.sources(facts) == [
        {"title": "B", "description": "2 articles"},
        {"title": "A", "description": "1 article"},
    ]
    assert datafacts.coverage_properties(facts) == {
        "temporalCoverage": {"start": "2023-05-01", "end": "2024-02-01"},
        "spatialCoverage": ["RU", "UA"],
        "languages": ["de", "en"],
        "rowCounts": {"articles": 3, "events": 3},
    }
    assert datafacts.keywords({"keywords": ["news", "Battles"]}, facts) == [
        "news",
        "Battles",
        "Protests",
    ]
    assert datafacts.facts_warnings(facts, "schema/package.yaml") == []


def test_what_the_data_cannot_give_is_left_out_with_a_warning() -> None:
    tables = _tables(
        articles={"language": pa.array([None], pa.string()), "publisher": ["A"]},
        events={
            "date_start": pa.array([None], pa.date32()),
            "date_end": pa.array([None], pa.date32()),
            "country": pa.array([None], pa.string()),
            "event_type": ["Battles"],
        },
    )
    facts = datafacts.data_facts(tables)
    props = datafacts.coverage_properties(facts)
    assert set(props) == {"rowCounts"}
    warnings = datafacts.facts_warnings(facts, "schema/package.yaml")
    assert len(warnings) == 3 and all(w.startswith("schema/package.yaml: ") for w in warnings)
    assert "temporal coverage is left out" in warnings[0]
    assert datafacts.coverage_sentence(facts) == "Covers from 1 article of 1 outlet."


def test_a_missing_datasheet_item_fails_with_file_and_line(tmp_path: Path) -> None:
    root = tmp_path / "schema"
    shutil.copytree(default_root(), root)
    path = root / "package.yaml"
    text = path.read_text(encoding="utf-8")
    start = text.index("  contact: ")
    end = text.index("\n", start) + 1
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(SchemaFileError) as info:
        load_schema(root)
    message = str(info.value)
    assert "package.yaml:" in message and "'contact'" in message and "\n" not in message


def test_bibtex_author_is_the_organisation_double_braced(schema: Schema) -> None:
    entry = card.bibtex(schema, ["Org {X}", "Lab"], "2024")
    assert "  author = {{Org X} and {Lab}},\n" in entry
    assert entry.startswith("@misc{factpack_news_events_") and entry.endswith("\n}")
    assert "url =" not in entry  # package.yaml has no homepage


def test_annotation_summary_counts_notes_items_and_evidence() -> None:
    notes = [
        {"items": ["E1", "E2"], "evidence": [{"publisher": "AP"}, {"publisher": "AJ"}]},
        {"items": ["E2", "C1"]},
    ]
    summary = extras.annotation_summary(None, notes)
    assert summary["measured"] is False and summary["figures"] == ""
    assert (summary["notes"], summary["settled"], summary["evidence"]) == (2, 3, 2)
    assert summary["cited"] == ["AJ", "AP"]
    text = render(load_schema(), extra={"annotation": summary})
    assert "Single annotation; no agreement measured." in text
