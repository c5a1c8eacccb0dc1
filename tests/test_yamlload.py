"""yamlload: libyaml (PyYAML's CSafeLoader) with line numbers, duplicate keys, dates as text."""

from __future__ import annotations

import yaml

from factpack.shared import yamlload
from factpack.shared.yamlload import load_yaml


def test_the_loader_is_libyaml() -> None:
    assert issubclass(yamlload._Loader, yaml.CSafeLoader)


def test_dates_and_yaml11_words_stay_strings() -> None:
    data = load_yaml(
        "a: \"2021-06-06\"\nb: 2021-06-06\nc: yes\nd: '12'\ne: 12\nf: 1.5\ng: ~\n"
    ).data
    assert data == {
        "a": "2021-06-06",
        "b": "2021-06-06",
        "c": "yes",
        "d": "12",
        "e": 12,
        "f": 1.5,
        "g": None,
    }
    assert type(data["e"]) is int


def test_duplicate_key_names_both_lines() -> None:
    loaded = load_yaml("a: 1\nb:\n  x: 1\n  x: 2\n")
    assert [(e.line, e.col, e.code) for e in loaded.errors] == [(4, 3, "duplicate-key")]
    assert "first at line 3" in loaded.errors[0].message
    assert loaded.data == {"a": 1, "b": {"x": 1}}


def test_syntax_error_has_its_line_and_a_hint() -> None:
    loaded = load_yaml("a: 1\nb: 'open\n")
    (err,) = loaded.errors
    assert err.code == "yaml-syntax" and err.line == 3
    assert loaded.data is None


def test_where_gives_the_line_of_a_value_and_of_a_key() -> None:
    loaded = load_yaml("a: 1\nlist:\n  - x: 1\n    y: 2\n")
    assert loaded.where(("list", 0, "y")) == (4, 8)
    assert loaded.where(("list", 0, "y"), key=True) == (4, 5)
    assert loaded.where(("list", 5)) == (3, 3)  # past the end: the nearest ancestor


def test_an_explicit_str_tag_keeps_the_text_and_other_tags_are_refused() -> None:
    loaded = load_yaml("a: !!str 12\nb: !!str 2021-06-06\nc: 12\n")
    assert loaded.errors == []
    assert loaded.data == {"a": "12", "b": "2021-06-06", "c": 12}
    for text in ("a: !!int '12'", "a: !!float 1", "a: !!bool yes", "a: !!null ''", "a: !x 1"):
        refused = load_yaml(text)
        assert [e.code for e in refused.errors] == ["yaml-tag"], text
        assert refused.data == {"a": None}, text
        assert (refused.errors[0].line, refused.errors[0].col) == (1, 4), text


def test_no_written_tag_can_pass_for_an_untagged_scalar() -> None:
    assert " " in yamlload._IMPLICIT  # a tag ends at white space: none can be written as it
