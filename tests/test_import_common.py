"""The parts every import shares: offset units, the stem rule, the text rules, quotes."""

from __future__ import annotations

from pathlib import Path

import pytest

from factpack.formats.common import FormatError, Offsets, check_text, stem_of
from factpack.formats.importer import quote_for
from factpack.pipeline.selectors import FoldedText

TEXT = "a 😀 é b"


@pytest.mark.parametrize(
    ("unit", "start", "end"),
    [("code-points", 4, 5), ("utf-16", 5, 6), ("utf-8", 7, 9)],
)
def test_offsets_become_code_points(unit: str, start: int, end: int) -> None:
    offsets = Offsets(TEXT, unit)
    assert offsets.span(start, end, "f:1") == (4, 5)
    assert TEXT[4:5] == "é"
    assert offsets.from_code_point(4) == start


@pytest.mark.parametrize(("unit", "inside"), [("utf-16", 3), ("utf-8", 4)])
def test_offset_inside_a_character_is_an_error(unit: str, inside: int) -> None:
    with pytest.raises(FormatError, match="not a character boundary"):
        Offsets(TEXT, unit).code_point(inside, "f:1")


def test_covered_text_differing_names_both() -> None:
    with pytest.raises(FormatError) as info:
        Offsets(TEXT, "code-points").span(4, 5, "f:1", covered="e")
    assert '"e"' in str(info.value) and '"é"' in str(info.value)


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("Kyiv Café – Report.txt", "kyiv-cafe-report"),
        ("data/brat/000_a4c96cb10ee97359.ann", "000_a4c96cb10ee97359"),
        ("C:\\exports\\Doc 1.xmi", "doc-1"),
        ("__x__.json", "x"),
        ("a" * 80 + ".txt", "a" * 64),
    ],
)
def test_stem_rule(name: str, stem: str) -> None:
    assert stem_of(name, "text") == stem


def test_stem_of_an_unusable_name_comes_from_the_text() -> None:
    assert stem_of("Привет.txt", "text") == "doc-982d9e3eb996"


@pytest.mark.parametrize("text", ["a\r\nb", "\ufeffab", "a\x00b", "  \n"])
def test_texts_the_checker_refuses_are_refused(text: str) -> None:
    with pytest.raises(FormatError):
        check_text(text, "f:1")


def test_quote_with_folded_quotes_gets_context() -> None:
    # “calm” and "calm" fold alike, so the second needs a prefix or suffix.
    text = 'He said “calm” once. She said "calm" too.'
    start = text.index('"calm"')
    quote = quote_for(FoldedText(text), start, start + 6, "f:1")
    assert quote["exact"] == '"calm"' and ("prefix" in quote or "suffix" in quote)


def test_span_with_edge_white_space_is_an_error() -> None:
    # The second of two spaces: the checker folds the run, so no quote selects just it.
    text = "Kyiv  calm"
    with pytest.raises(FormatError, match="white space"):
        quote_for(FoldedText(text), 5, 10, "f:1")


def test_export_files_finds_files_below_folders_and_names_a_wrong_path(tmp_path: Path) -> None:
    from factpack.formats.common import export_files

    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "x.ann").write_text("", encoding="utf-8")
    (tmp_path / "a" / "y.txt").write_text("", encoding="utf-8")
    assert export_files([tmp_path / "a"], (".ann",), "brat .ann files") == [
        tmp_path / "a" / "b" / "x.ann"
    ]
    with pytest.raises(FormatError, match=r"y\.txt: not brat \.ann files or a folder of them"):
        export_files([tmp_path / "a" / "y.txt"], (".ann",), "brat .ann files")
    with pytest.raises(FormatError, match=r"no brat \.ann files found"):
        export_files([tmp_path / "a"], (".xmi",), "brat .ann files")
