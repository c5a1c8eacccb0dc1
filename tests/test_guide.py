"""docs/annotation-guide.md: its generated sections match schema/; its examples are real."""

from __future__ import annotations

import pytest

from factpack.shared import guide
from factpack.shared.problems import FactpackError
from factpack.shared.schema import load_schema


def test_committed_guide_is_up_to_date() -> None:
    text = guide.GUIDE_PATH.read_text(encoding="utf-8")
    assert guide.render(load_schema(), text) == text, (
        "docs/annotation-guide.md drifted from schema/; run `factpack guide --write`"
    )


def test_every_vocabulary_value_is_defined_with_an_example() -> None:
    schema = load_schema()
    rendered = guide.render_vocabularies(schema)
    for name, vocab in schema.vocabularies.items():
        assert f"### `{name}`" in rendered
        for value, info in vocab.values.items():
            assert info.get("definition"), f"{name}.{value} has no definition"
            assert f"| `{value}` |" in rendered


def test_render_replaces_only_between_markers() -> None:
    schema = load_schema()
    text = guide.GUIDE_PATH.read_text(encoding="utf-8")
    stale = text.replace("| `person` |", "| `persona` |")
    assert stale != text
    assert guide.render(schema, stale) == text


def test_missing_markers_are_an_error() -> None:
    with pytest.raises(FactpackError, match="markers of the generated fields section"):
        guide.render(load_schema(), "# guide without markers\n")


def test_hard_case_examples_quote_the_seed() -> None:
    """Phrases the guide quotes from the seed article are really in it."""
    seed = (guide.GUIDE_PATH.parents[1] / "seeds" / "000_a4c96cb10ee97359.txt").read_text(
        encoding="utf-8"
    )
    for phrase in (
        "Washington denies this",
        "Most read in The Sun",
        "MORE ON RUSSIA",
        "last night",
        "on Wednesday",
        "2.27am",
        "just after 8 pm",
        "Russian authorities",
        "Residents of the nearby Stalinist House",
        "where Putin is known to increasingly live during the war",
    ):
        assert phrase in seed
