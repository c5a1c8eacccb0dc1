"""factpack export: the seed exported to each tool and imported back gives the same rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from factpack.formats import brat, doccano, importer, inception, labelstudio
from factpack.formats.mapping import load_mapping
from formats_helpers import SEED, rows


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
