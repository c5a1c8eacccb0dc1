"""The data card (README.md of a release): rendered from pipeline/templates/card.md.j2."""

from __future__ import annotations

import jinja2
import pytest

from factpack.pipeline import card
from factpack.shared.schema import Schema, load_schema

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
