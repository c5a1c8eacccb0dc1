"""factpack import brat: the standoff traps, to-dos, the checker, never overwriting."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from formats_helpers import FIXTURES, REPO, invoke, one_line_error

BRAT = FIXTURES / "brat"
MAPPING = REPO / "docs" / "mappings" / "brat.yaml"


def _import(tmp_path: Path, *extra: str, src: Path = BRAT) -> tuple[object, dict]:
    out = tmp_path / "seeds"
    result = invoke("import", "brat", str(src), "--mapping", str(MAPPING), "--to", str(out), *extra)
    path = out / "kyiv-cafe.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    return result, doc


def test_import_maps_spans_relations_and_attributes(tmp_path: Path) -> None:
    result, doc = _import(tmp_path)
    text = (tmp_path / "seeds" / "kyiv-cafe.txt").read_text(encoding="utf-8")
    assert text == (BRAT / "kyiv-cafe.txt").read_text(encoding="utf-8")
    names = [(s["source_id"], s["name"], s["source_kind"]) for s in doc["sources"]]
    assert names == [
        ("S1", "Vitali Klitschko", "person"),
        ("S2", "The ministry", "organisation"),
        ("S3", "Kyiv", "organisation"),
    ]
    assert doc["sources"][0]["note"] == "Mayor of Kyiv since 2014"  # AnnotatorNotes
    c1, c2 = doc["claims"]
    # R1 names T3 and T1 before the lines that define them.
    assert (c1["source_id"], c1["event_id"], c1["certainty"]) == ("S1", "E1", "certain")
    assert (c2["source_id"], c2["responds_to"], c2["relation"]) == ("S2", "C1", "denies")
    assert doc["events"][0]["event_type"] == "Explosions/Remote violence"
    assert "skipped" in result.output and "'Location'" in result.output


def test_discontinuous_span_across_a_line_break_is_one_quote(tmp_path: Path) -> None:
    _, doc = _import(tmp_path)
    exact = doc["claims"][0]["quote"]["exact"]
    assert exact == "Kyiv’s mayor Vitali Klitschko said a drone hit a café in the\ncity centre."


def test_prefix_only_where_the_quote_recurs(tmp_path: Path) -> None:
    _, doc = _import(tmp_path)
    assert doc["sources"][0]["quote"] == {"exact": "Vitali Klitschko"}
    kyiv = doc["sources"][2]["quote"]
    assert kyiv["exact"] == "Kyiv" and ("prefix" in kyiv or "suffix" in kyiv)


def test_unfilled_fields_are_empty_listed_and_exit_1(tmp_path: Path) -> None:
    result, doc = _import(tmp_path)
    assert result.exit_code == 1
    assert "field(s) to fill" in result.output
    assert "claims C1: claim_text" in result.output
    assert doc["claims"][0]["claim_text"] is None
    written = (tmp_path / "seeds" / "kyiv-cafe.yaml").read_text(encoding="utf-8")
    assert "# TODO" in written and "#   - claims C1: cue" in written
    # The checker ran on what was written and reports the missing required values.
    assert "kyiv-cafe.yaml:" in result.output and "claim_text is required" in result.output


def test_never_overwrites_without_replace(tmp_path: Path) -> None:
    _import(tmp_path)
    line = one_line_error(_import(tmp_path)[0])
    assert "exists already" in line and "--replace" in line
    result, _ = _import(tmp_path, "--replace")
    assert result.exit_code == 1 and "field(s) to fill" in result.output


def test_annotator_folder(tmp_path: Path) -> None:
    result, _ = _import(tmp_path, "--annotator", "alice")
    assert (tmp_path / "seeds" / "annotators" / "alice" / "kyiv-cafe.yaml").is_file()
    assert (tmp_path / "seeds" / "kyiv-cafe.txt").is_file()
    assert "annotators/alice/kyiv-cafe.yaml" in result.output


def _copy(tmp_path: Path, ann: str) -> Path:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copy(BRAT / "kyiv-cafe.txt", src / "kyiv-cafe.txt")
    (src / "kyiv-cafe.ann").write_text(ann, encoding="utf-8")
    return src


def test_discontinuous_span_over_words_is_one_error(tmp_path: Path) -> None:
    src = _copy(tmp_path, "T1\tPerson 39 45;53 55\tVitali ko\n")
    line = one_line_error(_import(tmp_path, src=src)[0])
    assert "kyiv-cafe.ann:1" in line and "discontinuous" in line and 'Klitsch"' in line


def test_unknown_label_names_it_and_the_closest(tmp_path: Path) -> None:
    src = _copy(tmp_path, "T1\tPersn 39 55\tVitali Klitschko\n")
    line = one_line_error(_import(tmp_path, src=src)[0])
    assert "label 'Persn'" in line and "did you mean 'Person'" in line


def test_covered_text_must_match(tmp_path: Path) -> None:
    src = _copy(tmp_path, "T1\tPerson 38 54\tVitali Klitschko\n")
    line = one_line_error(_import(tmp_path, src=src)[0])
    assert "kyiv-cafe.ann:1" in line and "Vitali Klitschko" in line and " Vitali Klitschk" in line


def test_malformed_line_is_one_line_error(tmp_path: Path) -> None:
    src = _copy(tmp_path, "T1\tPerson 39 x\tVitali Klitschko\n")
    line = one_line_error(_import(tmp_path, src=src)[0])
    assert line.startswith(f"{src / 'kyiv-cafe.ann'}:1:") or "kyiv-cafe.ann:1" in line


def test_missing_text_is_one_line_error(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "x.ann").write_text("T1\tPerson 0 1\tV\n", encoding="utf-8")
    assert "x.txt" in one_line_error(_import(tmp_path, src=src)[0])
