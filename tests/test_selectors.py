"""Quote selectors: folding, offsets, ambiguity, not found, prefix/suffix."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factpack.pipeline.selectors import FoldedText, Selector, SelectorError, fold, resolve

TEXT = (
    "Putin blames US for ‘assassination bid in Kremlin’\n"
    "Residents said they “saw sparks in the sky”.\n"
    "The Kremlin said two drones had been used in the alleged attack.\n"
    "Putin allies reacted to the alleged attack with calls for revenge.\n"
    "Жители Москвы   слышали\n\n\tвзрывы.\n"
)


def span(exact: str, prefix: str | None = None, suffix: str | None = None) -> str:
    start, end = resolve(TEXT, Selector(exact, prefix, suffix))
    return TEXT[start:end]


def test_exact_match_gives_code_point_offsets() -> None:
    start, end = resolve(TEXT, Selector("Residents said"))
    assert (start, end) == (TEXT.index("Residents said"), TEXT.index("Residents said") + 14)


def test_straight_quotes_match_curly_quotes() -> None:
    assert span("US for 'assassination bid in Kremlin'") == "US for ‘assassination bid in Kremlin’"
    assert span('they "saw sparks in the sky"') == "they “saw sparks in the sky”"


def test_curly_quotes_match_straight_quotes() -> None:
    text = 'He said: "no".'
    start, end = resolve(text, Selector("said: “no”"))
    assert text[start:end] == 'said: "no"'


def test_runs_of_white_space_match_alike() -> None:
    assert span("Kremlin’ Residents") == "Kremlin’\nResidents"
    assert span("Москвы слышали взрывы") == "Москвы   слышали\n\n\tвзрывы"
    assert span("Москвы\nслышали   взрывы.") == "Москвы   слышали\n\n\tвзрывы."


def test_non_ascii_offsets_are_code_points() -> None:
    start, end = resolve(TEXT, Selector("взрывы"))
    assert TEXT[start:end] == "взрывы"
    assert start == TEXT.index("взрывы")


def test_ambiguous_quote_is_an_error_listing_occurrences() -> None:
    with pytest.raises(SelectorError) as info:
        resolve(TEXT, Selector("the alleged attack"))
    assert info.value.message == '"the alleged attack" occurs 2 times'
    assert info.value.hint == (
        "add a prefix or suffix (the text right before/after it) to pick one; occurrences: "
        'line 3 "…had been used in the alleged attack", '
        'line 4 "…allies reacted to the alleged attack"'
    )


def test_prefix_or_suffix_disambiguates() -> None:
    first = TEXT.index("the alleged attack")
    second = TEXT.index("the alleged attack", first + 1)
    assert resolve(TEXT, Selector("the alleged attack", prefix="used in ")) == (first, first + 18)
    assert resolve(TEXT, Selector("the alleged attack", prefix="reacted to")) == (
        second,
        second + 18,
    )
    assert resolve(TEXT, Selector("the alleged attack", suffix=" with calls")) == (
        second,
        second + 18,
    )
    assert resolve(TEXT, Selector("the alleged attack", suffix=".\nPutin")) == (first, first + 18)


def test_prefix_matching_no_occurrence_is_an_error() -> None:
    with pytest.raises(SelectorError) as info:
        resolve(TEXT, Selector("the alleged attack", prefix="after "))
    assert info.value.message == (
        '"the alleged attack" is in the text but its prefix matches none of its 2 occurrence(s)'
    )
    with pytest.raises(SelectorError):
        resolve(TEXT, Selector("Residents said", prefix="Many "))


def test_not_found_names_nearest_candidates_with_lines() -> None:
    with pytest.raises(SelectorError) as info:
        resolve(TEXT, Selector("The Kremlin says two drones were used"))
    assert info.value.message == 'not found in the text: "The Kremlin says two drones were used"'
    assert info.value.hint.startswith("copy the exact characters from the .txt; nearest: line 3 ")
    assert '"Kremlin said two drones had been used"' in info.value.hint


def test_empty_quote_is_an_error() -> None:
    with pytest.raises(SelectorError, match="the quote is empty"):
        resolve(TEXT, Selector("  "))


def test_case_matters() -> None:
    with pytest.raises(SelectorError):
        resolve(TEXT, Selector("residents said"))


def test_fold() -> None:
    assert fold("‘a’ “b”  \n c") == "'a' \"b\" c"


@given(st.text(alphabet=st.sampled_from("ab ’'\"“\n\t"), max_size=40))
def test_offset_map_round_trips(text: str) -> None:
    """Every folded position maps to an original offset whose slice folds back the same."""
    folded = FoldedText(text)
    for i in range(len(folded.folded) + 1):
        assert fold(text[: folded.original(i)]) == folded.folded[:i] or (
            folded.folded[:i].endswith(" ")
            and fold(text[: folded.original(i)]) + " " == folded.folded[:i]
        )


@given(
    st.text(
        alphabet=st.sampled_from(list("ab é\t\n\r\x0b\x1c\x85\xa0\u2003\u2028\u3000'‘’‛′\"“”„″")),
        max_size=30,
    )
)
def test_fold_maps_every_quote_and_space_like_a_table(text: str) -> None:
    """ASCII and non-ASCII strings fold alike: each quote to ' or ", each space to one."""
    table = str.maketrans({**dict.fromkeys("'‘’‛′", "'"), **dict.fromkeys('"“”„″', '"')})
    spaced = "".join(" " if c.isspace() else c for c in text.translate(table))
    assert fold(text) == re.sub(" {2,}", " ", spaced)
    assert FoldedText(text).folded == fold(text)
