"""factpack export: the seed exported to each tool and imported back gives the same rows."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from factpack.formats import brat, doccano, importer, inception, labelstudio
from factpack.formats.mapping import load_mapping
from formats_helpers import SEED, invoke, one_line_error, rows


def _round_trip(tool: str, tmp_path: Path) -> Path:
    out = tmp_path / "export"
    module = {
        "brat": brat,
        "label-studio": labelstudio,
        "doccano": doccano,
        "inception": inception,
    }[tool]
    module.export([SEED], out)
    mapping = load_mapping(out / "mapping.yaml")
    docs = module.read([out], mapping)
    imported = importer.import_documents(docs, mapping)
    assert [i.todos for i in imported] == [[]]
    seeds = tmp_path / "seeds"
    written = importer.write_imported(imported, seeds, replace=False)
    assert importer.check_written(written, seeds) == []
    return written[0]


@pytest.mark.parametrize("tool", ["brat", "label-studio", "doccano", "inception"])
def test_seed_round_trip_gives_the_same_rows(tool: str, tmp_path: Path) -> None:
    back = _round_trip(tool, tmp_path)
    assert back.name == SEED.name
    assert rows(back) == rows(SEED)


@pytest.mark.parametrize(
    ("tool", "files"),
    [("brat", ["000_a4c96cb10ee97359.ann"]), ("label-studio", ["tasks.json"])],
)
def test_cli_export_then_import_gives_the_same_rows(
    tool: str, files: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "export"
    result = invoke("export", tool, str(SEED), "--to", str(out))
    assert result.exit_code == 0, result.output
    seeds = tmp_path / "seeds"
    args = [str(out / f) for f in files]
    result = invoke(
        "import", tool, *args, "--mapping", str(out / "mapping.yaml"), "--to", str(seeds)
    )
    assert result.exit_code == 0, result.output
    assert rows(seeds / SEED.name) == rows(SEED)


def test_review_then_reimport_takes_the_tool_edit(tmp_path: Path) -> None:
    out = tmp_path / "export"
    brat.export([SEED], out)
    ann = out / "000_a4c96cb10ee97359.ann"
    tid = next(
        line.split("\t")[0]
        for line in ann.read_text(encoding="utf-8").splitlines()
        if line.endswith("\tVladimir Putin")
    )
    edited = ann.read_text(encoding="utf-8").replace(
        f"source_kind {tid} person", f"source_kind {tid} government"
    )
    ann.write_text(edited, encoding="utf-8")
    seeds = tmp_path / "seeds"
    args = ["import", "brat", str(ann), "--mapping", str(out / "mapping.yaml"), "--to", str(seeds)]
    assert invoke(*args).exit_code == 0
    assert "--replace" in one_line_error(invoke(*args))
    assert invoke(*args, "--replace").exit_code == 0
    sources = rows(seeds / SEED.name)["sources"]
    putin = next(s for s in sources if s["name"] == "Vladimir Putin")
    assert putin["source_kind"] == "government"


def test_configurations_come_from_schema(tmp_path: Path) -> None:
    from factpack.shared.schema import load_schema

    vocab = load_schema().vocabularies
    brat.export([SEED], tmp_path / "brat")
    conf = (tmp_path / "brat" / "annotation.conf").read_text(encoding="utf-8")
    assert "Value:" + "|".join(vocab["source_kind"].values) in conf
    assert (tmp_path / "brat" / "visual.conf").is_file()
    labelstudio.export([SEED], tmp_path / "ls")
    config = ET.parse(tmp_path / "ls" / "labeling_config.xml").getroot()
    choices = config.findall(".//Choices[@name='event_type']/Choice")
    assert [c.get("value") for c in choices] == list(vocab["event_type"].values)
    doccano.export([SEED], tmp_path / "doccano")
    labels = json.loads((tmp_path / "doccano" / "label_config.json").read_text(encoding="utf-8"))
    assert {entry["text"] for entry in labels} >= {"Source", "Event", "Claim"}


def test_export_refuses_an_annotation_with_problems(tmp_path: Path) -> None:
    bad = tmp_path / "x.yaml"
    shutil.copy(SEED.with_suffix(".txt"), tmp_path / "x.txt")
    bad.write_text(
        SEED.read_text(encoding="utf-8").replace("source_kind: media", "source_kind: medi")
    )
    line = one_line_error(invoke("export", "brat", str(bad), "--to", str(tmp_path / "out")))
    assert "x.yaml:" in line and "factpack check" in line


EMOJI_TEXT = "  Drone 🚀 hits café  \nThe mayor said “calm” 😀 twice. The mayor left.\n"


def _emoji_seed(tmp_path: Path) -> Path:
    import hashlib

    import yaml

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "emoji.txt").write_text(EMOJI_TEXT, encoding="utf-8")
    doc = {
        "format": "factpack-annotation/1",
        "article": {
            "text_sha256": hashlib.sha256(EMOJI_TEXT.encode("utf-8")).hexdigest(),
            "title": "Drone 🚀 hits café",
            "published_date_basis": "unknown",
            "language": "en",
        },
        "sources": [
            {
                "source_id": "S1",
                "name": "The mayor",
                "source_kind": "person",
                "is_named": False,
                "quote": {"exact": "The mayor", "suffix": " left"},
            }
        ],
        "events": [],
        "claims": [
            {
                "claim_id": "C1",
                "source_id": "S1",
                "claim_text": "calm",
                "is_direct_quote": True,
                "cue": "said",
                "claim_kind": "assertion",
                "certainty": "certain",
                "quote": {"exact": "The mayor said “calm” 😀 twice."},
            }
        ],
    }
    path = folder / "emoji.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    assert rows(path)  # a valid annotation
    return path


@pytest.mark.parametrize("tool", ["brat", "label-studio", "doccano", "inception"])
def test_emoji_and_edge_white_space_round_trip(tool: str, tmp_path: Path) -> None:
    seed = _emoji_seed(tmp_path)
    module = {
        "brat": brat,
        "label-studio": labelstudio,
        "doccano": doccano,
        "inception": inception,
    }[tool]
    out = tmp_path / "export"
    module.export([seed], out)
    mapping = load_mapping(out / "mapping.yaml")
    imported = importer.import_documents(module.read([out], mapping), mapping)
    written = importer.write_imported(imported, tmp_path / "seeds", replace=False)
    assert rows(written[0]) == rows(seed)


def test_each_annotators_file_exports_to_its_own_folder(tmp_path: Path) -> None:
    """A folder with annotators' files: no annotation of one article overwrites another."""
    seeds = tmp_path / "seeds"
    (seeds / "annotators" / "ann1").mkdir(parents=True)
    shutil.copy(SEED, seeds / SEED.name)
    shutil.copy(SEED.with_suffix(".txt"), seeds / SEED.with_suffix(".txt").name)
    doc = SEED.read_text(encoding="utf-8").replace("role: publisher", "role: null", 1)
    (seeds / "annotators" / "ann1" / SEED.name).write_text(doc, encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("export", "brat", str(seeds), "--to", str(out))
    assert result.exit_code == 0, result.output
    published = (out / SEED.with_suffix(".ann").name).read_text(encoding="utf-8")
    own = (out / "annotators" / "ann1" / SEED.with_suffix(".ann").name).read_text(encoding="utf-8")
    assert published != own
