"""factpack import doccano: pretty-printed JSONL, UTF-16 offsets, duplicate spans, names."""

from __future__ import annotations

from pathlib import Path

import yaml

from formats_helpers import FIXTURES, REPO, invoke, one_line_error

JSONL = FIXTURES / "doccano" / "project.jsonl"
MAPPING = REPO / "docs" / "mappings" / "doccano.yaml"


def _run(tmp_path: Path, src: Path = JSONL, *extra: str) -> object:
    out = tmp_path / "seeds"
    return invoke(
        "import", "doccano", str(src), "--mapping", str(MAPPING), "--to", str(out), *extra
    )


def _doc(tmp_path: Path, stem: str) -> dict:
    return yaml.safe_load((tmp_path / "seeds" / f"{stem}.yaml").read_text(encoding="utf-8"))


def test_pretty_printed_and_one_line_records(tmp_path: Path) -> None:
    result = _run(tmp_path)
    # Record 1 is pretty-printed over many lines and named; record 2 is one line, unnamed.
    assert (tmp_path / "seeds" / "kyiv-cafe.yaml").is_file()
    assert (tmp_path / "seeds" / "project-2.yaml").is_file()
    assert "project.jsonl:1" in result.output and "project.jsonl:35" in result.output


def test_utf16_offsets_after_an_emoji(tmp_path: Path) -> None:
    _run(tmp_path)
    doc = _doc(tmp_path, "kyiv-cafe")
    assert doc["sources"][0]["quote"] == {"exact": "Vitali Klitschko"}
    assert doc["claims"][0]["source_id"] == "S1"  # the relation names the duplicate, 13
    assert doc["claims"][0]["quote"]["exact"].startswith("Kyiv’s mayor")
    other = _doc(tmp_path, "project-2")
    assert other["claims"][0]["quote"] == {"exact": "“No strike”"}
    assert other["sources"][0]["name"] == "The ministry"


def test_exact_duplicate_spans_are_skipped_and_said(tmp_path: Path) -> None:
    result = _run(tmp_path)
    assert len(_doc(tmp_path, "kyiv-cafe")["sources"]) == 1
    assert len(_doc(tmp_path, "project-2")["sources"]) == 1
    assert result.output.count("duplicate span") == 2


def test_annotator_option(tmp_path: Path) -> None:
    _run(tmp_path, JSONL, "--annotator", "alice")
    assert (tmp_path / "seeds" / "annotators" / "alice" / "project-2.yaml").is_file()


def test_offset_inside_an_emoji_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "a 😀 b", "label": [[3, 5, "PER"]]}\n', encoding="utf-8")
    line = one_line_error(_run(tmp_path, bad))
    assert "bad.jsonl:1" in line and "offset 3" in line and "utf-16" in line


def test_malformed_record_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "abc", "label": []}\n{"text": "x", "label": [[0, 1, "PER"]\n', "utf-8")
    line = one_line_error(_run(tmp_path, bad))
    assert "bad.jsonl:3:" in line and "starts on line 2" in line
