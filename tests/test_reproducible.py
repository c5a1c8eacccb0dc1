"""Two clean builds of the same inputs give byte-identical files (all but the .duckdb)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from factpack import release

FIXTURE_SEEDS = Path(__file__).parent / "fixtures" / "build" / "seeds"
NAME = "factpack-news-events-0.1.0"


def _build(root: Path) -> Path:
    shutil.copytree(FIXTURE_SEEDS, root / "seeds")
    release.build(root / "seeds", root / "dist", root / "build")
    return root / "dist"


def _files(dist: Path) -> dict[str, bytes]:
    return {
        p.relative_to(dist).as_posix(): p.read_bytes()
        for p in sorted(dist.rglob("*"))
        if p.is_file() and p.suffix != ".duckdb"
    }


def test_two_clean_builds_are_byte_identical(tmp_path: Path) -> None:
    first = _files(_build(tmp_path / "one"))
    second = _files(_build(tmp_path / "two-in-another-place"))
    assert f"{NAME}.zip" in first and f"{NAME}/data/claims.parquet" in first
    assert list(first) == list(second)
    differ = [name for name in first if first[name] != second[name]]
    assert differ == []


def test_source_date_epoch_sets_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    dist = _build(tmp_path)
    dp = json.loads((dist / NAME / "datapackage.json").read_text())
    assert dp["created"] == "2023-11-14T22:13:20Z"
