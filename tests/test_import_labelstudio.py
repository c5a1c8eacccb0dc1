"""factpack import label-studio: annotators, value.text, HTML tasks, per-region choices."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from formats_helpers import FIXTURES, REPO, invoke, one_line_error

EXPORT = FIXTURES / "label-studio" / "export.json"
MAPPING = REPO / "docs" / "mappings" / "label-studio.yaml"


def _run(tmp_path: Path, export: Path = EXPORT, *extra: str) -> object:
    out = tmp_path / "seeds"
    return invoke(
        "import", "label-studio", str(export), "--mapping", str(MAPPING), "--to", str(out), *extra
    )


def _tasks() -> list[dict]:
    return json.loads(EXPORT.read_text(encoding="utf-8"))


def _write(tmp_path: Path, tasks: list[dict]) -> Path:
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    return path


def test_each_annotator_gets_a_folder(tmp_path: Path) -> None:
    result = _run(tmp_path)
    seeds = tmp_path / "seeds"
    alice = yaml.safe_load((seeds / "annotators" / "alice" / "kyiv-cafe.yaml").read_text("utf-8"))
    bob = yaml.safe_load((seeds / "annotators" / "bob" / "kyiv-cafe.yaml").read_text("utf-8"))
    assert alice["claims"][0]["claim_kind"] == "assertion"
    assert bob["claims"][0]["claim_kind"] == "observation"
    assert alice["claims"][0]["source_id"] == "S1"
    assert alice["sources"][0]["name"] == "Vitali Klitschko"
    # The stem drops Label Studio's upload prefix; the text is written once, verbatim.
    assert (seeds / "kyiv-cafe.txt").read_text("utf-8") == _tasks()[0]["data"]["text"]
    assert "(cancelled)" in result.output and "'Place'" in result.output


def test_annotator_option_refused_when_the_export_names_them(tmp_path: Path) -> None:
    line = one_line_error(_run(tmp_path, EXPORT, "--annotator", "carol"))
    assert "names its annotators" in line and "alice" in line


def test_code_point_offsets_after_an_emoji(tmp_path: Path) -> None:
    # The title ends with U+1F680 (two UTF-16 units): code-point offsets still slice right.
    _run(tmp_path)
    alice = (tmp_path / "seeds" / "annotators" / "alice" / "kyiv-cafe.yaml").read_text("utf-8")
    assert "exact: Vitali Klitschko" in alice


def test_value_text_disagreeing_with_offsets_names_both(tmp_path: Path) -> None:
    tasks = _tasks()
    tasks[0]["annotations"][0]["result"][0]["value"]["text"] = "Vitali Klitschk"
    line = one_line_error(_run(tmp_path, _write(tmp_path, tasks)))
    assert '"Vitali Klitschk"' in line and '"Vitali Klitschko"' in line and "task 7" in line


def test_html_task_is_refused(tmp_path: Path) -> None:
    tasks = [
        {
            "id": 1,
            "data": {"html": "<p>Kyiv</p>"},
            "annotations": [{"result": [{"type": "hypertextlabels", "value": {}}]}],
        }
    ]
    line = one_line_error(_run(tmp_path, _write(tmp_path, tasks)))
    assert "HTML" in line


def test_hypertextlabels_region_is_refused(tmp_path: Path) -> None:
    region = {
        "id": "x",
        "type": "hypertextlabels",
        "value": {"start": "/p[1]/text()[1]", "startOffset": 0, "end": "/p[1]", "endOffset": 4},
    }
    tasks = [{"id": 1, "data": {"text": "Kyiv"}, "annotations": [{"result": [region]}]}]
    line = one_line_error(_run(tmp_path, _write(tmp_path, tasks)))
    assert "HTML/XPath" in line


def test_malformed_json_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('[{"id": 1,\n "data": }]', encoding="utf-8")
    line = one_line_error(_run(tmp_path, bad))
    assert "bad.json:2:" in line and "not JSON" in line


def test_vocabulary_value_names_the_closest(tmp_path: Path) -> None:
    tasks = _tasks()
    tasks[0]["annotations"][0]["result"][2]["value"]["choices"] = ["assertoin"]
    result = _run(tmp_path, _write(tmp_path, tasks))
    assert result.exit_code == 1
    assert "'assertion'" in result.output and "Traceback" not in result.output
