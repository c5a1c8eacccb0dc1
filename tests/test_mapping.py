"""The mapping file: its JSON Schema, field names and vocabulary values checked, one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from factpack.formats.common import FormatError
from factpack.formats.mapping import load_mapping, parse_mapping
from formats_helpers import FIXTURES, REPO, invoke, mapping_file, one_line_error

HEAD = "format: factpack-mapping/1\ntool: brat\n"


@pytest.mark.parametrize("tool", ["brat", "label-studio", "doccano", "inception"])
def test_documented_examples_load(tool: str) -> None:
    mapping = load_mapping(REPO / "docs" / "mappings" / f"{tool}.yaml")
    assert mapping.tool == tool and mapping.labels


def _error(text: str) -> str:
    with pytest.raises(FormatError) as info:
        parse_mapping(HEAD + text, "m.yaml")
    message = str(info.value)
    assert "\n" not in message
    return message


def test_unknown_key_names_file_and_line() -> None:
    message = _error("labels: {}\ncolours: {}\n")
    assert message.startswith("m.yaml:") and "colours" in message


def test_fixed_value_outside_vocabulary_names_the_closest() -> None:
    message = _error("labels:\n  Person:\n    table: sources\n    fixed: {source_kind: persn}\n")
    assert message.startswith("m.yaml:6:") and "closest value is 'person'" in message


def test_unknown_field_names_the_closest() -> None:
    message = _error("labels:\n  Person:\n    table: sources\n    fixed: {sorce_kind: person}\n")
    assert "no field 'sorce_kind'" in message and "'source_kind'" in message


def test_feature_to_unknown_field() -> None:
    message = _error("labels:\n  Q:\n    table: claims\n    fields: {kind: claim_knd}\n")
    assert "claim_knd" in message and "'claim_kind'" in message


def test_links_cannot_be_fixed() -> None:
    message = _error("labels:\n  Q:\n    table: claims\n    fixed: {source_id: S1}\n")
    assert "cannot be fixed" in message


def test_responds_to_needs_a_relation_value() -> None:
    message = _error("labels: {}\nrelations:\n  Denies: {field: responds_to}\n")
    assert "responds_to needs relation" in message


def test_relation_value_outside_vocabulary() -> None:
    message = _error("labels: {}\nrelations:\n  D: {field: responds_to, relation: deny}\n")
    assert message.startswith("m.yaml:") and "deny" in message


def test_text_field_must_be_a_text_field() -> None:
    message = _error("labels:\n  P:\n    table: sources\n    text_field: nam\n")
    assert "'name'" in message


def test_article_fixed_value_checked() -> None:
    message = _error("article: {language: english}\nlabels: {}\n")
    assert "language" in message


def test_not_yaml_is_one_line() -> None:
    message = _error("labels: [unclosed\n")
    assert message.startswith("m.yaml:")


def test_mapping_for_another_tool_is_a_usage_error(tmp_path: Path) -> None:
    line = one_line_error(
        invoke(
            "import",
            "doccano",
            str(FIXTURES / "doccano" / "project.jsonl"),
            "--mapping",
            str(REPO / "docs" / "mappings" / "brat.yaml"),
            "--to",
            str(tmp_path),
        )
    )
    assert "for brat, not doccano" in line


def test_missing_mapping_is_one_line(tmp_path: Path) -> None:
    line = one_line_error(
        invoke(
            "import",
            "brat",
            str(FIXTURES / "brat"),
            "--mapping",
            str(tmp_path / "nope.yaml"),
            "--to",
            str(tmp_path),
        )
    )
    assert "nope.yaml" in line


def test_ignored_relation_is_reported_not_an_error(tmp_path: Path) -> None:
    text = (REPO / "docs" / "mappings" / "brat.yaml").read_text(encoding="utf-8")
    text = text.replace("  Denies: {field: responds_to, relation: denies}\n", "")
    text = text.replace("  labels: [Location]", "  labels: [Location]\n  relations: [Denies]")
    mapping = mapping_file(tmp_path, text)
    result = invoke(
        "import", "brat", str(FIXTURES / "brat"), "--mapping", str(mapping), "--to", str(tmp_path)
    )
    assert "relation 'Denies' (ignored by the mapping)" in result.output


def test_importing_md_has_a_working_mapping_example_per_tool() -> None:
    import re

    text = (REPO / "docs" / "importing.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, re.S)
    tools = {parse_mapping(b, "docs/importing.md").tool for b in blocks}
    assert tools == {"brat", "label-studio", "doccano", "inception"}
    for tool in tools:
        example = (REPO / "docs" / "mappings" / f"{tool}.yaml").read_text(encoding="utf-8")
        body = "\n".join(line for line in example.splitlines() if not line.startswith("#"))
        assert body.strip() in text


def test_a_whole_file_problem_names_the_file_without_a_zero_position(tmp_path: Path) -> None:
    """File-level problems print as `file: message` (never `file:0:0:`), as the checker's do."""
    from factpack.formats.common import FormatError

    with pytest.raises(FormatError) as info:
        load_mapping(tmp_path / "nowhere.yaml")
    assert str(info.value).startswith(f"{tmp_path / 'nowhere.yaml'}: cannot read the mapping")
    assert ":0:0:" not in str(info.value)
